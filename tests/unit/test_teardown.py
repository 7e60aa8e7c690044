"""zego-cdn teardown, the parsing half: which streams and URLs a stack export or stdin names."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest

from devkit.settings_env import clear_settings
from zego_provider.cli import main
from zego_provider.teardown import (
    SIG_KEY,
    SIG_OF_ENCRYPTED,
    StackExportError,
    TeardownReport,
    load_stack_export,
    targets_from_lines,
    targets_from_stack_export,
)

TYPE = "pulumi-python:dynamic/zego:CdnTransferRuleSet"
A = "rtmp://cdn-a.example.com/live/key-a?token=1"
B = "rtmp://cdn-b.example.com/live/key-b"
SECRET = "0123456789abcdef0123456789abcdef"


def rule_set(name: str, stream_id: Any, urls: Any, *, outputs: bool = True) -> dict[str, Any]:
    values = {"__provider": "gASV...", "stream_id": stream_id, "cdn_urls": urls, "stop_relays_on_delete": True}
    resource: dict[str, Any] = {
        "urn": f"urn:pulumi:e2e::proj::{TYPE}::{name}",
        "custom": True,
        "type": TYPE,
        "inputs": values,
    }
    if outputs:
        resource["id"] = f"1234567890:{stream_id}" if isinstance(stream_id, str) else "1234567890:x"
        resource["outputs"] = dict(values)
    return resource


def export(resources: list[dict[str, Any]], pending: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    deployment: dict[str, Any] = {"manifest": {}, "resources": resources}
    if pending is not None:
        deployment["pending_operations"] = pending
    return {"version": 3, "deployment": deployment}


def ciphertext() -> dict[str, str]:
    return {SIG_KEY: SIG_OF_ENCRYPTED, "ciphertext": "v1:abc:def"}


def plaintext(value: Any) -> dict[str, str]:
    return {SIG_KEY: SIG_OF_ENCRYPTED, "plaintext": json.dumps(value)}


def by_stream(document: dict[str, Any]) -> dict[str, tuple[list[str], bool]]:
    targets, problems = targets_from_stack_export(document)
    assert problems == []
    return {target.stream_id: (target.cdn_urls, target.secret_urls) for target in targets}


def test_every_rule_set_is_found_and_other_resources_are_ignored() -> None:
    document = export(
        [
            {"urn": "urn:pulumi:e2e::proj::pulumi:pulumi:Stack::proj-e2e", "type": "pulumi:pulumi:Stack"},
            {"urn": "urn:...::default", "type": "pulumi:providers:pulumi-python", "inputs": {"cdn_urls": [A]}},
            rule_set("main", "main", [A, B]),
            rule_set("empty", "empty", []),
        ]
    )
    assert by_stream(document) == {"main": ([A, B], False), "empty": ([], False)}


def test_pending_creates_and_deletes_are_torn_down_too() -> None:
    """A create in flight when `pulumi` was killed may have made relays the resources list does not hold."""
    pending = [
        {"type": "creating", "resource": rule_set("new", "new", [B], outputs=False)},
        {"type": "deleting", "resource": rule_set("main", "main", [A])},
    ]
    document = export([rule_set("main", "main", [A])], pending)
    assert by_stream(document) == {"main": ([A], False), "new": ([B], False)}


def test_a_rule_set_inside_a_component_is_found_by_its_type() -> None:
    nested = rule_set("inner", "inner", [A])
    nested["urn"] = f"urn:pulumi:e2e::proj::my:Component${TYPE}::inner"
    nested["parent"] = "urn:pulumi:e2e::proj::my:Component::outer"
    assert by_stream(export([nested])) == {"inner": ([A], False)}


def test_two_rule_sets_of_one_stream_are_merged_and_one_relay_is_deleted_once() -> None:
    same_relay_other_token = A.replace("token=1", "token=2")
    document = export([rule_set("one", "shared", [A]), rule_set("two", "shared", [same_relay_other_token, B])])
    targets, _ = targets_from_stack_export(document)
    [target] = targets
    assert target.cdn_urls == [A, B]
    assert len(target.sources) == 2


def test_secrets_shown_with_show_secrets_are_read_as_plain_values() -> None:
    document = export([rule_set("private", "private", plaintext([A, B]))])
    assert by_stream(document) == {"private": ([A, B], False)}


def test_encrypted_cdn_urls_leave_the_stream_to_be_cleared_only() -> None:
    document = export([rule_set("private", "private", ciphertext()), rule_set("mixed", "mixed", [B, ciphertext()])])
    assert by_stream(document) == {"private": ([], True), "mixed": ([B], True)}


def test_an_encrypted_stream_id_cannot_be_torn_down_and_is_reported() -> None:
    targets, problems = targets_from_stack_export(export([rule_set("hidden", ciphertext(), [A])]))
    assert targets == []
    [problem] = problems
    assert "hidden" in problem and "stream_id is encrypted" in problem and "--show-secrets" in problem


def test_outputs_win_over_the_recorded_inputs() -> None:
    changed = rule_set("one", "s", [A])
    changed["outputs"]["cdn_urls"] = [B]  # an update that failed midway keeps the old inputs
    assert by_stream(export([changed])) == {"s": ([B], False)}


def test_a_teardown_is_complete_only_when_every_stream_was_cleared() -> None:
    assert TeardownReport(streams=["a", "b"], cleared=["a", "b"]).complete
    assert not TeardownReport(streams=["a", "b"], cleared=["a"]).complete


def test_a_missing_stream_id_falls_back_to_the_resource_id() -> None:
    resource = rule_set("main", "main", [A])
    del resource["outputs"]["stream_id"], resource["inputs"]["stream_id"]
    resource["id"] = "1234567890:from-id"
    assert by_stream(export([resource])) == {"from-id": ([A], False)}


@pytest.mark.parametrize("text", ["not json", "[]", '{"version": 3}', '{"deployment": []}'])
def test_a_file_that_is_not_a_stack_export_is_refused(text: str) -> None:
    with pytest.raises(StackExportError):
        targets_from_stack_export(load_stack_export(text))


def test_an_empty_stack_has_nothing_to_tear_down() -> None:
    assert targets_from_stack_export(export([])) == ([], [])
    assert targets_from_stack_export({"deployment": {"manifest": {}}}) == ([], [])


def test_stdin_lines_are_streams_with_optional_urls() -> None:
    lines = ["# streams of the event", "", "main\n", f"main {A}\n", f"  side \t {B}  \n", "main"]
    targets = targets_from_lines(lines)
    assert [(t.stream_id, t.cdn_urls, t.secret_urls) for t in targets] == [("main", [A], False), ("side", [B], False)]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_settings(monkeypatch)
    monkeypatch.setenv("ZEGO_APP_ID", "1234567890")
    monkeypatch.setenv("ZEGO_SERVER_SECRET", SECRET)


@pytest.mark.usefixtures("env")
def test_an_unreadable_export_exits_2_before_any_request(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "state.json"
    broken.write_text("{ not json")
    assert main(["teardown", "--stack-export", str(broken)]) == 2
    assert main(["teardown", "--stack-export", str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err
    assert "cannot read the stack export" in err and SECRET not in err


def test_missing_settings_exit_2_and_never_print_the_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ZEGO_APP_ID", raising=False)
    monkeypatch.setenv("ZEGO_SERVER_SECRET", SECRET)
    monkeypatch.setattr("sys.stdin", StringIO("main\n"))
    assert main(["teardown", "--stdin"]) == 2
    captured = capsys.readouterr()
    assert "ZEGO_APP_ID" in captured.err and SECRET not in captured.err + captured.out


def test_teardown_needs_exactly_one_source(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as neither:
        main(["teardown"])
    with pytest.raises(SystemExit) as both:
        main(["teardown", "--stdin", "--stack-export", "x.json"])
    assert neither.value.code == both.value.code == 2
