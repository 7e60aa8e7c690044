"""A released version's recorded state: the stack a release left behind, kept as a test fixture.

Each recording is one folder, `tests/e2e/fixtures/upgrade/<version>/<kind>/` (kind `dynamic`:
the Python dynamic resource; `native`: the `zego` plugin through a YAML program), holding:

    manifest.json        version, kind, project and stack names, the emulator's endpoint and AppId
                         at recording time, the rule sets declared, the Pulumi CLI that recorded it
    stack.json           `pulumi stack export` of the stack the release created, as exported
    stack-config.yaml    its stack config (Pulumi.<stack>.yaml, renamed: .gitignore keeps those out):
                         the passphrase's salt, the AppId, the endpoint, the ServerSecret
                         encrypted with UPGRADE_PASSPHRASE, and (dynamic) the streams
    relays.json          the relays the emulator held once the release's `pulumi up` was done
    __main__.py          (dynamic) the Python program that declared the rule sets
    Pulumi.yaml          (native) the YAML program, one explicit `zego` provider

The emulator listens on a free port, so the endpoint is never the same twice. The recording
keeps the endpoint it had; `Recording.materialize` rewrites that one URL, in the state and the
stack config alike, to the endpoint of the emulator the test started. That is what a user's
stack looks like (one endpoint in config and state), needs no fixed port, and leaves every
other byte of the state as the release wrote it.

The credentials are made up (the emulator's); the secret only ever appears encrypted.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "e2e" / "fixtures" / "upgrade"
KINDS = ("dynamic", "native")

APP_ID = 1234567890
SERVER_SECRET = "upgrade-made-up-secret-5e1d9c7a"  # the emulator's; never a real credential
UPGRADE_PASSPHRASE = "upgrade-test-passphrase"  # protects the recorded stack config's secret
PROJECT = "zego-upgrade"
STACK = "upgrade"

STREAMS: dict[str, dict[str, Any]] = {
    "main-stage": {
        "stream_id": "main-stage",
        "cdn_urls": [
            "rtmp://live-push.example-cdn.com/live/main-stage",
            "rtmp://backup-push.example-cdn.net/live/main-stage?auth=made-up-token",
        ],
    },
    "side-stage": {
        "stream_id": "side-stage",
        "cdn_urls": ["rtmp://live-push.example-cdn.com/live/side-stage"],
    },
    "green-room": {"stream_id": "green-room", "cdn_urls": []},
}
"""The rule sets every recording declares: normal ones, one URL with a query, one empty set."""

DYNAMIC_PROGRAM = '''"""One CdnTransferRuleSet per entry of the `streams` stack config (a recorded release state).

Written against the public API of 0.1.0 (`CdnTransferRuleSet(name, stream_id=, cdn_urls=)`), so the
same program records a release and drives its upgrade test with the current code.
"""

import json

import pulumi

from zego_provider import CdnTransferRuleSet

for name, spec in json.loads(pulumi.Config().require("streams")).items():
    CdnTransferRuleSet(name, stream_id=spec["stream_id"], cdn_urls=spec["cdn_urls"])
'''


def native_program(streams: dict[str, dict[str, Any]]) -> str:
    """The YAML program of the native recording: one explicit provider, the rule sets on it."""
    lines = [
        f"name: {PROJECT}",
        "runtime: yaml",
        "description: Recorded release state of the native zego package (tests/e2e/test_upgrade.py).",
        "",
        "config:",
        "  appId:",
        "    type: integer",
        "  serverSecret:",
        "    type: string",
        "    secret: true",
        "  endpoint:",
        "    type: string",
        "",
        "resources:",
        "  app:",
        "    type: pulumi:providers:zego",
        "    properties:",
        "      appId: ${appId}",
        "      serverSecret: ${serverSecret}",
        "      endpoint: ${endpoint}",
    ]
    for name, spec in streams.items():
        lines += [
            "",
            f"  {_camel(name)}:",
            "    type: zego:index:CdnTransferRuleSet",
            "    properties:",
            f"      streamId: {spec['stream_id']}",
        ]
        urls = spec["cdn_urls"]
        lines += ["      cdnUrls:", *(f"        - {url}" for url in urls)] if urls else ["      cdnUrls: []"]
        lines += ["    options:", "      provider: ${app}"]
    return "\n".join(lines) + "\n"


def _camel(name: str) -> str:
    """A resource name of the YAML program: `green-room` -> `greenRoom`."""
    head, *rest = name.split("-")
    return head + "".join(part.capitalize() for part in rest)


STACK_CONFIG = "stack-config.yaml"
"""The recorded stack config's name in a recording; `Recording.materialize` writes it as Pulumi.<stack>.yaml."""


def stack_config_file(stack: str = STACK) -> str:
    """Where Pulumi keeps a stack's config in the project."""
    return f"Pulumi.{stack}.yaml"


@dataclass(frozen=True)
class Recording:
    """One recorded state, as committed under FIXTURES/<version>/<kind>/."""

    folder: Path
    manifest: dict[str, Any]

    @classmethod
    def load(cls, folder: Path) -> Recording:
        return cls(folder, json.loads((folder / "manifest.json").read_text()))

    @property
    def name(self) -> str:
        return f"{self.version}-{self.kind}"

    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    @property
    def kind(self) -> str:
        return str(self.manifest["kind"])

    @property
    def stack(self) -> str:
        return str(self.manifest["stack"])

    @property
    def endpoint(self) -> str:
        """The emulator's URL when the state was recorded."""
        return str(self.manifest["endpoint"])

    @property
    def streams(self) -> dict[str, dict[str, Any]]:
        return dict(self.manifest["streams"])

    def state(self) -> dict[str, Any]:
        return dict(json.loads((self.folder / "stack.json").read_text()))

    def relays(self) -> dict[str, list[str]]:
        """The relays the emulator held after the release's `up`: {stream id: [CDN URL]}."""
        return {stream: list(urls) for stream, urls in json.loads((self.folder / "relays.json").read_text()).items()}

    def program_files(self) -> list[str]:
        return list(self.manifest["program"])

    def materialize(self, project: Path, endpoint: str) -> Path:
        """Copy the program and stack config into `project`, the recorded endpoint replaced by
        `endpoint`; returns the state file to `pulumi stack import` (written beside the project)."""
        project.mkdir(parents=True, exist_ok=True)
        for name in self.program_files():
            shutil.copy(self.folder / name, project / name)
        config = _replace_endpoint((self.folder / STACK_CONFIG).read_text(), self.endpoint, endpoint)
        (project / stack_config_file(self.stack)).write_text(config)
        state = project.parent / f"{self.name}-stack.json"
        state.write_text(_replace_endpoint((self.folder / "stack.json").read_text(), self.endpoint, endpoint))
        return state


def _replace_endpoint(text: str, recorded: str, endpoint: str) -> str:
    """Every occurrence of the recorded endpoint URL, whole (never a prefix of a longer port)."""
    if recorded not in text:
        raise ValueError(f"the recorded endpoint {recorded} is not in the recording")
    pieces = text.split(recorded)
    for piece in pieces[1:]:
        if piece[:1].isdigit():
            raise ValueError(f"{recorded} occurs as the prefix of a longer URL in the recording")
    return endpoint.join(pieces)


def recordings(root: Path = FIXTURES) -> list[Recording]:
    """Every recording under `root` (`<version>/<kind>/manifest.json`), oldest version first."""
    found = [Recording.load(manifest.parent) for manifest in root.glob("*/*/manifest.json")]
    return sorted(found, key=lambda r: (_version_key(r.version), r.kind))


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))
