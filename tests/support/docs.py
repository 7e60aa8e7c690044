"""The repository's Markdown documents as the docs tests read them: code blocks, links, anchors.

One reader for the snippet test (which runs the blocks), the link test and the wording test,
so that all three agree on what a document, a code block and an anchor are.

A fenced block a user is not meant to run (a fragment, an output, a signature) is preceded by
a visible `<!-- not run: REASON -->` comment on the line before its fence.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
REPOSITORY_URL = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["urls"]["Homepage"]
"""The repository's public address: the README links to its files by it, so that the links also
work in the package index's copy of the README."""

FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
NOT_RUN = re.compile(r"<!-- not run: (?P<reason>\S.*?) -->\n\Z")
LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\(([^)\s]+)\)")
REFERENCE = re.compile(r"^ {0,3}\[([^\]\n]+)\]: *(\S+)", re.MULTILINE)
REFERENCE_USE = re.compile(r"\]\[([^\]\n]+)\]|(?<![\]\\])\[([^\]\n]+)\](?![(\[:])")
HEADING = re.compile(r"^#{1,6} +(.+?) *#*$", re.MULTILINE)


def user_docs() -> list[Path]:
    """What a user of the package reads: the README, docs/ (but its contributors' page) and the examples."""
    return [
        REPO / "README.md",
        *sorted(p for p in (REPO / "docs").rglob("*.md") if p.name != "development.md"),
        *sorted((REPO / "examples").rglob("README.md")),
    ]


def snippet_docs() -> list[Path]:
    """The documents whose code blocks are run: the README, every page of docs/, the examples."""
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md")), *sorted((REPO / "examples").rglob("*.md"))]


def linked_docs() -> list[Path]:
    """The documents whose relative links must resolve."""
    return [*snippet_docs(), *sorted((REPO / "plugins").rglob("README.md"))]


@dataclass(frozen=True)
class Block:
    """One fenced code block: its document, info string's language, code, and why it is not run (if so)."""

    doc: Path
    lang: str
    code: str
    not_run: str | None

    @property
    def key(self) -> tuple[str, str]:
        first = self.code.splitlines()[0] if self.code.strip() else ""
        return (self.doc.relative_to(REPO).as_posix(), first)


def blocks(doc: Path) -> list[Block]:
    text = doc.read_text()
    found = []
    for match in FENCE.finditer(text):
        marker = NOT_RUN.search(text, 0, match.start())
        found.append(Block(doc, match.group(1), match.group(2), marker.group("reason") if marker else None))
    return found


def outside_fences(text: str) -> str:
    """The text with every fenced block blanked out (links and headings inside code are not ones)."""
    return FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: markup dropped, lower case, punctuation removed, spaces to `-`."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").replace("*", "").lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(doc: Path) -> set[str]:
    """Every anchor of a document's headings, with GitHub's -1, -2 suffixes for repeated ones."""
    seen: dict[str, int] = {}
    result = set()
    for heading in HEADING.findall(outside_fences(doc.read_text())):
        base = slug(heading)
        count = seen.get(base, 0)
        result.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return result


def prose(doc: Path) -> str:
    """The document without its fenced blocks and code spans: where links are links."""
    return re.sub(r"`[^`\n]*`", "", outside_fences(doc.read_text()))


def references(doc: Path) -> dict[str, str]:
    """The document's link reference definitions (`[label]: target`), by lower-cased label."""
    return {label.lower(): target for label, target in REFERENCE.findall(prose(doc))}


def links(doc: Path) -> list[str]:
    """The targets of the document's links, inline and by reference."""
    return [*LINK.findall(prose(doc)), *references(doc).values()]


def undefined_references(doc: Path) -> list[str]:
    """Labels used as `[text][label]` or `[label]` that no definition names (they would render as text)."""
    defined = references(doc)
    text = REFERENCE.sub("", prose(doc))
    text = LINK.sub("", text)
    used = [full or short for full, short in REFERENCE_USE.findall(text)]
    return [label for label in used if label.lower() not in defined and re.search(r"[a-z]", label.lower())]


def local_path(target: str) -> str | None:
    """A link to a file of this repository by its public address, as a relative path; else None."""
    for kind in ("/blob/main/", "/tree/main/"):
        if target.startswith(REPOSITORY_URL + kind):
            return target[len(REPOSITORY_URL + kind) :]
    return None
