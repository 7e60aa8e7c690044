"""The per-AppId rate limit: a burst beyond it gets 5007, a client spaced at it never does."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from tests.support.settings import config_of
from zego_provider.client import ZegoClient
from zego_provider.emulator import ZegoEmulator

if TYPE_CHECKING:
    from tests.integration.conftest import FakeClock

CLEAR = "ClearCDNTransferRule"
APP_ID = 1234567890
SECRET = "emulator-test-secret-0f1e2d3c4b5a"


def test_a_burst_over_the_limit_gets_5007(make_emulator, raw_for, fake_clock: FakeClock) -> None:
    emulator: ZegoEmulator = make_emulator(rate_limit=5, clock=fake_clock)
    zego = raw_for(emulator)

    codes = [zego.code(CLEAR, StreamId=f"s{i}") for i in range(8)]

    assert codes == [0] * 5 + [5007] * 3


def test_the_limit_message_says_what_happened(make_emulator, raw_for, fake_clock: FakeClock) -> None:
    emulator: ZegoEmulator = make_emulator(rate_limit=1, clock=fake_clock)
    zego = raw_for(emulator)
    zego.code(CLEAR, StreamId="s")

    document = zego.call(CLEAR, StreamId="s")

    assert document["Code"] == 5007
    assert "call frequency too high" in document["Message"]


def test_requests_spaced_at_the_limit_are_never_refused(make_emulator, raw_for, fake_clock: FakeClock) -> None:
    emulator: ZegoEmulator = make_emulator(rate_limit=5, clock=fake_clock)
    zego = raw_for(emulator)
    codes = []
    for i in range(30):
        codes.append(zego.code(CLEAR, StreamId=f"s{i}"))
        fake_clock.advance(1 / 5)

    assert set(codes) == {0}


def test_the_bucket_refills_after_a_burst(make_emulator, raw_for, fake_clock: FakeClock) -> None:
    emulator: ZegoEmulator = make_emulator(rate_limit=5, clock=fake_clock)
    zego = raw_for(emulator)
    for i in range(6):
        zego.code(CLEAR, StreamId=f"s{i}")

    fake_clock.advance(1.0)

    assert [zego.code(CLEAR, StreamId=f"t{i}") for i in range(6)] == [0] * 5 + [5007]


def test_the_test_environment_has_half_the_limit(make_emulator, raw_for, fake_clock: FakeClock) -> None:
    emulator: ZegoEmulator = make_emulator(rate_limit=10, clock=fake_clock)
    zego = raw_for(emulator)

    codes = [zego.code(CLEAR, StreamId=f"zegotest-{APP_ID}-s{i}", IsTest="true") for i in range(7)]

    assert codes == [0] * 5 + [5007] * 2
    assert zego.code(CLEAR, StreamId="production") == 0  # a separate budget


def test_the_test_rate_limit_can_be_set_apart(make_emulator, raw_for, fake_clock: FakeClock) -> None:
    emulator: ZegoEmulator = make_emulator(rate_limit=10, test_rate_limit=2, clock=fake_clock)
    zego = raw_for(emulator)

    codes = [zego.code(CLEAR, StreamId=f"zegotest-{APP_ID}-s{i}", IsTest="true") for i in range(3)]

    assert codes == [0, 0, 5007]


def test_no_limit_when_rate_limit_is_none(make_emulator, raw_for, fake_clock: FakeClock) -> None:
    emulator: ZegoEmulator = make_emulator(rate_limit=None, clock=fake_clock)
    zego = raw_for(emulator)

    assert {zego.code(CLEAR, StreamId=f"s{i}") for i in range(40)} == {0}
    assert {zego.code(CLEAR, StreamId=f"zegotest-{APP_ID}-s{i}", IsTest="true") for i in range(20)} == {0}


def test_the_limit_can_be_changed_at_run_time(make_emulator, raw_for, fake_clock: FakeClock) -> None:
    emulator: ZegoEmulator = make_emulator(rate_limit=None, clock=fake_clock)
    zego = raw_for(emulator)

    assert emulator.admin.configure(rate_limit=2) == {
        "rate_limit": 2.0,
        "test_rate_limit": 1.0,
        "rate_window": "sliding",
        "clear_empty_code": 0,
        "delete_unknown_code": 0,
        "create_existing_code": 0,
    }
    assert [zego.code(CLEAR, StreamId=f"s{i}") for i in range(3)] == [0, 0, 5007]
    emulator.admin.configure(rate_limit=None)
    assert zego.code(CLEAR, StreamId="s") == 0


def test_over_http_the_window_refuses_the_eleventh_call_of_a_second_and_the_bucket_does_not(
    make_emulator, raw_for, fake_clock: FakeClock
) -> None:
    emulator: ZegoEmulator = make_emulator(rate_limit=10, clock=fake_clock)
    zego = raw_for(emulator)

    def eleven_calls_in_nine_tenths_of_a_second(prefix: str) -> list[int]:
        fake_clock.advance(5.0)  # a pause: an empty window, a full bucket
        answers = []
        for i in range(11):
            answers.append(zego.code(CLEAR, StreamId=f"{prefix}{i}"))
            fake_clock.advance(0.09)
        return answers

    assert eleven_calls_in_nine_tenths_of_a_second("w") == [0] * 10 + [5007]
    assert emulator.admin.configure(rate_window="bucket")["rate_window"] == "bucket"
    assert eleven_calls_in_nine_tenths_of_a_second("b") == [0] * 11
    assert emulator.admin.configure(rate_window="sliding")["rate_window"] == "sliding"
    assert eleven_calls_in_nine_tenths_of_a_second("s") == [0] * 10 + [5007]


def test_a_refused_signature_costs_no_token(make_emulator, raw_for, fake_clock: FakeClock) -> None:
    emulator: ZegoEmulator = make_emulator(rate_limit=2, clock=fake_clock)
    impostor = raw_for(emulator, server_secret="wrong")
    zego = raw_for(emulator)
    for i in range(5):
        assert impostor.code(CLEAR, StreamId=f"s{i}") == 100000005

    assert [zego.code(CLEAR, StreamId=f"s{i}") for i in range(2)] == [0, 0]


def test_a_client_pacing_itself_at_exactly_the_limit_in_real_time_is_never_refused_by_the_bucket(
    make_emulator, raw_for
) -> None:
    # The lenient reading: exact spacing always finds a token. (Under the sliding window, exact
    # spacing is on the edge: `test_a_few_milliseconds_of_jitter_...` in tests/unit shows it.)
    emulator: ZegoEmulator = make_emulator(rate_limit=20, rate_window="bucket")
    zego = raw_for(emulator)
    start = time.monotonic()
    codes = []
    for i in range(30):  # 1.5 s at exactly 20/s
        delay = start + i / 20 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        codes.append(zego.code(CLEAR, StreamId=f"s{i}"))

    assert set(codes) == {0}


def test_the_clients_own_limiter_keeps_it_under_the_emulators_sliding_window(make_emulator) -> None:
    # The budget of a loopback endpoint is keyed by its port too: this emulator's budget is its own.
    emulator: ZegoEmulator = make_emulator(rate_limit=10)
    assert emulator.state.rate_window == "sliding"  # the strictest reading, the default
    with ZegoClient(config_of(APP_ID, SECRET, endpoint=emulator.url, rate_limit=10, max_attempts=1)) as client:
        for i in range(15):  # max_attempts=1: a single 5007 would raise
            client.clear_cdn_transfer_rule(f"paced-{i}")

    assert len(emulator.admin.requests()) == 15


@pytest.mark.parametrize("rate", [-1, float("nan"), float("inf")])
def test_an_emulator_with_an_impossible_rate_limit_is_refused(rate: float) -> None:
    with pytest.raises(ValueError, match="rate_limit"):
        ZegoEmulator(APP_ID, SECRET, rate_limit=rate)
