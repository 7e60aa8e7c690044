"""Sequence numbers strictly increase per stream, across threads and within one millisecond."""

from __future__ import annotations

import threading
from pathlib import Path

from zego_provider.budget.machine import MachineStore
from zego_provider.budget.process import ProcessStore


def test_sequence_follows_the_millisecond_clock() -> None:
    now = [1_617_249_600_003]
    sequences = ProcessStore(clock_ms=lambda: now[0])
    assert sequences.next("rtc01") == 1_617_249_600_003
    now[0] += 5
    assert sequences.next("rtc01") == 1_617_249_600_008


def test_two_calls_in_one_millisecond_still_increase() -> None:
    sequences = ProcessStore(clock_ms=lambda: 1000)
    assert [sequences.next("s") for _ in range(3)] == [1000, 1001, 1002]


def test_a_clock_stepping_back_never_lowers_the_sequence() -> None:
    readings = iter([5000, 4000, 4001])
    sequences = ProcessStore(clock_ms=lambda: next(readings))
    assert [sequences.next("s") for _ in range(3)] == [5000, 5001, 5002]


def test_streams_have_independent_sequences() -> None:
    sequences = ProcessStore(clock_ms=lambda: 7)
    assert sequences.next("a") == 7
    assert sequences.next("b") == 7


def test_sixteen_threads_get_3200_distinct_values_in_issue_order() -> None:
    # A frozen clock makes every call collide on one millisecond: only the generator's own
    # ordering can keep them apart, so the values must be exactly 1000..4199 with no gaps.
    sequences = ProcessStore(clock_ms=lambda: 1000)
    per_thread: list[list[int]] = [[] for _ in range(16)]
    start = threading.Barrier(16)

    def work(index: int) -> None:
        start.wait(timeout=10)
        for _ in range(200):
            per_thread[index].append(sequences.next("one-stream"))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    everything = [value for values in per_thread for value in values]
    assert len(everything) == 3200
    assert sorted(everything) == list(range(1000, 4200))
    for values in per_thread:
        assert values == sorted(values) and len(set(values)) == len(values)


def test_real_clock_sequences_increase_across_threads() -> None:
    sequences = ProcessStore()
    seen: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(200):
            value = sequences.next("s")
            with lock:
                seen.append(value)

    threads = [threading.Thread(target=work) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(set(seen)) == 3200


def test_processes_on_one_machine_share_one_counter_per_stream(tmp_path: Path) -> None:
    frozen = lambda: 1000  # noqa: E731 - two processes reading the same millisecond
    first = MachineStore(tmp_path, "1-production", ProcessStore(clock_ms=frozen))
    second = MachineStore(tmp_path, "1-production", ProcessStore(clock_ms=frozen))
    values = []
    for order in (first, second, first, second):
        with order.ordered("s", 1.0) as value:
            values.append(value)
    assert values == [1000, 1001, 1002, 1003]


def test_a_corrupt_counter_file_falls_back_to_the_clock(tmp_path: Path) -> None:
    order = MachineStore(tmp_path, "1-production", ProcessStore(clock_ms=lambda: 5000))
    with order.ordered("s", 1.0):
        pass
    for shard in tmp_path.glob("sequences-*/shard-*[0-9]"):
        shard.write_text("garbage")
    with order.ordered("s", 1.0) as value:
        assert value == 5001  # never a repeat: the process's own counter still knows 5000


def test_the_machine_order_holds_the_stream_until_the_block_ends(tmp_path: Path) -> None:
    order = MachineStore(tmp_path, "1-production", ProcessStore())
    inside: list[str] = []

    def other() -> None:
        with order.ordered("s", 1.0):
            inside.append("other")

    with order.ordered("s", 1.0):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(timeout=0.3)
        inside.append("first")
    thread.join(timeout=5)
    assert inside == ["first", "other"]
