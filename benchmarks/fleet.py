"""fleet: J pipeline jobs on one AppId at ZEGO's 10 calls/s, under both readings of the limit.

ZEGO says "10 calls/s per AppId", not how it counts. The emulator enforces either reading:
`sliding` (no more than 10 accepted calls in any one second of arrival times: the strictest)
or `bucket` (a token bucket of 10: the most lenient). Every cell runs under both, side by side.

Two kinds of job:
- provider-level (`benchmarks/fleet_job.py`): the provider class driven directly in its own
  process from THREADS threads, N one-URL rule sets created then destroyed. Cheap enough to
  run 8 at once on 2 cores; the same client, budget and retries as a pipeline.
- CLI-level: what pipelines run. Each job is a real `pulumi up`, then (a phase of its own)
  a real `pulumi destroy`, of its own stack of N CdnTransferRuleSets (benchmarks/pulumi_program.py,
  a file backend per job): the Pulumi CLI, the language host and the provider process per job.
  Needs the Pulumi CLI on PATH (scripts/ensure-pulumi); skipped, and said so, without it.

Jobs of the `machine` cells share one cache directory (one runner); jobs of the Redis cells
each have their own (separate runners) and one Redis URL (a real redis-server on a free
loopback port); `process` cells (provider-level only) share nothing and rely on the adaptive
rate alone.

Per cell and phase: failed jobs, relays left on the emulator, answers that refused a Sequence
(5005), rate-limited answers (share of all calls), and throughput: accepted calls per second
from the start of the phase (every job started at once) to the end of the last job, as a
share of the limit. CLI cells also say how long the engines took to start (start of the phase
to each job's first call: the mean, and the share of the phase before the first call of all).

Goals: every cell 0 failed jobs, 0 relays left, 0 refused Sequences. Sliding window, machine
and Redis, J=8 CLI destroy: <= 1% rate-limited and >= 0.85 of the limit end to end. Bucket,
J=8 provider-level: >= 0.98.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devkit.redis_server import RedisServer
from zego_provider.emulator import ZegoEmulator

from .common import APP_ID, REPO, SECRET, BenchStack, figure, header, pulumi_cli

LIMIT = 10.0
"""ZEGO's calls/s per AppId, enforced by the emulator and configured as zego:rateLimit."""
THREADS = 8
"""Parallel operations per provider-level job, as the Pulumi engine issues them."""
READINGS = ("sliding", "bucket")
PROVIDER_SCOPES = ("process", "machine", "redis")
CLI_SCOPES = ("machine", "redis")
FULL = {"provider_jobs": (1, 2, 4, 8), "provider_rule_sets": 10, "cli_jobs": (1, 4, 8), "cli_total": 160}
QUICK = {"provider_jobs": (3,), "provider_rule_sets": 3, "cli_jobs": (1,), "cli_total": 2}
"""The CLI cells' N is cli_total / J: the same work spread over more jobs."""
QUICK_CLI_CELLS = (("machine", "sliding"),)
"""The quick run's CLI cells (each costs engine start-ups): one, to run the code path."""
RATE_LIMITED_CODES = frozenset({5007, 30002, 7})
SEQUENCE_REFUSED = 5005
JOB_TIMEOUT = 900.0


@dataclass
class Cell:
    level: str
    reading: str
    scope: str
    jobs: int
    rule_sets: int
    phase: str
    failed_jobs: int
    relays_left: int
    sequence_refused: int
    calls: int
    rate_limited: int
    accepted: int
    seconds: float
    startup: float | None = None
    """Mean seconds from the start of the phase to each job's first call (CLI cells)."""
    before_first_call: float | None = None
    """Seconds from the start of the phase to the first call of any job (CLI cells)."""

    @property
    def ratio(self) -> float:
        return self.accepted / self.seconds / LIMIT if self.seconds > 0 else 0.0

    @property
    def limited_share(self) -> float:
        return self.rate_limited / self.calls if self.calls else 0.0

    @property
    def startup_share(self) -> float | None:
        if self.before_first_call is None or self.seconds <= 0:
            return None
        return self.before_first_call / self.seconds

    def row(self) -> str:
        startup = (
            "-"
            if self.startup is None or self.startup_share is None
            else f"{self.startup:.1f} s ({self.startup_share:.0%} before the first call)"
        )
        return (
            f"| {self.level} | {self.reading} | {self.scope} | {self.jobs} x {self.rule_sets} | {self.phase} | "
            f"{self.failed_jobs} | {self.relays_left} | {self.sequence_refused} | "
            f"{self.rate_limited} ({self.limited_share:.1%}) | {self.ratio:.2f} | {startup} |"
        )


