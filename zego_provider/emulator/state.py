"""The emulator's backend: relay rules, sequences, rate buckets, request log and faults, with no HTTP.

Kept apart from the HTTP front (moto's backend/front split) so that tests can inspect and
drive the state directly, and so that every rule ZEGO documents, or leaves undocumented
and we made switchable, lives in one place. One lock guards everything: the emulator
serves a handful of test clients, so simplicity beats lock granularity.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import secrets
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..identity import relay_identity

SCHEDULED: Literal["scheduled"] = "scheduled"
ACTIVE: Literal["active"] = "active"
RuleStatus = Literal["scheduled", "active"]

SEQUENCE_WINDOW = 10.0
"""ZEGO: within 10 consecutive seconds, a stream's sequence numbers must strictly increase."""
LOG_SIZE = 10_000
MAX_DELAY = 30.0
"""An injected delay is capped so that a typo cannot hang a test run."""
SWITCHES = ("clear_empty_code", "delete_unknown_code", "create_existing_code")
"""The undocumented cases; 0 (success) unless a test wants ZEGO to be stricter."""
FAULT_EFFECTS = ("code", "http_status", "delay", "drop", "malformed")
STATE_FORMAT = 1

# Codes the backend answers itself; the HTTP front owns the gateway codes.
SUCCESS = 0
INVALID_REQUEST = 5005


@dataclass
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


@dataclass(frozen=True)
class FaultHit:
    """The effect a request was chosen for; `value` is the code, HTTP status or delay."""

    fault_id: int
    effect: str
    value: float

    def describe(self) -> dict[str, Any]:
        value: Any = True if self.effect in ("drop", "malformed") else self.value
        return {"id": self.fault_id, self.effect: value}


@dataclass
class _Fault:
    fault_id: int
    effect: str
    value: float
    action: str | None
    stream_id: str | None
    remaining: int | None
    probability: float | None
    seed: int | None
    rng: random.Random
    skip: int = 0
    fired: int = 0

    def matches(self, action: str | None, stream_id: str | None) -> bool:
        return (self.action is None or self.action == action) and (
            self.stream_id is None or self.stream_id == stream_id
        )

    def to_json(self) -> dict[str, Any]:
        described = FaultHit(self.fault_id, self.effect, self.value).describe()
        described["match"] = {
            key: value for key, value in (("action", self.action), ("stream_id", self.stream_id)) if value is not None
        }
        if self.probability is not None:
            described.update(probability=self.probability, seed=self.seed)
        else:
            described["count"] = self.remaining
        described["skip"] = self.skip
        described["fired"] = self.fired
        return described


class _Bucket:
    """Capacity `rate`, refilled at `rate` tokens/s: a client spaced at the limit always gets a token."""

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.updated = now

    def take(self, now: float) -> bool:
        # max(): an injected clock may step back; never refill on negative time.
        self.tokens = min(self.rate, self.tokens + max(0.0, now - self.updated) * self.rate)
        self.updated = max(self.updated, now)
        # A client spaced at exactly 1/rate must not lose to float rounding.
        if self.tokens >= 1.0 - 1e-9:
            self.tokens -= 1.0
            return True
        return False


def _strict_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _rate(name: str, value: Any) -> float | None:
    """0 or None turn a limit off; anything else must be a positive number."""
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a non-negative number or null")
    return float(value) or None


