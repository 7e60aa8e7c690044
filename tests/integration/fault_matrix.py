"""The fault matrix: each provider operation against each fault the emulator injects, as data.

A row is a fault: what the emulator does (a ZEGO code, an HTTP status, a delay past the
client's read timeout, a dropped or reset connection, a body that is not JSON or cut short,
or a real clock skew), on which of the operation's calls it lands, how many times in a row, and the
outcome expected of each operation (create, update, delete of one CdnTransferRuleSet).
`MatrixRunner` plays one cell against the real provider process (`python -m pulumi.dynamic`
over gRPC) and a `ZegoEmulator`, and returns the observed `Outcome`; the test compares it
with the expected one, and `python -m tests.integration.fault_matrix` (from the repository
root) prints the whole matrix as a Markdown table.

Every cell checks the same invariants whatever the fault: the emulator ends with no rule
the provider's recorded state does not know about (a failed create: none at all; a failed
update: a subset of the old URLs; a failed delete: a subset of the recorded URLs), the
injected fault fired as planned, and a following delete (the destroy) succeeds and leaves
the stream empty.
"""

from __future__ import annotations

import datetime
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Literal

import grpc

from devkit.provider_process import ProviderProcess
from devkit.settings_env import unset_settings
from zego_provider.config import DEFAULT_MAX_ATTEMPTS
from zego_provider.emulator import ZegoEmulator

APP_ID = 1234567890
SECRET = "made-up-secret-for-fault-matrix-0"  # never a real credential

READ_TIMEOUT = 1.0
"""zego:timeout of the provider process under test: the read timeout of one attempt."""
DELAY = 5.0
"""An injected delay: five times READ_TIMEOUT, so that even a loaded machine that stalls the
client for seconds cannot see the reply arrive before its read timeout fires."""
ATTEMPTS = DEFAULT_MAX_ATTEMPTS
"""Attempts the provider's client makes of one call (its default)."""
CLOCK_SKEW = 660.0
"""11 minutes: past ZEGO's 10 minutes of allowed Timestamp skew."""
SETTLE_TIMEOUT = 2 * DELAY + 10.0
"""How long a cell waits for delayed requests to land at the emulator after the client gave up."""

CREATE = "CreatCDNTransferRule"  # sic: ZEGO's spelling
DELETE = "DeleteCDNTransferRule"
CLEAR = "ClearCDNTransferRule"

Operation = Literal["create", "update", "delete"]
OPERATIONS: tuple[Operation, ...] = ("create", "update", "delete")
Placement = Literal["first", "middle", "last"]

URL_A = "rtmp://cdn-a.example.com/live/key-a?token=t0k&expires=1700000000"
URL_B = "rtmp://cdn-b.example.com/live/key-b"
URL_C = "rtmp://cdn-c.example.com/live/key-c"
URL_D = "rtmp://cdn-d.example.com/live/key-d?auth=a%26b"


@dataclass(frozen=True)
class Plan:
    """What one operation starts from, what it asks for, and the calls it makes when nothing fails."""

    before: tuple[str, ...] | None
    """The URLs already created and recorded in the state; None: no resource yet."""
    after: tuple[str, ...] | None
    """The URLs the operation asks for; None: the resource is deleted."""
    calls: tuple[str, ...]
    """The ZEGO actions sent, in order (the provider sorts URLs, so the order is fixed)."""

    def call_index(self, placement: Placement) -> int:
        return {"first": 0, "middle": 1, "last": len(self.calls) - 1}[placement]

    def fault_match(self, placement: Placement) -> tuple[str, int]:
        """(action, skip): the emulator fault match that lands on the call at `placement`."""
        index = self.call_index(placement)
        action = self.calls[index]
        return action, self.calls[:index].count(action)


PLANS: Mapping[Operation, Plan] = {
    "create": Plan(before=None, after=(URL_A, URL_B, URL_C), calls=(CREATE, CREATE, CREATE)),
    # Removes A, adds C and D: deletes first, then creates (with rollback).
    "update": Plan(before=(URL_A, URL_B), after=(URL_B, URL_C, URL_D), calls=(DELETE, CREATE, CREATE)),
    "delete": Plan(before=(URL_A, URL_B, URL_C), after=None, calls=(DELETE, DELETE, DELETE, CLEAR)),
}