HEADER = (
    "| level | reading | scope | J x N | phase | failed jobs | relays left | refused Sequences | "
    "rate-limited answers | throughput / limit | engine start-up (mean) |"
)


def tally(
    emulator: ZegoEmulator, since: float, prefixes: dict[str, int]
) -> tuple[list[dict[str, Any]], dict[int, float]]:
    """The requests logged since `since`, and each job's first call time (by its streams' prefix)."""
    entries = [entry for entry in emulator.admin.requests() if float(entry["time"]) >= since]
    first: dict[int, float] = {}
    for entry in entries:
        stream = str(entry.get("params", {}).get("StreamId", ""))
        for prefix, job in prefixes.items():
            if stream.startswith(prefix):
                first[job] = min(first.get(job, float("inf")), float(entry["time"]))
    return entries, first


def counts(entries: list[dict[str, Any]]) -> dict[str, int]:
    codes = [int(entry["code"]) for entry in entries]
    return {
        "calls": len(codes),
        "rate_limited": sum(1 for code in codes if code in RATE_LIMITED_CODES),
        "accepted": sum(1 for code in codes if code not in RATE_LIMITED_CODES),
        "sequence_refused": codes.count(SEQUENCE_REFUSED),
    }


def relays_left(emulator: ZegoEmulator) -> int:
    return sum(len(rules) for rules in emulator.admin.streams().values())


# --- provider-level jobs ------------------------------------------------------------


def provider_cell(reading: str, scope: str, jobs: int, rule_sets: int, redis_url: str, work: Path) -> Cell:
    with ZegoEmulator(app_id=APP_ID, server_secret=SECRET, rate_limit=LIMIT, rate_window=reading) as emulator:  # type: ignore[arg-type]
        processes = []
        for number in range(jobs):
            cache = work / "provider" / reading / scope / str(jobs) / (str(number) if scope == "redis" else "shared")
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
        entries, _ = tally(emulator, 0.0, {})
        left = relays_left(emulator)
    return Cell(
        level="provider",
        reading=reading,
        scope=scope,
        jobs=jobs,
        rule_sets=rule_sets,
        phase="up+destroy",
        failed_jobs=failed,
        relays_left=left,
        seconds=(max(ends) - start_at) if ends else 0.0,
        **counts(entries),
    )


# --- CLI-level jobs -----------------------------------------------------------------


@contextlib.contextmanager
def cli_stacks(
    reading: str, scope: str, jobs: int, rule_sets: int, endpoint: str, redis_url: str, work: Path
) -> Iterator[list[BenchStack]]:
    """J stacks of N rule sets each (set up before any clock starts), removed afterwards."""
    base = Path(tempfile.mkdtemp(prefix=f"zego-fleet-cli-{reading}-{scope}-{jobs}-", dir=work))
    stacks = []
    for number in range(jobs):
        cache = base / "cache" / (str(number) if scope == "redis" else "shared")
        stacks.append(
            BenchStack(
                base / f"job-{number}",
                kind="rulesets",
                count=rule_sets,
                endpoint=endpoint,
                rate_limit=LIMIT,
                config={"prefix": f"j{number}", "zego:rateLimiter": redis_url if scope == "redis" else scope},
                env={"XDG_CACHE_HOME": str(cache)},
            )
        )
    yield stacks


