"""The lifecycle of a rule set (check, diff, create, update, delete, read), free of Pulumi.

Both front-ends are thin adapters over this one module: the dynamic provider
(`zego_provider.provider`, for Python programs) and the native provider
(`zego_provider.native`, for any language). They translate their protocol's values into plain
dicts keyed by the model's field names (`stream_id`, `cdn_urls`, `stop_relays_on_delete`) and
back; every rule about what to send ZEGO, in what order, and what to undo lives here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from pydantic import ValidationError

from .claims import StreamClaims
from .client import ZegoClient
from .config import ProviderConfig
from .errors import ZegoApiError, ZegoError, ZegoServerError
from .models import RuleSetInputs, ZegoResponse

log = logging.getLogger(__name__)

ABSENT_RULE_CODES: frozenset[int] = frozenset()
"""Codes that mean "nothing there" on Delete or Clear, and so count as success when tearing down.

ZEGO documents none. We assume it answers 0 for a URL already gone or a stream already
cleared (the emulator does, by default; tests/acceptance checks it against the real test
environment). If the real service answers an error code for those cases, add it here.
"""

REPLACING_PROPERTIES = ("stream_id",)
UPDATABLE_PROPERTIES = ("cdn_urls", "stop_relays_on_delete")


class InvalidStateError(ZegoError, ValueError):
    """Recorded inputs that `check` would have refused: the state was edited by hand."""


class RuleClient(Protocol):
    """The three ZEGO calls a rule set needs; ZegoClient is one, a test's fake is another."""

    def create_cdn_transfer_rule(self, stream_id: str, cdn_url: str) -> ZegoResponse: ...

    def delete_cdn_transfer_rule(self, stream_id: str, cdn_url: str) -> ZegoResponse: ...

    def clear_cdn_transfer_rule(self, stream_id: str) -> ZegoResponse: ...


ClientFactory = Callable[[ProviderConfig], RuleClient]
"""Gives a front-end its client for the settings it was configured with; `shared_client` by default."""

_clients: dict[ProviderConfig, ZegoClient] = {}
_clients_lock = threading.Lock()


def shared_client(config: ProviderConfig) -> ZegoClient:
    """One client per AppId, endpoint and environment in the process, so that Pulumi's parallel
    operations share one connection pool, one rate limiter and one sequence per stream."""
    with _clients_lock:
        client = _clients.get(config)
        if client is None:
            client = _clients[config] = ZegoClient.from_config(config)
        return client


def resource_id(app_id: int, stream_id: str) -> str:
    """A rule set's id: the stream id with the AppId, so that two apps never collide."""
    return f"{app_id}:{stream_id}"


def stream_id_of(id_: str) -> str:
    return id_.split(":", 1)[1] if ":" in id_ else id_


def app_id_of(id_: str) -> str | None:
    """The AppId part of an id (None for an id without one)."""
    return id_.split(":", 1)[0] if ":" in id_ else None


def property_path(loc: tuple[int | str, ...]) -> str:
    """`('cdn_urls', 1)` -> `cdn_urls[1]`: how Pulumi names a property in a check failure."""
    path = str(loc[0]) if loc else ""
    for part in loc[1:]:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


@dataclass(frozen=True)
class Checked:
    """What `check` found: the normalized inputs, and one (property path, reason) per problem."""

    inputs: dict[str, Any]
    problems: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Diff:
    changed: list[str]
    replaces: list[str]


def diff(olds: Mapping[str, Any], news: Mapping[str, Any], unknown: Collection[str] = ()) -> Diff:
    """A new stream id replaces; a different set of URLs (a changed query included) or a changed
    `stop_relays_on_delete` updates in place; order is no change. An unknown value is a change."""
    replaces = [key for key in REPLACING_PROPERTIES if olds.get(key) != news.get(key)]
    changed = replaces + [
        key
        for key in UPDATABLE_PROPERTIES
        if key in unknown or _comparable(olds.get(key)) != _comparable(news.get(key))
    ]
    return Diff(changed, replaces)


class ImportIdError(ZegoError, ValueError):
    """An import id whose stream id `check` would refuse: nothing is recorded."""


def import_stream_id(id_: str) -> str:
    """The stream id of an import id (`<AppId>:<stream_id>`), held to the rules `check` applies
    (characters and length), so an import never records a stream id no program could declare."""
    stream_id = stream_id_of(id_)
    try:
        RuleSetInputs.model_validate({"stream_id": stream_id})
    except ValidationError as error:
        reason = error.errors(include_input=False, include_url=False)[0]["msg"]
        shown = repr(id_) if len(id_) <= 300 else repr(id_[:300]) + "..."
        raise ImportIdError(f"import id {shown}: the stream id {reason}") from None
    return stream_id


