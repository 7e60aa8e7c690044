"""Teardown without Pulumi: stop every relay a stack export (or a list of streams) names.

For the day a stack's state is lost, corrupted, or holds pending operations whose relays the
engine no longer tracks (a `pulumi up` killed mid-create): `pulumi destroy` cannot help then,
but a `pulumi stack export` file, even an old one, still says which streams and CDN URLs the
stack owned. Per stream this sends DeleteCDNTransferRule for each recorded URL (stops running
relays) and then ClearCDNTransferRule (drops scheduled ones), through ZegoClient, so at the
AppId's rate limit and with its retries. Every call is idempotent on ZEGO, so a second run
succeeds too.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TextIO
from urllib.parse import urlsplit

from .client import ZegoClient
from .errors import ZegoApiError, ZegoAuthenticationError, ZegoConfigError
from .identity import relay_identity
from .settings import Source, named_for

RESOURCE_TYPE_SUFFIX = "zego:CdnTransferRuleSet"
"""The end of a rule set's type token in a stack export (`pulumi-python:dynamic/zego:CdnTransferRuleSet`)."""

SIG_KEY = "4dabf18193072939515e22adb298388d"
SIG_OF_ENCRYPTED = "1b47061264138c4ac30d75fd1eb44270"
"""How Pulumi marks a secret value in state: `{KEY: SIGNATURE, "ciphertext" | "plaintext": ...}`."""

DEFAULT_PARALLEL = 8
"""Streams torn down at once: enough to reach the rate limit against a slow endpoint; each
stream's own calls stay in order (Deletes, then Clear)."""


EXIT_INCOMPLETE = 1
EXIT_USAGE = 2


class StackExportError(ValueError):
    """The file is not a `pulumi stack export` document this command can read."""


class _Secret:
    """A value Pulumi encrypted in the export (no --show-secrets): present, but unreadable."""


SECRET = _Secret()


@dataclass
class StreamTarget:
    """One stream to tear down and the CDN URLs recorded for it.

    `secret_urls`: the state recorded URLs for it that are encrypted (an export without
    --show-secrets), so only Clear can be sent: a relay that is already running is not stopped.
    """

    stream_id: str
    cdn_urls: list[str] = field(default_factory=list)
    secret_urls: bool = False
    sources: list[str] = field(default_factory=list)

    def add_urls(self, urls: Iterable[str]) -> None:
        known = {relay_identity(url) for url in self.cdn_urls}
        for url in urls:
            if relay_identity(url) not in known:  # one Delete per relay: ZEGO ignores the query
                known.add(relay_identity(url))
                self.cdn_urls.append(url)


@dataclass(frozen=True)
class Failure:
    """A call that failed after the client's retries; no URL in it (it may hold a stream key)."""

    stream_id: str
    action: str
    where: str
    code: int | None
    request_id: str | None
    reason: str

    def describe(self) -> str:
        code = f"code {self.code}" if self.code is not None else "no ZEGO code"
        return (
            f"FAILED {self.action} on stream {self.stream_id!r}{self.where}: {code}: {self.reason}"
            f" [RequestId {self.request_id or 'none'}]"
        )


