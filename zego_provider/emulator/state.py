"""The emulator's backend: relay rules, sequences, rate windows, used nonces and the request log, with no HTTP.

Kept apart from the HTTP front (moto's backend/front split) so that tests can inspect and
drive the state directly, and so that every rule ZEGO documents, or leaves undocumented
and we made switchable, lives in one place. State is keyed by stream id alone: the
gateway refuses every AppId but the one the emulator serves. One lock guards everything:
the emulator serves a handful of test clients, so simplicity beats lock granularity.
"""

from __future__ import annotations

import heapq
import itertools
import json
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

from ..errors import INVALID_REQUEST, SUCCESS
from ..identity import relay_identity
from .ratewindow import RATE_WINDOWS, SLIDING, RateWindow, RateWindowKind, new_rate_window
from .statefile import StateFile

SCHEDULED: Literal["scheduled"] = "scheduled"
ACTIVE: Literal["active"] = "active"
RuleStatus = Literal["scheduled", "active"]

SEQUENCE_WINDOW = 10.0
"""ZEGO: within 10 consecutive seconds, a stream's sequence numbers must strictly increase."""
SEQUENCE_BOUND = 10_000
"""Streams whose last Sequence is remembered before expired ones are forgotten."""
NONCE_WINDOW = 600.0
"""A signed request stays valid while its Timestamp is within 10 minutes: remember its nonce that long."""
MAX_NONCES = 100_000
"""Memory bound for used nonces (at ZEGO's 10 calls/s, 10 minutes hold 6,000)."""
LOG_SIZE = 10_000
LOG_BYTES = 4 * 1024 * 1024
"""The request log keeps at most LOG_SIZE entries and about this many bytes of JSON, oldest dropped first."""
SWITCHES = ("clear_empty_code", "delete_unknown_code", "create_existing_code")
"""The undocumented cases; 0 (success) unless a test wants ZEGO to be stricter."""


class _Unset:
    pass


UNSET: Final = _Unset()


@dataclass(frozen=True)
class Rule:
    """One relay of a stream to one CDN URL."""

    cdn_url: str
    status: RuleStatus = SCHEDULED

    def to_json(self) -> dict[str, str]:
        return {"cdn_url": self.cdn_url, "status": self.status}


@dataclass(frozen=True)
class Outcome:
    """What an action answered: a ZEGO code and a detail for the Message."""

    code: int
    detail: str = ""


