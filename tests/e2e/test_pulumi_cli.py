"""`pulumi preview/up/destroy` through the real engine, language host and dynamic provider plugin."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.support.settings import config_of
from zego_provider import ZegoClient

from .conftest import APP_ID, SECRET, Stack

A = "rtmp://cdn-a.example.com/live/key-a?token=abc&x=1"
B = "rtmp://cdn-b.example.com/live/key-b"
C = "rtmp://cdn-c.example.com/live/key-c"


def test_preview_reports_bad_input_without_any_request(stack: Stack) -> None:
    stack.set_streams({"bad": {"stream_id": "has space", "cdn_urls": ["https://cdn.example.com/live/x"]}, "ok": [A]})
    result = stack.preview(check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "stream_id" in output and "cdn_urls[0]" in output
    assert "rtmp://" in output  # the reason says what a CDN URL must look like
    assert stack.emulator.admin.requests() == []


def test_up_update_destroy_send_only_what_changes(stack: Stack) -> None:
    stack.set_streams({"main": [A, B], "side": [C], "quiet": []})
    stack.up()
    assert stack.live_rules() == {"main": sorted([A, B]), "side": [C]}
    assert stack.recorded_rules() == {"main": sorted([A, B]), "side": [C], "quiet": []}

    stack.emulator.admin.reset()  # the service forgets everything: ZEGO has no list call, so
    stack.up("--refresh")  # refresh keeps the recorded state, sends nothing and changes nothing
    assert stack.emulator.admin.requests() == []

    stack.set_streams({"main": [B, A], "side": [C], "quiet": []})  # the same set in another order
    stack.preview("--expect-no-changes")

    stack.set_streams({"main": [A, C], "side": [C], "quiet": []})
    stack.up()
    sent = [(entry["action"], entry["params"].get("CDNUrl")) for entry in stack.emulator.admin.requests()]
    assert sent == [("DeleteCDNTransferRule", B), ("CreatCDNTransferRule", C)]

    stack.destroy()
    assert stack.live_rules() == {}
    clears = [e["params"]["StreamId"] for e in stack.emulator.admin.requests() if e["action"] == "ClearCDNTransferRule"]
    assert sorted(clears) == ["main", "quiet", "side"]
    assert stack.recorded_rules() == {}


def test_destroy_succeeds_after_the_service_lost_the_rules(stack: Stack) -> None:
    stack.set_streams({"main": [A], "side": [B, C]})
    stack.up()
    stack.emulator.admin.reset()
    stack.destroy()
    assert stack.live_rules() == {} and stack.recorded_rules() == {}


def test_a_permanent_failure_in_the_middle_of_up_leaves_no_orphan(stack: Stack) -> None:
    stack.set_streams({"one": [A, B, C]})
    stack.emulator.admin.inject(match={"action": "CreatCDNTransferRule"}, skip=1, count=1, code=5005)
    result = stack.up(check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "5005" in output and "RequestId" in output and "invalid request" in output
    assert stack.live_rules() == {}
    stack.destroy()


VERBOSE = ("-v=9", "--logtostderr")


def test_the_server_secret_from_stack_config_stays_encrypted(stack: Stack) -> None:
    stack.set_streams({"main": [A]})
    outputs = [stack.up(*VERBOSE), stack.preview(*VERBOSE)]
    exported = stack.pulumi.run("stack", "export", "--stack", "e2e").stdout
    state_files = [p.read_text() for p in (stack.pulumi.work_dir / "state").rglob("*.json")]
    config = stack.pulumi.run("config", "--stack", "e2e").stdout
    outputs.append(stack.destroy(*VERBOSE))
    for text in [exported, config, *state_files] + [r.stdout + r.stderr for r in outputs]:
        assert SECRET not in text
    assert "zego:serverSecret" in config and "[secret]" in config
    assert state_files


def test_show_secrets_reveals_the_secret_only_where_the_engine_keeps_stack_config(stack: Stack) -> None:
    # The engine records the whole stack config as inputs of the default `pulumi-python`
    # provider (encrypted, like any provider credential); --show-secrets decrypts it there.
    # Nothing of this provider's own (rule sets, serialized provider) may hold it.
    stack.set_streams({"main": [A]})
    stack.up()
    resources = stack.export("--show-secrets")["deployment"]["resources"]
    holding = [r["type"] for r in resources if SECRET in json.dumps(r)]
    assert holding == ["pulumi:providers:pulumi-python"]
    [default_provider] = [r for r in resources if r["type"] == "pulumi:providers:pulumi-python"]
    assert SECRET not in json.dumps({k: v for k, v in default_provider["inputs"].items() if k != "zego:serverSecret"})


def test_a_server_secret_from_the_environment_never_reaches_the_state(make_stack: Callable[..., Stack]) -> None:
    stack = make_stack(secret_from="env")
    stack.set_streams({"main": [A]})
    outputs = [stack.up(*VERBOSE)]
    assert stack.live_rules() == {"main": [A]}
    exported = stack.pulumi.run("stack", "export", "--show-secrets", "--stack", "e2e").stdout
    outputs.append(stack.destroy(*VERBOSE))
    for text in [exported] + [r.stdout + r.stderr for r in outputs]:
        assert SECRET not in text


def test_cdn_urls_given_as_secrets_stay_encrypted_in_the_state(stack: Stack) -> None:
    stack.set_streams({"private": [A], "public": [B]})
    stack.pulumi.run("config", "set", "secretStreams", '["private"]', "--stack", "e2e")
    stack.up()
    assert stack.live_rules() == {"private": [A], "public": [B]}
    resources = stack.export()["deployment"]["resources"]
    [private] = [json.dumps(r) for r in resources if r["urn"].endswith("::private")]
    [public] = [json.dumps(r) for r in resources if r["urn"].endswith("::public")]
    assert "key-a" not in private and "ciphertext" in private  # inputs and outputs both encrypted
    assert B in public
    stack.destroy()
    assert stack.live_rules() == {}


def test_declaring_rules_that_already_exist_adopts_them(stack: Stack) -> None:
    """`pulumi import` cannot work for dynamic resources (the engine's Read carries no serialized
    provider), so adopting relays made elsewhere means declaring them: Create of an existing rule
    succeeds, and from then on Pulumi owns them."""
    with ZegoClient(config_of(APP_ID, SECRET, endpoint=stack.emulator.url)) as zego:
        zego.create_cdn_transfer_rule("adopted", A)
    stack.set_streams({"adopted": [A, B]})
    stack.up()
    assert stack.live_rules() == {"adopted": sorted([A, B])}
    assert stack.recorded_rules() == {"adopted": sorted([A, B])}
    stack.destroy()
    assert stack.live_rules() == {}


def test_preview_names_a_missing_setting_without_a_traceback(stack: Stack) -> None:
    stack.pulumi.run("config", "rm", "zego:appId", "--stack", "e2e")
    stack.set_streams({"main": [A]})
    result = stack.preview(check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "zego:appId (or ZEGO_APP_ID)" in output and "is required" in output
    assert "Traceback" not in output
    assert stack.emulator.admin.requests() == []


def test_a_parallel_up_and_destroy_of_many_streams_stay_under_the_rate_limit(stack: Stack) -> None:
    """The engine runs resource operations in parallel; the emulator enforces ZEGO's 10 calls/s
    per AppId. The shared limiter must keep every call under it: no rate-limit answer at all."""
    streams = {f"s{index:02d}": [f"rtmp://cdn.example.com/live/s{index:02d}"] for index in range(25)}
    stack.set_streams(streams)
    stack.up("--parallel", "16")
    assert len(stack.live_rules()) == 25
    stack.destroy("--parallel", "16")
    assert stack.live_rules() == {}
    log = stack.emulator.admin.requests()
    assert len(log) == 75  # 25 x (Create, Delete, Clear): no retry was needed
    assert [entry for entry in log if entry["code"] != 0] == []
