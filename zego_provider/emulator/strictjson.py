"""Strict JSON reading for what the emulator is handed (admin bodies, its state file), and its problems in one line.

pydantic-core's parser (jiter) reads the document: it never recurses past its own limit and
reports one line. What it lets through is checked on the parsed value: `NaN`, `Infinity` or a
number out of range (read as inf) would poison later output (the emulator would answer
invalid JSON), and nesting deeper than MAX_DEPTH is nothing the emulator reads legitimately.
Everything fails as a ValueError with a one-line message.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from pydantic import ValidationError
from pydantic_core import from_json

MAX_DEPTH = 32
"""Deeper than anything the emulator reads legitimately (its state file nests 3 levels)."""

_PLAIN_NAME = re.compile(r"[A-Za-z0-9_]{1,40}")


def _problem(value: Any, depth: int) -> str | None:
    """Why a parsed value is refused; the parser's own limit bounds this recursion."""
    if isinstance(value, float) and not math.isfinite(value):
        return "non-finite number (NaN, Infinity or out of range) is not JSON"
    if not isinstance(value, dict | list):
        return None
    if depth >= MAX_DEPTH:
        return f"nested deeper than {MAX_DEPTH} levels"
    children = value.values() if isinstance(value, dict) else value
    return next((problem for child in children if (problem := _problem(child, depth + 1))), None)


def loads(data: bytes | str) -> Any:
    """Parse JSON, refusing non-finite numbers and nesting deeper than MAX_DEPTH (ValueError)."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise ValueError("not UTF-8") from None
    try:
        value = from_json(text, allow_inf_nan=True)  # NaN and Infinity are named below
    except ValueError as error:
        if "recursion limit" in str(error):
            raise ValueError(f"nested deeper than {MAX_DEPTH} levels") from None
        raise ValueError(str(error).splitlines()[0] if str(error) else "not JSON") from None
    problem = _problem(value, 0)
    if problem:
        raise ValueError(problem)
    return value


def problem_of(error: ValidationError, *, whole: str, implicit: str = "", most: int = 3) -> str:
    """One line naming each bad field (`rules.0.status: Input should be ...`), never input values:
    the first `most`, then how many more. `whole` names a problem of the whole document; a path
    step named `implicit` (a union's tag repeating the field) is left out."""
    problems = []
    for problem in error.errors(include_input=False, include_url=False)[:most]:
        path: list[str] = []
        for part in problem["loc"]:
            text = _field_name(part)
            if text == implicit or (path and path[-1] == text):
                continue
            path.append(text)
        where = ".".join(path) or (implicit if problem["loc"] and implicit else whole)
        problems.append(f"{where}: {problem['msg'].removeprefix('Value error, ')}")
    more = f" (and {error.error_count() - most} more)" if error.error_count() > most else ""
    return "; ".join(problems) + more


def _field_name(part: str | int) -> str:
    """One step of a validation error's path, safe to print: a key the sender made up comes quoted,
    cut short and on one line, so an error message can never span lines or echo a long input."""
    text = str(part)
    return text if _PLAIN_NAME.fullmatch(text) else json.dumps(text[:40])
