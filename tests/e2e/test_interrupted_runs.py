"""`pulumi up` / `pulumi destroy` interrupted part-way (SIGINT, SIGTERM, a second SIGINT, SIGKILL).

The emulator holds matching calls open (a `delay` fault after `skip` calls pass), so each test
signals the CLI at a known point: while some ZEGO calls are in flight. Then it follows the
commands of docs/guides/interrupted-runs.md for that case, exactly as written there, and
compares the emulator's rules with the state after every step: in the end no relay survives
outside the state, and a destroy leaves every stream empty.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.docs import blocks
from tests.support.settings_env import without_settings

from .conftest import APP_ID, SECRET, STACK, Stack

REPO = Path(__file__).resolve().parents[2]
STREAMS = 20
HOLD = 4.0
"""Seconds the emulator holds each call after the first ones: the window in which the test signals."""
PASS_FIRST = 6
"""Calls of the held action that go through at once, so the state has something before the signal."""
WAIT = 60.0
"""The longest any single wait in these tests may take."""

CREATE = "CreatCDNTransferRule"
DELETE = "DeleteCDNTransferRule"


def streams() -> dict[str, list[str]]:
    return {f"s{index:02d}": [f"rtmp://cdn.example.com/live/s{index:02d}?token=t{index}"] for index in range(STREAMS)}


RECOVERY = {
    "graceful up": ["pulumi up --yes"],
    "graceful destroy": ["pulumi destroy --yes"],
    "killed up": ["pulumi cancel --yes", "pulumi up --yes", "pulumi refresh --yes --clear-pending-creates"],
    "killed up, tear down": [
        "pulumi cancel --yes",
        "pulumi stack export --file interrupted.json",
        "zego-cdn teardown --stack-export interrupted.json",
        "pulumi refresh --yes --clear-pending-creates",
        "pulumi destroy --yes",
    ],
    "killed destroy": ["pulumi cancel --yes", "pulumi destroy --yes"],
}
"""The guide's recovery blocks, one per case, as the tests below run them (comments stripped)."""

GUIDE = REPO / "docs" / "guides" / "interrupted-runs.md"


def guide_blocks() -> list[list[str]]:
    """The sh blocks of the interrupted-runs guide, without comments."""
    found = [block for block in blocks(GUIDE) if block.lang == "sh" and block.not_run is None]
    return [[line.split("  #")[0].rstrip() for line in block.code.splitlines() if line.strip()] for block in found]


def guide_commands(case: str) -> list[str]:
    """The commands of one case; fails unless the guide shows exactly this block."""
    assert RECOVERY[case] in guide_blocks(), f"the guide no longer shows the {case!r} block as the tests run it"
    return RECOVERY[case]


def test_every_recovery_block_of_the_guide_is_one_the_tests_run() -> None:
    assert sorted(map(tuple, guide_blocks())) == sorted(map(tuple, RECOVERY.values()))


def wait_until(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)


