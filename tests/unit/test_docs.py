"""The documents hold together: links resolve, code blocks are run or marked, users read no project history.

Fast checks over the Markdown files (no Pulumi, no network); running the blocks is
tests/e2e/test_docs_snippets.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.support.docs import (
    REPO,
    REPOSITORY_URL,
    anchors,
    blocks,
    linked_docs,
    links,
    local_path,
    outside_fences,
    snippet_docs,
    undefined_references,
    user_docs,
)

# How the project was worked on is not a user's business: words that speak of it.
PROJECT_HISTORY = re.compile(
    r"\b(issues?|sessions?|engineers?|worktrees?|the lead|was built|we built|built by|TODO|FIXME)\b", re.IGNORECASE
)
# The contributors' page speaks of builds (the CLI's, the wheel's), never of issues or sessions.
CONTRIBUTOR_HISTORY = re.compile(r"\b(issues?|sessions?|engineers?|the lead)\b", re.IGNORECASE)
README_MAX_LINES = 200


def name(doc: Path) -> str:
    return doc.relative_to(REPO).as_posix()


def broken_links(doc: Path, root: Path = REPO) -> list[str]:
    """Each relative link of the document whose file (inside `root`) or heading does not exist."""
    broken = []
    for target in links(doc):
        base = doc.parent
        local = local_path(target)
        if local is not None:  # this repository by its public address: the file here
            target, base = local, root
        elif re.match(r"[a-z][a-z0-9+.-]*:", target):  # any other https:, mailto: ...: not ours to check
            continue
        path, _, anchor = target.partition("#")
        resolved = (base / unquote(path)).resolve() if path else doc
        if not resolved.exists() or root not in resolved.parents:
            broken.append(f"{target} (no such file)")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target} (no heading #{anchor} in {resolved.name})")
    return broken


@pytest.mark.parametrize("doc", linked_docs(), ids=name)
def test_every_relative_link_resolves(doc: Path) -> None:
    assert broken_links(doc) == []


def test_a_broken_link_and_a_wrong_anchor_are_found(tmp_path: Path) -> None:
    """The link check finds what it is for, and accepts GitHub's anchors of code-span headings."""
    (tmp_path / "other.md").write_text("# Other\n\n## `teardown`: without a state\n\n## Outputs\n\n## Outputs\n")
    doc = tmp_path / "probe.md"
    doc.write_text(
        "# Probe\n\n[a](missing.md) [b](other.md#nowhere) [c](#probe) [d](other.md#outputs-1)\n"
        "[e](other.md#teardown-without-a-state) [f](https://example.com/x) `[g](ignored.md)`\n\n"
        "```sh\necho [h](ignored-too.md)\n```\n[i](../outside.md) [j][ref] [k][nowhere]\n\n"
        f"[ref]: {REPOSITORY_URL}/blob/main/missing-too.md\n"
    )
    (tmp_path.parent / "outside.md").write_text("# Outside\n")
    assert broken_links(doc, root=tmp_path) == [
        "missing.md (no such file)",
        "other.md#nowhere (no heading #nowhere in other.md)",
        "../outside.md (no such file)",
        "missing-too.md (no such file)",
    ]
    assert undefined_references(doc) == ["nowhere"]


@pytest.mark.parametrize("doc", linked_docs(), ids=name)
def test_every_link_reference_is_defined(doc: Path) -> None:
    assert undefined_references(doc) == []


def test_the_readme_links_by_the_repository_address_so_they_work_on_the_package_index() -> None:
    """The README is also the package's long description, shown away from the repository."""
    readme = REPO / "README.md"
    relative = [t for t in links(readme) if not re.match(r"[a-z][a-z0-9+.-]*:", t) and not t.startswith("#")]
    assert relative == []
    assert all(local_path(t) for t in links(readme) if t.startswith(REPOSITORY_URL))
    assert len([t for t in links(readme) if local_path(t)]) >= 10


@pytest.mark.parametrize("doc", user_docs(), ids=name)
def test_no_user_document_speaks_of_how_the_project_was_made(doc: Path) -> None:
    assert PROJECT_HISTORY.findall(doc.read_text()) == []


def test_the_contributors_page_speaks_of_no_issue_or_session() -> None:
    assert CONTRIBUTOR_HISTORY.findall((REPO / "docs" / "development.md").read_text()) == []


def test_the_readme_is_short() -> None:
    assert len((REPO / "README.md").read_text().splitlines()) < README_MAX_LINES


def test_every_code_block_is_run_by_a_test_or_marked_not_run() -> None:
    from tests.e2e.test_docs_snippets import runner_for

    unclaimed = [b.key for doc in snippet_docs() for b in blocks(doc) if b.not_run is None and runner_for(b) is None]
    marked_and_run = [b.key for doc in snippet_docs() for b in blocks(doc) if b.not_run and runner_for(b)]
    assert unclaimed == []
    assert marked_and_run == []


def test_every_snippet_runner_claims_a_block() -> None:
    """A runner whose block was removed or reworded would pass without running anything."""
    from tests.e2e.test_docs_snippets import RUNNERS, snippets

    keys = [block.key for block in snippets()]
    unclaimed = [key for key in RUNNERS if not any(d == key[0] and first.startswith(key[1]) for d, first in keys)]
    assert unclaimed == []


@pytest.mark.parametrize("doc", snippet_docs(), ids=name)
def test_code_is_in_fenced_blocks(doc: Path) -> None:
    """An indented code block would escape the snippet test: every block is fenced."""
    lines = outside_fences(doc.read_text()).splitlines()
    indented = [
        line
        for before, line in zip(["", *lines], lines, strict=False)
        if line.startswith("    ") and not before.strip() and not line.lstrip().startswith(("-", "*", "|"))
    ]
    assert indented == []


def test_the_marker_must_be_on_the_line_before_the_fence(tmp_path: Path) -> None:
    doc = tmp_path / "probe.md"
    doc.write_text("<!-- not run: an output -->\n```text\nok\n```\n\n<!-- not run: too far -->\n\n```sh\nls\n```\n")
    assert [(b.lang, b.not_run) for b in blocks(doc)] == [("text", "an output"), ("sh", None)]
