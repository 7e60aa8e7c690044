"""A local GitHub Actions runner: runs a repository's workflows for an event, steps as written.

What it models, as GitHub does: which workflows an event triggers (`on:` with `types:`),
`workflow_dispatch` inputs (defaults, choices, required), `concurrency.group`, jobs in `needs:`
order with job- and step-level `if:`, `env:` at workflow/job/step level, `${{ }}` in `env:`,
`with:` and names only (never inside `run:`), and `run:` steps in
`bash --noprofile --norc -eo pipefail {0}` with $GITHUB_ENV, $GITHUB_PATH, $GITHUB_OUTPUT,
$GITHUB_STEP_SUMMARY, $GITHUB_WORKSPACE and $RUNNER_TEMP honoured between steps. `uses:`
steps run local stand-ins (see ActionStandIn); an action without one, an input a stand-in
does not model, or a workflow key not listed here is refused, never skipped.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.support.actions_expressions import Scope, Status, condition, interpolate

WORKFLOW_KEYS = frozenset({"name", "on", "concurrency", "permissions", "env", "jobs", "run-name"})
JOB_KEYS = frozenset({"name", "runs-on", "needs", "if", "env", "steps", "permissions", "timeout-minutes"})
STEP_KEYS = frozenset({"name", "id", "if", "uses", "with", "run", "env", "working-directory", "timeout-minutes"})
DEFAULT_PULL_REQUEST_TYPES = ("opened", "synchronize", "reopened")
STEP_TIMEOUT = 600.0  # seconds: a bound on any one step, whatever the workflow says


class WorkflowError(ValueError):
    """The workflow uses something this runner does not model (or GitHub would refuse)."""


@dataclass
class StepResult:
    name: str
    outcome: str  # success | failure | skipped
    log: str = ""
    seconds: float = 0.0


@dataclass
class JobResult:
    name: str
    conclusion: str  # success | failure | skipped
    steps: list[StepResult] = field(default_factory=list)


@dataclass
class RunResult:
    workflow: str
    concurrency_group: str | None
    jobs: dict[str, JobResult]

    @property
    def succeeded(self) -> bool:
        return all(job.conclusion in ("success", "skipped") for job in self.jobs.values())

    @property
    def log(self) -> str:
        return "\n".join(
            f"[{self.workflow} / {job.name} / {step.name}: {step.outcome} in {step.seconds:.1f}s]\n{step.log}"
            for job in self.jobs.values()
            for step in job.steps
        )


@dataclass
class ActionCall:
    """What a stand-in sees: its inputs (defaults applied) and the job's files and environment."""

    inputs: dict[str, str]
    env: dict[str, str]
    workspace: Path
    runner_temp: Path
    added_paths: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    post: list[Callable[[], None]] = field(default_factory=list)  # run when the job succeeded

    def add_path(self, directory: Path) -> None:
        self.added_paths.append(str(directory))
        self.env["PATH"] = f"{directory}{os.pathsep}{self.env.get('PATH', '')}"

    def run(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run a command as the action would, its output appended to the step's log."""
        self.log.append(f"$ {shlex.join(args)}")
        result = subprocess.run(
            list(args),
            cwd=cwd or self.workspace,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
            check=False,
        )
        self.log.append(result.stdout + result.stderr)
        return result


@dataclass(frozen=True)
class ActionStandIn:
    """A local stand-in for one action: the refs it models, its inputs and their defaults.

    `run` returns the step's exit code; an input outside `inputs` is refused before it runs."""

    refs: frozenset[str]
    inputs: Mapping[str, str | None]  # name -> default (None: no default)
    required: frozenset[str]
    run: Callable[[ActionCall], int]


def boolean_input(call: ActionCall, name: str) -> bool:
    """@actions/core getBooleanInput: only the YAML 1.2 core booleans are accepted."""
    value = call.inputs.get(name, "")
    if value in ("true", "True", "TRUE"):
        return True
    if value in ("false", "False", "FALSE"):
        return False
    raise WorkflowError(f"input {name!r} must be a boolean (true or false), got {value!r}")


def _read_key_values(path: Path) -> dict[str, str]:
    """$GITHUB_ENV / $GITHUB_OUTPUT: `NAME=value` lines and `NAME<<DELIMITER` blocks."""
    values: dict[str, str] = {}
    lines = path.read_text().splitlines() if path.exists() else []
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line.strip():
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body: list[str] = []
            while index < len(lines) and lines[index] != delimiter:
                body.append(lines[index])
                index += 1
            if index >= len(lines):
                raise WorkflowError(f"{path.name}: no closing {delimiter!r} for {name}")
            index += 1
            values[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
        else:
            raise WorkflowError(f"{path.name}: cannot read line {line!r}")
    return values


def _on(workflow: Mapping[Any, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as the boolean true.
    triggers = workflow.get("on", workflow.get(True))
    if isinstance(triggers, str):
        return {triggers: {}}
    if isinstance(triggers, list):
        return {name: {} for name in triggers}
    if isinstance(triggers, Mapping):
        return {str(name): value or {} for name, value in triggers.items()}
    raise WorkflowError("the workflow has no `on:`")


def _check_keys(where: str, mapping: Mapping[Any, Any], allowed: frozenset[str]) -> None:
    unknown = {str(key) for key in mapping} - allowed - {"True"}
    if unknown:
        raise WorkflowError(f"{where}: keys not modelled by this runner: {sorted(unknown)}")


class ActionsRunner:
    """Runs the workflows of `workspace/.github/workflows` for events, one job after another."""

    def __init__(
        self,
        workspace: Path,
        *,
        runner_dir: Path,
        base_env: Mapping[str, str],
        secrets: Mapping[str, str],
        repository: str,
        stand_ins: Mapping[str, ActionStandIn],
    ) -> None:
        self.workspace = workspace
        self.runner_dir = runner_dir
        self.base_env = dict(base_env)
        self.secrets = dict(secrets)
        self.repository = repository
        self.stand_ins = dict(stand_ins)

    def workflows(self) -> list[Path]:
        folder = self.workspace / ".github" / "workflows"
        return sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])

    def trigger(self, event_name: str, payload: Mapping[str, Any]) -> list[RunResult]:
        """Every workflow the event triggers, run in turn; the event's payload as GitHub sends it."""
        runs = []
        for path in self.workflows():
            workflow = yaml.safe_load(path.read_text())
            _check_keys(path.name, workflow, WORKFLOW_KEYS)
            triggers = _on(workflow)
            if event_name not in triggers:
                continue
            inputs: dict[str, Any] = {}
            if event_name == "pull_request":
                types = triggers[event_name].get("types", DEFAULT_PULL_REQUEST_TYPES)
                if payload["action"] not in types:
                    continue
            elif event_name == "workflow_dispatch":
                inputs = self._dispatch_inputs(path.name, triggers[event_name], payload.get("inputs", {}))
            else:
                raise WorkflowError(f"event {event_name!r} is not modelled by this runner")
            runs.append(self._run(path, workflow, event_name, {**payload, "inputs": inputs or None}, inputs))
        return runs

    @staticmethod
    def _dispatch_inputs(name: str, trigger: Mapping[str, Any], given: Mapping[str, str]) -> dict[str, Any]:
        declared: Mapping[str, Mapping[str, Any]] = trigger.get("inputs") or {}
        unknown = set(given) - set(declared)
        if unknown:
            raise WorkflowError(f"{name}: no such inputs {sorted(unknown)} (GitHub refuses the dispatch)")
        inputs: dict[str, Any] = {}
        for key, spec in declared.items():
            value = given.get(key, spec.get("default"))
            kind = spec.get("type", "string")
            if spec.get("required") and value in (None, ""):
                raise WorkflowError(f"{name}: input {key} is required")
            if kind == "choice" and value not in spec.get("options", []):
                raise WorkflowError(f"{name}: input {key}={value!r} is not one of {spec.get('options')}")
            if kind == "boolean":
                inputs[key] = str(value).lower() == "true"
            elif kind in ("string", "choice", "environment"):
                inputs[key] = "" if value is None else str(value)
            else:
                raise WorkflowError(f"{name}: input type {kind!r} is not modelled")
        return inputs

    def _run(
        self,
        path: Path,
        workflow: Mapping[Any, Any],
        event_name: str,
        payload: Mapping[str, Any],
        inputs: Mapping[str, Any],
    ) -> RunResult:
        run_id = uuid.uuid4().hex[:12]
        event_path = self.runner_dir / f"event-{run_id}.json"
        event_path.write_text(json.dumps(payload))
        github = {
            "event_name": event_name,
            "event": payload,
            "repository": self.repository,
            "workspace": str(self.workspace),
            "run_id": run_id,
        }
        top = Scope({"github": github, "inputs": inputs, "vars": {}})
        group = None
        if "concurrency" in workflow:
            spec = workflow["concurrency"]
            group = interpolate(spec if isinstance(spec, str) else spec["group"], top)
            if not group:
                raise WorkflowError(f"{path.name}: the concurrency group is empty for this event")
        secret_scope = Scope({"github": github, "inputs": inputs, "secrets": self._secrets(), "vars": {}})
        workflow_env = {str(k): interpolate(str(v), secret_scope) for k, v in (workflow.get("env") or {}).items()}
        self._validate(path.name, workflow["jobs"])
        jobs: dict[str, JobResult] = {}
        for job_id in self._job_order(path.name, workflow["jobs"]):
            spec = workflow["jobs"][job_id]
            needs = [spec["needs"]] if isinstance(spec.get("needs"), str) else list(spec.get("needs") or [])
            failed = any(jobs[need].conclusion == "failure" for need in needs)
            needs_context = {need: {"result": jobs[need].conclusion, "outputs": {}} for need in needs}
            job_scope = Scope(
                {"github": github, "inputs": inputs, "needs": needs_context, "vars": {}}, status=Status(failed=failed)
            )
            skipped_need = any(jobs[need].conclusion == "skipped" for need in needs)
            if skipped_need or not condition(spec.get("if"), job_scope):
                jobs[job_id] = JobResult(job_id, "skipped")
                continue
            jobs[job_id] = self._run_job(path.name, job_id, spec, github, inputs, needs_context, workflow_env, run_id)
        return RunResult(path.name, group, jobs)

    def _validate(self, name: str, jobs: Mapping[str, Any]) -> None:
        """What GitHub checks before a run starts: every job's and step's keys, every action resolved."""
        for job_id, spec in jobs.items():
            _check_keys(f"{name}: job {job_id}", spec, JOB_KEYS)
            if "runs-on" not in spec:
                raise WorkflowError(f"{name}: job {job_id} has no runs-on")
            for number, step in enumerate(spec.get("steps") or [], start=1):
                _check_keys(f"{name}: job {job_id} step {number}", step, STEP_KEYS)
                if ("uses" in step) == ("run" in step):
                    raise WorkflowError(f"{name}: job {job_id} step {number} needs exactly one of uses/run")
                if "uses" in step:
                    self._stand_in(name, str(step["uses"]))

    def _stand_in(self, name: str, uses: str) -> ActionStandIn:
        match = re.fullmatch(r"([\w.-]+/[\w.-]+)@([\w.-]+)", uses)
        stand_in = self.stand_ins.get(match.group(1)) if match else None
        if match is None or stand_in is None:
            raise WorkflowError(f"{name}: no local stand-in for {uses!r}")
        if match.group(2) not in stand_in.refs:
            raise WorkflowError(f"{name}: {uses} is not a version the stand-in models ({sorted(stand_in.refs)})")
        return stand_in

    def _secrets(self) -> dict[str, str]:
        return {**self.secrets, "GITHUB_TOKEN": "made-up-github-token"}

    @staticmethod
    def _job_order(name: str, jobs: Mapping[str, Any]) -> list[str]:
        order: list[str] = []
        pending = dict(jobs)
        for _ in range(len(jobs) + 1):
            for job_id, spec in list(pending.items()):
                needs = [spec["needs"]] if isinstance(spec.get("needs"), str) else list(spec.get("needs") or [])
                if all(need in order for need in needs):
                    order.append(job_id)
                    del pending[job_id]
        if pending:
            raise WorkflowError(f"{name}: jobs {sorted(pending)} need jobs that do not exist or form a cycle")
        return order

    def _run_job(
        self,
        workflow_name: str,
        job_id: str,
        spec: Mapping[str, Any],
        github: Mapping[str, Any],
        inputs: Mapping[str, Any],
        needs: Mapping[str, Any],
        workflow_env: Mapping[str, str],
        run_id: str,
    ) -> JobResult:
        temp = self.runner_dir / f"{run_id}-{job_id}"
        temp.mkdir(parents=True)
        files = {name: temp / f"{name.lower()}.txt" for name in ("GITHUB_ENV", "GITHUB_PATH", "GITHUB_OUTPUT")}
        summary = temp / "step_summary.md"
        runner = {"os": "Linux", "arch": "X64", "temp": str(temp)}
        exported: dict[str, str] = {}
        paths: list[str] = []
        steps_context: dict[str, Any] = {}
        post: list[Callable[[], None]] = []
        failed = False
        result = JobResult(job_id, "success")
        contexts = {"github": github, "inputs": inputs, "needs": needs, "secrets": self._secrets(), "vars": {}}
        secret_scope = Scope({**contexts, "env": dict(workflow_env), "runner": runner, "steps": steps_context})
        job_env = {
            **workflow_env,
            **{str(k): interpolate(str(v), secret_scope) for k, v in (spec.get("env") or {}).items()},
        }
        for number, step in enumerate(spec.get("steps") or [], start=1):
            env_context = {**exported, **job_env}
            scope = Scope(
                {**contexts, "env": env_context, "runner": runner, "steps": steps_context},
                status=Status(failed=failed),
                workspace=self.workspace,
            )
            name = interpolate(str(step.get("name") or step.get("uses") or step["run"].splitlines()[0]), scope)
            if not condition(step.get("if"), scope):
                result.steps.append(StepResult(name, "skipped"))
                if "id" in step:
                    steps_context[step["id"]] = {"outcome": "skipped", "conclusion": "skipped", "outputs": {}}
                continue
            step_env = {str(k): interpolate(str(v), scope) for k, v in (step.get("env") or {}).items()}
            env = {
                **self.base_env,
                **exported,
                **job_env,
                **step_env,
                "CI": "true",
                "GITHUB_ACTIONS": "true",
                "GITHUB_EVENT_NAME": str(github["event_name"]),
                "GITHUB_EVENT_PATH": str(self.runner_dir / f"event-{run_id}.json"),
                "GITHUB_REPOSITORY": self.repository,
                "GITHUB_RUN_ID": run_id,
                "GITHUB_WORKSPACE": str(self.workspace),
                "GITHUB_STEP_SUMMARY": str(summary),
                "RUNNER_OS": "Linux",
                "RUNNER_TEMP": str(temp),
                **{name: str(path) for name, path in files.items()},
            }
            env["PATH"] = os.pathsep.join([*reversed(paths), self.base_env.get("PATH", "")])
            for path in files.values():
                path.write_text("")
            cwd = self.workspace / str(step.get("working-directory", "."))
            started = time.monotonic()
            if "run" in step:
                code, log, outputs = self._run_script(str(step["run"]), env, cwd, temp, number)
            else:
                env_context.update(step_env)
                code, log, outputs, added, post_steps = self._use(workflow_name, step, scope, env, temp)
                paths.extend(added)
                post.extend(post_steps)
            exported.update(_read_key_values(files["GITHUB_ENV"]))
            paths.extend(line for line in files["GITHUB_PATH"].read_text().splitlines() if line.strip())
            outputs.update(_read_key_values(files["GITHUB_OUTPUT"]))
            outcome = "success" if code == 0 else "failure"
            failed = failed or code != 0
            result.steps.append(StepResult(name, outcome, log, time.monotonic() - started))
            if "id" in step:
                steps_context[step["id"]] = {"outcome": outcome, "conclusion": outcome, "outputs": outputs}
        result.conclusion = "failure" if failed else "success"
        if not failed:
            for action in reversed(post):
                action()
        return result

    @staticmethod
    def _run_script(
        script: str, env: Mapping[str, str], cwd: Path, temp: Path, number: int
    ) -> tuple[int, str, dict[str, str]]:
        path = temp / f"step-{number}.sh"
        path.write_text(script)
        try:
            done = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)],
                cwd=cwd,
                env=dict(env),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=STEP_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as expired:
            return 124, f"timed out after {STEP_TIMEOUT}s\n{expired.output or ''}", {}
        return done.returncode, done.stdout, {}

    def _use(
        self, workflow_name: str, step: Mapping[str, Any], scope: Scope, env: dict[str, str], temp: Path
    ) -> tuple[int, str, dict[str, str], list[str], list[Callable[[], None]]]:
        uses = str(step["uses"])
        stand_in = self._stand_in(workflow_name, uses)
        given = {str(k): _input_text(v) for k, v in (step.get("with") or {}).items()}
        unknown = set(given) - set(stand_in.inputs)
        if unknown:
            raise WorkflowError(f"{workflow_name}: {uses}: inputs not modelled by its stand-in: {sorted(unknown)}")
        inputs = {k: v for k, v in stand_in.inputs.items() if v is not None}
        inputs.update({k: interpolate(v, scope) for k, v in given.items()})
        missing = {name for name in stand_in.required if not inputs.get(name)}
        if missing:
            raise WorkflowError(f"{workflow_name}: {uses}: required inputs missing: {sorted(missing)}")
        call = ActionCall(inputs, env, self.workspace, temp)
        try:
            code = stand_in.run(call)
        except subprocess.TimeoutExpired as expired:
            call.log.append(f"timed out: {expired.cmd}")
            code = 124
        return code, "\n".join(call.log), call.outputs, call.added_paths, call.post


def _input_text(value: Any) -> str:
    """A `with:` value as the action receives it: YAML booleans and numbers become their text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
