"""Signature version 2.0 and the public parameters every request carries."""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from zego_provider import ZegoSignatureAuth, sign
from zego_provider.signing import new_nonce


def test_signature_matches_the_vector_of_shared_zego_api_md() -> None:
    """Source: shared/zego-api.md, "Signature (version 2.0)", test vector computed with a plain
    md5 tool apart from any project code. Any change to the concatenation order breaks it."""
    signature = sign(1234567890, "fc1b58ab1df9a0c2", "0123456789abcdef0123456789abcdef", 1617249600)
    assert signature == "1b5c32e76798c29c06b094d34ab02ca3"


def test_the_auth_object_signs_with_the_vector_of_shared_zego_api_md(monkeypatch: pytest.MonkeyPatch) -> None:
    """Source: shared/zego-api.md (same vector), through the path real requests take."""
    monkeypatch.setattr("zego_provider.signing.new_nonce", lambda: "fc1b58ab1df9a0c2")
    auth = ZegoSignatureAuth(1234567890, SecretStr("0123456789abcdef0123456789abcdef"), clock=lambda: 1617249600.9)
    params = auth.public_params()
    assert params["Timestamp"] == "1617249600"
    assert params["Signature"] == "1b5c32e76798c29c06b094d34ab02ca3"


@given(
    app_id=st.integers(min_value=1, max_value=2**32 - 1),
    nonce=st.text(alphabet="0123456789abcdef", min_size=16, max_size=16),
    secret=st.text(min_size=1, max_size=64),
    timestamp=st.integers(min_value=0, max_value=2**40),
)
def test_signature_verifies_for_any_inputs(app_id: int, nonce: str, secret: str, timestamp: int) -> None:
    expected = hashlib.md5(f"{app_id}{nonce}{secret}{timestamp}".encode()).hexdigest()
    signature = sign(app_id, nonce, secret, timestamp)
    assert signature == expected
    assert re.fullmatch(r"[0-9a-f]{32}", signature)


def test_nonce_is_16_hex_characters_and_new_each_time() -> None:
    nonces = {new_nonce() for _ in range(200)}
    assert len(nonces) == 200
    assert all(re.fullmatch(r"[0-9a-f]{16}", nonce) for nonce in nonces)


def _signed_params(auth: ZegoSignatureAuth, url: str = "https://rtc-api.zego.im/?Action=X") -> dict[str, str]:
    prepared = requests.Request("GET", url, auth=auth).prepare()
    return {key: values[0] for key, values in parse_qs(urlsplit(prepared.url).query).items()}


@given(
    app_id=st.integers(min_value=1, max_value=2**32 - 1),
    secret=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40),
    now=st.floats(min_value=0, max_value=4e9),
)
def test_auth_adds_public_parameters_whose_signature_verifies(app_id: int, secret: str, now: float) -> None:
    auth = ZegoSignatureAuth(app_id, SecretStr(secret), is_test=True, clock=lambda: now)
    params = _signed_params(auth)
    assert params["AppId"] == str(app_id)
    assert params["Timestamp"] == str(int(now))
    assert params["SignatureVersion"] == "2.0"
    assert params["IsTest"] == "true"
    assert params["Action"] == "X"
    assert params["Signature"] == sign(app_id, params["SignatureNonce"], secret, int(now))


def test_the_secret_itself_is_never_sent() -> None:
    secret = "0123456789abcdef0123456789abcdef"
    prepared = requests.Request("GET", "https://h/", auth=ZegoSignatureAuth(7, SecretStr(secret))).prepare()
    assert secret not in (prepared.url or "")


def test_each_prepared_request_gets_a_fresh_nonce_and_signature() -> None:
    auth = ZegoSignatureAuth(1, SecretStr("s"), clock=lambda: 1000.0)
    first, second = _signed_params(auth), _signed_params(auth)
    assert first["SignatureNonce"] != second["SignatureNonce"]
    assert first["Signature"] != second["Signature"]


def test_auth_repr_never_shows_the_secret() -> None:
    auth = ZegoSignatureAuth(1, SecretStr("very-secret-value"))
    assert "very-secret-value" not in repr(auth)
    assert "very-secret-value" not in repr(vars(auth))


def _nonces_of(count: int) -> list[str]:
    auth = ZegoSignatureAuth(1, SecretStr("made-up"), clock=lambda: 1000.0)
    return [auth.public_params()["SignatureNonce"] for _ in range(count)]


def test_no_nonce_repeats_across_8_threads_of_2000_requests() -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8) as pool:
        batches = list(pool.map(_nonces_of, [2000] * 8))
    nonces = [nonce for batch in batches for nonce in batch]
    assert len(nonces) == 16_000 and len(set(nonces)) == 16_000


def _nonces_into(queue: Any, count: int) -> None:
    queue.put(_nonces_of(count))


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded, use of fork:DeprecationWarning")
def test_no_nonce_repeats_across_4_processes_forked_after_import() -> None:
    """A fork copies the parent's memory: a nonce source seeded once at import would repeat in
    every child. secrets (the OS's CSPRNG) does not."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    children = [context.Process(target=_nonces_into, args=(queue, 2000)) for _ in range(4)]
    for child in children:
        child.start()
    batches = [queue.get(timeout=60) for _ in children] + [_nonces_of(2000)]
    for child in children:
        child.join(timeout=30)
        assert child.exitcode == 0
    nonces = [nonce for batch in batches for nonce in batch]
    assert len(nonces) == 10_000 and len(set(nonces)) == 10_000
    assert all(re.fullmatch(r"[0-9a-f]{16}", nonce) for nonce in nonces)
