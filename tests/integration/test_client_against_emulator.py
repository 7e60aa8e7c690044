"""The client under concurrency, skew and shared limits, against the emulator over HTTP."""

from __future__ import annotations

import threading
import time

import pytest

from tests.support.settings import config_of
from zego_provider import ZegoAuthenticationError, ZegoClient
from zego_provider.budget import open_budget
from zego_provider.emulator import ZegoEmulator
from zego_provider.errors import meaning_of

from .conftest import APP_ID, SERVER_SECRET


def test_concurrent_calls_on_one_stream_reach_the_server_in_sequence_order(emulator: ZegoEmulator) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(worker: int) -> None:
        try:
            with ZegoClient(config_of(APP_ID, SERVER_SECRET, endpoint=emulator.url, rate_limiter="off")) as client:
                start.wait(timeout=10)
                for index in range(5):
                    client.create_cdn_transfer_rule("one-stream", f"rtmp://cdn.example.com/live/{worker}-{index}")
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(emulator.admin.stream("one-stream")) == 40
    sequences = [int(entry["params"]["Sequence"]) for entry in emulator.admin.requests()]
    assert sequences == sorted(sequences) and len(set(sequences)) == 40


def test_a_clock_skewed_by_eleven_minutes_is_refused_as_expired(emulator: ZegoEmulator) -> None:
    skewed = ZegoClient(
        config_of(APP_ID, SERVER_SECRET, endpoint=emulator.url, rate_limiter="off"), clock=lambda: time.time() - 660
    )
    with skewed, pytest.raises(ZegoAuthenticationError) as caught:
        skewed.clear_cdn_transfer_rule("s")
    assert caught.value.code == 100000004
    assert "clock" in str(caught.value)


def test_the_strictest_rate_asked_for_an_app_wins() -> None:
    budget = open_budget("process", 555000111, 10)
    assert budget.adaptive is not None
    assert open_budget("process", 555000111, 4) is budget and budget.adaptive.rate == 4
    assert budget.adaptive.ceiling == 4
    assert open_budget("process", 555000111, 10) is budget and budget.adaptive.ceiling == 4


def test_success_has_a_meaning_too() -> None:
    assert meaning_of(0) == "ok"
