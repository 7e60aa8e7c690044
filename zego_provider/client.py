"""ZegoClient: the three CDN transfer actions over one pooled, signed, rate-limited session.

Every attempt is a new request: a fresh Sequence (ZEGO rejects a repeated one), a fresh
nonce and signature (from the auth object) and a slot from the AppId's shared budget. That
is why retries are a loop here and not urllib3 resending the same URL. The loop is the
retry policy: a rate-limit answer lowers the client's rate and is retried until the call's
time budget runs out; other retryable errors get a bounded number of attempts; waiting for
the shared budget is not an attempt. `retry.backoff` says how long to pause.

Whatever goes wrong in one HTTP exchange (connect, TLS, headers, a body cut short, badly
encoded, too large or too slow, a body that is not ZEGO JSON) ends as a `ZegoTransportError`,
retried like a server error; its text names the kind of failure, never the URL (the query carries the Signature).
Redirects are never followed: the signed query must reach the configured endpoint or nobody.
Importing this module puts a redacting filter on urllib3's loggers (see `redaction`).
"""

from __future__ import annotations

import functools
import http.client
import logging
import os
import random as random_module
import socket
import time
from collections.abc import Callable, Iterator, Mapping

import requests
import urllib3.exceptions
from pydantic import ValidationError
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from . import redaction
from .budget import Budget, open_budget
from .config import ProviderConfig, is_loopback_host, parse_endpoint
from .errors import (
    ZegoApiError,
    ZegoConfigError,
    ZegoRateLimitError,
    ZegoTransportError,
    error_for,
)
from .models import ZegoResponse
from .pacing import paced
from .retry import backoff
from .signing import ZegoSignatureAuth

log = logging.getLogger(__name__)

CREATE = "CreatCDNTransferRule"  # sic: ZEGO spells it without the "e"
DELETE = "DeleteCDNTransferRule"
CLEAR = "ClearCDNTransferRule"

SERVER_ERROR_BACKOFF = (0.25, 8.0)
"""(base, cap) seconds of the pause after a server error or a transport failure."""
STREAM_LOCK_SLACK = 60.0
"""Seconds a Redis stream lock outlives one attempt: the attempt also waits for its budget slot under it."""
RATE_LIMIT_BACKOFF = (2.0, 8.0)
"""(base, cap): ZEGO counts calls per second, so the first pause is one to two seconds: a refused
call fits again once the oldest call of its second has left the window, one second at most."""


redaction.install()


