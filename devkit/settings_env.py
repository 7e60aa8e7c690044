"""A test's environment without the ZEGO settings: the variable names come from `SETTINGS`, never a
hand-written list, so a setting added there is cleared by every test that clears them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, AnyStr

from zego_provider.settings import env_vars

if TYPE_CHECKING:  # the demo imports this module too, where pytest need not be installed
    import pytest


def setting_variables() -> list[str]:
    """Every ZEGO_* variable a setting is read from."""
    return env_vars()


def without_settings(env: Mapping[AnyStr, AnyStr]) -> dict[AnyStr, AnyStr]:
    """`env` (os.environ or os.environb) minus every setting's variable."""
    names = set(setting_variables())
    return {key: value for key, value in env.items() if (key.decode() if isinstance(key, bytes) else key) not in names}


def unset_settings() -> dict[str, str]:
    """Every setting's variable as an empty string: laid over os.environ, it reads as unset."""
    return dict.fromkeys(setting_variables(), "")


def clear_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove every setting's variable from this process's environment for the test."""
    for name in setting_variables():
        monkeypatch.delenv(name, raising=False)
