"""The emulator's command line: serve one AppId on loopback until SIGTERM or SIGINT.

Scripts (the demo, CI, a second process of an e2e test) start it with `--port 0` and read
the one line `listening on http://HOST:PORT` to learn where it is. The secret comes from
ZEGO_SERVER_SECRET or --server-secret and is never printed.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Any

from ..settings import MAX_APP_ID, SETTINGS
from .ratewindow import RATE_WINDOWS, SLIDING
from .runner import ZegoEmulator

ENV_VARS = {setting.field: setting.env_var for setting in SETTINGS}
"""The same environment variables as the provider and `zego-cdn` (ZEGO_APP_ID, ZEGO_SERVER_SECRET)."""


def _app_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be an integer") from None
    if not 1 <= value <= MAX_APP_ID:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_APP_ID}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be an integer") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be from 0 to 65535 (0 picks a free port)")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a number of calls per second") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative (0 turns the limit off)")
    return value


PROG = "python -m zego_provider.emulator"
EXIT_CODES = (
    "exit codes:\n"
    "  0  stopped cleanly (SIGTERM or Ctrl-C)\n"
    "  2  bad arguments, a port in use, or an unusable state file (one line on stderr)"
)


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    app_id_var, secret_var = ENV_VARS["app_id"], ENV_VARS["server_secret"]
    env_app_id = os.environ.get(app_id_var) or None
    env_secret = os.environ.get(secret_var) or None
    parser = argparse.ArgumentParser(
        prog=prog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="A local ZEGO CDN relay API emulator (loopback only; admin routes under /_emulator/). "
        "Prints `listening on http://HOST:PORT` once it serves, then runs until SIGTERM or Ctrl-C.",
        epilog=f"environment:\n  {app_id_var:<22} the AppId it serves (or --app-id)\n"
        f"  {secret_var:<22} its ServerSecret (or --server-secret)\n\n{EXIT_CODES}",
    )
    parser.add_argument(
        "--app-id", type=_app_id, default=env_app_id, required=env_app_id is None, help=f"AppId (env {app_id_var})"
    )
    parser.add_argument(
        "--server-secret",
        default=env_secret,
        required=env_secret is None,
        help=f"ServerSecret (env {secret_var}, preferred: a flag shows in the process list)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=0, help="port; 0 picks a free one (default)")
    parser.add_argument("--rate-limit", type=_rate, default=10.0, help="calls/s per AppId; 0 = off (default 10)")
    parser.add_argument(
        "--test-rate-limit", type=_rate, default=None, help="calls/s with IsTest=true; 0 = off (default: half)"
    )
    parser.add_argument(
        "--rate-window",
        choices=RATE_WINDOWS,
        default=SLIDING,
        help="how the limits are read: `sliding`, no more than the limit's calls in any one second (the"
        " strictest reading, default), or `bucket`, a token bucket of that capacity (the most lenient)",
    )
    parser.add_argument("--state-file", default=None, help="keep rules in this JSON file across restarts")
    for switch, what in (
        ("clear-empty-code", "Clear of a stream with no scheduled relay"),
        ("delete-unknown-code", "Delete of a URL with no rule"),
        ("create-existing-code", "Create of a rule that exists"),
    ):
        parser.add_argument(f"--{switch}", type=int, default=0, metavar="CODE", help=f"code for {what} (default 0)")
    return parser


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    """Serve until SIGTERM/SIGINT; 0 on a clean stop, 2 on bad arguments or an unusable state file.
    `prog` is how the caller was started (`zego-cdn emulator`), for usage lines and `--help`."""
    args = build_parser(prog).parse_args(argv)
    stop = threading.Event()
    previous = _install_stop_handlers(stop)  # before binding: a SIGTERM right after start still stops cleanly
    try:
        return _serve(args, stop)
    finally:
        _restore_handlers(previous)


def _serve(args: argparse.Namespace, stop: threading.Event) -> int:
    try:
        emulator = ZegoEmulator(
            args.app_id,
            args.server_secret,
            rate_limit=args.rate_limit or None,
            test_rate_limit=args.test_rate_limit,
            rate_window=args.rate_window,
            host=args.host,
            port=args.port,
            state_file=args.state_file,
            clear_empty_code=args.clear_empty_code,
            delete_unknown_code=args.delete_unknown_code,
            create_existing_code=args.create_existing_code,
        ).start()
    except (ValueError, OSError) as error:  # a bad host, a port in use, a state file locked or malformed
        print(f"zego emulator: {str(error).splitlines()[0] if str(error) else type(error).__name__}", file=sys.stderr)
        return 2
    try:
        print(f"listening on {emulator.url}", flush=True)
        while not stop.wait(0.5):  # wakes to let signal handlers run; ends on SIGTERM/SIGINT
            pass
    except KeyboardInterrupt:
        pass  # no handler could be installed (not the main thread): Ctrl-C still stops cleanly
    finally:
        emulator.stop()
    return 0


def _install_stop_handlers(stop: threading.Event) -> dict[int, Any]:
    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous: dict[int, Any] = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            previous[signum] = signal.signal(signum, handle)
        except ValueError:  # signal handlers can only be set from the main thread
            break
    return previous


def _restore_handlers(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)
