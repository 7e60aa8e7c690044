"""A scripted loopback HTTP server on a raw socket: it answers each connection as told, wrongly on purpose.

`http.server` cannot cut a reply mid-body, reset a connection after reading the request, or
send 200 headers; a socket can. Each accepted connection reads one request head and plays the
next behaviour of the script (the last one repeats). Bounded: every socket has a timeout, and
the server thread stops on `close()`.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

OK_BODY = json.dumps({"Code": 0, "Message": "ok", "RequestId": "raw-ok", "Data": None}).encode()


def _reply(status: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
    head = [f"HTTP/1.1 {status}", *(f"{name}: {value}" for name, value in headers)]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def ok(conn: socket.socket) -> None:
    conn.sendall(_reply("200 OK", [("Content-Length", str(len(OK_BODY))), ("Connection", "close")], OK_BODY))


def cut_mid_body(conn: socket.socket) -> None:
    """Promise 200 bytes, send 20, close: the body ends mid-way."""
    conn.sendall(_reply("200 OK", [("Content-Length", "200"), ("Content-Type", "application/json")], OK_BODY[:20]))


def reset_after_request(conn: socket.socket) -> None:
    """Read the request, then abort: SO_LINGER 0 makes close() send an RST."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def close_without_reply(conn: socket.socket) -> None:
    """Read the request, then close cleanly without a byte of reply."""


def bad_chunk_size(conn: socket.socket) -> None:
    conn.sendall(_reply("200 OK", [("Transfer-Encoding", "chunked")], b"zz\r\n{}\r\n0\r\n\r\n"))


def chunked_cut_short(conn: socket.socket) -> None:
    conn.sendall(_reply("200 OK", [("Transfer-Encoding", "chunked")], b"40\r\n" + OK_BODY[:10]))


def bad_gzip(conn: socket.socket) -> None:
    body = b"this is not gzip at all"
    headers = [("Content-Encoding", "gzip"), ("Content-Length", str(len(body))), ("Connection", "close")]
    conn.sendall(_reply("200 OK", headers, body))


def too_many_headers(conn: socket.socket) -> None:
    headers = [(f"X-Filler-{i}", "x") for i in range(150)] + [("Content-Length", str(len(OK_BODY)))]
    conn.sendall(_reply("200 OK", headers, OK_BODY))


def header_line_too_long(conn: socket.socket) -> None:
    conn.sendall(_reply("200 OK", [("X-Long", "x" * 70_000), ("Content-Length", str(len(OK_BODY)))], OK_BODY))


def garbage_status_line(conn: socket.socket) -> None:
    conn.sendall(b"HELLO THERE\r\n\r\n")


def not_zego_json(conn: socket.socket) -> None:
    body = b'{"Code": "zero"}'
    conn.sendall(_reply("200 OK", [("Content-Length", str(len(body))), ("Connection", "close")], body))


def zego_reply(document: dict[str, object]) -> Callable[[socket.socket], None]:
    """A well-formed reply carrying any JSON document (e.g. a hostile Message)."""
    body = json.dumps(document).encode()

    def answer(conn: socket.socket) -> None:
        conn.sendall(_reply("200 OK", [("Content-Length", str(len(body))), ("Connection", "close")], body))

    return answer


def trickle(conn: socket.socket) -> None:
    """Headers, then one byte of body every 0.1 s (at most 60): each read is quick, the reply never ends."""
    conn.sendall(_reply("200 OK", [("Content-Length", "1000")], b""))
    for _ in range(60):
        threading.Event().wait(0.1)
        conn.sendall(b" ")


def huge_body(conn: socket.socket) -> None:
    """A 4 MiB body: no ZEGO reply is anywhere near that."""
    size = 4 << 20
    conn.sendall(_reply("200 OK", [("Content-Length", str(size)), ("Connection", "close")], b""))
    block = b" " * 65536
    for _ in range(size // len(block)):
        conn.sendall(block)


def redirect_to(location: str) -> Callable[[socket.socket], None]:
    def redirect(conn: socket.socket) -> None:
        conn.sendall(_reply("307 Temporary Redirect", [("Location", location), ("Content-Length", "0")], b""))

    return redirect


def stall(seconds: float) -> Callable[[socket.socket], None]:
    def slow(conn: socket.socket) -> None:
        threading.Event().wait(seconds)

    return slow


class RawHttpServer:
    """Plays `script[i]` on the i-th connection (the last entry repeats); records request heads."""

    def __init__(self, script: list[Callable[[socket.socket], None]]) -> None:
        self.script = script
        self.requests: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name=f"raw-http-{self.port}", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            # A thread per connection: a stalled reply must not hold up the retry's connection.
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5.0)
            head = b""
            try:
                while b"\r\n\r\n" not in head and len(head) < 1_000_000:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    head += chunk
                    if not head[:1].isalpha():
                        break  # not HTTP (a TLS ClientHello): answer it at once, wrongly
                if not head:
                    return  # a probe connection that sent nothing
                with self._lock:
                    self.requests.append(head)
                    behaviour = self.script[min(len(self.requests) - 1, len(self.script) - 1)]
                behaviour(conn)
            except OSError:
                pass

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        self._thread.join(timeout=5)


@contextmanager
def raw_server(*script: Callable[[socket.socket], None]) -> Iterator[RawHttpServer]:
    server = RawHttpServer(list(script))
    try:
        yield server
    finally:
        server.close()


def unused_loopback_port() -> int:
    """A port nothing listens on (bound, then released): connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
