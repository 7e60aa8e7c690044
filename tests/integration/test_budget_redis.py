"""The Redis store's Lua scripts, against a real redis-server: the per-stream lock and Sequence a fleet shares."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from devkit.redis_server import RedisServer
from zego_provider.budget.names import redis_prefix
from zego_provider.budget.process import ProcessStore
from zego_provider.budget.redis_store import RedisStore, redis_client

KEY = "1234567890-production"


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


def test_a_stream_lock_is_released_only_by_its_holder(redis_server: RedisServer) -> None:
    store = RedisStore(redis_server.url, KEY, ProcessStore())
    shared = redis_client(redis_server.url)
    lock = f"{redis_prefix(KEY)}:lock:s"
    with store.ordered("s", hold=0.2):
        time.sleep(0.5)  # this holder outlived its hold: the lock expired, and another runner took it
        assert shared.set(lock, "another-runner", nx=True, px=10_000)
    assert shared.get(lock) == b"another-runner"  # the late release left the other holder's lock alone


def test_the_sequence_goes_on_from_the_last_value_when_it_is_ahead_of_the_clock(redis_server: RedisServer) -> None:
    store = RedisStore(redis_server.url, KEY, ProcessStore())
    ahead = time.time_ns() // 1_000_000 + 3_600_000  # a runner whose clock is an hour ahead sent this one
    redis_client(redis_server.url).set(f"{redis_prefix(KEY)}:seq:s", ahead)
    with store.ordered("s", hold=5.0) as value:
        assert value == ahead + 1