class EmulatorState:
    """Everything the emulator remembers for its one AppId; methods are named after the ZEGO actions.

    With a `state_file`, every change is written before it is applied: when the write fails
    the change is refused (StateWriteError) and memory still agrees with the file.
    """

    def __init__(
        self,
        app_id: int,
        *,
        rate_limit: float | None = 10.0,
        test_rate_limit: float | None = None,
        rate_window: RateWindowKind = SLIDING,
        clock: Callable[[], float] | None = None,
        state_file: str | os.PathLike[str] | None = None,
        clear_empty_code: int = 0,
        delete_unknown_code: int = 0,
        create_existing_code: int = 0,
        log_size: int = LOG_SIZE,
        log_bytes: int = LOG_BYTES,
    ) -> None:
        """`test_rate_limit` None means half of `rate_limit` (ZEGO: 5/s against 10/s); 0 turns it off.

        `rate_window` is the reading of the limit (ratewindow.py): `sliding` (the strictest, the
        default) or `bucket`. `clock` (Unix seconds) drives the Timestamp check, the Sequence
        window and the rate window alike, so a test can jump time; left out, the rate window runs
        on the monotonic clock (arrival times that a step of the wall clock cannot bunch up).
        """
        self.app_id = app_id
        self.clock = clock or time.time
        self.rate_clock = clock or time.monotonic
        self._lock = threading.Lock()
        self._rules: dict[str, list[Rule]] = {}
        self._sequences: dict[str, tuple[int, float]] = {}
        self._windows: dict[bool, RateWindow] = {}
        self._nonces: dict[str, float] = {}
        self._nonce_expiry: list[tuple[float, str]] = []
        self._log: deque[tuple[int, dict[str, Any]]] = deque()
        self._log_size = log_size
        self._log_limit = log_bytes
        self._log_bytes = 0
        self._request_ids = itertools.count(10**18 + secrets.randbelow(8 * 10**18))
        self.rate_limit: float | None = None
        self.rate_window: RateWindowKind = SLIDING
        self._test_rate_limit: float | None = None
        self._test_rate_auto = True
        self.switches: dict[str, int] = dict.fromkeys(SWITCHES, 0)
        self.configure(
            rate_limit=rate_limit,
            test_rate_limit=test_rate_limit,
            rate_window=rate_window,
            clear_empty_code=clear_empty_code,
            delete_unknown_code=delete_unknown_code,
            create_existing_code=create_existing_code,
        )
        self._file = StateFile(state_file, app_id) if state_file is not None else None
        self.open()

    @property
    def state_file(self) -> os.PathLike[str] | None:
        return self._file.path if self._file is not None else None

    def open(self) -> None:
        """Lock and (re)load the state file, if any; StateFileError when it cannot be used."""
        if self._file is None or self._file.is_open:
            return
        document = self._file.open()
        with self._lock:
            self._rules.clear()
            self._sequences.clear()
            if document is not None:
                for rule in document.rules:
                    self._rules.setdefault(rule.stream_id, []).append(Rule(rule.cdn_url, rule.status))
                for entry in document.sequences:
                    self._sequences[entry.stream_id] = (entry.sequence, entry.time)

    def close(self) -> None:
        """Release the state file's lock (the emulator stopped); `open()` takes it again."""
        if self._file is not None:
            self._file.close()

    # --- the three ZEGO actions, plus what a live stream does -------------------------

    def create_rule(self, stream_id: str, cdn_url: str, sequence: int | None = None) -> Outcome:
        """Schedule a relay; it turns active when the stream is published."""
        with self._lock:
            stale = self._stale(stream_id, sequence)
            if stale is not None:
                return stale
            rules = self._rules.get(stream_id, [])
            identity = relay_identity(cdn_url)
            if any(relay_identity(rule.cdn_url) == identity for rule in rules):
                # The existing rule (and its status) stays untouched.
                return self._undocumented_case(
                    stream_id, sequence, "create_existing_code", "a rule for this CDNUrl already exists"
                )
            self._commit(stream_id, [*rules, Rule(cdn_url)], sequence)
            return Outcome(SUCCESS)

    def delete_rule(self, stream_id: str, cdn_url: str, sequence: int | None = None) -> Outcome:
        """Remove the rule for this URL (query ignored), stopping it if it is running."""
        with self._lock:
            stale = self._stale(stream_id, sequence)
            if stale is not None:
                return stale
            rules = self._rules.get(stream_id, [])
            identity = relay_identity(cdn_url)
            kept = [rule for rule in rules if relay_identity(rule.cdn_url) != identity]
            if len(kept) == len(rules):
                return self._undocumented_case(stream_id, sequence, "delete_unknown_code", "no rule for this CDNUrl")
            self._commit(stream_id, kept, sequence)
            return Outcome(SUCCESS)

    def clear_rules(self, stream_id: str, sequence: int | None = None) -> Outcome:
        """Drop the scheduled rules only: ZEGO's Clear does not stop a running relay."""
        with self._lock:
            stale = self._stale(stream_id, sequence)
            if stale is not None:
                return stale
            rules = self._rules.get(stream_id, [])
            kept = [rule for rule in rules if rule.status == ACTIVE]
            if len(kept) == len(rules):
                return self._undocumented_case(
                    stream_id, sequence, "clear_empty_code", "the stream has no scheduled relay"
                )
            self._commit(stream_id, kept, sequence)
            return Outcome(SUCCESS)

    def _undocumented_case(self, stream_id: str, sequence: int | None, switch: str, problem: str) -> Outcome:
        """A case ZEGO does not document: answered 0 unless `switch` names an error code."""
        if sequence is not None:  # the rules stay, but the Sequence moved
            self._commit(stream_id, self._rules.get(stream_id, []), sequence)
        code = self.switches[switch]
        return Outcome(code, "" if code == SUCCESS else problem)

    def publish(self, stream_id: str) -> int:
        """The stream starts publishing: its scheduled relays start. Returns how many started."""
        with self._lock:
            rules = self._rules.get(stream_id, [])
            started = sum(1 for rule in rules if rule.status == SCHEDULED)
            if started:
                self._commit(stream_id, [replace(rule, status=ACTIVE) for rule in rules], None)
            return started

    def rules(self, stream_id: str) -> list[dict[str, str]]:
        with self._lock:
            return [rule.to_json() for rule in self._rules.get(stream_id, [])]

    def snapshot(self) -> dict[str, list[dict[str, str]]]:
        """Every stream that has rules: {stream_id: [{"cdn_url", "status"}]}."""
        with self._lock:
            return {stream: [rule.to_json() for rule in rules] for stream, rules in sorted(self._rules.items())}

    def reset(self) -> None:
        """Forget rules, sequences, used nonces, the log and the calls counted against the rate; keep the settings."""
        with self._lock:
            if self._file is not None:
                self._file.save(StateFile.document(self.app_id, [], []))
            self._rules.clear()
            self._sequences.clear()
            self._windows.clear()
            self._nonces.clear()
            self._nonce_expiry.clear()
            self._log.clear()
            self._log_bytes = 0

    # --- gateway bookkeeping: rate limit and used nonces ----------------------------

    def admit(self, *, is_test: bool = False, arrived: float | None = None) -> bool:
        """Count one call against the AppId's limit at its arrival (`rate_clock` time; now when not given);
        False means ZEGO would answer 5007."""
        with self._lock:
            rate = self._test_rate_limit if is_test else self.rate_limit
            if rate is None:
                return True
            now = self.rate_clock() if arrived is None else arrived
            window = self._windows.get(is_test)
            if window is None:
                window = self._windows[is_test] = new_rate_window(self.rate_window, rate, now)
            return window.admit(now)

    def accept_nonce(self, nonce: str, timestamp: float) -> bool:
        """Remember a SignatureNonce until its signature expires; False if it was already accepted."""
        with self._lock:
            now = self.clock()
            while self._nonce_expiry and (
                self._nonce_expiry[0][0] < now or len(self._nonce_expiry) > MAX_NONCES
            ):  # forget what can no longer be replayed (or, past the bound, the oldest)
                _, old = heapq.heappop(self._nonce_expiry)
                self._nonces.pop(old, None)
            if nonce in self._nonces:
                return False
            expires = max(now, timestamp) + NONCE_WINDOW
            self._nonces[nonce] = expires
            heapq.heappush(self._nonce_expiry, (expires, nonce))
            return True

    # --- configuration --------------------------------------------------------------

    def configure(
        self,
        *,
        rate_limit: float | _Unset | None = UNSET,
        test_rate_limit: float | _Unset | None = UNSET,
        rate_window: RateWindowKind | _Unset = UNSET,
        clear_empty_code: int | _Unset = UNSET,
        delete_unknown_code: int | _Unset = UNSET,
        create_existing_code: int | _Unset = UNSET,
    ) -> dict[str, Any]:
        """Change the rate limits (calls/s; 0 or None: off), their reading and the switches; returns the configuration.

        `test_rate_limit` None means half of `rate_limit`. The values are typed; the HTTP front
        validates what arrives as JSON.
        """
        for name, rate in (("rate_limit", rate_limit), ("test_rate_limit", test_rate_limit)):
            if isinstance(rate, int | float) and not 0 <= rate < float("inf"):
                raise ValueError(f"{name} must be a finite number of calls per second, 0 or None for no limit")
        if not isinstance(rate_window, _Unset) and rate_window not in RATE_WINDOWS:
            raise ValueError(f"rate_window must be one of {', '.join(RATE_WINDOWS)}")
        with self._lock:
            if not isinstance(rate_limit, _Unset):
                self.rate_limit = float(rate_limit) if rate_limit else None
            if not isinstance(test_rate_limit, _Unset):
                self._test_rate_auto = test_rate_limit is None
                self._test_rate_limit = float(test_rate_limit) if test_rate_limit else None
            if not isinstance(rate_window, _Unset):
                self.rate_window = rate_window
            if self._test_rate_auto:
                self._test_rate_limit = None if self.rate_limit is None else self.rate_limit / 2
            for name, value in (
                ("clear_empty_code", clear_empty_code),
                ("delete_unknown_code", delete_unknown_code),
                ("create_existing_code", create_existing_code),
            ):
                if not isinstance(value, _Unset):
                    self.switches[name] = value
            self._windows.clear()  # a new rate starts afresh: an empty window, a full bucket
            return self._config()

    def config(self) -> dict[str, Any]:
        with self._lock:
            return self._config()

    def _config(self) -> dict[str, Any]:
        return {
            "rate_limit": self.rate_limit,
            "test_rate_limit": self._test_rate_limit,
            "rate_window": self.rate_window,
            **self.switches,
        }

    # --- request log ----------------------------------------------------------------

    def new_request_id(self) -> str:
        """A fresh numeric RequestId, like ZEGO's 19-digit ones."""
        with self._lock:
            return str(next(self._request_ids))

    def record(self, entry: Mapping[str, Any]) -> None:
        """Append to the log, bounded in entries and bytes; the caller has already removed the secrets."""
        kept = dict(entry)
        size = len(json.dumps(kept, default=str))
        with self._lock:
            self._log.append((size, kept))
            self._log_bytes += size
            while self._log and (len(self._log) > self._log_size or self._log_bytes > self._log_limit):
                dropped, _ = self._log.popleft()
                self._log_bytes -= dropped

    def requests(self, action: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(entry) for _, entry in self._log if action is None or entry.get("action") == action]

    # --- internals ------------------------------------------------------------------

    def _stale(self, stream_id: str, sequence: int | None) -> Outcome | None:
        """The stale-sequence answer, or None if `sequence` may go."""
        if sequence is None:
            return None
        now = self.clock()
        last = self._sequences.get(stream_id)
        if last is not None and now - last[1] < SEQUENCE_WINDOW and sequence <= last[0]:
            return Outcome(
                INVALID_REQUEST,
                f"Sequence {sequence} is stale: not greater than {last[0]}, the last one for this StreamId "
                f"{now - last[1]:.1f} s ago (it must strictly increase within {SEQUENCE_WINDOW:g} s)",
            )
        return None

    def _commit(self, stream_id: str, rules: list[Rule], sequence: int | None) -> None:
        """Write the stream's new rules and Sequence, then apply them: memory never runs ahead of the file.

        Raises StateWriteError (nothing applied) when the state file cannot be written.
        """
        now = self.clock()
        if self._file is not None:
            sequences = {**self._sequences, **({stream_id: (sequence, now)} if sequence is not None else {})}
            others = ((s, rule) for s, kept in self._rules.items() if s != stream_id for rule in kept)
            everything = [*others, *((stream_id, rule) for rule in rules)]
            self._file.save(
                StateFile.document(
                    self.app_id,
                    ((s, rule.cdn_url, rule.status) for s, rule in everything),
                    ((s, n, t) for s, (n, t) in sequences.items()),
                )
            )
        if rules:
            self._rules[stream_id] = rules
        else:
            self._rules.pop(stream_id, None)
        if sequence is not None:
            self._sequences[stream_id] = (sequence, now)
            if len(self._sequences) > SEQUENCE_BOUND:  # old entries no longer constrain anything
                self._sequences = {k: v for k, v in self._sequences.items() if now - v[1] < SEQUENCE_WINDOW}
