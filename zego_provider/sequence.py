"""Sequence numbers that strictly increase per StreamId, as ZEGO requires within 10 seconds.

ZEGO advises the millisecond clock; two calls in the same millisecond, or from several
threads, still need distinct increasing values, so each stream remembers its last value
and a lock makes "read clock, compare, store" one step. Issuing in order is not enough when
threads race to the server: `ordered()` also holds the stream's lock until the request using
the value has been answered, so the server sees one stream's values in increasing order.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


def _millis() -> int:
    return time.time_ns() // 1_000_000


class SequenceGenerator:
    """Hands out `max(now_ms, last + 1)` per stream, in the order callers ask."""

    def __init__(self, clock_ms: Callable[[], int] = _millis) -> None:
        self._clock_ms = clock_ms
        self._last: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stream_locks: dict[str, threading.Lock] = {}

    def next(self, stream_id: str) -> int:
        with self._lock:
            value = max(self._clock_ms(), self._last.get(stream_id, 0) + 1)
            self._last[stream_id] = value
            return value

    @contextmanager
    def ordered(self, stream_id: str) -> Iterator[int]:
        """The next value, with this stream's calls kept one at a time until the block ends."""
        with self._lock:
            stream_lock = self._stream_locks.setdefault(stream_id, threading.Lock())
        with stream_lock:
            yield self.next(stream_id)
