"""Strict JSON reading for what the emulator is handed (admin bodies, its state file).

The standard `json` module accepts `NaN`, `Infinity` and `1e400` (read as inf) and recurses
once per nesting level, so hostile input either poisons later output (the emulator would
answer invalid JSON) or ends in a RecursionError. Everything here fails as a ValueError
with a one-line message instead.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 32
"""Deeper than anything the emulator reads legitimately (its state file nests 3 levels)."""

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_]{1,40}")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]} is out of range")
    return value


def nesting_depth(text: str) -> int:
    """How deep arrays and objects nest, brackets inside strings not counted."""
    depth = deepest = 0
    for char in _STRING.sub('""', text):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def loads(data: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON, refusing non-finite numbers and nesting deeper than `max_depth` (ValueError)."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise ValueError("not UTF-8") from None
    if nesting_depth(text) > max_depth:
        raise ValueError(f"nested deeper than {max_depth} levels")
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:  # only if the depth scan above was fooled; never let it escape
        raise ValueError(f"nested deeper than {max_depth} levels") from None
    except ValueError as error:
        raise ValueError(str(error).splitlines()[0] if str(error) else "not JSON") from None


def field_name(part: str | int) -> str:
    """One step of a validation error's path, safe to print: a key the sender made up comes quoted,
    cut short and on one line, so an error message can never span lines or echo a long input."""
    text = str(part)
    return text if _PLAIN_NAME.fullmatch(text) else json.dumps(text[:40])
