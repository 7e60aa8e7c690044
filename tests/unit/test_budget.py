"""The AppId's budget: evenly spaced slots in each scope, a rate that adapts to rate-limit answers,
and Sequences that strictly increase per stream, across threads, processes and one millisecond."""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import pytest

from zego_provider import ZegoConfigError
from zego_provider.budget import Budget, open_budget
from zego_provider.budget.machine import MAX_AHEAD, MachineStore
from zego_provider.budget.names import budget_key
from zego_provider.budget.process import ProcessStore
from zego_provider.budget.rate import PERSISTENT, AdaptiveRate
from zego_provider.budget.shared import LATE, MARGIN, RESLOTS


class FakeTime:
    """A clock that only moves when someone sleeps, so rate tests take no real time."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self._lock = threading.Lock()

    def clock(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def limiter(store: ProcessStore | MachineStore, fake: FakeTime, rate: float) -> Budget:
    return Budget(store, AdaptiveRate(rate, clock=fake.clock), scope="test", sleep=fake.sleep, clock=fake.clock)


def machine(directory: Path, key: str = "1-production", clock: FakeTime | None = None) -> MachineStore:
    if clock is None:
        return MachineStore(directory, key, ProcessStore())
    return MachineStore(directory, key, ProcessStore(), clock=clock.clock)


def test_fifty_calls_at_ten_per_second_are_spaced_a_tenth_of_a_second_plus_the_margin() -> None:
    fake = FakeTime()
    paced = limiter(ProcessStore(clock=fake.clock), fake, 10)
    for _ in range(50):
        paced.acquire()
    assert fake.now == pytest.approx(49 * 0.1 * (1 + MARGIN), abs=1e-6)
    assert 49 * 0.1 * (1 + MARGIN) < 5.0  # the margin costs 2%: 10 slots span 1.02 s


def test_first_call_goes_out_at_once() -> None:
    fake = FakeTime()
    assert limiter(ProcessStore(clock=fake.clock), fake, 5).acquire() == 0


def test_idle_time_is_not_saved_up_into_a_burst() -> None:
    fake = FakeTime()
    paced = limiter(ProcessStore(clock=fake.clock), fake, 10)
    paced.acquire()
    fake.now += 60
    waits = [paced.acquire() for _ in range(3)]
    assert waits == [0, pytest.approx(0.102), pytest.approx(0.102)]


def test_threads_share_one_budget_in_real_time() -> None:
    paced = Budget(ProcessStore(), AdaptiveRate(200), scope="process")
    done: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(10):
            paced.acquire()
            with lock:
                done.append(threading.get_ident())

    threads = [threading.Thread(target=work) for _ in range(4)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    # 40 calls at 200/s: the 40th slot is 39 intervals after the first.
    assert time.monotonic() - started >= 39 * (1 + MARGIN) / 200 - 0.01
    assert len(done) == 40


def test_two_machine_slots_on_one_file_space_calls_between_them(tmp_path: Path) -> None:
    fake = FakeTime(1_000_000.0)
    first, second = machine(tmp_path, clock=fake), machine(tmp_path, clock=fake)
    waits = [first.reserve(0.1), second.reserve(0.1), first.reserve(0.1), second.reserve(0.1)]
    assert waits == [0, pytest.approx(0.1), pytest.approx(0.2), pytest.approx(0.3)]


def test_a_corrupt_machine_file_starts_the_budget_afresh(tmp_path: Path) -> None:
    fake = FakeTime(1_000_000.0)
    slots = machine(tmp_path, clock=fake)
    path = slots.path
    path.write_text("not a time")
    assert slots.reserve(0.1) == 0
    assert float(path.read_text()) == pytest.approx(1_000_000.1)


def test_a_slot_far_in_the_future_is_a_clock_that_stepped_back(tmp_path: Path) -> None:
    fake = FakeTime(1_000_000.0)
    slots = machine(tmp_path, clock=fake)
    slots.path.write_text(repr(fake.now + MAX_AHEAD + 3600))
    assert slots.reserve(0.1) == 0


def test_an_unwritable_cache_directory_is_a_config_error_naming_setting_and_path(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    with pytest.raises(ZegoConfigError, match="zego:rateLimiter") as raised:
        machine(blocker / "budgets")
    assert str(blocker) in str(raised.value)


def test_a_lone_rate_limit_answer_lowers_the_rate_by_a_tenth_and_successes_bring_it_back() -> None:
    fake = FakeTime()
    rate = AdaptiveRate(10, clock=fake.clock)
    rate.on_rate_limited()
    assert rate.rate == pytest.approx(9)
    for _ in range(2):
        rate.on_success()
    assert rate.rate == 10
    rate.on_success()
    assert rate.rate == 10  # never above the ceiling


def test_answers_within_one_second_count_once_and_persistent_ones_halve() -> None:
    fake = FakeTime()
    rate = AdaptiveRate(10, clock=fake.clock)
    for _ in range(5):
        rate.on_rate_limited()
    assert rate.rate == pytest.approx(9)
    fake.now += 1.0
    rate.on_rate_limited()  # another within PERSISTENT seconds: a real overload
    assert rate.rate == pytest.approx(4.5)
    fake.now += PERSISTENT
    rate.on_rate_limited()  # after a quiet spell: a nudge again
    assert rate.rate == pytest.approx(4.05)


def test_the_rate_never_falls_below_its_floor() -> None:
    fake = FakeTime()
    rate = AdaptiveRate(10, clock=fake.clock)
    for _ in range(20):
        rate.on_rate_limited()
        fake.now += 1.0
    assert rate.rate == rate.floor > 0


def test_a_lowered_rate_spaces_the_slots_wider() -> None:
    fake = FakeTime()
    paced = limiter(ProcessStore(clock=fake.clock), fake, 10)
    paced.acquire()
    paced.on_rate_limited()
    # The slot already promised keeps its place; the gap after it is (1 + MARGIN)/9 s.
    assert [paced.acquire(), paced.acquire()] == [pytest.approx(0.102), pytest.approx(1.02 / 9)]


def test_a_caller_that_wakes_late_takes_a_new_slot_and_leaves_the_missed_one_empty() -> None:
    fake = FakeTime()
    store = ProcessStore(clock=fake.clock)
    lateness = iter([LATE * 3, 0.0])  # the second caller's thread is woken 30 ms late once

    def sleep(seconds: float) -> None:
        fake.sleep(seconds + next(lateness))

    paced = Budget(store, AdaptiveRate(10, clock=fake.clock), scope="test", sleep=sleep, clock=fake.clock)
    paced.acquire()  # the first call goes at once: no sleep
    paced.acquire()  # its slot is 0.102; woke at 0.132: takes the next slot, 0.204
    assert fake.now == pytest.approx(0.204)
    assert store.reserve(0.0) == pytest.approx(0.306 - 0.204)  # the next free slot is after it


def test_a_caller_that_can_never_wake_on_time_still_sends() -> None:
    fake = FakeTime()
    reserved: list[float] = []

    class Busy(ProcessStore):
        """Other callers always hold the next 0.1 s."""

        def reserve(self, interval: float, max_wait: float = math.inf) -> float:
            reserved.append(interval)
            return 0.1

    def sleep(seconds: float) -> None:
        fake.sleep(seconds + 1.0)

    paced = Budget(Busy(), AdaptiveRate(10), scope="test", sleep=sleep, clock=fake.clock)
    waited = paced.acquire()
    assert len(reserved) == 1 + RESLOTS
    assert waited == pytest.approx((1 + RESLOTS) * 1.1, abs=1e-6)


def test_clients_of_one_app_share_a_budget_and_other_apps_do_not() -> None:
    first = open_budget("process", 900001, 10)
    assert first is open_budget("process", 900001, 10)
    assert first is not open_budget("process", 900002, 10)
    assert first is not open_budget("process", 900001, 5, is_test=True)


def test_a_stricter_client_lowers_the_shared_rate() -> None:
    open_budget("process", 900003, 10)
    stricter = open_budget("process", 900003, 4)
    assert stricter.adaptive is not None and stricter.adaptive.rate == 4


def test_off_paces_nothing_but_still_orders_each_stream() -> None:
    off = open_budget("off", 900004, 10)
    assert off.adaptive is None and off.acquire() == 0
    with off.ordered("s", 1.0) as first, off.ordered("t", 1.0) as other:
        assert other >= first > 0


def test_zegos_regional_hosts_share_one_budget_and_emulators_do_not() -> None:
    assert budget_key(7, False) == "7-production" and budget_key(7, True) == "7-test"
    assert budget_key(7, False, "127.0.0.1:8080") != budget_key(7, False, "127.0.0.1:8081")


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError):
        AdaptiveRate(0)
