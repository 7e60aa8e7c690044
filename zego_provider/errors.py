"""ZEGO return codes: one table maps each code to its meaning, exception class and retryability.

Nothing else in the package knows a code by number: the client turns a code into an exception
with `error_for()` and retries exactly the errors whose class says `retryable`; `is_retryable()`
answers the same question for a bare code (tests and tools); the emulator answers with
`meaning_of()`. A code missing from the table becomes a `ZegoUnknownCodeError` and is not
retried.

The exceptions pickle (`__reduce__`, as botocore's do), so they cross process pools and
multiprocessing queues with their attributes and notes intact.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class ZegoError(Exception):
    """Base of every error this package raises on purpose."""


class ZegoConfigError(ZegoError, ValueError):
    """A missing or malformed setting (AppId, ServerSecret, endpoint...), found before any request.

    `problems` pairs each setting's name (as the user gave it) with what is wrong, so that
    `pulumi preview` can show each one on its own line.
    """

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("ZEGO settings: " + "; ".join(f"{name} {reason}" for name, reason in problems))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.problems,), dict(vars(self)))


MAX_MESSAGE = 300
MAX_REQUEST_ID = 64


def _one_line(text: str, limit: int) -> str:
    """The server's words as one printable line of bounded length: a Message or RequestId with
    newlines or terminal escapes must not forge extra lines in a CI log or `zego-cdn` output."""
    shown = "".join(char if char.isprintable() else repr(char)[1:-1] for char in text[: limit + 1])
    return shown[:limit] + "..." if len(text) > limit or len(shown) > limit else shown


class ZegoApiError(ZegoError):
    """ZEGO refused or could not complete a call. Names the action, code, meaning and RequestId."""

    retryable: bool = False
    message_limit: int = MAX_MESSAGE
    """Characters of the message shown: ZEGO's own text is bounded, so it cannot flood a log."""

    def __init__(
        self,
        action: str,
        code: int | None,
        message: str,
        request_id: str | None,
        *,
        meaning: str = "",
        fix: str = "",
    ) -> None:
        self.action = action
        self.code = code
        self.message = message
        self.request_id = request_id
        self.meaning = meaning
        self.fix = fix
        super().__init__(self._describe())

    def __reduce__(self) -> tuple[Any, ...]:
        """Rebuild through the constructor (Exception's default passes only the text), then
        restore every attribute, `__notes__` included."""
        return (_rebuild_api_error, (type(self), dict(vars(self))))

    def _describe(self) -> str:
        code = f"code {self.code}" if self.code is not None else "no ZEGO code"
        meaning = f" ({self.meaning})" if self.meaning else ""
        fix = f"; {self.fix}" if self.fix else ""
        message = _one_line(self.message, self.message_limit) or "no message"
        request_id = _one_line(self.request_id or "", MAX_REQUEST_ID) or "none"
        return f"ZEGO {self.action} failed: {code}{meaning}: {message} [RequestId {request_id}]{fix}"


def _rebuild_api_error(cls: type[ZegoApiError], state: dict[str, Any]) -> ZegoApiError:
    error = cls(
        state["action"],
        state["code"],
        state["message"],
        state["request_id"],
        meaning=state.get("meaning", ""),
        fix=state.get("fix", ""),
    )
    vars(error).update(state)
    return error


class ZegoAuthenticationError(ZegoApiError):
    """The AppId or ServerSecret is wrong, or the app may not use this service."""


class ZegoRateLimitError(ZegoApiError):
    """ZEGO's per-AppId call frequency limit was hit."""

    retryable = True


class ZegoInvalidInputError(ZegoApiError):
    """ZEGO rejected a parameter (stream id, CDN URL, IsTest...); retrying cannot help."""


class ZegoServerError(ZegoApiError):
    """ZEGO failed internally or was busy; worth retrying a bounded number of times."""

    retryable = True


class ZegoTransportError(ZegoServerError):
    """No usable answer: timeout, refused or reset connection, a reply cut short or badly
    encoded, TLS failure, HTTP 5xx, or a body that is not ZEGO JSON. Retried like a server
    error, so a rule set being created is rolled back when it lasts."""


class ZegoBudgetError(ZegoTransportError):
    """The AppId's budget (zego:rateLimiter: its Redis, its files in the user's cache directory,
    their locks) failed during a call, so the call was not sent or its outcome is not known.
    Handled like a transport failure: retried a bounded number of times, and a rule set being
    created is rolled back. Its text names the setting and the host, never a password."""

    message_limit = 1000  # our own text, with a file's full path in it


class ZegoCallTimeBudgetError(ZegoBudgetError):
    """The call's time budget (zego:callTimeBudget) ran out while it waited for its slot or its
    stream's turn: nothing was sent for this attempt. Not retried: the time is gone."""

    retryable = False


class ZegoUnknownCodeError(ZegoApiError):
    """A code this package does not know; reported as is and never retried."""


@dataclass(frozen=True)
class ReturnCode:
    meaning: str
    error: type[ZegoApiError]
    fix: str

    @property
    def retryable(self) -> bool:
        return self.error.retryable


_CHECK_CREDENTIALS = "check zego:appId and zego:serverSecret"
_RETRY_LATER = "retried with backoff; if it persists, contact ZEGO support with the RequestId"
_SLOW_DOWN = "retried until zego:callTimeBudget runs out; runners of one AppId should share zego:rateLimiter"
_REPORT = "fix the request; contact ZEGO support with the RequestId if it looks right"
BUDGET_MEANING = "the call budget failed"
BUDGET_FIX = (
    "check zego:rateLimiter (ZEGO_RATE_LIMITER): its Redis must be reachable, its cache directory the user's own;"
    " `process` keeps the budget in the process instead"
)
"""What a ZegoBudgetError says: it has no ZEGO code, so it is not in the table below."""

