"""ZegoEmulator: state plus HTTP server on a loopback port, run in a background thread.

Tests and the demo want a real HTTP endpoint (the client under test must do its own
encoding, signing and retries) but no process to manage: a context manager that binds a
free port, serves from a daemon thread and shuts down within a bounded time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from types import TracebackType

from pydantic import SecretStr

from .admin import EmulatorAdmin
from .faults import FaultBook
from .ratewindow import SLIDING, RateWindowKind
from .server import IDLE_TIMEOUT, EmulatorHTTPServer
from .state import EmulatorState

POLL_INTERVAL = 0.01
"""How often the serving loop looks for a stop request: `stop()` returns within about this long."""
STOP_TIMEOUT = 5.0
"""Seconds `stop()` waits for the serving thread; it is a daemon, so a straggler never blocks exit."""


class ZegoEmulator:
    """A local stand-in for rtc-api.zego.im serving one AppId.

    `rate_limit` is in calls per second (None or 0: off); `test_rate_limit` applies to
    IsTest=true calls and defaults to half of `rate_limit`, as ZEGO's 5/s against 10/s.
    `rate_window` is how the limit is read: `sliding` (default; no more than `rate_limit`
    accepted calls in any one second, the strictest reading) or `bucket` (a token bucket,
    the most lenient). `state_file` keeps the rules across restarts and processes. `clock`
    (Unix seconds) drives the Timestamp check, the Sequence window and the rate limit, so
    tests can jump time instead of sleeping; left out, the rate limit runs on the monotonic
    clock. `idle_timeout` is how long a silent connection is kept.
    """

    def __init__(
        self,
        app_id: int,
        server_secret: str | SecretStr,
        *,
        rate_limit: float | None = 10.0,
        test_rate_limit: float | None = None,
        rate_window: RateWindowKind = SLIDING,
        host: str = "127.0.0.1",
        port: int = 0,
        state_file: str | os.PathLike[str] | None = None,
        clock: Callable[[], float] | None = None,
        clear_empty_code: int = 0,
        delete_unknown_code: int = 0,
        create_existing_code: int = 0,
        idle_timeout: float = IDLE_TIMEOUT,
    ) -> None:
        secret = server_secret if isinstance(server_secret, SecretStr) else SecretStr(server_secret)
        if not secret.get_secret_value():
            raise ValueError("server_secret must not be empty")
        self.app_id = app_id
        self.host = host
        self.port = port
        self._server_secret = secret
        self.idle_timeout = idle_timeout
        self.faults = FaultBook()
        self.state = EmulatorState(
            app_id,
            rate_limit=rate_limit,
            test_rate_limit=test_rate_limit,
            rate_window=rate_window,
            clock=clock,
            state_file=state_file,
            clear_empty_code=clear_empty_code,
            delete_unknown_code=delete_unknown_code,
            create_existing_code=create_existing_code,
        )
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._admin: EmulatorAdmin | None = None

    def __repr__(self) -> str:
        where = self.url if self._server is not None else "stopped"
        return f"ZegoEmulator(app_id={self.app_id}, {where})"

    @property
    def url(self) -> str:
        """http://HOST:PORT of the running server (the port is the real one when 0 was asked)."""
        if self._server is None:
            raise RuntimeError("the emulator is not running: call start() or use it as a context manager")
        host = self._server.server_name
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    @property
    def admin(self) -> EmulatorAdmin:
        if self._admin is None:
            self._admin = EmulatorAdmin(self.url)
        return self._admin

    def start(self) -> ZegoEmulator:
        """Bind and serve in a daemon thread; connections are accepted once this returns."""
        if self._server is not None:
            return self
        self.state.open()  # takes the state file's lock again after a stop
        try:
            server = EmulatorHTTPServer(
                self.host,
                self.port,
                state=self.state,
                server_secret=self._server_secret,
                faults=self.faults,
                idle_timeout=self.idle_timeout,
            )
        except BaseException:
            self.state.close()
            raise
        self.port = server.server_port
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": POLL_INTERVAL},
            name=f"zego-emulator:{self.port}",
            daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        """Stop serving, end open connections and join the thread (bounded). Idempotent."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._server = self._thread = None
        server.shutdown()  # returns once serve_forever has left its loop (within poll_interval)
        server.close()
        thread.join(STOP_TIMEOUT)
        self.state.close()  # another emulator may use the state file now
        if self._admin is not None:
            self._admin.close()
            self._admin = None

    def __enter__(self) -> ZegoEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
