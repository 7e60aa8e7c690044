"""The YAML example run with the native plugin of an installed wheel: nothing of this checkout.

A user installs zego-pulumi-provider with pip and runs a YAML program: the engine finds the
plugin `pulumi-resource-zego` on PATH (the virtualenv's bin), with no `plugins:` path in
Pulumi.yaml. The virtualenv is fresh, holds the built wheel (never editable), and every
command runs outside the source tree with a PATH that holds only that virtualenv, the Pulumi
CLI and the system.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.wheel import fresh_venv
from zego_provider.emulator import ZegoEmulator

REPO = Path(__file__).resolve().parents[2]
TEST_APP, TEST_SECRET = 1000000001, "wheel-yaml-test-app-secret-made-up"
PRODUCTION_APP, PRODUCTION_SECRET = 1000000002, "wheel-yaml-production-secret-made-up"
CDN = "live-push.example-cdn.com"


pytestmark = pytest.mark.usefixtures("yaml_language_host")


@pytest.mark.timeout(900)  # a fresh virtualenv and several Pulumi runs on a busy machine
def test_the_yaml_example_runs_with_the_plugin_of_the_installed_wheel(tmp_path: Path) -> None:
    bin_dir = fresh_venv(tmp_path / "venv")
    assert (bin_dir / "zego-cdn").is_file() and (bin_dir / "pulumi-resource-zego").is_file()

    project = tmp_path / "two-apps"
    project.mkdir()
    text = (REPO / "examples" / "yaml" / "Pulumi.yaml").read_text()
    # what a user who installed the package does: no plugin path, the plugin comes from PATH
    without_path, removed = re.subn(r"^plugins:\n(?:[ \t]+.*\n)+\n*", "", text, flags=re.M)
    assert removed == 1 and "plugins" not in without_path
    (project / "Pulumi.yaml").write_text(without_path)

    cli = Path(shutil.which("pulumi") or "pulumi").resolve().parent
    (tmp_path / "state").mkdir()
    env = {
        "PATH": os.pathsep.join([str(bin_dir), str(cli), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(tmp_path),
        "PULUMI_HOME": str(tmp_path / "pulumi-home"),
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
        "PULUMI_CONFIG_PASSPHRASE": "wheel-yaml-made-up-passphrase",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
    }

    plugins = [Path(d) / "pulumi-resource-zego" for d in env["PATH"].split(os.pathsep)]
    assert [p for p in plugins if p.exists()] == [bin_dir / "pulumi-resource-zego"]  # the only one the engine can find

    def pulumi(*args: str) -> str:
        done = subprocess.run(
            ["pulumi", *args, "--non-interactive", "--color", "never"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout + done.stderr

    with (
        ZegoEmulator(app_id=TEST_APP, server_secret=TEST_SECRET) as test_app,
        ZegoEmulator(app_id=PRODUCTION_APP, server_secret=PRODUCTION_SECRET) as production_app,
    ):
        pulumi("stack", "init", "two-apps")
        for key, value in {
            "testAppId": str(TEST_APP),
            "testEndpoint": test_app.url,
            "productionAppId": str(PRODUCTION_APP),
            "productionEndpoint": production_app.url,
        }.items():
            pulumi("config", "set", key, value)
        pulumi("config", "set", "--secret", "testServerSecret", TEST_SECRET)
        pulumi("config", "set", "--secret", "productionServerSecret", PRODUCTION_SECRET)

        pulumi("up", "--yes", "--skip-preview")
        rehearsal = f"zegotest-{TEST_APP}-keynote"
        assert {s: len(r) for s, r in test_app.admin.streams().items()} == {rehearsal: 1}
        assert {s: len(r) for s, r in production_app.admin.streams().items() if r} == {"keynote": 2}

        pulumi("destroy", "--yes", "--skip-preview")
        assert test_app.admin.streams() == {} and production_app.admin.streams() == {}
        assert test_app.admin.requests()[-1]["action"] == "ClearCDNTransferRule"
        pulumi("stack", "rm", "--yes", "two-apps")
