"""zego-cdn: exit codes and the one line it prints, with settings from the environment."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from devkit.settings_env import clear_settings
from zego_provider.cli import main
from zego_provider.client import ZegoClient
from zego_provider.config import ProviderConfig

SECRET = "0123456789abcdef0123456789abcdef"
URL = "https://rtc-api.zego.im/"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_settings(monkeypatch)
    monkeypatch.setenv("ZEGO_APP_ID", "1234567890")
    monkeypatch.setenv("ZEGO_SERVER_SECRET", SECRET)


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize(
    ("argv", "action"),
    [
        (["create", "s&1", "rtmp://cdn/a/b?t=1"], "CreatCDNTransferRule"),
        (["delete", "s&1", "rtmp://cdn/a/b?t=1"], "DeleteCDNTransferRule"),
        (["clear", "s&1"], "ClearCDNTransferRule"),
    ],
)
def test_each_command_sends_its_action_and_prints_the_request_id(
    mocked: responses.RequestsMock, capsys: pytest.CaptureFixture[str], argv: list[str], action: str
) -> None:
    mocked.get(URL, json={"Code": 0, "Message": "ok", "RequestId": "rid-1"})
    assert main(argv) == 0
    params = parse_qs(urlsplit(mocked.calls[0].request.url).query)
    assert params["Action"] == [action] and params["StreamId"] == ["s&1"]
    assert capsys.readouterr().out.strip() == "ok [RequestId rid-1]"


@pytest.mark.usefixtures("env")
def test_a_refusal_exits_1_with_one_line_naming_code_and_request_id(
    mocked: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    mocked.get(URL, json={"Code": 5004, "Message": "bad url", "RequestId": "rid-2"})
    assert main(["create", "s", "rtmp://cdn/a/b"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "5004" in err and "rid-2" in err and "invalid CDN address" in err
    assert SECRET not in err


def test_missing_settings_exit_2_before_any_request(
    monkeypatch: pytest.MonkeyPatch, mocked: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ZEGO_APP_ID", raising=False)
    monkeypatch.setenv("ZEGO_SERVER_SECRET", SECRET)
    assert main(["clear", "s"]) == 2
    assert len(mocked.calls) == 0
    err = capsys.readouterr().err
    assert "ZEGO_APP_ID" in err and SECRET not in err


def test_a_malformed_setting_exits_2(monkeypatch: pytest.MonkeyPatch, mocked: responses.RequestsMock) -> None:
    monkeypatch.setenv("ZEGO_APP_ID", "not-a-number")
    monkeypatch.setenv("ZEGO_SERVER_SECRET", SECRET)
    assert main(["clear", "s"]) == 2
    assert len(mocked.calls) == 0


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for command in ("create", "delete", "clear", "emulator"):
        assert command in out


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize(
    "failure",
    [
        requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead(10 bytes read, 90 more expected)"),
        requests.exceptions.ContentDecodingError("bad gzip"),
        requests.exceptions.SSLError("certificate verify failed"),
        requests.ConnectionError("reset by peer"),
        requests.ReadTimeout("slow"),
    ],
)
def test_a_transport_failure_exits_1_with_one_line_and_no_traceback(
    mocked: responses.RequestsMock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    failure: Exception,
) -> None:
    monkeypatch.setattr(  # the retries' backoff, without waiting for it
        ZegoClient,
        "from_env",
        classmethod(lambda cls, env=None: cls(ProviderConfig.from_env(env), sleep=lambda _: None)),
    )
    mocked.get(URL, body=failure)
    assert main(["create", "s", "rtmp://cdn/a/b"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "CreatCDNTransferRule" in err and type(failure).__name__ in err
    assert "Signature" not in err and SECRET not in err
    assert len(mocked.calls) == 5  # retried like a server error


@pytest.mark.usefixtures("env")
def test_a_redirect_exits_1_naming_the_endpoint(
    mocked: responses.RequestsMock, capsys: pytest.CaptureFixture[str]
) -> None:
    mocked.get(URL, status=307, headers={"Location": "https://elsewhere.example/?k=v"})
    assert main(["clear", "s"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "HTTP 307" in err and "https://rtc-api.zego.im" in err and "k=v" not in err
    assert len(mocked.calls) == 1


@pytest.mark.usefixtures("env")
@pytest.mark.parametrize("argv", [["clear", "s\udcff"], ["create", "s", "rtmp://cdn/a/\udcff"]])
def test_undecodable_arguments_exit_2_before_any_request(
    mocked: responses.RequestsMock, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert main(argv) == 2
    assert len(mocked.calls) == 0
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ZEGO_SERVER_SECRET", "0123456789abcdef\udcff"),
        ("ZEGO_SERVER_SECRET", "0123456789abcdef\x1b[2J"),
        ("ZEGO_APP_ID", "12\udcff"),
        ("ZEGO_API_ENDPOINT", "http://evil.example\\@127.0.0.1"),
    ],
)
def test_a_bad_setting_exits_2_with_one_line_never_echoing_it(
    env: None,
    monkeypatch: pytest.MonkeyPatch,
    mocked: responses.RequestsMock,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
) -> None:
    monkeypatch.setenv(variable, value)
    assert main(["clear", "s"]) == 2
    assert len(mocked.calls) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and variable in err
    assert value not in err and "0123456789abcdef" not in err and "evil" not in err
