"""ZegoClient: the three CDN transfer actions over one pooled, signed, rate-limited session.

Every attempt is a new request: a fresh Sequence (ZEGO rejects a repeated one), a fresh
nonce and signature (from the auth object) and a slot from the AppId's shared budget. That
is why retries are a loop here and not urllib3 resending the same URL. The loop is the
retry policy: a rate-limit answer lowers the client's rate and is retried until the call's
time budget runs out; other retryable errors get a bounded number of attempts; waiting for
the shared budget is not an attempt. `retry.backoff` says how long to pause.
"""

from __future__ import annotations

import logging
import random as random_module
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

import requests
from pydantic import SecretStr, ValidationError
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .config import (
    DEFAULT_CALL_TIME_BUDGET,
    DEFAULT_ENDPOINT,
    DEFAULT_MAX_ATTEMPTS,
    ProviderConfig,
    is_loopback_host,
)
from .errors import (
    ZegoApiError,
    ZegoRateLimitError,
    ZegoTransportError,
    error_for,
)
from .models import ZegoResponse
from .ratelimit import RateLimiter, shared_limiter
from .retry import backoff
from .scope import MACHINE
from .sequence import stream_order
from .signing import ZegoSignatureAuth

log = logging.getLogger(__name__)

CREATE = "CreatCDNTransferRule"  # sic: ZEGO spells it without the "e"
DELETE = "DeleteCDNTransferRule"
CLEAR = "ClearCDNTransferRule"

DEFAULT_TIMEOUT = (3.05, 10.0)
"""(connect, read) seconds for one attempt."""
SERVER_ERROR_BACKOFF = (0.25, 8.0)
"""(base, cap) seconds of the pause after a server error or a transport failure."""
STREAM_LOCK_SLACK = 60.0
"""Seconds a Redis stream lock outlives one attempt: the attempt also waits for its budget slot under it."""
RATE_LIMIT_BACKOFF = (1.0, 4.0)
"""(base, cap): ZEGO counts calls per second, so the first pause is up to one window."""


def _timeouts(timeout: float | tuple[float, float]) -> tuple[float, float]:
    return (float(timeout), float(timeout)) if isinstance(timeout, int | float) else (timeout[0], timeout[1])


def _timeout_of(config: ProviderConfig) -> tuple[float, float]:
    read = DEFAULT_TIMEOUT[1] if config.timeout is None else config.timeout
    connect = min(DEFAULT_TIMEOUT[0], read) if config.connect_timeout is None else config.connect_timeout
    return (connect, read)


