"""This process's rate for one AppId: eases off on a rate-limit answer, climbs back on successes.

The idea of botocore's "adaptive" retry mode, kept to AIMD, with a gentle first step: a
fleet that shares its budget sits at the edge of ZEGO's window, and a lone rate-limit answer
there means it was nudged over it (a late packet), not that it is twice too fast; halving
would give away a third of the rate for nothing. So the first answer lowers the rate by a
tenth; answers that keep coming (another team's runner, `process`-scoped jobs sharing
nothing) halve it, at most once per second, down to a floor. Each success adds back a
twentieth of the ceiling.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

INCREASE = 1 / 20
"""Share of the ceiling given back per success."""
DECREASE_EVERY = 1.0
"""ZEGO counts per second: answers within one second of the last decrease tell nothing new."""
NUDGE = 0.9
"""The rate kept after a rate-limit answer that follows a quiet spell."""
HALVE = 0.5
"""The rate kept after a rate-limit answer within PERSISTENT seconds of the last decrease."""
PERSISTENT = 5.0
"""Seconds after a decrease within which another rate-limit answer means a real overload."""


class AdaptiveRate:
    """A rate that eases off on a rate-limit answer (a tenth, then halves while they persist) and climbs
    back additively on successes."""

    def __init__(self, ceiling: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if ceiling <= 0:
            raise ValueError("rate must be positive")
        self.ceiling = ceiling
        self.floor = min(ceiling, 0.5)
        self.rate = ceiling
        self._clock = clock
        self._last_decrease = float("-inf")
        self._lock = threading.Lock()

    def lower(self, ceiling: float) -> None:
        """Clients asking different rates share the strictest: the limit belongs to the AppId."""
        with self._lock:
            if ceiling < self.ceiling:
                self.ceiling = ceiling
                self.floor = min(self.floor, ceiling)
                self.rate = min(self.rate, ceiling)

    def on_rate_limited(self) -> None:
        with self._lock:
            now = self._clock()
            since = now - self._last_decrease
            if since >= DECREASE_EVERY:
                self._last_decrease = now
                self.rate = max(self.floor, self.rate * (HALVE if since < PERSISTENT else NUDGE))

    def on_success(self) -> None:
        with self._lock:
            self.rate = min(self.ceiling, self.rate + self.ceiling * INCREASE)
