"""Settings: AppId, ServerSecret, endpoint, IsTest, rate budget and timeouts, from stack config or environment.

The settings are declared once, in `settings.py` (`SETTINGS`, re-exported here). One pydantic
model validates them wherever they come from (Pulumi config in the provider process, the
environment for `zego-cdn` and `ZegoClient.from_env()`). The secret is a
`SecretStr`, and validation errors are rewritten without input values, so the secret never
reaches a log line or an error text.

The endpoint is parsed once, by `parse_endpoint`, and only its validated pieces (scheme, host,
port) are kept: the host the loopback rule checks is the host the connection goes to.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from .budget import MACHINE, display, validate_scope
from .errors import ZegoConfigError
from .settings import (
    DEFAULT_CALL_TIME_BUDGET,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_ENDPOINT,
    DEFAULT_RATE_LIMIT,
    DEFAULT_READ_TIMEOUT,
    DEFAULT_TEST_RATE_LIMIT,
    MAX_APP_ID,
    Setting,
    Source,
    declared,
)
from .settings import (
    SETTINGS as SETTINGS,  # re-exported: `config.SETTINGS` names the settings too
)

ZEGO_DOMAIN = "zego.im"
"""ZEGO's hosts (global and regional) share one AppId's call counters."""
MAX_TIMEOUT = 300.0
MAX_CALL_TIME_BUDGET = 3600.0
DEFAULT_MAX_ATTEMPTS = 5


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return False  # ::ffff:127.0.0.1 is loopback to Python 3.13 but not to 3.11: refused on both
    return address.is_loopback


_PRINTABLE_ASCII = re.compile(r"[\x21-\x7e]+")
_DNS_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_DIGITS = re.compile(r"[0-9]+")


class Endpoint(NamedTuple):
    """An endpoint reduced to the pieces a connection uses; `url` is rebuilt from them alone."""

    scheme: str
    host: str  # lower case; an IPv6 address without brackets
    port: int | None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}" + (f":{self.port}" if self.port is not None else "")


def _host_problem(host: str) -> str | None:
    """Why `host` is not a plain DNS name or IP literal (a numeric-looking name such as
    `0x7f.1` or `127.1` is read as an address by some resolvers, so only dotted quads pass)."""
    try:
        ipaddress.IPv6Address(host)
        return None
    except ValueError:
        pass
    labels = host.split(".")
    last = labels[-1]
    if _DIGITS.fullmatch(last) or last.startswith("0x"):
        try:
            ipaddress.IPv4Address(host)
            return None
        except ValueError:
            return "a numeric host must be a dotted-quad IPv4 address"
    if len(host) > 253 or not all(_DNS_LABEL.fullmatch(label) for label in labels):
        return "the host must be a DNS name (letters, digits, `-`; punycode for others) or an IP address"
    return None


def parse_endpoint(text: str) -> Endpoint:
    """The ONE reading of an endpoint: refuse anything two URL parsers could read differently.

    urllib3 (which opens the connection) and urllib.parse (what most people's tools use) must
    agree on scheme, host and port; userinfo, backslashes, whitespace, control or non-ASCII
    characters, a path other than `/`, a query or fragment are refused outright. Raises
    ValueError with a message that never repeats the value.
    """
    if not _PRINTABLE_ASCII.fullmatch(text):
        raise ValueError("must be printable ASCII without spaces (use punycode for a non-ASCII host)")
    for char, what in (("@", "user info (`@`)"), ("\\", "a backslash"), ("?", "a query string"), ("#", "a fragment")):
        if char in text:
            raise ValueError(f"must not contain {what}")
    if "%" in text:
        raise ValueError("must not contain percent-encoding")
    try:
        split = urlsplit(text)
        split_port = split.port
        parsed = parse_url(text)
    except (ValueError, LocationParseError):
        raise ValueError("is not a URL with a valid host and port") from None
    scheme = split.scheme.lower()
    if scheme not in ("https", "http"):
        raise ValueError("must be an https:// URL with a host")
    host = (split.hostname or "").lower()
    urllib3_host = (parsed.host or "").lower().removeprefix("[").removesuffix("]")
    if not host or host != urllib3_host or split_port != parsed.port or scheme != (parsed.scheme or "").lower():
        raise ValueError("is ambiguous: URL parsers disagree on its scheme, host or port")
    if split.netloc.endswith(":") or split_port == 0:
        raise ValueError("must have a port from 1 to 65535, or none")
    if split.path not in ("", "/"):
        raise ValueError("must not have a path: ZEGO's API is at `/`")
    problem = _host_problem(host)
    if problem:
        raise ValueError(problem)
    if scheme == "http" and not is_loopback_host(host):
        raise ValueError("plain http:// is only allowed for loopback hosts (the emulator); use https://")
    return Endpoint(scheme, host, split_port)


def _utf8_printable_problem(value: str) -> str | None:
    """Settings reach HTTP (and terminals) as UTF-8 text: undecodable bytes (surrogates from
    the environment) or control characters are refused, without repeating the value."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid UTF-8 text (it holds undecodable bytes)"
    if not value.isprintable():
        return "must not contain control or other non-printable characters"
    return None


class ProviderConfig(BaseModel):
    """Validated ZEGO settings, and the one source of a ZegoClient's settings.

    `rate_limit` None means ZEGO's own limit for the environment. `rate_limiter` says where the
    AppId's budget is shared: `machine` (default), `process`, a `redis://`/`rediss://` URL, or
    `off` (no client-side pacing: only for an endpoint without a limit). `timeout` is the read
    timeout of one attempt in seconds (each retry gets it again) and `connect_timeout` its
    connect timeout; None keeps the client's default. `call_time_budget` bounds one call,
    waits and retries included; `max_attempts` bounds the attempts after errors other than a
    rate-limit answer (those are retried until the time budget runs out).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    app_id: int = Field(ge=1, le=MAX_APP_ID)
    server_secret: SecretStr
    endpoint: str = DEFAULT_ENDPOINT
    is_test: bool = False
    rate_limit: float | None = Field(default=None, gt=0, le=1000)
    timeout: float | None = Field(default=None, gt=0, le=MAX_TIMEOUT)
    connect_timeout: float | None = Field(default=None, gt=0, le=MAX_TIMEOUT)
    # repr=False: a Redis URL may carry a password; `rate_limiter_display` is the printable form.
    rate_limiter: str = Field(default=MACHINE, repr=False)
    call_time_budget: float = Field(default=DEFAULT_CALL_TIME_BUDGET, gt=0, le=MAX_CALL_TIME_BUDGET)
    max_attempts: int = Field(default=DEFAULT_MAX_ATTEMPTS, ge=1, le=100)

    @field_validator("app_id", mode="before")
    @classmethod
    def _app_id_decimal_digits(cls, value: Any) -> Any:
        if isinstance(value, str):
            problem = _utf8_printable_problem(value)
            if problem:
                raise ValueError(problem)
            if not _DIGITS.fullmatch(value):
                raise ValueError("must be a decimal number (digits only)")
        return value

    @field_validator("server_secret", mode="before")
    @classmethod
    def _secret_is_text(cls, value: Any) -> Any:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, str):
            problem = _utf8_printable_problem(value)
            if problem:
                raise ValueError(problem)
        return value

    @field_validator("server_secret")
    @classmethod
    def _secret_not_blank(cls, secret: SecretStr) -> SecretStr:
        value = secret.get_secret_value()
        if not value or value != value.strip():
            raise ValueError("must be non-empty, without surrounding whitespace")
        return secret

    @field_validator("endpoint")
    @classmethod
    def _https_or_loopback(cls, endpoint: str) -> str:
        return parse_endpoint(endpoint).url

    @field_validator("rate_limiter")
    @classmethod
    def _known_scope(cls, value: str) -> str:
        return validate_scope(value)

    @property
    def rate_limiter_display(self) -> str:
        """`rate_limiter` with any password replaced, for messages and reprs."""
        return display(self.rate_limiter)

    @property
    def attempt_timeout(self) -> tuple[float, float]:
        """(connect, read) seconds of one attempt; the connect timeout never exceeds the read timeout unless set."""
        read = DEFAULT_READ_TIMEOUT if self.timeout is None else self.timeout
        connect = min(DEFAULT_CONNECT_TIMEOUT, read) if self.connect_timeout is None else self.connect_timeout
        return (connect, read)

    @property
    def budget_service(self) -> str:
        """Whose call counters the AppId's budget shares: "" for ZEGO's hosts (its regional hosts
        share the AppId's limit), the `host:port` of any other endpoint, which counts on its own
        (an emulator, a stand-in: two of them never share a budget)."""
        endpoint = parse_endpoint(self.endpoint)
        if endpoint.host == ZEGO_DOMAIN or endpoint.host.endswith("." + ZEGO_DOMAIN):
            return ""
        return f"{endpoint.host}:{endpoint.port or (443 if endpoint.scheme == 'https' else 80)}"

    @property
    def effective_rate_limit(self) -> float:
        if self.rate_limit is not None:
            return self.rate_limit
        return DEFAULT_TEST_RATE_LIMIT if self.is_test else DEFAULT_RATE_LIMIT

    @classmethod
    def from_values(
        cls, values: Mapping[str, Any], *, source: Callable[[Setting], str] = lambda setting: setting.field
    ) -> ProviderConfig:
        """Validate, turning pydantic's errors into one ZegoConfigError naming each setting (by
        its field name unless `source` names where it came from)."""
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            by_field = {setting.field: setting for setting in declared()}
            problems = []
            for problem in error.errors():
                field = str(problem["loc"][0]) if problem["loc"] else ""
                name = source(by_field[field]) if field in by_field else field
                if problem["type"] == "missing":
                    problems.append((name, "is required"))
                else:
                    problems.append((name, f"is invalid: {problem['msg'].removeprefix('Value error, ')}"))
            raise ZegoConfigError(problems) from None

    @classmethod
    def from_sources(
        cls,
        stack: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> ProviderConfig:
        """Stack config (keys like `zego:appId`) wins over the environment (ZEGO_*).

        A problem names the setting where its value came from; a missing one by both names.
        """
        return cls._read(stack or {}, os.environ if env is None else env, unset=Source.EITHER)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ProviderConfig:
        """The environment only (`zego-cdn`, `ZegoClient.from_env()`): problems name ZEGO_* variables."""
        return cls._read({}, os.environ if env is None else env, unset=Source.ENV)

    @classmethod
    def _read(cls, stack: Mapping[str, Any], env: Mapping[str, str], *, unset: Source) -> ProviderConfig:
        values: dict[str, Any] = {}
        origin: dict[str, Source] = {}
        for setting in declared():
            if stack.get(setting.pulumi_key) not in (None, ""):
                values[setting.field] = stack[setting.pulumi_key]
                origin[setting.field] = Source.STACK
            elif env.get(setting.env_var) not in (None, ""):
                values[setting.field] = env[setting.env_var]
                origin[setting.field] = Source.ENV
        return cls.from_values(values, source=lambda setting: setting.named(origin.get(setting.field, unset)))
