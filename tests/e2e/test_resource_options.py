"""Pulumi resource options on a CdnTransferRuleSet, through the real engine: what each one sends to ZEGO.

Each test reads the emulator's request log to prove what was (and was not) sent, and compares
the emulator's rules with the state after every step.
"""

from __future__ import annotations

from typing import Any

from tests.support.settings import config_of
from zego_provider import ZegoClient

from .conftest import APP_ID, SECRET, STACK, Stack

A = "rtmp://cdn-a.example.com/live/key-a?token=abc"
B = "rtmp://cdn-b.example.com/live/key-b"
C = "rtmp://cdn-c.example.com/live/key-c"


def urn(name: str) -> str:
    return f"urn:pulumi:{STACK}::zego-e2e::pulumi-python:dynamic/zego:CdnTransferRuleSet::{name}"


def stream(stream_id: str, urls: list[str], **options: Any) -> dict[str, Any]:
    return {"stream_id": stream_id, "cdn_urls": urls, "options": options}


def sent(stack: Stack) -> list[tuple[str, str, str | None]]:
    """(action, stream, URL) of every request since the last reset, oldest first."""
    return [
        (entry["action"], entry["params"]["StreamId"], entry["params"].get("CDNUrl"))
        for entry in stack.emulator.admin.requests()
    ]


def test_retain_on_delete_destroy_sends_nothing_for_the_retained_rule_set(stack: Stack) -> None:
    stack.set_streams({"kept": stream("kept", [A], retain_on_delete=True), "gone": [B]})
    stack.up()
    before = len(stack.emulator.admin.requests())

    stack.destroy()

    during = sent(stack)[before:]
    assert sorted(during) == [("ClearCDNTransferRule", "gone", None), ("DeleteCDNTransferRule", "gone", B)]
    assert stack.recorded_rules() == {}  # the state forgets it...
    assert stack.live_rules() == {"kept": [A]}  # ...and ZEGO keeps relaying: that is what the option asks
    with ZegoClient(config_of(APP_ID, SECRET, endpoint=stack.emulator.url)) as zego:  # the owner cleans up by hand
        zego.delete_cdn_transfer_rule("kept", A)
        zego.clear_cdn_transfer_rule("kept")
    assert stack.live_rules() == {}


def test_protect_makes_destroy_fail_without_sending_anything_for_the_protected_stream(stack: Stack) -> None:
    """The engine refuses the protected resource only: the others are still destroyed in that run."""
    stack.set_streams({"guarded": stream("guarded", [A], protect=True), "other": [B]})
    stack.up()
    before = len(stack.emulator.admin.requests())

    result = stack.destroy(check=False)

    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "protected" in output and urn("guarded") in output
    assert sorted(sent(stack)[before:]) == [
        ("ClearCDNTransferRule", "other", None),
        ("DeleteCDNTransferRule", "other", B),
    ]
    assert stack.live_rules() == stack.recorded_rules() == {"guarded": [A]}

    before = len(stack.emulator.admin.requests())
    stack.set_streams({"guarded": stream("guarded", [A], protect=False)})
    stack.up()  # lifting the protection is a change of the state only
    assert sent(stack)[before:] == []
    stack.destroy()
    assert stack.live_rules() == {} and stack.recorded_rules() == {}


def test_target_touches_only_the_targeted_streams(stack: Stack) -> None:
    stack.set_streams({"one": [A], "two": [A], "three": [A]})
    stack.up()
    stack.set_streams({"one": [B], "two": [B], "three": [B]})
    before = len(stack.emulator.admin.requests())

    stack.up("--target", urn("two"))

    assert sent(stack)[before:] == [("DeleteCDNTransferRule", "two", A), ("CreatCDNTransferRule", "two", B)]
    assert stack.live_rules() == stack.recorded_rules() == {"one": [A], "two": [B], "three": [A]}

    before = len(stack.emulator.admin.requests())
    stack.destroy("--target", urn("three"))
    assert sent(stack)[before:] == [("DeleteCDNTransferRule", "three", A), ("ClearCDNTransferRule", "three", None)]
    assert stack.live_rules() == stack.recorded_rules() == {"one": [A], "two": [B]}

    stack.destroy()
    assert stack.live_rules() == {} and stack.recorded_rules() == {}


def test_delete_before_replace_clears_the_old_stream_before_creating_the_new_one(stack: Stack) -> None:
    stack.set_streams({"main": stream("old-stream", [A, B], delete_before_replace=True)})
    stack.up()
    stack.set_streams({"main": stream("new-stream", [A, B], delete_before_replace=True)})
    before = len(stack.emulator.admin.requests())

    stack.up()

    assert sent(stack)[before:] == [
        ("DeleteCDNTransferRule", "old-stream", A),
        ("DeleteCDNTransferRule", "old-stream", B),
        ("ClearCDNTransferRule", "old-stream", None),
        ("CreatCDNTransferRule", "new-stream", A),
        ("CreatCDNTransferRule", "new-stream", B),
    ]
    assert stack.live_rules() == stack.recorded_rules() == {"new-stream": sorted([A, B])}
    stack.destroy()
    assert stack.live_rules() == {}


def test_without_delete_before_replace_the_new_stream_is_created_first(stack: Stack) -> None:
    stack.set_streams({"main": stream("old-stream", [A])})
    stack.up()
    stack.set_streams({"main": stream("new-stream", [A])})
    before = len(stack.emulator.admin.requests())

    stack.up()

    assert sent(stack)[before:] == [
        ("CreatCDNTransferRule", "new-stream", A),
        ("DeleteCDNTransferRule", "old-stream", A),
        ("ClearCDNTransferRule", "old-stream", None),
    ]
    assert stack.live_rules() == stack.recorded_rules() == {"new-stream": [A]}
    stack.destroy()


def test_ignore_changes_on_cdn_urls_sends_nothing_when_they_change(stack: Stack) -> None:
    stack.set_streams({"main": stream("main", [A], ignore_changes=["cdn_urls"])})
    stack.up()
    stack.set_streams({"main": stream("main", [B, C], ignore_changes=["cdn_urls"])})
    before = len(stack.emulator.admin.requests())

    stack.preview("--expect-no-changes")
    stack.up()

    assert sent(stack)[before:] == []
    assert stack.live_rules() == stack.recorded_rules() == {"main": [A]}  # the state keeps the old URLs
    stack.destroy()  # and destroy tears down what the state records, not the ignored program value
    assert stack.live_rules() == {}
