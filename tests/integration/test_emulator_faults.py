"""Injected faults: each kind, what it matches, and that a faulted request changes no rule."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest
import requests
from pydantic import ValidationError

from tests.support.settings import config_of
from zego_provider.client import ZegoClient
from zego_provider.emulator import EmulatorAdmin, ZegoEmulator
from zego_provider.emulator.admin import EmulatorAdminError
from zego_provider.emulator.faults import FaultBook, problem_of
from zego_provider.errors import ZegoServerError, ZegoTransportError

if TYPE_CHECKING:
    from tests.integration.conftest import RawZego

CREATE = "CreatCDNTransferRule"
CLEAR = "ClearCDNTransferRule"
APP_ID = 1234567890
SECRET = "emulator-test-secret-0f1e2d3c4b5a"
STREAM = "faulty"
URL = "rtmp://cdn.example.com/live/faulty"


def test_no_fault_unless_asked_for(admin: EmulatorAdmin) -> None:
    assert admin.faults() == []


def test_a_code_fault_answers_that_code_and_changes_nothing(zego: RawZego, admin: EmulatorAdmin) -> None:
    admin.inject(code=5000)

    document = zego.call(CREATE, StreamId=STREAM, CDNUrl=URL)

    assert document["Code"] == 5000
    assert document["Message"].startswith("internal error")
    assert admin.streams() == {}
    assert zego.code(CREATE, StreamId=STREAM, CDNUrl=URL) == 0  # count defaults to 1
    assert admin.stream(STREAM) == [{"cdn_url": URL, "status": "scheduled"}]


def test_a_count_fault_hits_the_next_n_matching_requests(zego: RawZego, admin: EmulatorAdmin) -> None:
    admin.inject(code=5007, count=3)

    assert [zego.code(CLEAR, StreamId=STREAM) for _ in range(5)] == [5007, 5007, 5007, 0, 0]
    assert admin.faults() == []


def test_skip_lets_the_first_matching_requests_through(zego: RawZego, admin: EmulatorAdmin) -> None:
    admin.inject(code=5005, skip=2, count=1, match={"action": CREATE})

    codes = [zego.code(CREATE, StreamId=STREAM, CDNUrl=f"{URL}/{i}") for i in range(4)]

    assert codes == [0, 0, 5005, 0]
    assert len(admin.stream(STREAM)) == 3


def test_a_fault_matches_by_action_and_stream(zego: RawZego, admin: EmulatorAdmin) -> None:
    admin.inject(code=30003, count=5, match={"action": CREATE, "stream_id": STREAM})

    assert zego.code(CLEAR, StreamId=STREAM) == 0
    assert zego.code(CREATE, StreamId="other", CDNUrl=URL) == 0
    assert zego.code(CREATE, StreamId=STREAM, CDNUrl=URL) == 30003
    assert admin.faults()[0]["count"] == 4


def test_an_http_status_fault_answers_without_zego_json(zego: RawZego, admin: EmulatorAdmin) -> None:
    admin.inject(http_status=503)

    reply = zego.send(zego.params(CREATE, StreamId=STREAM, CDNUrl=URL))

    assert reply.status_code == 503
    assert reply.headers["X-Request-Id"].isdigit()
    assert admin.streams() == {}


def test_a_delay_fault_delays_then_processes_normally(zego: RawZego, admin: EmulatorAdmin) -> None:
    admin.inject(delay=0.4)
    started = time.monotonic()

    assert zego.code(CREATE, StreamId=STREAM, CDNUrl=URL) == 0

    assert time.monotonic() - started >= 0.4
    assert admin.stream(STREAM) == [{"cdn_url": URL, "status": "scheduled"}]


def test_a_delay_is_capped_at_thirty_seconds(admin: EmulatorAdmin) -> None:
    assert admin.inject(delay=600)["delay"] == 30.0


def test_a_drop_fault_closes_the_connection_without_a_reply(zego: RawZego, admin: EmulatorAdmin) -> None:
    admin.inject(drop=True)

    with pytest.raises(requests.ConnectionError):
        zego.send(zego.params(CREATE, StreamId=STREAM, CDNUrl=URL))

    assert admin.streams() == {}
    assert zego.code(CLEAR, StreamId=STREAM) == 0  # the server is fine afterwards


def test_a_malformed_fault_answers_200_with_a_body_that_is_not_json(zego: RawZego, admin: EmulatorAdmin) -> None:
    admin.inject(malformed=True)

    reply = zego.send(zego.params(CREATE, StreamId=STREAM, CDNUrl=URL))

    assert reply.status_code == 200
    with pytest.raises(ValueError):
        reply.json()
    assert admin.streams() == {}


def faulted_indexes(zego: RawZego, admin: EmulatorAdmin, count: int) -> list[int]:
    return [i for i in range(count) if zego.code(CLEAR, StreamId=f"p{i}") == 5000]


def test_a_probability_fault_with_a_seed_is_reproducible(zego: RawZego, admin: EmulatorAdmin) -> None:
    admin.inject(code=5000, probability=0.3, seed=42)
    first = faulted_indexes(zego, admin, 40)
    admin.reset()
    admin.inject(code=5000, probability=0.3, seed=42)
    second = faulted_indexes(zego, admin, 40)

    assert first == second
    assert 0 < len(first) < 40
    assert admin.faults()[0]["fired"] == len(first)


def test_a_different_seed_gives_a_different_pattern(zego: RawZego, admin: EmulatorAdmin) -> None:
    admin.inject(code=5000, probability=0.5, seed=1)
    first = faulted_indexes(zego, admin, 40)
    admin.reset()
    admin.inject(code=5000, probability=0.5, seed=2)

    assert faulted_indexes(zego, admin, 40) != first


def test_faulted_requests_are_logged_with_their_outcome(zego: RawZego, admin: EmulatorAdmin) -> None:
    admin.inject(http_status=502)
    admin.inject(code=5001)
    zego.send(zego.params(CLEAR, StreamId=STREAM))
    zego.send(zego.params(CLEAR, StreamId=STREAM))

    first, second = admin.requests()
    assert first["http_status"] == 502
    assert first["code"] is None
    assert first["fault"]["http_status"] == 502
    assert second["code"] == 5001
    assert second["fault"]["code"] == 5001


def test_clearing_faults_removes_them_all(zego: RawZego, admin: EmulatorAdmin) -> None:
    admin.inject(code=5000, count=10)
    admin.inject(drop=True, probability=1.0, seed=0)

    assert admin.clear_faults() == 2
    assert zego.code(CLEAR, StreamId=STREAM) == 0


@pytest.mark.parametrize(
    ("fault", "field"),
    [
        pytest.param({}, "effect", id="no effect"),
        pytest.param({"count": 1}, "effect", id="a count and no effect"),
        pytest.param({"code": 5000, "drop": True}, "effect", id="two effects"),
        pytest.param({"code": 5000, "count": 2, "probability": 0.5}, "fault", id="count and probability"),
        pytest.param({"code": "5000"}, "code", id="code as text"),
        pytest.param({"http_status": 200}, "http_status", id="status not an error"),
        pytest.param({"delay": -1}, "delay", id="negative delay"),
        pytest.param({"drop": False}, "drop", id="drop false"),
        pytest.param({"cut": False}, "cut", id="cut false"),
        pytest.param({"code": 5000, "count": 0}, "count", id="count zero"),
        pytest.param({"code": 5000, "probability": 1.5}, "probability", id="probability over one"),
        pytest.param({"code": 5000, "skip": -1}, "skip", id="negative skip"),
        pytest.param({"code": 5000, "seed": "x"}, "seed", id="seed as text"),
        pytest.param({"code": 5000, "match": {"path": "/"}}, "match.path", id="unknown match field"),
        pytest.param({"code": 5000, "match": {"action": 5}}, "match.action", id="action not text"),
        pytest.param({"code": 5000, "colour": "red"}, "colour", id="unknown field"),
    ],
)
def test_a_malformed_fault_is_refused_naming_the_field(fault: dict[str, object], field: str) -> None:
    book = FaultBook()
    with pytest.raises(ValidationError) as refused:
        book.add(fault)
    assert problem_of(refused.value).startswith(f"{field}: ")
    assert book.describe() == []


def test_the_admin_route_refuses_a_malformed_fault_with_400_naming_the_field(admin: EmulatorAdmin) -> None:
    with pytest.raises(EmulatorAdminError, match="HTTP 400") as refused:
        admin.inject(code="5000")
    assert "code: " in str(refused.value)
    assert admin.faults() == []


def test_a_fault_may_also_nest_its_effect(zego: RawZego, admin: EmulatorAdmin) -> None:
    assert admin.inject(effect={"code": 5001})["code"] == 5001

    assert zego.code(CLEAR, StreamId=STREAM) == 5001


def test_a_cut_fault_processes_the_request_then_cuts_the_reply_mid_body(zego: RawZego, admin: EmulatorAdmin) -> None:
    admin.inject(cut=True)

    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        zego.send(zego.params(CREATE, StreamId=STREAM, CDNUrl=URL))

    assert admin.stream(STREAM) == [{"cdn_url": URL, "status": "scheduled"}]  # the work was done
    [entry] = admin.requests()
    assert entry["code"] == 0
    assert entry["fault"]["cut"] is True
    assert zego.code(CLEAR, StreamId=STREAM) == 0  # the server is fine afterwards


def test_a_reset_fault_resets_the_connection_after_reading_the_request(zego: RawZego, admin: EmulatorAdmin) -> None:
    admin.inject(reset=True)

    with pytest.raises(requests.ConnectionError) as raised:
        zego.send(zego.params(CREATE, StreamId=STREAM, CDNUrl=URL))

    assert "reset" in str(raised.value).lower()
    assert admin.streams() == {}
    assert admin.requests()[0]["fault"]["reset"] is True
    assert zego.code(CLEAR, StreamId=STREAM) == 0


def test_the_client_retries_through_transient_faults(emulator: ZegoEmulator, admin: EmulatorAdmin) -> None:
    admin.inject(code=5000, match={"action": CREATE})
    admin.inject(http_status=503, match={"action": CREATE})
    admin.inject(drop=True, match={"action": CREATE})
    admin.inject(malformed=True, match={"action": CREATE})
    with ZegoClient(
        config_of(APP_ID, SECRET, endpoint=emulator.url, rate_limiter="off", max_attempts=5), sleep=lambda _: None
    ) as client:
        assert client.create_cdn_transfer_rule(STREAM, URL).ok

    assert [entry["fault"] is not None for entry in admin.requests(CREATE)] == [True, True, True, True, False]
    assert admin.stream(STREAM) == [{"cdn_url": URL, "status": "scheduled"}]


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        pytest.param({"code": 5000}, ZegoServerError, id="code"),
        pytest.param({"http_status": 503}, ZegoTransportError, id="http_status"),
        pytest.param({"drop": True}, ZegoTransportError, id="drop"),
        pytest.param({"malformed": True}, ZegoTransportError, id="malformed"),
    ],
)
def test_the_client_reports_a_fault_that_persists(
    emulator: ZegoEmulator, admin: EmulatorAdmin, fault: dict[str, object], error: type[Exception]
) -> None:
    admin.inject(**fault, count=100)

    with (
        ZegoClient(
            config_of(APP_ID, SECRET, endpoint=emulator.url, rate_limiter="off", max_attempts=2), sleep=lambda _: None
        ) as client,
        pytest.raises(error),
    ):
        client.clear_cdn_transfer_rule(STREAM)
    assert len(admin.requests()) == 2
