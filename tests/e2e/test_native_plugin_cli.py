"""The native `zego` plugin under the real engine, from a Python program that registers its resources
by type token (no generated SDK): one-line errors in the progress view, and provider moves that
send nothing. The YAML program and its e2e tests are in examples/yaml."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from zego_provider.emulator import ZegoEmulator

from .conftest import APP_ID, SECRET, LocalPulumi

REPO = Path(__file__).resolve().parents[2]
STACK = "native"
URL_A = "rtmp://cdn-a.example.com/live/a"
URL_B = "rtmp://cdn-b.example.com/live/b"

PROGRAM = """
import pulumi

config = pulumi.Config()
app = pulumi.ProviderResource(
    "zego",
    config.get("providerName") or "app",
    {"appId": config.require_int("appId"), "serverSecret": config.require_secret("secret"),
     "endpoint": config.require("endpoint")},
)
pulumi.CustomResource(
    "zego:index:CdnTransferRuleSet",
    "lobby",
    {"streamId": "lobby", "cdnUrls": config.require_object("urls")},
    opts=pulumi.ResourceOptions(provider=app),
)
"""


@pytest.fixture
def pulumi(tmp_path: Path, emulator: ZegoEmulator) -> Iterator[LocalPulumi]:
    project = tmp_path / "project"
    project.mkdir()
    (project / "__main__.py").write_text(PROGRAM)
    (project / "Pulumi.yaml").write_text(
        "name: zego-native-e2e\n"
        f"runtime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: {sys.prefix}\n"
        f"plugins:\n  providers:\n    - name: zego\n      path: {REPO / 'plugins' / 'zego'}\n"
    )
    local = LocalPulumi(tmp_path / "work", project, extra_env={"ZEGO_PROVIDER_PYTHON": sys.executable})
    local.init_stack(
        STACK,
        config={"appId": str(APP_ID), "endpoint": emulator.url, "urls": f'["{URL_A}"]'},
        secrets={"secret": SECRET},
    )
    yield local
    local.remove_stack(STACK)


def up(pulumi: LocalPulumi, check: bool = True) -> str:
    result = pulumi.run("up", "--yes", "--skip-preview", "--stack", STACK, check=check)
    return result.stdout + result.stderr


def test_a_zego_error_is_one_line_in_the_progress_view_and_the_diagnostics(
    pulumi: LocalPulumi, emulator: ZegoEmulator
) -> None:
    up(pulumi)
    pulumi.run("config", "set", "--secret", "secret", "a-wrong-made-up-secret-000", "--stack", STACK)
    pulumi.run("config", "set", "urls", f'["{URL_A}", "{URL_B}"]', "--stack", STACK)
    output = up(pulumi, check=False)
    failed = [
        line for line in output.splitlines() if "zego:index:CdnTransferRuleSet lobby" in line and "failed" in line
    ]
    assert failed, output
    assert "Traceback" not in output and 'File "' not in output
    for part in ("ZEGO CreatCDNTransferRule failed: code ", "RequestId ", "check zego:appId and zego:serverSecret"):
        assert part in failed[-1]
    diagnostic = output.split("zego:index:CdnTransferRuleSet (lobby):", 1)[1].strip().splitlines()[0]
    assert diagnostic.startswith("error: ZEGO CreatCDNTransferRule failed: code ") and "RequestId" in diagnostic
    assert [rule["cdn_url"] for rule in emulator.admin.stream("lobby")] == [URL_A]


def test_renaming_the_provider_sends_nothing_and_destroy_ends_with_clear(
    pulumi: LocalPulumi, emulator: ZegoEmulator
) -> None:
    up(pulumi)
    sent = len(emulator.admin.requests())
    pulumi.run("config", "set", "providerName", "production", "--stack", STACK)
    up(pulumi)
    assert emulator.admin.requests()[sent:] == []  # moved to a provider of the same app: no replacement
    assert [rule["cdn_url"] for rule in emulator.admin.stream("lobby")] == [URL_A]
    pulumi.run("destroy", "--yes", "--skip-preview", "--stack", STACK)
    actions = [entry["action"] for entry in emulator.admin.requests()[sent:]]
    assert actions == ["DeleteCDNTransferRule", "ClearCDNTransferRule"]
    assert emulator.admin.stream("lobby") == []


def test_pulumi_package_get_schema_reads_the_repository_plugin(pulumi: LocalPulumi) -> None:
    launcher = REPO / "plugins" / "zego" / "pulumi-resource-zego"
    schema = json.loads(pulumi.run("package", "get-schema", str(launcher)).stdout)
    assert schema["name"] == "zego" and set(schema["resources"]) == {"zego:index:CdnTransferRuleSet"}
    assert schema["provider"]["inputProperties"]["serverSecret"]["secret"] is True
