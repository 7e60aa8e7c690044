"""Refactors and shared streams through the real engine: renames, component moves, aliases, two
rule sets on one stream, rotated tokens. After each `up`, ZEGO (the emulator) must hold every
relay the new state lists, and nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import STACK, Stack

A_OLD = "rtmp://cdn-a.example.com/live/key-a?token=old"
A_NEW = "rtmp://cdn-a.example.com/live/key-a?token=new"
B = "rtmp://cdn-b.example.com/live/key-b"
C = "rtmp://cdn-c.example.com/live/key-c"


def rule_set(stream_id: str, *urls: str, **options: Any) -> dict[str, Any]:
    return {"stream_id": stream_id, "cdn_urls": list(urls), **options}


def sent(stack: Stack) -> list[tuple[str, str | None]]:
    return [(entry["action"], entry["params"].get("CDNUrl")) for entry in stack.emulator.admin.requests()]


def up_with_preview(stack: Stack) -> None:
    stack.pulumi.run("up", "--yes", "--stack", STACK)


def assert_zego_holds_what_the_state_lists(stack: Stack) -> None:
    recorded = {stream: urls for stream, urls in stack.recorded_rules().items() if urls}
    assert stack.live_rules() == recorded


@pytest.mark.parametrize("with_preview", [False, True], ids=["skip-preview", "with-preview"])
def test_a_rename_without_alias_keeps_every_relay(stack: Stack, with_preview: bool) -> None:
    stack.set_streams({"old-name": rule_set("live", A_OLD, B)})
    stack.up()
    before = len(stack.emulator.admin.requests())
    stack.set_streams({"new-name": rule_set("live", A_OLD, B)})
    up_with_preview(stack) if with_preview else stack.up()
    assert stack.live_rules() == {"live": sorted([A_OLD, B])}
    assert stack.recorded_rules() == {"live": sorted([A_OLD, B])}
    # The new name's Creates (accepted: the relays exist); the old name's delete sends nothing.
    assert sent(stack)[before:] == [("CreatCDNTransferRule", A_OLD), ("CreatCDNTransferRule", B)]
    stack.destroy()  # no program runs: everything is torn down
    assert stack.live_rules() == {}


def test_a_rename_that_also_changes_urls_ends_with_exactly_the_new_urls(stack: Stack) -> None:
    stack.set_streams({"old-name": rule_set("live", A_OLD, B)})
    stack.up()
    stack.set_streams({"new-name": rule_set("live", A_NEW, C)})
    stack.up()
    assert stack.live_rules() == {"live": sorted([A_NEW, C])}
    assert_zego_holds_what_the_state_lists(stack)
    stack.destroy()
    assert stack.live_rules() == {}


def test_moving_into_a_component_and_out_again_keeps_every_relay(stack: Stack) -> None:
    stack.set_streams({"main": rule_set("live", A_OLD, B)})
    stack.up()
    stack.set_streams({"main": rule_set("live", A_OLD, B, component="environment")})
    stack.up()
    assert stack.live_rules() == {"live": sorted([A_OLD, B])}
    assert_zego_holds_what_the_state_lists(stack)
    stack.set_streams({"main": rule_set("live", A_OLD, B)})
    up_with_preview(stack)
    assert stack.live_rules() == {"live": sorted([A_OLD, B])}
    assert_zego_holds_what_the_state_lists(stack)
    stack.destroy("--run-program")  # the engine checks nothing in a destroy, even with the program run
    assert stack.live_rules() == {}


def test_a_rename_with_an_alias_sends_nothing(stack: Stack) -> None:
    stack.set_streams({"old-name": rule_set("live", A_OLD, B)})
    stack.up()
    before = len(stack.emulator.admin.requests())
    stack.set_streams({"new-name": rule_set("live", A_OLD, B, component="env", aliases=[{"name": "old-name"}])})
    stack.up()
    assert sent(stack)[before:] == []
    assert stack.live_rules() == {"live": sorted([A_OLD, B])}
    assert_zego_holds_what_the_state_lists(stack)


def test_two_rule_sets_on_one_stream_are_refused_at_preview(stack: Stack) -> None:
    stack.set_streams({"stage": rule_set("shared", A_OLD), "backstage": rule_set("shared", B)})
    result = stack.preview(check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "stream 'shared' is declared by two CdnTransferRuleSets, 'stage' and 'backstage'" in output
    assert "Traceback" not in output
    assert stack.emulator.admin.requests() == []


def test_a_stream_id_output_claiming_a_declared_stream_fails_the_up_before_its_relays(stack: Stack) -> None:
    stack.set_streams({"stage": rule_set("shared", A_OLD), "mirror": {"stream_id_of": "stage", "cdn_urls": [B]}})
    result = stack.up(check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "stream 'shared' is declared by two CdnTransferRuleSets, 'stage' and 'mirror'" in output
    assert "Traceback" not in output
    assert stack.live_rules() == {"shared": [A_OLD]}  # the mirror's relay was never sent
    stack.destroy()


def test_a_rotated_token_is_a_delete_then_a_create_of_the_new_url(stack: Stack) -> None:
    stack.set_streams({"main": rule_set("live", A_OLD, B)})
    stack.up()
    before = len(stack.emulator.admin.requests())
    stack.set_streams({"main": rule_set("live", A_NEW, B)})
    stack.up()
    assert sent(stack)[before:] == [("DeleteCDNTransferRule", A_OLD), ("CreatCDNTransferRule", A_NEW)]
    assert stack.live_rules() == {"live": sorted([A_NEW, B])}
    assert stack.recorded_rules() == {"live": sorted([A_NEW, B])}


def test_urls_that_differ_only_in_the_query_are_refused_at_preview(stack: Stack) -> None:
    stack.set_streams({"main": rule_set("live", A_OLD, B, A_NEW)})
    result = stack.preview(check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "cdn_urls[0] and cdn_urls[2] are the same relay" in output
    assert stack.emulator.admin.requests() == []


def test_a_forced_replacement_on_the_same_stream_keeps_every_relay(stack: Stack) -> None:
    """`pulumi up --replace URN`: the new rule set is created, then the old one deleted; the new
    one declares the same stream, so that delete sends nothing."""
    stack.set_streams({"main": rule_set("live", A_OLD, B)})
    stack.up()
    [urn] = [r["urn"] for r in stack.export()["deployment"]["resources"] if r["urn"].endswith("::main")]
    before = len(stack.emulator.admin.requests())
    stack.up("--replace", urn)
    assert sent(stack)[before:] == [("CreatCDNTransferRule", A_OLD), ("CreatCDNTransferRule", B)]
    assert stack.live_rules() == {"live": sorted([A_OLD, B])}
    assert_zego_holds_what_the_state_lists(stack)


def test_a_failed_token_rotation_leaves_the_old_url_relayed_as_the_state_says(stack: Stack) -> None:
    stack.set_streams({"main": rule_set("live", A_OLD, B)})
    stack.up()
    stack.emulator.admin.inject(match={"action": "CreatCDNTransferRule"}, count=1, code=5004)
    stack.set_streams({"main": rule_set("live", A_NEW, B)})
    result = stack.up(check=False)
    assert result.returncode != 0 and "5004" in result.stdout + result.stderr
    assert stack.live_rules() == {"live": sorted([A_OLD, B])}
    assert stack.recorded_rules() == {"live": sorted([A_OLD, B])}