class EmulatorState:
    """Everything the emulator remembers, per AppId; methods are named after the ZEGO actions."""

    def __init__(
        self,
        app_id: int,
        *,
        rate_limit: float | None = 10.0,
        test_rate_limit: float | None = None,
        clock: Callable[[], float] = time.time,
        state_file: str | os.PathLike[str] | None = None,
        clear_empty_code: int = 0,
        delete_unknown_code: int = 0,
        create_existing_code: int = 0,
        log_size: int = LOG_SIZE,
    ) -> None:
        """`test_rate_limit` None means half of `rate_limit` (ZEGO: 5/s against 10/s); 0 turns it off."""
        self.app_id = app_id
        self.clock = clock
        self.state_file = Path(state_file) if state_file is not None else None
        self._lock = threading.Lock()
        self._rules: dict[tuple[int, str], list[Rule]] = {}
        self._sequences: dict[tuple[int, str], tuple[int, float]] = {}
        self._buckets: dict[tuple[int, bool], _Bucket] = {}
        self._log: deque[dict[str, Any]] = deque(maxlen=log_size)
        self._faults: list[_Fault] = []
        self._fault_ids = itertools.count(1)
        self._request_ids = itertools.count(10**18 + secrets.randbelow(8 * 10**18))
        self.rate_limit: float | None = None
        self._test_rate_limit: float | None = None
        self._test_rate_auto = True
        self.switches: dict[str, int] = dict.fromkeys(SWITCHES, 0)
        self.configure(
            rate_limit=rate_limit,
            test_rate_limit=test_rate_limit,
            clear_empty_code=clear_empty_code,
            delete_unknown_code=delete_unknown_code,
            create_existing_code=create_existing_code,
        )
        if self.state_file is not None and self.state_file.exists():
            self._load(self.state_file)

    # --- the three ZEGO actions, plus what a live stream does -------------------------

    def create_rule(
        self, stream_id: str, cdn_url: str, sequence: int | None = None, *, app_id: int | None = None
    ) -> Outcome:
        """Schedule a relay; it turns active when the stream is published."""
        key = self._key(stream_id, app_id)
        with self._lock:
            stale = self._accept_sequence(key, sequence)
            if stale is not None:
                return stale
            rules = self._rules.setdefault(key, [])
            identity = relay_identity(cdn_url)
            if any(relay_identity(rule.cdn_url) == identity for rule in rules):
                # The existing rule (and its status) stays untouched.
                return self._undocumented_case("create_existing_code", "a rule for this CDNUrl already exists")
            rules.append(Rule(cdn_url))
            self._save()
            return Outcome(SUCCESS)

    def delete_rule(
        self, stream_id: str, cdn_url: str, sequence: int | None = None, *, app_id: int | None = None
    ) -> Outcome:
        """Remove the rule for this URL (query ignored), stopping it if it is running."""
        key = self._key(stream_id, app_id)
        with self._lock:
            stale = self._accept_sequence(key, sequence)
            if stale is not None:
                return stale
            rules = self._rules.get(key, [])
            identity = relay_identity(cdn_url)
            kept = [rule for rule in rules if relay_identity(rule.cdn_url) != identity]
            if len(kept) == len(rules):
                return self._undocumented_case("delete_unknown_code", "no rule for this CDNUrl")
            self._set_rules(key, kept)
            self._save()
            return Outcome(SUCCESS)

    def clear_rules(self, stream_id: str, sequence: int | None = None, *, app_id: int | None = None) -> Outcome:
        """Drop the scheduled rules only: ZEGO's Clear does not stop a running relay."""
        key = self._key(stream_id, app_id)
        with self._lock:
            stale = self._accept_sequence(key, sequence)
            if stale is not None:
                return stale
            rules = self._rules.get(key, [])
            kept = [rule for rule in rules if rule.status == ACTIVE]
            if len(kept) == len(rules):
                return self._undocumented_case("clear_empty_code", "the stream has no scheduled relay")
            self._set_rules(key, kept)
            self._save()
            return Outcome(SUCCESS)

    def _undocumented_case(self, switch: str, problem: str) -> Outcome:
        """A case ZEGO does not document: answered 0 unless `switch` names an error code."""
        self._save()  # the sequence moved
        code = self.switches[switch]
        return Outcome(code, "" if code == SUCCESS else problem)

    def publish(self, stream_id: str, *, app_id: int | None = None) -> int:
        """The stream starts publishing: its scheduled relays start. Returns how many started."""
        key = self._key(stream_id, app_id)
        with self._lock:
            started = 0
            for rule in self._rules.get(key, []):
                if rule.status == SCHEDULED:
                    rule.status = ACTIVE
                    started += 1
            if started:
                self._save()
            return started

    def rules(self, stream_id: str, *, app_id: int | None = None) -> list[dict[str, str]]:
        with self._lock:
            return [rule.to_json() for rule in self._rules.get(self._key(stream_id, app_id), [])]

    def snapshot(self, *, app_id: int | None = None) -> dict[str, list[dict[str, str]]]:
        """Every stream of the app that has rules: {stream_id: [{"cdn_url", "status"}]}."""
        wanted = self.app_id if app_id is None else app_id
        with self._lock:
            return {
                stream: [rule.to_json() for rule in rules]
                for (owner, stream), rules in sorted(self._rules.items())
                if owner == wanted
            }

    def reset(self) -> None:
        """Forget rules, sequences, the log, faults and spent rate tokens; keep the configuration."""
        with self._lock:
            self._rules.clear()
            self._sequences.clear()
            self._buckets.clear()
            self._log.clear()
            self._faults.clear()
            self._save()

    # --- rate limit and configuration -----------------------------------------------

    def admit(self, *, is_test: bool = False, app_id: int | None = None) -> bool:
        """Take a token from the AppId's bucket; False means ZEGO would answer 5007."""
        owner = self.app_id if app_id is None else app_id
        with self._lock:
            rate = self._test_rate_limit if is_test else self.rate_limit
            if rate is None:
                return True
            now = self.clock()
            bucket = self._buckets.get((owner, is_test))
            if bucket is None:
                bucket = self._buckets[(owner, is_test)] = _Bucket(rate, now)
            return bucket.take(now)

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Change the rate limits and switches at run time; returns the resulting configuration.

        Validates everything before changing anything, so a bad request changes nothing.
        """
        unknown = sorted(set(settings) - {"rate_limit", "test_rate_limit", *SWITCHES})
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
        for name in SWITCHES:
            if name in settings and not _strict_int(settings[name]):
                raise ValueError(f"{name} must be an integer (0 = success)")
        rate = _rate("rate_limit", settings["rate_limit"]) if "rate_limit" in settings else self.rate_limit
        test_auto = self._test_rate_auto
        test_rate = self._test_rate_limit
        if "test_rate_limit" in settings:
            test_auto = settings["test_rate_limit"] is None
            test_rate = None if test_auto else _rate("test_rate_limit", settings["test_rate_limit"])
        with self._lock:
            self.rate_limit = rate
            self._test_rate_auto = test_auto
            self._test_rate_limit = (None if rate is None else rate / 2) if test_auto else test_rate
            for name in SWITCHES:
                if name in settings:
                    self.switches[name] = settings[name]
            self._buckets.clear()  # a new rate starts with a full bucket
            return self._config()

    def config(self) -> dict[str, Any]:
        with self._lock:
            return self._config()

    def _config(self) -> dict[str, Any]:
        return {"rate_limit": self.rate_limit, "test_rate_limit": self._test_rate_limit, **self.switches}

    # --- faults -------------------------------------------------------------------

    def add_fault(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Register a fault from its JSON shape; raises ValueError when malformed.

        {"match": {"action", "stream_id"} (optional), "skip": N (let N matching requests
        through first), "count": N (default 1) or "probability": p with "seed": s, and one
        effect: "code" | "http_status" | "delay" | "drop" | "malformed"}.
        """
        known = {"match", "count", "probability", "seed", "skip", *FAULT_EFFECTS}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(unknown)}")
        match = spec.get("match") or {}
        if not isinstance(match, Mapping) or set(match) - {"action", "stream_id"}:
            raise ValueError('match must be an object with optional "action" and "stream_id"')
        for field in ("action", "stream_id"):
            if field in match and not isinstance(match[field], str):
                raise ValueError(f"match.{field} must be a string")
        effects = [name for name in FAULT_EFFECTS if name in spec]
        if len(effects) != 1:
            raise ValueError(f"give exactly one effect of {', '.join(FAULT_EFFECTS)}")
        effect = effects[0]
        value = self._effect_value(effect, spec[effect])
        count, probability, seed = spec.get("count"), spec.get("probability"), spec.get("seed")
        if count is not None and probability is not None:
            raise ValueError("give count or probability, not both")
        if probability is None:
            count = 1 if count is None else count
            if not _strict_int(count) or count < 1:
                raise ValueError("count must be a positive integer")
        elif not isinstance(probability, int | float) or isinstance(probability, bool) or not 0 < probability <= 1:
            raise ValueError("probability must be a number in (0, 1]")
        if seed is not None and not _strict_int(seed):
            raise ValueError("seed must be an integer")
        skip = spec.get("skip", 0)
        if not _strict_int(skip) or skip < 0:
            raise ValueError("skip must be a non-negative integer")
        if probability is not None and seed is None:
            seed = secrets.randbits(32)
        with self._lock:
            fault = _Fault(
                fault_id=next(self._fault_ids),
                effect=effect,
                value=value,
                action=match.get("action"),
                stream_id=match.get("stream_id"),
                remaining=count,
                probability=None if probability is None else float(probability),
                seed=seed,
                rng=random.Random(seed),  # noqa: S311 - reproducible test faults, not security
                skip=skip,
            )
            self._faults.append(fault)
            return fault.to_json()

    @staticmethod
    def _effect_value(effect: str, raw: Any) -> float:
        if effect == "code":
            if not _strict_int(raw):
                raise ValueError("code must be an integer")
            return int(raw)
        if effect == "http_status":
            if not _strict_int(raw) or not 400 <= raw <= 599:
                raise ValueError("http_status must be an integer from 400 to 599")
            return int(raw)
        if effect == "delay":
            if not isinstance(raw, int | float) or isinstance(raw, bool) or raw < 0:
                raise ValueError("delay must be a non-negative number of seconds")
            return min(float(raw), MAX_DELAY)
        if raw is not True:
            raise ValueError(f"{effect} must be true")
        return 1

    def faults(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.to_json() for fault in self._faults]

    def clear_faults(self) -> int:
        with self._lock:
            cleared = len(self._faults)
            self._faults.clear()
            return cleared

    def take_fault(self, action: str | None, stream_id: str | None) -> FaultHit | None:
        """The first registered fault that matches this request and fires, spending one of its count."""
        with self._lock:
            for fault in self._faults:
                if not fault.matches(action, stream_id):
                    continue
                if fault.skip > 0:  # let the first `skip` matching requests through untouched
                    fault.skip -= 1
                    continue
                if fault.probability is not None and fault.rng.random() >= fault.probability:
                    continue
                fault.fired += 1
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                return FaultHit(fault.fault_id, fault.effect, fault.value)
            return None

    # --- request log ----------------------------------------------------------------

    def new_request_id(self) -> str:
        """A fresh numeric RequestId, like ZEGO's 19-digit ones."""
        with self._lock:
            return str(next(self._request_ids))

    def record(self, entry: Mapping[str, Any]) -> None:
        """Append to the bounded log; the caller has already removed the Signature."""
        with self._lock:
            self._log.append(dict(entry))

    def requests(self, action: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(entry) for entry in self._log if action is None or entry.get("action") == action]

    # --- internals ------------------------------------------------------------------

    def _key(self, stream_id: str, app_id: int | None) -> tuple[int, str]:
        return (self.app_id if app_id is None else app_id, stream_id)

    def _set_rules(self, key: tuple[int, str], rules: list[Rule]) -> None:
        if rules:
            self._rules[key] = rules
        else:
            self._rules.pop(key, None)

    def _accept_sequence(self, key: tuple[int, str], sequence: int | None) -> Outcome | None:
        """None if `sequence` may go (and is now the last); else the stale-sequence answer."""
        if sequence is None:
            return None
        now = self.clock()
        last = self._sequences.get(key)
        if last is not None and now - last[1] < SEQUENCE_WINDOW and sequence <= last[0]:
            return Outcome(
                INVALID_REQUEST,
                f"Sequence {sequence} is stale: not greater than {last[0]}, the last one for this StreamId "
                f"{now - last[1]:.1f} s ago (it must strictly increase within {SEQUENCE_WINDOW:g} s)",
            )
        self._sequences[key] = (sequence, now)
        if len(self._sequences) > LOG_SIZE:  # bound memory: old entries no longer constrain anything
            self._sequences = {k: v for k, v in self._sequences.items() if now - v[1] < SEQUENCE_WINDOW}
        return None

    def _save(self) -> None:
        """Write rules and sequences atomically (tmp + replace), so another process never reads half a file."""
        if self.state_file is None:
            return
        document = {
            "format": STATE_FORMAT,
            "rules": [
                {"app_id": app_id, "stream_id": stream_id, **rule.to_json()}
                for (app_id, stream_id), rules in self._rules.items()
                for rule in rules
            ],
            "sequences": [
                {"app_id": app_id, "stream_id": stream_id, "sequence": sequence, "time": at}
                for (app_id, stream_id), (sequence, at) in self._sequences.items()
            ],
        }
        directory = self.state_file.parent
        directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{self.state_file.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(document, stream, ensure_ascii=False)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, self.state_file)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def _load(self, path: Path) -> None:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            if document.get("format") != STATE_FORMAT:
                raise ValueError(f"unsupported format {document.get('format')!r}")
            for entry in document["rules"]:
                status = entry["status"]
                if status not in (SCHEDULED, ACTIVE):
                    raise ValueError(f"unknown rule status {status!r}")
                key = (int(entry["app_id"]), str(entry["stream_id"]))
                self._rules.setdefault(key, []).append(Rule(str(entry["cdn_url"]), status))
            for entry in document["sequences"]:
                key = (int(entry["app_id"]), str(entry["stream_id"]))
                self._sequences[key] = (int(entry["sequence"]), float(entry["time"]))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"emulator state file {path} is unreadable: {error}") from None
