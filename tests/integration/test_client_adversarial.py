"""The client under abuse, over real loopback sockets: broken replies, redirects, tricks, leaks.

Each test is one probe from issue 11 and what it must end in. Servers are a raw socket
(`raw_http`) or the in-process emulator; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import io
import logging
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devkit.settings_env import without_settings
from tests.support.settings import config_of
from zego_provider import ZegoApiError, ZegoConfigError, ZegoServerError, ZegoTransportError
from zego_provider.client import ZegoClient
from zego_provider.emulator import ZegoEmulator
from zego_provider.signing import ZegoSignatureAuth, sign

from . import raw_http
from .conftest import APP_ID, SERVER_SECRET

CLIENT_SETTINGS: dict[str, Any] = {"rate_limit": None, "connect_timeout": 1.0, "timeout": 0.5}


def client_for(url: str, secret: str = SERVER_SECRET, **values: Any) -> ZegoClient:
    return ZegoClient(config_of(APP_ID, secret, endpoint=url, **{**CLIENT_SETTINGS, **values}), sleep=lambda _: None)


BROKEN_REPLIES: dict[str, tuple[Callable[[socket.socket], None], str]] = {
    "a reply that ends mid-body": (raw_http.cut_mid_body, "reply cut short"),
    "a connection reset after the request was read": (raw_http.reset_after_request, "connection reset"),
    "a connection closed without a reply": (raw_http.close_without_reply, "connection closed without a reply"),
    "a bad chunk size": (raw_http.bad_chunk_size, "badly chunked"),
    "a chunked body cut short": (raw_http.chunked_cut_short, "reply cut short"),
    "a body that claims gzip and is not": (raw_http.bad_gzip, "could not be decoded"),
    "150 reply headers": (raw_http.too_many_headers, "malformed reply"),
    "a 70 KB header line": (raw_http.header_line_too_long, "too long"),
    "a status line that is not HTTP": (raw_http.garbage_status_line, "ConnectionError"),
    "a reply that is JSON but not ZEGO's": (raw_http.not_zego_json, "not ZEGO JSON"),
    "no reply within the read timeout": (raw_http.stall(1.5), "timed out"),
    "a reply trickling a byte at a time": (raw_http.trickle, "still arriving"),
    "a 4 MiB body": (raw_http.huge_body, "reply over 1048576 bytes"),
}


@pytest.mark.parametrize(("behaviour", "kind"), BROKEN_REPLIES.values(), ids=BROKEN_REPLIES.keys())
def test_a_broken_reply_is_retried_and_the_retry_succeeds(
    behaviour: Callable[[socket.socket], None], kind: str
) -> None:
    with raw_http.raw_server(behaviour, raw_http.ok) as server, client_for(server.url) as client:
        response = client.create_cdn_transfer_rule("s1", "rtmp://cdn.example.com/live/s1")
    assert response.ok and response.request_id == "raw-ok"
    assert len(server.requests) == 2


@pytest.mark.parametrize(("behaviour", "kind"), BROKEN_REPLIES.values(), ids=BROKEN_REPLIES.keys())
def test_a_lasting_broken_reply_ends_in_a_transport_error_naming_its_kind(
    behaviour: Callable[[socket.socket], None], kind: str
) -> None:
    with (
        raw_http.raw_server(behaviour) as server,
        client_for(server.url, max_attempts=2) as client,
        pytest.raises(ZegoTransportError) as caught,
    ):
        client.delete_cdn_transfer_rule("s1", "rtmp://cdn.example.com/live/s1")
    assert kind in str(caught.value)
    assert isinstance(caught.value, ZegoServerError) and caught.value.retryable
    assert "Signature" not in str(caught.value) and SERVER_SECRET not in str(caught.value)
    assert len(server.requests) == 2


def test_good_replies_keep_one_pooled_connection(emulator: ZegoEmulator, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="urllib3.connectionpool"), client_for(emulator.url) as client:
        for index in range(5):
            client.create_cdn_transfer_rule("s1", f"rtmp://cdn.example.com/live/{index}")
    assert [r.getMessage() for r in caplog.records].count(f"Starting new HTTP connection (1): {emulator.url[7:]}") == 1
    assert sum("Starting new" in r.getMessage() for r in caplog.records) == 1


def test_a_refused_connection_is_a_transport_error() -> None:
    port = raw_http.unused_loopback_port()
    with (
        client_for(f"http://127.0.0.1:{port}", max_attempts=2) as client,
        pytest.raises(ZegoTransportError, match="connection refused"),
    ):
        client.clear_cdn_transfer_rule("s1")


def test_tls_to_a_server_that_speaks_plain_http_is_a_transport_error() -> None:
    with (
        raw_http.raw_server(raw_http.ok) as server,
        client_for(f"https://127.0.0.1:{server.port}", max_attempts=2) as client,
        pytest.raises(ZegoTransportError, match=r"TLS handshake or certificate check failed \(SSLError\)"),
    ):
        client.clear_cdn_transfer_rule("s1")


def test_a_redirect_to_another_loopback_port_is_not_followed() -> None:
    with raw_http.raw_server(raw_http.ok) as elsewhere:
        location = f"{elsewhere.url}/?Signature=stolen"
        with (
            raw_http.raw_server(raw_http.redirect_to(location)) as endpoint,
            client_for(endpoint.url) as client,
            pytest.raises(ZegoApiError) as caught,
        ):
            client.clear_cdn_transfer_rule("s1")
    assert not caught.value.retryable
    assert len(endpoint.requests) == 1 and elsewhere.requests == []
    assert "HTTP 307" in str(caught.value) and endpoint.url in str(caught.value)
    assert "stolen" not in str(caught.value)


ENDPOINT_TRICKS = [
    "http://evil.example\\@127.0.0.1",
    "http://127.0.0.1\\@evil.example",
    "http://user@127.0.0.1",
    "https://a@b",
    "http://127\u30020\u30020\u30021",
    "http://0x7f.1",
    "http://127.1",
    "http://2130706433",
    "http://127.0.0.1.evil.example",
    "http://127.0.0.1:8080/api",
    "http:/127.0.0.1",
]


@pytest.mark.parametrize("endpoint", ENDPOINT_TRICKS)
def test_an_endpoint_trick_is_refused_before_any_connection(endpoint: str) -> None:
    with pytest.raises(ZegoConfigError) as caught:
        ZegoClient(config_of(APP_ID, SERVER_SECRET, endpoint=endpoint, rate_limit=None))
    assert [name for name, _ in caught.value.problems] == ["endpoint"]
    with pytest.raises(ZegoConfigError) as from_env:
        ZegoClient.from_env({"ZEGO_APP_ID": str(APP_ID), "ZEGO_SERVER_SECRET": "x", "ZEGO_API_ENDPOINT": endpoint})
    assert [name for name, _ in from_env.value.problems] == ["ZEGO_API_ENDPOINT"]


# --- secrets in logs -------------------------------------------------------------------


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.stream = io.StringIO()
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        # Everything in the process: the client, urllib3, requests, the emulator's access log, the root.
        self.stream.write(self.format(record) + "\n")


@pytest.fixture
def everything_logged() -> Iterator[Capture]:
    """DEBUG on the root and on every logger that exists, one handler capturing all."""
    capture = Capture()
    loggers = [logging.getLogger(), *map(logging.getLogger, list(logging.root.manager.loggerDict))]
    levels = [(logger, logger.level, logger.propagate) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(capture)
    try:
        yield capture
    finally:
        logging.getLogger().removeHandler(capture)
        for logger, level, propagate in levels:
            logger.setLevel(level)
            logger.propagate = propagate


@pytest.fixture
def sent_credentials(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    """Every public-parameter set the client signs, recorded as it is made."""
    made: list[dict[str, str]] = []
    original = ZegoSignatureAuth.public_params

    def recording(self: ZegoSignatureAuth) -> dict[str, str]:
        params = original(self)
        made.append(params)
        return params

    monkeypatch.setattr(ZegoSignatureAuth, "public_params", recording)
    return made


def test_no_secret_signature_or_nonce_reaches_any_log_at_debug(
    everything_logged: Capture,
    sent_credentials: list[dict[str, str]],
    make_emulator: Callable[..., ZegoEmulator],
) -> None:
    emulator = make_emulator(rate_limit=None)
    admin = emulator.admin
    errors: list[str] = []
    with client_for(emulator.url) as client:
        client.create_cdn_transfer_rule("s1", "rtmp://cdn.example.com/live/s1?token=t")
        admin.inject(code=5000, count=1, action="CreatCDNTransferRule")
        client.create_cdn_transfer_rule("s1", "rtmp://cdn.example.com/live/s2")
        admin.inject(drop=True, count=1, action="DeleteCDNTransferRule")
        client.delete_cdn_transfer_rule("s1", "rtmp://cdn.example.com/live/s1")
        admin.inject(malformed=True, count=1, action="ClearCDNTransferRule")
        admin.inject(http_status=503, count=1, action="ClearCDNTransferRule")
        client.clear_cdn_transfer_rule("s1")
        admin.inject(code=5004, count=1)
        with pytest.raises(ZegoApiError) as refused:
            client.create_cdn_transfer_rule("s1", "rtmp://cdn.example.com/live/s3")
        errors.append(f"{refused.value} {refused.value!r}")
        admin.inject(drop=True, count=10)
        with pytest.raises(ZegoTransportError) as dropped:
            client.clear_cdn_transfer_rule("s1")
        errors.append(f"{dropped.value} {dropped.value!r} {client!r} {vars(client)!r} {vars(dropped.value)!r}")
        admin.clear_faults()
    with client_for(emulator.url, "a-wrong-made-up-secret") as wrong:
        with pytest.raises(ZegoApiError) as unauthorised:
            wrong.clear_cdn_transfer_rule("s1")
        errors.append(f"{unauthorised.value} {unauthorised.value!r}")
    logged = everything_logged.stream.getvalue()
    received = admin.requests()
    assert len(sent_credentials) >= 12 and len(received) >= 12
    assert "GET /?" in logged  # urllib3's request line was captured, so the scan means something
    secrets = {SERVER_SECRET, "a-wrong-made-up-secret"}
    for params in sent_credentials:
        secrets |= {params["Signature"], params["SignatureNonce"]}
    for entry in received:  # what the emulator got, signed again from the logged values
        nonce, timestamp = entry["params"].get("SignatureNonce"), entry["params"].get("Timestamp")
        if nonce and timestamp:
            secrets |= {nonce, sign(APP_ID, nonce, SERVER_SECRET, int(timestamp))}
    leaks = sorted(secret for secret in secrets if secret in logged or any(secret in text for text in errors))
    assert leaks == []


# --- nonces ------------------------------------------------------------------------------


def test_every_attempt_goes_out_with_a_new_nonce_and_none_is_refused_as_a_replay(
    client: ZegoClient, emulator: ZegoEmulator, sent_credentials: list[dict[str, str]]
) -> None:
    emulator.admin.inject(code=5000, count=3)
    with client_for(emulator.url) as fast:
        for index in range(5):
            fast.create_cdn_transfer_rule("s1", f"rtmp://cdn.example.com/live/{index}")
    nonces = [params["SignatureNonce"] for params in sent_credentials]
    assert len(nonces) == 8 and len(set(nonces)) == 8
    # The emulator refuses a nonce it has seen (code 3): every attempt was answered as sent.
    assert sorted(entry["code"] for entry in emulator.admin.requests()) == [0] * 5 + [5000] * 3


# --- settings abuse through a real process environment ----------------------------------

UNDECODABLE = {
    "ServerSecret with an invalid UTF-8 byte": (b"ZEGO_SERVER_SECRET", b"made-up-secret-\xff\xfe"),
    "ServerSecret with an escape sequence": (b"ZEGO_SERVER_SECRET", b"made-up-secret-\x1b[2J"),
    "AppId with an invalid UTF-8 byte": (b"ZEGO_APP_ID", b"12\xff"),
    "endpoint with an invalid UTF-8 byte": (b"ZEGO_API_ENDPOINT", b"http://127.0.0.1:9\xff"),
}


@pytest.mark.parametrize(("variable", "value"), UNDECODABLE.values(), ids=UNDECODABLE.keys())
def test_zego_cdn_refuses_an_undecodable_setting_with_exit_2_and_one_line(variable: bytes, value: bytes) -> None:
    import os
    import subprocess
    import sys

    with raw_http.raw_server(raw_http.ok) as server:
        env = {
            **without_settings(os.environb),
            b"ZEGO_APP_ID": str(APP_ID).encode(),
            b"ZEGO_SERVER_SECRET": SERVER_SECRET.encode(),
            b"ZEGO_API_ENDPOINT": server.url.encode(),
            variable: value,
        }
        done = subprocess.run(
            [sys.executable, "-m", "zego_provider.cli", "clear", "s"], env=env, capture_output=True, timeout=60
        )
    assert done.returncode == 2, done.stderr
    assert done.stdout == b"" and done.stderr.count(b"\n") == 1
    assert b"Traceback" not in done.stderr and variable in done.stderr
    assert value not in done.stderr and b"made-up-secret" not in done.stderr
    assert server.requests == []


def test_a_hostile_message_cannot_forge_lines_in_zego_cdn_output(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from zego_provider.cli import main

    hostile = {"Code": 5005, "Message": "no\nzego-cdn: ok [RequestId fake]\x1b[2J", "RequestId": "r\n1", "Data": None}
    with raw_http.raw_server(raw_http.zego_reply(hostile)) as server:
        monkeypatch.setenv("ZEGO_APP_ID", str(APP_ID))
        monkeypatch.setenv("ZEGO_SERVER_SECRET", SERVER_SECRET)
        monkeypatch.setenv("ZEGO_API_ENDPOINT", server.url)
        assert main(["clear", "s1"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert "\x1b" not in captured.err and "5005" in captured.err
