"""The client's one door into the AppId's budget: a failure of the budget during a call is a failure of the call.

The budget (`zego:rateLimiter`: files and file locks in the user's cache directory, or a Redis)
can fail in the middle of a run: Redis stops, a file is replaced by a directory, a lock times
out. Whatever the budget raises then (its own ZegoConfigError, an OSError, filelock's Timeout,
redis-py's errors) leaves here as one ZegoBudgetError, a transport failure of this call: the
client retries it a bounded number of times, a create rolls back what it had made, teardown
reports it per stream. Its text names the setting and the host; a Redis password is cut out.

Only the budget's calls are guarded: an error of the request itself passes through untouched.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, suppress
from typing import Protocol
from urllib.parse import unquote, urlsplit

from .budget import OutOfTime
from .errors import BUDGET_FIX, BUDGET_MEANING, ZegoBudgetError, ZegoCallTimeBudgetError, ZegoConfigError
from .settings import Source, setting

SETTING = setting("rate_limiter").named(Source.EITHER)
TIME_SETTING = setting("call_time_budget").named(Source.EITHER)


class Budget(Protocol):
    """What the client asks of the budget (`budget.Budget`): order, then a slot."""

    def ordered(self, stream_id: str, hold: float, timeout: float | None = None) -> AbstractContextManager[int]: ...

    def acquire(self, max_wait: float = math.inf) -> float: ...


@contextmanager
def paced(
    budget: Budget,
    stream_id: str,
    hold: float,
    *,
    action: str,
    scope: str,
    deadline: float | None = None,
    time_budget: float = math.inf,
) -> Iterator[int]:
    """The stream's next Sequence, its calls kept in order and this call's slot taken, for the block.

    `scope` is the configured zego:rateLimiter (a Redis URL may hold a password: never shown).
    `deadline` (time.monotonic) is when the call's time budget, `time_budget` seconds, runs out:
    the waits for the stream's turn and for the slot end there (ZegoCallTimeBudgetError, nothing sent).
    """
    held = ExitStack()
    try:
        sequence = held.enter_context(budget.ordered(stream_id, hold, _left(deadline)))
        left = _left(deadline)
        budget.acquire(math.inf if left is None else max(0.0, left))
    except OutOfTime as error:
        with suppress(Exception):
            held.close()
        raise ZegoCallTimeBudgetError(
            action,
            None,
            f"{TIME_SETTING} of {time_budget:g}s ran out before the call's turn: {error.reason}; nothing was sent",
            None,
            meaning="out of time",
            fix=f"raise {TIME_SETTING}, or lower the load on the AppId's budget ({SETTING})",
        ) from None
    except Exception as error:
        with suppress(Exception):
            held.close()
        raise budget_error(action, scope, error) from None
    try:
        yield sequence
    except BaseException:
        with suppress(Exception):  # the call's own error is the one to report
            held.close()
        raise
    try:
        held.close()
    except Exception as error:
        raise budget_error(action, scope, error) from None


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else deadline - time.monotonic()


def budget_error(action: str, scope: str, error: BaseException) -> ZegoBudgetError:
    """`error` of the budget as the call's failure: what failed and where, never a password."""
    if isinstance(error, ZegoConfigError):
        detail = "; ".join(reason for _, reason in error.problems)
    elif isinstance(error, OSError) and error.strerror:
        where = f"{error.filename}: " if error.filename else ""
        detail = f"{where}{error.strerror} ({type(error).__name__})"
    else:
        detail = f"{type(error).__name__}: {error}"
    if "://" in scope:
        parts = urlsplit(scope)
        password = parts.password
        for secret in {password, unquote(password)} if password else set():
            detail = detail.replace(secret, "***")
        where = f"Redis at {parts.hostname}:{parts.port or 6379}"
        if where not in detail:
            detail = f"{where}: {detail}"
    else:
        detail = f"{scope}: {detail}" if not detail.startswith(scope) else detail
    return ZegoBudgetError(action, None, f"{SETTING} {detail}", None, meaning=BUDGET_MEANING, fix=BUDGET_FIX)
