"""ZEGO signature version 2.0, kept apart from the transport that sends requests.

The signature is an md5 over AppId, nonce, ServerSecret and timestamp. It lives in a
`requests.auth.AuthBase` so that the client never handles the secret itself and every
prepared request (retries included) gets a fresh nonce, timestamp and signature.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from urllib.parse import urlencode

import requests
from pydantic import SecretStr

SIGNATURE_VERSION = "2.0"


def sign(app_id: int, signature_nonce: str, server_secret: str, timestamp: int) -> str:
    """Return the lower-hex md5 signature ZEGO expects for these exact values."""
    material = f"{app_id}{signature_nonce}{server_secret}{timestamp}"
    return hashlib.md5(material.encode("utf-8"), usedforsecurity=False).hexdigest()


def new_nonce() -> str:
    """16 hex characters from 8 CSPRNG bytes, as ZEGO's SignatureNonce asks."""
    return secrets.token_hex(8)


class ZegoSignatureAuth(requests.auth.AuthBase):
    """Adds ZEGO's public parameters (AppId, nonce, Timestamp, Signature, IsTest) to a request.

    The secret is held as a `SecretStr`, so a repr of this object or of anything holding
    it never shows the value.
    """

    def __init__(
        self,
        app_id: int,
        server_secret: SecretStr,
        *,
        is_test: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app_id = app_id
        self._server_secret = server_secret
        self.is_test = is_test
        self._clock = clock

    def public_params(self) -> dict[str, str]:
        """The signed public parameters for one request, new on every call."""
        nonce = new_nonce()
        timestamp = int(self._clock())
        return {
            "AppId": str(self.app_id),
            "SignatureNonce": nonce,
            "Timestamp": str(timestamp),
            "Signature": sign(self.app_id, nonce, self._server_secret.get_secret_value(), timestamp),
            "SignatureVersion": SIGNATURE_VERSION,
            "IsTest": "true" if self.is_test else "false",
        }

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        separator = "&" if "?" in (request.url or "") else "?"
        request.url = f"{request.url}{separator}{urlencode(self.public_params())}"
        return request

    def __repr__(self) -> str:
        return f"ZegoSignatureAuth(app_id={self.app_id}, is_test={self.is_test})"