@dataclass(frozen=True)
class Outcome:
    """How one cell ended. Expected outcomes leave `problems` empty; the rest does not compare."""

    succeeded: bool
    retries: int = 0
    """Calls the client sent again (same Action and CDNUrl, new Sequence and signature)."""
    code: int | None = None
    """The ZEGO code the error names (None: no error, or an error without a code)."""
    request_id: bool = False
    """The error names a real RequestId."""
    rolled_back: int = 0
    """Rules the failed operation says it undid."""
    problems: tuple[str, ...] = ()
    """Broken invariants: orphan or missing rules, a fault that did not fire, a failed destroy..."""
    seconds: float = field(default=0.0, compare=False)
    error: str = field(default="", compare=False)
    """The last line of the gRPC error details (the exception and its message)."""

    def describe(self) -> str:
        if self.succeeded:
            text = (
                "ok" if not self.retries else f"ok after {self.retries} {'retry' if self.retries == 1 else 'retries'}"
            )
        else:
            kind = "clean error" if self.code is not None and self.request_id else "error"
            text = f"{kind} {self.code if self.code is not None else 'without ZEGO code'}"
            text += " + RequestId" if self.request_id else " without RequestId"
            if self.rolled_back:
                text += f", rolled back {self.rolled_back}"
            if not self.problems:
                text += ", no orphan"
        if self.problems:
            text += "; PROBLEM: " + "; ".join(self.problems)
        return text


def ok(retries: int) -> Outcome:
    return Outcome(succeeded=True, retries=retries)


def clean_error(code: int, *, rolled_back: int = 0) -> Outcome:
    return Outcome(succeeded=False, code=code, request_id=True, rolled_back=rolled_back)


def transport_error(*, retries: int, rolled_back: int = 0, request_id: bool = False) -> Outcome:
    """Every attempt failed without a ZEGO answer: no code, the operation undone; a RequestId only
    when the reply's headers (X-Request-Id) arrived before it failed."""
    return Outcome(succeeded=False, retries=retries, rolled_back=rolled_back, request_id=request_id)


def everywhere(outcome: Outcome) -> dict[Operation, Outcome]:
    return dict.fromkeys(OPERATIONS, outcome)


@dataclass(frozen=True)
class Fault:
    """One row: a fault, where it lands, how often, and the outcome expected of each operation."""

    key: str
    label: str
    effect: Mapping[str, Any]
    """One emulator fault effect ({"code": 5000}, {"http_status": 502}, {"delay": s}, {"drop": True},
    {"malformed": True}, {"cut": True}, {"reset": True}); empty for a real clock skew."""
    expect: Mapping[Operation, Outcome]
    at: Placement = "first"
    count: int = 2
    """Consecutive faulted attempts: 2 for a transient fault, so the client (5 attempts) recovers quickly;
    ATTEMPTS for one that persists through every retry."""
    skew: float = 0.0
    """Seconds the emulator's clock runs ahead during the operation (a real skew, no injection)."""

    @property
    def row_label(self) -> str:
        where = {"first": "first call", "middle": "2nd call", "last": "last call"}[self.at]
        times = f"{self.count}x, " if self.count > 1 else ""
        return f"{self.label} ({times}{where})"


TRANSIENT = everywhere(ok(retries=2))

