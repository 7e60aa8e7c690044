"""The dev harness itself: the acceptance gate skips by location, the Pulumi CLI cache key
changes with the Go build inputs only, and `make test`'s closing line and exit status count
both of its pytest runs.

Each is a trap that passes silently when broken: a clone in a folder named "acceptance" once
ran every test as skipped with exit 0; a cache key that hashed the README would rebuild the
CLI (minutes of every core) for a changed comment; CI judges by the last line and the exit
status, so a failure in the run printed first must not be hidden by the one printed last.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ENSURE_PULUMI = REPO / "scripts" / "ensure-pulumi"
CLI_MODULE = REPO / "tools" / "pulumi-cli"


def _clone_of_the_test_tree(root: Path) -> Path:
    """A tiny tree shaped like ours: the real acceptance conftest, one passing test per folder."""
    (root / "pytest.ini").parent.mkdir(parents=True)
    (root / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    for folder in ("tests", "tests/unit", "tests/e2e", "tests/acceptance"):
        (root / folder).mkdir(exist_ok=True)
        (root / folder / "__init__.py").write_text("")
    shutil.copy(REPO / "tests" / "acceptance" / "conftest.py", root / "tests" / "acceptance" / "conftest.py")
    for folder in ("unit", "e2e", "acceptance"):
        (root / "tests" / folder / f"test_{folder}_runs.py").write_text(f"def test_{folder}_runs():\n    pass\n")
    return root


def _pytest(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ZEGO_", "PYTEST_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-rs", "tests"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_clone_in_a_folder_named_acceptance_skips_only_tests_acceptance(tmp_path: Path) -> None:
    clone = _clone_of_the_test_tree(tmp_path / "acceptance" / "zego-pulumi-provider")
    result = _pytest(clone)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].split(" in ")[0].strip("= ") == "2 passed, 1 skipped", result.stdout
    assert "SKIPPED [1] tests/acceptance/test_acceptance_runs.py" in result.stdout
    assert "live acceptance tests not run" in result.stdout


def _cache_key(module: Path) -> str:
    result = subprocess.run(
        ["bash", str(ENSURE_PULUMI), "--cache-key", str(module)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_the_cli_cache_key_ignores_the_readme_and_where_the_folder_sits(tmp_path: Path) -> None:
    moved = tmp_path / "somewhere" / "else"
    shutil.copytree(CLI_MODULE, moved)
    (moved / "README.md").write_text("a different README\n")
    (moved / "NOTES.txt").write_text("notes\n")
    assert _cache_key(moved) == _cache_key(CLI_MODULE)
    assert _cache_key(CLI_MODULE).startswith("pulumi-v")


def test_the_cli_cache_key_changes_with_a_go_source_or_go_sum(tmp_path: Path) -> None:
    original = _cache_key(CLI_MODULE)
    for changed in ("pulumi-language-python/main.go", "go.sum"):
        copy = tmp_path / changed.replace("/", "-")
        shutil.copytree(CLI_MODULE, copy)
        with (copy / changed).open("a") as file:
            file.write("\n// changed\n")
        assert _cache_key(copy) != original, changed


def _fake_venv(root: Path, summary: str, exit_code: int) -> Path:
    """A folder shaped like a virtualenv whose pytest prints `summary` and exits `exit_code`."""
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "python").symlink_to(sys.executable)
    pytest_script = root / "bin" / "pytest"
    pytest_script.write_text(f"#!/bin/sh\necho 'collected 9 items'\necho '{summary}'\nexit {exit_code}\n")
    pytest_script.chmod(0o755)
    return root


def _run_tests(tmp_path: Path, oldest: tuple[str, int], newest: tuple[str, int]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "bash",
            str(REPO / "scripts" / "run-tests"),
            str(_fake_venv(tmp_path / "oldest", *oldest)),
            str(_fake_venv(tmp_path / "newest", *newest)),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_make_tests_last_line_adds_up_both_runs(tmp_path: Path) -> None:
    result = _run_tests(
        tmp_path,
        ("===== 5 passed, 3 skipped in 2.00s =====", 0),
        ("===== 4 passed in 1.50s =====", 0),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "total: 9 passed, 0 failed, 3 skipped"
    assert result.stdout.index("5 passed, 3 skipped") < result.stdout.index("4 passed in")  # never interleaved


def test_a_failure_in_the_background_run_fails_make_test(tmp_path: Path) -> None:
    result = _run_tests(
        tmp_path,
        ("===== 5 passed in 2.00s =====", 0),
        ("===== 1 failed, 2 passed, 1 error in 1.50s =====", 1),
    )
    assert result.returncode != 0
    assert result.stdout.splitlines()[-1] == "total: 7 passed, 2 failed, 0 skipped"


def test_a_run_that_dies_without_a_summary_counts_as_a_failure(tmp_path: Path) -> None:
    result = _run_tests(tmp_path, ("Segmentation fault", 139), ("===== 4 passed in 1.50s =====", 0))
    assert result.returncode != 0
    assert "pytest exited 139 without a summary line" in result.stdout
    assert result.stdout.splitlines()[-1] == "total: 4 passed, 1 failed, 0 skipped"
