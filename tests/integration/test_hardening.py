"""Hardening, second pass: the probes that once failed, each a test against the emulator (and a real
redis-server where the budget is shared in Redis).

Teardown never crosses apps; a failure of the budget's machinery is a failure of the call, rolled
back or named; bad input ends in one line with exit 2 and nothing sent.
"""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.redis_server import RedisServer, free_port
from zego_provider import ZegoBudgetError, ZegoCallTimeBudgetError, ZegoConfigError
from zego_provider.budget.machine import MachineStore
from zego_provider.budget.names import budget_key, redis_prefix
from zego_provider.claims import StreamClaims
from zego_provider.cli import main
from zego_provider.client import ZegoClient
from zego_provider.emulator import ZegoEmulator
from zego_provider.lifecycle import RuleSetLifecycle
from zego_provider.teardown import MAX_INPUT_BYTES, MAX_PARALLEL, run

from .conftest import APP_ID, CREATE, DELETE, SERVER_SECRET

REPO = Path(__file__).resolve().parents[2]
TYPE = "pulumi-python:dynamic/zego:CdnTransferRuleSet"
NATIVE = "zego:index:CdnTransferRuleSet"
OTHER_APP = 999
REDIS_PASSWORD = "made-up-redis-password-hardening-5c1d"  # made up; only the test's own redis-server knows it


def url(stream: str, cdn: str = "a") -> str:
    return f"rtmp://cdn-{cdn}.example.com/live/{stream}?token=t-{stream}"


def rule_set(stream: str, urls: list[str], *, app_id: int | None = APP_ID, native: bool = False) -> dict[str, Any]:
    values: dict[str, Any] = (
        {"streamId": stream, "cdnUrls": urls, "stopRelaysOnDelete": True}
        if native
        else {"stream_id": stream, "cdn_urls": urls, "stop_relays_on_delete": True}
    )
    resource: dict[str, Any] = {
        "urn": f"urn:pulumi:e2e::p::{NATIVE if native else TYPE}::{stream}",
        "type": NATIVE if native else TYPE,
        "inputs": values,
        "outputs": values,
    }
    if app_id is not None:
        resource["id"] = f"{app_id}:{stream}"
    return resource


def export(*resources: dict[str, Any], pending: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    deployment = {
        "resources": list(resources),
        "pending_operations": [{"type": "creating", "resource": resource} for resource in pending or []],
    }
    return {"version": 3, "deployment": deployment}


def seed(emulator: ZegoEmulator, streams: dict[str, list[str]]) -> None:
    with ZegoClient(APP_ID, SERVER_SECRET, endpoint=emulator.url, rate_limiter="off") as zego:
        for stream, urls in streams.items():
            for one in urls:
                zego.create_cdn_transfer_rule(stream, one)


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[ZegoEmulator], dict[str, str]]:
    """Puts the emulator's settings into the environment (the budget in the process) and returns them."""

    def apply(emulator: ZegoEmulator, **extra: str) -> dict[str, str]:
        for name in ("ZEGO_IS_TEST", "ZEGO_RATE_LIMIT", "ZEGO_TIMEOUT", "ZEGO_CALL_TIME_BUDGET"):
            monkeypatch.delenv(name, raising=False)
        values = {
            "ZEGO_APP_ID": str(APP_ID),
            "ZEGO_SERVER_SECRET": SERVER_SECRET,
            "ZEGO_API_ENDPOINT": emulator.url,
            "ZEGO_RATE_LIMITER": "process",
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
            **extra,
        }
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        return values

    return apply


def teardown_file(tmp_path: Path, document: dict[str, Any] | bytes) -> str:
    path = tmp_path / "export.json"
    path.write_bytes(document if isinstance(document, bytes) else json.dumps(document).encode())
    return str(path)


# --- teardown never crosses apps ------------------------------------------------------------------


