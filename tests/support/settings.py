"""`config_of(app_id, secret, endpoint=..., ...)`: a ProviderConfig in one line, for tests that build a ZegoClient."""

from __future__ import annotations

from typing import Any

from zego_provider.config import ProviderConfig


def config_of(app_id: int, server_secret: str, **values: Any) -> ProviderConfig:
    """Validated as `ZegoClient.from_env()` would (a ZegoConfigError naming each bad field)."""
    return ProviderConfig.from_values({"app_id": app_id, "server_secret": server_secret, **values})
