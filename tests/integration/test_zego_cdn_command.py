"""`zego-cdn` as a pipeline step runs it, a real process: every `--help` page has a description,
the environment variables and the exit codes; every wrong invocation ends in one line on stderr
naming what is wrong (the ZEGO_* variable, STREAM_ID or CDN_URL), the right exit code, no
traceback, and no request to ZEGO."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.settings_env import setting_variables, without_settings

from . import raw_http

APP_ID = 1234567890
SECRET = "zego-cdn-test-secret-made-up-5f4e"
URL = "rtmp://live-push.example-cdn.com/live/main?token=made-up-stream-key"
SUBCOMMANDS = ("create", "delete", "clear", "teardown")


@pytest.fixture
def zego() -> Iterator[raw_http.RawHttpServer]:
    """A loopback HTTP server that records every request and answers as ZEGO does on success."""
    with raw_http.raw_server(raw_http.zego_reply({"Code": 0, "Message": "success", "RequestId": "r-1"})) as server:
        yield server


def zego_cdn(
    *args: str, server: raw_http.RawHttpServer, tmp_path: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    base = {
        **without_settings(os.environ),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "ZEGO_APP_ID": str(APP_ID),
        "ZEGO_SERVER_SECRET": SECRET,
        "ZEGO_API_ENDPOINT": server.url,
        "ZEGO_RATE_LIMITER": "process",
    }
    return subprocess.run(
        [sys.executable, "-m", "zego_provider.cli", *args],
        env={**base, **env},
        input="main\n",  # what `teardown --stdin` reads; the other commands read nothing
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("command", ["", *SUBCOMMANDS])
def test_each_help_page_has_a_description_the_variables_and_the_exit_codes(
    command: str, zego: raw_http.RawHttpServer, tmp_path: Path
) -> None:
    done = zego_cdn(*([command] if command else []), "--help", server=zego, tmp_path=tmp_path)
    assert done.returncode == 0 and done.stderr == ""
    page = done.stdout
    usage, _, description = page.partition("\n\n")
    assert usage.startswith(f"usage: zego-cdn {command}".rstrip())
    assert len(description.split("\n\n")[0]) > 40, page  # a sentence, not a bare usage line
    for variable in setting_variables():
        assert variable in page, f"{variable} missing from `zego-cdn {command} --help`"
    assert "exit codes:" in page
    for code in ("0", "1", "2"):
        assert f"\n  {code}  " in page, f"exit code {code} not explained"


def test_the_emulator_help_names_zego_cdn_emulator(zego: raw_http.RawHttpServer, tmp_path: Path) -> None:
    done = zego_cdn("emulator", "--help", server=zego, tmp_path=tmp_path)
    assert done.returncode == 0
    assert done.stdout.startswith("usage: zego-cdn emulator ")
    assert "python -m zego_provider.emulator" not in done.stdout
    assert "ZEGO_APP_ID" in done.stdout and "ZEGO_SERVER_SECRET" in done.stdout and "exit codes:" in done.stdout


WRONG = {
    "AppId missing": (["clear", "main"], {"ZEGO_APP_ID": ""}, "ZEGO_APP_ID is required"),
    "AppId not a number": (["clear", "main"], {"ZEGO_APP_ID": "app-one"}, "ZEGO_APP_ID is invalid"),
    "ServerSecret missing": (["create", "main", URL], {"ZEGO_SERVER_SECRET": ""}, "ZEGO_SERVER_SECRET is required"),
    "endpoint plain http elsewhere": (
        ["clear", "main"],
        {"ZEGO_API_ENDPOINT": "http://rtc-api.example.com"},
        "ZEGO_API_ENDPOINT is invalid",
    ),
    "rate limiter misspelt": (["clear", "main"], {"ZEGO_RATE_LIMITER": "machines"}, "ZEGO_RATE_LIMITER is invalid"),
    "Redis unreachable": (
        ["clear", "main"],
        {"ZEGO_RATE_LIMITER": f"redis://:made-up-redis-pw@127.0.0.1:{raw_http.unused_loopback_port()}/0"},
        "ZEGO_RATE_LIMITER Redis at 127.0.0.1",
    ),
    "teardown: AppId missing": (["teardown", "--stdin"], {"ZEGO_APP_ID": ""}, "ZEGO_APP_ID is required"),
    "teardown: Redis unreachable": (
        ["teardown", "--stdin"],
        {"ZEGO_RATE_LIMITER": f"redis://:made-up-redis-pw@127.0.0.1:{raw_http.unused_loopback_port()}/0"},
        "ZEGO_RATE_LIMITER Redis at 127.0.0.1",
    ),
    "call budget negative": (["clear", "main"], {"ZEGO_CALL_TIME_BUDGET": "-1"}, "ZEGO_CALL_TIME_BUDGET is invalid"),
    "create: stream id with a space": (["create", "main stage", URL], {}, "STREAM_ID has ' '"),
    "create: stream id too long": (["create", "s" * 257, URL], {}, "STREAM_ID String should have at most 256"),
    "create: http URL": (["create", "main", "http://cdn.example.com/live/main"], {}, "CDN_URL must be an RTMP URL"),
    "create: URL without a path": (["create", "main", "rtmp://cdn.example.com"], {}, "CDN_URL has no path"),
    "create: URL with a space": (["create", "main", "rtmp://cdn.example.com/live/a b"], {}, "CDN_URL must not"),
    "delete: URL of another scheme": (["delete", "main", "srt://cdn.example.com/live/m"], {}, "CDN_URL must be an"),
    "delete: empty stream id": (["delete", "", URL], {}, "STREAM_ID String should have at least 1"),
    "clear: stream id with a tab": (["clear", "main\tstage"], {}, "STREAM_ID has '\\t'"),
    "test environment without the prefix": (
        ["create", "main", URL],
        {"ZEGO_IS_TEST": "true"},
        f"STREAM_ID must start with 'zegotest-{APP_ID}-' when ZEGO_IS_TEST is true",
    ),
    "create: a missing CDN_URL": (["create", "main"], {}, "the following arguments are required: CDN_URL"),
    "an unknown command": (["stop", "main"], {}, "invalid choice: 'stop'"),
}


@pytest.mark.parametrize(("args", "env", "named"), WRONG.values(), ids=WRONG.keys())
def test_a_wrong_invocation_is_one_line_exit_2_and_sends_nothing(
    args: list[str], env: dict[str, str], named: str, zego: raw_http.RawHttpServer, tmp_path: Path
) -> None:
    done = zego_cdn(*args, server=zego, tmp_path=tmp_path, **env)
    assert done.returncode == 2, done.stderr
    assert done.stdout == "" and done.stderr.count("\n") == 1, done.stderr
    assert named in done.stderr
    assert "Traceback" not in done.stderr and "zego:" not in done.stderr  # zego-cdn reads no Pulumi config
    assert (
        SECRET not in done.stderr and "made-up-stream-key" not in done.stderr and "made-up-redis-pw" not in done.stderr
    )
    assert zego.requests == []


def test_valid_calls_reach_zego_and_a_refusal_exits_1_in_one_line(tmp_path: Path) -> None:
    with raw_http.raw_server(raw_http.zego_reply({"Code": 0, "Message": "success", "RequestId": "r-1"})) as ok:
        for args in (["create", "main", URL], ["delete", "main", URL], ["clear", "main"]):
            done = zego_cdn(*args, server=ok, tmp_path=tmp_path)
            assert (done.returncode, done.stdout, done.stderr) == (0, "ok [RequestId r-1]\n", ""), args
        test_stream = f"zegotest-{APP_ID}-main"
        assert zego_cdn("clear", test_stream, server=ok, tmp_path=tmp_path, ZEGO_IS_TEST="true").returncode == 0
        assert len(ok.requests) == 4
    refusal = {"Code": 100000005, "Message": "signature wrong", "RequestId": "r-2"}
    with raw_http.raw_server(raw_http.zego_reply(refusal)) as refusing:
        done = zego_cdn("clear", "main", server=refusing, tmp_path=tmp_path)
    assert done.returncode == 1 and done.stdout == "" and done.stderr.count("\n") == 1
    assert "100000005" in done.stderr and "r-2" in done.stderr and "Traceback" not in done.stderr
