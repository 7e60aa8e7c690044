"""Several OS processes on one AppId share one budget and one per-stream order: on a machine, and through Redis.

Each worker is a real process (`tests/integration/fleet_worker.py`). Workers given one
cache directory stand for jobs on one runner (`machine`); workers given separate cache
directories and one Redis URL stand for runners on separate machines. The emulator counts
what arrives: a rate-limited answer (5007) or a crossed Sequence (5005) shows at once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.redis_server import RedisServer, free_port
from tests.support.settings_env import clear_settings, without_settings
from zego_provider import ZegoConfigError
from zego_provider.client import ZegoClient
from zego_provider.emulator import ZegoEmulator
from zego_provider.provider import CdnTransferRuleSetProvider

REPO = Path(__file__).resolve().parents[2]
APP_ID = 1234567890
SECRET = "emulator-test-secret-0f1e2d3c4b5a"  # made up
REDIS_PASSWORD = "made-up-redis-password-7f3e"  # made up; only the test's own redis-server knows it


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer(password=REDIS_PASSWORD) as server:
        yield server


def run_workers(
    emulator: ZegoEmulator, scopes: list[tuple[str, Path]], stream: Callable[[int], str], count: int, **env: str
) -> list[dict[str, object]]:
    """One worker per (ZEGO_RATE_LIMITER, cache directory); all start calling at the same instant."""
    start_at = time.time() + 3.0  # after every interpreter has started
    workers = []
    for number, (scope, cache) in enumerate(scopes):
        worker_env = {
            **without_settings(os.environ),
            "ZEGO_APP_ID": str(APP_ID),
            "ZEGO_SERVER_SECRET": SECRET,
            "ZEGO_API_ENDPOINT": emulator.url,
            "ZEGO_RATE_LIMITER": scope,
            "XDG_CACHE_HOME": str(cache),
            **env,
        }
        command = [sys.executable, "-m", "tests.integration.fleet_worker", stream(number), str(count), str(start_at)]
        workers.append(subprocess.Popen(command, cwd=REPO, env=worker_env, stdout=subprocess.PIPE, text=True))
    results = []
    for worker in workers:
        out, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def codes(emulator: ZegoEmulator) -> list[int]:
    return [int(entry["code"]) for entry in emulator.admin.requests()]


@pytest.mark.timeout(180)
def test_four_processes_on_one_machine_never_exceed_the_limit(tmp_path: Path) -> None:
    with ZegoEmulator(app_id=APP_ID, server_secret=SECRET, rate_limit=10) as emulator:
        results = run_workers(emulator, [("machine", tmp_path)] * 4, lambda n: f"machine-{n}", 20)
        answered = codes(emulator)

    assert [result["ok"] for result in results] == [20] * 4
    assert len(answered) == 80 and answered.count(5007) == 0


@pytest.mark.timeout(180)
def test_four_processes_on_four_machines_sharing_redis_never_exceed_the_limit(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    machines = [(redis_server.url, tmp_path / f"machine-{n}") for n in range(4)]
    with ZegoEmulator(app_id=APP_ID, server_secret=SECRET, rate_limit=10) as emulator:
        results = run_workers(emulator, machines, lambda n: f"redis-{n}", 20)
        answered = codes(emulator)

    assert [result["ok"] for result in results] == [20] * 4
    assert len(answered) == 80 and answered.count(5007) == 0


@pytest.mark.timeout(180)
def test_processes_that_share_nothing_still_finish_by_adapting_their_rate(tmp_path: Path) -> None:
    scopes = [("process", tmp_path / f"job-{n}") for n in range(4)]
    with ZegoEmulator(app_id=APP_ID, server_secret=SECRET, rate_limit=10) as emulator:
        results = run_workers(emulator, scopes, lambda n: f"alone-{n}", 20)
        answered = codes(emulator)

    assert [result["errors"] for result in results] == [[]] * 4
    assert answered.count(0) == 80
    assert answered.count(5007) > 0  # 4 x 10/s offered against 10/s: they did collide, and recovered


@pytest.mark.timeout(180)
@pytest.mark.parametrize("scope", ["machine", "redis"])
def test_two_processes_calling_one_stream_never_cross_sequences(
    scope: str, tmp_path: Path, redis_server: RedisServer
) -> None:
    if scope == "machine":
        scopes = [("machine", tmp_path)] * 2
    else:
        scopes = [(redis_server.url, tmp_path / "a"), (redis_server.url, tmp_path / "b")]
    with ZegoEmulator(app_id=APP_ID, server_secret=SECRET, rate_limit=None) as emulator:
        results = run_workers(emulator, scopes, lambda _: "one-stream!", 40, ZEGO_RATE_LIMIT="200")
        answered = codes(emulator)

    assert [result["errors"] for result in results] == [[], []]
    assert answered == [0] * 80  # no 5005: every Sequence arrived above the last one


def test_redis_down_is_a_config_error_naming_setting_and_host_within_seconds() -> None:
    port = free_port()  # nothing listens there
    started = time.monotonic()
    with pytest.raises(ZegoConfigError) as raised:
        ZegoClient(APP_ID, SECRET, rate_limiter=f"redis://:{REDIS_PASSWORD}@127.0.0.1:{port}/0")
    assert time.monotonic() - started < 10
    message = str(raised.value)
    assert "zego:rateLimiter" in message and f"127.0.0.1:{port}" in message
    assert REDIS_PASSWORD not in message


def test_a_wrong_redis_password_is_a_config_error_that_never_prints_it(redis_server: RedisServer) -> None:
    wrong = "not-the-made-up-password"
    with pytest.raises(ZegoConfigError) as raised:
        ZegoClient(APP_ID, SECRET, rate_limiter=f"redis://:{wrong}@127.0.0.1:{redis_server.port}/0")
    message = str(raised.value) + repr(raised.value)
    assert "zego:rateLimiter" in message and f"127.0.0.1:{redis_server.port}" in message
    assert wrong not in message and REDIS_PASSWORD not in message


def test_the_redis_password_never_shows_in_a_clients_repr_or_config(redis_server: RedisServer) -> None:
    with ZegoClient(APP_ID, SECRET, endpoint="http://127.0.0.1:9", rate_limiter=redis_server.url) as client:
        shown = repr(client) + repr(client.config) + str(client.config) + repr(client._budget)
    assert REDIS_PASSWORD not in shown and "***" in repr(client)


def test_with_redis_down_the_provider_creates_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_settings(monkeypatch)
    with ZegoEmulator(app_id=APP_ID, server_secret=SECRET, rate_limit=None) as emulator:
        for name, value in {
            "ZEGO_APP_ID": str(APP_ID),
            "ZEGO_SERVER_SECRET": SECRET,
            "ZEGO_API_ENDPOINT": emulator.url,
            "ZEGO_RATE_LIMITER": f"redis://127.0.0.1:{free_port()}/0",
        }.items():
            monkeypatch.setenv(name, value)
        provider = CdnTransferRuleSetProvider()
        with pytest.raises(ZegoConfigError, match="zego:rateLimiter"):
            provider.create({"stream_id": "down", "cdn_urls": ["rtmp://cdn.example.com/live/a"]})
        assert emulator.admin.requests() == []
