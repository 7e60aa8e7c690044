"""The time budget covers every wait: a slot or a stream's turn that would come after the call's
time budget is not waited for, and a slot not taken is not lost to the others."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from zego_provider.budget import Budget, OutOfTime
from zego_provider.budget.machine import MachineStore
from zego_provider.budget.process import ProcessStore
from zego_provider.budget.rate import AdaptiveRate
from zego_provider.budget.shared import MARGIN


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def paced(fake: FakeTime, rate: float) -> Budget:
    return Budget(
        ProcessStore(clock=fake.clock),
        AdaptiveRate(rate, clock=fake.clock),
        scope="process",
        sleep=fake.sleep,
        clock=fake.clock,
    )


def test_a_slot_further_away_than_the_time_left_is_refused_without_waiting_or_taking_it() -> None:
    fake = FakeTime()
    budget = paced(fake, 0.05)  # one call every 20 s, and the margin: 20.4 s
    assert budget.acquire(max_wait=2.0) == 0.0
    with pytest.raises(OutOfTime) as caught:
        budget.acquire(max_wait=2.0)
    assert caught.value.wait == pytest.approx(20.0 * (1 + MARGIN)) and "20.4s away" in caught.value.reason
    assert fake.slept == []  # refused at once, not after waiting
    assert budget.acquire() == pytest.approx(20.0 * (1 + MARGIN))  # the refused slot was not taken


def test_a_slot_within_the_time_left_is_waited_for() -> None:
    fake = FakeTime()
    budget = paced(fake, 0.5)
    budget.acquire(max_wait=5.0)
    spacing = 2.0 * (1 + MARGIN)
    assert budget.acquire(max_wait=5.0) == pytest.approx(spacing) and fake.slept == [pytest.approx(spacing)]


def test_the_machine_slot_file_is_not_moved_by_a_refused_slot(tmp_path: Path) -> None:
    fake = FakeTime()
    store = MachineStore(tmp_path / "budgets", "1-production", ProcessStore(), clock=fake.clock)
    assert store.reserve(20.0, 2.0) == 0.0
    assert store.reserve(20.0, 2.0) == pytest.approx(20.0)  # refused: nothing written
    assert store.reserve(20.0) == pytest.approx(20.0)


def test_a_stream_turn_held_longer_than_the_time_left_is_out_of_time_within_it() -> None:
    store = ProcessStore()
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store.ordered("main"):
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(5)
    try:
        with pytest.raises(OutOfTime, match="same stream"), store.ordered("main", 0.0, 0.2):
            pass
    finally:
        release.set()
        holder.join(5)
    with store.ordered("main", 0.0, 0.2) as value:  # free again
        assert value > 0
