"""Every shell and Python snippet of the README and examples/ runs as written (against the emulator).

Snippets are found by scanning the Markdown files; each must be claimed by a runner below,
so a new snippet without a test fails here until someone decides how it is exercised.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from zego_provider import ZegoClient
from zego_provider.emulator import ZegoEmulator

from .conftest import APP_ID, SECRET, LocalPulumi

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "examples").rglob("*.md"))]
FENCE = re.compile(r"^```(sh|python)\n(.*?)^```", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Snippet:
    doc: Path
    lang: str
    code: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.doc.relative_to(REPO).as_posix(), self.code.splitlines()[0])


def snippets() -> list[Snippet]:
    return [Snippet(doc, lang, code) for doc in DOCS for lang, code in FENCE.findall(doc.read_text())]


def snippet(doc: str, first_line_start: str) -> Snippet:
    [found] = [s for s in snippets() if s.key[0] == doc and s.key[1].startswith(first_line_start)]
    return found


def bash(code: str, env: dict[str, str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", code], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def zego_env(emulator: ZegoEmulator) -> dict[str, str]:
    venv_bin = str(Path(sys.prefix) / "bin")
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("ZEGO_")},
        "PATH": f"{venv_bin}{os.pathsep}{os.environ['PATH']}",
        "ZEGO_APP_ID": str(APP_ID),
        "ZEGO_SERVER_SECRET": SECRET,
        "ZEGO_API_ENDPOINT": emulator.url,
    }


def actions(emulator: ZegoEmulator) -> list[str]:
    return [entry["action"] for entry in emulator.admin.requests()]


def project_pulumi(tmp_path: Path, emulator: ZegoEmulator, project: Path) -> LocalPulumi:
    env = zego_env(emulator)
    return LocalPulumi(tmp_path / "work", project, extra_env={k: env[k] for k in env if k.startswith("ZEGO_")})


def run_readme_quick_start(tmp_path: Path, emulator: ZegoEmulator) -> None:
    """The make block: `make demo` runs for real; `make test` is what CI's .ci/run calls (running
    it here would run this very test suite again)."""
    block = snippet("README.md", "make demo")
    commands = [line.split("#")[0].strip() for line in block.code.splitlines()]
    assert commands == ["make demo", "make test"]
    assert "make test" in (REPO / ".ci" / "run").read_text()
    demo = subprocess.run(["make", "demo"], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "Every stream is empty and was cleared" in demo.stdout


def run_readme_program(tmp_path: Path, emulator: ZegoEmulator) -> None:
    """The program snippet and the config/up/destroy snippet, together, as a user would."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "__main__.py").write_text(snippet("README.md", "import pulumi").code)
    (project / "Pulumi.yaml").write_text("name: readme-program\nruntime:\n  name: python\n")
    pulumi = project_pulumi(tmp_path, emulator, project)
    pulumi.run("stack", "init", "readme")
    result = bash(snippet("README.md", "pulumi config set zego:appId").code, pulumi.env, project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert actions(emulator) == ["CreatCDNTransferRule"] * 2 + ["DeleteCDNTransferRule"] * 2 + ["ClearCDNTransferRule"]
    pulumi.remove_stack("readme")


def run_readme_zego_cdn(tmp_path: Path, emulator: ZegoEmulator) -> None:
    result = bash(snippet("README.md", "zego-cdn create").code, zego_env(emulator), tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("ok [RequestId") == 3
    assert actions(emulator) == ["CreatCDNTransferRule", "DeleteCDNTransferRule", "ClearCDNTransferRule"]


def run_readme_python_client(tmp_path: Path, emulator: ZegoEmulator) -> None:
    code = snippet("README.md", "from zego_provider import ZegoClient").code
    result = subprocess.run(
        [sys.executable, "-c", code], env=zego_env(emulator), cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"0 \S+\n", result.stdout)
    assert actions(emulator) == ["CreatCDNTransferRule", "DeleteCDNTransferRule", "ClearCDNTransferRule"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_readme_emulator_session(tmp_path: Path, emulator: ZegoEmulator) -> None:
    """Runs the session as written, on a free port instead of 8080 (which may be taken)."""
    code = snippet("README.md", "export ZEGO_APP_ID=").code.replace("8080", str(free_port()))
    env = {k: v for k, v in zego_env(emulator).items() if not k.startswith("ZEGO_")}
    result = bash(code, env, tmp_path, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    streams_line = next(line for line in result.stdout.splitlines() if line.startswith("{"))
    assert json.loads(streams_line)["rtc01"][0]["status"] == "scheduled"
    assert "refused, as injected" in result.stdout
    assert "5004" in result.stderr and "RequestId" in result.stderr


def run_stream_environment_readme(tmp_path: Path, emulator: ZegoEmulator) -> None:
    project = tmp_path / "stream_environment"
    shutil.copytree(REPO / "examples" / "stream_environment", project)
    pulumi = project_pulumi(tmp_path, emulator, project)
    code = snippet("examples/stream_environment/README.md", "pulumi stack init").code
    result = bash(code, pulumi.env, project)
    assert result.returncode == 0, result.stdout + result.stderr
    created = [e["params"]["CDNUrl"] for e in emulator.admin.requests(action="CreatCDNTransferRule")]
    assert "rtmp://backup-push.example-cdn.net/live/main-stage" in created
    cleared = {e["params"]["StreamId"] for e in emulator.admin.requests(action="ClearCDNTransferRule")}
    assert cleared == {"main-stage", "side-stage", "green-room"}
    assert emulator.admin.streams() == {}


def run_readme_interrupted_runs(tmp_path: Path, emulator: ZegoEmulator) -> None:
    """The recovery blocks of "When a run is interrupted" need a run killed part-way first:
    tests/e2e/test_interrupted_runs.py does that and runs each block as written; here, only
    that the README shows exactly the blocks it runs."""
    from .test_interrupted_runs import RECOVERY, readme_blocks

    assert sorted(map(tuple, readme_blocks())) == sorted(map(tuple, RECOVERY.values()))


def run_readme_teardown_export(tmp_path: Path, emulator: ZegoEmulator) -> None:
    """A stack of the README program is up; the export-and-teardown block empties ZEGO without Pulumi."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "__main__.py").write_text(snippet("README.md", "import pulumi").code)
    (project / "Pulumi.yaml").write_text("name: readme-teardown\nruntime:\n  name: python\n")
    pulumi = project_pulumi(tmp_path, emulator, project)
    pulumi.run("stack", "init", "readme")
    pulumi.run("config", "set", "zego:appId", str(APP_ID))
    pulumi.run("up", "--yes", "--skip-preview")
    assert emulator.admin.streams() != {}
    result = bash(snippet("README.md", "pulumi stack export --file last-state.json").code, pulumi.env, project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "streams cleared: 1 of 1; URLs deleted: 2; failures: 0" in result.stdout
    assert emulator.admin.streams() == {}
    pulumi.remove_stack("readme")


def run_readme_teardown_stdin(tmp_path: Path, emulator: ZegoEmulator) -> None:
    with ZegoClient(APP_ID, SECRET, endpoint=emulator.url) as zego:
        zego.create_cdn_transfer_rule("rtc01", "rtmp://cdn.example.com/live/rtc01")
        zego.create_cdn_transfer_rule("rtc02", "rtmp://cdn.example.com/live/rtc02?token=abc")
    emulator.admin.publish("rtc02")  # running: only the Delete of its URL stops it
    result = bash(snippet("README.md", "printf '%s\\n' rtc01").code, zego_env(emulator), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "streams cleared: 2 of 2; URLs deleted: 1; failures: 0" in result.stdout
    assert emulator.admin.streams() == {}


def run_yaml_example_readme(tmp_path: Path, emulator: ZegoEmulator) -> None:
    """The two-app YAML session as written, with its own two emulator processes on free ports
    (the shared emulator fixture stays unused: no call may reach it)."""
    project = tmp_path / "examples" / "yaml"
    shutil.copytree(REPO / "examples" / "yaml", project)
    (tmp_path / "plugins").symlink_to(REPO / "plugins")  # what ../../plugins/zego names
    code = snippet("examples/yaml/README.md", "ZEGO_SERVER_SECRET=").code
    for port in ("8081", "8082"):
        assert port in code
        code = code.replace(port, str(free_port()))
    pulumi = LocalPulumi(tmp_path / "work", project, extra_env={"ZEGO_PROVIDER_PYTHON": sys.executable})
    # A failed step must not leave the two emulators running.
    result = bash("trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + code, pulumi.env, project)
    assert result.returncode == 0, result.stdout + result.stderr
    after_up, *after_destroy = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert {stream: len(rules) for stream, rules in json.loads(after_up).items()} == {"keynote": 2}
    assert after_destroy == ["{}", "{}"]  # both apps cleared
    assert "Traceback" not in result.stdout + result.stderr
    assert emulator.admin.requests() == []


RUNNERS: dict[tuple[str, str], Callable[[Path, ZegoEmulator], None]] = {
    ("README.md", "pulumi up --yes"): run_readme_interrupted_runs,
    ("README.md", "pulumi destroy --yes"): run_readme_interrupted_runs,
    ("README.md", "pulumi cancel --yes"): run_readme_interrupted_runs,
    ("README.md", "pulumi stack export --file last-state.json"): run_readme_teardown_export,
    ("README.md", "printf '%s\\n' rtc01"): run_readme_teardown_stdin,
    ("README.md", "make demo"): run_readme_quick_start,
    ("README.md", "import pulumi"): run_readme_program,
    ("README.md", "pulumi config set zego:appId"): run_readme_program,
    ("README.md", "zego-cdn create"): run_readme_zego_cdn,
    ("README.md", "from zego_provider import ZegoClient"): run_readme_python_client,
    ("README.md", "export ZEGO_APP_ID="): run_readme_emulator_session,
    ("examples/stream_environment/README.md", "pulumi stack init"): run_stream_environment_readme,
    ("examples/yaml/README.md", "ZEGO_SERVER_SECRET="): run_yaml_example_readme,
}


def runner_for(item: Snippet) -> Callable[[Path, ZegoEmulator], None] | None:
    doc, first = item.key
    return next((run for (d, start), run in RUNNERS.items() if d == doc and first.startswith(start)), None)


def test_every_snippet_has_a_runner() -> None:
    unclaimed = [item.key for item in snippets() if runner_for(item) is None]
    assert unclaimed == []
    assert len(snippets()) >= len(RUNNERS)


@pytest.mark.parametrize(
    "run", sorted(set(RUNNERS.values()), key=lambda run: run.__name__), ids=lambda run: run.__name__
)
def test_snippet_runs_as_written(
    run: Callable[[Path, ZegoEmulator], None], tmp_path: Path, emulator: ZegoEmulator
) -> None:
    run(tmp_path, emulator)
