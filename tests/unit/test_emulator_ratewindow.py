"""The emulator's two readings of "N calls/s": the sliding window refuses what the token bucket lets through."""

from __future__ import annotations

import pytest

from zego_provider.emulator import EmulatorState
from zego_provider.emulator.ratewindow import RateWindow, SlidingWindow, TokenBucket, new_rate_window


def admitted(window: RateWindow, times: list[float]) -> list[bool]:
    return [window.admit(now) for now in times]


@pytest.mark.parametrize("kind", ["sliding", "bucket"])
def test_a_burst_of_ten_after_a_pause_passes_either_reading(kind: str) -> None:
    window = new_rate_window(kind, 10, now=0.0)  # type: ignore[arg-type]
    window.admit(0.0)

    assert admitted(window, [5.0] * 10) == [True] * 10
    assert window.admit(5.0) is False


def test_eleven_calls_in_one_second_fail_the_window_but_not_the_bucket() -> None:
    times = [i * 0.09 for i in range(11)]  # the 11th at 0.90 s

    assert admitted(SlidingWindow(10), times) == [True] * 10 + [False]
    assert admitted(TokenBucket(10, now=0.0), times) == [True] * 11


def test_calls_spaced_at_exactly_one_over_the_rate_pass_either_reading() -> None:
    times = [i / 10 for i in range(100)]

    assert all(admitted(SlidingWindow(10), times))
    assert all(admitted(TokenBucket(10, now=0.0), times))


def test_a_few_milliseconds_of_jitter_on_exact_spacing_put_an_eleventh_call_inside_a_second() -> None:
    # The client sends every 100 ms; arrivals are late by 0-5 ms. The 11th call (sent at 1.0 s)
    # arrives 1 ms late, the first arrived 4 ms late: 0.997 s apart, one second holds 11.
    jitter = [0.004, 0.002, 0.0, 0.005, 0.001, 0.003, 0.002, 0.004, 0.0, 0.005, 0.001]
    times = [i / 10 + late for i, late in enumerate(jitter)]

    assert admitted(SlidingWindow(10), times) == [True] * 10 + [False]
    assert admitted(TokenBucket(10, now=times[0]), times) == [True] * 11


def test_a_refused_call_does_not_count_against_the_window() -> None:
    window = SlidingWindow(2)

    assert admitted(window, [0.0, 0.1, 0.5]) == [True, True, False]
    assert window.admit(1.05) is True  # only 0.1 is within the second before it, not the refused 0.5
    assert window.admit(1.09) is False


def test_a_fractional_rate_keeps_its_long_run_value() -> None:
    window = SlidingWindow(0.5)  # one call in any two seconds

    assert admitted(window, [0.0, 1.0, 1.99, 2.0, 3.0, 4.0]) == [True, False, False, True, False, True]


def test_an_unknown_reading_is_refused() -> None:
    with pytest.raises(ValueError, match="rate_window"):
        new_rate_window("fixed", 10, now=0.0)  # type: ignore[arg-type]


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def test_the_state_reads_the_limit_as_a_sliding_window_by_default() -> None:
    clock = Clock()
    state = EmulatorState(1, rate_limit=10, clock=clock)
    answers = []
    for _ in range(11):
        answers.append(state.admit())
        clock.now += 0.09

    assert state.config()["rate_window"] == "sliding"
    assert answers == [True] * 10 + [False]


def test_the_state_can_switch_to_the_bucket_and_starts_afresh() -> None:
    clock = Clock()
    state = EmulatorState(1, rate_limit=10, clock=clock)
    assert all(state.admit() for _ in range(10))

    assert state.configure(rate_window="bucket")["rate_window"] == "bucket"
    answers = []
    for _ in range(11):
        answers.append(state.admit())
        clock.now += 0.09

    assert answers == [True] * 11


def test_the_test_environment_gets_its_own_window_of_half_the_rate() -> None:
    clock = Clock()
    state = EmulatorState(1, rate_limit=10, clock=clock)

    assert [state.admit(is_test=True) for _ in range(6)] == [True] * 5 + [False]
    assert state.admit() is True


def test_the_state_refuses_an_unknown_reading() -> None:
    with pytest.raises(ValueError, match="rate_window"):
        EmulatorState(1, rate_window="fixed")  # type: ignore[arg-type]


def test_without_an_injected_clock_the_window_runs_on_the_monotonic_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    state = EmulatorState(1, rate_limit=2)
    assert [state.admit(), state.admit()] == [True, True]

    monkeypatch.setattr("time.time", lambda: 4_000_000_000.0)  # the wall clock jumps ahead: no new second

    assert state.admit() is False


def test_a_call_judged_after_a_later_arrival_is_refused_if_any_second_holding_it_is_full() -> None:
    # Two requests' threads may reach the check out of arrival order: 0.3 s is judged after 0.5 s.
    window = SlidingWindow(2)

    assert admitted(window, [0.0, 0.5, 0.3]) == [True, True, False]  # 0.0, 0.3, 0.5 would share a second
    assert admitted(window, [1.2, 1.3]) == [True, False]
