"""examples/pipeline is a repository of its own: what a team copies must hold together by itself.

(The e2e test tests/e2e/test_pipeline_workflows.py runs its workflows; these checks are the
static rules a reader can verify by eye: the pin, the actions allowed, no `${{ }}` in a shell
line, nothing that points back into this repository.)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import zego_provider
from tests.support.actions_expressions import ExpressionError, Scope, Status, condition, interpolate

REPO = Path(__file__).resolve().parents[2]
PIPELINE = REPO / "examples" / "pipeline"
AUTOMATION = REPO / "examples" / "automation"
WORKFLOWS = sorted((PIPELINE / ".github" / "workflows").glob("*.yml"))
ALLOWED_ACTIONS = {"actions/checkout", "actions/setup-python", "actions/cache", "pulumi/actions"}
PULUMI_ACTION_INPUTS = {"command", "stack-name", "work-dir", "upsert", "remove", "refresh"}


def steps() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in WORKFLOWS:
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            found.extend((path.name, step) for step in job["steps"])
    return found


@pytest.mark.parametrize("example", [PIPELINE, AUTOMATION], ids=lambda p: p.name)
def test_the_requirements_pin_this_release(example: Path) -> None:
    pins = re.findall(r"^zego-pulumi-provider\[redis\]==(\S+)$", (example / "requirements.txt").read_text(), re.M)
    assert pins == [zego_provider.__version__]


def test_there_are_two_workflows_pull_request_and_dispatch() -> None:
    triggers = {path.name: yaml.safe_load(path.read_text())[True] for path in WORKFLOWS}  # YAML 1.1: on -> True
    assert triggers["pr-environment.yml"] == {
        "pull_request": {"types": ["opened", "reopened", "synchronize", "closed"]}
    }
    dispatch = triggers["manual.yml"]["workflow_dispatch"]["inputs"]
    assert dispatch["action"]["options"] == ["up", "destroy"] and dispatch["stack"]["type"] == "string"


def test_no_shell_line_holds_an_expression() -> None:
    shell_lines = [(name, step["run"]) for name, step in steps() if "run" in step]
    assert shell_lines
    assert [(name, run) for name, run in shell_lines if "${{" in run] == []


def test_only_the_allowed_actions_are_used_with_their_documented_inputs() -> None:
    used = {(name, step["uses"]): step.get("with", {}) for name, step in steps() if "uses" in step}
    assert {uses.split("@")[0] for _, uses in used} == ALLOWED_ACTIONS
    for (name, uses), inputs in used.items():
        if uses.startswith("pulumi/actions"):
            assert uses == "pulumi/actions@v6", name
            assert set(inputs) <= PULUMI_ACTION_INPUTS, (name, inputs)


def test_every_stack_has_one_concurrency_group_shared_by_both_workflows() -> None:
    groups = {path.name: yaml.safe_load(path.read_text())["concurrency"] for path in WORKFLOWS}
    scope = Scope({"github": {"event": {"pull_request": {"number": 7}}}, "inputs": {"stack": "pr-7"}})
    assert {interpolate(group["group"], scope) for group in groups.values()} == {"zego-stack-pr-7"}
    assert {group["cancel-in-progress"] for group in groups.values()} == {False}


def test_the_example_never_points_back_into_this_repository() -> None:
    files = [p for p in PIPELINE.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert len(files) >= 7
    for path in files:
        text = path.read_text()
        for needle in ("../", "examples/", "plugins/", "zego_provider/", "tests/", "scripts/", "make "):
            assert needle not in text, f"{path.relative_to(REPO)} mentions {needle!r}"


def test_an_unset_optional_secret_reaches_the_jobs_as_an_empty_string() -> None:
    """GitHub's behaviour, which the provider reads as unset (ProviderConfig.from_sources)."""
    scope = Scope({"secrets": {"ZEGO_APP_ID": "1"}, "github": {"event": {"pull_request": {"number": 7}}}, "inputs": {}})
    for path in WORKFLOWS:
        env = {k: interpolate(v, scope) for k, v in yaml.safe_load(path.read_text())["env"].items()}
        assert env["ZEGO_RATE_LIMITER"] == "" and env["ZEGO_API_ENDPOINT"] == "", path.name
    credentials = {"ZEGO_APP_ID": "1", "ZEGO_SERVER_SECRET": "s"}
    unset = zego_provider.ProviderConfig.from_env(credentials)
    empty = {**credentials, "ZEGO_RATE_LIMITER": "", "ZEGO_API_ENDPOINT": ""}
    assert zego_provider.ProviderConfig.from_env(empty) == unset


def test_pulumi_runs_the_program_with_the_virtualenv_beside_it() -> None:
    project = yaml.safe_load((PIPELINE / "Pulumi.yaml").read_text())
    assert project["runtime"]["options"]["virtualenv"] == ".venv"
    assert "main" not in project  # a relative virtualenv is resolved against the program's folder
    install = [step["run"] for _, step in steps() if "run" in step and "pip install" in step["run"]]
    assert install and all(".venv/bin/python -m pip install" in run for run in install)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("github.event.action != 'closed'", True),
        ("github.event.action == 'OPENED'", True),  # strings compare ignoring case
        ("github.event.pull_request.number == '7'", True),  # across types: as numbers
        ("github.event.pull_request.missing == null", True),
        ("!(inputs.action == 'up') || failure()", False),
        ("inputs.action == 'up' && github.event.action == 'opened'", True),
    ],
)
def test_if_expressions_follow_github(expression: str, expected: bool) -> None:
    scope = Scope(
        {"github": {"event": {"action": "opened", "pull_request": {"number": 7}}}, "inputs": {"action": "up"}},
        status=Status(),
    )
    assert condition(expression, scope) is expected


def test_an_if_without_a_status_function_is_false_after_a_failure() -> None:
    scope = Scope({"inputs": {"action": "up"}}, status=Status(failed=True))
    assert condition("inputs.action == 'up'", scope) is False
    assert condition("failure() && inputs.action == 'up'", scope) is True
    assert condition("${{ always() }}", scope) is True


@pytest.mark.parametrize(
    "expression",
    ["contains(github.event_name, 'pull')", "github.event['action']", "inputs.nope == 'x'", "vars.X > 1", "foo.bar"],
)
def test_anything_not_modelled_is_refused(expression: str) -> None:
    scope = Scope({"github": {"event_name": "push", "event": {}}, "inputs": {}}, status=Status())
    with pytest.raises(ExpressionError):
        condition(expression, scope)
