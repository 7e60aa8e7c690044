"""The emulator under abuse: malformed HTTP on a raw socket, admin abuse, replay, state-file damage.

Every probe is bounded (a socket timeout, a short idle timeout, a counted flood) and asserts
what it ends in: a status and a message, a closed connection, a ZEGO code, or exit code 2
with one line. None may end in a traceback, a hung thread or a dropped connection without a
reason. docs/development.md ("Test matrices") summarizes these probes.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from zego_provider.emulator import EmulatorState, FaultBook, StateFileError, StateWriteError, ZegoEmulator, strictjson
from zego_provider.emulator.cli import main
from zego_provider.emulator.faults import EFFECTS, problem_of
from zego_provider.emulator.state import LOG_BYTES, NONCE_WINDOW

if TYPE_CHECKING:
    from tests.integration.conftest import FakeClock, RawZego

APP_ID = 1234567890
SECRET = "emulator-test-secret-0f1e2d3c4b5a"
CREATE = "CreatCDNTransferRule"
CLEAR = "ClearCDNTransferRule"
URL = "rtmp://cdn.example.com/live/key"
IDLE = 1.0
"""The idle timeout of the emulators here: slow clients are cut off after this long."""
SOCKET_TIMEOUT = 10.0


@pytest.fixture
def target(make_emulator: Callable[..., ZegoEmulator]) -> ZegoEmulator:
    return make_emulator(rate_limit=None, idle_timeout=IDLE)


def exchange(emulator: ZegoEmulator, data: bytes, *, read_timeout: float = SOCKET_TIMEOUT) -> tuple[bytes, bool]:
    """Send raw bytes, read until the server closes (or `read_timeout`); (reply, closed by the server)."""
    chunks: list[bytes] = []
    with socket.create_connection(("127.0.0.1", emulator.port), timeout=read_timeout) as sock:
        sock.sendall(data)
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            return b"".join(chunks), False
        except ConnectionResetError:
            return b"".join(chunks), True
    return b"".join(chunks), True


def status(reply: bytes) -> int:
    match = re.match(rb"HTTP/1\.[01] (\d{3}) ", reply)
    assert match, reply[:200]
    return int(match.group(1))


def body_json(reply: bytes) -> Any:
    return json.loads(reply.split(b"\r\n\r\n", 1)[1])


def request(
    emulator: ZegoEmulator, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    """One request on its own connection (Connection: close), headers exactly as given."""
    lines = [f"{method} {path} HTTP/1.1", *(f"{name}: {value}" for name, value in (headers or {}).items())]
    if body and not any(name.lower() == "content-length" for name in headers or {}):
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    reply, closed = exchange(emulator, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
    assert closed
    return reply


def loopback(emulator: ZegoEmulator) -> dict[str, str]:
    return {"Host": f"127.0.0.1:{emulator.port}"}


def json_headers(emulator: ZegoEmulator) -> dict[str, str]:
    return {**loopback(emulator), "Content-Type": "application/json"}


# --- malformed HTTP on a raw socket ---------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "code"),
    [
        pytest.param(b"\x00\x01\x02garbage\r\n\r\n", 400, id="garbage request line"),
        pytest.param(b"GET / HTTP/1.1 extra\r\n\r\n", 400, id="four words in the request line"),
        pytest.param(b"GET / HTTP/2.0\r\n\r\n", 505, id="HTTP/2.0 request line"),
        pytest.param(b"GET / HTTP/x.y\r\n\r\n", 400, id="malformed version"),
        pytest.param(b"PATCH / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 501, id="unsupported method"),
        pytest.param(b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414, id="request line of 70 KB"),
        pytest.param(b"GET / HTTP/1.1\r\nX-Big: " + b"b" * 70_000 + b"\r\n\r\n", 431, id="header line of 70 KB"),
        pytest.param(
            b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(150)) + b"\r\n",
            431,
            id="150 headers",
        ),
    ],
)
def test_malformed_http_gets_an_error_status_and_a_closed_connection(
    target: ZegoEmulator, data: bytes, code: int
) -> None:
    reply, closed = exchange(target, data)

    assert status(reply) == code
    assert closed
    assert target.admin.health()["status"] == "ok"  # and the server serves the next client


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        pytest.param({"Content-Length": "abc"}, "bad Content-Length", id="Content-Length not a number"),
        pytest.param({"Content-Length": "-1"}, "bad Content-Length", id="negative Content-Length"),
        pytest.param(
            {"Content-Length": "99999999999999999999"}, "bad Content-Length", id="Content-Length of 20 digits"
        ),
        pytest.param({"Content-Length": str(10 * 1024 * 1024)}, "larger than", id="Content-Length of 10 MB"),
        pytest.param({"Transfer-Encoding": "chunked"}, "Transfer-Encoding", id="chunked body"),
    ],
)
@pytest.mark.parametrize("path", ["/", "/_emulator/faults"])
def test_a_body_without_a_usable_length_is_refused_with_400(
    target: ZegoEmulator, headers: dict[str, str], message: str, path: str
) -> None:
    reply = request(target, "POST", path, {**json_headers(target), **headers})

    assert status(reply) == 400
    assert message in body_json(reply)["error"]


def test_two_content_lengths_are_refused(target: ZegoEmulator) -> None:
    data = b"POST /_emulator/reset HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nContent-Length: 0\r\n\r\n{}"

    reply, closed = exchange(target, data)

    assert status(reply) == 400
    assert closed


def test_a_body_shorter_than_its_content_length_times_out_with_408(target: ZegoEmulator) -> None:
    data = b"POST /_emulator/faults HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    started = time.monotonic()

    reply, closed = exchange(target, data + b"Content-Length: 100\r\n\r\n{")

    assert status(reply) == 408
    assert closed
    assert time.monotonic() - started < IDLE + 5
    assert target.admin.faults() == []


def test_slowloris_connections_are_cut_after_the_idle_timeout_and_others_are_served(target: ZegoEmulator) -> None:
    sockets = [socket.create_connection(("127.0.0.1", target.port), timeout=SOCKET_TIMEOUT) for _ in range(20)]
    try:
        for sock in sockets:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # and never the end of the headers
        assert target.admin.health()["status"] == "ok"  # a thread per connection: the others are served
        started = time.monotonic()
        for sock in sockets:
            assert sock.recv(1024) == b""  # closed by the server, without an answer
        assert time.monotonic() - started < IDLE + 5
    finally:
        for sock in sockets:
            sock.close()


def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout(target: ZegoEmulator) -> None:
    with socket.create_connection(("127.0.0.1", target.port), timeout=SOCKET_TIMEOUT) as sock:
        sock.sendall(b"GET /_emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        first = sock.recv(65536)
        started = time.monotonic()
        rest = b""
        while chunk := sock.recv(65536):
            rest += chunk

    assert status(first) == 200
    assert time.monotonic() - started < IDLE + 5


def test_pipelined_requests_are_answered_in_order(target: ZegoEmulator) -> None:
    one = b"GET /_emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    last = b"GET /_emulator/config HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"

    reply, closed = exchange(target, one + one + last)

    assert closed
    assert reply.count(b"HTTP/1.1 200 OK") == 3
    assert reply.rstrip().endswith(b'"create_existing_code": 0}')


@pytest.mark.parametrize(
    ("query", "code"),
    [
        pytest.param("AppId=%FF%FE&Action=%00", 100000001, id="invalid UTF-8 and NUL in the query"),
        pytest.param("&".join(f"p{i}=v" for i in range(65)), 2, id="65 query parameters"),
        pytest.param("AppId=" + "9" * 5000, 100000001, id="AppId of 5000 digits"),
        pytest.param("", 100000001, id="empty query"),
    ],
)
def test_a_hostile_query_gets_a_zego_code(target: ZegoEmulator, query: str, code: int) -> None:
    reply = request(target, "GET", f"/?{query}", loopback(target))

    assert status(reply) == 200
    assert body_json(reply)["Code"] == code


def test_a_nul_or_control_character_in_the_stream_id_gets_30009(zego: RawZego) -> None:
    assert zego.code(CLEAR, StreamId="a\x00b") == 30009
    assert zego.code(CLEAR, StreamId="a\x1bb") == 30009


# --- admin abuse ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        pytest.param("evil.example", id="foreign host"),
        pytest.param("evil.example:{port}", id="foreign host with the port (DNS rebinding)"),
        pytest.param("127.0.0.1.evil.example:{port}", id="loopback-looking name"),
        pytest.param("user@127.0.0.1:{port}", id="userinfo"),
        pytest.param("127.0.0.1:port", id="bad port"),
        pytest.param("", id="empty"),
    ],
)
def test_admin_routes_refuse_a_foreign_host_header(target: ZegoEmulator, zego_rule: None, host: str) -> None:
    reply = request(target, "POST", "/_emulator/reset", {"Host": host.format(port=target.port)})

    assert status(reply) == 403
    assert "loopback Host" in body_json(reply)["error"]
    assert target.admin.streams() != {}  # the reset did not happen


def test_admin_routes_refuse_a_request_without_host(target: ZegoEmulator, zego_rule: None) -> None:
    reply, _ = exchange(target, b"POST /_emulator/reset HTTP/1.0\r\n\r\n")

    assert status(reply) == 403
    assert target.admin.streams() != {}


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost:{port}", "127.0.0.1:{port}", "[::1]:{port}"])
def test_admin_routes_accept_a_loopback_host_header(target: ZegoEmulator, host: str) -> None:
    reply = request(target, "GET", "/_emulator/health", {"Host": host.format(port=target.port)})

    assert status(reply) == 200


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://evil.example:80@127.0.0.1"])
def test_admin_routes_refuse_a_foreign_origin(target: ZegoEmulator, zego_rule: None, origin: str) -> None:
    reply = request(target, "POST", "/_emulator/reset", {**loopback(target), "Origin": origin})

    assert status(reply) == 403
    assert target.admin.streams() != {}


def test_admin_routes_accept_a_loopback_origin(target: ZegoEmulator) -> None:
    origin = f"http://127.0.0.1:{target.port}"

    assert status(request(target, "POST", "/_emulator/reset", {**loopback(target), "Origin": origin})) == 200


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""]
)
def test_admin_bodies_must_be_declared_json(target: ZegoEmulator, content_type: str) -> None:
    headers = {**loopback(target), "Content-Type": content_type} if content_type else loopback(target)

    reply = request(target, "POST", "/_emulator/faults", headers, b'{"code": 5000}')

    assert status(reply) == 415
    assert target.admin.faults() == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"rate_limit": NaN}', id="NaN"),
        pytest.param(b'{"rate_limit": Infinity}', id="Infinity"),
        pytest.param(b'{"rate_limit": -Infinity}', id="-Infinity"),
        pytest.param(b'{"rate_limit": 1e400}', id="1e400"),
        pytest.param(b'{"rate_limit": 1' + b"0" * 5000 + b"}", id="an integer of 5000 digits"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="nested 100,000 deep"),
        pytest.param(b'{"a":' * 40 + b"1" + b"}" * 40, id="nested 40 deep"),
        pytest.param(b"\xff\xfe{}", id="not UTF-8"),
        pytest.param(b"[1, 2]", id="an array, not an object"),
    ],
)
def test_a_hostile_config_body_gets_400_with_a_message_and_changes_nothing(target: ZegoEmulator, body: bytes) -> None:
    before = target.admin.config()

    reply = request(target, "POST", "/_emulator/config", json_headers(target), body)

    assert status(reply) == 400
    assert body_json(reply)["error"]
    assert target.admin.config() == before


def test_a_fault_with_a_non_finite_delay_is_refused(target: ZegoEmulator) -> None:
    reply = request(target, "POST", "/_emulator/faults", json_headers(target), b'{"delay": 1e999}')

    assert status(reply) == 400
    assert "out of range" in body_json(reply)["error"]
    assert target.admin.faults() == []


def test_a_body_over_64_kb_is_refused(target: ZegoEmulator) -> None:
    body = json.dumps({"code": 5000, "match": {"stream_id": "x" * 70_000}}).encode()

    reply = request(target, "POST", "/_emulator/faults", json_headers(target), body)

    assert status(reply) == 400
    assert target.admin.faults() == []


def test_a_known_admin_path_with_the_wrong_method_is_405(target: ZegoEmulator) -> None:
    reply = request(target, "PUT", "/_emulator/faults", loopback(target))

    assert status(reply) == 405
    assert "GET, POST, DELETE" in body_json(reply)["error"] or "DELETE, GET, POST" in body_json(reply)["error"]


def test_a_flood_of_large_requests_keeps_the_log_and_memory_bounded(target: ZegoEmulator) -> None:
    """1,000 requests of 60 KB (60 MB in) leave at most a few MB behind: values are cut, the log is bounded."""
    connection = http.client.HTTPConnection("127.0.0.1", target.port, timeout=SOCKET_TIMEOUT)
    padding = "p" * 60_000  # a 60 KB query, just under the 64 KB request line limit

    def flood(count: int) -> None:
        for number in range(count):
            connection.request("GET", f"/?Action={CLEAR}&Pad={padding}&StreamId=s{number}")
            reply = connection.getresponse()
            reply.read()
            assert reply.status == 200

    tracemalloc.start()
    try:
        flood(200)  # warm up: threads, buffers and urllib's 128-entry urlsplit cache reach their size
        before, _ = tracemalloc.get_traced_memory()
        flood(1_000)
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        connection.close()

    assert len(target.state.requests()) == 1_200
    assert target.state.log_bytes <= LOG_BYTES
    assert after - before < 8 * 1024 * 1024, f"grew by {(after - before) / 1e6:.1f} MB over 1,000 requests of 60 KB"


def test_the_request_log_is_bounded_in_bytes() -> None:
    state = EmulatorState(APP_ID, log_bytes=10_000)
    for number in range(100):
        state.record({"action": CLEAR, "n": number, "pad": "x" * 1_000})

    kept = state.requests()
    assert state.log_bytes <= 10_000
    assert 5 <= len(kept) < 10
    assert kept[-1]["n"] == 99


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
FAULT_LIKE = st.dictionaries(
    st.sampled_from(["match", "skip", "count", "probability", "seed", "effect", *EFFECTS, "other"]),
    JSON_VALUES,
    max_size=5,
)


@settings(max_examples=300, deadline=None)
@given(fault=FAULT_LIKE | JSON_VALUES)
def test_any_fault_body_is_either_a_fault_or_a_one_line_refusal(fault: Any) -> None:
    book = FaultBook()
    try:
        described = book.add(fault)
    except ValidationError as error:
        problem = problem_of(error)
        assert problem and "\n" not in problem
        assert book.describe() == []
    else:
        assert len(set(described) & set(EFFECTS)) == 1
        json.dumps(described, allow_nan=False)  # what the admin route answers is JSON


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200) | st.text(alphabet='[]{}":,0123456789eE.-+ NaInfity\\tru', max_size=200))
def test_strict_json_either_parses_to_finite_json_or_refuses_with_a_value_error(data: bytes | str) -> None:
    try:
        value = strictjson.loads(data)
    except ValueError as error:
        assert "\n" not in str(error)
    else:
        json.dumps(value, allow_nan=False)  # finite, round-trips


# --- secrets in logs --------------------------------------------------------------------------


def test_the_access_log_never_shows_the_signature_nonce_or_secret(
    target: ZegoEmulator, raw_for: Callable[..., RawZego], caplog: pytest.LogCaptureFixture
) -> None:
    zego = raw_for(target)
    sent = [
        zego.params(CLEAR, StreamId="s"),
        zego.params(CLEAR, StreamId="s", Leak=SECRET),
        zego.params(SECRET),  # an Action quoted back in the error message
    ]
    with caplog.at_level(logging.DEBUG):
        for params in sent:
            zego.send(params)
        query = "&".join(f"{name}={value}" for name, value in sent[0].items())
        exchange(target, f"GET /?{query} HTTP/9.9 junk\r\n\r\n".encode())  # an error line quoting the request
        exchange(target, f"BREW /{SECRET}?{query} HTTP/1.1\r\n\r\n".encode())

    # The emulator's own log lines only: urllib3's are the client's concern (and its tests').
    access_log = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("zego_provider.emulator"))
    text = access_log + json.dumps(target.state.requests())
    assert '"GET /?<query> HTTP/1.1" 200' in access_log  # the access log did log the requests
    for params in sent:
        assert params["Signature"] not in text
        assert params["SignatureNonce"] not in text
    assert SECRET not in text


# --- replay -----------------------------------------------------------------------------------


def test_a_replayed_request_is_refused_and_changes_nothing(zego: RawZego) -> None:
    params = zego.params(CREATE, StreamId="s", CDNUrl=URL)
    assert zego.send(params).json()["Code"] == 0
    zego.code(CLEAR, StreamId="s")

    replayed = zego.send(params).json()

    assert replayed["Code"] == 3
    assert "already used" in replayed["Message"]


def test_a_nonce_reused_for_another_action_and_stream_is_refused(zego: RawZego, admin) -> None:
    first = zego.params(CLEAR, StreamId="one")
    assert zego.send(first).json()["Code"] == 0
    # The signature covers AppId, nonce, secret and Timestamp only: the attacker keeps those.
    forged = zego.params(CREATE, StreamId="other", CDNUrl=URL)
    forged.update({name: first[name] for name in ("SignatureNonce", "Timestamp", "Signature")})

    assert zego.send(forged).json()["Code"] == 3
    assert admin.streams() == {}


def test_a_refused_signature_does_not_burn_the_nonce(zego: RawZego) -> None:
    params = zego.params(CLEAR, StreamId="s")
    assert zego.send({**params, "Signature": "0" * 32}).json()["Code"] == 100000005

    assert zego.send(params).json()["Code"] == 0


def test_used_nonces_are_forgotten_once_their_signature_expired(fake_clock: FakeClock) -> None:
    state = EmulatorState(APP_ID, clock=fake_clock)
    assert state.accept_nonce("ffffffffffffffff", fake_clock.now)
    assert not state.accept_nonce("ffffffffffffffff", fake_clock.now)

    for number in range(2_000):
        fake_clock.advance(1.0)
        assert state.accept_nonce(f"{number:016x}", fake_clock.now)

    assert state.nonces_remembered <= NONCE_WINDOW + 2  # one a second, kept for the window only


# --- the state file -----------------------------------------------------------------------


def serve(*args: str) -> list[str]:
    return ["--app-id", str(APP_ID), "--server-secret", SECRET, "--port", "0", *args]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        pytest.param(b"{half a document", "unreadable", id="bad JSON"),
        pytest.param(b"[" * 50_000 + b"]" * 50_000, "nested deeper", id="nested 50,000 deep"),
        pytest.param(b'{"format": 1, "rules": [], "sequences": [], "x": 1e400}', "out of range", id="1e400"),
        pytest.param(b'{"format": 1, "rules": [], "sequences": [], "x": NaN}', "non-finite", id="NaN"),
        pytest.param(b'{"format": 2, "rules": [], "sequences": []}', "unsupported format", id="unknown format"),
        pytest.param(b'{"format": 1, "rules": {}, "sequences": []}', "rules", id="rules not a list"),
        pytest.param(
            b'{"format": 1, "rules": [{"stream_id": "s", "cdn_url": "u", "status": "gone"}], "sequences": []}',
            "rules.0.status",
            id="unknown rule status",
        ),
        pytest.param(
            b'{"format": 1, "rules": [], "sequences": [{"stream_id": "s", "sequence": "7", "time": 1.0}]}',
            "sequences.0.sequence",
            id="sequence as text",
        ),
        pytest.param(b'{"format": 1, "app_id": 42, "rules": [], "sequences": []}', "AppId 42", id="another AppId"),
        pytest.param(b"\xff\xfe\x00", "not UTF-8", id="not UTF-8"),
        pytest.param(b"[]", "document", id="an array"),
        pytest.param(b'{"format": 1, "rules": [], "sequences": [], "a\\nb": 1}', '"a\\nb"', id="a key with a newline"),
    ],
)
def test_a_damaged_state_file_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, problem: str
) -> None:
    state_file = tmp_path / "state.json"
    state_file.write_bytes(content)

    assert main(serve("--state-file", str(state_file))) == 2

    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("zego emulator: ")
    assert problem in err
    assert "Traceback" not in err


def test_a_second_emulator_on_the_same_state_file_is_refused(
    make_emulator: Callable[..., ZegoEmulator], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state_file = tmp_path / "state.json"
    first = make_emulator(rate_limit=None, state_file=state_file)

    assert main(serve("--state-file", str(state_file))) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "in use by another emulator" in err
    with pytest.raises(StateFileError, match="in use"):
        ZegoEmulator(APP_ID, SECRET, state_file=state_file)

    first.stop()  # the lock goes with it
    make_emulator(rate_limit=None, state_file=state_file)


def test_leftover_temporary_files_are_removed_at_start(
    make_emulator: Callable[..., ZegoEmulator], tmp_path: Path
) -> None:
    state_file = tmp_path / "state.json"
    leftover = tmp_path / ".state.json.abc123.tmp"
    leftover.write_text("{half", encoding="utf-8")
    unrelated = tmp_path / ".other.json.abc123.tmp"
    unrelated.write_text("{}", encoding="utf-8")

    make_emulator(rate_limit=None, state_file=state_file)

    assert not leftover.exists()
    assert unrelated.exists()


def test_a_failed_write_fails_the_request_and_memory_agrees_with_the_file(
    make_emulator: Callable[..., ZegoEmulator], raw_for: Callable[..., RawZego], tmp_path: Path
) -> None:
    state_file = tmp_path / "state.json"
    emulator = make_emulator(rate_limit=None, state_file=state_file)
    zego = raw_for(emulator)
    assert zego.code(CREATE, StreamId="kept", CDNUrl=URL) == 0
    saved = state_file.read_bytes()
    state_file.unlink()
    state_file.mkdir()  # the atomic rename onto a directory fails: every write fails from now on

    refused = zego.call(CREATE, StreamId="new", CDNUrl=URL)
    publish = requests.post(f"{emulator.url}/_emulator/streams/kept/publish", timeout=5)

    assert refused["Code"] == 5000
    assert "cannot write the state file" in refused["Message"]
    assert publish.status_code == 500
    assert "nothing changed" in publish.json()["error"]
    assert emulator.admin.streams() == {"kept": [{"cdn_url": URL, "status": "scheduled"}]}
    state_file.rmdir()
    state_file.write_bytes(saved)
    assert zego.code(CREATE, StreamId="new", CDNUrl=URL) == 0  # works again once the file is writable
    emulator.stop()
    assert set(json.loads(state_file.read_text())["rules"][i]["stream_id"] for i in range(2)) == {"kept", "new"}


def test_a_failed_write_changes_nothing_in_the_backend(tmp_path: Path, fake_clock: FakeClock) -> None:
    state_file = tmp_path / "state.json"
    state = EmulatorState(APP_ID, clock=fake_clock, state_file=state_file)
    assert state.create_rule("s", URL, 10).code == 0
    state_file.unlink()
    state_file.mkdir()

    with pytest.raises(StateWriteError, match="cannot write the state file"):
        state.create_rule("s", URL + "/2", 11)
    with pytest.raises(StateWriteError):
        state.reset()

    assert state.snapshot() == {"s": [{"cdn_url": URL, "status": "scheduled"}]}
    state_file.rmdir()
    assert state.create_rule("s", URL + "/2", 11).code == 0  # Sequence 11 was never consumed
    state.close()
    assert [path.name for path in tmp_path.iterdir() if path.suffix == ".tmp"] == []


def test_a_state_file_written_by_the_old_format_still_loads(
    make_emulator: Callable[..., ZegoEmulator], tmp_path: Path
) -> None:
    state_file = tmp_path / "state.json"
    state_file.write_text(
        json.dumps(
            {
                "format": 1,
                "rules": [{"app_id": APP_ID, "stream_id": "s", "cdn_url": URL, "status": "active"}],
                "sequences": [{"app_id": APP_ID, "stream_id": "s", "sequence": 5, "time": time.time()}],
            }
        ),
        encoding="utf-8",
    )

    emulator = make_emulator(rate_limit=None, state_file=state_file)

    assert emulator.admin.streams() == {"s": [{"cdn_url": URL, "status": "active"}]}


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def zego_rule(target: ZegoEmulator, raw_for: Callable[..., RawZego]) -> None:
    """One rule on `target`, so a test can see that a refused reset did not happen."""
    assert raw_for(target).code(CREATE, StreamId="kept", CDNUrl=URL) == 0


def test_concurrent_admin_and_api_traffic_does_not_break_the_server(
    target: ZegoEmulator, raw_for: Callable[..., RawZego]
) -> None:
    errors: list[BaseException] = []

    def hammer() -> None:
        try:
            zego = raw_for(target)
            for number in range(20):
                zego.code(CREATE, StreamId=f"c{number}", CDNUrl=URL)
                request(target, "POST", "/_emulator/config", json_headers(target), b'{"rate_limit": NaN}')
        except BaseException as error:  # reported on the test's thread
            errors.append(error)

    workers = [threading.Thread(target=hammer) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)

    assert errors == []
    assert target.admin.health()["status"] == "ok"
