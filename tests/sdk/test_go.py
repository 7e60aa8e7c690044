"""The Go SDK (sdk/go, package .../sdk/go/zego) and examples/go build and vet against the Go SDK of Pulumi.

`go build` and `go vet` with the versions the committed go.mod and go.sum pin
(github.com/pulumi/pulumi/sdk/v3 at the CLI's version, in the module cache once the CLI is
built); the Go build cache makes a warm run cheap. Running a Go program needs Pulumi's Go
language host, which only the official CLI ships: this checks what can be checked without it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.sdk.conftest import require_tool
from tests.support.python_sdk import REPO


def go(module: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GOFLAGS": "-mod=readonly", "GOWORK": "off"}  # the committed go.mod and go.sum, as is
    return subprocess.run(
        [require_tool("go"), *args], cwd=module, env=env, capture_output=True, text=True, timeout=900
    )


@pytest.mark.parametrize(
    ("module", "output"),
    [("sdk/go", []), ("examples/go", ["-o"])],  # a program's binary goes to a scratch folder
    ids=["sdk", "example"],
)
def test_the_module_builds_and_vets(module: str, output: list[str], tmp_path: Path) -> None:
    built = go(REPO / module, "build", *output, *([str(tmp_path) + os.sep] if output else []), "./...")
    assert built.returncode == 0, built.stderr
    vetted = go(REPO / module, "vet", "./...")
    assert vetted.returncode == 0, vetted.stderr
