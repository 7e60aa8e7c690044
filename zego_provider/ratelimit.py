"""A token bucket per AppId, shared by every client in the process.

ZEGO limits calls per AppId (10/s, 5/s in the test environment). Pulumi runs resource
operations in parallel threads, each possibly with its own client; they must share one
budget or together they exceed it. The bucket holds one token, so calls are spaced evenly
at 1/rate seconds rather than bursting into the server's window.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """Blocks `acquire()` until the next call may go out at `rate` calls per second."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_free = clock()

    def acquire(self) -> float:
        """Reserve the next slot and wait for it. Returns the seconds waited."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_free)
            self._next_free = slot + 1.0 / self.rate
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
        return wait


_buckets: dict[tuple[int, bool], TokenBucket] = {}
_buckets_lock = threading.Lock()


def shared_bucket(app_id: int, rate: float, *, is_test: bool = False) -> TokenBucket:
    """The process-wide bucket of one AppId and environment. Clients asking different rates
    share the strictest: the limit belongs to the AppId, not to a client."""
    key = (app_id, is_test)
    with _buckets_lock:
        bucket = _buckets.get(key)
        if bucket is None:
            bucket = _buckets[key] = TokenBucket(rate)
        elif rate < bucket.rate:
            bucket.rate = rate
        return bucket