def descendants(root: int) -> list[int]:
    """Every process below `root` (the language host and the dynamic provider start in their own
    process groups, so a signal to the CLI's group would not reach them)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, todo = [], [root]
    while todo:
        current = todo.pop()
        children = [pid for pid, parent in parents.items() if parent == current]
        found += children
        todo += children
    return found


def end_processes(pids: list[int]) -> None:
    """SIGKILL the processes this test started (checked by name, in case a pid was reused)."""
    for pid in pids:
        try:
            if "pulumi" in Path(f"/proc/{pid}/cmdline").read_text():
                os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


class Interrupted:
    """One `pulumi` command run in the background, so that the test can signal it part-way."""

    def __init__(self, stack: Stack, log: Path, *args: str) -> None:
        self.stack = stack
        self.log = log
        self._out = log.open("w")
        self.process = subprocess.Popen(
            ["pulumi", *args, "--stack", STACK, "--non-interactive", "--color", "never"],
            cwd=stack.pulumi.project_dir,
            env=stack.pulumi.env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.children: list[int] = []

    def signal(self, signum: int) -> None:
        self.children = sorted(set(self.children) | set(descendants(self.process.pid)))
        self.process.send_signal(signum)

    def wait(self, timeout: float = WAIT) -> tuple[int, str]:
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            self._out.close()
        return code, self.log.read_text()

    def close(self) -> None:
        if self.process.poll() is None:
            self.children += descendants(self.process.pid)
            self.process.kill()
            self.process.wait(timeout=10)
        self._out.close()
        end_processes(self.children)


@pytest.fixture
def background(tmp_path: Path) -> Iterator[Callable[..., Interrupted]]:
    started: list[Interrupted] = []

    def start(stack: Stack, *args: str) -> Interrupted:
        run = Interrupted(stack, tmp_path / f"run-{len(started)}.log", *args)
        started.append(run)
        return run

    yield start
    for run in started:
        run.close()


def hold_calls(stack: Stack, action: str) -> None:
    stack.emulator.admin.inject(match={"action": action}, skip=PASS_FIRST, delay=HOLD, count=1000)


def held(stack: Stack) -> int:
    """Calls the emulator has held open so far (each is applied when its delay ends)."""
    return sum(int(fault["fired"]) for fault in stack.emulator.admin.faults())


def settle(stack: Stack) -> None:
    """Wait until every held call has been applied by the emulator, then stop holding new ones.

    ZEGO carries out a call it received even when nobody waits for the answer any more."""
    fired = held(stack)
    wait_until(
        lambda: sum(1 for entry in stack.emulator.admin.requests() if entry["fault"]) >= fired,
        "the emulator to finish the held calls",
    )
    stack.emulator.admin.clear_faults()


def pending(stack: Stack) -> dict[str, str]:
    """{stream_id: "creating" | "deleting" ...} of the state's pending operations."""
    operations = stack.export()["deployment"].get("pending_operations") or []
    return {op["resource"]["inputs"]["stream_id"]: op["type"] for op in operations}


def outside_state(stack: Stack) -> dict[str, list[str]]:
    """Relays ZEGO has that no resource of the state records (pending operations do not count)."""
    recorded = stack.recorded_rules()
    return {
        stream: [url for url in urls if url not in recorded.get(stream, [])]
        for stream, urls in stack.live_rules().items()
        if any(url not in recorded.get(stream, []) for url in urls)
    }


def locked(stack: Stack) -> bool:
    return any((stack.pulumi.work_dir / "state" / ".pulumi" / "locks").rglob("*.json"))


def run_guide_line(stack: Stack, line: str) -> subprocess.CompletedProcess[str]:
    """Run one command line of the guide as written (pulumi on the test's backend; zego-cdn against the emulator)."""
    argv = shlex.split(line, comments=True)
    if argv[0] == "pulumi":
        return stack.pulumi.run(*argv[1:])
    assert argv[0] == "zego-cdn", line
    env = {
        **without_settings(os.environ),
        "ZEGO_APP_ID": str(APP_ID),
        "ZEGO_SERVER_SECRET": SECRET,
        "ZEGO_API_ENDPOINT": stack.emulator.url,
    }
    result = subprocess.run(
        [str(Path(sys.prefix) / "bin" / "zego-cdn"), *argv[1:]],
        cwd=stack.pulumi.project_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert SECRET not in result.stdout + result.stderr
    return result


def up_everything(stack: Stack) -> None:
    stack.set_streams(streams())
    stack.up()
    assert len(stack.live_rules()) == STREAMS and stack.live_rules() == stack.recorded_rules()


def expect_clean_end(stack: Stack) -> None:
    assert stack.live_rules() == {}, "a relay survived the destroy"
    assert stack.recorded_rules() == {}
    assert not locked(stack)


def start_and_signal(
    stack: Stack, background: Callable[..., Interrupted], command: str, action: str, *signals: int
) -> tuple[int, str]:
    hold_calls(stack, action)
    run = background(stack, command, "--yes", "--skip-preview")
    wait_until(lambda: held(stack) >= 2, f"two {action} calls held open")
    for index, signum in enumerate(signals):
        if index:
            time.sleep(0.5)
        run.signal(signum)
    code, output = run.wait()
    run.close()  # a killed CLI cannot stop its plugins: end them, as a CI runner ends the job's processes
    settle(stack)
    return code, output


GRACEFUL = pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])