def read(id_: str, props: Mapping[str, Any]) -> dict[str, Any]:
    """ZEGO has no call that lists a stream's rules: refresh keeps what the state records, and an
    import (no state) learns only the stream id, from the id (checked as `check` would)."""
    outs = dict(props)
    if "stream_id" not in outs:
        outs["stream_id"] = import_stream_id(id_)
    outs.setdefault("cdn_urls", [])
    outs.setdefault("stop_relays_on_delete", True)
    return outs


class RuleSetLifecycle:
    """The rule sets of one AppId, over a ZEGO client and the deployment's stream claims.

    `client` is called only when a ZEGO call is due, so that `check` never builds one.
    `owner` (the resource's URN, when the front-end knows it) names who declares a stream.
    """

    def __init__(self, client: Callable[[], RuleClient], claims: StreamClaims, *, app_id: int, is_test: bool) -> None:
        self._client = client
        self._claims = claims
        self.app_id = app_id
        self.is_test = is_test

    @property
    def _context(self) -> dict[str, Any]:
        return {"app_id": self.app_id, "is_test": self.is_test}

    def check(self, inputs: Mapping[str, Any], unknown: Collection[str] = (), *, owner: str | None = None) -> Checked:
        """Validate every known input before any call; unknown (preview) values are checked later.

        A valid rule set also claims its stream for this deployment (see `zego_provider.claims`).
        """
        known = {key: value for key, value in inputs.items() if key not in unknown}
        try:
            model = RuleSetInputs.model_validate(known, context=self._context)
        except ValidationError as error:
            problems = [
                (property_path(problem["loc"]), problem["msg"])
                for problem in error.errors(include_input=False, include_url=False)
                if not (problem["type"] == "missing" and problem["loc"][0] in unknown)
            ]
            return Checked(dict(inputs), problems)
        normalized = model.model_dump()
        normalized.update({key: inputs[key] for key in unknown})
        if "stream_id" in unknown:
            return Checked(normalized)
        others = self._claims.declare(model.stream_id, None if "cdn_urls" in unknown else model.cdn_urls, owner=owner)
        if others:
            # Two rule sets of one deployment on one stream: the delete of either would remove the
            # other's relays. Only a front-end that knows the URN sees this (the dynamic resource
            # refuses it in the program instead).
            return Checked(normalized, [("stream_id", _declared_twice(model.stream_id, sorted(others)[0]))])
        return Checked(normalized)

    def inputs(self, props: Mapping[str, Any]) -> RuleSetInputs:
        try:
            return RuleSetInputs.model_validate(dict(props), context=self._context)
        except ValidationError as error:
            # check() refuses these before any call; reaching here means the state was edited by hand.
            # Without input values: a CDN URL may carry a stream key.
            problems = "; ".join(
                f"{property_path(problem['loc'])}: {problem['msg']}" for problem in error.errors(include_input=False)
            )
            raise InvalidStateError(f"invalid CdnTransferRuleSet inputs: {problems}") from None

    def create(self, props: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """Create every rule, or none: returns the id and the outputs."""
        inputs = self.inputs(props)
        self._create_all(inputs.stream_id, inputs.cdn_urls)
        return resource_id(self.app_id, inputs.stream_id), inputs.model_dump()

    def update(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        """Remove first, then add with rollback: a failure at any point leaves ZEGO with no rule
        that the recorded (old) state does not list, and the removed rules are created again, so
        that ZEGO holds what the state (which keeps the old inputs on a failed update) lists.

        URLs are compared whole: a URL whose query changed (a rotated token) is deleted, then
        created again with the new query, since ZEGO keeps the old query on a Create of a relay it
        already has. A removed URL that another rule set of this deployment still declares stays.
        """
        inputs = self.inputs(news)
        stream_id = inputs.stream_id
        claim = self._claims.claim(stream_id)
        old_urls = set(olds.get("cdn_urls") or [])
        new_urls = set(inputs.cdn_urls)
        removed = [url for url in sorted(old_urls - new_urls) if claim is None or not claim.declares(url)]
        client = self._client()
        deleted: list[str] = []
        try:
            for url in removed:
                with _absent_counts_as_done():
                    client.delete_cdn_transfer_rule(stream_id, url)
                deleted.append(url)
            self._create_all(stream_id, sorted(new_urls - old_urls))
        except ZegoApiError as error:
            self._restore(stream_id, deleted, error)
            raise
        return inputs.model_dump()

    def delete(self, id_: str, props: Mapping[str, Any]) -> None:
        """Stop each relay (unless told not to), then always clear what is still scheduled.

        Unless another rule set of this deployment still declares the stream (a rename, a move
        into a component, a replacement, a second rule set): then only the relays nobody
        declares are deleted, a relay declared with another query is handed over (Delete, then
        Create of the declared URL), and there is no Clear. See `zego_provider.claims`.
        """
        stream_id = props.get("stream_id") or stream_id_of(id_)
        urls = list(props.get("cdn_urls") or [])
        stop = props.get("stop_relays_on_delete", True)
        claim = self._claims.claim(stream_id)
        if claim is None:
            if stop:
                self._delete_all(stream_id, urls)
            with _absent_counts_as_done():
                self._client().clear_cdn_transfer_rule(stream_id)
            return
        declared_by = f" by {', '.join(sorted(claim.owners))}" if claim.owners else ""
        if not claim.complete:
            log.warning(
                "stream %r is still declared%s (URLs not known yet): its delete sends nothing", stream_id, declared_by
            )
            return
        handed_over = {url: claim.declared_url_of(url) for url in urls}
        orphans = [url for url, declared in handed_over.items() if declared is None]
        if stop:
            self._delete_all(stream_id, orphans)
        elif orphans:
            log.warning(
                "stream %r is still declared%s: %d undeclared rule(s) left until its next Clear",
                stream_id,
                declared_by,
                len(orphans),
            )
        for url, declared in handed_over.items():
            if declared is not None and declared != url:
                self._delete_all(stream_id, [url])
                self._client().create_cdn_transfer_rule(stream_id, declared)

    def _create_all(self, stream_id: str, urls: Iterable[str]) -> None:
        """Create each rule; on a failure that retries could not fix, undo this call's rules."""
        client = self._client()
        created: list[str] = []
        for url in urls:
            try:
                client.create_cdn_transfer_rule(stream_id, url)
            except ZegoApiError as error:
                # A server or transport failure may have created the rule anyway: undo it too.
                undo = [*created, url] if isinstance(error, ZegoServerError) else created
                self._roll_back(stream_id, undo, error)
                raise
            created.append(url)

    def _roll_back(self, stream_id: str, urls: list[str], cause: ZegoApiError) -> None:
        client = self._client()
        left: list[str] = []
        for url in reversed(urls):
            try:
                with _absent_counts_as_done():
                    client.delete_cdn_transfer_rule(stream_id, url)
            except ZegoApiError as error:
                log.error("rollback of a rule on %s failed: %s", stream_id, error)
                left.append(url)
        if left:
            named = ", ".join(relay_label(url) for url in reversed(left))
            cause.add_note(
                f"Rollback could not delete {len(left)} rule(s) of stream {stream_id!r}, left on ZEGO: {named}; "
                f"once the failure above is fixed, remove them with `zego-cdn teardown --stdin` fed one "
                f"`{stream_id} CDN_URL` line per rule (or `zego-cdn delete {stream_id} URL`; "
                "paths and queries kept out of this message: they may carry a stream key)."
            )
        elif urls:
            cause.add_note(f"Rolled back the {len(urls)} rule(s) this operation had created on {stream_id!r}.")

    def _restore(self, stream_id: str, urls: list[str], cause: ZegoApiError) -> None:
        """Create again the rules a failed update had deleted (a relay that was running restarts
        at the next publish)."""
        client = self._client()
        left = 0
        for url in urls:
            try:
                client.create_cdn_transfer_rule(stream_id, url)
            except ZegoApiError as error:
                log.error("restoring a rule on %s failed: %s", stream_id, error)
                left += 1
        if left:
            cause.add_note(
                f"Could not create again {left} of the {len(urls)} rule(s) this update had deleted on "
                f"{stream_id!r}; the state still lists them: run `pulumi up` again."
            )
        elif urls:
            cause.add_note(f"Created again the {len(urls)} rule(s) this update had deleted on {stream_id!r}.")

    def _delete_all(self, stream_id: str, urls: Iterable[str]) -> None:
        client = self._client()
        for url in urls:
            with _absent_counts_as_done():
                client.delete_cdn_transfer_rule(stream_id, url)


def relay_label(url: str) -> str:
    """A relay named without its path and query (a stream key often is one of them): `rtmp://host/…`."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(an unreadable URL)"
    return f"{parts.scheme}://{host}{port}/…"


def _declared_twice(stream_id: str, other: str) -> str:
    name = other.rsplit("::", 1)[-1]
    return (
        f"stream {stream_id!r} is also declared by the rule set {name!r} ({other}): one rule set owns every "
        "relay of a stream (the delete of either would remove the other's), so list all its URLs in one of them"
    )


def one_line(error: BaseException) -> str:
    """The error and its notes (rollback, restore) as one line: what a progress view can show whole."""
    return " ".join([str(error), *getattr(error, "__notes__", ())]).replace("\n", " ")


def _comparable(value: Any) -> Any:
    return sorted(value) if isinstance(value, list) else value


@contextmanager
def _absent_counts_as_done() -> Iterator[None]:
    """Tearing down something already gone is success: that is what makes delete re-runnable."""
    try:
        yield
    except ZegoApiError as error:
        if error.code not in ABSENT_RULE_CODES:
            raise
        log.info("nothing there, as wanted: %s", error)
