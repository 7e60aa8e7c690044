"""Live acceptance tests (Terraform's TF_ACC discipline): real ZEGO, test environment only.

They run only with ZEGO_ACC=1 and test-environment credentials in ZEGO_APP_ID and
ZEGO_SERVER_SECRET; otherwise every test is skipped with the reason shown in pytest's
summary, so a run without credentials reports them as not run, never as passed.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from zego_provider import ZegoClient
from zego_provider.models import stream_prefix_for_test_env

NOT_RUN = (
    "live acceptance tests not run: set ZEGO_ACC=1 and test-environment credentials "
    "ZEGO_APP_ID and ZEGO_SERVER_SECRET to run them against ZEGO's test environment"
)


def live_enabled() -> bool:
    return (
        os.environ.get("ZEGO_ACC") == "1"
        and bool(os.environ.get("ZEGO_APP_ID"))
        and bool(os.environ.get("ZEGO_SERVER_SECRET"))
    )


HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip the tests of this folder, found by location: pytest calls this hook with every
    collected item of the session, and a clone may sit anywhere, under any folder name."""
    if live_enabled():
        return
    for item in items:
        if item.path.resolve().is_relative_to(HERE):
            item.add_marker(pytest.mark.skip(reason=NOT_RUN))


@pytest.fixture
def live_client() -> Iterator[ZegoClient]:
    """A client of the real service, always in its test environment, at its 5 calls/s."""
    env = {**os.environ, "ZEGO_IS_TEST": "true"}
    env.pop("ZEGO_RATE_LIMIT", None)
    with ZegoClient.from_env(env) as client:
        assert client.is_test
        yield client


@pytest.fixture
def live_stream(live_client: ZegoClient) -> Iterator[str]:
    """A fresh test-environment stream id; cleared afterwards whatever happened."""
    stream_id = f"{stream_prefix_for_test_env(live_client.app_id)}acc-{secrets.token_hex(4)}"
    yield stream_id
    live_client.clear_cdn_transfer_rule(stream_id)
