"""The provider's lifecycle rules, in process, against a fake ZEGO client: what each operation sends, in what order."""

from __future__ import annotations

import pickle
from typing import Any

import dill
import pytest
from pulumi.dynamic import Config, ConfigureRequest
from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN

from tests.support.settings_env import clear_settings
from zego_provider import lifecycle
from zego_provider import provider as provider_module
from zego_provider.claims import StreamClaims, stream_claims
from zego_provider.config import ProviderConfig
from zego_provider.errors import ZegoInvalidInputError, ZegoServerError
from zego_provider.provider import CdnTransferRuleSetProvider, shared_client

from .fake_zego import A_NEW, CLEAR, CREATE, DELETE, A, B, C, D, FakeZego, invalid, server_error

APP_ID = 1234567890
SECRET = "unit-test-made-up-secret-0a1b2c"


def configure(provider: CdnTransferRuleSetProvider, **settings: str) -> None:
    raw = {"zego:appId": str(APP_ID), "zego:serverSecret": SECRET, "zego:endpoint": "http://127.0.0.1:9"}
    raw.update(settings)
    provider.configure(ConfigureRequest(config=Config(raw_config=raw, project_name="unit")))


@pytest.fixture
def provider(zego: FakeZego, claims: StreamClaims) -> CdnTransferRuleSetProvider:
    made = CdnTransferRuleSetProvider(client_factory=lambda config: zego, claims=claims)
    configure(made)
    return made


def props(stream_id: str, *urls: str, stop: bool = True) -> dict[str, Any]:
    return {"stream_id": stream_id, "cdn_urls": sorted(urls), "stop_relays_on_delete": stop}


def recorded(zego: FakeZego, stream_id: str, *urls: str, stop: bool = True) -> dict[str, Any]:
    """A rule set that an earlier deployment created: on ZEGO, and as the state records it."""
    zego.rules[stream_id] = list(urls)
    return props(stream_id, *urls, stop=stop)


# check


def test_check_sorts_urls_and_fills_defaults_without_any_call(
    provider: CdnTransferRuleSetProvider, zego: FakeZego
) -> None:
    result = provider.check({}, {"stream_id": "s", "cdn_urls": [B, A], "__provider": "blob"})
    assert result.failures == []
    assert result.inputs == {"stream_id": "s", "cdn_urls": [A, B], "stop_relays_on_delete": True}
    assert zego.calls == []


@pytest.mark.parametrize(
    ("news", "failing"),
    [
        ({"stream_id": "has space"}, ["stream_id"]),
        ({"stream_id": ""}, ["stream_id"]),
        ({"stream_id": 5}, ["stream_id"]),
        ({}, ["stream_id"]),
        ({"stream_id": "s", "cdn_urls": [B, "https://cdn.example.com/live/x"]}, ["cdn_urls[1]"]),
        ({"stream_id": "s", "cdn_urls": [B, 7]}, ["cdn_urls[1]"]),
        ({"stream_id": "s", "cdn_urls": [B, B]}, ["cdn_urls"]),
        ({"stream_id": "s", "cdn_urls": [A, B, A_NEW]}, ["cdn_urls"]),
        ({"stream_id": "s", "cdn_urls": B}, ["cdn_urls"]),
        ({"stream_id": "s", "cdn_urls": [f"{C}{i}" for i in range(21)]}, ["cdn_urls"]),
        ({"stream_id": "s", "stop_relays_on_delete": "no"}, ["stop_relays_on_delete"]),
        ({"stream_id": "s", "cdn_url": B}, ["cdn_url"]),
        ({"stream_id": "bad id", "cdn_urls": ["http://x/y/z"]}, ["cdn_urls[0]", "stream_id"]),
    ],
)
def test_check_reports_each_problem_on_its_property(
    provider: CdnTransferRuleSetProvider, zego: FakeZego, claims: StreamClaims, news: dict[str, Any], failing: list[str]
) -> None:
    result = provider.check({}, news)
    assert sorted(failure.property for failure in result.failures or []) == failing
    assert all(failure.reason for failure in result.failures or [])
    assert zego.calls == []
    assert claims.claim("s") is None  # an invalid rule set claims nothing


def test_check_names_both_items_of_a_relay_given_twice_with_different_queries(
    provider: CdnTransferRuleSetProvider,
) -> None:
    [failure] = provider.check({}, {"stream_id": "s", "cdn_urls": [A, B, A_NEW]}).failures or []
    assert failure.property == "cdn_urls"
    assert "cdn_urls[0] and cdn_urls[2] are the same relay" in failure.reason


