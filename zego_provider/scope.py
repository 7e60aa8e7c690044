"""Where an AppId's call budget is shared: the spelling of `zego:rateLimiter`, checked and printable.

`process` (this process), `machine` (every process of this user on this host, the default),
a `redis://` or `rediss://` URL (every process that points at that Redis), or `off` (no
client-side pacing). A Redis URL may carry a password, so every message and repr shows it
through `redact()`; validation errors never echo the value.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, unquote, urlsplit

from .errors import ZegoConfigError
from .settings import Source, setting

if TYPE_CHECKING:
    import redis

PROCESS = "process"
MACHINE = "machine"
OFF = "off"
REDIS_SCHEMES = ("redis", "rediss")
SETTING_NAME = setting("rate_limiter").named(Source.EITHER)
"""How a problem found at run time names the setting (`zego-cdn` renames it: `settings.named_for`)."""
REDIS_TIMEOUT = 2.0
"""Seconds to connect to or hear from Redis before reporting it: a fleet waits for nothing silently."""


def is_redis(scope: str) -> bool:
    return urlsplit(scope).scheme in REDIS_SCHEMES if "://" in scope else False


def validate_scope(scope: str) -> str:
    """The scope as given; a ValueError (without the value, it may hold a password) otherwise."""
    if scope in (PROCESS, MACHINE, OFF):
        return scope
    if "://" not in scope:
        raise ValueError("must be `machine`, `process`, `off` or a redis:// or rediss:// URL")
    parts = urlsplit(scope)
    if parts.scheme not in REDIS_SCHEMES:
        raise ValueError("a URL must start with redis:// or rediss://")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the Redis URL's port is not a number from 0 to 65535") from None
    if not parts.hostname:
        raise ValueError("the Redis URL has no host")
    if port == 0:
        raise ValueError("the Redis URL's port must not be 0")
    database = parts.path.strip("/")
    if database and not database.isdigit():
        raise ValueError("the Redis URL's path must be a database number, e.g. /0")
    if parts.fragment:
        raise ValueError("the Redis URL must not carry a fragment")
    return scope


def redact(scope: str) -> str:
    """The scope with a Redis password replaced by `***` (the user name stays: it helps support)."""
    if not is_redis(scope):
        return scope
    parts = urlsplit(scope)
    if parts.password is None:
        return scope
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port is not None else "")
    return SplitResult(parts.scheme, netloc, parts.path, parts.query, parts.fragment).geturl()


def redis_address(scope: str) -> str:
    """`host:port` of a Redis scope, for error messages."""
    parts = urlsplit(scope)
    return f"{parts.hostname}:{parts.port or 6379}"


def budget_key(app_id: int, is_test: bool, service: str = "") -> str:
    """The name of one budget: ZEGO's limit is per AppId and environment. `service` is empty
    for ZEGO (its regional hosts share the AppId's limit) and the address of a loopback
    emulator, which counts on its own: two test emulators never share a budget."""
    environment = "test" if is_test else "production"
    suffix = "".join(char if char.isalnum() else "_" for char in service)
    return f"{app_id}-{environment}" + (f"-{suffix}" if suffix else "")


def budget_directory() -> Path:
    """Where `machine` budgets live: in the user's cache directory (XDG_CACHE_HOME on Linux), nothing to configure."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("zego-pulumi-provider", appauthor=False)) / "budgets"


_redis_clients: dict[str, redis.Redis] = {}
_redis_lock = threading.Lock()


def redis_client(url: str) -> redis.Redis:
    """The process's Redis client for `url`, checked with a PING when first made.

    Short socket timeouts: Redis down or unreachable is reported within seconds, never a hang.
    """
    with _redis_lock:
        client = _redis_clients.get(url)
        if client is not None:
            return client
        try:
            import redis as redis_module
        except ImportError:
            raise ZegoConfigError(
                [(SETTING_NAME, "is a Redis URL but the redis package is missing: install zego-pulumi-provider[redis]")]
            ) from None
        client = redis_module.Redis.from_url(
            url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT, retry_on_timeout=False
        )
        try:
            client.ping()
        except redis_module.RedisError as error:
            client.close()
            raise redis_problem(url, error) from None
        _redis_clients[url] = client
        return client


def redis_problem(url: str, error: Exception) -> ZegoConfigError:
    """The error naming the setting and the host, never the password (redis-py's own text is redacted too)."""
    text = str(error)
    password = urlsplit(url).password
    for secret in {password, unquote(password)} if password else set():
        text = text.replace(secret, "***")
    return ZegoConfigError([(SETTING_NAME, f"Redis at {redis_address(url)} failed: {type(error).__name__}: {text}")])
