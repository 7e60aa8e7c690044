"""The spelling of `zego:rateLimiter`: where an AppId's budget is shared, checked and printable.

`process` (this process), `machine` (every process of this user on this host, the default),
a `redis://` or `rediss://` URL (every process that points at that Redis), or `off` (no
client-side pacing). A Redis URL may carry a password, so every message and repr shows it
through `display()`; validation errors never echo the value.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ..errors import ZegoConfigError
from ..redaction import REDACTED
from ..settings import Source, setting

PROCESS = "process"
MACHINE = "machine"
OFF = "off"
REDIS_SCHEMES = ("redis", "rediss")
SETTING_NAME = setting("rate_limiter").named(Source.EITHER)
"""How a problem found at run time names the setting (`zego-cdn` renames it: `settings.named_for`)."""


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


def display(scope: str) -> str:
    """The scope as messages and reprs show it: a Redis URL's password replaced (the user name stays:
    it helps support)."""
    if not is_redis(scope):
        return scope
    userinfo, _, _ = urlsplit(scope).netloc.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    return scope.replace(f"{userinfo}@", f"{user}:{REDACTED}@", 1) if colon else scope


def scope_error(problem: str) -> ZegoConfigError:
    """A store that cannot be used, reported against the setting that chose it."""
    return ZegoConfigError([(SETTING_NAME, problem)])