def cli_phase(
    emulator: ZegoEmulator, stacks: list[BenchStack], verb: str, reading: str, scope: str, rule_sets: int
) -> Cell:
    """Every job's `pulumi VERB` started at once; timed to the end of the last."""
    started = time.time()
    processes = [stack.start(verb, "--yes", "--skip-preview") for stack in stacks]
    failed = 0
    for stack, process in zip(stacks, processes, strict=True):
        try:
            code = process.wait(timeout=JOB_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait(timeout=30)
        if code != 0:
            failed += 1
            figure(f"{verb} of {stack.work.name} failed (exit {code}): {stack.output()[-400:]!r}")
    ended = time.time()
    entries, first = tally(emulator, started, {f"j{number}-": number for number in range(len(stacks))})
    startups = [when - started for when in first.values()]
    return Cell(
        level="cli",
        reading=reading,
        scope=scope,
        jobs=len(stacks),
        rule_sets=rule_sets,
        phase=verb,
        failed_jobs=failed,
        relays_left=relays_left(emulator) if verb == "destroy" else 0,
        seconds=ended - started,
        startup=sum(startups) / len(startups) if startups else None,
        before_first_call=min(startups) if startups else None,
        **counts(entries),
    )


def cli_cells(reading: str, scope: str, jobs: int, total: int, redis_url: str, work: Path) -> list[Cell]:
    rule_sets = max(1, total // jobs)
    with (
        ZegoEmulator(app_id=APP_ID, server_secret=SECRET, rate_limit=LIMIT, rate_window=reading) as emulator,  # type: ignore[arg-type]
        cli_stacks(reading, scope, jobs, rule_sets, emulator.url, redis_url, work) as stacks,
    ):
        up = cli_phase(emulator, stacks, "up", reading, scope, rule_sets)
        created = relays_left(emulator)
        if created != jobs * rule_sets:
            figure(f"up created {created} relays of {jobs * rule_sets}")
        destroy = cli_phase(emulator, stacks, "destroy", reading, scope, rule_sets)
    return [up, destroy]


# --- the table ----------------------------------------------------------------------


def run(quick: bool = False, only_jobs: Sequence[int] = ()) -> str:
    grid = QUICK if quick else FULL
    provider_jobs = tuple(j for j in grid["provider_jobs"] if not only_jobs or j in only_jobs)  # type: ignore[attr-defined]
    cli_jobs = tuple(j for j in grid["cli_jobs"] if not only_jobs or j in only_jobs)  # type: ignore[attr-defined]
    provider_rule_sets = int(grid["provider_rule_sets"])  # type: ignore[call-overload]
    cli_total = int(grid["cli_total"])  # type: ignore[call-overload]
    cli = pulumi_cli()
    header(
        "fleet",
        f"J jobs on one AppId, emulator at {LIMIT:g} calls/s read as a sliding window and as a token bucket: "
        f"provider-level jobs ({THREADS} threads, {provider_rule_sets} rule sets each, create then destroy) and "
        f"CLI-level jobs (`pulumi up`, then `pulumi destroy`, of {cli_total} rule sets spread over the J stacks)",
    )
    cells: list[Cell] = []
    figure("| scope | jobs | failed jobs | relays left | rate-limited answers | throughput / limit |")
    with tempfile.TemporaryDirectory(prefix="zego-fleet-") as work, RedisServer() as redis:
        for reading in READINGS:
            for scope in PROVIDER_SCOPES:
                for jobs in provider_jobs:
                    cells.append(provider_cell(reading, scope, jobs, provider_rule_sets, redis.url, Path(work)))
            if cli is None:
                continue
            for scope in CLI_SCOPES:
                if quick and (scope, reading) not in QUICK_CLI_CELLS:
                    continue
                for jobs in cli_jobs:
                    cells.extend(cli_cells(reading, scope, jobs, cli_total, redis.url, Path(work)))
    if cli is None:
        figure("CLI-level cells skipped: no Pulumi CLI on PATH (put the output of scripts/ensure-pulumi first on PATH)")
    figure(HEADER)
    for cell in cells:
        figure(cell.row())
    return summarize(cells, cli is not None)


def summarize(cells: list[Cell], with_cli: bool) -> str:
    def pick(level: str, reading: str, scope: str, phase: str) -> Cell | None:
        matching = [c for c in cells if (c.level, c.reading, c.scope, c.phase) == (level, reading, scope, phase)]
        return max(matching, key=lambda c: c.jobs) if matching else None

    def share(cell: Cell | None) -> str:
        return "-" if cell is None else f"{cell.ratio:.2f}"

    failed = sum(c.failed_jobs for c in cells)
    left = sum(c.relays_left for c in cells)
    refused = sum(c.sequence_refused for c in cells)
    shared = [c for c in cells if c.scope != "process" and c.reading == "sliding"]
    limited = max((c.limited_share for c in shared), default=0.0)
    top = max(c.jobs for c in cells if c.level == "provider")
    parts = []
    for reading in READINGS:
        provider = ", ".join(f"{s} {share(pick('provider', reading, s, 'up+destroy'))}" for s in PROVIDER_SCOPES)
        text = f"{reading}: provider J={top} {provider}"
        destroys = [pick("cli", reading, s, "destroy") for s in CLI_SCOPES]
        if any(destroys):
            cli = ", ".join(
                f"{s} {share(c)} (start-up {c.startup_share:.0%})"
                for s, c in zip(CLI_SCOPES, destroys, strict=True)
                if c is not None and c.startup_share is not None
            )
            jobs = max(c.jobs for c in destroys if c is not None)
            text += f"; cli destroy J={jobs} {cli}"
        parts.append(text)
    line = (
        f"fleet: {'; '.join(parts)}{'' if with_cli else '; cli skipped'}; {failed} failed jobs, {left} relays left, "
        f"{refused} refused Sequences, {limited:.1%} rate-limited at most when shared (sliding)"
    )
    print(line, flush=True)
    return line


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a small run that only checks it works")
    parser.add_argument("--jobs", type=int, action="append", default=[], help="only these J (repeatable)")
    args = parser.parse_args(argv)
    run(args.quick, args.jobs)


if __name__ == "__main__":
    main()