@GRACEFUL
def test_one_sigint_or_sigterm_during_up_finishes_the_calls_in_flight_and_records_them(
    stack: Stack, background: Callable[..., Interrupted], signum: int
) -> None:
    stack.set_streams(streams())

    code, output = start_and_signal(stack, background, "up", CREATE, signum)

    assert code != 0 and "update canceled" in output
    recorded = stack.recorded_rules()
    assert PASS_FIRST + 2 <= len(recorded) < STREAMS  # the held calls finished and were recorded
    assert stack.live_rules() == recorded and pending(stack) == {} and not locked(stack)

    for line in guide_commands("graceful up"):
        run_guide_line(stack, line)
    assert len(stack.live_rules()) == STREAMS and stack.live_rules() == stack.recorded_rules()
    stack.destroy()
    expect_clean_end(stack)


@GRACEFUL
def test_one_sigint_or_sigterm_during_destroy_exits_0_with_rule_sets_left_and_destroy_again_finishes(
    stack: Stack, background: Callable[..., Interrupted], signum: int
) -> None:
    up_everything(stack)

    code, output = start_and_signal(stack, background, "destroy", DELETE, signum)

    assert code == 0 and "cancelling" in output  # the engine reports success: a pipeline cannot tell
    live, recorded = stack.live_rules(), stack.recorded_rules()
    assert 0 < len(recorded) <= STREAMS - PASS_FIRST - 2
    assert {stream: urls for stream, urls in recorded.items() if urls} == live  # exactly what ZEGO has
    assert pending(stack) == {} and not locked(stack)

    for line in guide_commands("graceful destroy"):
        run_guide_line(stack, line)
    expect_clean_end(stack)


def test_sigkill_during_up_leaves_pending_creates_whose_relays_exist_and_up_adopts_them(
    stack: Stack, background: Callable[..., Interrupted]
) -> None:
    stack.set_streams(streams())

    start_and_signal(stack, background, "up", CREATE, signal.SIGKILL)

    creating = pending(stack)
    assert creating and set(creating.values()) == {"creating"}
    orphans = outside_state(stack)
    assert orphans and set(orphans) <= set(creating)  # the hazard: on ZEGO, not in the state's resources
    assert locked(stack)
    refused = stack.up(check=False)
    assert refused.returncode != 0 and "locked" in refused.stderr and "pulumi cancel" in refused.stderr

    for line in guide_commands("killed up"):
        result = run_guide_line(stack, line)
        if line.startswith("pulumi up"):
            assert "interrupted while creating" in result.stdout + result.stderr  # the engine warns
            assert outside_state(stack) == {}  # Create of an existing relay succeeds: now recorded
    assert pending(stack) == {}
    assert len(stack.live_rules()) == STREAMS and stack.live_rules() == stack.recorded_rules()
    stack.destroy()
    expect_clean_end(stack)


def test_a_second_sigint_during_up_then_a_plain_destroy_leaves_relays_that_teardown_removes(
    stack: Stack, background: Callable[..., Interrupted]
) -> None:
    stack.set_streams(streams())

    start_and_signal(stack, background, "up", CREATE, signal.SIGINT, signal.SIGINT)

    creating = pending(stack)
    assert creating and set(creating.values()) == {"creating"}
    orphans = outside_state(stack)
    assert orphans and set(orphans) <= set(creating)
    assert not locked(stack)  # unlike SIGKILL, the second SIGINT still releases the lock

    mistake = stack.destroy()  # what the guide warns about: destroy knows only the recorded resources
    assert "interrupted while creating" in mistake.stdout + mistake.stderr  # a warning, and exit 0
    assert stack.recorded_rules() == {}
    assert stack.live_rules() == orphans  # ...so the relays of the pending creates survive it
    assert pending(stack) == creating  # and the state still names them

    for line in guide_commands("killed up, tear down"):
        run_guide_line(stack, line)
    assert pending(stack) == {}
    expect_clean_end(stack)


def test_sigkill_during_destroy_leaves_pending_deletes_and_destroy_again_finishes(
    stack: Stack, background: Callable[..., Interrupted]
) -> None:
    up_everything(stack)

    start_and_signal(stack, background, "destroy", DELETE, signal.SIGKILL)

    deleting = pending(stack)
    assert deleting and set(deleting.values()) == {"deleting"}
    assert outside_state(stack) == {}  # the state may list more than ZEGO has, never less
    assert set(deleting) <= set(stack.recorded_rules())
    assert locked(stack)

    for line in guide_commands("killed destroy"):
        run_guide_line(stack, line)
    expect_clean_end(stack)
    assert pending(stack) == {}