def test_check_enforces_the_test_environment_prefix(zego: FakeZego) -> None:
    provider = CdnTransferRuleSetProvider(client_factory=lambda config: zego, claims=StreamClaims())
    configure(provider, **{"zego:isTest": "true"})
    [failure] = provider.check({}, {"stream_id": "plain"}).failures or []
    assert failure.property == "stream_id" and f"zegotest-{APP_ID}-" in failure.reason
    assert provider.check({}, {"stream_id": f"zegotest-{APP_ID}-live"}).failures == []


def test_check_names_each_missing_setting(zego: FakeZego, monkeypatch: pytest.MonkeyPatch) -> None:
    clear_settings(monkeypatch)
    provider = CdnTransferRuleSetProvider(client_factory=lambda config: zego, claims=StreamClaims())
    provider.configure(ConfigureRequest(config=Config(raw_config={}, project_name="unit")))
    failures = provider.check({}, {"stream_id": "s"}).failures or []
    assert [(f.property, f.reason) for f in failures] == [
        ("zego:appId (or ZEGO_APP_ID)", "is required"),
        ("zego:serverSecret (or ZEGO_SERVER_SECRET)", "is required"),
    ]


@pytest.mark.parametrize("unknown", [UNKNOWN, Unknown()], ids=["wire string", "Unknown object"])
def test_check_lets_unknown_values_through_and_checks_the_known_ones(
    provider: CdnTransferRuleSetProvider, claims: StreamClaims, unknown: Any
) -> None:
    later_stream = provider.check({}, {"stream_id": unknown, "cdn_urls": [B, A]})
    assert later_stream.failures == []
    assert later_stream.inputs["stream_id"] is unknown and sorted(later_stream.inputs["cdn_urls"]) == [A, B]
    assert provider.check({}, {"stream_id": unknown, "cdn_urls": ["http://x/y/z"]}).failures
    later_urls = provider.check({}, {"stream_id": "s", "cdn_urls": [B, unknown]})
    assert later_urls.failures == []
    assert later_urls.inputs["cdn_urls"] == [B, unknown]
    claim = claims.claim("s")
    assert claim is not None and not claim.complete  # its URLs may be anything yet


def test_check_claims_the_stream_for_this_deployment(
    provider: CdnTransferRuleSetProvider, claims: StreamClaims
) -> None:
    provider.check({}, {"stream_id": "s", "cdn_urls": [A, B]})
    claim = claims.claim("s")
    assert claim is not None and claim.complete and claim.urls == {A, B}
    assert claims.claim("other") is None


# diff


def test_diff_sees_no_change_in_another_order(provider: CdnTransferRuleSetProvider) -> None:
    result = provider.diff("x", props("s", A, B), {**props("s"), "cdn_urls": [B, A]})
    assert result.changes is False and result.replaces == []


def test_diff_replaces_on_a_new_stream_id(provider: CdnTransferRuleSetProvider) -> None:
    result = provider.diff("x", props("s", A), props("t", A))
    assert result.changes is True and result.replaces == ["stream_id"]
    assert result.delete_before_replace is False


@pytest.mark.parametrize(
    "news",
    [props("s", A, C), props("s", A), props("s", A, B, C), props("s", A_NEW, B), props("s", A, B, stop=False)],
    ids=["one URL swapped", "one removed", "one added", "only a query changed", "stop_relays_on_delete changed"],
)
def test_diff_updates_in_place_on_any_other_change(provider: CdnTransferRuleSetProvider, news: dict[str, Any]) -> None:
    result = provider.diff("x", props("s", A, B), news)
    assert result.changes is True and result.replaces == []


@pytest.mark.parametrize("urls", [UNKNOWN, [A, Unknown()], [Unknown(), A]], ids=["list", "item", "first item"])
def test_diff_counts_unknown_urls_as_a_change(provider: CdnTransferRuleSetProvider, urls: Any) -> None:
    result = provider.diff("x", props("s", A), {**props("s"), "cdn_urls": urls})
    assert result.changes is True and result.replaces == []


# create


def test_create_sends_one_create_per_url_and_returns_the_app_scoped_id(
    provider: CdnTransferRuleSetProvider, zego: FakeZego
) -> None:
    result = provider.create(props("s", B, A))
    assert result.id == f"{APP_ID}:s"
    assert result.outs == props("s", A, B)
    assert zego.calls == [(CREATE, "s", A), (CREATE, "s", B)]


def test_create_of_an_empty_rule_set_sends_nothing(provider: CdnTransferRuleSetProvider, zego: FakeZego) -> None:
    provider.create(props("quiet"))
    assert zego.calls == []


