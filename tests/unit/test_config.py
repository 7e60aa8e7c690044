"""Settings come from stack config or the environment and are validated before any request."""

from __future__ import annotations

import pytest

from tests.support.settings import config_of
from zego_provider import ZegoConfigError
from zego_provider.config import ProviderConfig

SECRET = "0123456789abcdef0123456789abcdef"
ENV = {"ZEGO_APP_ID": "1234567890", "ZEGO_SERVER_SECRET": SECRET}


def test_environment_alone_is_enough() -> None:
    config = ProviderConfig.from_env(ENV)
    assert config.app_id == 1234567890
    assert config.server_secret.get_secret_value() == SECRET
    assert config.endpoint == "https://rtc-api.zego.im"
    assert config.is_test is False
    assert config.effective_rate_limit == 10


def test_stack_config_wins_over_the_environment() -> None:
    stack = {"zego:appId": "42", "zego:isTest": "true", "zego:endpoint": "http://127.0.0.1:8080/"}
    config = ProviderConfig.from_sources(stack, ENV)
    assert config.app_id == 42
    assert config.is_test is True
    assert config.endpoint == "http://127.0.0.1:8080"
    assert config.effective_rate_limit == 5
    assert config.server_secret.get_secret_value() == SECRET


def test_rate_limit_can_be_set() -> None:
    assert ProviderConfig.from_env({**ENV, "ZEGO_RATE_LIMIT": "2.5"}).effective_rate_limit == 2.5


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"ZEGO_SERVER_SECRET": SECRET}, "settings: ZEGO_APP_ID is required"),
        ({"ZEGO_APP_ID": "1"}, "settings: ZEGO_SERVER_SECRET is required"),
        ({**ENV, "ZEGO_APP_ID": "abc"}, "ZEGO_APP_ID"),
        ({**ENV, "ZEGO_APP_ID": "0"}, "ZEGO_APP_ID"),
        ({**ENV, "ZEGO_APP_ID": str(2**32)}, "ZEGO_APP_ID"),
        ({**ENV, "ZEGO_SERVER_SECRET": " padded "}, "ZEGO_SERVER_SECRET"),
        ({**ENV, "ZEGO_IS_TEST": "maybe"}, "ZEGO_IS_TEST"),
        ({**ENV, "ZEGO_RATE_LIMIT": "-1"}, "ZEGO_RATE_LIMIT"),
        ({**ENV, "ZEGO_API_ENDPOINT": "http://rtc-api.zego.im"}, "plain http:// is only allowed for loopback"),
        ({**ENV, "ZEGO_API_ENDPOINT": "ftp://127.0.0.1"}, "ZEGO_API_ENDPOINT"),
        ({**ENV, "ZEGO_API_ENDPOINT": "https://h/?x=1"}, "ZEGO_API_ENDPOINT"),
    ],
)
def test_bad_settings_are_named_in_one_config_error(env: dict[str, str], named: str) -> None:
    with pytest.raises(ZegoConfigError) as caught:
        ProviderConfig.from_env(env)
    assert named in str(caught.value)


def test_a_missing_setting_is_named_by_the_sources_that_were_read() -> None:
    with pytest.raises(ZegoConfigError) as from_env:
        ProviderConfig.from_env({"ZEGO_SERVER_SECRET": SECRET})
    assert from_env.value.problems == [("ZEGO_APP_ID", "is required")]
    with pytest.raises(ZegoConfigError) as from_both:
        ProviderConfig.from_sources({"zego:isTest": "maybe"}, {"ZEGO_SERVER_SECRET": SECRET})
    assert from_both.value.problems[0] == ("zego:appId (or ZEGO_APP_ID)", "is required")
    assert from_both.value.problems[1][0] == "zego:isTest"


def test_loopback_http_is_allowed_for_the_emulator() -> None:
    for endpoint in ("http://127.0.0.1:1", "http://localhost:2", "http://[::1]:3", "http://127.5.0.9"):
        assert ProviderConfig.from_env({**ENV, "ZEGO_API_ENDPOINT": endpoint}).endpoint == endpoint


def test_the_secret_never_appears_in_errors_or_reprs() -> None:
    with pytest.raises(ZegoConfigError) as caught:
        ProviderConfig.from_env({**ENV, "ZEGO_SERVER_SECRET": f" {SECRET} ", "ZEGO_APP_ID": "x"})
    assert SECRET not in str(caught.value)
    config = ProviderConfig.from_env(ENV)
    assert SECRET not in repr(config) and SECRET not in str(config)
    assert SECRET not in config.model_dump_json()


def test_timeout_comes_from_stack_config_or_the_environment() -> None:
    assert ProviderConfig.from_env(ENV).timeout is None
    assert ProviderConfig.from_env({**ENV, "ZEGO_TIMEOUT": "2.5"}).timeout == 2.5
    assert ProviderConfig.from_sources({"zego:timeout": "0.5"}, {**ENV, "ZEGO_TIMEOUT": "9"}).timeout == 0.5


