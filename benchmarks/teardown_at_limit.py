"""teardown_at_limit: destroying many rule sets through the provider process, at the AppId's rate limit.

The emulator enforces ZEGO's own rate limit, LIMIT calls/s (not scaled up: at 100/s a 2-core
host shared with other work measures how fast it can wake threads, not the budget), read as a
sliding window (no more than LIMIT accepted calls in any one second: the strictest
reading) and, in a second run side by side, as a token bucket; the provider is configured with
the same `zego:rateLimit`. Deletes go to the real
`python -m pulumi.dynamic` process over gRPC from THREADS threads at once, as the engine
issues them. Each rule set has one URL, so its delete is two calls (Delete, then Clear).

Figure of merit: successful calls per second (answered with code 0) as a share of the limit,
and failed operations. Beside it, the naive way, measured in the same quantity: the same calls
from THREADS threads with the client's limiter off, counting what the server refused (5007),
what needed retries and what failed. Attempted calls/s (refusals included) are printed for
both sides too, but never compared with successful ones.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

import grpc

from devkit.provider_process import ProviderProcess
from devkit.settings_env import unset_settings
from zego_provider.client import CLEAR, DELETE, ZegoClient
from zego_provider.config import ProviderConfig
from zego_provider.emulator import EmulatorAdmin, ZegoEmulator

from .common import APP_ID, SECRET, figure, header, run_alone

LIMIT = 10.0
"""calls/s enforced by the emulator and configured as zego:rateLimit: ZEGO's 10/s."""
THREADS = 16
"""Concurrent Delete calls, as the engine's parallel resource operations."""
FULL_COUNT = 300
QUICK_COUNT = 20
RATE_LIMITED_CODES = frozenset({5007, 30002, 7})
READINGS = ("sliding", "bucket")
PHASE_TIMEOUT = 300.0
"""No phase may run longer than this (seconds); every call also has its own timeout."""


def cdn_url(stream_id: str) -> str:
    return f"rtmp://push.example-cdn.net/live/{stream_id}?token=bench"


@dataclass
class Phase:
    """What one teardown run did, from the caller's side and from the emulator's request log."""

    name: str
    operations: int
    failed: int
    seconds: float
    calls: int
    answered_ok: int
    rate_limited: int
    retried_operations: int
    server_span: float
    rules_left: int

    @property
    def calls_per_second(self) -> float:
        return self.calls / self.seconds if self.seconds > 0 else 0.0

    @property
    def ok_per_second(self) -> float:
        return self.answered_ok / self.seconds if self.seconds > 0 else 0.0

    def describe(self) -> list[str]:
        server_rate = (self.calls - 1) / self.server_span if self.server_span > 0 and self.calls > 1 else 0.0
        return [
            f"{self.name}: {self.operations} rule sets in {self.seconds:.2f} s, {self.failed} failed, "
            f"{self.rules_left} rules left on the server",
            f"{self.name}: {self.calls} calls answered ({self.answered_ok} ok, {self.rate_limited} rate-limited), "
            f"{self.ok_per_second:.1f} successful calls/s, {self.calls_per_second:.1f} calls/s attempted "
            f"(server saw {server_rate:.1f} calls/s first to last); {self.retried_operations} rule sets needed a retry",
        ]


def seed(emulator: ZegoEmulator, streams: list[str], reading: str) -> None:
    """Create one rule per stream with every limit off (not timed), then switch the emulator's limit on."""
    admin = emulator.admin
    admin.reset()
    admin.configure(rate_limit=None)
    with (
        ZegoClient(
            ProviderConfig.from_values(
                {"app_id": APP_ID, "server_secret": SECRET, "endpoint": emulator.url, "rate_limiter": "off"}
            )
        ) as client,
        ThreadPoolExecutor(8) as pool,
    ):
        list(pool.map(lambda stream: client.create_cdn_transfer_rule(stream, cdn_url(stream)), streams))
    if sum(len(rules) for rules in admin.streams().values()) != len(streams):
        raise RuntimeError("seeding the emulator did not create one rule per stream")
    admin.configure(rate_limit=LIMIT, rate_window=reading)  # a new limit starts afresh


def run_parallel(streams: list[str], teardown: Callable[[str], None]) -> tuple[float, int, list[str]]:
    """Tear every stream down from THREADS threads; returns seconds, failures and a few failure texts."""
    failures: list[str] = []
    started = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(teardown, stream) for stream in streams]
        for future in as_completed(futures, timeout=PHASE_TIMEOUT):
            error = future.exception()
            if error is not None:
                failures.append(_one_line(error))
    return time.perf_counter() - started, len(failures), failures[:3]


def tally(name: str, admin: EmulatorAdmin, operations: int, seconds: float, failed: int) -> Phase:
    entries = [entry for entry in admin.requests() if entry.get("action") in (DELETE, CLEAR)]
    limited = [entry for entry in entries if entry.get("code") in RATE_LIMITED_CODES]
    times = [float(entry["time"]) for entry in entries]
    return Phase(
        name=name,
        operations=operations,
        failed=failed,
        seconds=seconds,
        calls=len(entries),
        answered_ok=sum(1 for entry in entries if entry.get("code") == 0),
        rate_limited=len(limited),
        retried_operations=len({entry["params"].get("StreamId") for entry in limited}),
        server_span=max(times) - min(times) if times else 0.0,
        rules_left=sum(len(rules) for rules in admin.streams().values()),
    )


