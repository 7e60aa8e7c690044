"""The AppId's call budget: evenly spaced slots shared in one scope, at a rate that adapts to ZEGO.

ZEGO limits calls per AppId (10/s, 5/s in the test environment) wherever they come from: Pulumi's
parallel threads, several provider processes on one runner, several runners. So the budget
is kept where all of them see it (`scope.py`): in the process, in a file in the user's cache
directory (`machine`), or in Redis. Each call reserves the next free slot, `1/rate` after
the previous one, and waits for it: calls are spaced evenly instead of bursting into ZEGO's
one-second window, and waiters are served in the order they reserved.

Why the slot reservation is hand-written: pyrate-limiter and `limits` (the well-kept
libraries with SQLite/file and Redis backends) count calls in a window and answer "full";
a window of N admits N calls at once (a burst), and their blocking mode sleeps and asks
again, so processes that poll race each other. What we need is one atomic read-modify-write
of a single number ("next free slot"): a few lines in a locked file and one Lua script.
The stores themselves are libraries: `filelock` and `platformdirs` for the file, redis-py.

The rate adapts (the idea of botocore's "adaptive" retry mode, kept to AIMD): a rate-limit
answer (another team's runner, a `process`-scoped job) halves this process's rate, at most
once per second, down to a floor; each success adds back a twentieth of the ceiling.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .errors import ZegoConfigError
from .scope import (
    MACHINE,
    OFF,
    PROCESS,
    SETTING_NAME,
    budget_directory,
    budget_key,
    is_redis,
    redact,
    redis_client,
    redis_problem,
)

if TYPE_CHECKING:
    import redis

log = logging.getLogger(__name__)

MAX_AHEAD = 120.0
"""A machine slot further ahead than this is a clock that stepped back (or a bad file): start afresh."""
INCREASE = 1 / 20
"""Share of the ceiling given back per success."""
DECREASE_EVERY = 1.0
"""ZEGO counts per second: answers within one second of the last decrease tell nothing new."""


class Slots(Protocol):
    """Where the next free slot of one AppId and environment is kept."""

    def reserve(self, interval: float) -> float:
        """Take the next free slot and move it `interval` seconds on; the seconds until the slot."""
        ...


class ProcessSlots:
    """The slot in this process's memory (monotonic clock)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._next = clock()

    def reserve(self, interval: float) -> float:
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + interval
            return slot - now


class MachineSlots:
    """The slot in a file that every process of this user on this host shares, under a file lock.

    The file holds one number, the wall-clock time of the next free slot (the one clock all
    processes share). An unreadable number (a corrupt file) or one over MAX_AHEAD in the
    future (a clock that stepped back) is replaced by "now": the safe fallback loses at most
    one slot of spacing. A directory that cannot be written is a ZegoConfigError at once.
    """

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        from filelock import FileLock

        self.path = path
        self._clock = clock
        self._thread_lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file_lock = FileLock(str(path) + ".lock", timeout=30)
            with self._file_lock:
                path.touch()
                with path.open("r+"):  # must be readable and writable, not only present
                    pass
        except OSError as error:
            raise ZegoConfigError(
                [
                    (
                        SETTING_NAME,
                        f"machine: cannot use {path}: {error.strerror or error}; fix the directory's"
                        " permissions, set XDG_CACHE_HOME, or choose `process` or a Redis URL",
                    )
                ]
            ) from None

    def reserve(self, interval: float) -> float:
        with self._thread_lock, self._file_lock:
            now = self._clock()
            try:
                stored = float(self.path.read_text() or "0")
            except ValueError:
                log.warning("%s held no time; starting the budget afresh", self.path)
                stored = 0.0
            if not stored <= now + MAX_AHEAD:  # also catches nan
                stored = 0.0
            slot = max(now, stored)
            self.path.write_text(repr(slot + interval))
            return slot - now


_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local stored = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local slot = math.max(now, stored)
redis.call('SET', KEYS[1], slot + tonumber(ARGV[1]), 'PX', 600000)
return slot - now
"""
"""Microseconds until the reserved slot. Redis's own clock, so runners' clocks need not agree."""


class RedisSlots:
    """The slot in Redis, reserved by one Lua script (atomic on the server)."""

    def __init__(self, client: redis.Redis, url: str, key: str) -> None:
        self._client = client
        self._url = url
        self._key = key
        self._script = client.register_script(_RESERVE)

    def reserve(self, interval: float) -> float:
        import redis as redis_module

        try:
            micros: Any = self._script(keys=[self._key], args=[int(interval * 1_000_000)])
        except redis_module.RedisError as error:
            raise redis_problem(self._url, error) from None
        return int(micros) / 1_000_000


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


class RateLimiter:
    """Paces one AppId's calls: the shared slots at this process's adaptive rate."""

    def __init__(
        self,
        slots: Slots,
        rate: AdaptiveRate,
        *,
        scope: str,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.slots = slots
        self.adaptive = rate
        self.scope = scope
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"RateLimiter(scope={redact(self.scope)!r}, rate={self.adaptive.rate:g})"

    @property
    def rate(self) -> float:
        return self.adaptive.rate

    def acquire(self) -> float:
        """Wait for this call's slot; returns the seconds waited."""
        wait = self.slots.reserve(1.0 / self.adaptive.rate)
        if wait > 0:
            self._sleep(wait)
        return wait


_limiters: dict[tuple[str, str], RateLimiter] = {}
_limiters_lock = threading.Lock()


def shared_limiter(
    scope: str, app_id: int, rate: float, *, is_test: bool = False, service: str = ""
) -> RateLimiter | None:
    """The process's limiter of one AppId and environment in `scope` (None when `off`).

    Clients in one process share it (one adaptive rate, one connection to the store);
    processes share its slots through the scope. Raises ZegoConfigError when the store
    cannot be used (an unwritable cache directory, Redis down or refusing the password).
    """
    if scope == OFF:
        return None
    key = (scope, budget_key(app_id, is_test, service))
    with _limiters_lock:
        limiter = _limiters.get(key)
        if limiter is None:
            limiter = _limiters[key] = RateLimiter(_open_slots(scope, key[1]), AdaptiveRate(rate), scope=scope)
        else:
            limiter.adaptive.lower(rate)
        return limiter


def _open_slots(scope: str, key: str) -> Slots:
    if scope == PROCESS:
        return ProcessSlots()
    if scope == MACHINE:
        return MachineSlots(budget_directory() / f"budget-{key}")
    if is_redis(scope):
        return RedisSlots(redis_client(scope), scope, f"zego-provider:{key}:next-slot")
    raise ValueError(f"unknown rate limiter scope {redact(scope)!r}")