def test_create_rolls_back_what_it_created_when_a_create_fails_for_good(
    provider: CdnTransferRuleSetProvider, zego: FakeZego
) -> None:
    zego.fail(CREATE, C, invalid())
    with pytest.raises(ZegoInvalidInputError) as caught:
        provider.create(props("s", A, B, C))
    assert zego.calls[3:] == [(DELETE, "s", B), (DELETE, "s", A)]  # the refused one was never created
    assert zego.live("s") == []
    assert "Rolled back the 2 rule(s)" in "\n".join(caught.value.__notes__)


def test_create_also_undoes_the_url_whose_create_failed_with_a_server_error(
    provider: CdnTransferRuleSetProvider, zego: FakeZego
) -> None:
    zego.fail(CREATE, B, server_error())
    with pytest.raises(ZegoServerError) as caught:
        provider.create(props("s", A, B, C))
    assert zego.calls == [(CREATE, "s", A), (CREATE, "s", B), (DELETE, "s", B), (DELETE, "s", A)]
    assert "Rolled back the 2 rule(s)" in "\n".join(caught.value.__notes__)


def test_a_failed_rollback_is_noted_without_the_urls(provider: CdnTransferRuleSetProvider, zego: FakeZego) -> None:
    zego.fail(CREATE, C, invalid())
    zego.fail(DELETE, B, server_error("DeleteCDNTransferRule"))
    with pytest.raises(ZegoInvalidInputError) as caught:
        provider.create(props("s", A, B, C))
    notes = "\n".join(caught.value.__notes__)
    assert "Rollback could not delete 1 rule(s) of stream 's'" in notes and "zego-cdn delete s URL" in notes
    # The relay left is named by its host; its path and query (a stream key) stay out.
    assert "left on ZEGO: rtmp://cdn-b.example.com/…" in notes and "zego-cdn teardown --stdin" in notes
    assert "key-b" not in notes and "/live" not in notes
    assert (DELETE, "s", A) in zego.calls  # one failure does not stop the rest of the rollback


def test_rollback_counts_an_absent_rule_as_deleted(
    provider: CdnTransferRuleSetProvider, zego: FakeZego, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lifecycle, "ABSENT_RULE_CODES", frozenset({5004}))
    zego.fail(CREATE, C, invalid())
    zego.fail(DELETE, B, ZegoInvalidInputError("DeleteCDNTransferRule", 5004, "no such rule", "req-3"))
    with pytest.raises(ZegoInvalidInputError) as caught:
        provider.create(props("s", A, B, C))
    assert "Rolled back the 2 rule(s)" in "\n".join(caught.value.__notes__)


# update


def test_update_deletes_removed_urls_before_creating_added_ones(
    provider: CdnTransferRuleSetProvider, zego: FakeZego
) -> None:
    olds = recorded(zego, "s", A, B)
    result = provider.update("x", olds, props("s", B, C, D))
    assert result.outs == props("s", B, C, D)
    assert zego.calls == [(DELETE, "s", A), (CREATE, "s", C), (CREATE, "s", D)]
    assert zego.live("s") == [B, C, D]


def test_update_of_stop_relays_on_delete_alone_sends_nothing(
    provider: CdnTransferRuleSetProvider, zego: FakeZego
) -> None:
    olds = recorded(zego, "s", A)
    assert provider.update("x", olds, props("s", A, stop=False)).outs == props("s", A, stop=False)
    assert zego.calls == []


def test_update_rolls_back_its_creates_and_restores_its_deletes_when_a_create_fails(
    provider: CdnTransferRuleSetProvider, zego: FakeZego
) -> None:
    olds = recorded(zego, "s", A)
    zego.fail(CREATE, D, invalid())
    with pytest.raises(ZegoInvalidInputError) as caught:
        provider.update("x", olds, props("s", C, D))
    assert zego.calls == [(DELETE, "s", A), (CREATE, "s", C), (CREATE, "s", D), (DELETE, "s", C), (CREATE, "s", A)]
    assert zego.live("s") == olds["cdn_urls"]  # what the state, which keeps the old inputs, lists
    assert "Created again the 1 rule(s)" in "\n".join(caught.value.__notes__)


def test_a_failed_token_rotation_leaves_the_old_url_relayed(
    provider: CdnTransferRuleSetProvider, zego: FakeZego
) -> None:
    olds = recorded(zego, "s", A)
    zego.fail(CREATE, A_NEW, server_error())
    with pytest.raises(ZegoServerError):
        provider.update("x", olds, props("s", A_NEW))
    assert zego.calls == [(DELETE, "s", A), (CREATE, "s", A_NEW), (DELETE, "s", A_NEW), (CREATE, "s", A)]
    assert zego.live("s") == [A]


