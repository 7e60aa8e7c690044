"""fleet: J pipeline jobs (separate OS processes) on one AppId, each creating then destroying N rule sets.

The emulator enforces ZEGO's own 10 calls/s per AppId. Each job is `benchmarks/fleet_job.py`:
the provider class driven directly in its own process (not a Pulumi CLI per job: the same
client, budget and retries, at a cost a 2-core machine can run 8 times at once). Jobs in
the `machine` cells share one cache directory (one runner); jobs in the Redis cells each
have their own (separate runners) and one Redis URL; `process` cells share nothing and
rely on the adaptive rate alone.

Per cell: failed jobs, relays left on the emulator, rate-limited answers (share of all
calls) and the aggregate throughput: accepted calls per second from the common start to
the last job's end, as a share of the limit. Goals: 0 failed jobs and 0 relays left in
every cell; machine and Redis >= 0.9 of the limit and <= 1% rate-limited at J=8; process
>= 0.7.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from devkit.redis_server import RedisServer
from zego_provider.emulator import ZegoEmulator

from .common import APP_ID, REPO, SECRET, figure, header, run_alone

LIMIT = 10.0
"""ZEGO's calls/s per AppId, enforced by the emulator."""
THREADS = 8
"""Parallel operations per job, as the Pulumi engine issues them."""
FULL = {"jobs": (1, 2, 4, 8), "rule_sets": 10}
QUICK = {"jobs": (3,), "rule_sets": 3}
RATE_LIMITED_CODES = frozenset({5007, 30002, 7})
JOB_TIMEOUT = 600.0
SCOPES = ("process", "machine", "redis")


@dataclass
class Cell:
    scope: str
    jobs: int
    failed_jobs: int
    relays_left: int
    calls: int
    rate_limited: int
    accepted: int
    seconds: float

    @property
    def ratio(self) -> float:
        return self.accepted / self.seconds / LIMIT if self.seconds > 0 else 0.0

    @property
    def limited_share(self) -> float:
        return self.rate_limited / self.calls if self.calls else 0.0

    def row(self) -> str:
        return (
            f"| {self.scope} | {self.jobs} | {self.failed_jobs} | {self.relays_left} | "
            f"{self.rate_limited} ({self.limited_share:.1%}) | {self.ratio:.2f} |"
        )


def run_cell(scope: str, jobs: int, rule_sets: int, redis_url: str, work: Path) -> Cell:
    with ZegoEmulator(app_id=APP_ID, server_secret=SECRET, rate_limit=LIMIT) as emulator:
        processes = []
        for number in range(jobs):
            cache = work / scope / str(jobs) / (str(number) if scope == "redis" else "shared")
            env = {
                **os.environ,
                "ZEGO_APP_ID": str(APP_ID),
                "ZEGO_SERVER_SECRET": SECRET,
                "ZEGO_API_ENDPOINT": emulator.url,
                "ZEGO_RATE_LIMITER": redis_url if scope == "redis" else scope,
                "XDG_CACHE_HOME": str(cache),
                "PYTHONPATH": str(REPO),
            }
            command = [sys.executable, "-m", "benchmarks.fleet_job", f"j{number}", str(rule_sets), str(THREADS)]
            processes.append(
                subprocess.Popen(
                    command,
                    cwd=REPO,
                    env=env,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    text=True,
                )
            )
        for process in processes:  # every job set up (interpreter, settings, budget store) before the clock starts
            assert process.stdout is not None
            process.stdout.readline()
        start_at = time.time() + 0.2
        ends = []
        failed = 0
        for process in processes:
            assert process.stdin is not None
            process.stdin.write(f"{start_at}\n")
            process.stdin.flush()
        for process in processes:
            out, _ = process.communicate(timeout=JOB_TIMEOUT)
            lines = out.strip().splitlines()
            if process.returncode != 0 or not lines:
                failed += 1
            if lines:
                ends.append(float(json.loads(lines[-1])["ended"]))
        codes = [entry["code"] for entry in emulator.admin.requests()]
        left = sum(1 for rules in emulator.admin.streams().values() if rules)
    return Cell(
        scope=scope,
        jobs=jobs,
        failed_jobs=failed,
        relays_left=left,
        calls=len(codes),
        rate_limited=sum(1 for code in codes if code in RATE_LIMITED_CODES),
        accepted=sum(1 for code in codes if code not in RATE_LIMITED_CODES),
        seconds=(max(ends) - start_at) if ends else 0.0,
    )


def run(quick: bool = False) -> None:
    grid = QUICK if quick else FULL
    rule_sets = int(grid["rule_sets"])  # type: ignore[call-overload]
    job_counts: tuple[int, ...] = grid["jobs"]  # type: ignore[assignment]
    header(
        "fleet",
        f"J provider-level jobs (separate processes, {THREADS} threads each) x {rule_sets} one-URL rule sets,"
        f" create then destroy (3 calls each), emulator at {LIMIT:g} calls/s",
    )
    cells: list[Cell] = []
    figure("| scope | jobs | failed jobs | relays left | rate-limited answers | throughput / limit |")
    with tempfile.TemporaryDirectory(prefix="zego-fleet-") as work, RedisServer() as redis:
        for scope in SCOPES:
            for jobs in job_counts:
                cell = run_cell(scope, jobs, rule_sets, redis.url, Path(work))
                cells.append(cell)
                figure(cell.row())  # one row per cell as it ends: the table, printed once
    top = max(job_counts)
    summary = {cell.scope: cell for cell in cells if cell.jobs == top}
    failed = sum(cell.failed_jobs for cell in cells)
    left = sum(cell.relays_left for cell in cells)
    shared_limited = max(summary["machine"].limited_share, summary["redis"].limited_share)
    print(
        f"fleet: J={top}: machine {summary['machine'].ratio:.2f}, redis {summary['redis'].ratio:.2f}, "
        f"process {summary['process'].ratio:.2f} of the limit; {failed} failed jobs, {left} relays left, "
        f"{shared_limited:.1%} rate-limited when shared",
        flush=True,
    )


if __name__ == "__main__":
    run_alone(run, __doc__)
