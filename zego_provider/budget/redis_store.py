"""The budget in Redis, shared by every process that points at it (a fleet of runners).

Slot: one Lua script reads and moves the next free slot atomically, on Redis's own clock, so
runners' clocks need not agree. Order: `SET NX PX` (a lock that expires, so a killed runner
holds it for `hold` seconds at most) and the counter `max(now_ms, last + 1)` in one Lua
script, with Redis's clock; the lock is released only by its holder (a token).
A connection is checked with a PING when first made, with short socket timeouts: Redis down
or unreachable is reported within seconds, naming the setting and the host, never the password.
"""

from __future__ import annotations

import contextlib
import math
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from .names import redis_prefix
from .process import ProcessStore
from .scope import redact, scope_error
from .store import OutOfTime

if TYPE_CHECKING:
    import redis

    from ..errors import ZegoConfigError

TIMEOUT = 2.0
"""Seconds to connect to or hear from Redis before reporting it: a fleet waits for nothing silently."""
POLL = 0.02
"""Seconds between two tries at a stream lock another runner holds."""

_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local stored = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local slot = math.max(now, stored)
local most = tonumber(ARGV[2])
if most < 0 or slot - now <= most then
  redis.call('SET', KEYS[1], slot + tonumber(ARGV[1]), 'PX', 600000)
end
return slot - now
"""
"""Microseconds until the reserved slot (not reserved when further than ARGV[2], unless it is -1)."""
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
"""The stream's lock and next Sequence, or -1 while another holder has the lock."""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

_clients: dict[str, redis.Redis] = {}
_clients_lock = threading.Lock()


def redis_client(url: str) -> redis.Redis:
    """The process's Redis client for `url`, checked with a PING when first made."""
    with _clients_lock:
        client = _clients.get(url)
        if client is not None:
            return client
        try:
            import redis as redis_module
        except ImportError:
            raise scope_error(
                "is a Redis URL but the redis package is missing: install zego-pulumi-provider[redis]"
            ) from None
        client = redis_module.Redis.from_url(
            url, socket_connect_timeout=TIMEOUT, socket_timeout=TIMEOUT, retry_on_timeout=False
        )
        try:
            client.ping()
        except redis_module.RedisError as error:
            client.close()
            raise redis_problem(url, error) from None
        _clients[url] = client
        return client


def redis_address(url: str) -> str:
    """`host:port` of a Redis URL, for error messages."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 6379}"


def redis_problem(url: str, error: Exception) -> ZegoConfigError:
    """The error naming the setting and the host, never the password (redis-py's own text is redacted too)."""
    text = str(error)
    password = urlsplit(url).password
    for secret in {password, unquote(password)} if password else set():
        text = text.replace(secret, "***")
    return scope_error(f"Redis at {redis_address(url)} failed: {type(error).__name__}: {text}")


class RedisStore:
    """One budget's slot and per-stream order in the Redis at `url`."""

    def __init__(self, url: str, key: str, local: ProcessStore, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._client = redis_client(url)
        self._url = url
        self._prefix = redis_prefix(key)
        self._local = local
        self._sleep = sleep
        self._reserve = self._client.register_script(_RESERVE)
        self._acquire = self._client.register_script(_ACQUIRE)
        self._release = self._client.register_script(_RELEASE)

    def reserve(self, interval: float, max_wait: float = math.inf) -> float:
        import redis as redis_module

        most = -1 if math.isinf(max_wait) else max(0, int(max_wait * 1_000_000))
        try:
            micros: Any = self._reserve(keys=[f"{self._prefix}:next-slot"], args=[int(interval * 1_000_000), most])
        except redis_module.RedisError as error:
            raise redis_problem(self._url, error) from None
        return int(micros) / 1_000_000

    @contextmanager
    def ordered(self, stream_id: str, hold: float = 30.0, timeout: float | None = None) -> Iterator[int]:
        import redis as redis_module

        lock_key = f"{self._prefix}:lock:{stream_id}"
        keys = [lock_key, f"{self._prefix}:seq:{stream_id}"]
        token = secrets.token_hex(16)
        hold_ms = int(hold * 1000)
        # A lock another runner holds expires after `hold`: waiting three times that is a broken Redis.
        give_up = time.monotonic() + 3 * hold + 5
        out_of_time = math.inf if timeout is None else time.monotonic() + timeout  # the call's time budget
        with self._local.turn(stream_id, timeout):
            try:
                while True:
                    value: Any = self._acquire(keys=keys, args=[token, hold_ms])
                    if int(value) >= 0:
                        break
                    if time.monotonic() > out_of_time:
                        raise OutOfTime("another runner's call on the same stream held its turn in Redis")
                    if time.monotonic() > give_up:
                        raise scope_error(f"stream {stream_id!r} stayed locked in Redis at {redact(self._url)}")
                    self._sleep(POLL)
            except redis_module.RedisError as error:
                raise redis_problem(self._url, error) from None
            try:
                yield int(value)
            finally:
                with contextlib.suppress(redis_module.RedisError):  # the lock expires by itself after `hold`
                    self._release(keys=[lock_key], args=[token])
