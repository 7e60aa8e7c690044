"""The emulator's HTTP front: checks ZEGO-style GET requests like the gateway, answers ZEGO JSON, serves /_emulator/.

It parses and renders; the rules live in `EmulatorState`. Checks run in the gateway's
order (signature and friends, then the rate limit, then the action's own parameters), so
a refused signature costs neither a rate token nor a Sequence. The action names and the
parameter rules are written out here again on purpose: the emulator shares no code with
the client except `sign()` and the return-code table, so a client bug cannot hide here.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import json
import logging
import re
import socket
import socketserver
import threading
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import SecretStr

from ..errors import meaning_of
from ..signing import sign
from .state import EmulatorState, FaultHit, Outcome

log = logging.getLogger(__name__)

CREATE = "CreatCDNTransferRule"  # sic: ZEGO's spelling
DELETE = "DeleteCDNTransferRule"
CLEAR = "ClearCDNTransferRule"
ACTIONS = (CREATE, DELETE, CLEAR)

ADMIN_PREFIX = "/_emulator"
MAX_TIMESTAMP_SKEW = 600
MAX_UINT32 = 2**32 - 1
MAX_STREAM_ID = 256
MAX_QUERY_FIELDS = 64
MAX_ADMIN_BODY = 64 * 1024

_CANONICAL_INT = re.compile(r"-?(0|[1-9][0-9]{0,18})")
_SEQUENCE = re.compile(r"-?[0-9]{1,19}")
_STREAM_ID = re.compile(r"[A-Za-z0-9~!@#$%^&*()_+=\-`;',.<>/\\]+")
_SPACE_OR_CONTROL = re.compile(r"[\x00-\x20\x7f]")

# The codes this front answers (the meanings come from errors.RETURN_CODES).
WRONG_INPUT = 2
BAD_CDN_URL = 5004
INVALID_REQUEST = 5005
RATE_LIMITED = 5007
BAD_IS_TEST = 30004
BAD_STREAM_ID = 30009
APP_ID_FORMAT = 100000001
TIMESTAMP_MISSING = 100000002
TIMESTAMP_MALFORMED = 100000003
SIGNATURE_EXPIRED = 100000004
SIGNATURE_WRONG = 100000005
ACTION_MISSING = 100000006
ACTION_UNSUPPORTED = 100000007
NONCE_MISSING = 100000008
SIGNATURE_MISSING = 100000009
APP_UNKNOWN = 100000011
VERSION_MISSING = 100000013
VERSION_UNSUPPORTED = 100000014


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def message_for(code: int, detail: str = "") -> str:
    """ZEGO's Message: "ok" on success, else the table's meaning plus what exactly was wrong."""
    if code == 0:
        return "ok"
    meaning = meaning_of(code)
    return f"{meaning}: {detail}" if detail else meaning


class EmulatorHTTPServer(ThreadingHTTPServer):
    """Serves one AppId on a loopback address; tracks connections so `close()` ends keep-alive ones."""

    daemon_threads = True
    block_on_close = False  # `close()` shuts connections down itself; never wait on an idle keep-alive

    def __init__(self, host: str, port: int, *, state: EmulatorState, server_secret: SecretStr) -> None:
        if not is_loopback(host):
            raise ValueError(f"the emulator serves unsigned admin routes and binds loopback only, not {host!r}")
        bind_host = "127.0.0.1" if host == "localhost" else host
        self.address_family = socket.AF_INET6 if ":" in bind_host else socket.AF_INET
        self.state = state
        self.server_secret = server_secret
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
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

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close(self) -> None:
        """Stop delays, end open connections, close the listening socket. Call after `shutdown()`."""
        self.stopping.set()
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already gone
                connection.shutdown(socket.SHUT_RDWR)
        self.server_close()


class ZegoRequestHandler(BaseHTTPRequestHandler):
    """One connection; HTTP/1.1 keep-alive, like the client's pooled session."""

    protocol_version = "HTTP/1.1"
    server_version = "ZegoEmulator/1"
    timeout = 30  # an idle keep-alive connection is dropped after this many seconds
    # Headers and body leave in one write when the handler flushes; with Nagle off, no
    # delayed-ACK stall (40 ms a request) between them.
    wbufsize = -1
    disable_nagle_algorithm = True

    @property
    def emulator(self) -> EmulatorHTTPServer:
        assert isinstance(self.server, EmulatorHTTPServer)
        return self.server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    # --- routing ------------------------------------------------------------------

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    def do_PUT(self) -> None:
        self._route("PUT")

    def _route(self, method: str) -> None:
        body = self._read_body()
        if body is None:
            return
        target = urlsplit(self.path)
        if target.path == ADMIN_PREFIX or target.path.startswith(ADMIN_PREFIX + "/"):
            self._admin(method, target.path[len(ADMIN_PREFIX) :], target.query, body)
        elif target.path == "/":
            if method != "GET":
                self._send_json(HTTPStatus.METHOD_NOT_ALLOWED, {"error": "ZEGO's API takes GET requests"})
            else:
                self._api(target.query)
        else:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": f"no such path {target.path!r}; the API is at /"})

    def _read_body(self) -> bytes | None:
        """Read the body (keep-alive needs it consumed); None once an error has been sent."""
        length_header = self.headers.get("Content-Length", "0")
        try:
            length = int(length_header)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_ADMIN_BODY:
            self.close_connection = True
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": "bad or too large Content-Length"})
            return None
        return self.rfile.read(length) if length else b""

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
            outcome = Outcome(WRONG_INPUT, f"{', '.join(repeated)} given more than once") if repeated else None
        params = {name: values[-1] for name, values in parsed.items()}
        entry: dict[str, Any] = {
            "time": state.clock(),
            "action": params.get("Action"),
            "params": {name: value for name, value in params.items() if name != "Signature"},
            "request_id": request_id,
            "fault": None,
        }
        fault = state.take_fault(params.get("Action"), params.get("StreamId"))
        if fault is not None:
            entry["fault"] = fault.describe()
            if fault.effect != "delay":
                self._answer_fault(fault, entry)
                return
            self.emulator.stopping.wait(fault.value)
        if outcome is None:
            outcome = self._handle(params)
        self._answer(outcome, entry)

    def _handle(self, params: Mapping[str, str]) -> Outcome:
        refused = self._check_gateway(params)
        if refused is not None:
            return refused
        is_test = params.get("IsTest") == "true"
        if not self.emulator.state.admit(is_test=is_test, app_id=int(params["AppId"])):
            where = " in the test environment" if is_test else ""
            return Outcome(RATE_LIMITED, f"over the AppId's calls per second{where}")
        return self._apply_action(params, is_test)

    def _check_gateway(self, params: Mapping[str, str]) -> Outcome | None:
        """The public parameters, checked in the order the gateway documents its codes."""
        state = self.emulator.state
        app_id = params.get("AppId")
        if app_id is None or not _CANONICAL_INT.fullmatch(app_id) or not 0 <= int(app_id) <= MAX_UINT32:
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
        expected = sign(int(app_id), nonce, self.emulator.server_secret.get_secret_value(), int(timestamp))
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            return Outcome(SIGNATURE_WRONG)
        action = params.get("Action")
        if not action:
            return Outcome(ACTION_MISSING)
        if action not in ACTIONS:
            return Outcome(ACTION_UNSUPPORTED, f"unknown Action {action!r}")
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

    def _answer(self, outcome: Outcome, entry: dict[str, Any]) -> None:
        message = message_for(outcome.code, outcome.detail)
        entry.update(code=outcome.code, message=message, http_status=HTTPStatus.OK.value)
        self.emulator.state.record(entry)  # before replying: a test reading the log right after sees it
        reply = {"Code": outcome.code, "Message": message, "RequestId": entry["request_id"], "Data": None}
        self._send_json(HTTPStatus.OK, reply, request_id=entry["request_id"])

    def _answer_fault(self, fault: FaultHit, entry: dict[str, Any]) -> None:
        state = self.emulator.state
        if fault.effect == "code":
            self._answer(Outcome(int(fault.value), "injected by the emulator"), entry)
            return
        if fault.effect == "drop":
            entry.update(code=None, message="connection dropped", http_status=None)
            state.record(entry)
            self.close_connection = True  # no reply at all: the client sees the connection close
            return
        if fault.effect == "malformed":
            entry.update(code=None, message="malformed body", http_status=HTTPStatus.OK.value)
            state.record(entry)
            self._send(HTTPStatus.OK, b"<html>not JSON", "text/html", request_id=entry["request_id"])
            return
        status = int(fault.value)
        entry.update(code=None, message=f"HTTP {status}", http_status=status)
        state.record(entry)
        self._send(status, f"injected HTTP {status}\n".encode(), "text/plain", request_id=entry["request_id"])

    # --- admin routes -------------------------------------------------------------

    def _admin(self, method: str, path: str, query: str, body: bytes) -> None:
        state = self.emulator.state
        try:
            document = json.loads(body) if body.strip() else {}
        except ValueError:
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": "the body must be JSON"})
            return
        try:
            self._admin_route(method, path, query, document, state)
        except ValueError as error:
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": str(error)})

    def _admin_route(self, method: str, path: str, query: str, document: Any, state: EmulatorState) -> None:
        if path == "/streams" and method == "GET":
            self._send_json(HTTPStatus.OK, state.snapshot())
        elif path.startswith("/streams/") and path.endswith("/publish") and method == "POST":
            stream_id = unquote(path[len("/streams/") : -len("/publish")])
            started = state.publish(stream_id)
            self._send_json(
                HTTPStatus.OK, {"stream_id": stream_id, "started": started, "rules": state.rules(stream_id)}
            )
        elif path.startswith("/streams/") and "/" not in path[len("/streams/") :] and method == "GET":
            self._send_json(HTTPStatus.OK, state.rules(unquote(path[len("/streams/") :])))
        elif path == "/requests" and method == "GET":
            actions = parse_qs(query).get("action")
            self._send_json(HTTPStatus.OK, state.requests(actions[-1] if actions else None))
        elif path == "/reset" and method == "POST":
            state.reset()
            self._send_json(HTTPStatus.OK, {"reset": True})
        elif path == "/faults" and method == "GET":
            self._send_json(HTTPStatus.OK, state.faults())
        elif path == "/faults" and method == "POST":
            if not isinstance(document, dict):
                raise ValueError("the fault must be a JSON object")
            self._send_json(HTTPStatus.CREATED, state.add_fault(document))
        elif path == "/faults" and method == "DELETE":
            self._send_json(HTTPStatus.OK, {"cleared": state.clear_faults()})
        elif path == "/config" and method == "GET":
            self._send_json(HTTPStatus.OK, state.config())
        elif path == "/config" and method == "POST":
            if not isinstance(document, dict):
                raise ValueError("the configuration must be a JSON object")
            self._send_json(HTTPStatus.OK, state.configure(**document))
        elif path == "/health" and method == "GET":
            self._send_json(HTTPStatus.OK, {"status": "ok", "app_id": state.app_id})
        else:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": f"no admin route {method} {ADMIN_PREFIX}{path}"})

    # --- rendering ----------------------------------------------------------------

    def _send_json(self, status: HTTPStatus, document: Any, *, request_id: str | None = None) -> None:
        body = (
            json.dumps(document, ensure_ascii=False).encode("utf-8") + b"\n"
        )  # a newline, so curl output ends its line
        self._send(status, body, "application/json; charset=utf-8", request_id=request_id)

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
