"""GitHub Actions expressions (`${{ }}` and `if:`), the subset our example workflows use.

Enough of GitHub's rules to run a workflow as GitHub would: property access into contexts,
string/number/boolean/null literals, `==` `!=` (case-insensitive strings, numeric coercion
across types), `!` `&&` `||` returning operands, parentheses, the status functions and
`hashFiles`. Anything else (other operators, functions, index syntax, unknown contexts) is
refused with an error, so a workflow never passes here on a guess of what GitHub would do.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STATUS_FUNCTIONS = frozenset({"success", "always", "failure", "cancelled"})
_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||[!().,])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)
_INTERPOLATION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


class ExpressionError(ValueError):
    """An expression this runner does not model, or one GitHub itself would reject."""


@dataclass(frozen=True)
class Status:
    """What the status functions answer at this point of the job (or of the needed jobs)."""

    failed: bool = False
    cancelled: bool = False


@dataclass
class Scope:
    """The contexts an expression may read, and what its functions need."""

    contexts: Mapping[str, Any]
    status: Status | None = None  # None: status functions are not allowed here
    workspace: Path | None = None  # for hashFiles; None: not allowed here


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ExpressionError(f"cannot read the expression at {text[position:]!r} in {text!r}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    """Recursive descent over `||` < `&&` < `==`/`!=` < `!` < primary; builds closures."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.index = 0
        self.status_functions: set[str] = set()

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise ExpressionError(f"expected {value or 'more'} in {self.text!r}")
        self.index += 1
        return token

    def parse(self) -> Callable[[Scope], Any]:
        node = self.or_()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek()[1]!r} in {self.text!r}")  # type: ignore[index]
        return node

    def or_(self) -> Callable[[Scope], Any]:
        node = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            node = _either(node, self.and_())
        return node

    def and_(self) -> Callable[[Scope], Any]:
        node = self.equality()
        while self.peek() == ("op", "&&"):
            self.take()
            node = _both(node, self.equality())
        return node

    def equality(self) -> Callable[[Scope], Any]:
        node = self.unary()
        while self.peek() in (("op", "=="), ("op", "!=")):
            _, op = self.take()
            node = _compare(node, self.unary(), negate=op == "!=")
        return node

    def unary(self) -> Callable[[Scope], Any]:
        if self.peek() == ("op", "!"):
            self.take()
            operand = self.unary()
            return lambda s: not truthy(operand(s))
        return self.primary()

    def primary(self) -> Callable[[Scope], Any]:
        kind, value = self.take()
        if kind == "string":
            text = value[1:-1].replace("''", "'")
            return lambda s: text
        if kind == "number":
            number = float(value)
            return lambda s: number
        if (kind, value) == ("op", "("):
            node = self.or_()
            self.take(")")
            return node
        if kind != "name":
            raise ExpressionError(f"unexpected {value!r} in {self.text!r}")
        if value in ("true", "false", "null"):
            constant = {"true": True, "false": False, "null": None}[value]
            return lambda s: constant
        if self.peek() == ("op", "("):
            return self.call(value)
        path = [value]
        while self.peek() == ("op", "."):
            self.take()
            kind, name = self.take()
            if kind != "name":
                raise ExpressionError(f"expected a property name after '.' in {self.text!r}")
            path.append(name)
        return lambda s: lookup(s, path)

    def call(self, name: str) -> Callable[[Scope], Any]:
        self.take("(")
        args: list[Callable[[Scope], Any]] = []
        while self.peek() != ("op", ")"):
            args.append(self.or_())
            if self.peek() == ("op", ","):
                self.take()
        self.take(")")
        if name in STATUS_FUNCTIONS:
            if args:
                raise ExpressionError(f"{name}() takes no arguments")
            self.status_functions.add(name)
            return lambda s: status_function(s, name)
        if name == "hashFiles":
            return lambda s: hash_files(s, [str(arg(s)) for arg in args])
        raise ExpressionError(f"function {name}() is not modelled by this runner ({self.text!r})")


