"""The fault matrix: create, update and delete of a rule set against every fault the emulator
injects, through the real provider process. Each cell's observed outcome must be the one
`fault_matrix.FAULTS` expects: success after the planned retries, or a clean error naming
the ZEGO code and RequestId with no orphan rule; and a following destroy must succeed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from zego_provider.errors import RETURN_CODES, ZegoRateLimitError, ZegoServerError

from .fault_matrix import (
    ATTEMPTS,
    CELLS,
    FAULTS,
    OPERATIONS,
    PLANS,
    SECRET,
    Cell,
    MatrixRunner,
    Outcome,
    markdown_table,
)


@pytest.fixture(scope="module")
def runner() -> Iterator[MatrixRunner]:
    with MatrixRunner() as matrix:
        yield matrix
    assert "retrying" in matrix.stderr  # the provider's warnings were captured: the check below means something
    assert SECRET not in matrix.stderr


@pytest.mark.timeout(60)
@pytest.mark.parametrize("cell", CELLS, ids=[cell.id for cell in CELLS])
def test_cell_outcome_is_the_expected_one(runner: MatrixRunner, cell: Cell) -> None:
    observed = runner.run(cell)
    assert observed == cell.expected, (
        f"{cell.id}: observed {observed.describe()!r}, expected {cell.expected.describe()!r}"
        + (f"; error: {observed.error}" if observed.error else "")
    )


def test_the_matrix_covers_every_fault_kind_the_api_documents() -> None:
    codes = {fault.effect.get("code") for fault in FAULTS}
    kinds = {RETURN_CODES[code].error for code in codes if code in RETURN_CODES}
    assert {ZegoServerError, ZegoRateLimitError} <= kinds  # one code of each retryable kind
    assert {5005, 100000004} <= codes
    assert any(fault.effect.get("http_status") for fault in FAULTS)
    assert {next(iter(fault.effect), None) for fault in FAULTS} >= {"delay", "drop", "malformed", "cut", "reset", None}
    assert any(fault.skew for fault in FAULTS)
    assert {fault.at for fault in FAULTS} == {"first", "middle", "last"}
    assert len({fault.key for fault in FAULTS}) == len(FAULTS)
    assert len({fault.row_label for fault in FAULTS}) == len(FAULTS)
    assert all(set(fault.expect) == set(OPERATIONS) for fault in FAULTS)
    assert all(fault.count <= 2 or fault.count == ATTEMPTS for fault in FAULTS)  # the backoff keeps the run short
    assert any(fault.count == ATTEMPTS for fault in FAULTS)  # and one transport fault outlasts every retry


def test_placements_land_on_the_planned_call() -> None:
    assert PLANS["create"].fault_match("middle") == ("CreatCDNTransferRule", 1)
    assert PLANS["update"].fault_match("first") == ("DeleteCDNTransferRule", 0)
    assert PLANS["update"].fault_match("last") == ("CreatCDNTransferRule", 1)
    assert PLANS["delete"].fault_match("last") == ("ClearCDNTransferRule", 0)


def test_the_table_shows_every_cell_and_flags_a_surprise() -> None:
    results = {cell.id: cell.expected for cell in CELLS}
    surprise = CELLS[0]
    results[surprise.id] = Outcome(succeeded=False, code=None, problems=("1 orphan rule(s)",))
    table = markdown_table(results).splitlines()
    assert len(table) == 2 + len(FAULTS)
    assert all(line.count("|") == 2 + len(OPERATIONS) for line in table)
    assert "ok after 2 retries" in table[3]
    assert "clean error 5005 + RequestId, rolled back 1, no orphan" in table[-1]
    assert "**error without ZEGO code without RequestId; PROBLEM: 1 orphan rule(s)** (expected: ok after 2" in table[2]
