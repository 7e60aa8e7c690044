"""The per-AppId token bucket spaces calls evenly at the configured rate."""

from __future__ import annotations

import threading

import pytest

from zego_provider.ratelimit import TokenBucket, shared_bucket


class FakeTime:
    """A clock that only moves when someone sleeps, so rate tests take no real time."""

    def __init__(self) -> None:
        self.now = 0.0
        self._lock = threading.Lock()

    def clock(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def test_fifty_calls_at_ten_per_second_take_at_least_4_9_seconds() -> None:
    fake = FakeTime()
    bucket = TokenBucket(10, clock=fake.clock, sleep=fake.sleep)
    for _ in range(50):
        bucket.acquire()
    assert fake.now == pytest.approx(4.9, abs=1e-6)


def test_first_call_goes_out_at_once() -> None:
    fake = FakeTime()
    assert TokenBucket(5, clock=fake.clock, sleep=fake.sleep).acquire() == 0


def test_idle_time_is_not_saved_up_into_a_burst() -> None:
    fake = FakeTime()
    bucket = TokenBucket(10, clock=fake.clock, sleep=fake.sleep)
    bucket.acquire()
    fake.now += 60
    waits = [bucket.acquire() for _ in range(3)]
    assert waits == [0, pytest.approx(0.1), pytest.approx(0.1)]


def test_threads_share_one_budget_in_real_time() -> None:
    bucket = TokenBucket(200)
    slots: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(10):
            bucket.acquire()
            with lock:
                slots.append(threading.get_ident())

    threads = [threading.Thread(target=work) for _ in range(4)]
    import time

    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    # 40 calls at 200/s: the 40th slot is 39 intervals after the first.
    assert time.monotonic() - started >= 39 / 200 - 0.01
    assert len(slots) == 40


def test_clients_of_one_app_share_a_bucket_and_other_apps_do_not() -> None:
    assert shared_bucket(900001, 10) is shared_bucket(900001, 10)
    assert shared_bucket(900001, 10) is not shared_bucket(900002, 10)
    assert shared_bucket(900001, 5, is_test=True) is not shared_bucket(900001, 10)


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0)
