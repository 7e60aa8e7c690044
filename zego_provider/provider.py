"""The Pulumi dynamic ResourceProvider behind CdnTransferRuleSet.

It turns the lifecycle of a rule set (check, diff, create, update, delete, read) into
ZegoClient calls. It knows nothing of URLs or signatures. It holds no state when it is
pickled into the Pulumi state: credentials are read in `configure`, inside the provider
process, so the serialized provider is a small reference to this class. Its two seams, the
client factory and the stream claims, are given in-process (tests hand it a fake client);
unpickled by the engine, it always uses the shared ones.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN
from pydantic import ValidationError

from .claims import StreamClaims, stream_claims
from .client import ZegoClient
from .config import SETTINGS, ProviderConfig
from .errors import ZegoApiError, ZegoConfigError, ZegoServerError
from .models import RuleSetInputs, ZegoResponse

log = logging.getLogger(__name__)

ABSENT_RULE_CODES: frozenset[int] = frozenset()
"""Codes that mean "nothing there" on Delete or Clear, and so count as success when tearing down.

ZEGO documents none. We assume it answers 0 for a URL already gone or a stream already
cleared (the emulator does, by default; tests/acceptance checks it against the real test
environment). If the real service answers an error code for those cases, add it here.
"""

_clients: dict[ProviderConfig, ZegoClient] = {}
_clients_lock = threading.Lock()


class RuleClient(Protocol):
    """The three ZEGO calls the provider makes; ZegoClient is one, a test's fake is another."""

    def create_cdn_transfer_rule(self, stream_id: str, cdn_url: str) -> ZegoResponse: ...

    def delete_cdn_transfer_rule(self, stream_id: str, cdn_url: str) -> ZegoResponse: ...

    def clear_cdn_transfer_rule(self, stream_id: str) -> ZegoResponse: ...


ClientFactory = Callable[[ProviderConfig], RuleClient]
"""Gives the provider its client for the settings `configure` read; `shared_client` by default."""


def shared_client(config: ProviderConfig) -> ZegoClient:
    """One client per AppId, endpoint and environment in the process, so that Pulumi's parallel
    operations share one connection pool, one rate limiter and one sequence per stream."""
    with _clients_lock:
        client = _clients.get(config)
        if client is None:
            client = _clients[config] = ZegoClient.from_config(config)
        return client


def _is_unknown(value: Any) -> bool:
    """The SDK hands a value not known yet (an Output during preview) as its UNKNOWN string or an Unknown."""
    if isinstance(value, Unknown):
        return True
    if isinstance(value, str):
        return value == UNKNOWN
    if isinstance(value, list | tuple):
        return any(_is_unknown(item) for item in value)
    if isinstance(value, dict):
        return any(_is_unknown(item) for item in value.values())
    return False


def _property_path(loc: tuple[int | str, ...]) -> str:
    path = str(loc[0]) if loc else ""
    for part in loc[1:]:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _resource_id(app_id: int, stream_id: str) -> str:
    return f"{app_id}:{stream_id}"


def _stream_id_of(resource_id: str) -> str:
    return resource_id.split(":", 1)[1] if ":" in resource_id else resource_id