FAULTS: tuple[Fault, ...] = (
    # One code of each retryable kind (which codes are of which kind: tests/unit/test_errors.py, and
    # that the client retries each: tests/unit/test_client.py). A rate limit waits out a second.
    Fault("rate-5007", "5007 call frequency too high (a rate limit)", {"code": 5007}, TRANSIENT, at="first"),
    Fault("internal-5000", "5000 internal error (a server error)", {"code": 5000}, TRANSIENT, at="middle"),
    # No usable answer.
    Fault("http-503", "HTTP 503", {"http_status": 503}, TRANSIENT, at="last"),
    Fault("timeout", f"read timeout (reply after {DELAY:g} s)", {"delay": DELAY}, TRANSIENT, at="middle"),
    Fault("drop", "dropped connection", {"drop": True}, TRANSIENT, at="first"),
    Fault("malformed", "malformed JSON", {"malformed": True}, TRANSIENT, at="last"),
    # The request was processed, the reply ends after half its Content-Length: retried like a 5xx.
    Fault("cut", "reply cut mid-body", {"cut": True}, TRANSIENT, at="middle"),
    Fault("reset", "connection reset after the request was read", {"reset": True}, TRANSIENT, at="last"),
    # The same cut on every attempt of one call (the client makes ATTEMPTS): the operation fails
    # and undoes what it created, including the URL whose Create may have happened anyway.
    Fault(
        "cut-persistent",
        "reply cut mid-body, every attempt",
        {"cut": True},
        {
            # The headers, with the RequestId, arrive before the body is cut: the error names it.
            "create": transport_error(retries=ATTEMPTS - 1, rolled_back=2, request_id=True),  # A, and B itself
            "update": transport_error(retries=ATTEMPTS - 1, rolled_back=1, request_id=True),  # C itself
            "delete": transport_error(retries=ATTEMPTS - 1, request_id=True),  # B is gone, C stays recorded
        },
        at="middle",
        count=ATTEMPTS,
    ),
    # Permanent: fail at once, undo what this operation created.
    Fault(
        "expired-injected",
        "100000004 signature expired, injected",
        {"code": 100000004},
        {
            "create": clean_error(100000004, rolled_back=2),  # A and B were created before C failed
            "update": clean_error(100000004, rolled_back=1),  # C was created before D failed
            "delete": clean_error(100000004),  # every rule was deleted, then Clear failed
        },
        at="last",
        count=1,
    ),
    Fault(
        "expired-skew",
        f"signature expired, real clock skew of {CLOCK_SKEW / 60:g} min",
        {},
        everywhere(clean_error(100000004)),  # the first call fails: nothing to undo
        at="first",
        count=1,
        skew=CLOCK_SKEW,
    ),
    Fault(
        "invalid-5005-first",
        "5005 invalid request, permanent",
        {"code": 5005},
        # Nothing changed yet. For update this is the removal of A: were the additions made
        # first, C and D would be left behind, outside the recorded state.
        everywhere(clean_error(5005)),
        at="first",
        count=1,
    ),
    Fault(
        "invalid-5005-middle",
        "5005 invalid request, permanent",
        {"code": 5005},
        {
            "create": clean_error(5005, rolled_back=1),  # A was created before B failed
            "update": clean_error(5005),  # A was deleted, then the first Create (C) failed
            "delete": clean_error(5005),  # A was deleted, then B failed: B and C stay recorded
        },
        at="middle",
        count=1,
    ),
)


@dataclass(frozen=True)
class Cell:
    fault: Fault
    operation: Operation

    @property
    def id(self) -> str:
        return f"{self.fault.key}-{self.operation}"

    @property
    def expected(self) -> Outcome:
        return self.fault.expect[self.operation]

    @property
    def stream_id(self) -> str:
        """One stream per cell, so a request landing late can never touch another cell's rules."""
        return f"fault-matrix-{self.id}"


CELLS: tuple[Cell, ...] = tuple(Cell(fault, operation) for fault in FAULTS for operation in OPERATIONS)

_CODE = re.compile(r"failed: code (-?\d+)")
_REQUEST_ID = re.compile(r"\[RequestId (\d+)\]")
_ROLLED_BACK = re.compile(r"Rolled back the (\d+) rule")


