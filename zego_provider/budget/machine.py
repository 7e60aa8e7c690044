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
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from .names import sequence_directory, slot_file
from .process import ProcessStore
from .scope import scope_error

log = logging.getLogger(__name__)

MAX_AHEAD = 120.0
"""A slot further ahead than this is a clock that stepped back (or a bad file): start afresh."""
SHARDS = 256
LOCK_WAIT = 600.0
"""Seconds to wait for another process's call on the same stream: far more than one attempt takes."""


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
        try:
            directory.mkdir(parents=True, exist_ok=True)
            with self._slot_lock:
                self.path.touch()
                with self.path.open("r+"):  # must be readable and writable, not only present
                    pass
            self._shards.mkdir(exist_ok=True)
            (self._shards / "probe").write_text("")
        except OSError as error:
            raise scope_error(
                f"machine: cannot use {directory}: {error.strerror or error}; fix the directory's"
                " permissions, set XDG_CACHE_HOME, or choose `process` or a Redis URL"
            ) from None

    def reserve(self, interval: float) -> float:
        with self._thread_lock, self._slot_lock:
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
        # Measured once the locks are released: writing and unlocking on a busy host take
        # milliseconds, which the caller would otherwise oversleep its slot by without knowing.
        return slot - self._clock()

    def _shard(self, stream_id: str) -> Path:
        digest = hashlib.sha256(f"{self._key}\0{stream_id}".encode()).digest()
        return self._shards / f"shard-{int.from_bytes(digest[:2], 'big') % SHARDS:03d}"

    @contextmanager
    def _locked(self, shard: Path) -> Iterator[None]:
        lock = FileLock(str(shard) + ".lock", timeout=LOCK_WAIT)
        try:
            lock.acquire()
        except Timeout:
            raise scope_error(
                f"machine: {shard}.lock stayed locked for {LOCK_WAIT:g}s (a stopped process holds it?)"
            ) from None
        try:
            yield
        finally:
            lock.release()

    @contextmanager
    def ordered(self, stream_id: str, hold: float = 0.0) -> Iterator[int]:
        shard = self._shard(stream_id)
        # Threads of this process queue on the in-process lock first: one file descriptor per shard at a time.
        name = f"\0{shard.name}"  # apart from stream ids (a NUL never reaches a call)
        with self._local.lock(name), self._locked(shard):
            try:
                last = int(shard.read_text() or "0")
            except (OSError, ValueError):  # missing or corrupt: the clock and this process's counter go on
                last = 0
            value = max(self._local.next(name), last + 1)
            shard.write_text(str(value))
            yield value