Node = Callable[[Scope], Any]


def _either(left: Node, right: Node) -> Node:
    """`a || b`: the first truthy operand, else the last (operands, not booleans)."""

    def node(scope: Scope) -> Any:
        value = left(scope)
        return value if truthy(value) else right(scope)

    return node


def _both(left: Node, right: Node) -> Node:
    """`a && b`: the first falsy operand, else the last."""

    def node(scope: Scope) -> Any:
        value = left(scope)
        return right(scope) if truthy(value) else value

    return node


def _compare(left: Node, right: Node, *, negate: bool) -> Node:
    def node(scope: Scope) -> bool:
        return equal(left(scope), right(scope)) != negate

    return node


def lookup(scope: Scope, path: list[str]) -> Any:
    """A property path into a context; a missing property is null, as on GitHub."""
    head, *rest = path
    if head not in scope.contexts:
        raise ExpressionError(f"context {head!r} is not available here (have: {sorted(scope.contexts)})")
    value: Any = scope.contexts[head]
    if head == "inputs" and rest and rest[0] not in value:
        raise ExpressionError(f"inputs.{rest[0]} is not an input of this workflow")
    for name in rest:
        value = value.get(name) if isinstance(value, Mapping) else None
    return value


def status_function(scope: Scope, name: str) -> bool:
    if scope.status is None:
        raise ExpressionError(f"{name}() is only allowed in `if:`")
    return {
        "always": True,
        "cancelled": scope.status.cancelled,
        "failure": scope.status.failed and not scope.status.cancelled,
        "success": not scope.status.failed and not scope.status.cancelled,
    }[name]


def hash_files(scope: Scope, patterns: list[str]) -> str:
    """GitHub's hashFiles: a SHA-256 over the SHA-256 of each matched file, '' if none."""
    if scope.workspace is None:
        raise ExpressionError("hashFiles() is not allowed here")
    files = sorted({path for pattern in patterns for path in scope.workspace.glob(pattern) if path.is_file()})
    if not files:
        return ""
    outer = hashlib.sha256()
    for path in files:
        outer.update(hashlib.sha256(path.read_bytes()).digest())
    return outer.hexdigest()


def truthy(value: Any) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return False
    return value not in (None, False, 0, "")


def _number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return 0.0
        try:
            return float(text)
        except ValueError:
            return math.nan
    return math.nan


def equal(left: Any, right: Any) -> bool:
    """GitHub's loose equality: same types compare directly (strings ignoring case), else as numbers."""
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()
    if type(left) is type(right) and not isinstance(left, Mapping | list):
        return bool(left == right)
    if isinstance(left, Mapping | list) or isinstance(right, Mapping | list):
        return left is right
    return _number(left) == _number(right)


def to_text(value: Any) -> str:
    """How GitHub writes a value into a string."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int | str):
        return str(value)
    raise ExpressionError(f"cannot write an object or array into a string: {value!r}")


def evaluate(expression: str, scope: Scope) -> Any:
    return _Parser(expression).parse()(scope)


def interpolate(text: str, scope: Scope) -> str:
    """Replace every `${{ expr }}` in a value (env:, with:, names); never used on `run:`."""
    return _INTERPOLATION.sub(lambda match: to_text(evaluate(match.group(1), scope)), text)


def condition(text: str | bool | None, scope: Scope) -> bool:
    """An `if:`: bare or wrapped in `${{ }}`; without a status function it means `success() && (...)`."""
    if text is None:
        text = "success()"
    if isinstance(text, bool):
        text = "true" if text else "false"
    text = text.strip()
    whole = _INTERPOLATION.fullmatch(text)
    if whole:
        text = whole.group(1)
    elif "${{" in text:
        raise ExpressionError(f"an `if:` that mixes text and ${{{{ }}}} is always true on GitHub: {text!r}")
    parser = _Parser(text)
    node = parser.parse()
    if not parser.status_functions:
        assert scope.status is not None
        if not status_function(scope, "success"):
            return False
    return truthy(node(scope))
