"""The emulator checks ZEGO's public parameters like the gateway, with the gateway's codes."""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING

import pytest

from zego_provider.emulator import ZegoEmulator
from zego_provider.emulator.signature import expected_signature

if TYPE_CHECKING:
    from tests.integration.conftest import RawZego

CLEAR = "ClearCDNTransferRule"
STREAM = "gateway-stream"


def test_a_correctly_signed_request_succeeds_with_zego_json(zego: RawZego) -> None:
    reply = zego.send(zego.params(CLEAR, StreamId=STREAM))

    assert reply.status_code == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    document = reply.json()
    assert document["Code"] == 0
    assert document["Message"] == "ok"
    assert document["RequestId"].isdigit()
    assert document["Data"] is None
    assert reply.headers["X-Request-Id"] == document["RequestId"]


def test_every_reply_has_a_fresh_request_id(zego: RawZego) -> None:
    ids = {zego.call(CLEAR, StreamId=STREAM)["RequestId"] for _ in range(5)}

    assert len(ids) == 5


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        pytest.param({"AppId": None}, 100000001, id="AppId missing"),
        pytest.param({"AppId": "12ab"}, 100000001, id="AppId not a number"),
        pytest.param({"AppId": str(2**32)}, 100000001, id="AppId over uint32"),
        pytest.param({"AppId": "-5"}, 100000001, id="AppId negative"),
        pytest.param({"Timestamp": None}, 100000002, id="Timestamp missing"),
        pytest.param({"Timestamp": "soon"}, 100000003, id="Timestamp not an integer"),
        pytest.param({"Timestamp": "1617249600.5"}, 100000003, id="Timestamp fractional"),
        pytest.param({"SignatureNonce": None}, 100000008, id="nonce missing"),
        pytest.param({"Signature": None}, 100000009, id="Signature missing"),
        pytest.param({"SignatureVersion": None}, 100000013, id="SignatureVersion missing"),
        pytest.param({"SignatureVersion": "1.0"}, 100000014, id="SignatureVersion not 2.0"),
        pytest.param({"Signature": "0" * 32}, 100000005, id="Signature wrong"),
        pytest.param({"SignatureNonce": "0123456789abcdef"}, 100000005, id="nonce differs from the one signed"),
        pytest.param({"Action": None}, 100000006, id="Action missing"),
        pytest.param({"Action": "CreateCDNTransferRule"}, 100000007, id="Action spelled with an e"),
        pytest.param({"Action": "DescribeCDNTransferRule"}, 100000007, id="Action unknown"),
        pytest.param({"IsTest": "yes"}, 30004, id="IsTest not true or false"),
        pytest.param({"IsTest": "TRUE"}, 30004, id="IsTest upper case"),
    ],
)
def test_a_bad_public_parameter_gets_the_gateway_code(zego: RawZego, tamper: dict[str, str | None], code: int) -> None:
    params = zego.params(CLEAR, StreamId=STREAM)
    for name, value in tamper.items():
        if value is None:
            params.pop(name)
        else:
            params[name] = value

    document = zego.send(params).json()

    assert document["Code"] == code
    assert document["Message"]
    assert document["RequestId"].isdigit()


def test_an_unknown_app_id_gets_100000011(make_emulator, raw_for) -> None:
    emulator: ZegoEmulator = make_emulator(rate_limit=None)
    stranger = raw_for(emulator, app_id=987654321)

    assert stranger.code(CLEAR, StreamId=STREAM) == 100000011


def test_a_wrong_server_secret_gets_signature_wrong(emulator: ZegoEmulator, raw_for) -> None:
    impostor = raw_for(emulator, server_secret="not-the-secret")

    assert impostor.code(CLEAR, StreamId=STREAM) == 100000005


@pytest.mark.parametrize("offset", [-601, 601, -660, 3600], ids=["601 s behind", "601 s ahead", "11 min", "1 h"])
def test_a_timestamp_more_than_ten_minutes_off_is_expired(zego: RawZego, offset: int) -> None:
    assert zego.code(CLEAR, StreamId=STREAM, timestamp=int(time.time()) + offset) == 100000004


@pytest.mark.parametrize("offset", [-590, 590])
def test_a_timestamp_within_ten_minutes_is_accepted(zego: RawZego, offset: int) -> None:
    assert zego.code(CLEAR, StreamId=STREAM, timestamp=int(time.time()) + offset) == 0


def test_the_timestamp_is_checked_against_the_emulator_clock(make_emulator, raw_for, fake_clock) -> None:
    emulator: ZegoEmulator = make_emulator(rate_limit=None, clock=fake_clock)
    zego = raw_for(emulator)
    fake_clock.advance(11 * 60)

    assert zego.code(CLEAR, StreamId=STREAM) == 100000004


