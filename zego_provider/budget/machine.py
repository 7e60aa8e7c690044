"""The budget in files that every process of this user on this host shares (`machine`).

The slot file holds one number, the wall-clock time of the next free slot (the one clock all
processes share), read and rewritten under a file lock. An unreadable number (a corrupt file)
or one over MAX_AHEAD in the future (a clock that stepped back) is replaced by "now": the safe
fallback loses at most one slot of spacing.

Per-stream order: a file lock (the OS releases it if the process dies) on one of SHARDS files
named by a hash of (budget, stream); the file holds the shard's last Sequence. Streams that
share a shard only share order, never a wrong value, and the cache directory never grows with
the number of streams. A directory that cannot be written is a ZegoConfigError at once.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from . import files
from .files import own_directory
from .names import sequence_directory, slot_file
from .process import ProcessStore
from .scope import scope_error
from .store import OutOfTime

log = logging.getLogger(__name__)

MAX_AHEAD = 120.0
"""A slot further ahead than this is a clock that stepped back (or a bad file): start afresh."""
SHARDS = 256
LOCK_WAIT = 600.0
"""Seconds to wait for another process's call on the same stream: far more than one attempt takes."""


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else deadline - time.monotonic()


class MachineStore:
    """The slot file and the sequence shards of one budget in `directory` (the cache directory)."""

    def __init__(self, directory: Path, key: str, local: ProcessStore, clock: Callable[[], float] = time.time) -> None:
        self.path = slot_file(directory, key)
        self._key = key
        self._shards = sequence_directory(directory, key)
        self._local = local
        self._clock = clock
        self._thread_lock = threading.Lock()
        self._slot_lock = FileLock(str(self.path) + ".lock", timeout=30)
        # The user's own directories (0700, checked), files opened without following links: see `files`.
        own_directory(directory, parents=1)
        own_directory(self._shards)
        try:
            files.check_lock_file(Path(self._slot_lock.lock_file))
            with self._slot_lock:
                files.read_text(self.path)  # must be a readable and writable regular file, not only present
            files.replace_text(self._shards / "probe", "")
        except OSError as error:
            raise scope_error(
                f"machine: cannot use {directory}: {error.strerror or error}; fix the directory's"
                " permissions, set XDG_CACHE_HOME, or choose `process` or a Redis URL"
            ) from None

    def reserve(self, interval: float, max_wait: float = math.inf) -> float:
        with self._thread_lock:
            files.check_lock_file(Path(self._slot_lock.lock_file))
            with self._slot_lock, files.opened(self.path) as fd:
                now = self._clock()
                try:
                    stored = float(files.read_all(fd) or "0")
                except ValueError:
                    log.warning("%s held no time; starting the budget afresh", self.path)
                    stored = 0.0
                if not stored <= now + MAX_AHEAD:  # also catches nan
                    stored = 0.0
                slot = max(now, stored)
                if slot - now > max_wait:
                    return slot - now
                files.write_all(fd, repr(slot + interval))
        # Measured once the locks are released: writing and unlocking on a busy host take
        # milliseconds, which the caller would otherwise oversleep its slot by without knowing.
        return slot - self._clock()

    def _shard(self, stream_id: str) -> Path:
        digest = hashlib.sha256(f"{self._key}\0{stream_id}".encode()).digest()
        return self._shards / f"shard-{int.from_bytes(digest[:2], 'big') % SHARDS:03d}"

    @contextmanager
    def _locked(self, shard: Path, timeout: float | None = None) -> Iterator[None]:
        files.check_lock_file(Path(str(shard) + ".lock"))
        wait = LOCK_WAIT if timeout is None else max(0.0, min(LOCK_WAIT, timeout))
        lock = FileLock(str(shard) + ".lock", timeout=wait)
        try:
            lock.acquire()
        except Timeout:
            if wait < LOCK_WAIT:
                raise OutOfTime("another process's call on the same stream held its turn") from None
            raise scope_error(
                f"machine: {shard}.lock stayed locked for {LOCK_WAIT:g}s (a stopped process holds it?)"
            ) from None
        try:
            yield
        finally:
            lock.release()

    @contextmanager
    def ordered(self, stream_id: str, hold: float = 0.0, timeout: float | None = None) -> Iterator[int]:
        shard = self._shard(stream_id)
        deadline = None if timeout is None else time.monotonic() + timeout
        # Threads of this process queue on the in-process lock first: one file descriptor per shard at a time.
        name = f"\0{shard.name}"  # apart from stream ids (a NUL never reaches a call)
        with self._local.turn(name, timeout), self._locked(shard, _left(deadline)):
            with files.opened(shard) as fd:
                try:
                    last = int(files.read_all(fd) or "0")
                except ValueError:  # empty or corrupt: the clock and this process's counter go on
                    last = 0
                value = max(self._local.next(name), last + 1)
                files.write_all(fd, str(value))
            yield value