class ZegoClient:
    """A thread-safe client of one AppId against one endpoint, built from one `ProviderConfig`."""

    def __init__(
        self,
        app_id: int,
        server_secret: str | SecretStr,
        *,
        endpoint: str = DEFAULT_ENDPOINT,
        is_test: bool = False,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        rate_limit: float | None = None,
        rate_limiter: str = MACHINE,
        call_time_budget: float = DEFAULT_CALL_TIME_BUDGET,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        random: Callable[[], float] = random_module.random,
    ) -> None:
        """`rate_limit`: calls/s of this AppId, None for ZEGO's own limit (10, or 5 with is_test).
        `rate_limiter`: where that budget is shared: "machine" (default), "process", a redis://
        URL, or "off" (no client-side pacing). `call_time_budget`: seconds one call may take,
        waits and retries included. `clock` gives the signature's Timestamp (seconds); `sleep`
        and `random` drive the pauses (tests inject them)."""
        connect_timeout, read_timeout = _timeouts(timeout)
        config = ProviderConfig.from_values(
            {
                "app_id": app_id,
                "server_secret": server_secret,
                "endpoint": endpoint,
                "is_test": is_test,
                "rate_limit": rate_limit,
                "timeout": read_timeout,
                "connect_timeout": connect_timeout,
                "rate_limiter": rate_limiter,
                "call_time_budget": call_time_budget,
                "max_attempts": max_attempts,
            },
            source=lambda setting: setting.field,
        )
        self.config = config
        """Every setting this client runs with: the one source, read by everything below."""
        self.timeout = (connect_timeout, read_timeout)
        self._sleep = sleep
        self._random = random
        # Fails here, before any request, when the budget's store cannot be used (Redis down...).
        endpoint_parts = urlsplit(config.endpoint)
        service = endpoint_parts.netloc if is_loopback_host(endpoint_parts.hostname) else ""
        self._limiter: RateLimiter | None = shared_limiter(
            config.rate_limiter, config.app_id, config.effective_rate_limit, is_test=config.is_test, service=service
        )
        self._order = stream_order(
            config.rate_limiter,
            config.app_id,
            is_test=config.is_test,
            service=service,
            hold=connect_timeout + read_timeout + STREAM_LOCK_SLACK,
        )
        self._auth = ZegoSignatureAuth(config.app_id, config.server_secret, is_test=config.is_test, clock=clock)
        self._session = requests.Session()
        # A proxy from the environment must not sit between the client and a local emulator.
        self._session.trust_env = not is_loopback_host(urlsplit(config.endpoint).hostname)
        # Attempts are re-signed and re-sequenced by `_call`, so the adapter never resends.
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=32, max_retries=Retry(0, read=False))
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)

    @property
    def app_id(self) -> int:
        return self.config.app_id

    @property
    def endpoint(self) -> str:
        return self.config.endpoint

    @property
    def is_test(self) -> bool:
        return self.config.is_test

    @property
    def max_attempts(self) -> int:
        return self.config.max_attempts

    @classmethod
    def from_config(cls, config: ProviderConfig, **options: object) -> ZegoClient:
        """A client of `config`; `options` are constructor options and win over it (e.g. `sleep=`,
        or `timeout=` over `config.timeout`, zego:timeout, the read timeout of one attempt)."""
        values: dict[str, object] = {
            "endpoint": config.endpoint,
            "is_test": config.is_test,
            "timeout": _timeout_of(config),
            "max_attempts": config.max_attempts,
            "rate_limit": config.rate_limit,
            "rate_limiter": config.rate_limiter,
            "call_time_budget": config.call_time_budget,
        }
        values.update(options)
        return cls(config.app_id, config.server_secret, **values)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **options: object) -> ZegoClient:
        """Build from ZEGO_APP_ID, ZEGO_SERVER_SECRET, ZEGO_API_ENDPOINT, ZEGO_IS_TEST, ZEGO_RATE_LIMIT,
        ZEGO_RATE_LIMITER, ZEGO_CALL_TIME_BUDGET and ZEGO_TIMEOUT."""
        return cls.from_config(ProviderConfig.from_env(env), **options)

    def __repr__(self) -> str:
        return (
            f"ZegoClient(app_id={self.app_id}, endpoint={self.endpoint!r}, is_test={self.is_test},"
            f" rate_limiter={self.config.rate_limiter_display!r})"
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
                response = self._attempt(action, stream_id, params)
            except ZegoRateLimitError as error:
                # Not counted against max_attempts: the AppId's budget is busy, not the service broken.
                if self._limiter is not None:
                    self._limiter.adaptive.on_rate_limited()
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
                if self._limiter is not None:
                    self._limiter.adaptive.on_success()
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

    def _attempt(self, action: str, stream_id: str, params: Mapping[str, str]) -> ZegoResponse:
        with self._order.ordered(stream_id) as sequence:
            if self._limiter is not None:
                self._limiter.acquire()
            query = {"Action": action, "StreamId": stream_id, **params, "Sequence": str(sequence)}
            try:
                reply = self._session.get(self.endpoint + "/", params=query, auth=self._auth, timeout=self.timeout)
            except requests.Timeout as error:
                raise ZegoTransportError(action, None, f"timed out ({type(error).__name__})", None) from None
            except requests.ConnectionError as error:
                raise ZegoTransportError(action, None, f"connection failed ({type(error).__name__})", None) from None
        request_id = reply.headers.get("X-Request-Id")
        if reply.status_code >= 500:
            raise ZegoTransportError(action, None, f"HTTP {reply.status_code}", request_id)
        try:
            response = ZegoResponse.model_validate_json(reply.content)
        except ValidationError:
            problem = f"HTTP {reply.status_code} with a body that is not ZEGO JSON"
            if reply.status_code >= 400:  # a proxy or wrong endpoint: retrying will not help
                raise ZegoApiError(action, None, problem, request_id, fix="check zego:endpoint") from None
            raise ZegoTransportError(action, None, problem, request_id) from None
        if not response.ok:
            raise error_for(action, response.code, response.message, response.request_id)
        log.debug("%s %s ok [RequestId %s]", action, stream_id, response.request_id)
        return response