class SkewableClock:
    """The emulator's clock: real time plus `offset` seconds, so a test can skew it for real."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


class MatrixRunner:
    """One emulator (rate limit off) and two configured provider processes, shared by every cell.

    A provider process is one deployment: the rule sets it checked claim their streams, and its
    deletes leave claimed relays alone (zego_provider.claims). So the cells' create, update and
    delete run in `process`, and the destroy that follows in `destroyer`, which never checks, as
    `pulumi destroy` never does.
    """

    def __init__(self) -> None:
        self.clock = SkewableClock()
        self.emulator = ZegoEmulator(app_id=APP_ID, server_secret=SECRET, rate_limit=None, clock=self.clock)
        self._processes: list[ProviderProcess] = []
        self.stderr = ""
        """What the provider processes wrote on stderr, once the runner has stopped."""

    @property
    def process(self) -> ProviderProcess:
        if not self._processes:
            raise RuntimeError("the runner is not started: use it as a context manager")
        return self._processes[0]

    @property
    def destroyer(self) -> ProviderProcess:
        return self._processes[1]

    def __enter__(self) -> MatrixRunner:
        self.emulator.start()
        try:
            for _role in ("deploy", "destroy"):
                self._start()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def _start(self) -> None:
        # Credentials come only through Configure (stack config), as from `pulumi up`.
        # ProviderProcess drains the process's stderr itself (every retry logs a warning),
        # so a full pipe can never block it in the middle of a cell.
        process = ProviderProcess(env=unset_settings())
        self._processes.append(process)
        process.configure(
            {
                "zego:appId": str(APP_ID),
                "zego:serverSecret": SECRET,
                "zego:endpoint": self.emulator.url,
                "zego:rateLimit": "200",
                "zego:timeout": str(READ_TIMEOUT),
            }
        )

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        processes, self._processes = self._processes, []
        try:
            stderr = []
            for process in processes:
                stderr.append(process.close())  # everything it wrote, for the secret check
                if process.process.stdout is not None:
                    process.process.stdout.close()
            self.stderr = "".join(stderr)
        finally:
            self.emulator.stop()

    # --- one cell -------------------------------------------------------------------

    def run(self, cell: Cell) -> Outcome:
        """Play one cell from a reset emulator; never raises for what the provider does."""
        admin = self.emulator.admin
        admin.reset()
        plan = PLANS[cell.operation]
        started = time.monotonic()
        problems: list[str] = []

        recorded = self._set_up(cell, plan)
        logged_before = len(admin.requests())
        self._arm(cell, plan)
        outputs: dict[str, Any] | None = None
        error: grpc.RpcError | None = None
        try:
            outputs = self._operate(cell, plan, recorded)
        except grpc.RpcError as caught:
            error = caught
        finally:
            self.clock.offset = 0.0
        problems += self._settle(cell)
        requests = admin.requests()[logged_before:]
        retries = _retries(requests)
        rules = {rule["cdn_url"] for rule in admin.stream(cell.stream_id)}

        if error is None:
            wanted = set(plan.after or ())
            problems += _compare("rule", rules, wanted)
            if outputs is not None and sorted(outputs.get("cdn_urls") or []) != sorted(wanted):
                problems.append(f"outputs list {outputs.get('cdn_urls')} instead of {sorted(wanted)}")
            outcome = Outcome(succeeded=True, retries=retries)
        else:
            details = error.details() or ""
            code = _CODE.search(details)
            rolled_back = _ROLLED_BACK.search(details)
            if "Rollback could not delete" in details:
                problems.append("the rollback left rules behind")
            known = set(recorded["cdn_urls"]) if recorded is not None else set()
            orphans = rules - known
            if orphans:
                problems.append(f"{len(orphans)} orphan rule(s) the recorded state does not list: {sorted(orphans)}")
            outcome = Outcome(
                succeeded=False,
                retries=retries,
                code=int(code.group(1)) if code else None,
                request_id=_REQUEST_ID.search(details) is not None,
                rolled_back=int(rolled_back.group(1)) if rolled_back else 0,
                error=details.strip().splitlines()[-1] if details.strip() else "",
            )
        # What Pulumi then holds: the new outputs after a create or update; the old state after a
        # failure (nothing after a failed create: the destroy uses what it tried); and after a
        # delete, the state it deleted, so the destroy is a second delete.
        if error is None and cell.operation != "delete":
            state = outputs
        elif recorded is not None:
            state = recorded
        else:
            state = {"stream_id": cell.stream_id, "cdn_urls": list(plan.after or ())}
        problems += self._destroy(cell, state)
        return replace(outcome, problems=tuple(problems), seconds=time.monotonic() - started)

    def _set_up(self, cell: Cell, plan: Plan) -> dict[str, Any] | None:
        """Create the recorded state the operation starts from (no fault armed yet), as an earlier
        deployment did: without a check in this one, so the cell's stream is not claimed by it."""
        if plan.before is None:
            return None
        inputs = {"stream_id": cell.stream_id, "cdn_urls": sorted(plan.before), "stop_relays_on_delete": True}
        _, outputs = self.process.create(cell.stream_id, inputs)
        return outputs

    def _arm(self, cell: Cell, plan: Plan) -> None:
        fault = cell.fault
        if fault.skew:
            self.clock.offset = fault.skew
            return
        action, skip = plan.fault_match(fault.at)
        self.emulator.admin.inject(
            match={"action": action, "stream_id": cell.stream_id}, skip=skip, count=fault.count, **fault.effect
        )

    def _operate(self, cell: Cell, plan: Plan, recorded: dict[str, Any] | None) -> dict[str, Any] | None:
        name = cell.stream_id
        if cell.operation == "create":
            assert plan.after is not None
            _, outputs = self.process.create(name, self._check(cell, plan.after))
            return outputs
        assert recorded is not None
        resource_id = f"{APP_ID}:{cell.stream_id}"
        if cell.operation == "update":
            assert plan.after is not None
            return self.process.update(name, resource_id, recorded, self._check(cell, plan.after, olds=recorded))
        self.process.delete(name, resource_id, recorded)
        return None

    def _check(self, cell: Cell, urls: tuple[str, ...], olds: Mapping[str, Any] | None = None) -> dict[str, Any]:
        inputs, failures = self.process.check(
            cell.stream_id, {"stream_id": cell.stream_id, "cdn_urls": list(urls)}, olds
        )
        if failures:
            raise AssertionError(f"the matrix's own inputs fail check: {failures}")
        return inputs

    def _settle(self, cell: Cell) -> list[str]:
        """Wait (bounded) for delayed requests to land, then report a fault that did not fire as planned."""
        admin = self.emulator.admin
        problems: list[str] = []
        if "delay" in cell.fault.effect:
            deadline = time.monotonic() + SETTLE_TIMEOUT
            while time.monotonic() < deadline:
                landed = sum(1 for entry in admin.requests() if entry["fault"] and "delay" in entry["fault"])
                if landed >= cell.fault.count:
                    break
                time.sleep(0.05)
            else:
                problems.append(f"delayed requests had not landed after {SETTLE_TIMEOUT:g} s")
        left = admin.faults()
        if left:
            fired = sum(int(fault["fired"]) for fault in left)
            problems.append(f"the fault fired {fired} of {cell.fault.count} time(s)")
            admin.clear_faults()
        return problems

    def _destroy(self, cell: Cell, state: Mapping[str, Any] | None) -> list[str]:
        """The destroy that follows: it must succeed and leave the stream empty."""
        props = {"stop_relays_on_delete": True, **(state or {"stream_id": cell.stream_id, "cdn_urls": []})}
        try:
            self.destroyer.delete(cell.stream_id, f"{APP_ID}:{cell.stream_id}", props)
        except grpc.RpcError as error:
            last = (error.details() or "").strip().splitlines()
            return [f"destroy failed: {last[-1] if last else error}"]
        left = self.emulator.admin.stream(cell.stream_id)
        return [f"{len(left)} rule(s) left after destroy"] if left else []