@pytest.mark.parametrize("value", ["0", "-1", "301", "soon"])
def test_a_bad_timeout_is_named(value: str) -> None:
    with pytest.raises(ZegoConfigError) as caught:
        ProviderConfig.from_env({**ENV, "ZEGO_TIMEOUT": value})
    assert "ZEGO_TIMEOUT" in str(caught.value)


def test_an_attempt_times_out_after_the_configured_read_timeout() -> None:
    from zego_provider.settings import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT

    assert ProviderConfig.from_env({**ENV, "ZEGO_TIMEOUT": "0.5"}).attempt_timeout == (0.5, 0.5)
    assert ProviderConfig.from_env({**ENV, "ZEGO_TIMEOUT": "30"}).attempt_timeout == (DEFAULT_CONNECT_TIMEOUT, 30.0)
    assert ProviderConfig.from_env(ENV).attempt_timeout == (DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT)
    explicit = ProviderConfig.from_values({"app_id": 1, "server_secret": "s", "timeout": 30, "connect_timeout": 1})
    assert explicit.attempt_timeout == (1.0, 30.0)


REFUSED_ENDPOINTS = {
    "userinfo hiding the host behind a backslash": "http://evil.example\\@127.0.0.1",
    "backslash before userinfo": "http://127.0.0.1\\@evil.example",
    "userinfo on loopback": "http://user@127.0.0.1",
    "userinfo with password": "https://user:pw@rtc-api.zego.im",
    "userinfo, short": "https://a@b",
    "ideographic full stops": "http://127\u30020\u30020\u30021",
    "fullwidth full stop": "http://127\uff0e0.0.1",
    "hex and short IPv4": "http://0x7f.1",
    "short IPv4 over https": "https://127.1",
    "octal IPv4": "https://0177.0.0.1",
    "decimal IPv4": "https://2130706433",
    "percent-encoded host": "http://127.0.0.%31",
    "a path": "https://rtc-api.zego.im/v2",
    "a query": "https://rtc-api.zego.im/?x=1",
    "an empty query": "https://rtc-api.zego.im/?",
    "a fragment": "https://rtc-api.zego.im/#x",
    "a space": "https://rtc-api.zego.im /",
    "a tab": "https://rtc-api.zego.im\t",
    "a newline": "https://rtc-api.zego.im\n",
    "a NUL": "http://127.0.0.1\x00.evil.example",
    "non-ASCII host": "https://zeg\u00f6.example",
    "undecodable bytes": "http://127.0.0.1:80\udcff",
    "no slashes": "http:127.0.0.1",
    "one slash": "http:/127.0.0.1",
    "three slashes": "http:///127.0.0.1",
    "scheme-relative": "//127.0.0.1",
    "javascript scheme": "javascript://127.0.0.1",
    "ftp scheme": "ftp://127.0.0.1",
    "port out of range": "https://rtc-api.zego.im:99999",
    "port zero": "https://rtc-api.zego.im:0",
    "empty port": "https://rtc-api.zego.im:",
    "unclosed IPv6 bracket": "https://[::1",
    "empty label": "https://rtc-api..zego.im",
    "trailing dot": "https://rtc-api.zego.im.",
    "http to a name that merely starts like loopback": "http://127.0.0.1.evil.example",
    "http to localhost lookalike": "http://localhost.evil.example",
    "http to a name that merely ends like localhost": "http://evil-localhost",
    "http to IPv4-mapped IPv6 loopback": "http://[::ffff:127.0.0.1]",
}


@pytest.mark.parametrize("endpoint", REFUSED_ENDPOINTS.values(), ids=REFUSED_ENDPOINTS.keys())
def test_an_ambiguous_or_unsafe_endpoint_is_refused_naming_the_setting(endpoint: str) -> None:
    with pytest.raises(ZegoConfigError) as caught:
        ProviderConfig.from_env({**ENV, "ZEGO_API_ENDPOINT": endpoint})
    assert [name for name, _ in caught.value.problems] == ["ZEGO_API_ENDPOINT"]
    with pytest.raises(ZegoConfigError) as from_stack:
        ProviderConfig.from_sources({"zego:endpoint": endpoint}, ENV)
    assert [name for name, _ in from_stack.value.problems] == ["zego:endpoint"]
    text = str(caught.value)
    text.encode("ascii")  # one printable line, whatever the value held
    assert "\n" not in text and (len(endpoint) < 8 or endpoint not in text)


