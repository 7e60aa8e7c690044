"""The two readings of ZEGO's "N calls/s per AppId": a sliding window (strictest) and a token bucket (most lenient).

ZEGO documents the number, not the algorithm. A client that passes the sliding window
passes every other reading (a token bucket, fixed windows), so the emulator enforces the
window by default and keeps the bucket to show what a lenient gateway would let through.
Both are plain objects driven by the time they are given, so tests run them on a fake clock.
"""

from __future__ import annotations

import bisect
import math
from typing import Final, Literal, Protocol

RateWindowKind = Literal["sliding", "bucket"]
SLIDING: Final = "sliding"
BUCKET: Final = "bucket"
RATE_WINDOWS: Final[tuple[RateWindowKind, ...]] = (SLIDING, BUCKET)
EPSILON = 1e-9
"""A client spaced at exactly 1/rate must not lose to float rounding, under either reading."""
KEEP = 3
"""Periods of accepted arrivals the window remembers behind the newest (requests judged out of order)."""


class RateWindow(Protocol):
    """Decides, call by call, whether one more call fits the limit at time `now` (seconds)."""

    def admit(self, now: float) -> bool:
        """True (and the call counts) when it fits; False means ZEGO would answer 5007."""
        ...


class TokenBucket:
    """Capacity `rate`, refilled at `rate` tokens/s: a burst of `rate` after a pause passes."""

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.updated = now

    def admit(self, now: float) -> bool:
        # max(): an injected clock may step back; never refill on negative time.
        self.tokens = min(self.rate, self.tokens + max(0.0, now - self.updated) * self.rate)
        self.updated = max(self.updated, now)
        if self.tokens >= 1.0 - EPSILON:
            self.tokens -= 1.0
            return True
        return False


class SlidingWindow:
    """No more than `rate` accepted calls in any interval of one second: a call is accepted only if
    fewer than `rate` were accepted in the second before it. Refused calls do not count.

    The interval is open at its old end: calls exactly one second apart do not share a window,
    so a client spaced at exactly 1/rate passes, and a few milliseconds less do not. A rate
    that is not a whole number keeps its long-run value: at most floor(rate) calls (at least
    one) in any floor(rate)/rate seconds (0.5/s: one call in any two seconds). Calls are
    judged by their arrival times, which concurrent requests may bring in out of order: a
    call is refused if any interval holding it would hold one call too many.
    """

    def __init__(self, rate: float) -> None:
        self.capacity = max(1, math.floor(rate + EPSILON))
        self.period = self.capacity / rate
        self._accepted: list[float] = []  # sorted arrival times
        self._newest = -math.inf

    def admit(self, now: float) -> bool:
        times = self._accepted
        index = bisect.bisect_right(times, now)
        times.insert(index, now)
        last_start = min(index, len(times) - 1 - self.capacity)
        for start in range(max(0, index - self.capacity), last_start + 1):
            if times[start + self.capacity] - times[start] < self.period - EPSILON:
                del times[index]
                return False
        self._newest = max(self._newest, now)
        # Keep what a late-judged earlier arrival could still share an interval with.
        horizon = bisect.bisect_right(times, self._newest - KEEP * self.period)
        del times[:horizon]
        return True


def new_rate_window(kind: RateWindowKind, rate: float, now: float) -> RateWindow:
    """A fresh (empty, or full-bucket) window of `kind` for `rate` calls per second."""
    if kind == SLIDING:
        return SlidingWindow(rate)
    if kind == BUCKET:
        return TokenBucket(rate, now)
    raise ValueError(f"rate_window must be one of {', '.join(RATE_WINDOWS)}, not {kind!r}")
