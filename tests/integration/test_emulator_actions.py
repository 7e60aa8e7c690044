"""The three CDN transfer actions: their parameters, their effect on the rules, the Sequence rule."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from zego_provider.emulator import EmulatorAdmin, ZegoEmulator

if TYPE_CHECKING:
    from tests.integration.conftest import FakeClock, RawZego

CREATE = "CreatCDNTransferRule"
DELETE = "DeleteCDNTransferRule"
CLEAR = "ClearCDNTransferRule"
APP_ID = 1234567890
STREAM = "show-42"
URL_A = "rtmp://cdn-a.example.com/live/show-42"
URL_B = "rtmp://cdn-b.example.com/live/show-42?token=abc"


def scheduled(url: str) -> dict[str, str]:
    return {"cdn_url": url, "status": "scheduled"}


def active(url: str) -> dict[str, str]:
    return {"cdn_url": url, "status": "active"}


# --- action parameters -------------------------------------------------------------


@pytest.mark.parametrize("action", [CREATE, DELETE, CLEAR])
def test_a_missing_stream_id_is_a_wrong_input(zego: RawZego, action: str) -> None:
    assert zego.code(action, CDNUrl=URL_A) == 2


@pytest.mark.parametrize(
    "stream_id",
    [
        pytest.param("", id="empty"),
        pytest.param("x" * 257, id="257 characters"),
        pytest.param("has space", id="space"),
        pytest.param("tab\there", id="tab"),
        pytest.param("ümlaut", id="non-ASCII letter"),
        pytest.param("what?", id="question mark"),
        pytest.param('quote"d', id="double quote"),
    ],
)
@pytest.mark.parametrize("action", [CREATE, CLEAR])
def test_an_invalid_stream_id_gets_30009(zego: RawZego, action: str, stream_id: str) -> None:
    assert zego.code(action, StreamId=stream_id, CDNUrl=URL_A) == 30009


def test_every_symbol_zego_lists_is_a_valid_stream_id(zego: RawZego, admin: EmulatorAdmin) -> None:
    symbols = "aZ09~!@#$%^&*()_+=-`;',.<>/\\"
    stream_id = symbols + "x" * (256 - len(symbols))

    assert zego.code(CREATE, StreamId=stream_id, CDNUrl=URL_A) == 0
    assert admin.stream(stream_id) == [scheduled(URL_A)]


def test_the_test_environment_needs_the_zegotest_prefix(zego: RawZego) -> None:
    document = zego.call(CREATE, StreamId=STREAM, CDNUrl=URL_A, IsTest="true")

    assert document["Code"] == 30009
    assert f"zegotest-{APP_ID}-" in document["Message"]


def test_the_test_environment_accepts_a_prefixed_stream_id(zego: RawZego, admin: EmulatorAdmin) -> None:
    stream_id = f"zegotest-{APP_ID}-{STREAM}"

    assert zego.code(CREATE, StreamId=stream_id, CDNUrl=URL_A, IsTest="true") == 0
    assert admin.stream(stream_id) == [scheduled(URL_A)]


@pytest.mark.parametrize("sequence", [None, "", "abc", "1.5", "12e3"], ids=["missing", "empty", "word", "float", "exp"])
def test_a_missing_or_non_integer_sequence_gets_5005(zego: RawZego, sequence: str | None) -> None:
    params = zego.params(CLEAR, StreamId=STREAM)
    if sequence is None:
        del params["Sequence"]
    else:
        params["Sequence"] = sequence

    assert zego.send(params).json()["Code"] == 5005


@pytest.mark.parametrize("action", [CREATE, DELETE])
def test_a_missing_cdn_url_is_a_wrong_input(zego: RawZego, action: str) -> None:
    assert zego.code(action, StreamId=STREAM) == 2


@pytest.mark.parametrize(
    "cdn_url",
    [
        pytest.param("", id="empty"),
        pytest.param("http://cdn.example.com/live/x", id="http"),
        pytest.param("rtmps://cdn.example.com/live/x", id="rtmps"),
        pytest.param("rtmp:///live/x", id="no host"),
        pytest.param("cdn.example.com/live/x", id="no scheme"),
        pytest.param("rtmp://cdn.example.com:port/live", id="bad port"),
        pytest.param("rtmp://cdn.example.com/live x", id="space"),
    ],
)
@pytest.mark.parametrize("action", [CREATE, DELETE])
def test_a_cdn_url_that_is_not_rtmp_with_a_host_gets_5004(zego: RawZego, action: str, cdn_url: str) -> None:
    assert zego.code(action, StreamId=STREAM, CDNUrl=cdn_url) == 5004


def test_a_refused_request_changes_no_rules(zego: RawZego, admin: EmulatorAdmin) -> None:
    zego.code(CREATE, StreamId=STREAM, CDNUrl="http://not-rtmp.example.com/x")
    zego.code(CREATE, StreamId="bad stream", CDNUrl=URL_A)

    assert admin.streams() == {}


# --- what each action does -----------------------------------------------------------


def test_create_schedules_a_relay(zego: RawZego, admin: EmulatorAdmin) -> None:
    assert zego.code(CREATE, StreamId=STREAM, CDNUrl=URL_A) == 0
    assert zego.code(CREATE, StreamId=STREAM, CDNUrl=URL_B) == 0

    assert admin.streams() == {STREAM: [scheduled(URL_A), scheduled(URL_B)]}


def test_publishing_the_stream_starts_its_scheduled_relays(zego: RawZego, admin: EmulatorAdmin) -> None:
    zego.code(CREATE, StreamId=STREAM, CDNUrl=URL_A)

    published = admin.publish(STREAM)

    assert published == {"stream_id": STREAM, "started": 1, "rules": [active(URL_A)]}
    assert admin.stream(STREAM) == [active(URL_A)]


def test_clear_removes_only_scheduled_rules(zego: RawZego, admin: EmulatorAdmin) -> None:
    zego.code(CREATE, StreamId=STREAM, CDNUrl=URL_A)
    admin.publish(STREAM)
    zego.code(CREATE, StreamId=STREAM, CDNUrl=URL_B)

    assert zego.code(CLEAR, StreamId=STREAM) == 0

    assert admin.stream(STREAM) == [active(URL_A)]


def test_clear_touches_only_its_own_stream(zego: RawZego, admin: EmulatorAdmin) -> None:
    zego.code(CREATE, StreamId=STREAM, CDNUrl=URL_A)
    zego.code(CREATE, StreamId="other", CDNUrl=URL_A)

    zego.code(CLEAR, StreamId=STREAM)

    assert admin.streams() == {"other": [scheduled(URL_A)]}


def test_delete_removes_a_scheduled_rule(zego: RawZego, admin: EmulatorAdmin) -> None:
    zego.code(CREATE, StreamId=STREAM, CDNUrl=URL_A)
    zego.code(CREATE, StreamId=STREAM, CDNUrl=URL_B)

    assert zego.code(DELETE, StreamId=STREAM, CDNUrl=URL_A) == 0

    assert admin.stream(STREAM) == [scheduled(URL_B)]


def test_delete_stops_an_active_relay(zego: RawZego, admin: EmulatorAdmin) -> None:
    zego.code(CREATE, StreamId=STREAM, CDNUrl=URL_A)
    admin.publish(STREAM)

    assert zego.code(DELETE, StreamId=STREAM, CDNUrl=URL_A) == 0

    assert admin.stream(STREAM) == []
    assert admin.streams() == {}


def test_delete_matches_the_url_whatever_its_query_string(zego: RawZego, admin: EmulatorAdmin) -> None:
    zego.code(CREATE, StreamId=STREAM, CDNUrl="rtmp://cdn.example.com/live/key?token=old&expires=1")

    assert zego.code(DELETE, StreamId=STREAM, CDNUrl="rtmp://cdn.example.com/live/key?token=new") == 0

    assert admin.stream(STREAM) == []


def test_delete_does_not_match_a_different_path(zego: RawZego, admin: EmulatorAdmin) -> None:
    zego.code(CREATE, StreamId=STREAM, CDNUrl="rtmp://cdn.example.com/live/key")

    zego.code(DELETE, StreamId=STREAM, CDNUrl="rtmp://cdn.example.com/live/key2")

    assert admin.stream(STREAM) == [scheduled("rtmp://cdn.example.com/live/key")]


# --- the undocumented cases: success by default, switchable --------------------------


def test_clear_of_an_empty_stream_succeeds_by_default(zego: RawZego) -> None:
    assert zego.code(CLEAR, StreamId="never-used") == 0


def test_clear_of_a_stream_with_only_active_relays_counts_as_empty(make_emulator, raw_for) -> None:
    emulator: ZegoEmulator = make_emulator(rate_limit=None, clear_empty_code=5005)
    zego = raw_for(emulator)
    zego.code(CREATE, StreamId=STREAM, CDNUrl=URL_A)
    emulator.admin.publish(STREAM)

    assert zego.code(CLEAR, StreamId=STREAM) == 5005
    assert emulator.admin.stream(STREAM) == [active(URL_A)]


def test_delete_of_an_unknown_url_succeeds_by_default(zego: RawZego) -> None:
    assert zego.code(DELETE, StreamId=STREAM, CDNUrl=URL_A) == 0


def test_create_of_an_existing_rule_succeeds_by_default_and_keeps_one_rule(zego: RawZego, admin: EmulatorAdmin) -> None:
    zego.code(CREATE, StreamId=STREAM, CDNUrl=URL_A)
    admin.publish(STREAM)

    assert zego.code(CREATE, StreamId=STREAM, CDNUrl=URL_A) == 0

    assert admin.stream(STREAM) == [active(URL_A)]


@pytest.mark.parametrize(
    ("switch", "setup", "action", "extra"),
    [
        ("clear_empty_code", [], CLEAR, {}),
        ("delete_unknown_code", [], DELETE, {"CDNUrl": URL_A}),
        ("create_existing_code", [URL_A], CREATE, {"CDNUrl": URL_A}),
    ],
)
def test_each_undocumented_case_can_be_switched_to_an_error(
    make_emulator, raw_for, switch: str, setup: list[str], action: str, extra: dict[str, str]
) -> None:
    emulator: ZegoEmulator = make_emulator(rate_limit=None, **{switch: 5005})
    zego = raw_for(emulator)
    for url in setup:
        zego.code(CREATE, StreamId=STREAM, CDNUrl=url)

    document = zego.call(action, StreamId=STREAM, **extra)

    assert document["Code"] == 5005
    assert document["Message"].startswith("invalid request")


@pytest.mark.parametrize("switch", ["clear_empty_code", "delete_unknown_code", "create_existing_code"])
def test_each_switch_can_be_changed_at_run_time(zego: RawZego, admin: EmulatorAdmin, switch: str) -> None:
    zego.code(CREATE, StreamId=STREAM, CDNUrl=URL_A)
    config = admin.configure(**{switch: 30003})
    assert config[switch] == 30003

    codes = {
        "clear_empty_code": lambda: zego.code(CLEAR, StreamId="empty"),
        "delete_unknown_code": lambda: zego.code(DELETE, StreamId=STREAM, CDNUrl=URL_B),
        "create_existing_code": lambda: zego.code(CREATE, StreamId=STREAM, CDNUrl=URL_A),
    }
    assert codes[switch]() == 30003


# --- the Sequence rule --------------------------------------------------------------


def test_an_equal_sequence_within_ten_seconds_is_stale(zego: RawZego) -> None:
    assert zego.code(CLEAR, StreamId=STREAM, Sequence=1000) == 0

    document = zego.call(CLEAR, StreamId=STREAM, Sequence=1000)

    assert document["Code"] == 5005
    assert "stale" in document["Message"]


def test_a_lower_sequence_within_ten_seconds_is_stale(zego: RawZego) -> None:
    zego.code(CLEAR, StreamId=STREAM, Sequence=1000)

    assert zego.code(CLEAR, StreamId=STREAM, Sequence=999) == 5005


def test_a_stale_sequence_changes_nothing(zego: RawZego, admin: EmulatorAdmin) -> None:
    zego.code(CREATE, StreamId=STREAM, CDNUrl=URL_A, Sequence=1000)

    assert zego.code(CREATE, StreamId=STREAM, CDNUrl=URL_B, Sequence=1000) == 5005

    assert admin.stream(STREAM) == [scheduled(URL_A)]


def test_sequences_are_per_stream(zego: RawZego) -> None:
    zego.code(CLEAR, StreamId=STREAM, Sequence=1000)

    assert zego.code(CLEAR, StreamId="another", Sequence=5) == 0


def test_a_lower_sequence_is_accepted_again_after_ten_seconds(make_emulator, raw_for, fake_clock: FakeClock) -> None:
    emulator: ZegoEmulator = make_emulator(rate_limit=None, clock=fake_clock)
    zego = raw_for(emulator)
    assert zego.code(CLEAR, StreamId=STREAM, Sequence=1000) == 0

    fake_clock.advance(9.9)
    assert zego.code(CLEAR, StreamId=STREAM, Sequence=5) == 5005
    fake_clock.advance(0.2)
    assert zego.code(CLEAR, StreamId=STREAM, Sequence=5) == 0
    assert zego.code(CLEAR, StreamId=STREAM, Sequence=5) == 5005


def test_the_backend_can_be_driven_without_http(emulator: ZegoEmulator) -> None:
    state = emulator.state

    assert state.create_rule(STREAM, URL_A, 1).code == 0
    assert state.create_rule(STREAM, URL_B, 1).code == 5005
    assert state.publish(STREAM) == 1
    assert state.clear_rules(STREAM).code == 0
    assert state.snapshot() == {STREAM: [active(URL_A)]}
    assert emulator.admin.streams() == state.snapshot()
