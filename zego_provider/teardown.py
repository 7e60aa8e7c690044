"""Teardown without Pulumi: stop every relay a stack export (or a list of streams) names.

For the day a stack's state is lost, corrupted, or holds pending operations whose relays the
engine no longer tracks (a `pulumi up` killed mid-create): `pulumi destroy` cannot help then,
but a `pulumi stack export` file, even an old one, still says which streams and CDN URLs the
stack owned. Per stream this sends DeleteCDNTransferRule for each recorded URL (stops running
relays) and then ClearCDNTransferRule (drops scheduled ones), through ZegoClient, so at the
AppId's rate limit and with its retries. Every call is idempotent on ZEGO, so a second run
succeeds too.

It never crosses apps: only the rule sets of the configured AppId are torn down, the others
are skipped and reported. The input is read whole (bounded, decoded) before any call, and the
summary is printed whatever fails, naming the streams left.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, BinaryIO, TextIO
from urllib.parse import urlsplit

from pydantic import TypeAdapter, ValidationError

from .client import ZegoClient
from .errors import ZegoApiError, ZegoAuthenticationError, ZegoBudgetError, ZegoCallTimeBudgetError, ZegoConfigError
from .identity import relay_identity
from .models import StreamId
from .settings import Source, named_for

RESOURCE_TYPE_SUFFIX = "zego:CdnTransferRuleSet"
"""The end of a rule set's type token in a stack export (`pulumi-python:dynamic/zego:CdnTransferRuleSet`)."""
NATIVE_RESOURCE_TYPE = "zego:index:CdnTransferRuleSet"
"""A rule set of the native `zego` package (its properties are camelCase: `streamId`, `cdnUrls`)."""
PROVIDER_TYPE_PREFIX = "pulumi:providers:"

