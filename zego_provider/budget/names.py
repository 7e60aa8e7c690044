"""The names of an AppId's budget: its key, and where each scope keeps it (files, Redis keys).

ZEGO's limit is per AppId and environment, so that pair names a budget. Everything that
finds a budget's data (the cache directory, the slot file, the sequence shards, the Redis
keys) is spelled here, so that every process of every version agrees on it.
"""

from __future__ import annotations

from pathlib import Path


def budget_key(app_id: int, is_test: bool, service: str = "") -> str:
    """The name of one budget. `service` is empty for ZEGO (its regional hosts share the
    AppId's limit) and the address of a service that counts on its own."""
    environment = "test" if is_test else "production"
    suffix = "".join(char if char.isalnum() else "_" for char in service)
    return f"{app_id}-{environment}" + (f"-{suffix}" if suffix else "")


def cache_directory() -> Path:
    """Where `machine` budgets live: in the user's cache directory (XDG_CACHE_HOME on Linux), nothing to configure."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("zego-pulumi-provider", appauthor=False)) / "budgets"


def slot_file(directory: Path, key: str) -> Path:
    """The `machine` file holding the budget's next free slot (its lock is beside it, `.lock`)."""
    return directory / f"budget-{key}"


def sequence_directory(directory: Path, key: str) -> Path:
    """The `machine` directory of the budget's per-stream Sequence shards."""
    return directory / f"sequences-{key}"


def redis_prefix(key: str) -> str:
    """The prefix of the budget's Redis keys: `:next-slot`, `:lock:STREAM`, `:seq:STREAM`."""
    return f"zego-provider:{key}"
