"""Unit tests keep the `machine` budget's files in a temporary cache directory, never the user's;
a fake ZEGO and fresh stream claims for the lifecycle, dynamic and native provider tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from zego_provider.claims import StreamClaims

from .fake_zego import FakeZego


@pytest.fixture(autouse=True)
def _private_cache_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def zego() -> FakeZego:
    return FakeZego()


@pytest.fixture
def claims() -> StreamClaims:
    return StreamClaims()
