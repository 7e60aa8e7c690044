"""Every code block of the README, docs/ and examples/ that a user would run runs as written (against the emulator).

Blocks are found by scanning the Markdown files (`tests.support.docs`); each must be claimed by
a runner below or be marked `<!-- not run: REASON -->` (tests/unit/test_docs.py checks that),
so a new block without a test fails until someone decides how it is exercised.
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
from pathlib import Path

import pytest

from tests.support.docs import REPO, Block, blocks, snippet_docs
from tests.support.settings_env import without_settings
from zego_provider import ZegoClient
from zego_provider.emulator import ZegoEmulator

from .conftest import APP_ID, SECRET, LocalPulumi

README = "README.md"
INDEX = "docs/_index.md"
RESOURCE = "docs/resource.md"
CLI = "docs/cli.md"
DRY_RUNS = "docs/guides/dry-runs.md"
INTERRUPTED = "docs/guides/interrupted-runs.md"


def snippets() -> list[Block]:
    """Every block meant to run (the marked ones are not)."""
    return [block for doc in snippet_docs() for block in blocks(doc) if block.not_run is None]


def snippet(doc: str, first_line_start: str) -> Block:
    [found] = [s for s in snippets() if s.key[0] == doc and s.key[1].startswith(first_line_start)]
    return found


def bash(code: str, env: dict[str, str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", code], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def zego_env(emulator: ZegoEmulator) -> dict[str, str]:
    venv_bin = str(Path(sys.prefix) / "bin")
    return {
        **without_settings(os.environ),
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


def run_make_demo(tmp_path: Path, emulator: ZegoEmulator) -> None:
    """The contributors' block: `make demo` runs for real; `make test` is what CI's .ci/run calls
    (running it here would run this very test suite again)."""
    block = snippet(README, "make demo")
    commands = [line.split("#")[0].strip() for line in block.code.splitlines()]
    assert commands == ["make demo", "make test"]
    assert "make test" in (REPO / ".ci" / "run").read_text()
    demo = subprocess.run(["make", "demo"], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "Every stream is empty and was cleared" in demo.stdout


def program_project(tmp_path: Path, program: Block) -> Path:
    """A Pulumi project whose program is the block: a Python `__main__.py` or a whole `Pulumi.yaml`."""
    project = tmp_path / "project"
    project.mkdir()
    if program.lang == "python":
        (project / "__main__.py").write_text(program.code)
        (project / "Pulumi.yaml").write_text("name: docs-program\nruntime:\n  name: python\n")
    else:
        assert program.lang == "yaml"
        (project / "Pulumi.yaml").write_text(program.code)
    return project


def up_and_destroy(tmp_path: Path, emulator: ZegoEmulator, program: Block) -> None:
    """A program block with the README's credentials/up/destroy block, together, as a user would."""
    project = program_project(tmp_path, program)
    pulumi = project_pulumi(tmp_path, emulator, project)
    pulumi.run("stack", "init", "docs")
    result = bash(snippet(README, "pulumi config set zego:appId").code, pulumi.env, project)
    assert result.returncode == 0, result.stdout + result.stderr
    urls = sum(1 for line in program.code.splitlines() if "rtmp://" in line)
    assert actions(emulator) == ["CreatCDNTransferRule"] * urls + ["DeleteCDNTransferRule"] * urls + [
        "ClearCDNTransferRule"
    ]
    assert "Traceback" not in result.stdout + result.stderr
    pulumi.remove_stack("docs")


def run_readme_python_quick_start(tmp_path: Path, emulator: ZegoEmulator) -> None:
    up_and_destroy(tmp_path, emulator, snippet(README, "import pulumi"))


def run_readme_yaml_quick_start(tmp_path: Path, emulator: ZegoEmulator) -> None:
    """The YAML program finds the plugin on PATH (the virtualenv's console script), as the README says."""
    if shutil.which("pulumi-language-yaml") is None:
        reason = "pulumi-language-yaml is not on PATH (scripts/ensure-pulumi builds it beside the CLI)"
        if os.environ.get("ZEGO_REQUIRE_E2E") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    assert (Path(sys.prefix) / "bin" / "pulumi-resource-zego").exists()
    up_and_destroy(tmp_path, emulator, snippet(README, "name: relays"))


def run_index_python_example(tmp_path: Path, emulator: ZegoEmulator) -> None:
    """The overview shows the README's quick-start program, which run_readme_python_quick_start runs."""
    assert snippet(INDEX, "import pulumi").code == snippet(README, "import pulumi").code


