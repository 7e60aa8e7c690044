"""zego-cdn: the three CDN transfer actions (and the emulator) from a shell or a pipeline step.

Settings come from the environment (ZEGO_APP_ID, ZEGO_SERVER_SECRET, ZEGO_API_ENDPOINT,
ZEGO_IS_TEST, ZEGO_RATE_LIMIT). Exit 0 on success; on failure exit 1 (ZEGO refused or could not
be reached, the connection failing included) or 2 (bad settings or usage), with one line on
stderr naming code and RequestId, never a traceback and never a setting's value.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__
from .client import ZegoClient
from .errors import ZegoApiError, ZegoConfigError
from .models import ZegoResponse

EXIT_API_ERROR = 1
EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zego-cdn",
        description="Manage ZEGOCLOUD CDN relay (transfer) rules of a stream. "
        "Credentials come from ZEGO_APP_ID and ZEGO_SERVER_SECRET; "
        "ZEGO_API_ENDPOINT, ZEGO_IS_TEST and ZEGO_RATE_LIMIT are optional.",
    )
    parser.add_argument("--version", action="version", version=f"zego-cdn {__version__}")
    actions = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    create = actions.add_parser("create", help="CreatCDNTransferRule: relay STREAM_ID to CDN_URL")
    create.add_argument("stream_id", metavar="STREAM_ID")
    create.add_argument("cdn_url", metavar="CDN_URL")
    delete = actions.add_parser("delete", help="DeleteCDNTransferRule: stop relaying STREAM_ID to CDN_URL")
    delete.add_argument("stream_id", metavar="STREAM_ID")
    delete.add_argument("cdn_url", metavar="CDN_URL")
    clear = actions.add_parser("clear", help="ClearCDNTransferRule: drop every scheduled relay of STREAM_ID")
    clear.add_argument("stream_id", metavar="STREAM_ID")
    teardown = actions.add_parser(
        "teardown",
        help="Delete every recorded URL and Clear every stream of a stack export (or of stdin)",
        description="Recovery without a usable Pulumi state: per stream, DeleteCDNTransferRule for each "
        "recorded CDN URL, then ClearCDNTransferRule. Exit 0 when all is torn down, 1 when anything is left.",
    )
    source = teardown.add_mutually_exclusive_group(required=True)
    source.add_argument("--stack-export", metavar="FILE", help="a `pulumi stack export` file (pending operations too)")
    source.add_argument("--stdin", action="store_true", help="read `STREAM_ID [CDN_URL]` lines from stdin")
    teardown.add_argument("--parallel", type=int, default=8, metavar="N", help="streams at once (default 8)")
    actions.add_parser(
        "emulator",
        help="run the local ZEGO API emulator (see `zego-cdn emulator --help`)",
        add_help=False,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["emulator"]:
        from .emulator.cli import main as emulator_main

        return int(emulator_main(args_list[1:]))
    args = _parser().parse_args(args_list)
    for name in ("stream_id", "cdn_url"):
        try:
            str(getattr(args, name, "")).encode("utf-8")
        except UnicodeEncodeError:  # undecodable bytes in argv arrive as surrogates
            print(f"zego-cdn: {name.upper()} must be valid UTF-8 text", file=sys.stderr)
            return EXIT_USAGE
    if args.command == "teardown":
        from .teardown import run

        return run(
            stack_export=args.stack_export, stdin=sys.stdin, out=sys.stdout, err=sys.stderr, parallel=args.parallel
        )
    try:
        with ZegoClient.from_env() as client:
            response = _run(client, args)
    except ZegoConfigError as error:
        print(f"zego-cdn: {error}", file=sys.stderr)
        return EXIT_USAGE
    except ZegoApiError as error:
        print(f"zego-cdn: {error}", file=sys.stderr)
        return EXIT_API_ERROR
    print(f"ok [RequestId {response.request_id}]")
    return 0


def _run(client: ZegoClient, args: argparse.Namespace) -> ZegoResponse:
    if args.command == "create":
        return client.create_cdn_transfer_rule(args.stream_id, args.cdn_url)
    if args.command == "delete":
        return client.delete_cdn_transfer_rule(args.stream_id, args.cdn_url)
    return client.clear_cdn_transfer_rule(args.stream_id)


if __name__ == "__main__":
    sys.exit(main())
