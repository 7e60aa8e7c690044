"""What every scope's store offers: the next free slot, and each stream's Sequence in order."""

from __future__ import annotations

import math
from contextlib import AbstractContextManager
from typing import Protocol


class OutOfTime(Exception):
    """A wait of the budget (for a slot, for a stream's turn) would outlast the call's time budget:
    nothing was reserved or sent. `wait` is how long the slot was away (0 when unknown)."""

    def __init__(self, reason: str, wait: float = 0.0) -> None:
        self.reason = reason
        self.wait = wait
        super().__init__(reason)


class Store(Protocol):
    """One AppId's budget kept in one scope (this process, a machine's files, a Redis)."""

    def reserve(self, interval: float, max_wait: float = math.inf) -> float:
        """Take the next free slot and move it `interval` seconds on; the seconds until the slot.
        A slot more than `max_wait` away is not taken: its distance is returned, nothing moved."""
        ...

    def ordered(self, stream_id: str, hold: float, timeout: float | None = None) -> AbstractContextManager[int]:
        """The stream's next Sequence, `max(now_ms, last + 1)`, with this stream's calls kept one at a
        time until the block ends. `hold` bounds how long a lock outlives a caller that died holding
        it, where the store can tell (Redis): more than one attempt takes. Waiting for another
        caller's turn longer than `timeout` seconds raises OutOfTime."""
        ...
