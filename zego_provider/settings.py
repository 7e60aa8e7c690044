"""The settings, declared once: every list of them (docs table, native schema, `zego-cdn --help`,
test fixtures) is generated from `SETTINGS` or checked against it by a test.

A declaration says how a setting is named in each source (stack config, environment), what it
is for, its default as users read it, and whether it can carry a credential (`secret`: the native
schema marks it secret, so the engine encrypts it in state). Validation is `config.ProviderConfig`.

`markdown_table()` is the configuration table of the docs; `make docs` writes it between the
`<!-- settings-table:start -->` and `<!-- settings-table:end -->` markers of each document.
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from .errors import ZegoConfigError

DEFAULT_ENDPOINT = "https://rtc-api.zego.im"
DEFAULT_RATE_LIMIT = 10.0
DEFAULT_TEST_RATE_LIMIT = 5.0
DEFAULT_READ_TIMEOUT = 10.0
DEFAULT_CONNECT_TIMEOUT = 3.05
DEFAULT_CALL_TIME_BUDGET = 300.0
"""Seconds one call may take, waits and retries included: minutes, so a fleet sharing one AppId finishes."""
MAX_APP_ID = 2**32 - 1

TABLE_START = "<!-- settings-table:start -->"
TABLE_END = "<!-- settings-table:end -->"


class Source(enum.Enum):
    """Where a setting was read, which decides how a message names it."""

    STACK = "stack"  # Pulumi config: `zego:appId`
    ENV = "env"  # the environment: `ZEGO_APP_ID`
    EITHER = "either"  # not known (missing, or found at run time): `zego:appId (or ZEGO_APP_ID)`


class Setting(NamedTuple):
    field: str
    """The `ProviderConfig` field."""
    pulumi_key: str
    env_var: str
    label: str
    """What the setting is, in a few words (the table's first column)."""
    default: str
    """The default as users read it (Markdown)."""
    description: str
    """One or two sentences for the schema, generated SDKs and `--help`."""
    secret: bool = False
    """It can carry a credential: the native schema marks it secret, the docs say `--secret`."""

    def named(self, source: Source) -> str:
        if source is Source.STACK:
            return self.pulumi_key
        if source is Source.ENV:
            return self.env_var
        return f"{self.pulumi_key} (or {self.env_var})"


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "app_id",
        "zego:appId",
        "ZEGO_APP_ID",
        "AppId",
        f"required; a number from 1 to {MAX_APP_ID}",
        "The ZEGO AppId whose CDN relay rules this provider manages.",
    ),
    Setting(
        "server_secret",
        "zego:serverSecret",
        "ZEGO_SERVER_SECRET",
        "ServerSecret",
        "required",
        "The AppId's ServerSecret, used to sign each request; kept secret, never logged or stored in plain text.",
        secret=True,
    ),
    Setting(
        "endpoint",
        "zego:endpoint",
        "ZEGO_API_ENDPOINT",
        "endpoint",
        f"`{DEFAULT_ENDPOINT}`",
        "The ZEGO server API endpoint (https://; plain http:// only for a loopback emulator).",
    ),
    Setting(
        "is_test",
        "zego:isTest",
        "ZEGO_IS_TEST",
        "test environment",
        "`false`",
        "True for ZEGO's test environment (stream ids must then start with `zegotest-<AppId>-`).",
    ),
    Setting(
        "rate_limit",
        "zego:rateLimit",
        "ZEGO_RATE_LIMIT",
        "client rate limit (calls/s)",
        f"{DEFAULT_RATE_LIMIT:g}, or {DEFAULT_TEST_RATE_LIMIT:g} in the test environment",
        "Client rate limit in calls per second for the AppId.",
    ),
    Setting(
        "timeout",
        "zego:timeout",
        "ZEGO_TIMEOUT",
        "read timeout of one attempt (s)",
        f"{DEFAULT_READ_TIMEOUT:g} (connect: {DEFAULT_CONNECT_TIMEOUT:g})",
        "Read timeout of one attempt, in seconds; each retry gets it again.",
    ),
    Setting(
        "rate_limiter",
        "zego:rateLimiter",
        "ZEGO_RATE_LIMITER",
        "where the AppId's budget is shared",
        "`machine`; or `process`, `off`, a `redis://` / `rediss://` URL",
        "Where the AppId's call budget is shared: `machine` (every process of this user on this host), "
        "`process`, `off`, or a `redis://` / `rediss://` URL shared by a fleet of runners. Secret: the URL "
        "may hold the Redis password.",
        secret=True,
    ),
    Setting(
        "call_time_budget",
        "zego:callTimeBudget",
        "ZEGO_CALL_TIME_BUDGET",
        "time budget of one call, waits and retries included (s)",
        f"{DEFAULT_CALL_TIME_BUDGET:g}",
        "Seconds one call may take, waits for the rate budget and retries included.",
    ),
)


def declared() -> tuple[Setting, ...]:
    """The settings as declared now (read at call time, so a test can add one with monkeypatch)."""
    return SETTINGS


def setting(field: str) -> Setting:
    for candidate in declared():
        if candidate.field == field:
            return candidate
    raise KeyError(field)


def env_vars() -> list[str]:
    """Every environment variable a setting is read from (what a clean test environment drops)."""
    return [candidate.env_var for candidate in declared()]


def named_for(error: ZegoConfigError, source: Source) -> ZegoConfigError:
    """The same problems, each setting named as `source` calls it: `zego-cdn` reads only the
    environment, so `zego:appId (or ZEGO_APP_ID)` becomes `ZEGO_APP_ID` there."""
    names = {name: candidate.named(source) for candidate in declared() for name in _names(candidate)}
    return ZegoConfigError([(names.get(name, name), reason) for name, reason in error.problems])


def _names(candidate: Setting) -> Iterable[str]:
    return (candidate.named(source) for source in Source)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_table(settings: Sequence[Setting] | None = None) -> str:
    """The configuration table of README.md and docs/installation-configuration.md."""
    rows = ["| setting | Pulumi config | environment | default |", "|---|---|---|---|"]
    for item in declared() if settings is None else settings:
        key = f"`{item.pulumi_key}`" + (" (secret: set it with `--secret`)" if item.secret else "")
        rows.append(f"| {_cell(item.label)} | {key} | `{item.env_var}` | {_cell(item.default)} |")
    return "\n".join(rows) + "\n"


def replace_table(text: str, table: str) -> str:
    """`text` with what lies between the table markers replaced by `table`; unchanged without markers."""
    start = text.find(TABLE_START)
    end = text.find(TABLE_END)
    if start < 0 and end < 0:
        return text
    if start < 0 or end < start:
        raise ValueError(f"the markers {TABLE_START} and {TABLE_END} must come once each, in this order")
    return text[: start + len(TABLE_START)] + "\n" + table + text[end:]


def table_in(text: str) -> str | None:
    """What lies between the table markers (None without markers)."""
    start = text.find(TABLE_START)
    end = text.find(TABLE_END)
    if start < 0 or end < start:
        return None
    return text[start + len(TABLE_START) : end].removeprefix("\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Print the table, or (`--write FILE...`) rewrite it in place in each file that has the markers
    (`make docs`)."""
    args = list(sys.argv[1:] if argv is None else argv)
    table = markdown_table()
    if args[:1] != ["--write"]:
        sys.stdout.write(table)
        return 0
    for path in args[1:]:
        with open(path, encoding="utf-8") as file:
            text = file.read()
        updated = replace_table(text, table)
        if updated != text:
            with open(path, "w", encoding="utf-8") as file:
                file.write(updated)
            print(f"updated {path}")
    return 0