@pytest.mark.parametrize(
    ("endpoint", "normalised"),
    [
        ("https://rtc-api.zego.im", "https://rtc-api.zego.im"),
        ("https://rtc-api-sha.zego.im/", "https://rtc-api-sha.zego.im"),
        ("HTTPS://RTC-API.ZEGO.IM:443/", "https://rtc-api.zego.im:443"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("http://LOCALHOST:2", "http://localhost:2"),
        ("http://[::1]:3/", "http://[::1]:3"),
        ("https://10.0.0.7:8443", "https://10.0.0.7:8443"),
    ],
)
def test_an_accepted_endpoint_is_rebuilt_from_its_parsed_pieces(endpoint: str, normalised: str) -> None:
    assert ProviderConfig.from_env({**ENV, "ZEGO_API_ENDPOINT": endpoint}).endpoint == normalised


def test_both_url_parsers_agree_on_every_accepted_endpoint() -> None:
    from urllib.parse import urlsplit

    from urllib3.util import parse_url

    for endpoint in ("https://rtc-api.zego.im", "http://127.0.0.1:8080", "http://[::1]:3", "https://10.0.0.7:8443"):
        url = ProviderConfig.from_env({**ENV, "ZEGO_API_ENDPOINT": endpoint}).endpoint
        split, parsed = urlsplit(url), parse_url(url)
        assert (split.hostname, split.port) == ((parsed.host or "").strip("[]"), parsed.port)


BAD_TEXT = {
    "undecodable bytes (surrogates)": "0123456789abcdef\udcff0123",
    "a lone high surrogate": "0123456789abcdef\ud800",
    "a NUL": "0123456789abcdef\x000123",
    "an escape sequence": "0123\x1b[2J456789abcdef",
    "a newline inside": "0123456789\nabcdef",
    "a DEL": "0123456789abcdef\x7f",
    "a zero-width space": "0123456789abcdef\u200b0123",
}


@pytest.mark.parametrize("secret", BAD_TEXT.values(), ids=BAD_TEXT.keys())
def test_a_non_utf8_or_non_printable_secret_is_refused_without_echoing_it(secret: str) -> None:
    with pytest.raises(ZegoConfigError) as caught:
        ProviderConfig.from_env({**ENV, "ZEGO_SERVER_SECRET": secret})
    assert [name for name, _ in caught.value.problems] == ["ZEGO_SERVER_SECRET"]
    text = str(caught.value)
    text.encode("ascii")
    assert "0123456789" not in text and "abcdef" not in text


@pytest.mark.parametrize(
    "app_id", [*BAD_TEXT.values(), "12\udcff", "\uff11\uff12\uff13", " 12", "1_000", "+12", "12\x00"]
)
def test_a_non_decimal_or_non_printable_app_id_is_refused_without_echoing_it(app_id: str) -> None:
    with pytest.raises(ZegoConfigError) as caught:
        ProviderConfig.from_env({**ENV, "ZEGO_APP_ID": app_id})
    assert [name for name, _ in caught.value.problems] == ["ZEGO_APP_ID"]
    str(caught.value).encode("ascii")
    assert "12" not in str(caught.value) and "0123" not in str(caught.value)


def test_a_client_given_a_bad_secret_directly_refuses_it_too() -> None:
    from zego_provider.client import ZegoClient

    with pytest.raises(ZegoConfigError, match="server_secret"):
        ZegoClient(config_of(1, "secret\udcff", rate_limiter="off"))


def test_the_budget_is_shared_on_the_machine_by_default() -> None:
    config = ProviderConfig.from_env(ENV)
    assert config.rate_limiter == "machine" and config.call_time_budget == 300


@pytest.mark.parametrize(
    "scope", ["process", "machine", "off", "redis://127.0.0.1:6379/0", "rediss://user:pw@redis.internal:6380"]
)
def test_known_budget_scopes_are_accepted(scope: str) -> None:
    assert ProviderConfig.from_env({**ENV, "ZEGO_RATE_LIMITER": scope}).rate_limiter == scope


@pytest.mark.parametrize(
    "scope",
    ["cluster", "Machine", "http://127.0.0.1:6379", "redis://", "redis://:pw@host:99999", "redis://host/db", "redis:x"],
)
def test_a_malformed_budget_scope_is_refused_naming_the_setting_not_the_value(scope: str) -> None:
    with pytest.raises(ZegoConfigError, match="ZEGO_RATE_LIMITER is invalid") as raised:
        ProviderConfig.from_env({**ENV, "ZEGO_RATE_LIMITER": scope})
    assert ":pw@" not in str(raised.value)


def test_a_redis_password_never_shows_in_the_settings_repr() -> None:
    config = ProviderConfig.from_env({**ENV, "ZEGO_RATE_LIMITER": "rediss://ci:made-up-pw@redis.internal:6380/2"})
    assert "made-up-pw" not in repr(config) + str(config)
    assert config.rate_limiter_display == "rediss://ci:<redacted>@redis.internal:6380/2"


@pytest.mark.parametrize("value", ["0", "-5", "3601", "soon"])
def test_call_time_budget_must_be_a_positive_number_of_seconds(value: str) -> None:
    with pytest.raises(ZegoConfigError, match="ZEGO_CALL_TIME_BUDGET is invalid"):
        ProviderConfig.from_env({**ENV, "ZEGO_CALL_TIME_BUDGET": value})
