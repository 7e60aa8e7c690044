"""The troubleshooting page's table of ZEGO codes, rendered from `errors.RETURN_CODES`.

The page keeps the table between two markers; a unit test fails when it differs from what
this renders, and `python -m tests.support.codes_table` rewrites it in place. So the table
cannot drift from the one code table the client retries by.
"""

from __future__ import annotations

import sys
from pathlib import Path

from zego_provider.config import DEFAULT_MAX_ATTEMPTS
from zego_provider.errors import RETURN_CODES, SUCCESS, ReturnCode, ZegoRateLimitError

PAGE = Path(__file__).resolve().parents[2] / "docs" / "troubleshooting.md"
START = "<!-- codes-table:start -->"
END = "<!-- codes-table:end -->"


def retried(entry: ReturnCode) -> str:
    """What the client does with the code, in the words the page uses elsewhere."""
    if issubclass(entry.error, ZegoRateLimitError):
        return "yes, until `zego:callTimeBudget` runs out; the client also lowers its rate"
    if entry.retryable:
        return f"yes, up to {DEFAULT_MAX_ATTEMPTS} attempts"
    return "no"


def render() -> str:
    """One row per (meaning, class, fix), codes in the table's order, so that five codes that
    mean "internal error" read as one row."""
    rows: dict[tuple[str, str, str, str], list[int]] = {}
    for code, entry in RETURN_CODES.items():
        key = (entry.meaning, entry.error.__name__, retried(entry), entry.fix)
        rows.setdefault(key, []).append(code)
    lines = [
        "| code | meaning | exception | retried | what to do |",
        "|---|---|---|---|---|",
        f"| {SUCCESS} | success | | | |",
    ]
    for (meaning, error, again, fix), codes in rows.items():
        lines.append(f"| {', '.join(map(str, codes))} | {meaning} | `{error}` | {again} | {fix} |")
    return "\n".join(lines)


def block(text: str) -> str:
    """The table as the page holds it now (between the markers)."""
    return text.split(START, 1)[1].split(END, 1)[0].strip("\n")


def write(page: Path = PAGE) -> None:
    text = page.read_text()
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    page.write_text(f"{head}{START}\n{render()}\n{END}{tail}")


if __name__ == "__main__":
    write()
    sys.stdout.write(f"wrote the codes table of {PAGE}\n")
