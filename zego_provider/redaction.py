"""Redaction of secrets from text: ZEGO's per-request credentials (Signature, SignatureNonce) and any secret named.

`redact()` is the one function that does it, for the client's log records, the emulator's
logs and answers, and the budget's Redis errors.

A logged Signature is a bearer token for about ten minutes: ZEGO's signature covers AppId,
nonce, secret and Timestamp only, not the action or the stream. urllib3 logs the request
path, query included, at DEBUG (and the URL in some warnings), so its loggers get a filter
that rewrites each record before any handler sees it. The client installs it on import.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, unquote

REDACTED = "<redacted>"

# `Signature=...` / `SignatureNonce=...` in a query string, and the same keys in a dict repr.
_QUERY_VALUE = re.compile(r"(?<![A-Za-z])(Signature|SignatureNonce)=[^&\s'\"]*", re.IGNORECASE)
_DICT_VALUE = re.compile(r"""(['"])(Signature|SignatureNonce)\1(\s*:\s*)(['"])[^'"]*\4""", re.IGNORECASE)

URL_LOGGERS = (
    "urllib3.connectionpool",  # "GET /?...&Signature=... HTTP/1.1" 200, retries, header warnings
    "urllib3.util.retry",  # "Incremented Retry for (url='/?...')"
    "urllib3.poolmanager",  # redirects
    "urllib3.connection",
    "urllib3.response",
    "zego_provider.client",  # prints no URL today; the filter keeps it so
)
"""urllib3's loggers that can print a request URL. A filter on a logger applies only to records
logged on it (not to those of its children), hence every module's logger by name."""


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with every Signature and SignatureNonce value replaced, and each of `secrets` as
    given, URL-encoded or URL-decoded (the longest first, so no part of one is left)."""
    text = _QUERY_VALUE.sub(rf"\1={REDACTED}", text)
    text = _DICT_VALUE.sub(rf"\1\2\1\3\4{REDACTED}\4", text)
    forms = {
        form
        for secret in secrets
        if secret
        for form in (secret, quote(secret, safe=""), quote_plus(secret), unquote(secret))
    }
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, REDACTED)
    return text


class RedactSignatures(logging.Filter):
    """Rewrites a record's message, traceback and stack text; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to logging's own error handling
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install(names: tuple[str, ...] = URL_LOGGERS) -> None:
    """Put one RedactSignatures filter on each named logger (idempotent)."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, RedactSignatures) for existing in logger.filters):
            logger.addFilter(RedactSignatures())
