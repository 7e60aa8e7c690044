"""The committed SDKs are exactly what `make sdks` generates from today's schema."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.sdk.conftest import require_tool

REPO = Path(__file__).resolve().parents[2]
LANGUAGES = ("go", "nodejs", "python")


def committed_files(language: str) -> set[str]:
    """The SDK's files as a clone has them (tracked or new, minus what .gitignore leaves out, e.g. builds)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", f"sdk/{language}"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    prefix = f"sdk/{language}/"
    return {path.removeprefix(prefix) for path in listed if (REPO / path).is_file()}


def generated_files(root: Path) -> set[str]:
    return {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}


def test_the_committed_sdks_match_what_the_schema_generates(tmp_path: Path) -> None:
    require_tool("go")
    require_tool("git")
    generated = subprocess.run(
        [str(REPO / "scripts" / "generate-sdks"), str(tmp_path), sys.executable],
        timeout=900,
        capture_output=True,
        text=True,
    )
    assert generated.returncode == 0, generated.stderr
    for language in LANGUAGES:
        ours, fresh = committed_files(language), generated_files(tmp_path / language)
        assert fresh, f"no {language} SDK generated"
        assert ours == fresh, f"sdk/{language}: run `make sdks` (only committed: {ours - fresh}, only new: {fresh - ours})"
        changed = sorted(
            name
            for name in ours
            if (REPO / "sdk" / language / name).read_bytes() != (tmp_path / language / name).read_bytes()
        )
        assert not changed, f"sdk/{language}: run `make sdks` (these differ: {changed})"
