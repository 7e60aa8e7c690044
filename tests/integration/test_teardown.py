"""zego-cdn teardown against the emulator: every stream emptied, idempotent, failures named, at the rate limit."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devkit.settings_env import clear_settings
from tests.support.settings import config_of
from zego_provider.cli import main
from zego_provider.client import ZegoClient
from zego_provider.emulator import ZegoEmulator

from .conftest import APP_ID, CLEAR, DELETE, SERVER_SECRET

TYPE = "pulumi-python:dynamic/zego:CdnTransferRuleSet"


def url(stream: str, cdn: str = "a") -> str:
    return f"rtmp://cdn-{cdn}.example.com/live/{stream}?token=t-{stream}"


def stack_export(streams: dict[str, list[str]], pending: dict[str, list[str]] | None = None) -> dict[str, Any]:
    def rule_set(stream: str, urls: list[str]) -> dict[str, Any]:
        values = {"stream_id": stream, "cdn_urls": urls, "stop_relays_on_delete": True}
        return {"urn": f"urn:pulumi:e2e::p::{TYPE}::{stream}", "type": TYPE, "inputs": values, "outputs": values}

    return {
        "version": 3,
        "deployment": {
            "resources": [rule_set(stream, urls) for stream, urls in streams.items()],
            "pending_operations": [
                {"type": "creating", "resource": rule_set(stream, urls)} for stream, urls in (pending or {}).items()
            ],
        },
    }


@pytest.fixture
def run_teardown(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> Callable[..., tuple[int, str]]:
    """Runs `zego-cdn teardown --stack-export FILE` with settings in the environment; (exit code, stdout+stderr)."""

    def run(
        emulator: ZegoEmulator, document: dict[str, Any], *extra: str, secret: str = SERVER_SECRET
    ) -> tuple[int, str]:
        clear_settings(monkeypatch)
        monkeypatch.setenv("ZEGO_APP_ID", str(APP_ID))
        monkeypatch.setenv("ZEGO_SERVER_SECRET", secret)
        monkeypatch.setenv("ZEGO_API_ENDPOINT", emulator.url)
        path = tmp_path / "export.json"
        path.write_text(json.dumps(document))
        code = main(["teardown", "--stack-export", str(path), *extra])
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    return run


def seed(emulator: ZegoEmulator, streams: dict[str, list[str]]) -> None:
    with ZegoClient(config_of(APP_ID, SERVER_SECRET, endpoint=emulator.url, rate_limit=None)) as zego:
        for stream, urls in streams.items():
            for one in urls:
                zego.create_cdn_transfer_rule(stream, one)


def test_every_recorded_url_is_deleted_and_every_stream_cleared_and_a_second_run_succeeds(
    emulator: ZegoEmulator, run_teardown: Callable[..., tuple[int, str]]
) -> None:
    streams = {"main": [url("main"), url("main", "b")], "side": [url("side")], "empty": []}
    seed(emulator, streams)
    emulator.admin.publish("main")  # a running relay: only Delete stops it
    # a create in flight when pulumi was killed: on ZEGO, but only in pending_operations
    seed(emulator, {"pending": [url("pending")]})
    document = stack_export(streams, pending={"pending": [url("pending")]})
    seeded = len(emulator.admin.requests())

    code, output = run_teardown(emulator, document)

    assert code == 0, output
    assert all(not rules for rules in emulator.admin.streams().values())
    sent = [(e["action"], e["params"]["StreamId"]) for e in emulator.admin.requests()[seeded:]]
    assert sorted(a for a, s in sent if a == DELETE) == [DELETE] * 4
    assert sorted(s for a, s in sent if a == CLEAR) == ["empty", "main", "pending", "side"]
    assert "streams cleared: 4 of 4; URLs deleted: 4; failures: 0" in output
    assert SERVER_SECRET not in output and "token=" not in output  # no secret, no stream key

    again, output = run_teardown(emulator, document)
    assert again == 0, output
    assert "streams cleared: 4 of 4; URLs deleted: 4; failures: 0" in output


def test_a_stream_that_cannot_be_cleared_exits_1_naming_code_and_request_id(
    emulator: ZegoEmulator, run_teardown: Callable[..., tuple[int, str]]
) -> None:
    streams = {"good": [url("good")], "bad": [url("bad")]}
    seed(emulator, streams)
    emulator.admin.inject(match={"action": CLEAR, "stream_id": "bad"}, code=5005, count=5)
    emulator.admin.inject(match={"action": DELETE, "stream_id": "bad"}, code=5004, count=5)

    code, output = run_teardown(emulator, stack_export(streams))

    assert code == 1
    assert "streams cleared: 1 of 2; URLs deleted: 1; failures: 2" in output
    failures = [line for line in output.splitlines() if line.startswith("FAILED")]
    assert len(failures) == 2
    assert any(DELETE in line and "'bad'" in line and "code 5004" in line for line in failures)
    assert any(CLEAR in line and "'bad'" in line and "code 5005" in line for line in failures)
    assert all("RequestId" in line and "RequestId none" not in line for line in failures)
    assert emulator.admin.stream("good") == []
    assert SERVER_SECRET not in output

    emulator.admin.clear_faults()  # the cause is gone: the same command finishes the job
    code, output = run_teardown(emulator, stack_export(streams))
    assert code == 0, output
    assert emulator.admin.stream("bad") == []


def test_encrypted_urls_are_cleared_only_and_the_run_says_so_and_fails(
    emulator: ZegoEmulator, run_teardown: Callable[..., tuple[int, str]]
) -> None:
    document = stack_export({"plain": [url("plain")]})
    secret = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "v1:x:y"}
    values = {"stream_id": "private", "cdn_urls": secret}
    document["deployment"]["resources"].append(
        {"urn": f"urn:pulumi:e2e::p::{TYPE}::private", "type": TYPE, "inputs": values, "outputs": values}
    )
    seed(emulator, {"private": [url("private")], "plain": [url("plain")]})
    emulator.admin.publish("private")  # running: Clear alone cannot stop it

    code, output = run_teardown(emulator, document)

    assert code == 1
    assert "streams cleared: 2 of 2" in output
    assert "CLEARED ONLY" in output and "private" in output and "--show-secrets" in output
    assert [r["status"] for r in emulator.admin.stream("private")] == ["active"]  # what the warning is about


def test_thirty_streams_are_torn_down_at_the_rate_limit_without_a_rate_limit_answer(
    make_emulator: Callable[..., ZegoEmulator], run_teardown: Callable[..., tuple[int, str]]
) -> None:
    emulator = make_emulator()  # ZEGO's 10 calls/s, enforced in any sliding second
    streams = {f"s{index:02d}": [url(f"s{index:02d}")] for index in range(30)}
    emulator.admin.configure(rate_limit=None)
    seed(emulator, streams)
    emulator.admin.configure(rate_limit=10)
    seeded = len(emulator.admin.requests())

    code, output = run_teardown(emulator, stack_export(streams), "--parallel", "16")

    assert code == 0, output
    log = emulator.admin.requests()[seeded:]
    assert len(log) == 60  # a Delete and a Clear per stream, not one retry
    assert [entry for entry in log if entry["code"] != 0] == []
    assert all(not rules for rules in emulator.admin.streams().values())
    times = sorted(entry["time"] for entry in log)
    assert times[-1] - times[0] >= 5.0  # 60 calls at 10/s cannot take less than ~5.9 s


def test_wrong_credentials_stop_the_run_after_the_first_refusals(
    emulator: ZegoEmulator, run_teardown: Callable[..., tuple[int, str]]
) -> None:
    streams = {f"s{index:02d}": [url(f"s{index:02d}")] for index in range(40)}

    code, output = run_teardown(
        emulator, stack_export(streams), "--parallel", "4", secret="a-made-up-wrong-secret-000000000"
    )

    assert code == 1
    assert len(emulator.admin.requests()) <= 4  # one refused call per worker at most, not 80
    assert "not attempted, ZEGO refused the credentials" in output
    assert "streams cleared: 0 of 40" in output
    assert "a-made-up-wrong-secret" not in output
