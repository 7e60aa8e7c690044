"""Injected faults: what a test asks the emulator to do wrong, declared as pydantic models.

A fault is a match (Action, StreamId), a schedule (skip the first N matching requests, then
fire `count` times or with a seeded `probability`) and exactly one effect. The effects are a
discriminated union, told apart by the one effect key the admin JSON carries
(`{"code": 5000}`, `{"drop": true}`...), so a bad fault is refused by validation naming the
field, and the HTTP front dispatches on the effect's type instead of on a float that may be a
code, a status or a delay.
"""

from __future__ import annotations

import itertools
import random
import secrets
import threading
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictInt,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from . import strictjson

MAX_DELAY = 30.0
"""An injected delay is capped so that a typo cannot hang a test run."""


class _Effect(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def describe(self) -> dict[str, Any]:
        return self.model_dump()


class CodeEffect(_Effect):
    """Answer this ZEGO code (HTTP 200, ZEGO JSON) instead of processing the request."""

    code: StrictInt


class HttpStatusEffect(_Effect):
    """Answer this HTTP error status with a body that is not ZEGO JSON."""

    http_status: StrictInt = Field(ge=400, le=599)


class DelayEffect(_Effect):
    """Wait this many seconds (at most MAX_DELAY, cut short when the emulator stops), then process normally."""

    delay: float = Field(ge=0, strict=True, allow_inf_nan=False)

    @field_validator("delay")
    @classmethod
    def _cap(cls, delay: float) -> float:
        return min(delay, MAX_DELAY)


class DropEffect(_Effect):
    """Close the connection without an answer."""

    drop: Literal[True]


class MalformedEffect(_Effect):
    """Answer HTTP 200 with a body that is not JSON."""

    malformed: Literal[True]


class CutEffect(_Effect):
    """Send the headers with the full Content-Length, then half the body, then close: a reply cut mid-body."""

    cut: Literal[True]


class ResetEffect(_Effect):
    """Read the request, then reset the connection (SO_LINGER 0): the client gets ECONNRESET, no answer."""

    reset: Literal[True]


EFFECTS: dict[str, type[_Effect]] = {
    "code": CodeEffect,
    "http_status": HttpStatusEffect,
    "delay": DelayEffect,
    "drop": DropEffect,
    "malformed": MalformedEffect,
    "cut": CutEffect,
    "reset": ResetEffect,
}


def _effect_kind(value: Any) -> str | None:
    """The one effect key present (the union's tag); None when there is none or several."""
    keys = value.keys() if isinstance(value, dict) else type(value).model_fields if isinstance(value, _Effect) else ()
    present = [name for name in EFFECTS if name in keys]
    return present[0] if len(present) == 1 else None


Effect = Annotated[
    Annotated[CodeEffect, Tag("code")]
    | Annotated[HttpStatusEffect, Tag("http_status")]
    | Annotated[DelayEffect, Tag("delay")]
    | Annotated[DropEffect, Tag("drop")]
    | Annotated[MalformedEffect, Tag("malformed")]
    | Annotated[CutEffect, Tag("cut")]
    | Annotated[ResetEffect, Tag("reset")],
    Discriminator(
        _effect_kind,
        custom_error_type="fault_effect",
        custom_error_message=f"give exactly one effect of {', '.join(EFFECTS)}",
    ),
]


class Match(BaseModel):
    """Which requests a fault may land on; an absent field matches any value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: str | None = Field(default=None, strict=True)
    stream_id: str | None = Field(default=None, strict=True)


class FaultSpec(BaseModel):
    """A fault as the admin route takes it: `{"match": {...}, "skip": N, "count": N | "probability": p,
    "seed": s, <one effect key>: value}`; the effect key may also come nested as `"effect": {...}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    match: Match = Match()
    skip: StrictInt = Field(default=0, ge=0)
    count: StrictInt | None = Field(default=None, ge=1)
    probability: float | None = Field(default=None, gt=0, le=1, strict=True, allow_inf_nan=False)
    seed: StrictInt | None = None
    effect: Effect

    @model_validator(mode="before")
    @classmethod
    def _lift_effect(cls, data: Any) -> Any:
        """The flat admin shape ({"code": 5000, ...}) puts the effect beside the schedule: nest it."""
        if isinstance(data, dict) and "effect" not in data:
            data = dict(data)
            data["effect"] = {name: data.pop(name) for name in EFFECTS if name in data}
        return data

    @model_validator(mode="after")
    def _count_or_probability(self) -> FaultSpec:
        if self.count is not None and self.probability is not None:
            raise ValueError("give count or probability, not both")
        return self


def problem_of(error: ValidationError) -> str:
    """One line naming each bad field (`code: Input should be a valid integer`), without input values;
    "effect" is implicit in the flat shape."""
    return strictjson.problem_of(error, whole="fault", implicit="effect")


@dataclass(frozen=True)
class FaultHit:
    """The fault a request was chosen for, and its typed effect."""

    fault_id: int
    effect: _Effect

    def describe(self) -> dict[str, Any]:
        return {"id": self.fault_id, **self.effect.describe()}


@dataclass
class Fault:
    """A registered fault and its schedule as it runs down."""

    fault_id: int
    spec: FaultSpec
    rng: random.Random
    skip: int
    remaining: int | None
    seed: int | None
    fired: int = 0

    def matches(self, action: str | None, stream_id: str | None) -> bool:
        match = self.spec.match
        return (match.action is None or match.action == action) and (
            match.stream_id is None or match.stream_id == stream_id
        )

    def describe(self) -> dict[str, Any]:
        described = FaultHit(self.fault_id, self.spec.effect).describe()
        described["match"] = self.spec.match.model_dump(exclude_none=True)
        if self.spec.probability is not None:
            described.update(probability=self.spec.probability, seed=self.seed)
        else:
            described["count"] = self.remaining
        described["skip"] = self.skip
        described["fired"] = self.fired
        return described


class FaultBook:
    """The registered faults, in order; thread-safe. The first matching fault that fires wins."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, spec: FaultSpec | dict[str, Any]) -> dict[str, Any]:
        """Register a fault (a FaultSpec, or its JSON shape: raises ValidationError when malformed)."""
        if not isinstance(spec, FaultSpec):
            spec = FaultSpec.model_validate(spec)
        seed = spec.seed
        if spec.probability is not None and seed is None:
            seed = secrets.randbits(32)
        with self._lock:
            fault = Fault(
                fault_id=next(self._ids),
                spec=spec,
                rng=random.Random(seed),  # noqa: S311 - reproducible test faults, not security
                skip=spec.skip,
                remaining=(spec.count or 1) if spec.probability is None else None,
                seed=seed,
            )
            self._faults.append(fault)
            return fault.describe()

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.describe() for fault in self._faults]

    def clear(self) -> int:
        with self._lock:
            cleared = len(self._faults)
            self._faults.clear()
            return cleared

    def take(self, action: str | None, stream_id: str | None) -> FaultHit | None:
        """The first registered fault that matches this request and fires, spending one of its count."""
        with self._lock:
            for fault in self._faults:
                if not fault.matches(action, stream_id):
                    continue
                if fault.skip > 0:  # let the first `skip` matching requests through untouched
                    fault.skip -= 1
                    continue
                if fault.spec.probability is not None and fault.rng.random() >= fault.spec.probability:
                    continue
                fault.fired += 1
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                return FaultHit(fault.fault_id, fault.spec.effect)
            return None