def test_a_failed_delete_in_an_update_restores_what_it_had_deleted(
    provider: CdnTransferRuleSetProvider, zego: FakeZego
) -> None:
    olds = recorded(zego, "s", A, B, C)
    zego.fail(DELETE, B, invalid("DeleteCDNTransferRule"))
    with pytest.raises(ZegoInvalidInputError) as caught:
        provider.update("x", olds, props("s", C))
    assert zego.calls == [(DELETE, "s", A), (DELETE, "s", B), (CREATE, "s", A)]
    assert zego.live("s") == [A, B, C]
    assert "Created again the 1 rule(s)" in "\n".join(caught.value.__notes__)


def test_a_failed_restore_is_noted(provider: CdnTransferRuleSetProvider, zego: FakeZego) -> None:
    olds = recorded(zego, "s", A, B)
    zego.fail(CREATE, C, invalid())
    zego.fail(CREATE, A, server_error())
    with pytest.raises(ZegoInvalidInputError) as caught:
        provider.update("x", olds, props("s", B, C))
    assert "Could not create again 1 of the 1 rule(s)" in "\n".join(caught.value.__notes__)
    assert "cdn-a" not in "\n".join(caught.value.__notes__)


def test_a_rotated_token_ends_with_exactly_the_new_url(provider: CdnTransferRuleSetProvider, zego: FakeZego) -> None:
    olds = recorded(zego, "s", A, B)
    provider.update("x", olds, props("s", A_NEW, B))
    # A Create alone would be accepted and keep the old token: the old URL goes first.
    assert zego.calls == [(DELETE, "s", A), (CREATE, "s", A_NEW)]
    assert zego.live("s") == [A_NEW, B]


def test_update_keeps_a_removed_url_that_another_rule_set_still_declares(
    provider: CdnTransferRuleSetProvider, zego: FakeZego, claims: StreamClaims
) -> None:
    olds = recorded(zego, "s", A, B)
    claims.declare("s", [B])  # another rule set of this deployment declares B on this stream
    provider.update("x", olds, props("s", A))
    assert zego.calls == []


# delete


def test_delete_stops_each_relay_then_clears(provider: CdnTransferRuleSetProvider, zego: FakeZego) -> None:
    provider.delete(f"{APP_ID}:s", props("s", A, B))
    assert zego.calls == [(DELETE, "s", A), (DELETE, "s", B), (CLEAR, "s", None)]


def test_delete_without_stopping_relays_only_clears(provider: CdnTransferRuleSetProvider, zego: FakeZego) -> None:
    provider.delete(f"{APP_ID}:s", props("s", A, B, stop=False))
    assert zego.calls == [(CLEAR, "s", None)]


def test_delete_of_an_empty_rule_set_still_clears(provider: CdnTransferRuleSetProvider, zego: FakeZego) -> None:
    provider.delete(f"{APP_ID}:quiet", props("quiet"))
    assert zego.calls == [(CLEAR, "quiet", None)]


def test_delete_takes_the_stream_from_the_id_when_the_state_lacks_it(
    provider: CdnTransferRuleSetProvider, zego: FakeZego
) -> None:
    provider.delete(f"{APP_ID}:from&id", {})
    assert zego.calls == [(CLEAR, "from&id", None)]


def test_an_absent_code_counts_as_done_and_any_other_fails(
    provider: CdnTransferRuleSetProvider, zego: FakeZego, monkeypatch: pytest.MonkeyPatch
) -> None:
    zego.fail(DELETE, A, ZegoInvalidInputError("DeleteCDNTransferRule", 5004, "no such rule", "req-4"))
    with pytest.raises(ZegoInvalidInputError):
        provider.delete(f"{APP_ID}:s", props("s", A, B))
    assert (CLEAR, "s", None) not in zego.calls

    monkeypatch.setattr(lifecycle, "ABSENT_RULE_CODES", frozenset({5004}))
    zego.calls.clear()
    provider.delete(f"{APP_ID}:s", props("s", A, B))
    assert zego.calls == [(DELETE, "s", A), (DELETE, "s", B), (CLEAR, "s", None)]


