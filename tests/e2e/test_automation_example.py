"""examples/automation copied out of this repository and run as its README says, against the emulator.

`python deploy.py up --pr 7` and `destroy --pr 7` drive the real CLI through Pulumi's
Automation API (an inline program in deploy.py's own process); the environment holds what a
CI secret store would, an unset optional secret as "".
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from zego_provider.emulator import ZegoEmulator

REPO = Path(__file__).resolve().parents[2]
APP_ID = 1987650001
SECRET = "automation-e2e-made-up-secret-77e1"
PASSPHRASE = "automation-e2e-made-up-passphrase"
MAIN, BACKUP = "live-push.example-cdn.com", "backup-push.example-cdn.net"
STREAMS = ("pr-7-main-stage", "pr-7-side-stage")


@pytest.mark.timeout(600)  # four Pulumi runs on a busy machine
def test_deploy_py_brings_a_pull_request_environment_up_updates_it_and_removes_it(tmp_path: Path) -> None:
    tool = tmp_path / "deploy-tool"
    shutil.copytree(REPO / "examples" / "automation", tool, ignore=shutil.ignore_patterns("__pycache__"))
    state = tmp_path / "state"
    state.mkdir()
    (tmp_path / "home").mkdir()
    pulumi_bin = Path(shutil.which("pulumi") or "pulumi").parent
    with ZegoEmulator(app_id=APP_ID, server_secret=SECRET) as emulator:
        env = {
            "PATH": f"{pulumi_bin}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
            "HOME": str(tmp_path / "home"),
            "ZEGO_APP_ID": str(APP_ID),
            "ZEGO_SERVER_SECRET": SECRET,
            "ZEGO_API_ENDPOINT": emulator.url,
            "ZEGO_RATE_LIMITER": "",  # an unset optional secret
            "PULUMI_BACKEND_URL": f"file://{state}",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        }

        def deploy(*args: str) -> str:
            done = subprocess.run(
                [sys.executable, "deploy.py", *args], cwd=tool, env=env, capture_output=True, text=True, timeout=300
            )
            assert done.returncode == 0, done.stdout + done.stderr
            assert SECRET not in done.stdout + done.stderr
            return done.stdout

        def live() -> dict[str, list[str]]:
            return {s: sorted(r["cdn_url"] for r in rules) for s, rules in emulator.admin.streams().items() if rules}

        out = deploy("up", "--pr", "7")
        assert "pr-7: succeeded" in out
        assert live() == {stream: [f"rtmp://{MAIN}/live/{stream}"] for stream in STREAMS}
        [checkpoint] = state.rglob("stacks/stream-environment/pr-7.json")
        assert SECRET not in checkpoint.read_text()

        before = len(emulator.admin.requests())
        deploy("up", "--pr", "7", "--backup-cdn-host", BACKUP)
        assert live() == {
            stream: sorted([f"rtmp://{MAIN}/live/{stream}", f"rtmp://{BACKUP}/live/{stream}"]) for stream in STREAMS
        }
        assert sorted((e["action"], e["params"]["StreamId"]) for e in emulator.admin.requests()[before:]) == [
            ("CreatCDNTransferRule", stream) for stream in STREAMS
        ]

        before = len(emulator.admin.requests())
        assert "pr-7: destroyed and removed" in deploy("destroy", "--pr", "7")
        assert live() == {}
        sent = [(e["action"], e["params"]["StreamId"]) for e in emulator.admin.requests()[before:]]
        for stream in STREAMS:
            assert [action for action, s in sent if s == stream][-1] == "ClearCDNTransferRule"
        assert list(state.rglob("stacks/stream-environment/*.json")) == []
