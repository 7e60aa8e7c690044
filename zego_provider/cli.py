"""zego-cdn: the three CDN transfer actions (and the emulator) from a shell or a pipeline step.

Settings come from the environment: every setting's ZEGO_* variable (`settings.SETTINGS`, listed
in `--help`). Exit 0 on success; on failure exit 1 (ZEGO refused or could not be reached, the
connection failing included) or 2 (bad settings or usage, found before any request), with one
line on stderr naming code and RequestId, never a traceback and never a setting's value.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Sequence
from typing import NoReturn

from pydantic import ValidationError

from . import __version__
from . import teardown as teardown_module
from .client import ZegoClient
from .config import ProviderConfig
from .errors import ZegoApiError, ZegoConfigError
from .models import RuleSetInputs, ZegoResponse
from .settings import Source, declared, named_for, setting

EXIT_API_ERROR = 1
EXIT_USAGE = 2

CALL_EXIT_CODES = (
    "exit codes:\n"
    "  0  done: prints `ok [RequestId ...]`\n"
    "  1  ZEGO refused the call or could not be reached (one line: code, meaning, RequestId)\n"
    "  2  bad settings or usage (one line naming the variable or argument; nothing is sent)"
)
TEARDOWN_EXIT_CODES = (
    "exit codes:\n"
    "  0  every stream is torn down\n"
    "  1  something is left (each leftover is listed, with the command that finishes it)\n"
    "  2  bad input or settings (nothing is sent)"
)
STREAM_ID_HELP = "the RTC stream's id (letters, digits and ZEGO's symbols; up to 256 characters)"
CDN_URL_HELP = "the RTMP URL the stream is relayed to: rtmp://host/app/key[?query]"
WIDTH = 100
ARGUMENT_NAMES = {"stream_id": "STREAM_ID", "cdn_urls": "CDN_URL"}


def environment_help() -> str:
    """The settings as environment variables, generated from `SETTINGS` for every `--help` page."""
    lines = ["environment (settings; an empty variable counts as unset):"]
    for item in declared():
        secret = " (a secret)" if item.secret else ""
        default = item.default.replace("`", "")
        line = f"  {item.env_var:<22} {item.label}{secret}: {default}"
        lines.append(textwrap.fill(line, WIDTH, subsequent_indent=" " * 25))
    return "\n".join(lines)


def _described(text: str) -> str:
    """A description wrapped for a terminal (the raw formatter keeps the epilog's columns as written)."""
    return textwrap.fill(text, WIDTH)


class _Parser(argparse.ArgumentParser):
    """argparse with a usage error on one line (a CI log shows it whole), pointing at `--help`."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def _parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog="zego-cdn",
        formatter_class=formatter,
        description=_described(
            "Manage ZEGOCLOUD CDN relay (transfer) rules of a stream, with settings from the environment. "
            "`zego-cdn COMMAND --help` describes each command."
        ),
        epilog=f"{environment_help()}\n\n{CALL_EXIT_CODES}",
    )
    parser.add_argument("--version", action="version", version=f"zego-cdn {__version__}")
    actions = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    checked = (
        "STREAM_ID and CDN_URL are checked as `pulumi preview` checks a CdnTransferRuleSet (and, with "
        "ZEGO_IS_TEST=true, the `zegotest-<AppId>-` prefix) before any call."
    )
    call_epilog = f"{environment_help()}\n\n{CALL_EXIT_CODES}"
    create = actions.add_parser(
        "create",
        help="CreatCDNTransferRule: relay STREAM_ID to CDN_URL",
        formatter_class=formatter,
        description=_described(f"Relay STREAM_ID to CDN_URL (an rtmp:// URL) with CreatCDNTransferRule. {checked}"),
        epilog=call_epilog,
    )
    create.add_argument("stream_id", metavar="STREAM_ID", help=STREAM_ID_HELP)
    create.add_argument("cdn_url", metavar="CDN_URL", help=CDN_URL_HELP)
    delete = actions.add_parser(
        "delete",
        help="DeleteCDNTransferRule: stop relaying STREAM_ID to CDN_URL",
        formatter_class=formatter,
        description=_described(
            "Stop relaying STREAM_ID to CDN_URL with DeleteCDNTransferRule: a relay that is running "
            f"stops, a scheduled one is dropped. {checked}"
        ),
        epilog=call_epilog,
    )
    delete.add_argument("stream_id", metavar="STREAM_ID", help=STREAM_ID_HELP)
    delete.add_argument("cdn_url", metavar="CDN_URL", help=CDN_URL_HELP)
    clear = actions.add_parser(
        "clear",
        help="ClearCDNTransferRule: drop every scheduled relay of STREAM_ID",
        formatter_class=formatter,
        description=_described(
            "Drop every scheduled relay of STREAM_ID with ClearCDNTransferRule. A relay that is already "
            "running goes on: stop it with `zego-cdn delete` first. STREAM_ID is checked as `pulumi preview` checks "
            "it, before any call."
        ),
        epilog=call_epilog,
    )
    clear.add_argument("stream_id", metavar="STREAM_ID", help=STREAM_ID_HELP)
    teardown = actions.add_parser(
        "teardown",
        help="Delete every recorded URL and Clear every stream of a stack export (or of stdin)",
        formatter_class=formatter,
        description=_described(
            "Recovery without a usable Pulumi state: per stream, DeleteCDNTransferRule for each "
            "recorded CDN URL, then ClearCDNTransferRule, for every rule set of a `pulumi stack export` file "
            "(pending operations included) or of `STREAM_ID [CDN_URL]` lines on stdin."
        ),
        epilog=f"{environment_help()}\n\n{TEARDOWN_EXIT_CODES}",
    )
    source = teardown.add_mutually_exclusive_group(required=True)
    limit = f"UTF-8, at most {teardown_module.MAX_INPUT_BYTES // 2**20} MiB, all read before any call"
    source.add_argument(
        "--stack-export", metavar="FILE", help=f"a `pulumi stack export` file (pending operations too; {limit})"
    )
    source.add_argument("--stdin", action="store_true", help=f"read `STREAM_ID [CDN_URL]` lines from stdin ({limit})")
    teardown.add_argument(
        "--parallel",
        type=int,
        default=teardown_module.DEFAULT_PARALLEL,
        metavar="N",
        help=f"streams at once, 1 to {teardown_module.MAX_PARALLEL} (default {teardown_module.DEFAULT_PARALLEL})",
    )
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

        return int(emulator_main(args_list[1:], prog="zego-cdn emulator"))
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
        problem = _input_problem(args, {})  # the shape first: it needs no setting
        config = ProviderConfig.from_env()
        problem = problem or _input_problem(args, _test_environment(config))
        if problem:
            print(f"zego-cdn: {problem}", file=sys.stderr)
            return EXIT_USAGE
        with ZegoClient.from_config(config) as client:
            response = _run(client, args)
    except ZegoConfigError as error:
        print(f"zego-cdn: {named_for(error, Source.ENV)}", file=sys.stderr)
        return EXIT_USAGE
    except ZegoApiError as error:
        print(f"zego-cdn: {error}", file=sys.stderr)
        return EXIT_API_ERROR
    print(f"ok [RequestId {response.request_id}]")
    return 0


def _test_environment(config: ProviderConfig) -> dict[str, object]:
    return {"app_id": config.app_id, "is_test": config.is_test, "is_test_name": setting("is_test").env_var}


def _input_problem(args: argparse.Namespace, context: dict[str, object]) -> str | None:
    """What is wrong with STREAM_ID and CDN_URL, by the model `pulumi preview` checks a rule set with
    (one line, without the URL: it may carry a stream key); None when they pass."""
    inputs: dict[str, object] = {"stream_id": args.stream_id}
    if getattr(args, "cdn_url", None) is not None:
        inputs["cdn_urls"] = [args.cdn_url]
    try:
        RuleSetInputs.model_validate(inputs, context=context)
    except ValidationError as error:
        return "; ".join(
            f"{ARGUMENT_NAMES.get(str(problem['loc'][0]), problem['loc'][0])} {problem['msg']}"
            for problem in error.errors(include_input=False, include_url=False)
        )
    return None


def _run(client: ZegoClient, args: argparse.Namespace) -> ZegoResponse:
    if args.command == "create":
        return client.create_cdn_transfer_rule(args.stream_id, args.cdn_url)
    if args.command == "delete":
        return client.delete_cdn_transfer_rule(args.stream_id, args.cdn_url)
    return client.clear_cdn_transfer_rule(args.stream_id)


if __name__ == "__main__":
    sys.exit(main())
