"""The serialized provider in every dynamic stack's state is a public name: what 0.1.0 recorded
still unpickles, with the code installed now, into a working provider.

The bytes come from the recorded 0.1.0 stack (tests/e2e/fixtures/upgrade/0.1.0/dynamic/stack.json),
so moving or renaming `zego_provider.provider.CdnTransferRuleSetProvider` without an alias fails here.
"""

from __future__ import annotations

import base64
from typing import Any

import dill
import pytest
from pulumi.dynamic import Config, ConfigureRequest, ResourceProvider

from tests.support.release_state import FIXTURES, SERVER_SECRET, Recording
from zego_provider.config import SETTINGS
from zego_provider.emulator import ZegoEmulator
from zego_provider.provider import CdnTransferRuleSetProvider

RULE_SET_TYPE = "pulumi-python:dynamic/zego:CdnTransferRuleSet"
RELEASE_0_1_0 = Recording.load(FIXTURES / "0.1.0" / "dynamic")


def recorded_blobs(recording: Recording) -> set[str]:
    """The `__provider` of every rule set the release recorded, inputs and outputs alike."""
    resources = [r for r in recording.state()["deployment"]["resources"] if r["type"] == RULE_SET_TYPE]
    assert len(resources) == len(recording.streams)
    return {r[kind]["__provider"] for r in resources for kind in ("inputs", "outputs")}


def unpickle(blob: str) -> Any:
    """As the SDK's provider process does (pulumi.dynamic.__main__.get_provider)."""
    return dill.loads(base64.b64decode(blob))


@pytest.fixture(autouse=True)
def no_zego_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for setting in SETTINGS:
        monkeypatch.delenv(setting.env_var, raising=False)


def test_release_0_1_0_pickled_a_reference_to_the_public_class_path() -> None:
    (blob,) = recorded_blobs(RELEASE_0_1_0)  # one provider for every rule set: a reference, no state
    raw = base64.b64decode(blob)
    assert b"zego_provider.provider" in raw
    assert b"CdnTransferRuleSetProvider" in raw
    provider = unpickle(blob)
    assert type(provider) is CdnTransferRuleSetProvider
    assert isinstance(provider, ResourceProvider)


def test_release_0_1_0_provider_unpickled_now_checks_creates_and_deletes() -> None:
    (blob,) = recorded_blobs(RELEASE_0_1_0)
    provider = unpickle(blob)
    checked, stream = "checked-stage", "pickled-stage"
    url = "rtmp://live-push.example-cdn.com/live/pickled-stage?auth=made-up"
    with ZegoEmulator(app_id=int(RELEASE_0_1_0.manifest["app_id"]), server_secret=SERVER_SECRET) as emulator:
        config = {
            "zego:appId": str(RELEASE_0_1_0.manifest["app_id"]),
            "zego:serverSecret": SERVER_SECRET,
            "zego:endpoint": emulator.url,
            "zego:rateLimiter": "process",
        }
        provider.configure(ConfigureRequest(Config(raw_config=config, project_name="zego-upgrade")))

        good = provider.check({}, {"stream_id": checked, "cdn_urls": [url], "stop_relays_on_delete": True})
        assert not good.failures
        bad = provider.check({}, {"stream_id": checked, "cdn_urls": ["http://not-rtmp.example.com/x"]})
        assert [failure.property for failure in bad.failures] == ["cdn_urls[0]"]

        # A stream no rule set of this process checked: its delete is a destroy, not a rename.
        created = provider.create({"stream_id": stream, "cdn_urls": [url], "stop_relays_on_delete": True})
        assert created.id == f"{RELEASE_0_1_0.manifest['app_id']}:{stream}"
        assert emulator.admin.stream(stream) == [{"cdn_url": url, "status": "scheduled"}]
        provider.delete(created.id, dict(created.outs or {}))
        assert emulator.admin.stream(stream) == []
        assert [entry["action"] for entry in emulator.admin.requests()] == [
            "CreatCDNTransferRule",
            "DeleteCDNTransferRule",
            "ClearCDNTransferRule",
        ]
