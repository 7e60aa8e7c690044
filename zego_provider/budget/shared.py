"""The process's Budget of one AppId in one scope: the one factory that reads `zego:rateLimiter`.

Clients in one process share a Budget (one adaptive rate, one connection to the store);
processes share its slots and Sequences through the scope's store.
"""

from __future__ import annotations

import math
import threading
import time
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
    ) -> None:
        self.store = store
        self.adaptive = adaptive
        self.scope = scope
        self._sleep = sleep

    def __repr__(self) -> str:
        rate = "off" if self.adaptive is None else f"{self.adaptive.rate:g}"
        return f"Budget(scope={display(self.scope)!r}, rate={rate})"

    def acquire(self, max_wait: float = math.inf) -> float:
        """Wait for this call's slot; returns the seconds waited. A slot more than `max_wait`
        seconds away is not taken (OutOfTime): a call that cannot have it in time sends nothing."""
        if self.adaptive is None:
            return 0.0
        wait = self.store.reserve(1.0 / self.adaptive.rate, max_wait)
        if wait > max_wait:
            raise OutOfTime(f"its slot was {wait:.1f}s away at {self.adaptive.rate:g} calls/s", wait)
        if wait > 0:
            self._sleep(wait)
        return wait

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
