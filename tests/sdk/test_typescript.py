"""The Node.js SDK (`@zego-pulumi/zego`) and examples/typescript type-check against @pulumi/pulumi.

`tsc --noEmit`, with @pulumi/pulumi, TypeScript and @types/node at the versions of
tests/sdk/nodejs/package-lock.json, installed once by `npm ci` into the cache folder the
Pulumi CLI uses, keyed by a hash of that lock file (a warm run installs nothing). Running a
TypeScript program needs Pulumi's Node.js language host, which only the official CLI ships:
this checks what can be checked without it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

from filelock import FileLock

from tests.sdk.conftest import require_tool
from tests.support.python_sdk import REPO, cache_root

LOCK_DIR = REPO / "tests" / "sdk" / "nodejs"
SDK = REPO / "sdk" / "nodejs"
EXAMPLE = REPO / "examples" / "typescript"


def node_modules() -> Path:
    """The cached node_modules folder of LOCK_DIR's lock file (npm ci on first use)."""
    npm = require_tool("npm")
    lock = (LOCK_DIR / "package-lock.json").read_bytes()
    digest = hashlib.sha256(lock + (LOCK_DIR / "package.json").read_bytes()).hexdigest()[:12]
    root = cache_root() / f"node-modules-{digest}"
    if (root / "complete").is_file():
        return root / "node_modules"
    root.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root.parent / ".lock-node-modules"), timeout=1800):
        if not (root / "complete").is_file():
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir()
            for name in ("package.json", "package-lock.json"):
                shutil.copy(LOCK_DIR / name, root / name)
            installed = subprocess.run(
                [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=root,
                capture_output=True,
                text=True,
                timeout=900,
            )
            assert installed.returncode == 0, installed.stdout + installed.stderr
            (root / "complete").write_text("npm ci\n")
    return root / "node_modules"


def tsc(project: Path, tsconfig: str) -> subprocess.CompletedProcess[str]:
    node = require_tool("node")
    modules = node_modules()
    (project / "node_modules").symlink_to(modules, target_is_directory=True)
    return subprocess.run(
        [node, str(modules / "typescript" / "bin" / "tsc"), "--noEmit", "--pretty", "false", "-p", tsconfig],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_generated_sdk_type_checks_with_its_own_tsconfig(tmp_path: Path) -> None:
    project = tmp_path / "sdk"
    shutil.copytree(SDK, project, ignore=shutil.ignore_patterns("node_modules", "bin"))
    checked = tsc(project, "tsconfig.json")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def example_project(tmp_path: Path, program: str | None = None) -> Path:
    """examples/typescript beside a copy of the SDK, `@zego-pulumi/zego` mapped to that copy."""
    shutil.copytree(SDK, tmp_path / "zego", ignore=shutil.ignore_patterns("node_modules", "bin"))
    project = tmp_path / "example"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("node_modules", "bin"))
    if program is not None:
        (project / "index.ts").write_text(program)
    settings = {
        "extends": "./tsconfig.json",
        # Declaration files of dependencies are theirs to check (and the slowest part by far).
        "compilerOptions": {"baseUrl": ".", "paths": {"@zego-pulumi/zego": ["../zego"]}, "skipLibCheck": True},
    }
    (project / "tsconfig.check.json").write_text(json.dumps(settings))
    # The SDK's files resolve @pulumi/pulumi from the folder above them too.
    (tmp_path / "node_modules").symlink_to(node_modules(), target_is_directory=True)
    return project


def test_the_two_app_example_type_checks_against_the_sdk(tmp_path: Path) -> None:
    checked = tsc(example_project(tmp_path), "tsconfig.check.json")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_wrongly_typed_argument_is_caught(tmp_path: Path) -> None:
    program = (
        'import * as zego from "@zego-pulumi/zego";\n'
        'new zego.CdnTransferRuleSet("lobby", { streamId: "lobby", cdnUrls: 42 });\n'
        'new zego.Provider("app", { appId: "not-a-number" });\n'
    )
    checked = tsc(example_project(tmp_path, program), "tsconfig.check.json")
    assert checked.returncode != 0
    errors = [line for line in checked.stdout.splitlines() if ": error TS" in line]
    assert sorted(line.split("(")[1].split(",")[0] for line in errors) == ["2", "3"], checked.stdout
