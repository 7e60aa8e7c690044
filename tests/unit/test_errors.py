"""One table maps every documented ZEGO code to a meaning, an exception class and retryability."""

from __future__ import annotations

import pytest

from zego_provider.errors import (
    RETURN_CODES,
    ZegoApiError,
    ZegoAuthenticationError,
    ZegoInvalidInputError,
    ZegoRateLimitError,
    ZegoServerError,
    ZegoUnknownCodeError,
    error_for,
    is_retryable,
)

DOCUMENTED = {
    ZegoServerError: [5000, 5001, 5002, 5006, 30003, 1, 100000015],
    ZegoRateLimitError: [5007, 30002, 7],
    ZegoAuthenticationError: [5003, 30005, 3, 100000001, 100000004, 100000005, 100000010, 100000011, 100000017],
    ZegoInvalidInputError: [
        5004, 5005, 30004, 30009, 2, 100000002, 100000003, 100000006, 100000007,
        100000008, 100000009, 100000013, 100000014, 100000016,
    ],
}  # fmt: skip


def test_the_table_holds_every_documented_code_once() -> None:
    documented = [code for codes in DOCUMENTED.values() for code in codes]
    assert sorted(documented) == sorted(RETURN_CODES)


@pytest.mark.parametrize(("code", "kind"), [(code, kind) for kind, codes in DOCUMENTED.items() for code in codes])
def test_each_code_maps_to_its_kind(code: int, kind: type[ZegoApiError]) -> None:
    error = error_for("ClearCDNTransferRule", code, "msg", "rid-1")
    assert type(error) is kind
    assert error.code == code
    assert is_retryable(code) is (kind in (ZegoServerError, ZegoRateLimitError))


def test_only_internal_busy_and_rate_limit_codes_are_retried() -> None:
    retried = sorted(code for code in RETURN_CODES if is_retryable(code))
    assert retried == sorted([5000, 5001, 5002, 5006, 30003, 1, 100000015, 5007, 30002, 7])


def test_an_unknown_code_is_reported_and_not_retried() -> None:
    error = error_for("CreatCDNTransferRule", 424242, "new", "rid-9")
    assert isinstance(error, ZegoUnknownCodeError)
    assert not error.retryable
    assert "424242" in str(error)


def test_error_text_names_action_code_meaning_message_and_request_id() -> None:
    error = error_for("DeleteCDNTransferRule", 5004, "bad cdn", "4741109603321226039")
    text = str(error)
    for part in ("DeleteCDNTransferRule", "5004", "invalid CDN address", "bad cdn", "4741109603321226039"):
        assert part in text
    assert (error.action, error.message, error.request_id) == (
        "DeleteCDNTransferRule",
        "bad cdn",
        "4741109603321226039",
    )


def test_the_troubleshooting_page_shows_the_code_table_errors_holds() -> None:
    """The page's table is rendered from RETURN_CODES (`make docs` rewrites it)."""
    from tests.support.codes_table import PAGE, block, render

    assert block(PAGE.read_text()) == render()
    listed = {int(code) for row in render().splitlines()[2:] for code in row.split("|")[1].replace(",", " ").split()}
    assert listed == set(RETURN_CODES) | {0}


def _every_api_error() -> list[ZegoApiError]:
    from zego_provider.errors import ZegoTransportError

    errors = [error_for("CreatCDNTransferRule", code, "msg", f"rid-{code}") for code in RETURN_CODES]
    errors.append(error_for("DeleteCDNTransferRule", 424242, "new", "rid-x"))
    errors.append(ZegoTransportError("ClearCDNTransferRule", None, "reply cut short (ChunkedEncodingError)", None))
    errors.append(ZegoApiError("ClearCDNTransferRule", None, "HTTP 307", "rid-r", fix="check zego:endpoint"))
    return errors


@pytest.mark.parametrize("error", _every_api_error(), ids=lambda error: f"{type(error).__name__}-{error.code}")
def test_every_api_error_survives_a_pickle_round_trip(error: ZegoApiError) -> None:
    import pickle

    error.add_note("while creating rule set 'main'")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert vars(copy) == vars(error)
    assert (copy.action, copy.code, copy.message, copy.request_id) == (
        error.action,
        error.code,
        error.message,
        error.request_id,
    )
    assert (copy.meaning, copy.fix, copy.retryable) == (error.meaning, error.fix, error.retryable)
    assert str(copy) == str(error) and copy.args == error.args
    assert copy.__notes__ == ["while creating rule set 'main'"]


def test_a_config_error_survives_a_pickle_round_trip() -> None:
    import pickle

    from zego_provider.errors import ZegoConfigError

    error = ZegoConfigError([("zego:endpoint", "is invalid: must not contain user info (`@`)"), ("ZEGO_APP_ID", "x")])
    error.add_note("in stack dev")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is ZegoConfigError and isinstance(copy, ValueError)
    assert copy.problems == error.problems and str(copy) == str(error)
    assert copy.__notes__ == ["in stack dev"]


def test_the_module_docstring_names_only_what_the_client_uses() -> None:
    import inspect

    import zego_provider.client
    import zego_provider.errors

    doc = zego_provider.errors.__doc__ or ""
    client_source = inspect.getsource(zego_provider.client)
    assert "error_for" in doc and "error_for(" in client_source
    assert "retryable" in doc and ".retryable" in client_source
    assert "is_retryable(" not in client_source  # the docstring says the client does not ask it


@pytest.mark.parametrize(
    ("message", "request_id"),
    [
        ("line one\nFAKE: deploy succeeded", "rid\r\nX-Injected: 1"),
        ("\x1b[2J\x1b[31mcleared your terminal", "\x07"),
        ("m" * 10_000, "r" * 10_000),
        ("bad \udcff bytes", "rid\u2028sep"),
    ],
)
def test_a_hostile_message_or_request_id_stays_one_bounded_printable_line(message: str, request_id: str) -> None:
    text = str(error_for("ClearCDNTransferRule", 5005, message, request_id))
    assert text.isprintable() and len(text) < 600
    text.encode("utf-8")
    error = error_for("ClearCDNTransferRule", 5005, message, request_id)
    assert (error.message, error.request_id) == (message, request_id)  # the attributes keep the raw values
