"""How long to wait before the next attempt: capped exponential backoff with injected randomness.

A small pure function rather than urllib3's `Retry` bookkeeping: the client's loop decides
*whether* to retry (a rate-limit answer until the call's time budget runs out, other
retryable errors a bounded number of times); this decides only *how long*, and tests pin it
by passing their own `random`.
"""

from __future__ import annotations

from collections.abc import Callable


def backoff(retry: int, *, base: float, cap: float, random: Callable[[], float]) -> float:
    """Seconds before retry number `retry` (0 for the first): "equal jitter" over `min(cap, base * 2**retry)`.

    Half the ceiling is fixed, so a retry never comes back at once; half is random, so
    clients that failed together do not retry together.
    """
    if retry < 0:
        raise ValueError("retry counts from 0")
    ceiling = min(cap, base * 2.0 ** min(retry, 32))
    return ceiling / 2 + random() * ceiling / 2