def _retries(requests: list[dict[str, Any]]) -> int:
    """Re-sends seen by the emulator: every call of the operation (and of its rollback) has its
    own (Action, CDNUrl), so each further request with the same pair is a retry of it."""
    calls = Counter((entry["action"], entry["params"].get("CDNUrl")) for entry in requests)
    return sum(count - 1 for count in calls.values())


def _compare(what: str, observed: set[str], wanted: set[str]) -> list[str]:
    problems = []
    if observed - wanted:
        problems.append(f"unexpected {what}(s) {sorted(observed - wanted)}")
    if wanted - observed:
        problems.append(f"missing {what}(s) {sorted(wanted - observed)}")
    return problems


# --- the whole matrix, as a table -----------------------------------------------------


def run_matrix(runner: MatrixRunner, cells: tuple[Cell, ...] = CELLS) -> Iterator[tuple[Cell, Outcome]]:
    for cell in cells:
        yield cell, runner.run(cell)


def markdown_table(results: Mapping[str, Outcome], faults: tuple[Fault, ...] = FAULTS) -> str:
    """Rows = faults, columns = operations; a cell whose outcome is not the expected one says so."""
    lines = ["| fault (attempts, where) | " + " | ".join(OPERATIONS) + " |", "|---|" + "---|" * len(OPERATIONS)]
    for fault in faults:
        cells = []
        for operation in OPERATIONS:
            cell = Cell(fault, operation)
            observed = results.get(cell.id)
            if observed is None:
                cells.append("not run")
                continue
            text = observed.describe()
            if observed != cell.expected:
                text = f"**{text}** (expected: {cell.expected.describe()})"
            cells.append(text)
        lines.append(f"| {fault.row_label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


LEGEND = (
    "Calls per operation: create = Create A, B, C; update (A,B -> B,C,D) = Delete A, Create C, Create D; "
    'delete = Delete A, B, C, then Clear. "2nd call"/"last call" place the fault there (emulator `skip=`). '
    "Every cell also checks: no rule outside the recorded state, the fault fired as planned, and a following "
    f"destroy succeeds and leaves the stream empty. Provider process: zego:timeout={READ_TIMEOUT:g} s, "
    "zego:rateLimit=200, emulator rate limit off."
)


def main() -> int:
    started = time.monotonic()
    results: dict[str, Outcome] = {}
    with MatrixRunner() as runner:
        for cell, outcome in run_matrix(runner):
            results[cell.id] = outcome
            mark = "ok " if outcome == cell.expected else "BAD"
            print(f"{mark} {cell.id}: {outcome.describe()} ({outcome.seconds:.2f} s)", file=sys.stderr, flush=True)
    elapsed = time.monotonic() - started
    mismatches = sum(1 for cell in CELLS if results[cell.id] != cell.expected)
    print(f"Fault matrix, {datetime.date.today().isoformat()}: {len(CELLS)} cells in {elapsed:.1f} s\n")
    print(markdown_table(results))
    print()
    print(LEGEND)
    if SECRET in runner.stderr:
        print("\nPROBLEM: the provider process wrote the ServerSecret to stderr", file=sys.stderr)
        return 1
    if mismatches:
        print(f"\n{mismatches} cell(s) differ from the expected outcome", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
