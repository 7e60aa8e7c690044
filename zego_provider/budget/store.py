"""What every scope's store offers: the next free slot, and each stream's Sequence in order."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol


class Store(Protocol):
    """One AppId's budget kept in one scope (this process, a machine's files, a Redis)."""

    def reserve(self, interval: float) -> float:
        """Take the next free slot and move it `interval` seconds on; the seconds until the slot."""
        ...

    def ordered(self, stream_id: str, hold: float) -> AbstractContextManager[int]:
        """The stream's next Sequence, `max(now_ms, last + 1)`, with this stream's calls kept one at a
        time until the block ends. `hold` bounds how long a lock outlives a caller that died holding
        it, where the store can tell (Redis): more than one attempt takes."""
        ...
