"""`python -m tests.integration.fleet_worker STREAM COUNT START_AT`: one OS process of a fleet test.

Waits until the wall-clock START_AT (so that every worker calls at once), then sends COUNT
ClearCDNTransferRule calls through `ZegoClient.from_env()` (settings from ZEGO_*), on streams
STREAM-0..COUNT-1, or COUNT times on STREAM itself when STREAM ends with `!`. Prints one JSON
line: {"ok": N, "errors": ["..."]}.
"""

from __future__ import annotations

import json
import sys
import time

from zego_provider.client import ZegoClient
from zego_provider.errors import ZegoError


def main(stream: str, count: int, start_at: float) -> int:
    same = stream.endswith("!")
    stream = stream.rstrip("!")
    ok = 0
    errors: list[str] = []
    with ZegoClient.from_env() as client:
        time.sleep(max(0.0, start_at - time.time()))
        for number in range(count):
            try:
                client.clear_cdn_transfer_rule(stream if same else f"{stream}-{number}")
                ok += 1
            except ZegoError as error:
                errors.append(str(error))
    print(json.dumps({"ok": ok, "errors": errors}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
