"""Fixtures for tests that talk HTTP to a local ZEGO emulator on loopback.

`emulator` is a fresh emulator per test, its rate limit off (the tests that need one
build their own with `make_emulator`); `client` is a ZegoClient against it, its own
limiter off too. `zego` sends hand-built, signed requests, for the cases a correct client
never produces (a wrong signature, a missing nonce, a stale timestamp...).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from tests.support.settings import config_of
from zego_provider.client import ZegoClient
from zego_provider.emulator import EmulatorAdmin, ZegoEmulator
from zego_provider.signing import new_nonce, sign

APP_ID = 1234567890
SERVER_SECRET = "emulator-test-secret-0f1e2d3c4b5a"  # made up; never a real credential

CREATE = "CreatCDNTransferRule"
DELETE = "DeleteCDNTransferRule"
CLEAR = "ClearCDNTransferRule"


class FakeClock:
    """Unix seconds that move only when a test says so; starts at the real time so signatures stay fresh."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


_sequences = itertools.count(int(time.time() * 1000))


@dataclass
class RawZego:
    """Builds and sends ZEGO requests by hand, so a test can tamper with any parameter."""

    url: str
    app_id: int = APP_ID
    server_secret: str = SERVER_SECRET
    session: requests.Session = field(default_factory=requests.Session)

    def params(self, action: str | None, *, timestamp: int | None = None, **extra: Any) -> dict[str, str]:
        """Signed public parameters, Action, a fresh Sequence, and `extra` (None removes a key)."""
        nonce = new_nonce()
        stamp = int(time.time()) if timestamp is None else timestamp
        params: dict[str, str] = {
            "AppId": str(self.app_id),
            "SignatureNonce": nonce,
            "Timestamp": str(stamp),
            "Signature": sign(self.app_id, nonce, self.server_secret, stamp),
            "SignatureVersion": "2.0",
            "Sequence": str(next(_sequences)),
        }
        if action is not None:
            params["Action"] = action
        for name, value in extra.items():
            if value is None:
                params.pop(name, None)
            else:
                params[name] = str(value)
        return params

    def send(self, params: dict[str, str]) -> requests.Response:
        return self.session.get(self.url + "/", params=params, timeout=10)

    def call(self, action: str | None, **extra: Any) -> dict[str, Any]:
        """Send and return the ZEGO JSON reply."""
        reply = self.send(self.params(action, **extra))
        assert reply.status_code == 200, reply.text
        document: dict[str, Any] = reply.json()
        return document

    def code(self, action: str | None, **extra: Any) -> int:
        return int(self.call(action, **extra)["Code"])


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., ZegoEmulator]]:
    """Start emulators with any options (defaults: the test AppId and secret); all stop at teardown."""
    started: list[ZegoEmulator] = []

    def make(**options: Any) -> ZegoEmulator:
        options.setdefault("app_id", APP_ID)
        options.setdefault("server_secret", SERVER_SECRET)
        emulator = ZegoEmulator(**options).start()
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        emulator.stop()


@pytest.fixture
def emulator(make_emulator: Callable[..., ZegoEmulator]) -> ZegoEmulator:
    """A started emulator for APP_ID/SERVER_SECRET, rate limit off."""
    return make_emulator(rate_limit=None)


@pytest.fixture
def admin(emulator: ZegoEmulator) -> EmulatorAdmin:
    return emulator.admin


@pytest.fixture
def client(emulator: ZegoEmulator) -> Iterator[ZegoClient]:
    """A ZegoClient against `emulator`, its own limiter off."""
    with ZegoClient(config_of(APP_ID, SERVER_SECRET, endpoint=emulator.url, rate_limiter="off")) as zego_client:
        yield zego_client


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def raw_for() -> Iterator[Callable[..., RawZego]]:
    """`raw_for(emulator, app_id=..., server_secret=...)`: a hand-built request sender for any emulator."""
    made: list[RawZego] = []

    def make(target: ZegoEmulator, **options: Any) -> RawZego:
        raw = RawZego(target.url, **options)
        raw.session.trust_env = False  # loopback only, never through a proxy
        made.append(raw)
        return raw

    yield make
    for raw in made:
        raw.session.close()


@pytest.fixture
def zego(emulator: ZegoEmulator, raw_for: Callable[..., RawZego]) -> RawZego:
    """Hand-built signed requests against `emulator`."""
    return raw_for(emulator)
