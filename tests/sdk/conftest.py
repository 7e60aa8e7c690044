"""The native package's SDKs, each checked in its own toolchain (Go, Node.js, Python)."""

from __future__ import annotations

import os
import shutil

import pytest


def require_tool(name: str) -> str:
    """The tool's path; without it the test cannot run: under `make test` that fails it, never skips."""
    path = shutil.which(name)
    if path:
        return path
    reason = f"`{name}` is not on PATH"
    if os.environ.get("ZEGO_REQUIRE_E2E") == "1":
        pytest.fail(reason)
    pytest.skip(reason)
