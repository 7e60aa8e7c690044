"""One stack, two ZEGO apps, each on its own emulator: the harness of the native package's e2e
tests (examples/yaml through the YAML host, examples/python-native through the Python SDK)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from devkit.pulumi_local import LocalPulumi
from zego_provider.emulator import ZegoEmulator

STACK = "two-apps"
PROJECT = "zego-two-apps"
TEST_APP = 1000000001
PRODUCTION_APP = 1000000002
REHEARSAL = f"zegotest-{TEST_APP}-keynote"
CDN = "live-push.example-cdn.com"
KEYNOTE_URLS = [f"rtmp://{CDN}/live/keynote", "rtmp://backup-push.example-cdn.net/live/keynote?auth=token"]
RULE_SET = "zego:index:CdnTransferRuleSet"


class TwoApps:
    """A stack of a two-app example; `program` is the file a user edits (Pulumi.yaml, __main__.py)."""

    def __init__(self, pulumi: LocalPulumi, test_app: ZegoEmulator, production_app: ZegoEmulator, program: str) -> None:
        self.pulumi = pulumi
        self.test_app = test_app
        self.production_app = production_app
        self.program = pulumi.project_dir / program

    def run(self, *args: str, check: bool = True) -> Any:
        return self.pulumi.run(*args, "--stack", STACK, check=check, timeout=300)

    def up(self, check: bool = True) -> Any:
        return self.run("up", "--yes", "--skip-preview", check=check)

    def destroy(self, check: bool = True) -> Any:
        return self.run("destroy", "--yes", "--skip-preview", check=check)

    def edit(self, old: str, new: str) -> None:
        """Change the program as a user would; the old text must be there."""
        text = self.program.read_text()
        assert old in text
        self.program.write_text(text.replace(old, new))

    def resources(self) -> list[dict[str, Any]]:
        exported = json.loads(self.run("stack", "export").stdout)
        return list(exported["deployment"].get("resources", []))

    def urn(self, type_: str, name: str) -> str:
        return f"urn:pulumi:{STACK}::{PROJECT}::{type_}::{name}"

    def requests(self) -> dict[int, list[dict[str, Any]]]:
        return {TEST_APP: self.test_app.admin.requests(), PRODUCTION_APP: self.production_app.admin.requests()}

    def live(self) -> dict[int, dict[str, list[str]]]:
        return {
            app: {stream: sorted(rule["cdn_url"] for rule in rules) for stream, rules in emu.admin.streams().items()}
            for app, emu in ((TEST_APP, self.test_app), (PRODUCTION_APP, self.production_app))
        }


@contextlib.contextmanager
def two_app_stack(pulumi: LocalPulumi, program: str, test_secret: str, production_secret: str) -> Iterator[TwoApps]:
    """The stack of a two-app example, each app on an emulator of its own, removed afterwards."""
    with (
        ZegoEmulator(app_id=TEST_APP, server_secret=test_secret) as test_app,
        ZegoEmulator(app_id=PRODUCTION_APP, server_secret=production_secret) as production_app,
    ):
        pulumi.init_stack(
            STACK,
            config={
                "testAppId": str(TEST_APP),
                "testEndpoint": test_app.url,
                "productionAppId": str(PRODUCTION_APP),
                "productionEndpoint": production_app.url,
            },
            secrets={"testServerSecret": test_secret, "productionServerSecret": production_secret},
        )
        try:
            yield TwoApps(pulumi, test_app, production_app, program)
        finally:
            pulumi.remove_stack(STACK)
