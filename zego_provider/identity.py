"""Relay identity: when two CDN URLs name the same ZEGO relay.

ZEGO's DeleteCDNTransferRule page asks for "the relay address consistent (parameters may
differ)": a relay is its URL without the query string. `check` (duplicates), `diff`, the
provider and the emulator all ask this one function, so they can never disagree about
which URLs are one relay.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def relay_identity(cdn_url: str) -> str:
    """The part of `cdn_url` that ZEGO matches relays by: everything but the query (and fragment)."""
    parts = urlsplit(cdn_url)
    return parts._replace(query="", fragment="").geturl()
