"""This process's rate for one AppId: halves on a rate-limit answer, climbs back on successes.

The idea of botocore's "adaptive" retry mode, kept to AIMD: a rate-limit answer (another
team's runner, a `process`-scoped job) halves the rate, at most once per second, down to a
floor; each success adds back a twentieth of the ceiling.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

INCREASE = 1 / 20
"""Share of the ceiling given back per success."""
DECREASE_EVERY = 1.0
"""ZEGO counts per second: answers within one second of the last decrease tell nothing new."""


class AdaptiveRate:
    """A rate that halves on a rate-limit answer and climbs back additively on successes."""

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
            if now - self._last_decrease >= DECREASE_EVERY:
                self._last_decrease = now
                self.rate = max(self.floor, self.rate / 2)

    def on_success(self) -> None:
        with self._lock:
            self.rate = min(self.ceiling, self.rate + self.ceiling * INCREASE)