MAX_INPUT_BYTES = 64 * 1024 * 1024
"""The most `teardown` reads (a stack export of thousands of resources is a few MiB): a device
or a runaway pipe ends in one line, not in a MemoryError."""
MAX_PARALLEL = 64

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
    `app_id`: the AppId the state recorded it under (its id `<AppId>:<stream>`, or its explicit
    provider's `appId`); None when the export does not say (a pending create, `--stdin`).
    """

    stream_id: str
    cdn_urls: list[str] = field(default_factory=list)
    secret_urls: bool = False
    sources: list[str] = field(default_factory=list)
    app_id: int | None = None

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
    """What a teardown did: the summary `zego-cdn teardown` prints.

    `streams` lists every stream the input named (those skipped included), `cleared` those
    cleared; every other one is left, and the summary names it.
    """

    streams: list[str] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)
    urls_deleted: int = 0
    failures: list[Failure] = field(default_factory=list)
    clear_only: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def left(self) -> list[str]:
        cleared = set(self.cleared)
        return [stream for stream in self.streams if stream not in cleared]

    @property
    def complete(self) -> bool:
        """Every stream cleared, every recorded URL deleted, nothing unreadable or skipped."""
        return not self.failures and not self.clear_only and not self.problems and not self.left

    def lines(self) -> list[str]:
        left = self.left
        lines = [
            f"streams cleared: {len(self.cleared)} of {len(self.streams)}; URLs deleted: {self.urls_deleted}; "
            f"failures: {len(self.failures)}; streams left: {len(left)}"
        ]
        lines += [failure.describe() for failure in self.failures]
        lines += [f"NOT TORN DOWN: {problem}" for problem in self.problems]
        if left:
            lines.append(f"LEFT (not cleared): {', '.join(repr(stream) for stream in left)}")
        if self.clear_only:
            lines.append(
                f"CLEARED ONLY (cdn_urls are encrypted in the export, so a relay already running was not "
                f"stopped): {', '.join(sorted(self.clear_only))}; export with `pulumi stack export --show-secrets` "
                f"and run again"
            )
        return lines


def targets_from_stack_export(document: Mapping[str, Any]) -> tuple[list[StreamTarget], list[str]]:
    """Every CdnTransferRuleSet of a `pulumi stack export` document, pending operations included,
    of the dynamic resource and of the native `zego` package alike.

    Returns the streams (merged by AppId and stream id, URLs in first-seen order) and the
    problems of rule sets that cannot be torn down at all (a stream id that is encrypted or
    missing). Outputs win over inputs; a pending create has only inputs. A rule set's AppId is
    the one its id records, else its provider's `appId`, else that of the other rule sets of
    the same provider.
    """
    deployment = document.get("deployment") if isinstance(document, Mapping) else None
    if not isinstance(deployment, Mapping):
        raise StackExportError("no 'deployment' object: is this the output of `pulumi stack export`?")
    records: list[Mapping[str, Any]] = [record for record in deployment.get("resources") or [] if _is_mapping(record)]
    for operation in deployment.get("pending_operations") or []:
        if isinstance(operation, Mapping) and isinstance(operation.get("resource"), Mapping):
            records.append(operation["resource"])
    provider_apps = _provider_apps(records)
    found: list[tuple[Mapping[str, Any], str, int | None]] = []
    problems: list[str] = []
    for record in records:
        kind = str(record.get("type", ""))
        native = kind == NATIVE_RESOURCE_TYPE
        if not native and not kind.endswith(RESOURCE_TYPE_SUFFIX):
            continue
        urn = str(record.get("urn", "?"))
        stream_id = _field(record, "streamId" if native else "stream_id")
        id_ = record.get("id")
        if stream_id is None and isinstance(id_, str) and ":" in id_:
            stream_id = id_.split(":", 1)[1]  # the resource id is <AppId>:<stream_id>
        if isinstance(stream_id, _Secret):
            problems.append(f"{urn}: stream_id is encrypted; export with --show-secrets")
            continue
        if not isinstance(stream_id, str) or not stream_id:
            problems.append(f"{urn}: no stream_id recorded")
            continue
        app_id = _app_of_id(id_)
        provider = record.get("provider")
        if app_id is not None and isinstance(provider, str):
            provider_apps.setdefault(provider, app_id)
        found.append((record, stream_id, app_id))
    targets: dict[tuple[int | None, str], StreamTarget] = {}
    for record, stream_id, app_id in found:
        if app_id is None and isinstance(record.get("provider"), str):
            app_id = provider_apps.get(record["provider"])
        target = targets.setdefault((app_id, stream_id), StreamTarget(stream_id, app_id=app_id))
        target.sources.append(str(record.get("urn", "?")))
        urls = _field(record, "cdnUrls" if record.get("type") == NATIVE_RESOURCE_TYPE else "cdn_urls")
        if isinstance(urls, _Secret) or (isinstance(urls, list) and any(isinstance(url, _Secret) for url in urls)):
            target.secret_urls = True
        if isinstance(urls, list):
            target.add_urls(url for url in urls if isinstance(url, str))
    return list(targets.values()), problems


def _is_mapping(value: Any) -> bool:
    return isinstance(value, Mapping)


def _app_of_id(id_: Any) -> int | None:
    """The AppId of a recorded id `<AppId>:<stream_id>` (None without one)."""
    if isinstance(id_, str) and ":" in id_:
        head = id_.split(":", 1)[0]
        if head.isascii() and head.isdigit() and len(head) <= 10:
            return int(head)
    return None


def _provider_apps(records: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """`<provider URN>::<provider id>` (how a resource names its provider) -> the `appId` that
    provider resource records, for the explicit providers of the native package."""
    apps: dict[str, int] = {}
    for record in records:
        if not str(record.get("type", "")).startswith(PROVIDER_TYPE_PREFIX):
            continue
        value = _field(record, "appId")
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            continue
        text = str(int(value)) if isinstance(value, int | float) else value.strip()
        if text.isascii() and text.isdigit() and len(text) <= 10:
            apps[f"{record.get('urn')}::{record.get('id')}"] = int(text)
    return apps


_STREAM_ID: TypeAdapter[str] = TypeAdapter(StreamId)


def targets_from_lines(lines: Iterable[str]) -> list[StreamTarget]:
    """`STREAM_ID` or `STREAM_ID CDN_URL` per line (stream ids hold no whitespace); `#` comments and
    blank lines are skipped. A stream without a URL is only cleared. A stream id that `check`
    would refuse is a StackExportError naming its line, before anything is sent."""
    targets: dict[str, StreamTarget] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        stream_id, *url = line.split(None, 1)
        try:
            _STREAM_ID.validate_python(stream_id)
        except ValidationError as error:
            reason = error.errors(include_input=False, include_url=False)[0]["msg"]
            raise StackExportError(f"line {number}: the stream id {reason}") from None
        target = targets.setdefault(stream_id, StreamTarget(stream_id, sources=["stdin"]))
        target.add_urls(url)
    return list(targets.values())


def read_input(source: BinaryIO, name: str) -> str:
    """At most MAX_INPUT_BYTES of `source`, decoded as UTF-8: a StackExportError otherwise."""
    data = source.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        raise StackExportError(f"{name} is over {_size(MAX_INPUT_BYTES)} (the most teardown reads)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise StackExportError(
            f"{name} is not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start})"
        ) from None


def _size(count: int) -> str:
    return f"{count // (1024 * 1024)} MiB" if count >= 1024 * 1024 else f"{count // 1024} KiB"


def load_stack_export(text: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except RecursionError:
        raise StackExportError("nested too deeply to be a stack export") from None
    except ValueError as error:
        raise StackExportError(f"not JSON: {error}") from None
    if not isinstance(document, dict):
        raise StackExportError("not a JSON object: is this the output of `pulumi stack export`?")
    return document


Outcome = tuple[int, list[Failure], bool | None, str]
"""URLs deleted, failures, cleared (None: not attempted), why not attempted."""


def teardown(
    client: ZegoClient,
    targets: Sequence[StreamTarget],
    *,
    parallel: int = DEFAULT_PARALLEL,
    progress: Callable[[str], None] | None = None,
    report: TeardownReport | None = None,
) -> TeardownReport:
    """Delete each recorded URL, then Clear, per stream; streams in parallel, all at the client's rate.

    Whatever fails, every stream ends in the report, cleared or not: ZEGO refusing the
    credentials or the budget failing for good stops the run (the remaining streams are
    reported as not attempted), an unexpected error is reported against its stream, and an
    interrupt (Ctrl-C) lets the calls under way finish and reports the rest.
    """
    report = report if report is not None else TeardownReport()
    report.streams.extend(target.stream_id for target in targets)
    stop = threading.Event()  # set with the reason in `stopped_because`
    stopped_because: list[str] = []

    def halt(reason: str) -> None:
        if not stop.is_set():
            stopped_because.append(reason)
            stop.set()

    def one(target: StreamTarget) -> Outcome:
        if stop.is_set():
            return 0, [], None, stopped_because[0]
        failures: list[Failure] = []

        def attempt(where: str, call: Callable[..., object], *args: str) -> bool:
            try:
                call(*args)
            except ZegoApiError as error:
                failures.append(_failure(target.stream_id, where, error))
                if isinstance(error, ZegoAuthenticationError):
                    halt("ZEGO refused the credentials")
                elif isinstance(error, ZegoCallTimeBudgetError):
                    halt("a call ran out of its time budget (zego:callTimeBudget) waiting for its turn, see above")
                elif isinstance(error, ZegoBudgetError):
                    halt("the call budget failed (zego:rateLimiter, ZEGO_RATE_LIMITER), see above")
                return False
            return True

        deleted = 0
        for index, url in enumerate(target.cdn_urls, start=1):
            where = f" (URL {index} of {len(target.cdn_urls)}, host {urlsplit(url).hostname or '?'})"
            if stop.is_set():
                break
            deleted += attempt(where, client.delete_cdn_transfer_rule, target.stream_id, url)
        cleared = not stop.is_set() and attempt("", client.clear_cdn_transfer_rule, target.stream_id)
        return deleted, failures, cleared, ""

    def guarded(target: StreamTarget) -> Outcome:
        try:
            return one(target)
        except Exception as error:  # reported against the stream: never a traceback out of the pool
            failure = Failure(target.stream_id, "teardown", "", None, None, f"unexpected {type(error).__name__}")
            return 0, [failure], False, ""

    def record(target: StreamTarget, outcome: Outcome) -> None:
        deleted, failures, cleared, why = outcome
        if cleared is None:
            report.problems.append(f"{target.stream_id}: not attempted, {why}")
            return
        report.urls_deleted += deleted
        report.failures.extend(failures)
        if cleared:
            report.cleared.append(target.stream_id)
        if target.secret_urls:
            report.clear_only.append(target.stream_id)
        if progress is not None:
            state = "cleared" if cleared else "NOT cleared"
            progress(f"{target.stream_id}: {deleted} URL(s) deleted, {state}")

    pool = ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="zego-teardown")
    futures: list[Future[Outcome]] = [pool.submit(guarded, target) for target in targets]
    done = 0
    try:
        for target, future in zip(targets, futures, strict=True):
            record(target, future.result())
            done += 1
    except KeyboardInterrupt:
        halt("interrupted")
        pool.shutdown(wait=True, cancel_futures=True)  # the calls under way finish; none starts
        for target, future in list(zip(targets, futures, strict=True))[done:]:
            finished = future.done() and not future.cancelled()
            record(target, future.result() if finished else (0, [], None, "interrupted"))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return report


def _failure(stream_id: str, where: str, error: ZegoApiError) -> Failure:
    reason = error.meaning or error.message or type(error).__name__
    if isinstance(error, ZegoBudgetError):
        reason = f"{error.meaning}: {error.message}"  # which setting and host: the fix is there
    return Failure(stream_id, error.action, where, error.code, error.request_id, reason)


def _field(record: Mapping[str, Any], name: str) -> Any:
    for section in ("outputs", "inputs"):
        values = record.get(section)
        if isinstance(values, Mapping) and name in values:
            value = _reveal(values[name])
            if value is not None:
                return value
    return None


def _reveal(value: Any, depth: int = 0) -> Any:
    """Plain values as they are; a secret's plaintext (--show-secrets) decoded; ciphertext -> SECRET.

    A stream id or a list of URLs is two levels deep at most: deeper values are left as they
    are (and ignored), so a hostile nesting cannot exhaust the stack."""
    if isinstance(value, Mapping) and value.get(SIG_KEY) == SIG_OF_ENCRYPTED:
        if "plaintext" in value and depth < 4:
            try:
                return _reveal(json.loads(value["plaintext"]), depth + 1)
            except (TypeError, ValueError, RecursionError):
                return SECRET
        return SECRET
    if isinstance(value, list) and depth < 4:
        return [_reveal(item, depth + 1) for item in value]
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
    before the whole input has been read, decoded and parsed and the settings checked. Only
    rule sets of the configured AppId are torn down: one recorded under another AppId is
    skipped and reported (run again with that app's credentials), never sent to this app.
    """
    if not 1 <= parallel <= MAX_PARALLEL:
        print(f"zego-cdn teardown: --parallel must be from 1 to {MAX_PARALLEL}, not {parallel}", file=err)
        return EXIT_USAGE
    problems: list[str] = []
    try:
        if stack_export is not None:
            with open(stack_export, "rb") as file:
                document = load_stack_export(read_input(file, "the stack export"))
            targets, problems = targets_from_stack_export(document)
        else:
            targets = targets_from_lines(_read_stdin(stdin).splitlines())
    except (OSError, StackExportError) as error:
        source = "the stack export" if stack_export is not None else "stdin"
        print(f"zego-cdn teardown: cannot read {source}: {_one_line(error)}", file=err)
        return EXIT_USAGE
    try:
        client = ZegoClient.from_env(env)
    except ZegoConfigError as error:
        print(f"zego-cdn teardown: {named_for(error, Source.ENV)}", file=err)
        return EXIT_USAGE
    report = TeardownReport(problems=problems)
    try:
        mine = _split_by_app(targets, client.app_id, report, err)
        with client:
            teardown(
                client, mine, parallel=parallel, progress=lambda line: print(line, file=out, flush=True), report=report
            )
    except Exception as error:  # the summary below is printed whatever failed
        report.problems.append(f"teardown stopped: unexpected {type(error).__name__}")
    finally:
        for line in report.lines():
            print(line, file=out, flush=True)
    return 0 if report.complete else EXIT_INCOMPLETE


def _split_by_app(
    targets: Sequence[StreamTarget], app_id: int, report: TeardownReport, err: TextIO
) -> list[StreamTarget]:
    """The targets of `app_id`; the others go into the report as skipped, said on `err` before any call.

    A rule set whose AppId the export does not record (a pending create of the dynamic
    resource) belongs to `app_id` only when every AppId the export does record is `app_id`.
    """
    apps = sorted({target.app_id for target in targets if target.app_id is not None})
    if len(apps) > 1:
        counts = ", ".join(f"{app} ({sum(t.app_id == app for t in targets)} stream(s))" for app in apps)
        print(
            f"zego-cdn teardown: the export holds rule sets of {len(apps)} AppIds: {counts}; only those of "
            f"AppId {app_id} (ZEGO_APP_ID) are torn down, run again with each other app's credentials for the rest",
            file=err,
            flush=True,
        )
    unknown_is_mine = set(apps) <= {app_id}
    mine: list[StreamTarget] = []
    skipped: dict[str, list[str]] = {}
    for target in targets:
        if target.app_id == app_id or (target.app_id is None and unknown_is_mine):
            mine.append(target)
            continue
        label = "its AppId not recorded" if target.app_id is None else f"AppId {target.app_id}"
        skipped.setdefault(label, []).append(target.stream_id)
        name = target.stream_id if target.app_id is None else f"{target.app_id}:{target.stream_id}"
        report.streams.append(name)
    for label, streams in skipped.items():
        report.problems.append(
            f"skipped {len(streams)} stream(s) of {label}, not the configured AppId {app_id}: "
            f"{', '.join(repr(stream) for stream in streams)};"
            " run again with that app's ZEGO_APP_ID and ZEGO_SERVER_SECRET"
        )
    return mine


def _read_stdin(stdin: TextIO) -> str:
    """Standard input, bounded and decoded before anything is sent (bytes when it has them)."""
    buffer = getattr(stdin, "buffer", None)
    if buffer is not None:
        return read_input(buffer, "stdin")
    text = stdin.read(MAX_INPUT_BYTES + 1)
    if len(text) > MAX_INPUT_BYTES:
        raise StackExportError(f"stdin is over {_size(MAX_INPUT_BYTES)} (the most teardown reads)")
    return text


def _one_line(error: BaseException) -> str:
    """An OSError or parse error as one line (a file name with a newline cannot forge another)."""
    text = f"{error.strerror}: {error.filename!r}" if isinstance(error, OSError) and error.strerror else str(error)
    return text.replace("\n", " ").replace("\r", " ")
