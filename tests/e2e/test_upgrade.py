"""Upgrades never strand a stack: the state every released version recorded is previewed, updated and
destroyed by the current code, through the real CLI, against the emulator.

Each folder under tests/e2e/fixtures/upgrade/<version>/<kind>/ is one test (recorded with
scripts/record-release-state; docs/development.md). The test seeds the emulator with the relays
the release left there, imports the recorded state into a fresh file backend, and then runs
only the current package: no old package installed, no network, no git history.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.pulumi_local import REPO, LocalPulumi
from tests.support.release_state import PROJECT, SERVER_SECRET, UPGRADE_PASSPHRASE, Recording, recordings
from zego_provider.emulator import ZegoEmulator

RECORDINGS = recordings()
ADDED_URL = "rtmp://live-push.example-cdn.org/live/added-after-upgrade"
CREATE, DELETE, CLEAR = "CreatCDNTransferRule", "DeleteCDNTransferRule", "ClearCDNTransferRule"


@dataclass
class UpgradedStack:
    recording: Recording
    pulumi: LocalPulumi
    emulator: ZegoEmulator

    def run(self, *args: str, check: bool = True) -> Any:
        return self.pulumi.run(*args, "--stack", self.recording.stack, check=check, timeout=300)

    def declare(self, streams: dict[str, dict[str, Any]]) -> None:
        """Change the program's rule sets as a user would: the stack config (dynamic), the YAML (native)."""
        if self.recording.kind == "dynamic":
            self.run("config", "set", "streams", json.dumps(streams))
            return
        program = self.pulumi.project_dir / "Pulumi.yaml"
        text = program.read_text()
        for name, spec in streams.items():
            old = _yaml_urls(self.recording.streams[name]["cdn_urls"])
            new = _yaml_urls(spec["cdn_urls"])
            block = f"      streamId: {spec['stream_id']}\n"
            assert block + old in text, f"{name}'s URLs are not in the recorded program as written"
            text = text.replace(block + old, block + new)
        program.write_text(text)

    def sent(self, since: int = 0) -> list[tuple[str, str, str | None]]:
        """(action, stream, CDN URL) of each call the emulator received, in order."""
        return [
            (entry["action"], entry["params"]["StreamId"], entry["params"].get("CDNUrl"))
            for entry in self.emulator.admin.requests()[since:]
        ]

    def live(self) -> dict[str, list[str]]:
        return {
            stream: sorted(rule["cdn_url"] for rule in rules)
            for stream, rules in self.emulator.admin.streams().items()
            if rules
        }


def _require_yaml_language_host() -> None:
    """A native recording's program is YAML: without its host the test cannot run (under `make test`
    that fails it, never skips)."""
    if shutil.which("pulumi-language-yaml"):
        return
    reason = "pulumi-language-yaml is not on PATH (scripts/ensure-pulumi builds it beside the CLI)"
    if os.environ.get("ZEGO_REQUIRE_E2E") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def _yaml_urls(urls: list[str]) -> str:
    if not urls:
        return "      cdnUrls: []\n"
    return "      cdnUrls:\n" + "".join(f"        - {url}\n" for url in urls)


@pytest.fixture(params=RECORDINGS, ids=[r.name for r in RECORDINGS])
def upgraded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[UpgradedStack]:
    """The recorded stack, imported into a fresh file backend; its relays on a fresh emulator."""
    recording: Recording = request.param
    with ZegoEmulator(app_id=int(recording.manifest["app_id"]), server_secret=SERVER_SECRET) as emulator:
        # The relays the release created exist at ZEGO: put them in the emulator's backend directly
        # (what its admin routes act on), so its request log starts empty.
        for stream, urls in recording.relays().items():
            for url in urls:
                assert emulator.state.create_rule(stream, url).code == 0
        project = tmp_path / "project"
        state_file = recording.materialize(project, emulator.url)
        env = {"PULUMI_CONFIG_PASSPHRASE": UPGRADE_PASSPHRASE}
        if recording.kind == "dynamic":
            (project / "Pulumi.yaml").write_text(
                f"name: {PROJECT}\nruntime:\n  name: python\n  options:\n"
                f"    toolchain: pip\n    virtualenv: {sys.prefix}\n"
            )
        else:
            _require_yaml_language_host()
            # The current plugin, found on PATH as the recording's program names no path; it runs
            # this interpreter, where the package under test is installed.
            env["PATH"] = f"{REPO / 'plugins' / 'zego'}{os.pathsep}{Path(sys.prefix) / 'bin'}{os.pathsep}"
            env["PATH"] += os.environ.get("PATH", "")
            env["ZEGO_PROVIDER_PYTHON"] = sys.executable
        pulumi = LocalPulumi(tmp_path / "work", project, extra_env=env)
        # The stack config is the recorded one (its salt decrypts the recorded secret); init keeps it.
        pulumi.run("stack", "init", recording.stack)
        try:
            pulumi.run("stack", "import", "--file", str(state_file), "--stack", recording.stack)
            yield UpgradedStack(recording, pulumi, emulator)
        finally:
            pulumi.remove_stack(recording.stack)


def test_recorded_stack_is_previewed_updated_and_destroyed_by_the_current_code(upgraded: UpgradedStack) -> None:
    recording, streams = upgraded.recording, upgraded.recording.streams
    recorded_relays = recording.relays()
    assert upgraded.live() == recorded_relays

    upgraded.run("preview", "--expect-no-changes")
    assert upgraded.sent() == []  # preview reads nothing from ZEGO

    # One URL added (to the empty rule set), one removed (the one with a query): only that is sent.
    (empty,) = [name for name, spec in streams.items() if not spec["cdn_urls"]]
    ((with_query, query_url),) = [
        (name, url) for name, spec in streams.items() for url in spec["cdn_urls"] if urlsplit(url).query
    ]
    changed = json.loads(json.dumps(streams))
    changed[empty]["cdn_urls"] = [ADDED_URL]
    changed[with_query]["cdn_urls"].remove(query_url)
    upgraded.declare(changed)
    upgraded.run("up", "--yes", "--skip-preview")
    assert sorted(upgraded.sent()) == sorted(
        [(CREATE, streams[empty]["stream_id"], ADDED_URL), (DELETE, streams[with_query]["stream_id"], query_url)]
    )
    expected = {spec["stream_id"]: sorted(spec["cdn_urls"]) for spec in changed.values() if spec["cdn_urls"]}
    assert upgraded.live() == expected

    before = len(upgraded.emulator.admin.requests())
    upgraded.run("destroy", "--yes", "--skip-preview")
    sent = upgraded.sent(before)
    for spec in changed.values():
        of_stream = [(action, url) for action, stream, url in sent if stream == spec["stream_id"]]
        assert sorted(of_stream[:-1]) == sorted((DELETE, url) for url in spec["cdn_urls"]), spec["stream_id"]
        assert of_stream[-1] == (CLEAR, None), spec["stream_id"]
    assert len(sent) == sum(len(spec["cdn_urls"]) + 1 for spec in changed.values())
    assert upgraded.live() == {}
    assert {entry["code"] for entry in upgraded.emulator.admin.requests()} == {0}
    resources = json.loads(upgraded.run("stack", "export").stdout)["deployment"].get("resources") or []
    assert not [r for r in resources if "CdnTransferRuleSet" in r["type"]]
