"""Declared shapes: the rule-set inputs a Pulumi program gives, and ZEGO's reply envelope.

One model validates the resource inputs in `check` and types them everywhere after, so a
bad stream id or URL is reported against its property before any request is sent.
"""

from __future__ import annotations

import re
import string
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from .identity import relay_identity

MAX_STREAM_ID_LENGTH = 256
MAX_CDN_URL_LENGTH = 2048
MAX_CDN_URLS = 20
"""Our own sanity bound per stream (ZEGO documents none); raise it if your plan allows more."""

# Letters, digits and the symbols ZEGO lists for stream names; nothing else (no whitespace).
STREAM_ID_SYMBOLS = "~!@#$%^&*()_+=-`;',.<>/\\"
_STREAM_ID_CHARS = frozenset(string.ascii_letters + string.digits + STREAM_ID_SYMBOLS)
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")


def stream_prefix_for_test_env(app_id: int) -> str:
    """ZEGO's test environment only accepts stream ids that start with this."""
    return f"zegotest-{app_id}-"


def _invalid(kind: str, message: str) -> PydanticCustomError:
    """A validation error whose text is exactly `message` (no "Value error," prefix)."""
    return PydanticCustomError(kind, message)


def _check_stream_id_chars(stream_id: str) -> str:
    bad = sorted({char for char in stream_id if char not in _STREAM_ID_CHARS})
    if bad:
        raise _invalid(
            "stream_id_chars",
            f"has {', '.join(repr(char) for char in bad)}: a ZEGO stream id may only use "
            f"letters, digits and {STREAM_ID_SYMBOLS}",
        )
    return stream_id


def _check_rtmp_url(url: str) -> str:
    if _CONTROL_OR_SPACE.search(url):
        raise _invalid("rtmp_url", "must not contain whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise _invalid("rtmp_url", f"is not a well-formed URL ({error})") from None
    if parts.scheme != "rtmp":
        raise _invalid("rtmp_url", f"must be an RTMP URL (rtmp://host/app/key), not {parts.scheme or 'schemeless'}")
    if not parts.hostname:
        raise _invalid("rtmp_url", "has no host: an RTMP URL looks like rtmp://host/app/key")
    if port == 0:
        raise _invalid("rtmp_url", "has port 0")
    if parts.path.strip("/") == "":
        raise _invalid("rtmp_url", "has no path: an RTMP URL names the application and stream, rtmp://host/app/key")
    return url


StreamId = Annotated[
    StrictStr, Field(min_length=1, max_length=MAX_STREAM_ID_LENGTH), AfterValidator(_check_stream_id_chars)
]
CdnUrl = Annotated[StrictStr, Field(min_length=1, max_length=MAX_CDN_URL_LENGTH), AfterValidator(_check_rtmp_url)]


def _unique_sorted(urls: list[str]) -> list[str]:
    """Refuse two items that are one ZEGO relay: the same URL, or URLs that differ only in the query."""
    first_of: dict[str, int] = {}
    for index, url in enumerate(urls):
        first = first_of.setdefault(relay_identity(url), index)
        if first == index:
            continue
        if urls[first] == url:
            raise _invalid("duplicate_url", f"lists the same URL more than once (items [{first}, {index}])")
        raise _invalid(
            "duplicate_relay",
            f"cdn_urls[{first}] and cdn_urls[{index}] are the same relay: ZEGO identifies a relay by its URL "
            "without the query, so URLs that differ only in the query (e.g. a token) cannot both be relayed",
        )
    return sorted(urls)


CdnUrls = Annotated[list[CdnUrl], Field(max_length=MAX_CDN_URLS), AfterValidator(_unique_sorted)]


class RuleSetInputs(BaseModel):
    """The inputs of one CdnTransferRuleSet, normalized (URLs sorted) so order never causes a diff.

    Validate with `context={"app_id": ..., "is_test": ...}` to enforce the test-environment
    stream prefix; without that context the prefix is not checked. `context["is_test_name"]`
    names that setting in the message (`zego:isTest` unless the caller read `ZEGO_IS_TEST`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    stream_id: StreamId
    cdn_urls: CdnUrls = Field(default_factory=list)
    stop_relays_on_delete: StrictBool = True

    @field_validator("stream_id")
    @classmethod
    def _test_environment_prefix(cls, stream_id: str, info: ValidationInfo) -> str:
        context = info.context or {}
        if context.get("is_test"):
            prefix = stream_prefix_for_test_env(context["app_id"])
            if not stream_id.startswith(prefix):
                name = context.get("is_test_name", "zego:isTest")
                raise _invalid("test_prefix", f"must start with {prefix!r} when {name} is true")
        return stream_id


def _as_text(value: Any) -> str | None:
    return None if value is None else str(value)


class ZegoResponse(BaseModel):
    """ZEGO's JSON reply: Code 0 is success, RequestId is what support asks for."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    code: int = Field(alias="Code")
    message: str = Field(default="", alias="Message")
    request_id: Annotated[str | None, BeforeValidator(_as_text)] = Field(default=None, alias="RequestId")
    data: Any = Field(default=None, alias="Data")

    @property
    def ok(self) -> bool:
        return self.code == 0
