"""The rule-set lifecycle both front-ends share, with plain dicts and a fake ZEGO client: no Pulumi involved."""

from __future__ import annotations

from typing import Any

import pytest

from zego_provider import lifecycle
from zego_provider.claims import StreamClaims
from zego_provider.errors import ZegoAuthenticationError, ZegoInvalidInputError
from zego_provider.lifecycle import InvalidStateError, RuleSetLifecycle, one_line
from zego_provider.provider import CdnTransferRuleSetProvider

from .fake_zego import A_NEW, CLEAR, CREATE, DELETE, A, B, C, FakeZego, invalid, server_error

APP_ID = 1234567890


@pytest.fixture
def rule_sets(zego: FakeZego, claims: StreamClaims) -> RuleSetLifecycle:
    return RuleSetLifecycle(lambda: zego, claims, app_id=APP_ID, is_test=False)


def fields(stream_id: str, *urls: str, stop: bool = True) -> dict[str, Any]:
    return {"stream_id": stream_id, "cdn_urls": sorted(urls), "stop_relays_on_delete": stop}


def test_check_never_builds_a_client(claims: StreamClaims) -> None:
    def no_client() -> FakeZego:
        raise AssertionError("check must not need a client")

    checked = RuleSetLifecycle(no_client, claims, app_id=APP_ID, is_test=False).check({"stream_id": "s"})
    assert checked.problems == [] and checked.inputs == fields("s")


def test_check_reports_problems_by_field_path_without_input_values(rule_sets: RuleSetLifecycle) -> None:
    checked = rule_sets.check({"stream_id": "bad id", "cdn_urls": [A, "http://x/secret-key"]})
    paths = [path for path, _ in checked.problems]
    assert paths == ["stream_id", "cdn_urls[1]"]
    assert all("secret-key" not in reason for _, reason in checked.problems)


def test_check_passes_unknown_fields_through_and_claims_nothing_it_cannot_name(
    rule_sets: RuleSetLifecycle, claims: StreamClaims
) -> None:
    unknown = object()
    checked = rule_sets.check({"stream_id": unknown, "cdn_urls": [A]}, {"stream_id"})
    assert checked.problems == [] and checked.inputs["stream_id"] is unknown
    assert claims.claim("s") is None


def test_a_later_declaration_by_the_same_owner_replaces_its_earlier_one(
    rule_sets: RuleSetLifecycle, claims: StreamClaims
) -> None:
    rule_sets.check({"stream_id": "s", "cdn_urls": object()}, {"cdn_urls"}, owner="urn:one")
    assert claims.claim("s") is not None and not claims.claim("s").complete  # type: ignore[union-attr]
    rule_sets.check({"stream_id": "s", "cdn_urls": [A]}, owner="urn:one")
    claim = claims.claim("s")
    assert claim is not None and claim.complete and claim.urls == {A} and claim.owners == {"urn:one"}


def test_declarations_of_two_owners_add_up(rule_sets: RuleSetLifecycle, claims: StreamClaims) -> None:
    rule_sets.check({"stream_id": "s", "cdn_urls": [A]}, owner="urn:one")
    rule_sets.check({"stream_id": "s", "cdn_urls": [B]}, owner="urn:two")
    claim = claims.claim("s")
    assert claim is not None and claim.urls == {A, B} and claim.owners == {"urn:one", "urn:two"}


def test_anonymous_declarations_accumulate_as_the_dynamic_provider_needs(claims: StreamClaims) -> None:
    claims.declare("s", [A])
    claims.declare("s", None)
    claims.declare("s", [B])
    claim = claims.claim("s")
    assert claim is not None and not claim.complete and claim.owners == frozenset()


def test_diff_replaces_on_the_stream_and_updates_on_the_rest() -> None:
    assert lifecycle.diff(fields("s", A, B), fields("s", B, A)).changed == []
    assert lifecycle.diff(fields("s", A), fields("t", A)).replaces == ["stream_id"]
    assert lifecycle.diff(fields("s", A), fields("s", A_NEW)).changed == ["cdn_urls"]
    assert lifecycle.diff(fields("s", A), fields("s", A), {"cdn_urls"}).changed == ["cdn_urls"]


def test_create_returns_the_app_scoped_id_and_normalized_outputs(rule_sets: RuleSetLifecycle, zego: FakeZego) -> None:
    id_, outs = rule_sets.create({"stream_id": "s", "cdn_urls": [B, A]})
    assert id_ == f"{APP_ID}:s" and outs == fields("s", A, B)
    assert zego.calls == [(CREATE, "s", A), (CREATE, "s", B)]


def test_a_failed_create_rolls_back_and_says_so_in_one_line(rule_sets: RuleSetLifecycle, zego: FakeZego) -> None:
    zego.fail(CREATE, B, invalid())
    with pytest.raises(ZegoInvalidInputError) as caught:
        rule_sets.create(fields("s", A, B))
    assert zego.live("s") == []
    line = one_line(caught.value)
    assert "\n" not in line and "code 5005" in line and "RequestId req-1" in line and "Rolled back the 1" in line


def test_an_update_deletes_before_it_creates_and_restores_on_failure(
    rule_sets: RuleSetLifecycle, zego: FakeZego
) -> None:
    zego.rules["s"] = [A]
    zego.fail(CREATE, A_NEW, server_error())
    with pytest.raises(Exception, match="code 5000"):
        rule_sets.update(fields("s", A), fields("s", A_NEW))
    assert zego.calls[0] == (DELETE, "s", A) and zego.calls[-1] == (CREATE, "s", A)
    assert zego.live("s") == [A]


