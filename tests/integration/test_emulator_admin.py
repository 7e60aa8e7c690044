"""The admin routes, the request log, persistence across restarts and concurrent clients."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests

from zego_provider.client import ZegoClient
from zego_provider.emulator import EmulatorAdmin, EmulatorAdminError, ZegoEmulator

if TYPE_CHECKING:
    from tests.integration.conftest import RawZego

CREATE = "CreatCDNTransferRule"
DELETE = "DeleteCDNTransferRule"
CLEAR = "ClearCDNTransferRule"
APP_ID = 1234567890
SECRET = "emulator-test-secret-0f1e2d3c4b5a"
URL = "rtmp://cdn.example.com/live/key?token=t0ken"


# --- streams --------------------------------------------------------------------------


def test_streams_lists_every_stream_with_its_rules(zego: RawZego, admin: EmulatorAdmin) -> None:
    zego.code(CREATE, StreamId="one", CDNUrl=URL)
    zego.code(CREATE, StreamId="two", CDNUrl=URL)
    admin.publish("two")

    assert admin.streams() == {
        "one": [{"cdn_url": URL, "status": "scheduled"}],
        "two": [{"cdn_url": URL, "status": "active"}],
    }


def test_a_stream_id_with_reserved_characters_round_trips_through_the_admin_routes(
    zego: RawZego, admin: EmulatorAdmin
) -> None:
    stream_id = "a/b\\c&#%2F+=<>"

    zego.code(CREATE, StreamId=stream_id, CDNUrl=URL)

    assert admin.stream(stream_id) == [{"cdn_url": URL, "status": "scheduled"}]
    assert admin.publish(stream_id)["stream_id"] == stream_id
    assert list(admin.streams()) == [stream_id]


def test_an_unknown_stream_has_no_rules(admin: EmulatorAdmin) -> None:
    assert admin.stream("nobody") == []
    assert admin.publish("nobody") == {"stream_id": "nobody", "started": 0, "rules": []}


def test_an_unknown_admin_route_is_404(admin: EmulatorAdmin) -> None:
    reply = requests.get(admin.url + "/_emulator/nothing", timeout=5)

    assert reply.status_code == 404
    assert "error" in reply.json()


def test_health_names_the_app(admin: EmulatorAdmin) -> None:
    assert admin.health() == {"status": "ok", "app_id": APP_ID}


# --- request log ----------------------------------------------------------------------


def test_the_request_log_records_each_call_with_its_outcome(zego: RawZego, admin: EmulatorAdmin) -> None:
    created = zego.call(CREATE, StreamId="s", CDNUrl=URL)
    refused = zego.call(CREATE, StreamId="bad stream", CDNUrl=URL)

    first, second = admin.requests()
    assert first["action"] == CREATE
    assert first["code"] == 0
    assert first["request_id"] == created["RequestId"]
    assert first["params"]["StreamId"] == "s"
    assert first["params"]["CDNUrl"] == URL
    assert isinstance(first["time"], float)
    assert second["code"] == 30009
    assert second["message"] == refused["Message"]


def test_the_request_log_never_contains_the_signature_nonce_or_secret(zego: RawZego, admin: EmulatorAdmin) -> None:
    sent = [zego.params(CREATE, StreamId="s", CDNUrl=URL), zego.params(CLEAR, StreamId="s")]
    sent.append(zego.params(CLEAR, StreamId="s", Signature="0" * 32))
    for params in sent:
        zego.send(params)
    admin.inject(http_status=500)
    zego.send(sent[-1])

    log = admin.requests()
    text = json.dumps(log)
    assert len(log) == 4
    assert all(not {"Signature", "SignatureNonce"} & set(entry["params"]) for entry in log)
    assert all(params["Signature"] not in text and params["SignatureNonce"] not in text for params in sent)
    assert SECRET not in text


def test_the_request_log_can_be_filtered_by_action(zego: RawZego, admin: EmulatorAdmin) -> None:
    zego.code(CREATE, StreamId="s", CDNUrl=URL)
    zego.code(CLEAR, StreamId="s")
    zego.code(DELETE, StreamId="s", CDNUrl=URL)

    assert [entry["action"] for entry in admin.requests(CLEAR)] == [CLEAR]
    assert [entry["action"] for entry in admin.requests()] == [CREATE, CLEAR, DELETE]


def test_the_request_log_is_bounded() -> None:
    from zego_provider.emulator import EmulatorState

    state = EmulatorState(APP_ID, log_size=3)
    for number in range(5):
        state.record({"action": CLEAR, "n": number})

    assert [entry["n"] for entry in state.requests()] == [2, 3, 4]


def test_reset_forgets_rules_sequences_log_and_faults(zego: RawZego, admin: EmulatorAdmin) -> None:
    zego.code(CREATE, StreamId="s", CDNUrl=URL, Sequence=10)
    admin.inject(code=5000, match={"action": DELETE})

    admin.reset()

    assert admin.streams() == {}
    assert admin.requests() == []
    assert admin.faults() == []
    assert zego.code(CLEAR, StreamId="s", Sequence=10) == 0  # the sequence was forgotten too


def test_reset_keeps_the_configuration(zego: RawZego, admin: EmulatorAdmin) -> None:
    admin.configure(clear_empty_code=5005)

    admin.reset()

    assert admin.config()["clear_empty_code"] == 5005


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param({"colour": "red"}, id="unknown setting"),
        pytest.param({"rate_limit": -1}, id="negative rate"),
        pytest.param({"rate_limit": "fast"}, id="rate as text"),
        pytest.param({"rate_window": "fixed"}, id="unknown rate window"),
        pytest.param({"clear_empty_code": "5005"}, id="code as text"),
        pytest.param({"create_existing_code": True}, id="code as bool"),
    ],
)
def test_a_bad_configuration_is_refused_and_changes_nothing(admin: EmulatorAdmin, settings: dict[str, object]) -> None:
    before = admin.config()

    with pytest.raises(EmulatorAdminError, match="HTTP 400"):
        admin.configure(**settings)

    assert admin.config() == before


def test_a_body_that_is_not_json_is_refused(admin: EmulatorAdmin) -> None:
    reply = requests.post(
        admin.url + "/_emulator/faults", data=b"{not json", headers={"Content-Type": "application/json"}, timeout=5
    )

    assert reply.status_code == 400
    assert "JSON" in reply.json()["error"]


# --- persistence ----------------------------------------------------------------------


def test_state_survives_a_restart_with_the_same_state_file(make_emulator, raw_for, tmp_path: Path) -> None:
    state_file = tmp_path / "emulator.json"
    first: ZegoEmulator = make_emulator(rate_limit=None, state_file=state_file)
    zego = raw_for(first)
    zego.code(CREATE, StreamId="kept&#", CDNUrl=URL)
    zego.code(CREATE, StreamId="live", CDNUrl=URL)
    first.admin.publish("live")
    zego.code(CREATE, StreamId="gone", CDNUrl=URL)
    zego.code(DELETE, StreamId="gone", CDNUrl=URL)
    first.stop()

    second: ZegoEmulator = make_emulator(rate_limit=None, state_file=state_file)

    assert second.admin.streams() == {
        "kept&#": [{"cdn_url": URL, "status": "scheduled"}],
        "live": [{"cdn_url": URL, "status": "active"}],
    }
    assert raw_for(second).code(CLEAR, StreamId="kept&#") == 0
    assert second.admin.streams() == {"live": [{"cdn_url": URL, "status": "active"}]}
    # No temporary file left behind; the lock file beside the state stays (removing it would race).
    assert sorted(path.name for path in tmp_path.iterdir()) == ["emulator.json", "emulator.json.lock"]


def test_sequences_survive_a_restart(make_emulator, raw_for, tmp_path: Path) -> None:
    state_file = tmp_path / "emulator.json"
    first: ZegoEmulator = make_emulator(rate_limit=None, state_file=state_file)
    raw_for(first).code(CLEAR, StreamId="s", Sequence=100)
    first.stop()

    second: ZegoEmulator = make_emulator(rate_limit=None, state_file=state_file)

    assert raw_for(second).code(CLEAR, StreamId="s", Sequence=100) == 5005


def test_reset_is_persisted(make_emulator, raw_for, tmp_path: Path) -> None:
    state_file = tmp_path / "emulator.json"
    first: ZegoEmulator = make_emulator(rate_limit=None, state_file=state_file)
    raw_for(first).code(CREATE, StreamId="s", CDNUrl=URL)
    first.admin.reset()
    first.stop()

    assert make_emulator(rate_limit=None, state_file=state_file).admin.streams() == {}


def test_an_unreadable_state_file_is_an_error_not_a_silent_reset(tmp_path: Path) -> None:
    state_file = tmp_path / "emulator.json"
    state_file.write_text("{half a document", encoding="utf-8")

    with pytest.raises(ValueError, match="unreadable"):
        ZegoEmulator(APP_ID, SECRET, state_file=state_file)


# --- lifecycle and concurrency ----------------------------------------------------------


def test_the_emulator_restarts_on_the_same_port(make_emulator) -> None:
    emulator: ZegoEmulator = make_emulator(rate_limit=None)
    url = emulator.url
    emulator.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=2)

    emulator.start()

    assert emulator.url == url
    assert emulator.admin.health()["status"] == "ok"


def test_stop_ends_open_keep_alive_connections_quickly(emulator: ZegoEmulator, client: ZegoClient) -> None:
    client.clear_cdn_transfer_rule("s")  # leaves a pooled keep-alive connection open

    stopper = threading.Thread(target=emulator.stop)
    stopper.start()
    stopper.join(3)

    assert not stopper.is_alive()


def test_concurrent_clients_all_succeed_and_the_state_is_consistent(emulator: ZegoEmulator, client: ZegoClient) -> None:
    errors: list[BaseException] = []

    def create_many(worker: int) -> None:
        try:
            for number in range(25):
                client.create_cdn_transfer_rule(
                    f"w{worker}-s{number}", f"rtmp://cdn.example.com/live/{worker}/{number}"
                )
        except BaseException as error:  # reported below, on the test's thread
            errors.append(error)

    workers = [threading.Thread(target=create_many, args=(worker,)) for worker in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)

    assert errors == []
    snapshot = emulator.admin.streams()
    assert len(snapshot) == 200
    assert snapshot["w7-s24"] == [{"cdn_url": "rtmp://cdn.example.com/live/7/24", "status": "scheduled"}]
    log = emulator.admin.requests(CREATE)
    assert len(log) == 200
    assert {entry["code"] for entry in log} == {0}
    assert len({entry["request_id"] for entry in log}) == 200
