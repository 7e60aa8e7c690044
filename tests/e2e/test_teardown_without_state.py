"""Recovery without a usable state: a real stack's export, the state then lost, `zego-cdn teardown` empties ZEGO."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from devkit.settings_env import without_settings

from .conftest import APP_ID, SECRET, STACK, Stack

A = "rtmp://cdn-a.example.com/live/key-a?token=abc"
B = "rtmp://cdn-b.example.com/live/key-b"
C = "rtmp://cdn-c.example.com/live/key-c"


def zego_cdn(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **without_settings(os.environ),
        "ZEGO_APP_ID": str(APP_ID),
        "ZEGO_SERVER_SECRET": SECRET,
        "ZEGO_API_ENDPOINT": stack.emulator.url,
    }
    result = subprocess.run(
        [str(Path(sys.prefix) / "bin" / "zego-cdn"), *args],
        cwd=stack.pulumi.project_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert SECRET not in result.stdout + result.stderr
    return result


def test_teardown_of_a_stack_export_empties_every_stream_after_the_state_is_lost(stack: Stack) -> None:
    stack.set_streams({"main": [A, B], "side": [C], "quiet": []})
    stack.pulumi.run("config", "set", "secretStreams", '["side"]', "--stack", STACK)
    stack.up()
    stack.emulator.admin.publish("main")  # running relays: only a Delete per URL stops them
    stack.emulator.admin.publish("side")
    stack.pulumi.run("stack", "export", "--file", "last-state.json", "--stack", STACK)
    stack.pulumi.run("stack", "export", "--show-secrets", "--file", "last-state-plain.json", "--stack", STACK)
    stack.pulumi.run("stack", "rm", "--yes", "--force", STACK)  # the state is gone
    assert stack.live_rules() == {"main": sorted([A, B]), "side": [C]}
    before = len(stack.emulator.admin.requests())

    encrypted = zego_cdn(stack, "teardown", "--stack-export", "last-state.json")

    assert encrypted.returncode == 1  # side's URLs are ciphertext in this export: cleared only, and said so
    assert "streams cleared: 3 of 3; URLs deleted: 2; failures: 0" in encrypted.stdout
    assert "CLEARED ONLY" in encrypted.stdout and "side" in encrypted.stdout
    assert stack.live_rules() == {"side": [C]}  # the running relay of side is still there

    plain = zego_cdn(stack, "teardown", "--stack-export", "last-state-plain.json")

    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "streams cleared: 3 of 3; URLs deleted: 3; failures: 0" in plain.stdout
    assert stack.live_rules() == {}
    sent = stack.emulator.admin.requests()[before:]
    assert [entry for entry in sent if entry["code"] != 0] == []
    assert sorted(e["params"]["StreamId"] for e in sent if e["action"] == "ClearCDNTransferRule") == [
        "main",
        "main",
        "quiet",
        "quiet",
        "side",
        "side",
    ]