RETURN_CODES: Mapping[int, ReturnCode] = {
    # Codes listed for the CDN transfer actions.
    5000: ReturnCode("internal error", ZegoServerError, _RETRY_LATER),
    5001: ReturnCode("internal error", ZegoServerError, _RETRY_LATER),
    5002: ReturnCode("internal error", ZegoServerError, _RETRY_LATER),
    5006: ReturnCode("internal error", ZegoServerError, _RETRY_LATER),
    30003: ReturnCode("internal error", ZegoServerError, _RETRY_LATER),
    5003: ReturnCode("authentication failed", ZegoAuthenticationError, _CHECK_CREDENTIALS),
    5004: ReturnCode("invalid CDN address", ZegoInvalidInputError, "check the CDN URL (rtmp://host/...)"),
    5005: ReturnCode("invalid request", ZegoInvalidInputError, _REPORT),
    5007: ReturnCode("call frequency too high", ZegoRateLimitError, _SLOW_DOWN),
    30002: ReturnCode("call frequency too high", ZegoRateLimitError, _SLOW_DOWN),
    30004: ReturnCode("wrong IsTest parameter", ZegoInvalidInputError, "check zego:isTest"),
    30005: ReturnCode("invalid AppId", ZegoAuthenticationError, _CHECK_CREDENTIALS),
    30009: ReturnCode("invalid StreamId", ZegoInvalidInputError, "check the stream id's characters"),
    # Common gateway codes, any action.
    1: ReturnCode("failed, server busy", ZegoServerError, _RETRY_LATER),
    2: ReturnCode("wrong input parameter", ZegoInvalidInputError, _REPORT),
    3: ReturnCode("verification failed", ZegoAuthenticationError, _CHECK_CREDENTIALS),
    7: ReturnCode("over the per-second rate limit", ZegoRateLimitError, _SLOW_DOWN),
    100000001: ReturnCode("AppId format wrong", ZegoAuthenticationError, _CHECK_CREDENTIALS),
    100000002: ReturnCode("Timestamp missing", ZegoInvalidInputError, _REPORT),
    100000003: ReturnCode("Timestamp malformed", ZegoInvalidInputError, _REPORT),
    100000004: ReturnCode(
        "signature expired", ZegoAuthenticationError, "the machine clock is off by over 10 minutes: sync it (NTP)"
    ),
    100000005: ReturnCode("signature wrong", ZegoAuthenticationError, _CHECK_CREDENTIALS),
    100000006: ReturnCode("Action missing", ZegoInvalidInputError, _REPORT),
    100000007: ReturnCode("Action unsupported", ZegoInvalidInputError, _REPORT),
    100000008: ReturnCode("SignatureNonce missing", ZegoInvalidInputError, _REPORT),
    100000009: ReturnCode("Signature missing", ZegoInvalidInputError, _REPORT),
    100000010: ReturnCode("could not get ServerSecret", ZegoAuthenticationError, _CHECK_CREDENTIALS),
    100000011: ReturnCode("could not get app configuration", ZegoAuthenticationError, "check zego:appId"),
    100000013: ReturnCode("SignatureVersion missing", ZegoInvalidInputError, _REPORT),
    100000014: ReturnCode("SignatureVersion unsupported", ZegoInvalidInputError, _REPORT),
    100000015: ReturnCode("gateway internal error", ZegoServerError, _RETRY_LATER),
    100000016: ReturnCode("app has no production environment", ZegoInvalidInputError, "set zego:isTest=true"),
    100000017: ReturnCode(
        "app has not enabled this service", ZegoAuthenticationError, "enable CDN relay for the app in the ZEGO console"
    ),
}

SUCCESS = 0

# Named codes, for code that answers or expects one by name (the emulator); each is in the table.
FAILED_BUSY = 1
WRONG_INPUT = 2
VERIFICATION_FAILED = 3
INTERNAL_ERROR = 5000
BAD_CDN_URL = 5004
INVALID_REQUEST = 5005
RATE_LIMITED = 5007
BAD_IS_TEST = 30004
BAD_STREAM_ID = 30009
APP_ID_FORMAT = 100000001
TIMESTAMP_MISSING = 100000002
TIMESTAMP_MALFORMED = 100000003
SIGNATURE_EXPIRED = 100000004
SIGNATURE_WRONG = 100000005
ACTION_MISSING = 100000006
ACTION_UNSUPPORTED = 100000007
NONCE_MISSING = 100000008
SIGNATURE_MISSING = 100000009
APP_UNKNOWN = 100000011
VERSION_MISSING = 100000013
VERSION_UNSUPPORTED = 100000014


def meaning_of(code: int) -> str:
    if code == SUCCESS:
        return "ok"
    entry = RETURN_CODES.get(code)
    return entry.meaning if entry else "unknown code"


def is_retryable(code: int) -> bool:
    entry = RETURN_CODES.get(code)
    return entry.retryable if entry else False


def error_for(action: str, code: int, message: str, request_id: str | None) -> ZegoApiError:
    """The exception for a non-zero ZEGO code, carrying everything support will ask for."""
    entry = RETURN_CODES.get(code)
    if entry is None:
        return ZegoUnknownCodeError(action, code, message, request_id, meaning="unknown code")
    return entry.error(action, code, message, request_id, meaning=entry.meaning, fix=entry.fix)
