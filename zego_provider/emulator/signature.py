"""ZEGO's signature (version 2.0), written out again from the documentation for the emulator.

The emulator must not call the client's `sign()`: were both to share one implementation, a
bug in it (a reordered concatenation, say) would sign and verify alike and pass every test.
This is the formula as shared/zego-api.md states it, and nothing else.
"""

from __future__ import annotations

import hashlib


def expected_signature(app_id: int, signature_nonce: str, server_secret: str, timestamp: int) -> str:
    """lower_hex(md5(str(AppId) + SignatureNonce + ServerSecret + str(Timestamp))), no separators."""
    message = str(app_id) + signature_nonce + server_secret + str(timestamp)
    return hashlib.md5(message.encode("utf-8"), usedforsecurity=False).hexdigest()