def test_rule_sets_of_another_app_are_skipped_and_reported_and_nothing_is_sent(
    emulator: ZegoEmulator, settings: Callable[..., dict[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The probe: `999:lobby` and `999:main` torn down with ZEGO_APP_ID=1234567890 deleted this app's `main`."""
    settings(emulator)
    seed(emulator, {"main": [url("main")]})
    seeded = len(emulator.admin.requests())
    document = export(
        rule_set("lobby", [url("lobby")], app_id=OTHER_APP), rule_set("main", [url("main")], app_id=OTHER_APP)
    )

    code = main(["teardown", "--stack-export", teardown_file(tmp_path, document)])

    output = capsys.readouterr().out
    assert code == 1
    assert emulator.admin.requests()[seeded:] == []  # not one call to this app
    assert emulator.admin.stream("main") == [{"cdn_url": url("main"), "status": "scheduled"}]
    assert "streams cleared: 0 of 2; URLs deleted: 0; failures: 0; streams left: 2" in output
    assert "skipped 2 stream(s) of AppId 999, not the configured AppId 1234567890: 'lobby', 'main'" in output
    assert "LEFT (not cleared): '999:lobby', '999:main'" in output


def test_an_export_of_two_apps_says_so_before_any_call_and_tears_down_only_the_configured_one(
    emulator: ZegoEmulator, settings: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    settings(emulator)
    seed(emulator, {"main": [url("main")], "side": [url("side")]})
    seeded = len(emulator.admin.requests())
    document = export(
        rule_set("main", [url("main")]),
        rule_set("lobby", [url("lobby")], app_id=OTHER_APP),
        pending=[rule_set("side", [url("side")], app_id=None)],  # no AppId recorded, several in the export
    )
    said: list[tuple[str, int]] = []

    class Err(io.StringIO):
        def write(self, text: str) -> int:
            said.append((text, len(emulator.admin.requests()) - seeded))  # how many calls were made by then
            return super().write(text)

    out = io.StringIO()
    code = run(stack_export=teardown_file(tmp_path, document), stdin=io.StringIO(), out=out, err=Err())

    warning = [(text, calls) for text, calls in said if "2 AppIds" in text]
    assert warning and warning[0][1] == 0, said  # said before any call
    assert "999 (1 stream(s)), 1234567890 (1 stream(s))" in warning[0][0]
    assert code == 1
    assert emulator.admin.stream("main") == []  # the configured app's own rule set is torn down
    assert emulator.admin.stream("side") != []  # AppId unknown in a two-app export: not guessed
    summary = out.getvalue()
    assert "streams cleared: 1 of 3" in summary and "streams left: 2" in summary
    assert "skipped 1 stream(s) of its AppId not recorded" in summary and "'side'" in summary
    assert {entry["params"]["StreamId"] for entry in emulator.admin.requests()[seeded:]} == {"main"}


def test_native_rule_sets_are_torn_down_by_the_appid_of_their_explicit_provider(
    emulator: ZegoEmulator, settings: Callable[..., dict[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A YAML stack with two explicit providers: each pending create's AppId is its provider's `appId`."""
    settings(emulator)
    seed(emulator, {"keynote": [url("keynote")], "rehearsal": [url("rehearsal")]})
    providers = []
    for name, app in (("production", APP_ID), ("test", OTHER_APP)):
        providers.append(
            {
                "urn": f"urn:pulumi:e2e::p::pulumi:providers:zego::{name}",
                "id": f"uuid-{name}",
                "type": "pulumi:providers:zego",
                "inputs": {"appId": str(app)},
                "outputs": {"appId": str(app)},
            }
        )
    keynote = rule_set("keynote", [url("keynote")], app_id=None, native=True)
    keynote["provider"] = "urn:pulumi:e2e::p::pulumi:providers:zego::production::uuid-production"
    rehearsal = rule_set("rehearsal", [url("rehearsal")], app_id=None, native=True)
    rehearsal["provider"] = "urn:pulumi:e2e::p::pulumi:providers:zego::test::uuid-test"

    code = main(
        ["teardown", "--stack-export", teardown_file(tmp_path, export(*providers, pending=[keynote, rehearsal]))]
    )

    captured = capsys.readouterr()
    assert code == 1
    assert emulator.admin.stream("keynote") == [] and emulator.admin.stream("rehearsal") != []
    assert "the export holds rule sets of 2 AppIds" in captured.err
    assert "skipped 1 stream(s) of AppId 999" in captured.out and "streams cleared: 1 of 2" in captured.out


def test_an_export_of_the_configured_app_alone_is_torn_down_and_exits_0(
    emulator: ZegoEmulator, settings: Callable[..., dict[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings(emulator)
    seed(emulator, {"main": [url("main")], "new": [url("new")]})
    document = export(rule_set("main", [url("main")]), pending=[rule_set("new", [url("new")], app_id=None)])
    assert main(["teardown", "--stack-export", teardown_file(tmp_path, document)]) == 0
    assert emulator.admin.streams() == {}
    assert "streams cleared: 2 of 2; URLs deleted: 2; failures: 0; streams left: 0" in capsys.readouterr().out


# --- the budget's failures are the call's -----------------------------------------------------------


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with RedisServer(password=REDIS_PASSWORD) as server:
        yield server


def stop_redis_when(emulator: ZegoEmulator, server: RedisServer, after_accepted: int) -> None:
    """Stops `server` while the emulator answers its `after_accepted`-th request (the reply still goes out)."""
    state = emulator.state
    original = state.accept_nonce
    seen = [0]

    def accept(nonce: str, timestamp: float) -> bool:
        fresh = original(nonce, timestamp)
        seen[0] += 1
        if seen[0] == after_accepted:
            server.stop()
        return fresh

    state.accept_nonce = accept  # type: ignore[method-assign]


def live_hosts(emulator: ZegoEmulator, stream: str) -> list[str]:
    return sorted(rule["cdn_url"].split("/")[2] for rule in emulator.admin.stream(stream))


def test_redis_stopping_during_a_three_url_create_names_every_relay_left_and_teardown_clears_them(
    emulator: ZegoEmulator, redis_server: RedisServer
) -> None:
    """The probe: a ZegoConfigError, two relays on ZEGO that nothing named. Now the create fails as a
    ZegoBudgetError, rolls back what it can, and names each relay it could not (host only)."""
    urls = [url("show", cdn) for cdn in ("a", "b", "c")]
    client = ZegoClient(
        APP_ID, SERVER_SECRET, endpoint=emulator.url, rate_limiter=redis_server.url, sleep=lambda _: None
    )
    rule_sets = RuleSetLifecycle(lambda: client, StreamClaims(), app_id=APP_ID, is_test=False)
    stop_redis_when(emulator, redis_server, after_accepted=2)  # while the second Create is answered

    with pytest.raises(ZegoBudgetError) as caught:
        rule_sets.create({"stream_id": "show", "cdn_urls": urls})

    text = " ".join([str(caught.value), *caught.value.__notes__])
    assert f"zego:rateLimiter (or ZEGO_RATE_LIMITER) Redis at 127.0.0.1:{redis_server.port}" in text
    assert REDIS_PASSWORD not in text and "token=" not in text and "/live/" not in text
    left = live_hosts(emulator, "show")
    assert left, "Redis stopped before the rollback: it cannot reach the budget either"
    # Every relay left is named; the one whose Create failed is named too: a failed call may have
    # reached ZEGO, so the rollback tries it as well.
    assert "Rollback could not delete 3 rule(s) of stream 'show', left on ZEGO: " in text
    assert all(f"rtmp://{host}/…" in text for host in left)
    assert "zego-cdn teardown --stdin" in text
    client.close()

    # The note's advice, with the budget kept in the process while Redis is down: nothing is left.
    lines = "".join(f"show {one}\n" for one in urls)
    env = {**os.environ, "ZEGO_APP_ID": str(APP_ID), "ZEGO_SERVER_SECRET": SERVER_SECRET}
    env.update(ZEGO_API_ENDPOINT=emulator.url, ZEGO_RATE_LIMITER="process")
    done = subprocess.run(
        [sys.executable, "-m", "zego_provider.cli", "teardown", "--stdin"],
        input=lines,
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert emulator.admin.streams() == {}


def test_a_budget_failure_of_one_create_rolls_back_the_rules_already_made(
    emulator: ZegoEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A budget that fails for one call (its file replaced, its lock timing out): a transport
    failure of that call, retried, then rolled back like one: no relay left."""
    client = ZegoClient(APP_ID, SERVER_SECRET, endpoint=emulator.url, rate_limiter="process", sleep=lambda _: None)
    acquire = client._budget.acquire
    calls = [0]

    def failing_for_the_third_create(max_wait: float = math.inf) -> float:
        calls[0] += 1
        if 3 <= calls[0] < 3 + client.max_attempts:  # every attempt of the third Create
            raise IsADirectoryError(21, "Is a directory", "/home/u/.cache/zego-pulumi-provider/budgets/budget-x")
        return acquire(max_wait)

    monkeypatch.setattr(client._budget, "acquire", failing_for_the_third_create)
    rule_sets = RuleSetLifecycle(lambda: client, StreamClaims(), app_id=APP_ID, is_test=False)

    with pytest.raises(ZegoBudgetError) as caught:
        rule_sets.create({"stream_id": "show", "cdn_urls": [url("show", cdn) for cdn in ("a", "b", "c")]})

    assert "budget-x: Is a directory (IsADirectoryError)" in str(caught.value)
    assert "Rolled back the 3 rule(s)" in " ".join(caught.value.__notes__)
    assert emulator.admin.streams() == {}
    assert [entry["action"] for entry in emulator.admin.requests()] == [CREATE, CREATE, DELETE, DELETE, DELETE]
    client.close()


def test_the_machine_budget_file_replaced_by_a_directory_mid_run_fails_the_call_and_rolls_back(
    emulator: ZegoEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The probe: an OSError of the machine scope bypassed the rollback. The file is replaced by a
    directory while the first Create is answered; the directory is gone again before the rollback."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    client = ZegoClient(APP_ID, SERVER_SECRET, endpoint=emulator.url, rate_limiter="machine", sleep=lambda _: None)
    budget_files = list((tmp_path / "cache").rglob("budget-*"))
    budget_file = next(path for path in budget_files if not path.name.endswith(".lock"))
    state = emulator.state
    original = state.accept_nonce
    creates = [0]

    def accept(nonce: str, timestamp: float) -> bool:
        creates[0] += 1
        if creates[0] == 1:
            budget_file.unlink()
            budget_file.mkdir()
        return original(nonce, timestamp)

    state.accept_nonce = accept  # type: ignore[method-assign]
    rule_sets = RuleSetLifecycle(lambda: client, StreamClaims(), app_id=APP_ID, is_test=False)
    sleeps = [0]

    def restore_after_the_create_failed(_: float) -> None:
        sleeps[0] += 1
        if sleeps[0] == client.max_attempts:  # the rollback's first pause: the Create has failed for good
            budget_file.rmdir()
            budget_file.touch()

    client._sleep = restore_after_the_create_failed

    with pytest.raises(ZegoBudgetError) as caught:
        rule_sets.create({"stream_id": "show", "cdn_urls": [url("show", cdn) for cdn in ("a", "b")]})

    assert "zego:rateLimiter (or ZEGO_RATE_LIMITER) machine:" in str(caught.value)
    assert "is a directory where a budget file goes: refused" in str(caught.value), str(caught.value)
    notes = " ".join(caught.value.__notes__)
    assert "Rolled back the 2 rule(s)" in notes, notes
    assert emulator.admin.streams() == {}
    client.close()


@pytest.mark.timeout(120)
def test_redis_killed_during_a_forty_stream_teardown_prints_the_summary_and_exits_1_without_a_traceback(
    make_emulator: Callable[..., ZegoEmulator], redis_server: RedisServer, tmp_path: Path
) -> None:
    emulator = make_emulator(rate_limit=None)
    streams = {f"s{index:02d}": [url(f"s{index:02d}")] for index in range(40)}
    seed(emulator, streams)
    seeded = len(emulator.admin.requests())
    document = export(*(rule_set(stream, urls) for stream, urls in streams.items()))
    env = {**os.environ, "ZEGO_APP_ID": str(APP_ID), "ZEGO_SERVER_SECRET": SERVER_SECRET}
    env.update(ZEGO_API_ENDPOINT=emulator.url, ZEGO_RATE_LIMITER=redis_server.url, ZEGO_RATE_LIMIT="20")
    command = [
        sys.executable,
        "-m",
        "zego_provider.cli",
        "teardown",
        "--stack-export",
        teardown_file(tmp_path, document),
    ]
    process = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while len(emulator.admin.requests()) - seeded < 20 and time.monotonic() < deadline:
        time.sleep(0.02)
    redis_server.process.kill()  # type: ignore[union-attr]
    out, err = process.communicate(timeout=90)

    assert process.returncode == 1, out + err
    assert "Traceback" not in out + err
    # stderr holds the client's retry warnings, one line each, and nothing else.
    assert all(line.startswith("ZEGO ") and "retrying in" in line for line in err.splitlines()), err
    summary = next(line for line in out.splitlines() if line.startswith("streams cleared:"))
    cleared = int(summary.split()[2])
    assert 0 < cleared < 40 and f"streams left: {40 - cleared}" in summary
    left = [stream for stream in streams if emulator.admin.stream(stream)]
    left_line = next(line for line in out.splitlines() if line.startswith("LEFT (not cleared):"))
    assert all(repr(stream) in left_line for stream in left)  # every stream still on ZEGO is named
    assert f"Redis at 127.0.0.1:{redis_server.port}" in out and REDIS_PASSWORD not in out
    assert "not attempted, the call budget failed" in out


# --- bad input: one line, exit 2, nothing sent --------------------------------------------------------


def one_line_exit_2(code: int, captured: Any, emulator: ZegoEmulator) -> str:
    assert code == 2
    assert emulator.admin.requests() == []
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and captured.out == "", captured.err + captured.out
    return str(lines[0])


def test_a_stack_export_that_is_not_utf8_ends_in_one_line_and_sends_nothing(
    emulator: ZegoEmulator, settings: Callable[..., dict[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings(emulator)
    document = json.dumps(export(rule_set("main", [url("main")]))).encode().replace(b"main", b"m\xe9in", 1)
    code = main(["teardown", "--stack-export", teardown_file(tmp_path, document)])
    line = one_line_exit_2(code, capsys.readouterr(), emulator)
    assert "not UTF-8 text (byte 0xe9" in line


def test_stdin_that_is_not_utf8_sends_nothing_even_for_its_valid_lines(
    emulator: ZegoEmulator, settings: Callable[..., dict[str, str]]
) -> None:
    """The probe: the valid lines' calls were sent first, then a UnicodeEncodeError."""
    env = {**os.environ, **settings(emulator)}
    valid = f"good {url('good')}\nalso\n".encode()
    lines = valid + b"b\xffd rtmp://cdn.example.com/live/x\n"
    done = subprocess.run(
        [sys.executable, "-m", "zego_provider.cli", "teardown", "--stdin"],
        input=lines,
        env=env,
        cwd=REPO,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and done.stdout == b""
    assert done.stderr.decode().strip().splitlines() == [
        f"zego-cdn teardown: cannot read stdin: stdin is not UTF-8 text (byte 0xff at offset {len(valid) + 1})"
    ]
    assert emulator.admin.requests() == []


def test_an_export_nested_ten_thousand_deep_ends_in_one_line(
    emulator: ZegoEmulator, settings: Callable[..., dict[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings(emulator)
    deep = b'{"deployment": {"resources": [' + b"[" * 10_000 + b"]" * 10_000 + b"]}}"
    code = main(["teardown", "--stack-export", teardown_file(tmp_path, deep)])
    assert "nested too deeply" in one_line_exit_2(code, capsys.readouterr(), emulator)


def test_urls_nested_deep_inside_a_rule_set_are_read_without_exhausting_the_stack(
    emulator: ZegoEmulator, settings: Callable[..., dict[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings(emulator)
    seed(emulator, {"main": [url("main")]})
    value: Any = [url("main")]
    for _ in range(900):  # under the JSON parser's own limit, over what a recursive walk would bear
        value = [value]
    resource = rule_set("main", [])
    resource["outputs"]["cdn_urls"] = resource["inputs"]["cdn_urls"] = value
    code = main(["teardown", "--stack-export", teardown_file(tmp_path, export(resource))])
    output = capsys.readouterr().out
    # No URL at the depth a rule set records them: the stream is cleared, nothing else is read.
    assert code == 0 and "streams cleared: 1 of 1; URLs deleted: 0" in output
    assert emulator.admin.stream("main") == []


def test_an_oversized_export_ends_in_one_line(
    emulator: ZegoEmulator,
    settings: Callable[..., dict[str, str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings(emulator)
    monkeypatch.setattr("zego_provider.teardown.MAX_INPUT_BYTES", 4096)
    big = json.dumps(export(*(rule_set(f"s{index}", [url(f"s{index}")]) for index in range(40)))).encode()
    assert len(big) > 4096
    code = main(["teardown", "--stack-export", teardown_file(tmp_path, big)])
    line = one_line_exit_2(code, capsys.readouterr(), emulator)
    assert (
        line
        == "zego-cdn teardown: cannot read the stack export: the stack export is over 4 KiB (the most teardown reads)"
    )


def test_a_device_behind_a_symlink_is_read_no_further_than_the_bound(
    emulator: ZegoEmulator, settings: Callable[..., dict[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The probe: `--stack-export` a symlink to /dev/zero read until a MemoryError at 1.8 GB."""
    settings(emulator)
    link = tmp_path / "export.json"
    link.symlink_to("/dev/zero")
    code = main(["teardown", "--stack-export", str(link)])
    line = one_line_exit_2(code, capsys.readouterr(), emulator)
    assert MAX_INPUT_BYTES == 64 * 1024 * 1024
    assert line == (
        "zego-cdn teardown: cannot read the stack export: the stack export is over 64 MiB (the most teardown reads)"
    )


@pytest.mark.parametrize("parallel", ["0", "-1", str(MAX_PARALLEL + 1), "100000"])
def test_parallel_outside_its_bounds_is_a_usage_error(
    emulator: ZegoEmulator,
    settings: Callable[..., dict[str, str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    parallel: str,
) -> None:
    settings(emulator)
    path = teardown_file(tmp_path, export(rule_set("main", [url("main")])))
    code = main(["teardown", "--stack-export", path, "--parallel", parallel])
    line = one_line_exit_2(code, capsys.readouterr(), emulator)
    assert line == f"zego-cdn teardown: --parallel must be from 1 to {MAX_PARALLEL}, not {parallel}"


def test_a_missing_ca_bundle_is_a_configuration_error_in_one_line_before_connecting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The probe: REQUESTS_CA_BUNDLE=/nonexistent gave requests' OSError, a 33-line traceback. The
    endpoint is a loopback port nothing listens on: the error comes before any connection."""
    port = free_port()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent")
    monkeypatch.setenv("ZEGO_APP_ID", str(APP_ID))
    monkeypatch.setenv("ZEGO_SERVER_SECRET", SERVER_SECRET)
    monkeypatch.setenv("ZEGO_API_ENDPOINT", f"https://127.0.0.1:{port}")
    monkeypatch.setenv("ZEGO_RATE_LIMITER", "off")

    assert main(["create", "main", url("main")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert "REQUESTS_CA_BUNDLE names a CA bundle that does not exist" in captured.err
    with pytest.raises(ZegoConfigError, match="REQUESTS_CA_BUNDLE"):
        ZegoClient.from_env()


def test_a_ca_bundle_gone_after_the_client_was_built_is_a_transport_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not used before it is gone\n")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    with ZegoClient(
        APP_ID, SERVER_SECRET, endpoint=f"https://127.0.0.1:{free_port()}", rate_limiter="off", max_attempts=1
    ) as client:
        bundle.unlink()
        with pytest.raises(Exception) as caught:
            client.clear_cdn_transfer_rule("main")
    assert type(caught.value).__name__ == "ZegoTransportError"
    assert "\n" not in str(caught.value)


def test_a_stdin_stream_id_that_check_refuses_ends_in_one_line_before_any_call(
    emulator: ZegoEmulator, settings: Callable[..., dict[str, str]]
) -> None:
    settings(emulator)
    err = io.StringIO()
    before = threading.active_count()
    code = run(stack_export=None, stdin=io.StringIO("good\nbad\x1bid\n"), out=io.StringIO(), err=err)
    assert code == 2 and threading.active_count() == before  # refused before any worker started
    assert err.getvalue().count("\n") == 1 and "line 2: the stream id has '\\x1b'" in err.getvalue()
    assert emulator.admin.requests() == []


# --- the machine scope's files are the user's own ------------------------------------------------------


def test_zego_cdn_create_refuses_a_budget_file_that_is_a_symlink_in_one_line_and_sends_nothing(
    emulator: ZegoEmulator, settings: Callable[..., dict[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The probe: the link was followed, its target overwritten with a timestamp, exit 0."""
    settings(emulator, ZEGO_RATE_LIMITER="machine")
    precious = tmp_path / "notes.txt"
    precious.write_text("the user's own notes\n")
    budgets = tmp_path / "cache" / "zego-pulumi-provider" / "budgets"
    budgets.mkdir(parents=True, mode=0o700)
    port = emulator.url.rsplit(":", 1)[1]
    (budgets / f"budget-{APP_ID}-production-127_0_0_1_{port}").symlink_to(precious)

    code = main(["create", "main", url("main")])

    captured = capsys.readouterr()
    assert code == 2 and captured.out == "" and captured.err.count("\n") == 1
    assert "is a symbolic link: refused, never written through" in captured.err
    assert precious.read_text() == "the user's own notes\n"
    assert emulator.admin.requests() == []


# --- the time budget covers every wait --------------------------------------------------------------


def test_a_call_that_cannot_get_its_slot_in_time_fails_within_its_budget_having_sent_nothing(
    emulator: ZegoEmulator, settings: Callable[..., dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    """The probe: with ZEGO_RATE_LIMIT=0.05 and a budget of 2 s a call waited 20.1 s for its slot."""
    settings(emulator, ZEGO_RATE_LIMIT="0.05", ZEGO_CALL_TIME_BUDGET="2", ZEGO_RATE_LIMITER="machine")
    assert main(["create", "main", url("main")]) == 0
    capsys.readouterr()
    started = time.monotonic()
    code = main(["create", "side", url("side")])
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == 1 and elapsed < 2.5, (elapsed, err)
    assert err.count("\n") == 1 and "zego:callTimeBudget" in err and "nothing was sent" in err
    assert [entry["params"]["StreamId"] for entry in emulator.admin.requests()] == ["main"]


def machine_shard_lock(client: ZegoClient, stream: str) -> str:
    store = client._budget.store
    assert isinstance(store, MachineStore)
    return str(store._shard(stream)) + ".lock"


def test_another_process_holding_the_streams_turn_fails_the_call_within_its_budget(
    emulator: ZegoEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The probe: a call waited 8 s for another process's call on the same stream (up to 600 s)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    client = ZegoClient(APP_ID, SERVER_SECRET, endpoint=emulator.url, rate_limiter="machine", call_time_budget=2)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_FILE_LOCK, machine_shard_lock(client, "main")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with pytest.raises(ZegoCallTimeBudgetError) as caught:
            client.clear_cdn_transfer_rule("main")
        elapsed = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait(10)
        client.close()
    assert 1.5 < elapsed < 3.0, elapsed
    assert "zego:callTimeBudget" in str(caught.value) and "another process's call on the same stream" in str(
        caught.value
    )
    assert emulator.admin.requests() == []


HOLD_FILE_LOCK = """
import sys, time
from filelock import FileLock
lock = FileLock(sys.argv[1])
lock.acquire()
print("held", flush=True)
time.sleep(30)
"""


def test_another_runner_holding_the_streams_turn_in_redis_fails_the_call_within_its_budget(
    emulator: ZegoEmulator, redis_server: RedisServer
) -> None:
    import redis

    client = ZegoClient(APP_ID, SERVER_SECRET, endpoint=emulator.url, rate_limiter=redis_server.url, call_time_budget=2)
    key = budget_key(APP_ID, False, emulator.url.split("//", 1)[1])
    other = redis.Redis.from_url(redis_server.url)
    other.set(f"{redis_prefix(key)}:lock:main", "another-runner", px=60_000)
    started = time.monotonic()
    with pytest.raises(ZegoCallTimeBudgetError, match="another runner's call on the same stream"):
        client.clear_cdn_transfer_rule("main")
    assert time.monotonic() - started < 3.0
    assert emulator.admin.requests() == []
    other.close()
    client.close()