def through_provider(emulator: ZegoEmulator, streams: list[str], reading: str) -> tuple[Phase, list[str], int]:
    """Deletes over gRPC to the provider process, which spaces its calls at zego:rateLimit."""
    process = ProviderProcess(env=unset_settings())
    try:
        process.configure(
            {
                "zego:appId": str(APP_ID),
                "zego:serverSecret": SECRET,
                "zego:endpoint": emulator.url,
                "zego:rateLimit": f"{LIMIT:g}",
            }
        )
        process.check("warm-up", {"stream_id": "warm-up", "cdn_urls": []})  # loads the provider; no ZEGO call
        seed(emulator, streams, reading)

        def delete(stream: str) -> None:
            props: dict[str, Any] = {"stream_id": stream, "cdn_urls": [cdn_url(stream)], "stop_relays_on_delete": True}
            try:
                process.delete(stream, f"{APP_ID}:{stream}", props)
            except grpc.RpcError as error:
                raise RuntimeError(f"gRPC {error.code()}: {_one_line(error.details() or '')}") from None

        seconds, failed, samples = run_parallel(streams, delete)
        phase = tally(f"provider ({reading})", emulator.admin, len(streams), seconds, failed)
    finally:
        stderr = process.close()
    return phase, samples, len(stderr.splitlines())


def naive(emulator: ZegoEmulator, streams: list[str]) -> tuple[Phase, list[str]]:
    """The same calls as fast as THREADS threads can send them, the client's limiter off (its retries on),
    against the sliding window."""
    seed(emulator, streams, "sliding")
    quiet = logging.NullHandler()  # its retry warnings are counted from the emulator's log instead
    logging.getLogger("zego_provider").addHandler(quiet)
    try:
        with ZegoClient(
            ProviderConfig.from_values(
                {"app_id": APP_ID, "server_secret": SECRET, "endpoint": emulator.url, "rate_limiter": "off"}
            )
        ) as client:

            def delete(stream: str) -> None:  # what the provider's delete does for a one-URL rule set
                client.delete_cdn_transfer_rule(stream, cdn_url(stream))
                client.clear_cdn_transfer_rule(stream)

            seconds, failed, samples = run_parallel(streams, delete)
    finally:
        logging.getLogger("zego_provider").removeHandler(quiet)
    return tally("naive", emulator.admin, len(streams), seconds, failed), samples


def _one_line(error: BaseException | str) -> str:
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    lines = [line for line in str(text).splitlines() if line.strip()]
    return (lines[-1] if lines else str(text))[:200]


def run(quick: bool = False) -> str:
    count = QUICK_COUNT if quick else FULL_COUNT
    header(
        "teardown_at_limit",
        f"delete {count} one-URL rule sets ({2 * count} calls) through the provider process, "
        f"{THREADS} parallel Deletes, emulator limit and zego:rateLimit {LIMIT:g}/s",
    )
    streams = [f"teardown-{index:04d}" for index in range(count)]
    phases: dict[str, Phase] = {}
    with ZegoEmulator(app_id=APP_ID, server_secret=SECRET, rate_limit=None) as emulator:
        for reading in READINGS:
            phase, samples, stderr_lines = through_provider(emulator, streams, reading)
            phases[reading] = phase
            for line in phase.describe():
                figure(line)
            if stderr_lines:
                figure(f"provider process ({reading}) wrote {stderr_lines} line(s) on stderr")
            for sample in samples:
                figure(f"provider failure ({reading}): {sample}")
        baseline, naive_samples = naive(emulator, streams)
    for line in baseline.describe():
        figure(line)
    for sample in naive_samples:
        figure(f"naive failure: {sample}")
    sliding, bucket = phases["sliding"], phases["bucket"]
    shares = {reading: phase.ok_per_second / LIMIT for reading, phase in phases.items()}
    met = shares["sliding"] >= 0.95 and shares["bucket"] >= 0.9 and sliding.failed == bucket.failed == 0
    figure(f"goal: sliding >= 0.95 and bucket >= 0.9 of the limit, 0 failed: {'met' if met else 'NOT met'}")
    line = (
        f"teardown: sliding {shares['sliding']:.2f}, bucket {shares['bucket']:.2f} of the rate limit in successful "
        f"calls/s, {sliding.failed + bucket.failed} failed, {sliding.rate_limited} rate-limited answers (sliding) "
        f"(naive: {baseline.ok_per_second / LIMIT:.2f} of the limit in successful calls/s, "
        f"{baseline.rate_limited} rate-limited answers, {baseline.retried_operations} rule sets retried, "
        f"{baseline.failed} failed)"
    )
    print(line, flush=True)
    return line


if __name__ == "__main__":
    run_alone(run, __doc__)
