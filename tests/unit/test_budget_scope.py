"""The spelling of `zego:rateLimiter`: scopes are checked, and a Redis password never printed."""

from __future__ import annotations

import pytest

from zego_provider.budget.redis_store import redis_problem
from zego_provider.budget.scope import display, validate_scope


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw-made-up@127.0.0.1:6379/0", "redis://:<redacted>@127.0.0.1:6379/0"),
        ("rediss://ci:pw-made-up@redis.internal:6380/2", "rediss://ci:<redacted>@redis.internal:6380/2"),
        ("redis://:p%40ss-made-up@[::1]:6379", "redis://:<redacted>@[::1]:6379"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("machine", "machine"),
    ],
)
def test_display_hides_only_the_password(url: str, shown: str) -> None:
    assert display(url) == shown


def test_a_redis_error_text_echoing_the_password_is_redacted() -> None:
    url = "redis://:p%40ss-made-up@127.0.0.1:6390/0"
    error = redis_problem(url, ConnectionError("AUTH p@ss-made-up refused for p%40ss-made-up"))
    assert "p@ss-made-up" not in str(error) and "p%40ss-made-up" not in str(error)
    assert "zego:rateLimiter" in str(error) and "127.0.0.1:6390" in str(error)


def test_validation_errors_never_carry_the_value() -> None:
    with pytest.raises(ValueError) as raised:
        validate_scope("redis://:pw-made-up@host:123456")
    assert "pw-made-up" not in str(raised.value)
