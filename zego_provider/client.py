"""ZegoClient: the three CDN transfer actions over one pooled, signed, rate-limited session.

Every attempt is a new request: a fresh Sequence (ZEGO rejects a repeated one), a fresh
nonce and signature (from the auth object) and a token from the AppId's shared bucket. That
is why retries are a loop here and not urllib3 resending the same URL; urllib3's `Retry`
still keeps the count and computes the jittered exponential backoff.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Literal
from urllib.parse import urlsplit

import requests
from pydantic import SecretStr, ValidationError
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError
from urllib3.util.retry import Retry

from .config import DEFAULT_ENDPOINT, ProviderConfig, is_loopback_host
from .errors import (
    ZegoApiError,
    ZegoRateLimitError,
    ZegoTransportError,
    error_for,
)
from .models import ZegoResponse
from .ratelimit import TokenBucket, shared_bucket
from .sequence import SequenceGenerator
from .signing import ZegoSignatureAuth

log = logging.getLogger(__name__)

CREATE = "CreatCDNTransferRule"  # sic: ZEGO spells it without the "e"
DELETE = "DeleteCDNTransferRule"
CLEAR = "ClearCDNTransferRule"

DEFAULT_TIMEOUT = (3.05, 10.0)
"""(connect, read) seconds for one attempt."""
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_MAX_ELAPSED = 60.0
"""No call, retries and backoff included, runs past this many seconds."""
RATE_LIMIT_PAUSE = 1.0
"""ZEGO counts calls per second: after a rate-limit answer, wait out at least one window."""

_sequences = SequenceGenerator()


class ZegoClient:
    """A thread-safe client of one AppId against one endpoint."""

    def __init__(
        self,
        app_id: int,
        server_secret: str | SecretStr,
        *,
        endpoint: str = DEFAULT_ENDPOINT,
        is_test: bool = False,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        max_elapsed: float = DEFAULT_MAX_ELAPSED,
        rate_limit: float | Literal["auto"] | None = "auto",
        backoff_factor: float = 0.25,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`rate_limit`: calls/s shared by every client of this AppId; "auto" is ZEGO's own
        limit (10, or 5 with is_test); None turns the client-side limiter off. `clock` gives
        the signature's Timestamp (seconds)."""
        config = ProviderConfig.from_values(
            {
                "app_id": app_id,
                "server_secret": server_secret,
                "endpoint": endpoint,
                "is_test": is_test,
                "rate_limit": None if rate_limit in ("auto", None) else rate_limit,
            },
            source=lambda setting: setting.field,
        )
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.config = config
        self.app_id = config.app_id
        self.endpoint = config.endpoint
        self.is_test = config.is_test
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.max_elapsed = max_elapsed
        self._sleep = sleep
        self._retry = Retry(
            total=max_attempts - 1,
            backoff_factor=backoff_factor,
            backoff_max=8.0,
            backoff_jitter=backoff_factor,
        )
        self._bucket: TokenBucket | None = (
            None if rate_limit is None else shared_bucket(config.app_id, config.effective_rate_limit, is_test=is_test)
        )
        self._auth = ZegoSignatureAuth(config.app_id, config.server_secret, is_test=config.is_test, clock=clock)
        self._session = requests.Session()
        # A proxy from the environment must not sit between the client and a local emulator.
        self._session.trust_env = not is_loopback_host(urlsplit(config.endpoint).hostname)
        # Attempts are re-signed and re-sequenced by `_call`, so the adapter never resends.
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=32, max_retries=Retry(0, read=False))
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)

    @classmethod
    def from_config(cls, config: ProviderConfig, **options: object) -> ZegoClient:
        """`options` are constructor options and win over the config: e.g. `rate_limit=None`, or
        `timeout=` over `config.timeout` (zego:timeout, the read timeout of one attempt)."""
        rate: float | Literal["auto"] = config.rate_limit if config.rate_limit is not None else "auto"
        options.setdefault("rate_limit", rate)
        if config.timeout is not None:
            options.setdefault("timeout", (min(DEFAULT_TIMEOUT[0], config.timeout), config.timeout))
        return cls(
            config.app_id,
            config.server_secret,
            endpoint=config.endpoint,
            is_test=config.is_test,
            **options,  # type: ignore[arg-type]
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **options: object) -> ZegoClient:
        """Build from ZEGO_APP_ID, ZEGO_SERVER_SECRET, ZEGO_API_ENDPOINT, ZEGO_IS_TEST, ZEGO_RATE_LIMIT and
        ZEGO_TIMEOUT."""
        return cls.from_config(ProviderConfig.from_env(env), **options)

    def __repr__(self) -> str:
        return f"ZegoClient(app_id={self.app_id}, endpoint={self.endpoint!r}, is_test={self.is_test})"

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
        retry = self._retry
        deadline = time.monotonic() + self.max_elapsed
        while True:
            try:
                return self._attempt(action, stream_id, params)
            except ZegoApiError as error:
                if not error.retryable:
                    raise
                try:
                    retry = retry.increment(method="GET", url=action, error=error)
                except MaxRetryError:
                    raise error from None
                pause = retry.get_backoff_time()
                if isinstance(error, ZegoRateLimitError):
                    pause = max(pause, RATE_LIMIT_PAUSE)
                if time.monotonic() + pause > deadline:
                    raise error from None
                log.warning("%s; retrying in %.2fs", error, pause)
                self._sleep(pause)

    def _attempt(self, action: str, stream_id: str, params: Mapping[str, str]) -> ZegoResponse:
        with _sequences.ordered(stream_id) as sequence:
            if self._bucket is not None:
                self._bucket.acquire()
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
