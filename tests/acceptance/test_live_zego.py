"""Against the real ZEGO test environment: the client's calls and a small stack's whole life."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.support.pulumi_local import LocalPulumi
from zego_provider import ZegoClient

pytestmark = pytest.mark.acceptance

REPO = Path(__file__).resolve().parents[2]
URL_A = "rtmp://acceptance-a.example.com/live/zego-acc"
URL_B = "rtmp://acceptance-b.example.com/live/zego-acc?token=acc"


def test_create_delete_clear_succeed(live_client: ZegoClient, live_stream: str) -> None:
    assert live_client.create_cdn_transfer_rule(live_stream, URL_A).ok
    assert live_client.delete_cdn_transfer_rule(live_stream, URL_A).ok
    assert live_client.clear_cdn_transfer_rule(live_stream).ok


def test_teardown_of_nothing_succeeds(live_client: ZegoClient, live_stream: str) -> None:
    """The assumptions docs/assumptions.md lists: clearing an empty stream and deleting a URL that has
    no rule answer 0. If ZEGO answers a code here, put it in lifecycle.ABSENT_RULE_CODES."""
    assert live_client.clear_cdn_transfer_rule(live_stream).ok
    assert live_client.clear_cdn_transfer_rule(live_stream).ok
    assert live_client.delete_cdn_transfer_rule(live_stream, URL_B).ok


def test_a_small_stack_goes_up_updates_and_is_destroyed_twice(tmp_path: Path, live_stream: str) -> None:
    if shutil.which("pulumi") is None:
        pytest.fail("the Pulumi CLI is not on PATH (run scripts/ensure-pulumi)")
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(REPO / "tests" / "e2e" / "program" / "__main__.py", project / "__main__.py")
    (project / "Pulumi.yaml").write_text("name: zego-acceptance\nruntime:\n  name: python\n")
    pulumi = LocalPulumi(tmp_path / "work", project)
    config = {"zego:appId": os.environ["ZEGO_APP_ID"], "zego:isTest": "true"}
    if endpoint := os.environ.get("ZEGO_API_ENDPOINT"):
        config["zego:endpoint"] = endpoint
    pulumi.init_stack("acc", config=config, secrets={"zego:serverSecret": os.environ["ZEGO_SERVER_SECRET"]})
    try:
        for urls in ([URL_A], [URL_A, URL_B], [URL_B]):
            streams = {"live": {"stream_id": live_stream, "cdn_urls": urls}}
            pulumi.run("config", "set", "streams", json.dumps(streams), "--stack", "acc")
            pulumi.run("up", "--yes", "--skip-preview", "--stack", "acc")
        pulumi.run("destroy", "--yes", "--skip-preview", "--stack", "acc")
        pulumi.run("destroy", "--yes", "--skip-preview", "--stack", "acc")
    finally:
        pulumi.run("destroy", "--yes", "--skip-preview", "--stack", "acc", check=False)
        pulumi.remove_stack("acc")
