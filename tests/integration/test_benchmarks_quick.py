"""`python -m benchmarks --quick` runs every benchmark's whole code path, and each ends with its ratio line.

Not a timed test: the ratios are parsed but not judged. Only what is correctness rather
than speed is asserted: the serialized provider stays under 1 KB and no teardown
operation fails. The engine benchmark needs the Pulumi CLI on PATH (as `make test` puts
it); without it the benchmark must say it skipped, and with ZEGO_REQUIRE_E2E=1 that fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NUMBER = r"(\d+(?:\.\d+)?)"
RATIO_LINES = {
    "teardown_at_limit": re.compile(
        rf"teardown: sliding {NUMBER}, bucket {NUMBER} of the rate limit in successful calls/s, (\d+) failed, "
        rf"(\d+) rate-limited answers \(sliding\) \(naive: {NUMBER} of the limit in successful calls/s, "
        rf"(\d+) rate-limited answers, (\d+) rule sets retried, (\d+) failed\)"
    ),
    "state_size": re.compile(
        rf"state: provider blob (\d+) B \({NUMBER} of 1 KB\), (\d+) B of state per rule set \((measured|estimated)\)"
    ),
    "client_overhead": re.compile(rf"client overhead: {NUMBER} \(signed (\d+) calls/s vs bare (\d+) calls/s\)"),
    "engine": re.compile(
        rf"engine: up {NUMBER}x a no-op dynamic resource \(preview {NUMBER}x\)|engine: skipped \(.+\)"
    ),
    "fleet": re.compile(
        rf"fleet: sliding: provider J=(\d+) process {NUMBER}, machine {NUMBER}, redis {NUMBER}"
        rf"(?:; cli destroy J=\d+ [^;]+)?; bucket: provider J=\d+ process {NUMBER}, machine {NUMBER}, redis {NUMBER}"
        rf"(?:; cli destroy J=\d+ [^;]+)?(?:; cli skipped)?; (\d+) failed jobs, (\d+) relays left, "
        rf"(\d+) refused Sequences, {NUMBER}% rate-limited at most when shared \(sliding\)"
    ),
}


def cli_on_path() -> bool:
    return bool(shutil.which("pulumi") and shutil.which("pulumi-language-python"))


@pytest.fixture(scope="module")
def last_lines() -> dict[str, str]:
    """Run the quick benchmarks once; map each benchmark to the last line of its section."""
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=420,  # the CLI-level fleet cell starts two engines; a loaded machine is slow at that
        check=False,
    )
    assert result.returncode == 0, f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    assert "5 of 5 benchmarks ran" in result.stdout
    sections = re.split(r"^== ", result.stdout, flags=re.MULTILINE)[1:]
    lines: dict[str, str] = {}
    for section in sections:
        body = [line for line in section.splitlines() if line.strip() and not re.match(r"\d+ of \d+ benchmarks", line)]
        lines[body[0].split()[0]] = body[-1]
    assert sorted(lines) == sorted(RATIO_LINES), result.stdout
    return lines


def ratio(lines: dict[str, str], name: str) -> re.Match[str]:
    match = RATIO_LINES[name].fullmatch(lines[name])
    assert match, f"{name} did not end with its ratio line: {lines[name]!r}"
    return match


@pytest.mark.timeout(300)
def test_teardown_ends_with_its_ratio_and_nothing_failed(last_lines: dict[str, str]) -> None:
    match = ratio(last_lines, "teardown_at_limit")
    sliding, bucket, failed = float(match.group(1)), float(match.group(2)), int(match.group(3))
    assert failed == 0
    assert sliding > 0 and bucket > 0


def test_state_size_ends_with_its_ratio_and_the_blob_is_small(last_lines: dict[str, str]) -> None:
    match = ratio(last_lines, "state_size")
    blob, per_rule_set, source = int(match.group(1)), int(match.group(3)), match.group(4)
    assert 0 < blob < 1024
    assert per_rule_set > blob
    assert source == ("measured" if cli_on_path() else "estimated")


def test_client_overhead_ends_with_its_ratio(last_lines: dict[str, str]) -> None:
    match = ratio(last_lines, "client_overhead")
    assert float(match.group(1)) > 0
    assert int(match.group(2)) > 0 and int(match.group(3)) > 0


def test_engine_ends_with_its_ratio_or_says_it_skipped(last_lines: dict[str, str]) -> None:
    ratio(last_lines, "engine")
    skipped = last_lines["engine"].startswith("engine: skipped")
    if cli_on_path():
        assert not skipped, last_lines["engine"]
    elif os.environ.get("ZEGO_REQUIRE_E2E") == "1":
        pytest.fail("the Pulumi CLI is not on PATH, so the engine benchmark was skipped")


def test_fleet_ends_with_its_ratio_and_no_job_failed_or_left_a_relay(last_lines: dict[str, str]) -> None:
    match = ratio(last_lines, "fleet")
    assert (int(match.group(8)), int(match.group(9)), int(match.group(10))) == (0, 0, 0)  # failed, left, Sequences
    assert all(float(match.group(group)) > 0 for group in range(2, 8))
    assert ("cli destroy" in last_lines["fleet"]) == cli_on_path()
