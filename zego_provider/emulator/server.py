"""The emulator's HTTP front: checks ZEGO-style GET requests like the gateway, answers ZEGO JSON, serves /_emulator/.

It parses and renders; the rules live in `EmulatorState`, the faults in a `FaultBook`.
Checks run in the gateway's order (signature and friends, a replayed nonce, then the rate
limit, then the action's own parameters), so a refused signature costs neither a rate token
nor a Sequence. The action names and the parameter rules are written out here again on
purpose, and the signature is checked with the emulator's own copy of ZEGO's formula: the
emulator shares with the client the return-code table and the settings' facts (the loopback
check, the AppId bound), never its signing, encoding or action names, so a client bug cannot
hide here.

Requests under /_emulator/ go to the admin route table (`routes.py`).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import re
import socket
import socketserver
import struct
import threading
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydantic import SecretStr

from ..config import is_loopback_host
from ..errors import (
    ACTION_MISSING,
    ACTION_UNSUPPORTED,
    APP_ID_FORMAT,
    APP_UNKNOWN,
    BAD_CDN_URL,
    BAD_IS_TEST,
    BAD_STREAM_ID,
    INTERNAL_ERROR,
    INVALID_REQUEST,
    NONCE_MISSING,
    RATE_LIMITED,
    SIGNATURE_EXPIRED,
    SIGNATURE_MISSING,
    SIGNATURE_WRONG,
    SUCCESS,
    TIMESTAMP_MALFORMED,
    TIMESTAMP_MISSING,
    VERIFICATION_FAILED,
    VERSION_MISSING,
    VERSION_UNSUPPORTED,
    WRONG_INPUT,
    meaning_of,
)
from ..redaction import redact
from ..settings import MAX_APP_ID
from .faults import (
    CodeEffect,
    CutEffect,
    DelayEffect,
    DropEffect,
    FaultBook,
    FaultHit,
    HttpStatusEffect,
    MalformedEffect,
    ResetEffect,
)
from .routes import ADMIN_PREFIX, MAX_QUERY_FIELDS, AdminContext, HttpProblem, answer_admin
from .signature import expected_signature
from .state import EmulatorState, Outcome
from .statefile import StateWriteError

log = logging.getLogger(__name__)

CREATE = "CreatCDNTransferRule"  # sic: ZEGO's spelling
DELETE = "DeleteCDNTransferRule"
CLEAR = "ClearCDNTransferRule"
ACTIONS = (CREATE, DELETE, CLEAR)

MAX_TIMESTAMP_SKEW = 600
MAX_STREAM_ID = 256
MAX_BODY = 64 * 1024
MAX_LOGGED_VALUE = 1024
"""A parameter value is cut to this many characters in the request log (a StreamId has at most 256)."""
IDLE_TIMEOUT = 30.0
"""Seconds a connection may stay silent (idle keep-alive, or a request trickling in) before it is dropped."""
SECRET_PARAMS = frozenset({"Signature", "SignatureNonce"})
"""Never logged: with the Timestamp, a logged signature is a bearer token for 10 minutes."""

_CANONICAL_INT = re.compile(r"-?(0|[1-9][0-9]{0,18})")
_SEQUENCE = re.compile(r"-?[0-9]{1,19}")
_STREAM_ID = re.compile(r"[A-Za-z0-9~!@#$%^&*()_+=\-`;',.<>/\\]+")
_SPACE_OR_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_QUERY = re.compile(r"\?\S*")


def message_for(code: int, detail: str = "") -> str:
    """ZEGO's Message: "ok" on success, else the table's meaning plus what exactly was wrong."""
    if code == SUCCESS:
        return "ok"
    meaning = meaning_of(code)
    return f"{meaning}: {detail}" if detail else meaning


class EmulatorHTTPServer(ThreadingHTTPServer):
    """Serves one AppId on a loopback address; tracks connections so `close()` ends keep-alive ones."""

    daemon_threads = True
    block_on_close = False  # `close()` shuts connections down itself; never wait on an idle keep-alive

    def __init__(
        self,
        host: str,
        port: int,
        *,
        state: EmulatorState,
        server_secret: SecretStr,
        faults: FaultBook | None = None,
        idle_timeout: float = IDLE_TIMEOUT,
    ) -> None:
        if not is_loopback_host(host):
            raise ValueError(f"the emulator serves unsigned admin routes and binds loopback only, not {host!r}")
        bind_host = "127.0.0.1" if host == "localhost" else host
        self.address_family = socket.AF_INET6 if ":" in bind_host else socket.AF_INET
        self.state = state
        self.faults = faults if faults is not None else FaultBook()
        self.server_secret = server_secret
        self.idle_timeout = idle_timeout
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._resets: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        secret = server_secret.get_secret_value()
        self._secret = secret
        super().__init__((bind_host, port), ZegoRequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would call socket.getfqdn(): a DNS lookup we never want.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def reset_after_handling(self, request: socket.socket) -> None:
        """Close this connection with an RST (SO_LINGER 0) instead of a FIN once the handler is done."""
        request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with self._connections_lock:
            self._resets.add(request)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
            reset = request in self._resets
            self._resets.discard(request)
        if reset:
            self.close_request(request)  # no shutdown(SHUT_WR): that would send a FIN before the RST
        else:
            super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Not socketserver's traceback on stderr: a client that vanished mid-reply is routine here.
        log.debug("connection from %s ended with an error", client_address[0], exc_info=True)

    def hide_secret(self, text: str) -> str:
        """`text` without signature parameters or the ServerSecret (as is or URL-encoded): a client may send it."""
        return redact(text, (self._secret,))

    def redact(self, text: str) -> str:
        """`text` without query strings, signature parameters or the ServerSecret: safe for any log."""
        return self.hide_secret(_QUERY.sub("?<query>", text))

    def close(self) -> None:
        """Stop delays, end open connections, close the listening socket. Call after `shutdown()`."""
        self.stopping.set()
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already gone
                connection.shutdown(socket.SHUT_RDWR)
        self.server_close()


# --- the handler ------------------------------------------------------------------------


class ZegoRequestHandler(BaseHTTPRequestHandler):
    """One connection; HTTP/1.1 keep-alive, like the client's pooled session."""

    _arrived: float = 0.0
    """When the request being handled arrived (the state's rate clock)."""

    protocol_version = "HTTP/1.1"
    default_request_version = "HTTP/1.0"  # an unreadable request line still gets a status line and headers
    server_version = "ZegoEmulator/1"
    timeout = IDLE_TIMEOUT
    # Headers and body leave in one write when the handler flushes; with Nagle off, no
    # delayed-ACK stall (40 ms a request) between them.
    wbufsize = -1
    disable_nagle_algorithm = True

    @property
    def emulator(self) -> EmulatorHTTPServer:
        assert isinstance(self.server, EmulatorHTTPServer)
        return self.server

    def setup(self) -> None:
        # StreamRequestHandler.setup applies `timeout` to the socket: the server's, not the class default.
        self.timeout = self.emulator.idle_timeout  # type: ignore[misc]
        super().setup()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed HTTP (bad request line, huge headers, unknown method) gets a JSON error and a close.

        The standard handler answers an HTML page, without any status line when the request line was
        unreadable; a client parsing our replies deserves HTTP/1.1 and JSON here too.
        """
        self.close_connection = True
        status = HTTPStatus(code)
        self.log_error("code %d, message %s", code, message or status.phrase)
        self._send_json(status, {"error": self.emulator.redact(message or status.phrase)})

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        code_text = str(code.value) if isinstance(code, HTTPStatus) else str(code)
        self.log_message('"%s" %s %s', self.requestline, code_text, str(size))

    def log_message(self, format: str, *args: Any) -> None:
        if log.isEnabledFor(logging.DEBUG):  # redacting a 64 KB request line costs; only when it is shown
            log.debug("%s %s", self.address_string(), self.emulator.redact(format % args))

    # --- routing ------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def _dispatch(self, method: str) -> None:
        # The rate limit judges arrival times: taken before parsing and checking, which other
        # requests' threads may delay by a few milliseconds.
        self._arrived = self.emulator.state.rate_clock()
        try:
            body = self._read_body()
            target = urlsplit(self.path)
            if target.path == ADMIN_PREFIX or target.path.startswith(ADMIN_PREFIX + "/"):
                self._admin(method, target.path[len(ADMIN_PREFIX) :], target.query, body)
            elif target.path == "/":
                if method != "GET":
                    raise HttpProblem(HTTPStatus.METHOD_NOT_ALLOWED, "ZEGO's API takes GET requests")
                self._api(target.query)
            else:
                raise HttpProblem(HTTPStatus.NOT_FOUND, f"no such path {target.path[:100]!r}; the API is at /")
        except HttpProblem as problem:
            self._send_json(problem.status, {"error": str(problem)})
        except Exception:  # a bug of ours: answer it, never drop the connection
            log.exception("the emulator failed on %s", self.emulator.redact(self.requestline))
            self.close_connection = True
            self._send_json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "the emulator failed; see its log"})

    def _read_body(self) -> bytes:
        """Read the body (keep-alive needs it consumed); bodies come with a Content-Length or not at all."""
        if self.headers.get("Transfer-Encoding") is not None:
            self.close_connection = True  # the body's end is unknown: the connection cannot be reused
            raise HttpProblem(HTTPStatus.BAD_REQUEST, "Transfer-Encoding is not supported; send a Content-Length")
        lengths = self.headers.get_all("Content-Length") or []
        if len(lengths) > 1 or (lengths and not re.fullmatch(r"[0-9]{1,10}", lengths[0].strip())):
            self.close_connection = True
            raise HttpProblem(HTTPStatus.BAD_REQUEST, "bad Content-Length")
        length = int(lengths[0]) if lengths else 0
        if length > MAX_BODY:
            self.close_connection = True
            raise HttpProblem(HTTPStatus.BAD_REQUEST, f"the body is larger than {MAX_BODY} bytes")
        try:
            body = self.rfile.read(length) if length else b""
        except OSError:  # a body trickling in slower than the idle timeout
            self.close_connection = True
            raise HttpProblem(HTTPStatus.REQUEST_TIMEOUT, "the body did not arrive in time") from None
        if len(body) < length:
            self.close_connection = True
            raise HttpProblem(HTTPStatus.BAD_REQUEST, "the body ended before its Content-Length")
        return body

    # --- the ZEGO API -------------------------------------------------------------

    def _api(self, query: str) -> None:
        state = self.emulator.state
        request_id = state.new_request_id()
        try:
            parsed = parse_qs(query, keep_blank_values=True, max_num_fields=MAX_QUERY_FIELDS)
        except ValueError:
            parsed = {}
            outcome: Outcome | None = Outcome(WRONG_INPUT, f"more than {MAX_QUERY_FIELDS} parameters")
        else:
            repeated = sorted(name for name, values in parsed.items() if len(values) > 1)
            outcome = Outcome(WRONG_INPUT, f"{', '.join(repeated)[:200]} given more than once") if repeated else None
        params = {name: values[-1] for name, values in parsed.items()}
        entry: dict[str, Any] = {
            "time": state.clock(),
            "action": self._loggable(params["Action"]) if "Action" in params else None,
            "params": {
                self._loggable(name): self._loggable(value)
                for name, value in params.items()
                if name not in SECRET_PARAMS
            },
            "request_id": request_id,
            "fault": None,
        }
        fault = self.emulator.faults.take(params.get("Action"), params.get("StreamId"))
        if fault is not None:
            entry["fault"] = fault.describe()
            if isinstance(fault.effect, DelayEffect):
                self.emulator.stopping.wait(fault.effect.delay)
            elif not isinstance(fault.effect, CutEffect):
                self._answer_fault(fault, entry)
                return
        if outcome is None:
            outcome = self._handle(params)
        if fault is not None and isinstance(fault.effect, CutEffect):
            self._answer_cut(outcome, entry)
        else:
            self._answer(outcome, entry)

    def _loggable(self, text: str) -> str:
        text = self.emulator.hide_secret(text)
        return text if len(text) <= MAX_LOGGED_VALUE else text[:MAX_LOGGED_VALUE] + "..."

    def _handle(self, params: Mapping[str, str]) -> Outcome:
        refused = self._check_gateway(params)
        if refused is not None:
            return refused
        is_test = params.get("IsTest") == "true"
        if not self.emulator.state.admit(is_test=is_test, arrived=self._arrived):
            where = " in the test environment" if is_test else ""
            return Outcome(RATE_LIMITED, f"over the AppId's calls per second{where}")
        try:
            return self._apply_action(params, is_test)
        except StateWriteError as error:
            return Outcome(INTERNAL_ERROR, f"nothing changed: {error}")

    def _check_gateway(self, params: Mapping[str, str]) -> Outcome | None:
        """The public parameters, checked in the order the gateway documents its codes."""
        state = self.emulator.state
        app_id = params.get("AppId")
        if app_id is None or not _CANONICAL_INT.fullmatch(app_id) or not 0 <= int(app_id) <= MAX_APP_ID:
            return Outcome(APP_ID_FORMAT, "AppId must be an unsigned 32-bit integer")
        if int(app_id) != state.app_id:
            return Outcome(APP_UNKNOWN, f"AppId {app_id} is not configured on this emulator")
        timestamp = params.get("Timestamp")
        if not timestamp:
            return Outcome(TIMESTAMP_MISSING)
        if not _CANONICAL_INT.fullmatch(timestamp):
            return Outcome(TIMESTAMP_MALFORMED, "Timestamp must be Unix seconds, an integer")
        skew = int(timestamp) - state.clock()
        if abs(skew) > MAX_TIMESTAMP_SKEW:
            return Outcome(
                SIGNATURE_EXPIRED, f"Timestamp is {abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} the server"
            )
        nonce = params.get("SignatureNonce")
        if not nonce:
            return Outcome(NONCE_MISSING)
        signature = params.get("Signature")
        if not signature:
            return Outcome(SIGNATURE_MISSING)
        version = params.get("SignatureVersion")
        if not version:
            return Outcome(VERSION_MISSING)
        if version != "2.0":
            return Outcome(VERSION_UNSUPPORTED, "only SignatureVersion 2.0 is supported")
        secret = self.emulator.server_secret.get_secret_value()
        expected = expected_signature(int(app_id), nonce, secret, int(timestamp))
        if not hmac.compare_digest(signature.encode("utf-8", "replace"), expected.encode()):
            return Outcome(SIGNATURE_WRONG)
        if not state.accept_nonce(nonce, int(timestamp)):
            return Outcome(VERIFICATION_FAILED, "SignatureNonce already used: a replayed request")
        action = params.get("Action")
        if not action:
            return Outcome(ACTION_MISSING)
        if action not in ACTIONS:
            return Outcome(ACTION_UNSUPPORTED, f"unknown Action {action[:100]!r}")
        if params.get("IsTest", "false") not in ("true", "false"):
            return Outcome(BAD_IS_TEST, 'IsTest must be "true" or "false"')
        return None

    def _apply_action(self, params: Mapping[str, str], is_test: bool) -> Outcome:
        state = self.emulator.state
        action = params["Action"]
        stream_id = params.get("StreamId")
        if stream_id is None:
            return Outcome(WRONG_INPUT, "StreamId is required")
        if not stream_id or len(stream_id) > MAX_STREAM_ID or not _STREAM_ID.fullmatch(stream_id):
            return Outcome(
                BAD_STREAM_ID,
                f"StreamId must be 1 to {MAX_STREAM_ID} letters, digits or ~!@#$%^&*()_+=-`;',.<>/\\",
            )
        prefix = f"zegotest-{state.app_id}-"
        if is_test and not stream_id.startswith(prefix):
            return Outcome(BAD_STREAM_ID, f"with IsTest=true the StreamId must start with {prefix!r}")
        sequence = params.get("Sequence")
        if sequence is None:
            return Outcome(INVALID_REQUEST, "Sequence is required")
        if not _SEQUENCE.fullmatch(sequence):
            return Outcome(INVALID_REQUEST, "Sequence must be an integer")
        if action == CLEAR:
            return state.clear_rules(stream_id, int(sequence))
        cdn_url = params.get("CDNUrl")
        if cdn_url is None:
            return Outcome(WRONG_INPUT, "CDNUrl is required")
        problem = _cdn_url_problem(cdn_url)
        if problem:
            return Outcome(BAD_CDN_URL, problem)
        if action == CREATE:
            return state.create_rule(stream_id, cdn_url, int(sequence))
        return state.delete_rule(stream_id, cdn_url, int(sequence))

    def _reply(self, outcome: Outcome, entry: dict[str, Any], *, note: str = "") -> bytes:
        # A detail may quote a parameter; should a client have sent the secret there, it goes no further.
        message = self.emulator.hide_secret(message_for(outcome.code, outcome.detail))
        entry.update(code=outcome.code, message=message + note, http_status=HTTPStatus.OK.value)
        self.emulator.state.record(entry)  # before replying: a test reading the log right after sees it
        reply = {"Code": outcome.code, "Message": message, "RequestId": entry["request_id"], "Data": None}
        return self._json_bytes(reply)

    def _answer(self, outcome: Outcome, entry: dict[str, Any]) -> None:
        body = self._reply(outcome, entry)
        self._send(HTTPStatus.OK, body, "application/json; charset=utf-8", request_id=entry["request_id"])

    def _answer_cut(self, outcome: Outcome, entry: dict[str, Any]) -> None:
        """The request was processed; its reply announces its full length, stops halfway and the connection closes."""
        body = self._reply(outcome, entry, note=" (reply cut mid-body)")
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Request-Id", entry["request_id"])
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.close_connection = True

    def _answer_fault(self, fault: FaultHit, entry: dict[str, Any]) -> None:
        state = self.emulator.state
        effect = fault.effect
        if isinstance(effect, CodeEffect):
            self._answer(Outcome(effect.code, "injected by the emulator"), entry)
        elif isinstance(effect, DropEffect):
            entry.update(code=None, message="connection dropped", http_status=None)
            state.record(entry)
            self.close_connection = True  # no reply at all: the client sees the connection close
        elif isinstance(effect, ResetEffect):
            entry.update(code=None, message="connection reset", http_status=None)
            state.record(entry)
            self.emulator.reset_after_handling(self.connection)
            self.close_connection = True
        elif isinstance(effect, MalformedEffect):
            entry.update(code=None, message="malformed body", http_status=HTTPStatus.OK.value)
            state.record(entry)
            self._send(HTTPStatus.OK, b"<html>not JSON", "text/html", request_id=entry["request_id"])
        elif isinstance(effect, HttpStatusEffect):
            status = effect.http_status
            entry.update(code=None, message=f"HTTP {status}", http_status=status)
            state.record(entry)
            self._send(status, f"injected HTTP {status}\n".encode(), "text/plain", request_id=entry["request_id"])
        else:  # pragma: no cover - every effect is handled above
            raise TypeError(f"unhandled fault effect {type(effect).__name__}")

    # --- admin routes -------------------------------------------------------------

    def _admin(self, method: str, path: str, query: str, body: bytes) -> None:
        headers = {name: self.headers.get(name) for name in ("Host", "Origin", "Content-Type")}
        status, reply = answer_admin(
            AdminContext(self.emulator.state, self.emulator.faults), method, path, query, headers, body
        )
        self._send_json(status, reply)

    # --- rendering ----------------------------------------------------------------

    @staticmethod
    def _json_bytes(document: Any) -> bytes:
        # allow_nan=False: never answer something that is not JSON; a newline, so curl output ends its line.
        return json.dumps(document, ensure_ascii=False, allow_nan=False).encode("utf-8") + b"\n"

    def _send_json(self, status: HTTPStatus, document: Any, *, request_id: str | None = None) -> None:
        self._send(status, self._json_bytes(document), "application/json; charset=utf-8", request_id=request_id)

    def _send(self, status: int, body: bytes, content_type: str, *, request_id: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if request_id is not None:
            self.send_header("X-Request-Id", request_id)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


def _cdn_url_problem(cdn_url: str) -> str:
    """Why ZEGO would call this an invalid CDN address, or "" when it is an rtmp:// URL with a host."""
    if _SPACE_OR_CONTROL.search(cdn_url):
        return "CDNUrl must not contain whitespace or control characters"
    try:
        parts = urlsplit(cdn_url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return "CDNUrl is not a well-formed URL"
    if parts.scheme != "rtmp":
        return "CDNUrl must be an rtmp:// URL"
    if not parts.hostname:
        return "CDNUrl has no host"
    return ""
