"""The budget in this process's memory: the `process` scope, and the local half of the others.

Two calls in the same millisecond, or from several threads, still need distinct increasing
Sequences, so each stream remembers its last value and a lock makes "read clock, compare,
store" one step. Issuing in order is not enough when callers race to the server: `ordered()`
holds the stream's lock until the request using the value has been answered, so the server
sees one stream's values in increasing order. The machine and Redis stores queue this
process's threads on the same locks before they touch the shared store.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .store import OutOfTime


def millis() -> int:
    """ZEGO advises the millisecond clock for Sequence."""
    return time.time_ns() // 1_000_000


class ProcessStore:
    """The slot on the monotonic clock; per-stream `max(now_ms, last + 1)` under per-stream locks."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, clock_ms: Callable[[], int] = millis) -> None:
        self._clock = clock
        self._clock_ms = clock_ms
        self._lock = threading.Lock()
        self._next_slot = clock()
        self._last: dict[str, int] = {}
        self._stream_locks: dict[str, threading.Lock] = {}

    def reserve(self, interval: float, max_wait: float = math.inf) -> float:
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot)
            if slot - now <= max_wait:
                self._next_slot = slot + interval
            return slot - now

    def next(self, name: str) -> int:
        """The next value of `name` (a stream, or a machine shard), never below the clock."""
        with self._lock:
            value = max(self._clock_ms(), self._last.get(name, 0) + 1)
            self._last[name] = value
            return value

    def lock(self, name: str) -> threading.Lock:
        """The in-process lock of `name`: one caller per stream (or shard) at a time."""
        with self._lock:
            return self._stream_locks.setdefault(name, threading.Lock())

    @contextmanager
    def ordered(self, stream_id: str, hold: float = 0.0, timeout: float | None = None) -> Iterator[int]:
        with self.turn(stream_id, timeout):
            yield self.next(stream_id)

    @contextmanager
    def turn(self, name: str, timeout: float | None) -> Iterator[None]:
        """`name`'s in-process lock, waited for `timeout` seconds at most (None: as long as it takes)."""
        lock = self.lock(name)
        if not lock.acquire(timeout=-1 if timeout is None else max(0.0, timeout)):
            raise OutOfTime("another call on the same stream in this process held its turn")
        try:
            yield
        finally:
            lock.release()
