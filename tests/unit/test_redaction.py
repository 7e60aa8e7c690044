"""Signature and SignatureNonce values never survive into a log record, whoever logs them."""

from __future__ import annotations

import logging

import pytest

import zego_provider.client  # noqa: F401  (importing the client installs the filters)
from zego_provider.redaction import REDACTED, URL_LOGGERS, RedactSignatures, install, redact

SIGNATURE = "1b5c32e76798c29c06b094d34ab02ca3"
NONCE = "fc1b58ab1df9a0c2"
QUERY = f"/?Action=ClearCDNTransferRule&AppId=1&SignatureNonce={NONCE}&Timestamp=1&Signature={SIGNATURE}&StreamId=s"


@pytest.mark.parametrize(
    "text",
    [
        QUERY,
        f"GET {QUERY} HTTP/1.1",
        f"Incremented Retry for (url='{QUERY}'): Retry(total=0)",
        f"{{'Signature': '{SIGNATURE}', \"SignatureNonce\": \"{NONCE}\"}}",
        f"Signature={SIGNATURE}",
    ],
)
def test_redact_removes_every_signature_and_nonce(text: str) -> None:
    cleaned = redact(text)
    assert SIGNATURE not in cleaned and NONCE not in cleaned
    assert REDACTED in cleaned


def test_redact_keeps_everything_else() -> None:
    cleaned = redact(QUERY)
    assert "Action=ClearCDNTransferRule" in cleaned and "StreamId=s" in cleaned and "Timestamp=1" in cleaned
    assert redact("SignatureVersion=2.0&MySignature=x") == "SignatureVersion=2.0&MySignature=x"


def test_importing_the_client_filters_every_urllib3_logger_that_prints_urls() -> None:
    for name in URL_LOGGERS:
        filters = [f for f in logging.getLogger(name).filters if isinstance(f, RedactSignatures)]
        assert len(filters) == 1, name
    install()  # idempotent
    assert len([f for f in logging.getLogger(URL_LOGGERS[0]).filters if isinstance(f, RedactSignatures)]) == 1


def test_urllib3s_request_line_reaches_handlers_redacted(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("urllib3.connectionpool")
    with caplog.at_level(logging.DEBUG, logger="urllib3.connectionpool"):
        logger.debug('%s://%s:%s "%s %s %s" %s %s', "http", "127.0.0.1", 1, "GET", QUERY, "HTTP/1.1", 200, 10)
        try:
            raise ValueError(f"boom at {QUERY}")
        except ValueError:
            logger.warning("Failed to parse headers (url=%s)", QUERY, exc_info=True)
    text = caplog.text
    assert SIGNATURE not in text and NONCE not in text
    assert "ClearCDNTransferRule" in text and "boom at" in text


def test_a_record_with_a_broken_format_string_is_passed_on_untouched() -> None:
    record = logging.LogRecord("urllib3.connectionpool", logging.DEBUG, __file__, 1, "%s %s", ("one",), None)
    assert RedactSignatures().filter(record) is True
    assert record.args == ("one",)