class CdnTransferRuleSetProvider(ResourceProvider):
    """Owns every CDN relay rule of one stream.

    `client_factory` and `claims` are seams for in-process tests; neither is pickled: the
    engine's copy always uses `shared_client` and the process's `stream_claims`.
    """

    serialize_as_secret_always = False  # it captures no secret, so the state can show it

    def __init__(self, client_factory: ClientFactory | None = None, claims: StreamClaims | None = None) -> None:
        super().__init__()
        self._client_factory: ClientFactory = client_factory or shared_client
        self._claims = claims or stream_claims
        self._config: ProviderConfig | None = None
        self._config_error: ZegoConfigError | None = None

    def __getstate__(self) -> dict[str, Any]:
        # Whatever configure() loaded, and any injected seam, stays in this process: the state
        # holds only a reference to this class.
        return {}

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        self._client_factory = shared_client
        self._claims = stream_claims
        self._config = None
        self._config_error = None

    def configure(self, req: ConfigureRequest) -> None:
        stack = {setting.pulumi_key: req.config.get(setting.pulumi_key) for setting in SETTINGS}
        try:
            self._config = ProviderConfig.from_sources(stack, os.environ)
        except ZegoConfigError as error:
            # Kept for check() to report per setting in `pulumi preview`; anything that would
            # call ZEGO raises it.
            self._config_error = error

    @property
    def config(self) -> ProviderConfig:
        if self._config_error is not None:
            raise self._config_error
        if self._config is None:
            # Not configured by the engine (e.g. called directly): the environment is all we have.
            self._config = ProviderConfig.from_env()
        return self._config

    def _client(self) -> RuleClient:
        return self._client_factory(self.config)

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate every input before any call; unknown (preview) values are checked later.

        A valid rule set also claims its stream for this deployment (see `zego_provider.claims`).
        """
        inputs = {key: value for key, value in news.items() if not key.startswith("__")}
        unknown = {key for key, value in inputs.items() if _is_unknown(value)}
        known = {key: value for key, value in inputs.items() if key not in unknown}
        try:
            context = {"app_id": self.config.app_id, "is_test": self.config.is_test}
        except ZegoConfigError as error:
            return CheckResult(inputs, [CheckFailure(name, reason) for name, reason in error.problems])
        try:
            model = RuleSetInputs.model_validate(known, context=context)
        except ValidationError as error:
            failures = [
                CheckFailure(_property_path(problem["loc"]), problem["msg"])
                for problem in error.errors(include_input=False, include_url=False)
                if not (problem["type"] == "missing" and problem["loc"][0] in unknown)
            ]
            return CheckResult(inputs, failures)
        normalized = model.model_dump()
        normalized.update({key: inputs[key] for key in unknown})
        if "stream_id" not in unknown:
            self._claims.declare(model.stream_id, None if "cdn_urls" in unknown else model.cdn_urls)
        return CheckResult(normalized, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """A new stream id replaces; a different set of URLs (a changed query included) or a changed
        `stop_relays_on_delete` updates in place; order is no change."""
        replaces = ["stream_id"] if olds.get("stream_id") != news.get("stream_id") else []
        changed = replaces + [
            key
            for key in ("cdn_urls", "stop_relays_on_delete")
            if _is_unknown(news.get(key)) or _comparable(olds.get(key)) != _comparable(news.get(key))
        ]
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = self._inputs(props)
        self._create_all(inputs.stream_id, inputs.cdn_urls)
        return CreateResult(_resource_id(self.config.app_id, inputs.stream_id), inputs.model_dump())

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Remove first, then add with rollback: a failure at any point leaves ZEGO with no rule
        that the recorded (old) state does not list, and the removed rules are created again, so
        that ZEGO holds what the state (which keeps the old inputs on a failed update) lists.

        URLs are compared whole: a URL whose query changed (a rotated token) is deleted, then
        created again with the new query, since ZEGO keeps the old query on a Create of a relay it
        already has. A removed URL that another rule set of this deployment still declares stays.
        """
        inputs = self._inputs(news)
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
        return UpdateResult(inputs.model_dump())

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Stop each relay (unless told not to), then always clear what is still scheduled.

        Unless another rule set of this deployment still declares the stream (a rename, a move
        into a component, a replacement, a second rule set): then only the relays nobody
        declares are deleted, a relay declared with another query is handed over (Delete, then
        Create of the declared URL), and there is no Clear. See `zego_provider.claims`.
        """
        stream_id = props.get("stream_id") or _stream_id_of(_id)
        urls = list(props.get("cdn_urls") or [])
        stop = props.get("stop_relays_on_delete", True)
        claim = self._claims.claim(stream_id)
        if claim is None:
            if stop:
                self._delete_all(stream_id, urls)
            with _absent_counts_as_done():
                self._client().clear_cdn_transfer_rule(stream_id)
            return
        if not claim.complete:
            log.warning("stream %r is still declared (URLs not known yet): its delete sends nothing", stream_id)
            return
        handed_over = {url: claim.declared_url_of(url) for url in urls}
        orphans = [url for url, declared in handed_over.items() if declared is None]
        if stop:
            self._delete_all(stream_id, orphans)
        elif orphans:
            log.warning(
                "stream %r is still declared: %d undeclared rule(s) left until its next Clear", stream_id, len(orphans)
            )
        for url, declared in handed_over.items():
            if declared is not None and declared != url:
                self._delete_all(stream_id, [url])
                self._client().create_cdn_transfer_rule(stream_id, declared)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """ZEGO has no call that lists a stream's rules: refresh keeps what the state records."""
        outs = {key: value for key, value in props.items() if not key.startswith("__")}
        outs.setdefault("stream_id", _stream_id_of(id_))
        outs.setdefault("cdn_urls", [])
        outs.setdefault("stop_relays_on_delete", True)
        return ReadResult(id_, outs)

    def _inputs(self, props: Mapping[str, Any]) -> RuleSetInputs:
        known = {key: value for key, value in props.items() if not key.startswith("__")}
        try:
            return RuleSetInputs.model_validate(
                known, context={"app_id": self.config.app_id, "is_test": self.config.is_test}
            )
        except ValidationError as error:
            # check() refuses these before any call; reaching here means the state was edited by hand.
            # Without input values: a CDN URL may carry a stream key.
            problems = "; ".join(
                f"{_property_path(problem['loc'])}: {problem['msg']}" for problem in error.errors(include_input=False)
            )
            raise ValueError(f"invalid CdnTransferRuleSet inputs: {problems}") from None

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
            cause.add_note(
                f"Rollback could not delete {len(left)} rule(s) of stream {stream_id!r}; "
                f"remove them with `zego-cdn delete {stream_id} URL` (URLs kept out of this message)."
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
