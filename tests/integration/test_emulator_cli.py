"""`python -m zego_provider.emulator`: announces its URL, answers, and stops cleanly on a signal."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.settings_env import clear_settings
from tests.support.settings import config_of
from zego_provider.client import ZegoClient
from zego_provider.emulator import EmulatorAdmin
from zego_provider.emulator.cli import main

APP_ID = 1234567890
SECRET = "cli-test-secret-9a8b7c6d5e4f"
LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:(\d+))")


class EmulatorProcess:
    """A child emulator process and the lines it printed, read without ever blocking the test."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "zego_provider.emulator", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self._lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)

    def first_line(self, timeout: float = 20.0) -> str:
        line = self._lines.get(timeout=timeout)
        self.output.append(line)
        return line

    def url(self) -> str:
        match = LISTENING.fullmatch(self.first_line().strip())
        assert match, self.output
        return match.group(1)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 10.0) -> tuple[int, str]:
        """Send `signum`, wait (bounded) and return (exit code, everything printed)."""
        self.process.send_signal(signum)
        try:
            returncode = self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(5)
        self._pump_thread.join(5)
        while not self._lines.empty():
            self.output.append(self._lines.get_nowait())
        assert self.process.stderr is not None
        errors = self.process.stderr.read()
        self.close()
        return returncode, "".join(self.output) + errors

    def close(self) -> None:
        """Kill the child if it still runs (bounded) and close its pipes."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self._pump_thread.join(5)
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()


@pytest.fixture
def spawn() -> Iterator[type[EmulatorProcess]]:
    started: list[EmulatorProcess] = []

    class Tracked(EmulatorProcess):
        def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
            super().__init__(*args, env=env)
            started.append(self)

    yield Tracked
    for child in started:
        child.close()


def test_the_cli_prints_its_url_answers_and_exits_0_on_sigterm(spawn: type[EmulatorProcess]) -> None:
    child = spawn("--app-id", str(APP_ID), "--server-secret", SECRET, "--port", "0")
    url = child.url()

    with ZegoClient(config_of(APP_ID, SECRET, endpoint=url, rate_limiter="off")) as client:
        assert client.create_cdn_transfer_rule("cli-stream", "rtmp://cdn.example.com/live/x").ok
    with EmulatorAdmin(url) as admin:
        assert admin.stream("cli-stream") == [{"cdn_url": "rtmp://cdn.example.com/live/x", "status": "scheduled"}]

    returncode, printed = child.stop(signal.SIGTERM)
    assert returncode == 0
    assert SECRET not in printed


def test_the_cli_exits_0_on_sigint(spawn: type[EmulatorProcess]) -> None:
    child = spawn("--app-id", str(APP_ID), "--server-secret", SECRET)
    child.url()

    returncode, _ = child.stop(signal.SIGINT)

    assert returncode == 0


def test_the_cli_reads_credentials_and_switches_from_its_environment_and_flags(
    spawn: type[EmulatorProcess], tmp_path: Path
) -> None:
    state_file = tmp_path / "state.json"
    child = spawn(
        "--rate-limit", "0", "--rate-window", "bucket", "--clear-empty-code", "5005", "--state-file", str(state_file),
        env={"ZEGO_APP_ID": str(APP_ID), "ZEGO_SERVER_SECRET": SECRET},
    )  # fmt: skip
    url = child.url()

    with EmulatorAdmin(url) as admin:
        assert admin.config() == {
            "rate_limit": None,
            "test_rate_limit": None,
            "rate_window": "bucket",
            "clear_empty_code": 5005,
            "delete_unknown_code": 0,
            "create_existing_code": 0,
        }
    with ZegoClient(config_of(APP_ID, SECRET, endpoint=url, rate_limiter="off")) as client:
        client.create_cdn_transfer_rule("persisted", "rtmp://cdn.example.com/live/p")
    assert child.stop()[0] == 0

    again = spawn("--state-file", str(state_file), env={"ZEGO_APP_ID": str(APP_ID), "ZEGO_SERVER_SECRET": SECRET})
    with EmulatorAdmin(again.url()) as admin:
        assert list(admin.streams()) == ["persisted"]
    assert again.stop()[0] == 0


def test_the_cli_refuses_a_non_loopback_host(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--app-id", str(APP_ID), "--server-secret", SECRET, "--host", "0.0.0.0"]) == 2

    assert "loopback" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--server-secret", SECRET], id="no app id"),
        pytest.param(["--app-id", "0", "--server-secret", SECRET], id="app id zero"),
        pytest.param(["--app-id", str(2**32), "--server-secret", SECRET], id="app id over uint32"),
        pytest.param(["--app-id", str(APP_ID), "--server-secret", SECRET, "--rate-limit", "-1"], id="negative rate"),
        pytest.param(["--app-id", str(APP_ID), "--server-secret", SECRET, "--rate-window", "fixed"], id="bad window"),
        pytest.param(["--app-id", str(APP_ID), "--server-secret", SECRET, "--port", "70000"], id="port out of range"),
    ],
)
def test_the_cli_rejects_bad_arguments(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clear_settings(monkeypatch)

    with pytest.raises(SystemExit) as exit_info:
        main(argv)

    assert exit_info.value.code == 2
    assert SECRET not in capsys.readouterr().err


def test_a_second_emulator_process_on_the_same_state_file_exits_2_with_one_line(
    spawn: type[EmulatorProcess], tmp_path: Path
) -> None:
    state_file = str(tmp_path / "state.json")
    env = {"ZEGO_APP_ID": str(APP_ID), "ZEGO_SERVER_SECRET": SECRET}
    first = spawn("--state-file", state_file, env=env)
    first.url()

    second = spawn("--state-file", state_file, env=env)
    returncode = second.process.wait(20)
    assert second.process.stderr is not None
    errors = second.process.stderr.read()

    assert returncode == 2
    assert errors.count("\n") == 1
    assert "in use by another emulator" in errors
    assert first.stop()[0] == 0
