"""The Python SDK (`pulumi_zego`) as a user gets it: a wheel in a fresh virtualenv, typed."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.python_sdk import REPO, python_sdk_venv

EXAMPLE = REPO / "examples" / "python-native" / "__main__.py"


def run(venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(venv / "bin" / "python"), *args], capture_output=True, text=True, timeout=600)


def test_the_wheel_installs_with_its_dependencies_and_imports() -> None:
    venv = python_sdk_venv()
    shown = run(venv, "-m", "pip", "show", "--files", "pulumi_zego")
    assert shown.returncode == 0, shown.stderr
    assert "pulumi_zego/py.typed" in shown.stdout and "pulumi_zego/pulumi-plugin.json" in shown.stdout
    imported = run(
        venv,
        "-c",
        "import pulumi_zego as zego, pulumi; print(zego.Provider.__name__, zego.CdnTransferRuleSet.__name__)",
    )
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.split() == ["Provider", "CdnTransferRuleSet"]


def test_the_two_app_example_type_checks_against_the_sdk(tmp_path: Path) -> None:
    venv = python_sdk_venv()
    checked = run(venv, "-m", "mypy", "--strict", "--cache-dir", str(venv / ".mypy_cache"), str(EXAMPLE))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Success: no issues found in 1 source file" in checked.stdout


def test_a_wrongly_typed_argument_is_caught(tmp_path: Path) -> None:
    program = tmp_path / "__main__.py"
    program.write_text(
        "import pulumi_zego as zego\n"
        "zego.CdnTransferRuleSet('lobby', stream_id='lobby', cdn_urls=42)\n"
        "zego.Provider('app', app_id='not-a-number')\n"
    )
    venv = python_sdk_venv()
    checked = run(venv, "-m", "mypy", "--strict", "--cache-dir", str(venv / ".mypy_cache"), str(program))
    assert checked.returncode == 1, checked.stdout + checked.stderr
    errors = [line for line in checked.stdout.splitlines() if ": error:" in line]
    assert [line.split(":")[1] for line in errors] == ["2", "3"], checked.stdout  # one per bad call