class ZegoClient:
    """A thread-safe client of one AppId against one endpoint, built from one `ProviderConfig`."""

    def __init__(
        self,
        config: ProviderConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        random: Callable[[], float] = random_module.random,
    ) -> None:
        """`config` holds every setting this client runs with. `clock` gives the signature's
        Timestamp (seconds); `sleep` and `random` drive the pauses (tests inject them).
        Raises ZegoConfigError, before any request, when the budget's store cannot be used (Redis down...)."""
        self.config = config
        self._sleep = sleep
        self._random = random
        self._budget: Budget = open_budget(
            config.rate_limiter,
            config.app_id,
            config.effective_rate_limit,
            is_test=config.is_test,
            service=config.budget_service,
        )
        self._hold = sum(config.attempt_timeout) + STREAM_LOCK_SLACK
        self._auth = ZegoSignatureAuth(config.app_id, config.server_secret, is_test=config.is_test, clock=clock)
        self._session = _new_session(config.endpoint)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ZegoClient:
        """A client of the settings in the ZEGO_* environment (`zego_provider.settings.SETTINGS`)."""
        return cls(ProviderConfig.from_env(env))

    def __repr__(self) -> str:
        config = self.config
        return (
            f"ZegoClient(app_id={config.app_id}, endpoint={config.endpoint!r}, is_test={config.is_test},"
            f" rate_limiter={config.rate_limiter_display!r})"
        )

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> ZegoClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def create_cdn_transfer_rule(self, stream_id: str, cdn_url: str) -> ZegoResponse:
        """Start relaying the stream to `cdn_url` once it is published."""
        return self._call(CREATE, stream_id, {"CDNUrl": cdn_url})

    def delete_cdn_transfer_rule(self, stream_id: str, cdn_url: str) -> ZegoResponse:
        """Stop relaying to `cdn_url`, including a relay that is running now."""
        return self._call(DELETE, stream_id, {"CDNUrl": cdn_url})

    def clear_cdn_transfer_rule(self, stream_id: str) -> ZegoResponse:
        """Drop every scheduled (not yet started) relay of the stream."""
        return self._call(CLEAR, stream_id, {})

    def _call(self, action: str, stream_id: str, params: Mapping[str, str]) -> ZegoResponse:
        started = time.monotonic()
        deadline = started + self.config.call_time_budget
        rate_limited = 0
        failed = 0
        while True:
            try:
                response = self._attempt(action, stream_id, params, deadline)
            except ZegoRateLimitError as error:
                # Not counted against max_attempts: the AppId's budget is busy, not the service broken.
                self._budget.on_rate_limited()
                pause = backoff(
                    rate_limited, base=RATE_LIMIT_BACKOFF[0], cap=RATE_LIMIT_BACKOFF[1], random=self._random
                )
                rate_limited += 1
                last: ZegoApiError = error
            except ZegoApiError as error:
                failed += 1
                if not error.retryable or failed >= self.config.max_attempts:
                    raise
                base, cap = SERVER_ERROR_BACKOFF
                pause = backoff(failed - 1, base=base, cap=cap, random=self._random)
                last = error
            else:
                self._budget.on_success()
                return response
            if time.monotonic() + pause > deadline:
                raise self._out_of_time(last, time.monotonic() - started) from None
            log.warning("%s; retrying in %.2fs", last, pause)
            self._sleep(pause)

    def _out_of_time(self, error: ZegoApiError, elapsed: float) -> ZegoApiError:
        """The last error, saying that the call's time budget (and which setting) ran out."""
        budget = self.config.call_time_budget
        note = (
            f"gave up after {elapsed:.1f}s: the call's time budget zego:callTimeBudget (ZEGO_CALL_TIME_BUDGET)"
            f" of {budget:g}s ran out"
        )
        return type(error)(
            error.action,
            error.code,
            error.message,
            error.request_id,
            meaning=error.meaning,
            fix=f"{note}; {error.fix}" if error.fix else note,
        )

    def _prepare(self, query: Mapping[str, str]) -> requests.PreparedRequest:
        """The signed GET of one attempt (a fresh nonce and Timestamp each time)."""
        return self._session.prepare_request(
            requests.Request("GET", _api_url(self.config.endpoint), params=dict(query), auth=self._auth)
        )

    def _attempt(self, action: str, stream_id: str, params: Mapping[str, str], deadline: float) -> ZegoResponse:
        # Signed before the wait (the signature covers AppId, nonce, secret and Timestamp only, and a
        # Timestamp stays valid for 10 minutes): after the slot only the Sequence is added, and the
        # request leaves at once. ZEGO may count a sliding window of arrival times: every millisecond
        # between slot and arrival narrows the budget's margin (budget/shared.py).
        prepared = self._prepare({"Action": action, "StreamId": stream_id, **params})
        # stream=True: read by `_read_reply`, bounded in size and time
        settings = self._session.merge_environment_settings(prepared.url, {}, True, None, None)
        # Any failure of the budget (Redis gone, a budget file replaced) is a ZegoBudgetError, and a
        # wait past `deadline` (the call's time budget) a ZegoCallTimeBudgetError: see `pacing`.
        with paced(
            self._budget,
            stream_id,
            self._hold,
            action=action,
            scope=self.config.rate_limiter,
            deadline=deadline,
            time_budget=self.config.call_time_budget,
        ) as sequence:
            slot = time.monotonic()  # slot to reply: the budget's margin under ZEGO's window
            prepared.prepare_url(prepared.url, {"Sequence": str(sequence)})
            reply: requests.Response | None = None
            body, failure = b"", ""
            timeout = self.config.attempt_timeout
            # The read timeout bounds each socket read: a reply trickling a byte at a time is
            # bounded by the whole exchange's connect plus read timeout.
            deadline = time.monotonic() + sum(timeout)
            try:
                reply = self._session.send(prepared, timeout=timeout, allow_redirects=False, **settings)
                body = _read_reply(reply, deadline)
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
                # OSError: requests' own set-up (a CA bundle removed since the client was built).
                failure = describe_transport_failure(error)
            except _UnusableReply as error:
                failure = str(error)
            # Raised outside the `except`: the requests exception (its text holds the signed URL)
            # is not even kept as the context.
            if not failure:
                self._budget.observe(time.monotonic() - slot)
            if failure or reply is None:
                request_id = reply.headers.get("X-Request-Id") if reply is not None else None
                if reply is not None:
                    reply.close()  # drop the connection: what is left of the body is unknown
                raise ZegoTransportError(action, None, failure, request_id)
        request_id = reply.headers.get("X-Request-Id")
        if reply.status_code >= 500:
            raise ZegoTransportError(action, None, f"HTTP {reply.status_code}", request_id)
        if reply.is_redirect or 300 <= reply.status_code < 400:
            raise ZegoApiError(
                action,
                None,
                f"HTTP {reply.status_code}: the endpoint {self.config.endpoint} answered with a redirect, not followed",
                request_id,
                fix="set zego:endpoint (ZEGO_API_ENDPOINT) to the API's own address",
            )
        try:
            response = ZegoResponse.model_validate_json(body)
        except ValidationError:
            problem = f"HTTP {reply.status_code} with a body that is not ZEGO JSON"
            if reply.status_code >= 400:  # a proxy or wrong endpoint: retrying will not help
                raise ZegoApiError(action, None, problem, request_id, fix="check zego:endpoint") from None
            raise ZegoTransportError(action, None, problem, request_id) from None
        if not response.ok:
            raise error_for(action, response.code, response.message, response.request_id)
        log.debug("%s %s ok [RequestId %s]", action, stream_id, response.request_id)
        return response


