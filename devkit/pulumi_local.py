"""The Pulumi CLI on a local file backend, for `make demo`, the e2e and acceptance tests and the benchmarks.

Everything Pulumi writes (state, its home folder, the stack's config file) stays in one work
folder, so nothing leaks into the user's ~/.pulumi and cleaning up is one rmtree.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from devkit.settings_env import without_settings

REPO = Path(__file__).resolve().parents[1]
DEMO_PASSPHRASE = "demo-only-passphrase"  # protects the throwaway local state of the demo and tests


class PulumiError(RuntimeError):
    def __init__(self, args: Sequence[str], result: subprocess.CompletedProcess[str]) -> None:
        self.result = result
        command = " ".join(args)
        super().__init__(
            f"pulumi {command} exited {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        )


class LocalPulumi:
    """One Pulumi project copy with a file:// backend inside `work_dir`."""

    def __init__(self, work_dir: Path, project_dir: Path = REPO, extra_env: Mapping[str, str] | None = None) -> None:
        if shutil.which("pulumi") is None:
            raise RuntimeError("no pulumi on PATH: run scripts/ensure-pulumi and put its output first on PATH")
        self.work_dir = work_dir
        self.project_dir = project_dir
        (work_dir / "state").mkdir(parents=True, exist_ok=True)
        (work_dir / "home").mkdir(parents=True, exist_ok=True)
        self.env = {
            **{key: value for key, value in without_settings(os.environ).items() if not key.startswith("PULUMI_")},
            "PULUMI_BACKEND_URL": f"file://{work_dir / 'state'}",
            "PULUMI_HOME": str(work_dir / "home"),
            "PULUMI_CONFIG_PASSPHRASE": DEMO_PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
            "PULUMI_SKIP_CONFIRMATIONS": "true",
            "NO_COLOR": "1",
            # The language host and the dynamic provider run the python3 first on PATH: this one.
            "PATH": f"{Path(sys.prefix) / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "VIRTUAL_ENV": sys.prefix,
            **(extra_env or {}),
        }

    def run(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        command = ["pulumi", *args, "--non-interactive", "--color", "never"]
        result = subprocess.run(
            command, cwd=self.project_dir, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise PulumiError(args, result)
        return result

    def init_stack(self, stack: str, config: Mapping[str, str], secrets: Mapping[str, str]) -> None:
        self.run("stack", "init", stack)
        for key, value in config.items():
            self.run("config", "set", key, value, "--stack", stack)
        for key, value in secrets.items():
            self.run("config", "set", "--secret", key, value, "--stack", stack)

    def remove_stack(self, stack: str) -> None:
        self.run("stack", "rm", stack, "--yes", "--force", check=False)


@contextmanager
def emulator_process(app_id: int, server_secret: str, *extra: str) -> Iterator[str]:
    """Start `python -m zego_provider.emulator` on a free loopback port; yield its URL."""
    env = {**os.environ, "ZEGO_SERVER_SECRET": server_secret}
    process = subprocess.Popen(
        [sys.executable, "-m", "zego_provider.emulator", "--app-id", str(app_id), "--port", "0", *extra],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"listening on (http://\S+)", line)
        if not match:
            raise RuntimeError(f"emulator did not start: {line!r}")
        yield match.group(1)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextmanager
def scratch_dir(prefix: str, keep: bool = False) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        if not keep:
            shutil.rmtree(path, ignore_errors=True)
