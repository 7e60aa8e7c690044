"""client_overhead: what ZegoClient adds to one HTTP call (signing, Sequence, parameters, parsing).

Sequential ClearCDNTransferRule calls with a ZegoClient (its limiter off) against the
emulator (its limit off), as a share of bare `requests.Session.get` calls in the same run.
The bare calls send one fixed, once-signed ClearCDNTransferRule URL, so the emulator does
the same work for both (gateway checks, signature, Sequence check: the repeated Sequence
gets a stale-Sequence answer). Rounds alternate which side goes first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

import requests

from zego_provider.client import CLEAR, ZegoClient
from zego_provider.config import ProviderConfig
from zego_provider.emulator import ZegoEmulator
from zego_provider.signing import new_nonce, sign

from .common import APP_ID, SECRET, figure, header, run_alone

FULL_CALLS = 2000
QUICK_CALLS = 200
ROUND = 100
"""Calls per side in one round; rounds alternate which side starts."""
WARM_UP = 20


def bare_url(endpoint: str, stream_id: str) -> str:
    """One signed ClearCDNTransferRule URL, built once and sent again and again."""
    nonce, stamp = new_nonce(), int(time.time())
    params = {
        "Action": CLEAR,
        "StreamId": stream_id,
        "Sequence": str(time.time_ns() // 1_000_000),
        "AppId": str(APP_ID),
        "SignatureNonce": nonce,
        "Timestamp": str(stamp),
        "Signature": sign(APP_ID, nonce, SECRET, stamp),
        "SignatureVersion": "2.0",
        "IsTest": "false",
    }
    return f"{endpoint}/?{urlencode(params)}"


def timed(calls: int, one: Callable[[], object]) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        one()
    return time.perf_counter() - started


def run(quick: bool = False) -> str:
    calls = QUICK_CALLS if quick else FULL_CALLS
    header(
        "client_overhead",
        f"{calls} sequential signed ZegoClient calls vs {calls} bare requests.Session.get, "
        f"alternating rounds of {ROUND}, emulator limit off",
    )
    with (
        ZegoEmulator(app_id=APP_ID, server_secret=SECRET, rate_limit=None) as emulator,
        ZegoClient(
            ProviderConfig.from_values(
                {"app_id": APP_ID, "server_secret": SECRET, "endpoint": emulator.url, "rate_limiter": "off"}
            )
        ) as client,
        requests.Session() as session,
    ):
        session.trust_env = False  # as the client does for a loopback endpoint: no proxy lookup per call
        url = bare_url(emulator.url, "overhead-bare")

        def signed() -> object:
            return client.clear_cdn_transfer_rule("overhead-signed")

        def bare() -> object:
            reply = session.get(url, timeout=10)
            reply.raise_for_status()
            return reply.content

        timed(WARM_UP, signed)
        timed(WARM_UP, bare)
        signed_seconds = bare_seconds = 0.0
        rounds = max(1, calls // ROUND)
        for index in range(rounds):
            if index % 2 == 0:
                signed_seconds += timed(ROUND, signed)
                bare_seconds += timed(ROUND, bare)
            else:
                bare_seconds += timed(ROUND, bare)
                signed_seconds += timed(ROUND, signed)
        codes = {entry["code"] for entry in emulator.admin.requests() if entry["params"].get("StreamId")}
    done = rounds * ROUND
    signed_rate, bare_rate = done / signed_seconds, done / bare_seconds
    figure(f"signed: {done} calls in {signed_seconds:.2f} s = {signed_rate:.0f} calls/s")
    figure(f"bare:   {done} calls in {bare_seconds:.2f} s = {bare_rate:.0f} calls/s")
    figure(
        f"per call: {1000 * signed_seconds / done:.3f} ms signed, {1000 * bare_seconds / done:.3f} ms bare, "
        f"{1000 * (signed_seconds - bare_seconds) / done:.3f} ms added by the client; answer codes seen {sorted(codes)}"
    )
    share = signed_rate / bare_rate
    figure(f"goal: >= 0.8: {'met' if share >= 0.8 else 'NOT met'}")
    line = f"client overhead: {share:.2f} (signed {signed_rate:.0f} calls/s vs bare {bare_rate:.0f} calls/s)"
    print(line, flush=True)
    return line


if __name__ == "__main__":
    run_alone(run, __doc__)