def test_is_test_false_is_accepted(zego: RawZego) -> None:
    assert zego.code(CLEAR, StreamId=STREAM, IsTest="false") == 0


def test_a_repeated_parameter_is_a_wrong_input(zego: RawZego) -> None:
    query = "&".join(f"{name}={value}" for name, value in zego.params(CLEAR, StreamId=STREAM).items())

    document = zego.session.get(f"{zego.url}/?{query}&StreamId=other", timeout=10).json()

    assert document["Code"] == 2
    assert "StreamId" in document["Message"]


def test_a_refused_signature_consumes_no_sequence(zego: RawZego) -> None:
    params = zego.params(CLEAR, StreamId=STREAM, Sequence=500)
    params["Signature"] = "f" * 32
    assert zego.send(params).json()["Code"] == 100000005

    assert zego.code(CLEAR, StreamId=STREAM, Sequence=500) == 0


# The test vector of shared/zego-api.md, computed there with a plain md5 tool apart from any project code.
VECTOR_APP_ID = 1234567890
VECTOR_NONCE = "fc1b58ab1df9a0c2"
VECTOR_SECRET = "0123456789abcdef0123456789abcdef"
VECTOR_TIMESTAMP = 1617249600
VECTOR_SIGNATURE = "1b5c32e76798c29c06b094d34ab02ca3"


def test_the_emulators_own_signature_formula_matches_the_documented_vector() -> None:
    """shared/zego-api.md: md5(str(AppId) + SignatureNonce + ServerSecret + str(Timestamp)), lower hex."""
    assert expected_signature(VECTOR_APP_ID, VECTOR_NONCE, VECTOR_SECRET, VECTOR_TIMESTAMP) == VECTOR_SIGNATURE


def test_the_emulator_accepts_the_documented_vector_on_the_wire(make_emulator, raw_for, fake_clock) -> None:
    """The vector of shared/zego-api.md, sent as is: no project signing code is involved on either side."""
    fake_clock.now = VECTOR_TIMESTAMP
    emulator: ZegoEmulator = make_emulator(
        app_id=VECTOR_APP_ID, server_secret=VECTOR_SECRET, rate_limit=None, clock=fake_clock
    )
    zego = raw_for(emulator, app_id=VECTOR_APP_ID, server_secret=VECTOR_SECRET)
    params = zego.params(CLEAR, StreamId=STREAM)
    params.update(SignatureNonce=VECTOR_NONCE, Timestamp=str(VECTOR_TIMESTAMP), Signature=VECTOR_SIGNATURE)

    assert zego.send(params).json()["Code"] == 0


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(
            lambda: md5_hex(f"{VECTOR_NONCE}{VECTOR_APP_ID}{VECTOR_SECRET}{VECTOR_TIMESTAMP}"), id="reordered"
        ),
        pytest.param(
            lambda: md5_hex(f"{VECTOR_APP_ID}|{VECTOR_NONCE}|{VECTOR_SECRET}|{VECTOR_TIMESTAMP}"), id="separated"
        ),
        pytest.param(lambda: VECTOR_SIGNATURE.upper(), id="upper hex"),
    ],
)
def test_the_emulator_refuses_a_signature_built_any_other_way(make_emulator, raw_for, fake_clock, signature) -> None:
    fake_clock.now = VECTOR_TIMESTAMP
    emulator: ZegoEmulator = make_emulator(
        app_id=VECTOR_APP_ID, server_secret=VECTOR_SECRET, rate_limit=None, clock=fake_clock
    )
    zego = raw_for(emulator, app_id=VECTOR_APP_ID, server_secret=VECTOR_SECRET)
    params = zego.params(CLEAR, StreamId=STREAM)
    params.update(SignatureNonce=VECTOR_NONCE, Timestamp=str(VECTOR_TIMESTAMP), Signature=signature())

    assert zego.send(params).json()["Code"] == 100000005


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def test_only_get_on_the_root_path_is_the_api(zego: RawZego) -> None:
    params = zego.params(CLEAR, StreamId=STREAM)

    assert zego.session.post(zego.url + "/", params=params, timeout=10).status_code == 405
    assert zego.session.get(zego.url + "/v2/", params=params, timeout=10).status_code == 404


def test_the_emulator_refuses_to_bind_a_non_loopback_address() -> None:
    with pytest.raises(ValueError, match="loopback"):
        ZegoEmulator(1234567890, "secret", host="0.0.0.0").start()
