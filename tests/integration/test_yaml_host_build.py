"""The YAML language host is a build of its own: its cache key covers tools/pulumi-yaml's Go
inputs only and names the pulumi-yaml version go.mod pins, so adding or bumping it never
rebuilds the CLI, and a README edit rebuilds nothing."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ENSURE_PULUMI = REPO / "scripts" / "ensure-pulumi"
YAML_MODULE = REPO / "tools" / "pulumi-yaml"
CLI_MODULE = REPO / "tools" / "pulumi-cli"


def _key(flag: str, module: Path) -> str:
    result = subprocess.run(
        ["bash", str(ENSURE_PULUMI), flag, str(module)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_yaml_host_key_names_the_version_go_mod_pins() -> None:
    [pinned] = re.findall(r"^\s*github\.com/pulumi/pulumi-yaml (v\S+)", (YAML_MODULE / "go.mod").read_text(), re.M)
    assert re.fullmatch(
        rf"pulumi-language-yaml-{re.escape(pinned)}-[0-9a-f]{{12}}", _key("--yaml-cache-key", YAML_MODULE)
    )


def test_the_yaml_host_key_ignores_the_readme_and_where_the_folder_sits(tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere" / "yaml"
    shutil.copytree(YAML_MODULE, moved)
    (moved / "README.md").write_text("another README\n")
    assert _key("--yaml-cache-key", moved) == _key("--yaml-cache-key", YAML_MODULE)


def test_the_yaml_host_key_changes_with_go_sum_and_the_cli_key_does_not(tmp_path: Path) -> None:
    cli_key = _key("--cache-key", CLI_MODULE)
    changed = tmp_path / "yaml"
    shutil.copytree(YAML_MODULE, changed)
    with (changed / "go.sum").open("a") as file:
        file.write("example.com/changed v0.0.1 h1:changed=\n")
    assert _key("--yaml-cache-key", changed) != _key("--yaml-cache-key", YAML_MODULE)
    assert _key("--cache-key", CLI_MODULE) == cli_key


def test_a_module_without_pulumi_yaml_has_no_yaml_host_key(tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text("module example.com/empty\n\ngo 1.24\n")
    result = subprocess.run(
        ["bash", str(ENSURE_PULUMI), "--yaml-cache-key", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "requires no github.com/pulumi/pulumi-yaml" in result.stderr
