"""A virtualenv with the Python SDK of the native package (`pulumi_zego`) installed from its wheel.

What a user has after `pip install` of the SDK: a fresh virtualenv (not the repository's), the
wheel built from sdk/python, its dependencies from the package index (pulumi at the version
constraints.txt pins), and mypy for type-checking a program against it. Building one costs
tens of seconds, so it is kept under the cache folder the Pulumi CLI uses, keyed by a hash of
everything it is made of (the SDK's files, constraints.txt, the Python, mypy's version): a
changed SDK gets a new one, an unchanged one is reused.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from filelock import FileLock

REPO = Path(__file__).resolve().parents[2]
SDK = REPO / "sdk" / "python"
# The SDK's own build leftovers never enter the key or the wheel.
BUILD_LEFTOVERS = ("build", "dist", "pulumi_zego.egg-info", "__pycache__")
STALE_AFTER = 7 * 24 * 3600.0


def cache_root() -> Path:
    configured = os.environ.get("ZEGO_PULUMI_CACHE")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "zego-pulumi-provider"


def sdk_files() -> list[Path]:
    return sorted(
        path
        for path in SDK.rglob("*")
        if path.is_file() and not any(part in BUILD_LEFTOVERS for part in path.relative_to(SDK).parts)
    )


def venv_key() -> str:
    digest = hashlib.sha256()
    for path in sdk_files():
        digest.update(path.relative_to(SDK).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update((REPO / "constraints.txt").read_bytes())
    digest.update(f"{platform.python_version()} mypy=={mypy_version()}".encode())
    return digest.hexdigest()[:12]


def mypy_version() -> str:
    return importlib.metadata.version("mypy")


def build_wheel(out: Path) -> Path:
    """The SDK's wheel, built from a copy of sdk/python (the build writes next to its sources)."""
    with tempfile.TemporaryDirectory(prefix="pulumi-zego-sdk-") as scratch:
        source = Path(scratch) / "python"
        shutil.copytree(SDK, source, ignore=shutil.ignore_patterns(*BUILD_LEFTOVERS))
        pip_wheel = (sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation")
        run(*pip_wheel, "-w", str(out), str(source))
    [wheel] = out.glob("pulumi_zego-*.whl")
    return wheel


def python_sdk_venv() -> Path:
    """The virtualenv's folder (its `bin/python` runs programs that import pulumi_zego)."""
    root = cache_root()
    venv = root / f"python-sdk-venv-{venv_key()}"
    if (venv / "complete").is_file():
        (venv / "complete").touch()
        return venv
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root / ".lock-python-sdk-venv"), timeout=1800):
        if (venv / "complete").is_file():
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        run(sys.executable, "-m", "venv", str(venv))
        wheel = build_wheel(venv / "wheel")
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        run(*pip, "-c", str(REPO / "constraints.txt"), str(wheel), f"mypy=={mypy_version()}")
        (venv / "complete").write_text(f"{wheel.name}\n")
        # Another SDK's virtualenv unused for a week is only debris (one in use is touched below).
        for stamp in root.glob("python-sdk-venv-*/complete"):
            if stamp.parent != venv and time.time() - stamp.stat().st_mtime > STALE_AFTER:
                shutil.rmtree(stamp.parent, ignore_errors=True)
    return venv


def run(*command: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