MAX_REPLY_BYTES = 1 << 20
"""ZEGO's replies are ~100 bytes of JSON; anything this large is not one (and not kept)."""


class _UnusableReply(Exception):
    """A reply too large or too slow to be ZEGO's; its text is the transport error's."""


def _read_reply(reply: requests.Response, deadline: float) -> bytes:
    """The decoded body (a gzip bomb is bounded too). `read1` returns what has arrived, so the
    deadline is checked however slowly bytes trickle in; urllib3 raises its own exceptions here
    (requests' `iter_content` would wait to fill each chunk)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := reply.raw.read1(16384, decode_content=True):
        size += len(chunk)
        if size > MAX_REPLY_BYTES:
            raise _UnusableReply(f"reply over {MAX_REPLY_BYTES} bytes")
        if time.monotonic() > deadline:
            raise _UnusableReply("reply still arriving when the attempt's time ran out")
        chunks.append(chunk)
    return b"".join(chunks)


CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
"""Where requests reads a CA bundle from the environment, in its order."""


def _ca_bundle(endpoint: str) -> str | None:
    """The CA bundle the environment names for an https endpoint, checked before any request:
    a missing or unreadable one is a configuration error now, not an OSError at the first call."""
    if parse_endpoint(endpoint).scheme != "https":
        return None
    for name in CA_BUNDLE_VARIABLES:
        path = os.environ.get(name)
        if not path:
            continue
        if not os.path.exists(path):
            raise ZegoConfigError([(name, "names a CA bundle that does not exist: set it to a PEM file, or unset it")])
        if not os.access(path, os.R_OK):
            raise ZegoConfigError([(name, "names a CA bundle this user cannot read")])
        return path
    return None


def _new_session(endpoint: str) -> requests.Session:
    """A pooled session that never resends on its own."""
    session = requests.Session()
    # A proxy from the environment must not sit between the client and a local emulator.
    session.trust_env = not is_loopback_host(parse_endpoint(endpoint).host)
    # The environment's CA bundle is checked now for every https endpoint; requests reads it itself
    # where it trusts the environment, and is handed it for a loopback one (no proxy, same bundle).
    ca_bundle = _ca_bundle(endpoint)
    if ca_bundle is not None and not session.trust_env:
        session.verify = ca_bundle
    # Redirects: `_attempt` passes allow_redirects=False (max_redirects=0 would not do: requests
    # then raises TooManyRedirects while merely preparing the unfollowed next request).
    # Attempts are re-signed and re-sequenced by `_call`, so the adapter never resends.
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=32, max_retries=Retry(0, read=False, redirect=False))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


@functools.lru_cache(maxsize=64)
def _api_url(endpoint: str) -> str:
    """The request URL, rebuilt from the endpoint's validated pieces (scheme, host, port)."""
    return parse_endpoint(endpoint).url + "/"


