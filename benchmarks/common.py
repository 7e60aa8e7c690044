"""What the benchmarks share: made-up credentials, output format, the Pulumi CLI and throwaway stacks."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devkit.pulumi_local import LocalPulumi, scratch_dir

REPO = Path(__file__).resolve().parent.parent
APP_ID = 1234567890
SECRET = "bench-made-up-secret-5d1c9e7a3b42"  # made up; only the local emulator knows it
STACK = "bench"
PROGRAM = Path(__file__).resolve().parent / "pulumi_program.py"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def header(name: str, detail: str) -> None:
    """The first line of a benchmark: its name, the date and what is measured."""
    print(f"\n== {name} ({now()}): {detail}", flush=True)


def figure(text: str) -> None:
    print(f"   {text}", flush=True)


def pulumi_cli() -> str | None:
    """The `pulumi` on PATH, if it has the Python language host beside it; else None."""
    cli = shutil.which("pulumi")
    return cli if cli and shutil.which("pulumi-language-python") else None


def pulumi_version() -> str:
    cli = pulumi_cli()
    if cli is None:
        return "none on PATH"
    result = subprocess.run([cli, "version"], capture_output=True, text=True, timeout=30, check=False)
    return result.stdout.strip() or "unknown"


def environment() -> str:
    return f"Python {platform.python_version()}, {platform.machine()}, {_cpus()} CPUs, pulumi {pulumi_version()}"


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@dataclass
class Timed:
    seconds: float
    stdout: str


class BenchStack:
    """A throwaway project running benchmarks/pulumi_program.py, with a file backend, against the emulator."""

    def __init__(
        self,
        work: Path,
        *,
        kind: str,
        count: int,
        endpoint: str,
        rate_limit: float,
        config: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """`config`: more plaintext stack settings (e.g. zego:rateLimiter, prefix); `env`: for every process."""
        self.work = work
        project = work / "project"
        project.mkdir(parents=True)
        shutil.copy(PROGRAM, project / "__main__.py")
        (project / "Pulumi.yaml").write_text(
            f"name: zego-bench-{kind}\nruntime:\n  name: python\n  options:\n"
            f"    toolchain: pip\n    virtualenv: {sys.prefix}\n"
        )
        # PYTHONPATH: the program and the provider process import benchmarks.noop_provider by reference.
        self.pulumi = LocalPulumi(work / "pulumi", project, extra_env={"PYTHONPATH": str(REPO), **(env or {})})
        self.pulumi.run("stack", "init", STACK)
        self.pulumi.run(
            "config",
            "set-all",
            "--stack",
            STACK,
            "--plaintext",
            f"kind={kind}",
            "--plaintext",
            f"count={count}",
            "--plaintext",
            f"zego:appId={APP_ID}",
            "--plaintext",
            f"zego:endpoint={endpoint}",
            "--plaintext",
            f"zego:rateLimit={rate_limit:g}",
            *(item for key, value in (config or {}).items() for item in ("--plaintext", f"{key}={value}")),
            "--secret",
            f"zego:serverSecret={SECRET}",
        )

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        """`pulumi ARGS --stack bench` as a process of its own, for jobs run at once; its output goes to
        `output.log` in the work folder (a pipe nobody reads while the others run could fill up)."""
        with (self.work / "output.log").open("ab") as log:
            return subprocess.Popen(
                ["pulumi", *args, "--stack", STACK, "--non-interactive", "--color", "never"],
                cwd=self.pulumi.project_dir,
                env=self.pulumi.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        path = self.work / "output.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def timed(self, *args: str) -> Timed:
        started = time.perf_counter()
        result = self.pulumi.run(*args, "--stack", STACK)
        return Timed(time.perf_counter() - started, result.stdout)

    def preview(self) -> Timed:
        return self.timed("preview")

    def up(self) -> Timed:
        return self.timed("up", "--yes", "--skip-preview")

    def destroy(self) -> Timed:
        return self.timed("destroy", "--yes", "--skip-preview")

    def export(self) -> tuple[str, dict[str, Any]]:
        text = self.pulumi.run("stack", "export", "--stack", STACK).stdout
        return text, dict(json.loads(text))


@contextmanager
def bench_stack(prefix: str, *, kind: str, count: int, endpoint: str, rate_limit: float) -> Iterator[BenchStack]:
    """A BenchStack in a scratch folder, removed (state and all) afterwards."""
    with scratch_dir(prefix) as work:
        yield BenchStack(work, kind=kind, count=count, endpoint=endpoint, rate_limit=rate_limit)


def run_alone(run: Callable[[bool], object], doc: str | None, argv: Iterable[str] | None = None) -> None:
    """`python -m benchmarks.<name> [--quick]`: one benchmark on its own."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--quick", action="store_true", help="a small run that only checks it works")
    run(parser.parse_args(list(argv) if argv is not None else None).quick)
