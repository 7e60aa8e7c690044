"""The wheel built from this checkout, and a wheelhouse of its dependencies, for "fresh install" tests.

`built_wheel()` builds the sdist and wheel from a copy of the tree (setuptools writes build/
and *.egg-info into the source folder) once per content of what ships, under the user's cache;
processes and pytest workers share it through a file lock. `wheelhouse()` downloads the
dependency wheels once (pinned by constraints.txt), so that a fresh virtualenv installs
offline: `pip_env()` gives pip PIP_NO_INDEX and PIP_FIND_LINKS pointing at both folders, the
way a user's pip finds the package on the index.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

from filelock import FileLock

REPO = Path(__file__).resolve().parents[2]
UNSHIPPED = (
    ".git",
    ".venv*",
    ".tools",
    ".hypothesis",
    ".*_cache",
    ".demo",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
)
"""Local state a build must not see (nor copy): virtualenvs, caches, earlier builds."""
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
SHIPPED = ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in")


def cache_root() -> Path:
    root = Path(os.environ.get("ZEGO_PULUMI_CACHE") or Path.home() / ".cache" / "zego-pulumi-provider")
    root.mkdir(parents=True, exist_ok=True)
    return root


def _digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def source_key() -> str:
    """A hash of every file the sdist and wheel are built from."""
    files = [p for p in (REPO / "zego_provider").rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return _digest(files + [REPO / name for name in SHIPPED if (REPO / name).is_file()])


def built_dist() -> Path:
    """The folder holding the sdist and the wheel of this checkout's current content."""
    target = cache_root() / "dist" / source_key()
    complete = target.with_name(target.name + ".complete")  # beside it: the folder holds only the two files
    with FileLock(str(target) + ".lock", timeout=600):
        if not complete.exists():
            work = target.with_name(target.name + ".work")
            shutil.rmtree(work, ignore_errors=True)
            shutil.copytree(REPO, work / "source", ignore=shutil.ignore_patterns(*UNSHIPPED))
            shutil.rmtree(target, ignore_errors=True)
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "build",
                    "--no-isolation",
                    "--sdist",
                    "--wheel",
                    "-o",
                    str(target),
                    str(work / "source"),
                ],
                check=True,
                capture_output=True,
                timeout=300,
            )
            shutil.rmtree(work, ignore_errors=True)
            complete.touch()
    return target


def built_wheel() -> Path:
    [wheel] = built_dist().glob("zego_pulumi_provider-*.whl")
    return wheel


def wheelhouse(python_version: str = PYTHON) -> Path:
    """Wheels of every dependency (with the [redis] extra) for `python_version` ("3.11"), at the
    versions constraints.txt pins."""
    key = _digest([REPO / "pyproject.toml", REPO / "constraints.txt"])
    target = cache_root() / "wheelhouse" / f"py{python_version}-{key}"
    with FileLock(str(target) + ".lock", timeout=900):
        if not (target / ".complete").exists():
            shutil.rmtree(target, ignore_errors=True)
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--quiet",
                    "--only-binary",
                    ":all:",
                    "-d",
                    str(target),
                    "--python-version",
                    python_version,
                    "-c",
                    str(REPO / "constraints.txt"),
                    f"{built_wheel()}[redis]",
                ],
                check=True,
                capture_output=True,
                timeout=900,
            )
            for own in target.glob("zego_pulumi_provider-*"):
                own.unlink()  # the package itself comes from built_dist(), never from here
            (target / ".complete").touch()
    return target


def pip_env(python_version: str = PYTHON) -> dict[str, str]:
    """Environment for a pip (of `python_version`) that must find the package and its
    dependencies only locally."""
    return {
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": f"{built_dist()} {wheelhouse(python_version)}",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }


def fresh_venv(folder: Path, *requirements: str) -> Path:
    """A new virtualenv in `folder` with `requirements` (default: this package and the [redis]
    extra) installed the way a user installs them, from the built wheel (never editable);
    pip runs outside the source tree. Returns its bin folder."""
    venv.create(folder, with_pip=True)
    bin_dir = folder / "bin"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PIP_", "PYTHON"))}
    wanted = requirements or (f"zego-pulumi-provider[redis]=={version()}",)
    subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", *wanted],
        check=True,
        capture_output=True,
        timeout=600,
        cwd=folder,
        env={**env, **pip_env()},
    )
    return bin_dir


def version() -> str:
    """The version the built wheel carries (its file name: name-version-tags.whl)."""
    return built_wheel().name.split("-")[1]
