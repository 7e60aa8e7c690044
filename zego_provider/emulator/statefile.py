"""The emulator's state file: rules and sequences kept across restarts and shared by processes in turn.

One emulator owns a file at a time: an OS lock (filelock's `FileLock` on `<file>.lock` beside
it) is taken at start and held until stop, so a second emulator on the same file is refused instead of
the last writer silently winning. Writes are atomic (a temporary file, fsync, rename), so a
reader never sees half a file; temporaries a killed emulator left behind are removed once
the lock is ours. The file is validated as a whole on load: bad JSON, absurd nesting,
non-finite numbers or a wrong type are one clear error, never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from filelock import FileLock, Timeout
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import strictjson

STATE_FORMAT: Literal[1] = 1
MAX_STATE_BYTES = 64 * 1024 * 1024
"""A state file larger than this is refused at load: no test or demo comes near it."""


class StateFileError(ValueError):
    """The state file cannot be used at start (locked by another emulator, unreadable, malformed)."""


class StateWriteError(RuntimeError):
    """A change could not be written; the change was not applied."""


class RuleEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    app_id: int | None = None  # format 1 files name the AppId on every entry
    stream_id: str
    cdn_url: str
    status: Literal["scheduled", "active"]


class SequenceEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    app_id: int | None = None
    stream_id: str
    sequence: int
    time: float = Field(allow_inf_nan=False)


class StateDocument(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    format: Literal[1]
    app_id: int | None = None
    rules: list[RuleEntry]
    sequences: list[SequenceEntry]


class StateFile:
    """One locked state file. `open()` locks, cleans and loads; `save()` writes atomically; `close()` unlocks."""

    def __init__(self, path: str | os.PathLike[str], app_id: int) -> None:
        self.path = Path(path)
        self.app_id = app_id
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        # Not thread-local: the emulator may stop from another thread than the one that started it.
        self._lock = FileLock(str(self.lock_path), thread_local=False)

    def __repr__(self) -> str:
        return f"StateFile({str(self.path)!r})"

    @property
    def is_open(self) -> bool:
        return self._lock.is_locked

    def open(self) -> StateDocument | None:
        """Take the lock, remove stale temporaries, return the document (None when there is no file yet)."""
        if not self._lock.is_locked:
            self._take_lock()
        try:
            self._remove_temporaries()
            return self._load()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._lock.is_locked:
            self._lock.release(force=True)

    def save(self, document: StateDocument) -> None:
        """Replace the file with `document` atomically; StateWriteError (one line) when that fails."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=self._temporary_prefix, suffix=".tmp", dir=self.path.parent)
        except OSError as error:
            raise StateWriteError(f"cannot write the state file {self.path}: {error.strerror or error}") from None
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(document.model_dump_json(exclude_none=True))
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, self.path)
        except OSError as error:
            Path(temporary).unlink(missing_ok=True)
            raise StateWriteError(f"cannot write the state file {self.path}: {error.strerror or error}") from None
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    @staticmethod
    def document(
        app_id: int,
        rules: Iterable[tuple[str, str, Literal["scheduled", "active"]]],
        sequences: Iterable[tuple[str, int, float]],
    ) -> StateDocument:
        return StateDocument(
            format=STATE_FORMAT,
            app_id=app_id,
            rules=[RuleEntry(stream_id=s, cdn_url=u, status=status) for s, u, status in rules],
            sequences=[SequenceEntry(stream_id=s, sequence=n, time=t) for s, n, t in sequences],
        )

    # --- internals ------------------------------------------------------------------

    @property
    def _temporary_prefix(self) -> str:
        return f".{self.path.name}."

    def _take_lock(self) -> None:
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            raise StateFileError(
                f"the state file {self.path} is in use by another emulator (lock {self.lock_path.name})"
            ) from None
        except OSError as error:
            raise StateFileError(f"cannot use the state file {self.path}: {error.strerror or error}") from None

    def _remove_temporaries(self) -> None:
        """Temporaries of an emulator killed mid-write: safe to remove, since the lock is ours."""
        for leftover in self.path.parent.glob(f"{self._temporary_prefix}*.tmp"):
            with contextlib.suppress(OSError):
                leftover.unlink()

    def _load(self) -> StateDocument | None:
        problem = f"emulator state file {self.path} is unreadable"
        try:
            with self.path.open("rb") as stream:
                data = stream.read(MAX_STATE_BYTES + 1)
        except FileNotFoundError:
            return None
        except OSError as error:
            raise StateFileError(f"{problem}: {error.strerror or error}") from None
        if len(data) > MAX_STATE_BYTES:
            raise StateFileError(f"{problem}: larger than {MAX_STATE_BYTES} bytes")
        try:
            raw = strictjson.loads(data)
        except ValueError as error:
            raise StateFileError(f"{problem}: {error}") from None
        if isinstance(raw, dict) and "format" in raw and raw["format"] != STATE_FORMAT:
            raise StateFileError(f"{problem}: unsupported format {json.dumps(raw['format'])[:20]}")
        try:
            document = StateDocument.model_validate(raw)
        except ValidationError as error:
            raise StateFileError(f"{problem}: {strictjson.problem_of(error, whole='document')}") from None
        owners = {document.app_id, *(rule.app_id for rule in document.rules)}
        owners |= {entry.app_id for entry in document.sequences}
        foreign = sorted(owner for owner in owners - {None, self.app_id} if owner is not None)
        if foreign:
            raise StateFileError(f"{problem}: it belongs to AppId {foreign[0]}, not {self.app_id}")
        return document
