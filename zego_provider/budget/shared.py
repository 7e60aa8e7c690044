"""The process's Budget of one AppId in one scope: the one factory that reads `zego:rateLimiter`.

Clients in one process share a Budget (one adaptive rate, one connection to the store);
processes share its slots and Sequences through the scope's store.

ZEGO may count its limit as a sliding window: no more than `rate` accepted calls in any one
second of arrival times. Slots exactly `1/rate` apart sit on the edge of that window, and
a few milliseconds of delay between a slot and the call's arrival (a loaded CPU waking the
thread late, the request on its way) put an 11th call inside a second. So `rate` slots span
one second plus a margin: the longest of this process's recent exchanges (slot to reply: the
one-way delay to ZEGO is shorter) plus LATE, between MARGIN and MAX_MARGIN seconds; and a
caller that wakes later than LATE after its slot takes a new one instead of sending into the
next caller's second.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from .machine import MachineStore
from .names import budget_key, cache_directory
from .process import ProcessStore
from .rate import AdaptiveRate
from .redis_store import RedisStore
from .scope import MACHINE, OFF, PROCESS, display, is_redis
from .store import OutOfTime, Store

MARGIN = 0.02
"""The least margin: `rate` slots span at least 1.02 s (2% of the rate)."""
MAX_MARGIN = 0.12
"""The most margin (seconds a window): a slow exchange (a timeout) costs 12% of the rate at worst, for a while."""
EXCHANGES = 20
"""How many recent exchanges the margin is the longest of."""
LATE = 0.01
"""A caller that wakes this much after its slot takes a new slot."""
RESLOTS = 2
"""New slots a late caller takes at most before it sends anyway (a machine too loaded to wake on time)."""


class Budget:
    """Paces one AppId's calls (the store's evenly spaced slots at this process's adaptive rate)
    and orders each stream's calls (the store's Sequence). `adaptive` is None when `off`: then
    calls are ordered within the process and not paced."""

    def __init__(
        self,
        store: Store,
        adaptive: AdaptiveRate | None,
        *,
        scope: str,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.adaptive = adaptive
        self.scope = scope
        self._sleep = sleep
        self._clock = clock
        self._exchanges: deque[float] = deque(maxlen=EXCHANGES)
        self._exchanges_lock = threading.Lock()

    def __repr__(self) -> str:
        rate = "off" if self.adaptive is None else f"{self.adaptive.rate:g}"
        return f"Budget(scope={display(self.scope)!r}, rate={rate})"

    def acquire(self, max_wait: float = math.inf) -> float:
        """Wait for this call's slot; returns the seconds waited. Send at once after it returns. A slot
        more than `max_wait` seconds away is not taken (OutOfTime): a call that cannot have it in time
        sends nothing."""
        if self.adaptive is None:
            return 0.0
        waited = 0.0
        for _ in range(1 + RESLOTS):
            left = max_wait - waited
            wait = self.store.reserve((1.0 + self.margin) / self.adaptive.rate, left)
            if wait > left:
                raise OutOfTime(f"its slot was {wait:.1f}s away at {self.adaptive.rate:g} calls/s", wait)
            # The store measures `wait` as it returns (after its locks), so waiting for its lock
            # is not lateness; a slot in the past is now, and the next one is spaced from it.
            due = self._clock() + max(0.0, wait)
            if wait > 0:
                self._sleep(wait)
            late = self._clock() - due
            waited += max(0.0, wait) + max(0.0, late)
            if late <= LATE:
                return waited
            # Woke too late: sending now would crowd the callers of the next second. The slot
            # missed stays empty (that spacing is only given away), a new one is taken.
        return waited

    @property
    def margin(self) -> float:
        """Seconds a window of `rate` slots spans beyond one second (see the module's docstring)."""
        with self._exchanges_lock:
            longest = max(self._exchanges, default=0.0)
        return min(MAX_MARGIN, max(MARGIN, LATE + longest))

    def observe(self, seconds: float) -> None:
        """One exchange took `seconds` from its slot to its reply: it bounds how late a call may arrive."""
        with self._exchanges_lock:
            self._exchanges.append(max(0.0, seconds))

    def ordered(self, stream_id: str, hold: float, timeout: float | None = None) -> AbstractContextManager[int]:
        """The stream's next Sequence, its calls kept one at a time until the block ends (see `Store`);
        OutOfTime when another call keeps the stream's turn longer than `timeout` seconds."""
        return self.store.ordered(stream_id, hold, timeout)

    def on_rate_limited(self) -> None:
        if self.adaptive is not None:
            self.adaptive.on_rate_limited()

    def on_success(self) -> None:
        if self.adaptive is not None:
            self.adaptive.on_success()


_budgets: dict[tuple[str, str, Path | None], Budget] = {}
_local: dict[str, ProcessStore] = {}
_lock = threading.Lock()


def open_budget(scope: str, app_id: int, rate: float, *, is_test: bool = False, service: str = "") -> Budget:
    """The process's Budget of one AppId and environment in `scope` (calls/s `rate` at most).

    `service` tells apart services that do not share ZEGO's counters (see `names.budget_key`).
    Raises ZegoConfigError when the store cannot be used (an unwritable cache directory, Redis
    down or refusing the password), before any call.
    """
    key = budget_key(app_id, is_test, service)
    directory = cache_directory() if scope == MACHINE else None
    with _lock:
        budget = _budgets.get((scope, key, directory))
        if budget is None:
            local = _local.setdefault(key, ProcessStore())
            adaptive = None if scope == OFF else AdaptiveRate(rate)
            budget = Budget(_open_store(scope, key, local, directory), adaptive, scope=scope)
            _budgets[(scope, key, directory)] = budget
        elif budget.adaptive is not None:
            budget.adaptive.lower(rate)
        return budget


def _open_store(scope: str, key: str, local: ProcessStore, directory: Path | None) -> Store:
    if scope in (PROCESS, OFF):
        return local
    if directory is not None:
        return MachineStore(directory, key, local)
    if is_redis(scope):
        return RedisStore(scope, key, local)
    raise ValueError(f"unknown rate limiter scope {display(scope)!r}")