def _causes(error: BaseException) -> Iterator[BaseException]:
    """`error` and what it wraps: requests and urllib3 nest the socket-level cause in
    `__cause__`/`__context__`, `.reason` (MaxRetryError) and `.args`."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending and len(seen) < 32:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        nested = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        pending.extend(item for item in nested if isinstance(item, BaseException))


_CAUSE_KINDS: tuple[tuple[type[BaseException], str], ...] = (  # the most precise first
    (http.client.RemoteDisconnected, "connection closed without a reply"),
    (ConnectionRefusedError, "connection refused"),
    (ConnectionResetError, "connection reset"),
    (BrokenPipeError, "connection closed while sending"),
    (urllib3.exceptions.InvalidChunkLength, "reply badly chunked"),  # an IncompleteRead too
    (urllib3.exceptions.IncompleteRead, "reply cut short"),  # fewer bytes than Content-Length
    (http.client.IncompleteRead, "reply cut short or badly chunked"),  # http.client says both so
    (urllib3.exceptions.NameResolutionError, "host name not resolved"),
    (socket.gaierror, "host name not resolved"),
    (http.client.LineTooLong, "reply status line or header too long"),
    (http.client.HTTPException, "malformed reply status line or headers"),
)

_ERROR_KINDS: tuple[tuple[type[Exception], str], ...] = (
    (requests.exceptions.ConnectTimeout, "timed out connecting"),
    (requests.exceptions.ReadTimeout, "timed out waiting for the reply"),
    (urllib3.exceptions.ReadTimeoutError, "timed out waiting for the reply"),
    (requests.exceptions.SSLError, "TLS handshake or certificate check failed"),
    (urllib3.exceptions.SSLError, "TLS handshake or certificate check failed"),
    (requests.exceptions.ProxyError, "the proxy failed"),
    (requests.exceptions.ChunkedEncodingError, "reply cut short or badly chunked"),
    (requests.exceptions.ContentDecodingError, "reply body could not be decoded"),
    (urllib3.exceptions.DecodeError, "reply body could not be decoded"),
    (requests.exceptions.Timeout, "timed out"),
    (urllib3.exceptions.ProtocolError, "connection broken"),
)


def describe_transport_failure(error: Exception) -> str:
    """A short description naming the kind of failure and the exception class, never the URL."""
    causes = list(_causes(error))[1:]
    kind = next((text for cls, text in _CAUSE_KINDS if any(isinstance(cause, cls) for cause in causes)), "")
    if not kind:
        kind = next((text for cls, text in _ERROR_KINDS if isinstance(error, cls)), "")
    if not kind:
        kind = "connection failed" if isinstance(error, requests.ConnectionError) else "request failed"
    return f"{kind} ({type(error).__name__})"
