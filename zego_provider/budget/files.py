"""The `machine` scope's files are the user's own and nothing else.

Every process of the user on the host shares the budget through files in the user's cache
directory, so those files must be out of other users' reach: a budget directory another user
can write to would let them plant a symbolic link where a budget file goes, and the next call
would write a timestamp through it into a file of the victim's. So the directories are created
0700 and refused (a ZegoConfigError naming the directory) when they are a link, not the user's,
or writable by group or others; each file is opened with O_NOFOLLOW and refused unless it is a
regular file (a link, FIFO, device or directory where a budget file goes is never written
through, nor waited on). filelock follows links when it opens its lock file, so a lock file is
checked with lstat first (in a directory only the user can write, no one else can swap it after).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .scope import scope_error

_FLAGS = os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


def own_directory(path: Path, *, parents: int = 0) -> None:
    """Create `path` 0700 (and up to `parents` missing parents, also 0700) and check that it, and
    those parents, are directories of this user that no one else can write to."""
    chain = [path, *list(path.parents)[:parents]]
    try:
        chain[-1].parent.mkdir(parents=True, exist_ok=True)  # the user's cache directory itself
    except OSError as error:
        raise scope_error(f"machine: cannot create {chain[-1].parent}: {error.strerror or error}") from None
    for directory in reversed(chain):
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:
            pass
        except OSError as error:
            raise scope_error(f"machine: cannot create {directory}: {error.strerror or error}") from None
        check_directory(directory)


def check_directory(directory: Path) -> None:
    try:
        status = os.lstat(directory)
    except OSError as error:
        raise scope_error(f"machine: cannot use {directory}: {error.strerror or error}") from None
    problem = ""
    if stat.S_ISLNK(status.st_mode):
        problem = "is a symbolic link"
    elif not stat.S_ISDIR(status.st_mode):
        problem = "is not a directory"
    elif hasattr(os, "getuid") and status.st_uid != os.getuid():
        problem = f"belongs to another user (uid {status.st_uid})"
    elif status.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        problem = f"is writable by others (mode {stat.S_IMODE(status.st_mode):04o}): `chmod 700` it"
    if problem:
        raise scope_error(
            f"machine: the budget directory {directory} {problem}; it must be this user's own, "
            "or set XDG_CACHE_HOME to a directory that is"
        )


@contextmanager
def opened(path: Path) -> Iterator[int]:
    """`path` opened for reading and writing (created 0600 if missing), never through a link and
    only if it is a regular file; the descriptor is closed at the end of the block."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | _FLAGS, 0o600)
    except OSError as error:
        raise _refused(path, error) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise scope_error(f"machine: {path} is not a regular file (a FIFO, device or socket): refused")
        yield fd
    finally:
        os.close(fd)


def read_text(path: Path) -> str:
    with opened(path) as fd:
        return read_all(fd)


def replace_text(path: Path, text: str) -> None:
    """Write `text` as the whole content of `path` (through the checked descriptor)."""
    with opened(path) as fd:
        write_all(fd, text)


def read_all(fd: int) -> str:
    chunks = []
    while chunk := os.read(fd, 4096):
        chunks.append(chunk)
        if sum(len(part) for part in chunks) > 4096:  # a number is a few bytes: anything longer is not one
            break
    return b"".join(chunks).decode("utf-8", errors="replace")


def write_all(fd: int, text: str) -> None:
    data = text.encode()
    os.lseek(fd, 0, os.SEEK_SET)
    os.ftruncate(fd, 0)
    while data:
        data = data[os.write(fd, data) :]


def check_lock_file(path: Path) -> None:
    """A lock file that exists must be a regular file: filelock would open it through a link."""
    try:
        status = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as error:
        raise _refused(path, error) from None
    if not stat.S_ISREG(status.st_mode):
        kind = "a symbolic link" if stat.S_ISLNK(status.st_mode) else "not a regular file"
        raise scope_error(f"machine: {path} is {kind}: refused, never opened")


def _refused(path: Path, error: OSError) -> Exception:
    if error.errno == errno.ELOOP:
        return scope_error(f"machine: {path} is a symbolic link: refused, never written through")
    if error.errno == errno.EISDIR:
        return scope_error(f"machine: {path} is a directory where a budget file goes: refused")
    if error.errno == errno.ENXIO:
        return scope_error(f"machine: {path} is not a regular file (a FIFO, device or socket): refused")
    return scope_error(f"machine: cannot use {path}: {error.strerror or error}")