def run_zego_cdn_calls(tmp_path: Path, emulator: ZegoEmulator) -> None:
    result = bash(snippet(CLI, "zego-cdn create").code, zego_env(emulator), tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("ok [RequestId") == 3
    assert actions(emulator) == ["CreatCDNTransferRule", "DeleteCDNTransferRule", "ClearCDNTransferRule"]


def run_python_client(tmp_path: Path, emulator: ZegoEmulator) -> None:
    code = snippet(RESOURCE, "from zego_provider import ZegoClient").code
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


def run_emulator_walk_through(tmp_path: Path, emulator: ZegoEmulator) -> None:
    """Runs the walk-through as written, on a free port instead of 8080 (which may be taken)."""
    code = snippet(DRY_RUNS, "export ZEGO_APP_ID=").code.replace("8080", str(free_port()))
    env = without_settings(zego_env(emulator))
    result = bash(code, env, tmp_path, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    streams_line = next(line for line in result.stdout.splitlines() if line.startswith("{"))
    assert json.loads(streams_line)["rtc01"][0]["status"] == "scheduled"
    assert "refused, as injected" in result.stdout
    assert "5004" in result.stderr and "RequestId" in result.stderr


def run_dry_run_of_a_program(tmp_path: Path, emulator: ZegoEmulator) -> None:
    """The dry run, in the project of the README's Python program, with its own emulator on a
    free port instead of 8090 (the fixture's emulator must see no request)."""
    project = program_project(tmp_path, snippet(README, "import pulumi"))
    pulumi = LocalPulumi(tmp_path / "work", project)
    code = snippet(DRY_RUNS, "export ZEGO_SERVER_SECRET=").code
    assert "8090" in code
    code = "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + code.replace("8090", str(free_port()))
    result = bash(code, pulumi.env, project)
    assert result.returncode == 0, result.stdout + result.stderr
    streams_line = next(line for line in result.stdout.splitlines() if line.startswith("{"))
    assert {stream: len(rules) for stream, rules in json.loads(streams_line).items()} == {"main-stage": 2}
    assert "Traceback" not in result.stdout + result.stderr
    assert emulator.admin.requests() == []


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


def run_interrupted_runs(tmp_path: Path, emulator: ZegoEmulator) -> None:
    """The recovery blocks of the interrupted-runs guide need a run killed part-way first:
    tests/e2e/test_interrupted_runs.py does that and runs each block as written; here, only
    that the guide shows exactly the blocks it runs."""
    from .test_interrupted_runs import RECOVERY, guide_blocks

    assert sorted(map(tuple, guide_blocks())) == sorted(map(tuple, RECOVERY.values()))


def run_teardown_of_an_export(tmp_path: Path, emulator: ZegoEmulator) -> None:
    """A stack of the README program is up; the export-and-teardown block empties ZEGO without Pulumi."""
    project = program_project(tmp_path, snippet(README, "import pulumi"))
    pulumi = project_pulumi(tmp_path, emulator, project)
    pulumi.run("stack", "init", "readme")
    pulumi.run("config", "set", "zego:appId", str(APP_ID))
    pulumi.run("up", "--yes", "--skip-preview")
    assert emulator.admin.streams() != {}
    result = bash(snippet(CLI, "pulumi stack export --file last-state.json").code, pulumi.env, project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "streams cleared: 1 of 1; URLs deleted: 2; failures: 0" in result.stdout
    assert emulator.admin.streams() == {}
    pulumi.remove_stack("readme")


def run_teardown_of_stdin(tmp_path: Path, emulator: ZegoEmulator) -> None:
    with ZegoClient(APP_ID, SECRET, endpoint=emulator.url) as zego:
        zego.create_cdn_transfer_rule("rtc01", "rtmp://cdn.example.com/live/rtc01")
        zego.create_cdn_transfer_rule("rtc02", "rtmp://cdn.example.com/live/rtc02?token=abc")
    emulator.admin.publish("rtc02")  # running: only the Delete of its URL stops it
    result = bash(snippet(CLI, "printf '%s\\n' rtc01").code, zego_env(emulator), tmp_path)
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
    (README, "make demo"): run_make_demo,
    (README, "import pulumi"): run_readme_python_quick_start,
    (README, "pulumi config set zego:appId"): run_readme_python_quick_start,
    (README, "name: relays"): run_readme_yaml_quick_start,
    (INDEX, "import pulumi"): run_index_python_example,
    (RESOURCE, "from zego_provider import ZegoClient"): run_python_client,
    (CLI, "zego-cdn create"): run_zego_cdn_calls,
    (CLI, "pulumi stack export --file last-state.json"): run_teardown_of_an_export,
    (CLI, "printf '%s\\n' rtc01"): run_teardown_of_stdin,
    (INTERRUPTED, "pulumi up --yes"): run_interrupted_runs,
    (INTERRUPTED, "pulumi destroy --yes"): run_interrupted_runs,
    (INTERRUPTED, "pulumi cancel --yes"): run_interrupted_runs,
    (DRY_RUNS, "export ZEGO_APP_ID="): run_emulator_walk_through,
    (DRY_RUNS, "export ZEGO_SERVER_SECRET="): run_dry_run_of_a_program,
    ("examples/stream_environment/README.md", "pulumi stack init"): run_stream_environment_readme,
    ("examples/yaml/README.md", "ZEGO_SERVER_SECRET="): run_yaml_example_readme,
}


def runner_for(item: Block) -> Callable[[Path, ZegoEmulator], None] | None:
    doc, first = item.key
    return next((run for (d, start), run in RUNNERS.items() if d == doc and first.startswith(start)), None)


@pytest.mark.parametrize(
    "run", sorted(set(RUNNERS.values()), key=lambda run: run.__name__), ids=lambda run: run.__name__
)
def test_snippet_runs_as_written(
    run: Callable[[Path, ZegoEmulator], None], tmp_path: Path, emulator: ZegoEmulator
) -> None:
    run(tmp_path, emulator)
