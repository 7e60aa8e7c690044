"""zego-cdn: exit codes and the one line it prints, with settings from the environment."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from zego_provider.cli import main

SECRET = "0123456789abcdef0123456789abcdef"
URL = "https://rtc-api.zego.im/"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ZEGO_API_ENDPOINT", "ZEGO_IS_TEST", "ZEGO_RATE_LIMIT"):
        monkeypatch.delenv(name, raising=False)
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
