"""The emulator agrees with ZegoClient: every call succeeds and the strings arrive exactly as sent.

The two share only the code table (the emulator checks signatures with its own copy of
ZEGO's formula), so agreement here means the client's encoding, signing and action names
match what the emulator reads from the wire.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest
from pydantic import SecretStr

from tests.support.settings import config_of
from zego_provider.client import ZegoClient
from zego_provider.emulator import EmulatorAdmin, ZegoEmulator
from zego_provider.errors import ZegoAuthenticationError, ZegoInvalidInputError
from zego_provider.signing import ZegoSignatureAuth

if TYPE_CHECKING:
    from tests.integration.conftest import FakeClock

APP_ID = 1234567890
SECRET = "emulator-test-secret-0f1e2d3c4b5a"

STREAM_IDS = [
    "plain-stream_01",
    "a&b",
    "hash#tag",
    "plus+minus-",
    "per%cent",
    "key=value",
    "%20not-a-space",
    "a&b=c#d+e%f",
    "slash/back\\slash",
    "~!@#$%^&*()_+=-`;',.<>/\\",
]
CDN_URLS = [
    "rtmp://live.example.com/app/key",
    "rtmp://live.example.com/app/key?token=a&b=c%20d",
    "rtmp://live.example.com:1935/app/key?sign=abc%3D%3D&t=1#frag",
    "rtmp://user:pa%40ss@live.example.com/app/k+e+y",
]


@pytest.mark.parametrize("stream_id", STREAM_IDS)
def test_the_stream_id_reaches_the_emulator_exactly_as_sent(
    client: ZegoClient, admin: EmulatorAdmin, stream_id: str
) -> None:
    assert client.create_cdn_transfer_rule(stream_id, CDN_URLS[1]).ok

    assert admin.streams() == {stream_id: [{"cdn_url": CDN_URLS[1], "status": "scheduled"}]}


@pytest.mark.parametrize("cdn_url", CDN_URLS)
def test_the_cdn_url_and_its_own_query_string_reach_the_emulator_exactly_as_sent(
    client: ZegoClient, admin: EmulatorAdmin, cdn_url: str
) -> None:
    assert client.create_cdn_transfer_rule("a&b=c#d", cdn_url).ok

    assert admin.stream("a&b=c#d") == [{"cdn_url": cdn_url, "status": "scheduled"}]
    assert admin.requests()[0]["params"]["CDNUrl"] == cdn_url


def test_create_publish_clear_delete_with_the_client(client: ZegoClient, admin: EmulatorAdmin) -> None:
    stream_id = "show&co#1"
    running, scheduled = CDN_URLS[1], CDN_URLS[2]
    client.create_cdn_transfer_rule(stream_id, running)
    admin.publish(stream_id)
    client.create_cdn_transfer_rule(stream_id, scheduled)

    assert client.clear_cdn_transfer_rule(stream_id).ok
    assert admin.stream(stream_id) == [{"cdn_url": running, "status": "active"}]

    assert client.delete_cdn_transfer_rule(stream_id, "rtmp://live.example.com/app/key?token=rotated").ok
    assert admin.stream(stream_id) == []


def test_the_client_uses_zegos_action_names_and_public_parameters(client: ZegoClient, admin: EmulatorAdmin) -> None:
    client.create_cdn_transfer_rule("s", CDN_URLS[0])
    client.delete_cdn_transfer_rule("s", CDN_URLS[0])
    client.clear_cdn_transfer_rule("s")

    log = admin.requests()
    assert [entry["action"] for entry in log] == [
        "CreatCDNTransferRule",
        "DeleteCDNTransferRule",
        "ClearCDNTransferRule",
    ]
    for entry in log:
        # Accepted: the signature checked out and the nonce was new (the emulator refuses a reused one).
        assert entry["code"] == 0
        assert entry["params"]["SignatureVersion"] == "2.0"
        assert entry["params"]["AppId"] == str(APP_ID)
        assert entry["params"]["Timestamp"].isdigit()
        assert not {"Signature", "SignatureNonce"} & set(entry["params"])  # never logged


def test_the_client_sequences_strictly_increase_per_stream(client: ZegoClient, admin: EmulatorAdmin) -> None:
    for _ in range(20):  # many in the same millisecond
        client.clear_cdn_transfer_rule("fast")

    sequences = [int(entry["params"]["Sequence"]) for entry in admin.requests()]
    assert sequences == sorted(set(sequences))


def test_the_response_carries_the_emulators_request_id(client: ZegoClient, admin: EmulatorAdmin) -> None:
    response = client.clear_cdn_transfer_rule("s")

    assert response.request_id == admin.requests()[0]["request_id"]


def test_a_client_with_the_wrong_secret_gets_an_authentication_error(emulator: ZegoEmulator) -> None:
    with (
        ZegoClient(config_of(APP_ID, "the-wrong-secret", endpoint=emulator.url, rate_limiter="off")) as client,
        pytest.raises(ZegoAuthenticationError) as raised,
    ):
        client.create_cdn_transfer_rule("s", CDN_URLS[0])

    assert raised.value.code == 100000005
    assert raised.value.request_id
    assert "the-wrong-secret" not in str(raised.value)
    assert emulator.admin.streams() == {}


def test_a_client_of_another_app_gets_an_authentication_error(emulator: ZegoEmulator) -> None:
    with (
        ZegoClient(config_of(987654321, SECRET, endpoint=emulator.url, rate_limiter="off")) as client,
        pytest.raises(ZegoAuthenticationError) as raised,
    ):
        client.clear_cdn_transfer_rule("s")

    assert raised.value.code == 100000011


def test_a_client_whose_clock_is_eleven_minutes_off_gets_100000004(emulator: ZegoEmulator) -> None:
    with ZegoClient(config_of(APP_ID, SECRET, endpoint=emulator.url, rate_limiter="off")) as client:
        # ZegoClient builds its auth with the real clock and offers no clock option: swap the auth.
        client._auth = ZegoSignatureAuth(APP_ID, SecretStr(SECRET), clock=lambda: time.time() - 11 * 60)
        with pytest.raises(ZegoAuthenticationError) as raised:
            client.clear_cdn_transfer_rule("s")

    assert raised.value.code == 100000004


def test_a_test_environment_client_needs_the_prefixed_stream_id(emulator: ZegoEmulator) -> None:
    with ZegoClient(config_of(APP_ID, SECRET, endpoint=emulator.url, is_test=True, rate_limiter="off")) as client:
        assert client.create_cdn_transfer_rule(f"zegotest-{APP_ID}-show", CDN_URLS[0]).ok
        with pytest.raises(ZegoInvalidInputError) as raised:
            client.create_cdn_transfer_rule("show", CDN_URLS[0])

    assert raised.value.code == 30009
    assert emulator.admin.requests()[0]["params"]["IsTest"] == "true"


def test_a_bad_cdn_url_is_reported_as_invalid_input(client: ZegoClient) -> None:
    with pytest.raises(ZegoInvalidInputError) as raised:
        client.create_cdn_transfer_rule("s", "https://not-rtmp.example.com/live")

    assert raised.value.code == 5004


def test_a_client_over_the_limit_backs_off_and_succeeds(make_emulator, fake_clock: FakeClock) -> None:
    # The emulator's rate limit runs on an injected clock that only the client's backoff moves:
    # however slowly a loaded machine runs the four calls, no token refills behind the test's back.
    emulator: ZegoEmulator = make_emulator(rate_limit=3, clock=fake_clock)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        fake_clock.advance(seconds)

    with ZegoClient(config_of(APP_ID, SECRET, endpoint=emulator.url, rate_limiter="off"), sleep=sleep) as client:
        for number in range(4):
            assert client.clear_cdn_transfer_rule(f"s{number}").ok

    assert [entry["code"] for entry in emulator.admin.requests()] == [0, 0, 0, 5007, 0]
    assert slept and 1.0 <= slept[0] <= 2.0  # one window (ZEGO counts per second) and up to one more, jittered
