"""Fixtures for the real Pulumi engine: a throwaway project, a file backend, and the emulator."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devkit.pulumi_local import LocalPulumi
from zego_provider.emulator import ZegoEmulator

APP_ID = 1234567890
SECRET = "e2e-made-up-secret-8f3a1c2b9d7e"
STACK = "e2e"


@pytest.fixture(autouse=True)
def pulumi_cli() -> None:
    """Without the CLI these tests cannot run: under `make test` (and so CI) that fails them, never skips."""
    if shutil.which("pulumi") and shutil.which("pulumi-language-python"):
        return
    reason = "the Pulumi CLI is not on PATH (run scripts/ensure-pulumi and put its output first on PATH)"
    if os.environ.get("ZEGO_REQUIRE_E2E") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def yaml_language_host() -> None:
    """For the YAML programs' tests (`pytest.mark.usefixtures`): under `make test` a missing YAML
    host fails them, never skips."""
    if shutil.which("pulumi-language-yaml"):
        return
    reason = "pulumi-language-yaml is not on PATH (scripts/ensure-pulumi builds it beside the CLI)"
    if os.environ.get("ZEGO_REQUIRE_E2E") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def emulator() -> Iterator[ZegoEmulator]:
    with ZegoEmulator(app_id=APP_ID, server_secret=SECRET) as running:
        yield running


class Stack:
    """A stack of the e2e program, configured against the emulator."""

    def __init__(self, pulumi: LocalPulumi, emulator: ZegoEmulator) -> None:
        self.pulumi = pulumi
        self.emulator = emulator

    def set_streams(self, streams: dict[str, list[str]] | dict[str, dict[str, Any]]) -> None:
        spec = {
            name: value if isinstance(value, dict) else {"stream_id": name, "cdn_urls": value}
            for name, value in streams.items()
        }
        self.pulumi.run("config", "set", "streams", json.dumps(spec), "--stack", STACK)

    def up(self, *extra: str, check: bool = True) -> Any:
        return self.pulumi.run("up", "--yes", "--skip-preview", "--stack", STACK, *extra, check=check)

    def preview(self, *extra: str, check: bool = True) -> Any:
        return self.pulumi.run("preview", "--stack", STACK, *extra, check=check)

    def destroy(self, *extra: str, check: bool = True) -> Any:
        return self.pulumi.run("destroy", "--yes", "--skip-preview", "--stack", STACK, *extra, check=check)

    def export(self, *extra: str) -> dict[str, Any]:
        return dict(json.loads(self.pulumi.run("stack", "export", "--stack", STACK, *extra).stdout))

    def recorded_rules(self) -> dict[str, list[str]]:
        """What Pulumi's state says each stream has."""
        resources = self.export()["deployment"].get("resources", [])
        return {
            r["outputs"]["stream_id"]: sorted(r["outputs"]["cdn_urls"])
            for r in resources
            if r["type"].endswith("zego:CdnTransferRuleSet")
        }

    def live_rules(self) -> dict[str, list[str]]:
        """What the emulator (the ZEGO service) holds, empty streams left out."""
        return {
            stream: sorted(rule["cdn_url"] for rule in rules)
            for stream, rules in self.emulator.admin.streams().items()
            if rules
        }


@pytest.fixture
def make_stack(tmp_path: Path, emulator: ZegoEmulator) -> Iterator[Callable[..., Stack]]:
    """Builds the e2e stack; `secret_from="env"` gives the provider process the ServerSecret
    through ZEGO_SERVER_SECRET instead of the stack config."""
    made: list[LocalPulumi] = []

    def make(secret_from: str = "config") -> Stack:
        project = tmp_path / "project"
        project.mkdir()
        shutil.copy(Path(__file__).parent / "program" / "__main__.py", project / "__main__.py")
        (project / "Pulumi.yaml").write_text(
            f"name: zego-e2e\nruntime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: {sys.prefix}\n"
        )
        env = {"ZEGO_SERVER_SECRET": SECRET} if secret_from == "env" else {}
        pulumi = LocalPulumi(tmp_path / "work", project, extra_env=env)
        pulumi.init_stack(
            STACK,
            config={"zego:appId": str(APP_ID), "zego:endpoint": emulator.url},
            secrets={"zego:serverSecret": SECRET} if secret_from == "config" else {},
        )
        made.append(pulumi)
        return Stack(pulumi, emulator)

    yield make
    for pulumi in made:
        pulumi.remove_stack(STACK)


@pytest.fixture
def stack(make_stack: Callable[..., Stack]) -> Stack:
    return make_stack()
