"""The provider as the engine runs it: a `python -m pulumi.dynamic` process driven over gRPC,
talking to the emulator over HTTP."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator

import grpc
import pytest
from pulumi.runtime.rpc import UNKNOWN

from devkit.provider_process import ProviderProcess
from devkit.settings_env import unset_settings
from zego_provider.emulator import ZegoEmulator

APP_ID = 1234567890
SECRET = "made-up-secret-for-tests-0123456"
URL_A = "rtmp://cdn-a.example.com/live/key-a?token=x&y=1"
URL_B = "rtmp://cdn-b.example.com/live/key-b"
URL_C = "rtmp://cdn-c.example.com/live/key-c"


@pytest.fixture(scope="module")
def zego() -> Iterator[ZegoEmulator]:
    with ZegoEmulator(app_id=APP_ID, server_secret=SECRET, rate_limit=None) as emulator:
        yield emulator


@pytest.fixture
def emulator(zego: ZegoEmulator) -> ZegoEmulator:
    zego.admin.reset()
    return zego


def _configured(zego: ZegoEmulator) -> ProviderProcess:
    # Credentials come only through Configure (stack config), never the environment.
    provider = ProviderProcess(env=unset_settings())
    provider.configure(
        {"zego:appId": str(APP_ID), "zego:serverSecret": SECRET, "zego:endpoint": zego.url, "zego:rateLimit": "200"}
    )
    return provider


@pytest.fixture(scope="module")
def process(zego: ZegoEmulator) -> Iterator[ProviderProcess]:
    provider = _configured(zego)
    yield provider
    stderr = provider.close()
    assert SECRET not in stderr


@pytest.fixture
def deployment(zego: ZegoEmulator) -> Iterator[Callable[[], ProviderProcess]]:
    """A provider process per deployment, as the engine runs them: what one `pulumi up` checked
    claims its stream in that process only (zego_provider.claims), so a later run's delete is
    played in a process of its own."""
    started: list[ProviderProcess] = []

    def start() -> ProviderProcess:
        started.append(_configured(zego))
        return started[-1]

    yield start
    for provider in started:
        assert SECRET not in provider.close()


def rules(emulator: ZegoEmulator, stream_id: str) -> list[str]:
    return sorted(rule["cdn_url"] for rule in emulator.admin.streams().get(stream_id, []))


def actions(emulator: ZegoEmulator) -> list[str]:
    return [entry["action"] for entry in emulator.admin.requests()]


def test_check_normalizes_url_order(process: ProviderProcess, emulator: ZegoEmulator) -> None:
    inputs, failures = process.check("a", {"stream_id": "s1", "cdn_urls": [URL_B, URL_A]})
    assert failures == []
    assert inputs["cdn_urls"] == [URL_A, URL_B]
    assert inputs["stop_relays_on_delete"] is True
    assert actions(emulator) == []


def test_check_reports_each_bad_property_without_any_request(process: ProviderProcess, emulator: ZegoEmulator) -> None:
    _, failures = process.check(
        "bad", {"stream_id": "has space", "cdn_urls": ["http://cdn.example.com/x/y", URL_A, URL_A]}
    )
    properties = sorted(prop for prop, _ in failures)
    assert properties == ["cdn_urls[0]", "stream_id"]
    assert all(reason for _, reason in failures)
    assert actions(emulator) == []


def test_check_lets_unknown_preview_values_through(process: ProviderProcess, emulator: ZegoEmulator) -> None:
    inputs, failures = process.check("later", {"stream_id": UNKNOWN, "cdn_urls": [URL_A]})
    assert failures == []
    assert inputs["cdn_urls"] == [URL_A]


def test_create_update_delete_round_trip(deployment: Callable[[], ProviderProcess], emulator: ZegoEmulator) -> None:
    process = deployment()
    inputs, _ = process.check("rt", {"stream_id": "round&trip#1", "cdn_urls": [URL_B, URL_A]})
    id_, outs = process.create("rt", inputs)
    assert id_ == f"{APP_ID}:round&trip#1"
    assert outs["cdn_urls"] == [URL_A, URL_B] and outs["stream_id"] == "round&trip#1"
    assert rules(emulator, "round&trip#1") == [URL_A, URL_B]

    process = deployment()
    news, _ = process.check("rt", {"stream_id": "round&trip#1", "cdn_urls": [URL_C, URL_B]}, olds=outs)
    diff = process.diff("rt", id_, outs, news)
    assert diff.changes == diff.DIFF_SOME and list(diff.replaces) == []
    emulator.admin.reset()
    updated = process.update("rt", id_, outs, news)
    assert updated["cdn_urls"] == [URL_B, URL_C]
    assert actions(emulator) == ["DeleteCDNTransferRule", "CreatCDNTransferRule"]  # only the difference

    emulator.admin.reset()
    deployment().delete("rt", id_, updated)
    assert actions(emulator) == ["DeleteCDNTransferRule", "DeleteCDNTransferRule", "ClearCDNTransferRule"]
    assert rules(emulator, "round&trip#1") == []


def test_diff_ignores_order_and_replaces_on_a_new_stream(process: ProviderProcess) -> None:
    olds = {"stream_id": "s", "cdn_urls": [URL_A, URL_B], "stop_relays_on_delete": True}
    same = process.diff("d", "x:s", olds, {**olds, "cdn_urls": [URL_B, URL_A]})
    assert same.changes == same.DIFF_NONE
    renamed = process.diff("d", "x:s", olds, {**olds, "stream_id": "t"})
    assert renamed.changes == renamed.DIFF_SOME and list(renamed.replaces) == ["stream_id"]


def test_empty_rule_set_creates_nothing_and_deletes_with_a_clear(
    process: ProviderProcess, deployment: Callable[[], ProviderProcess], emulator: ZegoEmulator
) -> None:
    inputs, _ = process.check("empty", {"stream_id": "quiet", "cdn_urls": []})
    id_, outs = process.create("empty", inputs)
    assert actions(emulator) == []
    deployment().delete("empty", id_, outs)
    assert actions(emulator) == ["ClearCDNTransferRule"]


def test_delete_of_a_cleared_stream_and_delete_twice_succeed(
    process: ProviderProcess, deployment: Callable[[], ProviderProcess], emulator: ZegoEmulator
) -> None:
    inputs, _ = process.check("gone", {"stream_id": "gone", "cdn_urls": [URL_A]})
    id_, outs = process.create("gone", inputs)
    emulator.admin.reset()  # the service lost every rule behind Pulumi's back
    destroy = deployment()
    destroy.delete("gone", id_, outs)
    destroy.delete("gone", id_, outs)
    assert actions(emulator) == ["DeleteCDNTransferRule", "ClearCDNTransferRule"] * 2
    assert rules(emulator, "gone") == []


def test_stop_relays_on_delete_false_only_clears(
    process: ProviderProcess, deployment: Callable[[], ProviderProcess], emulator: ZegoEmulator
) -> None:
    inputs, _ = process.check("keep", {"stream_id": "keep", "cdn_urls": [URL_A], "stop_relays_on_delete": False})
    id_, outs = process.create("keep", inputs)
    emulator.admin.publish("keep")  # the relay is running now
    before = len(actions(emulator))
    deployment().delete("keep", id_, outs)
    assert actions(emulator)[before:] == ["ClearCDNTransferRule"]
    assert rules(emulator, "keep") == [URL_A]  # Clear leaves a running relay alone, as ZEGO does


def test_rollback_after_a_permanent_failure_leaves_no_rule(process: ProviderProcess, emulator: ZegoEmulator) -> None:
    inputs, _ = process.check("rb", {"stream_id": "rollback", "cdn_urls": [URL_A, URL_B, URL_C]})
    emulator.admin.inject(match={"action": "CreatCDNTransferRule"}, skip=2, count=1, code=5005)
    with pytest.raises(grpc.RpcError) as caught:
        process.create("rb", inputs)
    details = caught.value.details()
    assert "5005" in details and "RequestId" in details and "Rolled back the 2 rule(s)" in details
    assert rules(emulator, "rollback") == []


def test_update_failure_leaves_no_rule_the_old_state_does_not_list(
    process: ProviderProcess, deployment: Callable[[], ProviderProcess], emulator: ZegoEmulator
) -> None:
    inputs, _ = process.check("up", {"stream_id": "upd", "cdn_urls": [URL_A]})
    id_, outs = process.create("up", inputs)
    process = deployment()
    news, _ = process.check("up", {"stream_id": "upd", "cdn_urls": [URL_B, URL_C]}, olds=outs)
    emulator.admin.inject(match={"action": "CreatCDNTransferRule"}, skip=1, count=1, code=5004)
    with pytest.raises(grpc.RpcError):
        process.update("up", id_, outs, news)
    assert set(rules(emulator, "upd")) <= set(outs["cdn_urls"])


def test_read_keeps_the_recorded_state(process: ProviderProcess) -> None:
    recorded = {"stream_id": "r", "cdn_urls": [URL_A], "stop_relays_on_delete": True}
    id_, outs = process.read("r", f"{APP_ID}:r", recorded)
    assert id_ == f"{APP_ID}:r"
    assert {key: outs[key] for key in recorded} == recorded


def test_nothing_secret_reaches_the_serialized_provider_or_the_outputs(process: ProviderProcess) -> None:
    assert len(process.provider) < 1024
    assert SECRET.encode() not in base64.b64decode(process.provider)
    inputs, _ = process.check("sec", {"stream_id": "sec", "cdn_urls": []})
    _, outs = process.create("sec", inputs)
    assert SECRET not in repr(outs)


def test_missing_credentials_are_named_before_any_request(zego: ZegoEmulator) -> None:
    zego.admin.reset()
    provider = ProviderProcess(env=unset_settings())
    try:
        provider.configure({"zego:endpoint": zego.url})
        _, failures = provider.check("nocreds", {"stream_id": "s", "cdn_urls": []})
        assert failures == [
            ("zego:appId (or ZEGO_APP_ID)", "is required"),
            ("zego:serverSecret (or ZEGO_SERVER_SECRET)", "is required"),
        ]
    finally:
        provider.close()
    assert actions(zego) == []


def test_test_environment_prefix_is_checked_before_any_request(zego: ZegoEmulator) -> None:
    zego.admin.reset()
    provider = ProviderProcess(env=unset_settings())
    try:
        provider.configure(
            {"zego:appId": str(APP_ID), "zego:serverSecret": SECRET, "zego:endpoint": zego.url, "zego:isTest": "true"}
        )
        _, failures = provider.check("t", {"stream_id": "no-prefix", "cdn_urls": []})
        assert [prop for prop, _ in failures] == ["stream_id"]
        assert f"zegotest-{APP_ID}-" in failures[0][1]
        _, ok = provider.check("t", {"stream_id": f"zegotest-{APP_ID}-live", "cdn_urls": []})
        assert ok == []
    finally:
        provider.close()
    assert actions(zego) == []


def test_rollback_also_deletes_a_rule_whose_create_failed_with_a_server_error(
    process: ProviderProcess, emulator: ZegoEmulator
) -> None:
    """After retries run out on a server error, the rule may exist anyway: undo it too."""
    inputs, _ = process.check("srv", {"stream_id": "server-error", "cdn_urls": [URL_A, URL_B]})
    emulator.admin.inject(match={"action": "CreatCDNTransferRule"}, skip=1, count=5, code=5000)
    with pytest.raises(grpc.RpcError) as caught:
        process.create("srv", inputs)
    assert "5000" in caught.value.details() and "Rolled back the 2 rule(s)" in caught.value.details()
    deleted = [e["params"]["CDNUrl"] for e in emulator.admin.requests(action="DeleteCDNTransferRule")]
    assert deleted == [URL_B, URL_A]
    assert rules(emulator, "server-error") == []


def test_a_rename_in_one_deployment_keeps_the_relays_the_new_name_declares(
    process: ProviderProcess, deployment: Callable[[], ProviderProcess], emulator: ZegoEmulator
) -> None:
    """What `pulumi up` sends after renaming a rule set without an alias: check and create of the
    new name, then, after the program has run, the delete of the old one, all in one process."""
    inputs, _ = process.check("old", {"stream_id": "renamed", "cdn_urls": [URL_A, URL_B]})
    id_, recorded = process.create("old", inputs)
    up = deployment()
    news, _ = up.check("new", {"stream_id": "renamed", "cdn_urls": [URL_B, URL_C]})
    up.create("new", news)
    emulator.admin.publish("renamed")
    sent = len(actions(emulator))
    up.delete("old", id_, recorded)
    assert actions(emulator)[sent:] == ["DeleteCDNTransferRule"]  # only URL_A, which nobody declares any more
    assert rules(emulator, "renamed") == [URL_B, URL_C]