@dataclass
class TeardownReport:
    """What a teardown did: the summary `zego-cdn teardown` prints."""

    streams: int = 0
    cleared: list[str] = field(default_factory=list)
    urls_deleted: int = 0
    failures: list[Failure] = field(default_factory=list)
    clear_only: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every stream cleared, every recorded URL deleted, nothing unreadable."""
        return not self.failures and not self.clear_only and not self.problems and len(self.cleared) == self.streams

    def lines(self) -> list[str]:
        lines = [
            f"streams cleared: {len(self.cleared)} of {self.streams}; URLs deleted: {self.urls_deleted}; "
            f"failures: {len(self.failures)}"
        ]
        lines += [failure.describe() for failure in self.failures]
        lines += [f"NOT TORN DOWN: {problem}" for problem in self.problems]
        if self.clear_only:
            lines.append(
                f"CLEARED ONLY (cdn_urls are encrypted in the export, so a relay already running was not "
                f"stopped): {', '.join(sorted(self.clear_only))}; export with `pulumi stack export --show-secrets` "
                f"and run again"
            )
        return lines


def targets_from_stack_export(document: Mapping[str, Any]) -> tuple[list[StreamTarget], list[str]]:
    """Every CdnTransferRuleSet of a `pulumi stack export` document, pending operations included.

    Returns the streams (merged by stream id, URLs in first-seen order) and the problems of
    rule sets that cannot be torn down at all (a stream id that is encrypted or missing).
    Outputs win over inputs; a pending create has only inputs.
    """
    deployment = document.get("deployment") if isinstance(document, Mapping) else None
    if not isinstance(deployment, Mapping):
        raise StackExportError("no 'deployment' object: is this the output of `pulumi stack export`?")
    records: list[Mapping[str, Any]] = []
    for resource in deployment.get("resources") or []:
        records.append(resource)
    for operation in deployment.get("pending_operations") or []:
        if isinstance(operation, Mapping) and isinstance(operation.get("resource"), Mapping):
            records.append(operation["resource"])
    targets: dict[str, StreamTarget] = {}
    problems: list[str] = []
    for record in records:
        if not isinstance(record, Mapping) or not str(record.get("type", "")).endswith(RESOURCE_TYPE_SUFFIX):
            continue
        urn = str(record.get("urn", "?"))
        stream_id = _field(record, "stream_id")
        if stream_id is None and isinstance(record.get("id"), str) and ":" in record["id"]:
            stream_id = record["id"].split(":", 1)[1]  # the resource id is <AppId>:<stream_id>
        if isinstance(stream_id, _Secret):
            problems.append(f"{urn}: stream_id is encrypted; export with --show-secrets")
            continue
        if not isinstance(stream_id, str) or not stream_id:
            problems.append(f"{urn}: no stream_id recorded")
            continue
        target = targets.setdefault(stream_id, StreamTarget(stream_id))
        target.sources.append(urn)
        urls = _field(record, "cdn_urls")
        if isinstance(urls, _Secret) or (isinstance(urls, list) and any(isinstance(url, _Secret) for url in urls)):
            target.secret_urls = True
        if isinstance(urls, list):
            target.add_urls(url for url in urls if isinstance(url, str))
    return list(targets.values()), problems


def targets_from_lines(lines: Iterable[str]) -> list[StreamTarget]:
    """`STREAM_ID` or `STREAM_ID CDN_URL` per line (stream ids hold no whitespace); `#` comments and
    blank lines are skipped. A stream without a URL is only cleared."""
    targets: dict[str, StreamTarget] = {}
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        stream_id, *url = line.split(None, 1)
        target = targets.setdefault(stream_id, StreamTarget(stream_id, sources=["stdin"]))
        target.add_urls(url)
    return list(targets.values())


def load_stack_export(text: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except ValueError as error:
        raise StackExportError(f"not JSON: {error}") from None
    if not isinstance(document, dict):
        raise StackExportError("not a JSON object: is this the output of `pulumi stack export`?")
    return document


def teardown(
    client: ZegoClient,
    targets: Sequence[StreamTarget],
    *,
    parallel: int = DEFAULT_PARALLEL,
    progress: Callable[[str], None] | None = None,
) -> TeardownReport:
    """Delete each recorded URL, then Clear, per stream; streams in parallel, all at the client's rate."""
    report = TeardownReport(streams=len(targets))
    refused = threading.Event()  # bad credentials refuse every call: stop instead of hammering ZEGO

    def one(target: StreamTarget) -> tuple[StreamTarget, int, list[Failure], bool | None]:
        if refused.is_set():
            return target, 0, [], None
        failures: list[Failure] = []

        def attempt(where: str, call: Callable[..., object], *args: str) -> bool:
            try:
                call(*args)
            except ZegoApiError as error:
                failures.append(_failure(target.stream_id, where, error))
                if isinstance(error, ZegoAuthenticationError):
                    refused.set()
                return False
            return True

        deleted = 0
        for index, url in enumerate(target.cdn_urls, start=1):
            where = f" (URL {index} of {len(target.cdn_urls)}, host {urlsplit(url).hostname or '?'})"
            if refused.is_set():
                break
            deleted += attempt(where, client.delete_cdn_transfer_rule, target.stream_id, url)
        cleared = not refused.is_set() and attempt("", client.clear_cdn_transfer_rule, target.stream_id)
        return target, deleted, failures, cleared

    with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="zego-teardown") as pool:
        for target, deleted, failures, cleared in pool.map(one, targets):
            if cleared is None:
                report.problems.append(f"{target.stream_id}: not attempted, ZEGO refused the credentials")
                continue
            report.urls_deleted += deleted
            report.failures.extend(failures)
            if cleared:
                report.cleared.append(target.stream_id)
            if target.secret_urls:
                report.clear_only.append(target.stream_id)
            if progress is not None:
                state = "cleared" if cleared else "NOT cleared"
                progress(f"{target.stream_id}: {deleted} URL(s) deleted, {state}")
    return report


def _failure(stream_id: str, where: str, error: ZegoApiError) -> Failure:
    reason = error.meaning or error.message or type(error).__name__
    return Failure(stream_id, error.action, where, error.code, error.request_id, reason)


def _field(record: Mapping[str, Any], name: str) -> Any:
    for section in ("outputs", "inputs"):
        values = record.get(section)
        if isinstance(values, Mapping) and name in values:
            value = _reveal(values[name])
            if value is not None:
                return value
    return None


def _reveal(value: Any) -> Any:
    """Plain values as they are; a secret's plaintext (--show-secrets) decoded; ciphertext -> SECRET."""
    if isinstance(value, Mapping) and value.get(SIG_KEY) == SIG_OF_ENCRYPTED:
        if "plaintext" in value:
            try:
                return _reveal(json.loads(value["plaintext"]))
            except (TypeError, ValueError):
                return SECRET
        return SECRET
    if isinstance(value, list):
        return [_reveal(item) for item in value]
    return value


def run(
    *,
    stack_export: str | None,
    stdin: TextIO,
    out: TextIO,
    err: TextIO,
    parallel: int = DEFAULT_PARALLEL,
    env: Mapping[str, str] | None = None,
) -> int:
    """`zego-cdn teardown`: 0 when everything is torn down, 1 when anything is left, 2 for bad input or settings.

    Settings come from the environment, as for the other zego-cdn commands; nothing is sent
    before the input and the settings have been read.
    """
    problems: list[str] = []
    try:
        if stack_export is not None:
            with open(stack_export, encoding="utf-8") as file:
                document = load_stack_export(file.read())
            targets, problems = targets_from_stack_export(document)
        else:
            targets = targets_from_lines(stdin)
    except (OSError, StackExportError) as error:
        print(f"zego-cdn teardown: cannot read the stack export: {error}", file=err)
        return EXIT_USAGE
    try:
        client = ZegoClient.from_env(env)
    except ZegoConfigError as error:
        print(f"zego-cdn teardown: {named_for(error, Source.ENV)}", file=err)
        return EXIT_USAGE
    with client:
        report = teardown(client, targets, parallel=parallel, progress=lambda line: print(line, file=out, flush=True))
    report.problems.extend(problems)
    for line in report.lines():
        print(line, file=out)
    return 0 if report.complete else EXIT_INCOMPLETE
