"""The AppId's call budget in its scope: evenly spaced slots at an adaptive rate, and per-stream Sequence order.

ZEGO limits calls per AppId (10/s, 5/s in the test environment) wherever they come from:
Pulumi's parallel threads, several provider processes on one runner, several runners. And
ZEGO requires each stream's Sequence to increase within 10 seconds, which several processes
calling one stream must agree on too. So both are kept in one store where all of them see it,
chosen by `zego:rateLimiter` (`scope`): this process (`process`), files in the user's cache
directory (`machine`), or Redis. Each call reserves the next free slot, `1/rate` after the
previous one, and waits for it: calls are spaced evenly instead of bursting into ZEGO's
one-second window, and waiters are served in the order they reserved. Each stream's calls go
one at a time, holding the stream's lock until the reply is in, with the Sequence
`max(now_ms, last + 1)` kept beside it.

Why the slot reservation is hand-written: pyrate-limiter and `limits` (the well-kept
libraries with SQLite/file and Redis backends) count calls in a window and answer "full";
a window of N admits N calls at once (a burst), and their blocking mode sleeps and asks
again, so processes that poll race each other. What we need is one atomic read-modify-write
of a single number ("next free slot"): a few lines in a locked file and one Lua script.
The stores themselves are libraries: `filelock` and `platformdirs` for the file, redis-py.
Rejected for ordering: a per-process counter alone (two processes in one millisecond, or two
runners with skewed clocks, send crossing values: the 5005 this exists to prevent), or
retrying on 5005 (a real invalid request would be retried and hidden).

Modules: `scope` (the setting's spelling), `names` (keys, files, the cache directory),
`rate` (the adaptive rate), `process` / `machine` / `redis_store` (one store per scope),
`shared` (`Budget` and the factory `open_budget`).
"""

from .scope import MACHINE, OFF, PROCESS, redact, validate_scope
from .shared import Budget, open_budget
from .store import OutOfTime

__all__ = ["MACHINE", "OFF", "PROCESS", "Budget", "OutOfTime", "open_budget", "redact", "validate_scope"]
