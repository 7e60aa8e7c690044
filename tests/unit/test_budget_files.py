"""The machine scope's files are the user's own: directories 0700 and checked, no file written
through a link, a FIFO or a directory where a budget file goes refused at once."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from zego_provider import ZegoConfigError
from zego_provider.budget.machine import MachineStore
from zego_provider.budget.names import sequence_directory, slot_file
from zego_provider.budget.process import ProcessStore

KEY = "1-production"
PRECIOUS = "the user's own notes\n"


@pytest.fixture
def budgets(tmp_path: Path) -> Path:
    """The budgets directory as the cache directory holds it: `<cache>/zego-pulumi-provider/budgets`."""
    return tmp_path / "cache" / "zego-pulumi-provider" / "budgets"


@pytest.fixture
def precious(tmp_path: Path) -> Path:
    """Another file of the user, which a planted link points at."""
    path = tmp_path / "notes.txt"
    path.write_text(PRECIOUS)
    return path


def store(directory: Path) -> MachineStore:
    return MachineStore(directory, KEY, ProcessStore())


def test_the_directories_are_created_0700(budgets: Path) -> None:
    store(budgets)
    for directory in (budgets.parent, budgets, sequence_directory(budgets, KEY)):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory


def test_a_budget_file_that_is_a_symlink_to_another_file_is_refused_and_the_file_is_unchanged(
    budgets: Path, precious: Path
) -> None:
    """The probe: `zego-cdn create` followed it, overwrote the target with a timestamp, exited 0."""
    store(budgets)
    slot_file(budgets, KEY).unlink()
    slot_file(budgets, KEY).symlink_to(precious)
    with pytest.raises(ZegoConfigError, match="is a symbolic link: refused, never written through"):
        store(budgets)
    assert precious.read_text() == PRECIOUS


def test_a_link_planted_after_the_store_was_opened_is_refused_at_the_next_slot(budgets: Path, precious: Path) -> None:
    made = store(budgets)
    made.reserve(0.1)
    slot_file(budgets, KEY).unlink()
    slot_file(budgets, KEY).symlink_to(precious)
    with pytest.raises(ZegoConfigError, match="is a symbolic link"):
        made.reserve(0.1)
    assert precious.read_text() == PRECIOUS


def test_a_symlink_planted_in_the_sequences_directory_is_refused_and_its_target_not_truncated(
    budgets: Path, precious: Path
) -> None:
    """The probe: a link in the sequences directory truncated its target to 0 bytes."""
    made = store(budgets)
    shard = made._shard("main")
    shard.symlink_to(precious)
    with pytest.raises(ZegoConfigError, match="is a symbolic link"), made.ordered("main"):
        pass
    assert precious.read_text() == PRECIOUS


@pytest.mark.parametrize("which", ["slot", "shard"])
def test_a_symlinked_lock_file_is_refused_in_one_line_not_an_oserror(budgets: Path, precious: Path, which: str) -> None:
    """The probe: a symlinked `.lock` gave `OSError: [Errno 40]` with a traceback."""
    made = store(budgets)
    lock = Path(str(slot_file(budgets, KEY) if which == "slot" else made._shard("main")) + ".lock")
    if lock.exists():
        lock.unlink()
    lock.symlink_to(precious)
    with pytest.raises(ZegoConfigError) as caught:
        if which == "slot":
            made.reserve(0.1)
        else:
            with made.ordered("main"):
                pass
    assert "is a symbolic link: refused, never opened" in str(caught.value) and "\n" not in str(caught.value)
    assert precious.read_text() == PRECIOUS


def test_a_fifo_where_the_budget_file_goes_is_refused_without_waiting(budgets: Path) -> None:
    store(budgets)
    slot_file(budgets, KEY).unlink()
    os.mkfifo(slot_file(budgets, KEY))
    with pytest.raises(ZegoConfigError, match="is not a regular file"):
        store(budgets)


def test_a_directory_where_the_budget_file_goes_is_refused(budgets: Path) -> None:
    store(budgets)
    slot_file(budgets, KEY).unlink()
    slot_file(budgets, KEY).mkdir()
    with pytest.raises(ZegoConfigError, match="is a directory where a budget file goes"):
        store(budgets)


def test_a_world_writable_budgets_directory_is_refused_naming_it(budgets: Path) -> None:
    """The probe: a 0777 budgets directory was used silently; that is what lets another user plant links."""
    budgets.mkdir(parents=True)
    budgets.chmod(0o777)
    with pytest.raises(ZegoConfigError) as caught:
        store(budgets)
    assert f"the budget directory {budgets} is writable by others (mode 0777)" in str(caught.value)
    assert "XDG_CACHE_HOME" in str(caught.value)


def test_a_budgets_directory_that_is_a_symlink_is_refused(budgets: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    budgets.parent.mkdir(parents=True, mode=0o700)
    budgets.symlink_to(elsewhere)
    with pytest.raises(ZegoConfigError, match="is a symbolic link"):
        store(budgets)
    assert list(elsewhere.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="only root can give a directory away")
def test_a_budgets_directory_of_another_user_is_refused(budgets: Path) -> None:
    budgets.mkdir(parents=True, mode=0o700)
    os.chown(budgets, 65534, 65534)
    with pytest.raises(ZegoConfigError, match=r"belongs to another user \(uid 65534\)"):
        store(budgets)