def test_an_update_keeps_a_removed_url_another_owner_declares(
    rule_sets: RuleSetLifecycle, zego: FakeZego, claims: StreamClaims
) -> None:
    zego.rules["s"] = [A, B]
    claims.declare("s", [A], owner="urn:other")
    rule_sets.update(fields("s", A, B), fields("s", B))
    assert zego.calls == []


def test_delete_ends_with_clear_and_takes_the_stream_from_the_id(rule_sets: RuleSetLifecycle, zego: FakeZego) -> None:
    rule_sets.delete(f"{APP_ID}:s:with:colons", {"cdn_urls": [A]})
    assert zego.calls == [(DELETE, "s:with:colons", A), (CLEAR, "s:with:colons", None)]


def test_delete_of_a_stream_another_owner_declares_hands_over_and_keeps_the_rest(
    rule_sets: RuleSetLifecycle, zego: FakeZego, claims: StreamClaims, caplog: pytest.LogCaptureFixture
) -> None:
    zego.rules["s"] = [A, B, C]
    claims.declare("s", [A_NEW, B], owner="urn:pulumi:dev::p::zego:index:CdnTransferRuleSet::renamed")
    rule_sets.delete(f"{APP_ID}:s", fields("s", A, B, C))
    assert zego.calls == [(DELETE, "s", C), (DELETE, "s", A), (CREATE, "s", A_NEW)]
    assert zego.live("s") == [A_NEW, B]


def test_delete_names_the_declaring_resource_when_it_sends_nothing(
    rule_sets: RuleSetLifecycle, zego: FakeZego, claims: StreamClaims, caplog: pytest.LogCaptureFixture
) -> None:
    claims.declare("s", None, owner="urn:pulumi:dev::p::zego:index:CdnTransferRuleSet::renamed")
    rule_sets.delete(f"{APP_ID}:s", fields("s", A))
    assert zego.calls == []
    assert "::renamed" in caplog.text


def test_an_absent_code_counts_as_done(
    rule_sets: RuleSetLifecycle, zego: FakeZego, monkeypatch: pytest.MonkeyPatch
) -> None:
    zego.fail(CLEAR, None, ZegoInvalidInputError("ClearCDNTransferRule", 5005, "nothing", "req-5"))
    monkeypatch.setattr(lifecycle, "ABSENT_RULE_CODES", frozenset({5005}))
    rule_sets.delete(f"{APP_ID}:s", fields("s"))
    assert zego.calls == [(CLEAR, "s", None)]


@pytest.mark.parametrize("stream_id", ["ab\ncd", "key note", "x" * 257])
def test_an_import_of_a_stream_id_that_check_refuses_is_refused_by_both_front_ends(stream_id: str) -> None:
    """The dynamic resource's read (`import_=` option) and the native one share this rule."""
    with pytest.raises(lifecycle.ImportIdError, match="the stream id"):
        lifecycle.read(f"{APP_ID}:{stream_id}", {})
    with pytest.raises(lifecycle.ImportIdError):
        CdnTransferRuleSetProvider().read(f"{APP_ID}:{stream_id}", {})


def test_read_keeps_the_state_and_an_import_learns_only_the_stream() -> None:
    assert lifecycle.read(f"{APP_ID}:s", fields("s", A)) == fields("s", A)
    assert lifecycle.read(f"{APP_ID}:s", {}) == fields("s")


def test_hand_edited_state_is_refused_without_its_values(rule_sets: RuleSetLifecycle, zego: FakeZego) -> None:
    with pytest.raises(InvalidStateError, match=r"cdn_urls\[0\]") as caught:
        rule_sets.create({"stream_id": "s", "cdn_urls": ["http://cdn/stream-key-123"]})
    assert "stream-key-123" not in str(caught.value) and isinstance(caught.value, ValueError)
    assert zego.calls == []


def test_one_line_keeps_code_meaning_fix_and_request_id() -> None:
    error = ZegoAuthenticationError(
        "CreatCDNTransferRule", 100000005, "bad sig", "req-9", meaning="signature wrong", fix="check zego:serverSecret"
    )
    error.add_note("Rolled back the 2 rule(s)\nthis operation had created.")
    line = one_line(error)
    assert "\n" not in line
    for part in ("code 100000005", "signature wrong", "check zego:serverSecret", "RequestId req-9", "Rolled back"):
        assert part in line


def test_a_second_rule_set_on_a_stream_is_refused_naming_the_first(
    rule_sets: RuleSetLifecycle, claims: StreamClaims
) -> None:
    first = "urn:pulumi:dev::p::zego:index:CdnTransferRuleSet::lobby"
    assert rule_sets.check(fields("s", A), owner=first).problems == []
    assert rule_sets.check(fields("s", A), owner=first).problems == []  # checked again: still the same owner
    [(path, reason)] = rule_sets.check(fields("s", B), owner=first.replace("lobby", "stage")).problems
    assert path == "stream_id" and "'lobby'" in reason and first in reason


def test_without_owners_a_stream_declared_twice_is_not_refused_here(rule_sets: RuleSetLifecycle) -> None:
    """The dynamic resource knows no URN: its program refuses a second rule set (StreamDeclaredTwiceError)."""
    assert rule_sets.check(fields("s", A)).problems == []
    assert rule_sets.check(fields("s", B)).problems == []
