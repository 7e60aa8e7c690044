"""`python -m benchmarks.fleet_job PREFIX COUNT THREADS`: one pipeline job of the fleet benchmark.

A provider-level job: the provider class Pulumi runs (`CdnTransferRuleSetProvider`, settings
from ZEGO_*), driven directly in one OS process: create COUNT one-URL rule sets from THREADS
threads (as the engine's parallel operations), then destroy them. Cheaper than a Pulumi CLI
per job on a 2-core machine, and the same client, budget and retries. Prints `ready` once
set up, then waits for a wall-clock start time on stdin (so that every job starts at once,
however slowly the interpreters started); ends with one JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from zego_provider.errors import ZegoError
from zego_provider.provider import CdnTransferRuleSetProvider


def cdn_url(stream_id: str) -> str:
    return f"rtmp://push.example-cdn.net/live/{stream_id}?token=bench"


def main(prefix: str, count: int, threads: int) -> int:
    provider = CdnTransferRuleSetProvider()
    provider.config  # noqa: B018 - settings are read (and refused) before the start
    errors: list[str] = []
    created: dict[str, dict[str, Any]] = {}

    def create(stream_id: str) -> None:
        try:
            result = provider.create({"stream_id": stream_id, "cdn_urls": [cdn_url(stream_id)]})
            created[str(result.id)] = dict(result.outs or {})
        except ZegoError as error:
            errors.append(f"create {stream_id}: {error}")

    def delete(item: tuple[str, dict[str, Any]]) -> None:
        try:
            provider.delete(*item)
        except ZegoError as error:
            errors.append(f"delete {item[0]}: {error}")

    print("ready", flush=True)
    start_at = float(sys.stdin.readline())
    time.sleep(max(0.0, start_at - time.time()))
    started = time.time()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(create, [f"{prefix}-{number}" for number in range(count)]))
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(delete, list(created.items())))
    print(json.dumps({"started": started, "ended": time.time(), "errors": errors}), flush=True)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