def test_an_absent_code_on_clear_counts_as_done(
    provider: CdnTransferRuleSetProvider, zego: FakeZego, monkeypatch: pytest.MonkeyPatch
) -> None:
    zego.fail(CLEAR, None, ZegoInvalidInputError("ClearCDNTransferRule", 5005, "nothing to clear", "req-5"))
    with pytest.raises(ZegoInvalidInputError):
        provider.delete(f"{APP_ID}:s", props("s"))
    monkeypatch.setattr(lifecycle, "ABSENT_RULE_CODES", frozenset({5005}))
    provider.delete(f"{APP_ID}:s", props("s"))


# delete while another rule set of this deployment still declares the stream (zego_provider.claims)


def test_delete_leaves_every_relay_the_new_name_declares_and_does_not_clear(
    provider: CdnTransferRuleSetProvider, zego: FakeZego
) -> None:
    old = recorded(zego, "s", A, B)
    renamed = provider.check({}, props("s", A, B)).inputs  # the program now declares it under another name
    provider.create(renamed)
    zego.calls.clear()
    provider.delete(f"{APP_ID}:s", old)
    assert zego.calls == []
    assert zego.live("s") == [A, B]


def test_delete_removes_only_what_nobody_declares_any_more(
    provider: CdnTransferRuleSetProvider, zego: FakeZego, claims: StreamClaims
) -> None:
    old = recorded(zego, "s", A, B)
    claims.declare("s", [B, C])
    provider.delete(f"{APP_ID}:s", old)
    assert zego.calls == [(DELETE, "s", A)]


def test_delete_hands_a_relay_over_to_the_query_its_new_owner_declares(
    provider: CdnTransferRuleSetProvider, zego: FakeZego, claims: StreamClaims
) -> None:
    old = recorded(zego, "s", A, B)
    provider.create(provider.check({}, props("s", A_NEW, B)).inputs)  # accepted, but ZEGO keeps token=old
    assert zego.live("s") == [A, B]
    zego.calls.clear()
    provider.delete(f"{APP_ID}:s", old)
    assert zego.calls == [(DELETE, "s", A), (CREATE, "s", A_NEW)]
    assert zego.live("s") == [A_NEW, B]


def test_delete_without_stopping_relays_of_a_declared_stream_sends_only_hand_overs(
    provider: CdnTransferRuleSetProvider, zego: FakeZego, claims: StreamClaims
) -> None:
    old = recorded(zego, "s", A, C, stop=False)
    claims.declare("s", [A_NEW])
    provider.delete(f"{APP_ID}:s", old)
    assert zego.calls == [(DELETE, "s", A), (CREATE, "s", A_NEW)]  # C is left running, as asked; no Clear


def test_delete_of_a_stream_declared_with_unknown_urls_sends_nothing(
    provider: CdnTransferRuleSetProvider, zego: FakeZego, claims: StreamClaims
) -> None:
    claims.declare("s", None)
    provider.delete(f"{APP_ID}:s", props("s", A))
    assert zego.calls == []


def test_a_claim_on_another_stream_changes_nothing(
    provider: CdnTransferRuleSetProvider, zego: FakeZego, claims: StreamClaims
) -> None:
    claims.declare("t", [A])
    provider.delete(f"{APP_ID}:s", props("s", A))
    assert zego.calls == [(DELETE, "s", A), (CLEAR, "s", None)]


# read


def test_read_keeps_the_recorded_state(provider: CdnTransferRuleSetProvider, zego: FakeZego) -> None:
    result = provider.read(f"{APP_ID}:s", {**props("s", A), "__provider": "blob"})
    assert result.id == f"{APP_ID}:s" and result.outs == props("s", A)
    assert zego.calls == []


def test_read_fills_what_the_state_lacks_from_the_id(provider: CdnTransferRuleSetProvider) -> None:
    assert provider.read(f"{APP_ID}:s&t", {}).outs == props("s&t")


# the serialized provider


@pytest.mark.parametrize("pickler", [pickle, dill], ids=["pickle", "dill"])
def test_neither_seam_nor_settings_are_pickled(provider: CdnTransferRuleSetProvider, pickler: Any) -> None:
    assert provider.__getstate__() == {}
    blob = pickler.dumps(provider)
    assert SECRET.encode() not in blob
    restored = pickler.loads(blob)
    assert restored._client_factory is shared_client and restored._claims is stream_claims
    assert restored._config is None


def test_the_default_client_is_shared_per_settings() -> None:
    config = ProviderConfig.from_sources(
        {"zego:appId": str(APP_ID), "zego:serverSecret": SECRET, "zego:endpoint": "http://127.0.0.1:9"}, {}
    )
    client = shared_client(config)
    try:
        assert shared_client(config) is client
    finally:
        client.close()
        provider_module._clients.pop(config, None)
