"""Sequence numbers that strictly increase per StreamId, as ZEGO requires within 10 seconds, in every scope.

ZEGO advises the millisecond clock; two calls in the same millisecond, or from several
threads, still need distinct increasing values, so each stream remembers its last value
and a lock makes "read clock, compare, store" one step. Issuing in order is not enough when
callers race to the server: `ordered()` holds the stream's lock until the request using the
value has been answered, so the server sees one stream's values in increasing order.

Several processes (two `zego-cdn` loops, two pipeline jobs on one stream) need the same,
so the order is kept in the same scope as the rate budget (`scope.py`), and the choice is:

- a lock per stream held until the reply is in, plus a counter `max(now_ms, last + 1)`
  kept beside it. Only the lock orders the calls on the wire; only the shared counter
  makes values from different clocks (or one millisecond) increase. Rejected: a per-process
  counter alone (two processes in one millisecond, or two runners with skewed clocks, send
  crossing values: the 5005 this module exists to prevent), or retrying on 5005 (a real
  invalid request would be retried and hidden).
- `machine`: the lock is a file lock (the OS releases it if the process dies) on one of
  256 files named by a hash of (AppId, environment, stream); the file holds the shard's last
  value. Streams that share a shard only share order, never a wrong value, and the cache
  directory never grows with the number of streams.
- Redis: `SET NX PX` (a lock that expires, so a killed runner holds it for seconds at most)
  and the counter in one Lua script, with Redis's clock; released only by its holder.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
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

SHARDS = 256
LOCK_WAIT = 600.0
"""Seconds to wait for another process's call on the same stream: far more than one attempt takes."""


def _millis() -> int:
    return time.time_ns() // 1_000_000


class StreamOrder(Protocol):
    def ordered(self, stream_id: str) -> AbstractContextManager[int]:
        """The next value, with this stream's calls kept one at a time until the block ends."""
        ...


class SequenceGenerator:
    """Hands out `max(now_ms, last + 1)` per stream, in the order callers ask (this process)."""

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

    def lock(self, stream_id: str) -> threading.Lock:
        with self._lock:
            return self._stream_locks.setdefault(stream_id, threading.Lock())

    @contextmanager
    def ordered(self, stream_id: str) -> Iterator[int]:
        """The next value, with this stream's calls kept one at a time until the block ends."""
        with self.lock(stream_id):
            yield self.next(stream_id)


class MachineSequences:
    """Per-stream order across this user's processes on this host: file locks and counters in the cache dir."""

    def __init__(
        self, directory: Path, key: str, local: SequenceGenerator, clock_ms: Callable[[], int] = _millis
    ) -> None:
        from filelock import FileLock

        self._directory = directory
        self._key = key
        self._local = local
        self._file_lock = FileLock
        try:
            directory.mkdir(parents=True, exist_ok=True)
            probe = directory / "probe"
            probe.write_text("")
        except OSError as error:
            raise ZegoConfigError(
                [(SETTING_NAME, f"machine: cannot write {directory}: {error.strerror or error}")]
            ) from None

    def _shard(self, stream_id: str) -> Path:
        digest = hashlib.sha256(f"{self._key}\0{stream_id}".encode()).digest()
        return self._directory / f"shard-{int.from_bytes(digest[:2], 'big') % SHARDS:03d}"

    @contextmanager
    def _locked(self, shard: Path) -> Iterator[None]:
        from filelock import Timeout

        lock = self._file_lock(str(shard) + ".lock", timeout=LOCK_WAIT)
        try:
            lock.acquire()
        except Timeout:
            raise ZegoConfigError(
                [
                    (
                        SETTING_NAME,
                        f"machine: {shard}.lock stayed locked for {LOCK_WAIT:g}s (a stopped process holds it?)",
                    )
                ]
            ) from None
        try:
            yield
        finally:
            lock.release()

    @contextmanager
    def ordered(self, stream_id: str) -> Iterator[int]:
        shard = self._shard(stream_id)
        # Threads of this process queue on the in-process lock first: one file descriptor per shard at a time.
        with self._local.lock(f"{self._key}\0{shard.name}"), self._locked(shard):
            try:
                last = int(shard.read_text() or "0")
            except (OSError, ValueError):  # missing or corrupt: the clock and this process's counter go on
                last = 0
            value = max(self._local.next(f"{self._key}\0{shard.name}"), last + 1)
            shard.write_text(str(value))
            yield value


_ACQUIRE = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return -1
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local last = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
local value = math.max(now, last + 1)
redis.call('SET', KEYS[2], value, 'PX', 600000)
return value
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisSequences:
    """Per-stream order across every process that points at one Redis."""

    POLL = 0.02

    def __init__(
        self,
        client: redis.Redis,
        url: str,
        key: str,
        local: SequenceGenerator,
        *,
        hold: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._url = url
        self._key = key
        self._local = local
        self._hold_ms = int(hold * 1000)
        self._sleep = sleep
        self._acquire = client.register_script(_ACQUIRE)
        self._release = client.register_script(_RELEASE)

    @contextmanager
    def ordered(self, stream_id: str) -> Iterator[int]:
        import redis as redis_module

        lock_key = f"{self._key}:lock:{stream_id}"
        keys = [lock_key, f"{self._key}:seq:{stream_id}"]
        token = secrets.token_hex(16)
        # A lock another runner holds expires after `hold`: waiting three times that is a broken Redis.
        give_up = time.monotonic() + 3 * self._hold_ms / 1000 + 5
        with self._local.lock(f"{self._key}\0{stream_id}"):
            try:
                while True:
                    value: Any = self._acquire(keys=keys, args=[token, self._hold_ms])
                    if int(value) >= 0:
                        break
                    if time.monotonic() > give_up:
                        raise ZegoConfigError(
                            [(SETTING_NAME, f"stream {stream_id!r} stayed locked in Redis at {redact(self._url)}")]
                        )
                    self._sleep(self.POLL)
            except redis_module.RedisError as error:
                raise redis_problem(self._url, error) from None
            try:
                yield int(value)
            finally:
                with contextlib.suppress(redis_module.RedisError):  # the lock expires by itself after `hold`
                    self._release(keys=[lock_key], args=[token])


_process_sequences = SequenceGenerator()


def stream_order(
    scope: str, app_id: int, *, is_test: bool = False, service: str = "", hold: float = 30.0
) -> StreamOrder:
    """The per-stream order of one AppId and environment in `scope` (`off` orders within the process).

    `service` tells apart services that do not share ZEGO's counters (see `scope.budget_key`).
    `hold` bounds how long a Redis stream lock outlives a runner that died holding it: more
    than one attempt (connect + read timeout) takes.
    """
    key = budget_key(app_id, is_test, service)
    if scope in (PROCESS, OFF):
        return _process_sequences
    if scope == MACHINE:
        return MachineSequences(budget_directory() / f"sequences-{key}", key, _process_sequences)
    if is_redis(scope):
        return RedisSequences(redis_client(scope), scope, f"zego-provider:{key}", _process_sequences, hold=hold)
    raise ValueError(f"unknown rate limiter scope {redact(scope)!r}")
