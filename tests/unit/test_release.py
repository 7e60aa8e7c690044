"""The release is publishable: one version with its CHANGELOG entry, the whole license, honest metadata."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

import zego_provider
from tests.support.docs import REPOSITORY_URL, local_path

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
CHANGELOG = (REPO / "CHANGELOG.md").read_text()


def test_the_changelog_opens_with_an_empty_unreleased_section_then_this_version() -> None:
    headings = re.findall(r"^## (.+)$", CHANGELOG, re.MULTILINE)
    assert headings[0] == "Unreleased"
    assert re.fullmatch(rf"{re.escape(zego_provider.__version__)} - \d{{4}}-\d{{2}}-\d{{2}}", headings[1])
    unreleased = CHANGELOG.split("## Unreleased", 1)[1].split("\n## ", 1)[0]
    assert unreleased.strip() == ""


def test_the_version_entry_groups_its_changes() -> None:
    entry = CHANGELOG.split(f"## {zego_provider.__version__} - ", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"^### (.+)$", entry, re.MULTILINE) == ["Added", "Changed", "Removed", "Fixed"]


def test_the_version_has_one_source() -> None:
    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "zego_provider.__version__"}


def test_the_license_file_holds_the_whole_license_the_metadata_names() -> None:
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    text = (REPO / "LICENSE").read_text()
    assert text.startswith("Copyright 2026 zego-pulumi-provider developers\n")
    sections = re.findall(r"^ {3}(\d)\. ([A-Z][\w ]+)\.", text, re.MULTILINE)
    assert [int(number) for number, _ in sections] == list(range(1, 10))
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_every_dependency_lower_bound_is_the_version_the_tests_install() -> None:
    """constraints.txt pins what every test run installs; a lower bound below it would be untested."""
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.strip()] = version.strip()
    runtime = [*PYPROJECT["project"]["dependencies"], *PYPROJECT["project"]["optional-dependencies"]["redis"]]
    lower = {}
    for requirement in map(Requirement, runtime):
        [floor] = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        lower[requirement.name] = floor
    assert set(lower) == set(pins)
    mismatched = {name: (floor, pins[name]) for name, floor in lower.items() if pins[name] != floor}
    assert {name: v for name, v in mismatched.items() if name != "pulumi"} == {}
    assert (lower["pulumi"], pins["pulumi"]) == ("3.272", "3.272.0")  # the one SDK version tested


def test_the_project_urls_are_the_repositorys_own_pages() -> None:
    urls = PYPROJECT["project"]["urls"]
    assert set(urls) == {"Homepage", "Documentation", "Changelog", "Issues"}
    assert all(url.startswith(REPOSITORY_URL) for url in urls.values())
    for page in ("Documentation", "Changelog"):
        path = local_path(urls[page])
        assert path is not None and (REPO / path).is_file()
    assert PYPROJECT["project"]["readme"] == "README.md"
    assert "Python dynamic provider" not in PYPROJECT["project"]["description"]
