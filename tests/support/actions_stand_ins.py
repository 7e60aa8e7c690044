"""Local stand-ins for the actions the example workflows use, with their documented semantics.

- actions/checkout: the workspace becomes the committed tree, as on a fresh runner (every
  file the last run left is removed, what it changed is restored).
- actions/setup-python: puts the machine's python<version> on PATH, as the tool cache would.
- actions/cache: restores `path` saved under the same `key` by an earlier job, else saves it
  when the job succeeds (the runner's cache store, in the runner's folder; files are hard
  links, which is safe for what the workflows cache: pip and Python replace files, never
  rewrite them in place).
- pulumi/actions v6: puts the given Pulumi CLI on PATH, then, when `command` is given, does
  what its Automation API code does: `pulumi login` (PULUMI_BACKEND_URL), select the stack
  (`upsert`: create it if missing), run the command (`refresh`: with --refresh), set its
  outputs, and for `destroy` with `remove` remove the stack.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

from tests.support.actions_runner import ActionCall, ActionStandIn, WorkflowError, boolean_input

PULUMI_COMMANDS = ("up", "update", "refresh", "destroy", "preview")


def checkout(call: ActionCall) -> int:
    for args in (("reset", "--hard", "--quiet", "HEAD"), ("clean", "-ffdxq")):
        if call.run("git", *args).returncode != 0:
            return 1
    return 0


def setup_python(python_bins: dict[str, Path]) -> ActionStandIn:
    """`python_bins` maps a python-version to the bin folder of that interpreter on this machine."""

    def run(call: ActionCall) -> int:
        version = call.inputs["python-version"]
        if version not in python_bins:
            raise WorkflowError(f"actions/setup-python: no local python {version} (have {sorted(python_bins)})")
        bin_dir = python_bins[version]
        call.add_path(bin_dir)
        probe = call.run("python", "-c", "import platform, sys; print(sys.executable, platform.python_version())")
        executable, full_version = probe.stdout.split() if probe.returncode == 0 else ("", "")
        if not executable.startswith(str(bin_dir)) or not full_version.startswith(f"{version}."):
            call.log.append(f"`python` on PATH is not the python {version} of {bin_dir}")
            return 1
        call.outputs.update({"python-version": full_version, "python-path": executable})
        return 0

    return ActionStandIn(frozenset({"v5", "v6"}), {"python-version": None}, frozenset({"python-version"}), run)


def cache(call: ActionCall) -> int:
    key, path = call.inputs["key"], call.inputs["path"]
    if not key.strip() or not path.strip() or "\n" in path.strip():
        raise WorkflowError("actions/cache: one `path` and a `key`, neither empty, are what the stand-in models")
    if "," in key or len(key) > 512:
        raise WorkflowError("actions/cache: a key has no commas and at most 512 characters")
    target = (call.workspace / path).resolve()
    if not target.is_relative_to(call.workspace):
        raise WorkflowError(f"actions/cache: the stand-in caches only paths inside the workspace, not {path}")
    stored = call.runner_temp.parent / "cache" / hashlib.sha256(key.encode()).hexdigest()
    if stored.exists():
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(stored, target, symlinks=True, copy_function=os.link)
        call.outputs["cache-hit"] = "true"
        call.log.append(f"cache restored from key: {key}")
        return 0
    call.outputs["cache-hit"] = "false"
    call.log.append(f"cache not found for key: {key}")

    def save() -> None:
        if target.exists() and not stored.exists():
            shutil.copytree(target, stored, symlinks=True, copy_function=os.link)

    call.post.append(save)
    return 0


def pulumi_actions(cli_bin: Path) -> ActionStandIn:
    """pulumi/actions@v6 running the Pulumi CLI found in `cli_bin`."""

    def run(call: ActionCall) -> int:
        call.add_path(cli_bin)
        if shutil.which("pulumi", path=call.env["PATH"]) != str(cli_bin / "pulumi"):
            raise WorkflowError("pulumi/actions: another pulumi comes first on PATH")
        command = call.inputs.get("command", "")
        if not command:
            return 0  # install-only mode
        if command not in PULUMI_COMMANDS:
            raise WorkflowError(f"pulumi/actions: command {command!r} is not modelled ({PULUMI_COMMANDS})")
        stack = call.inputs.get("stack-name", "")
        if not stack:
            raise WorkflowError("pulumi/actions: stack-name is required with a command")
        upsert, remove, refresh = (boolean_input(call, name) for name in ("upsert", "remove", "refresh"))
        work_dir = (call.workspace / call.inputs["work-dir"]).resolve()
        steps: list[tuple[str, ...]] = [
            ("login",),
            ("stack", "select", "--create", stack) if upsert else ("stack", "select", stack),
        ]
        refreshing = ("--refresh",) if refresh else ()
        if command in ("up", "update"):
            steps.append(("up", "--yes", "--skip-preview", "--stack", stack, *refreshing))
        elif command == "destroy":
            steps.append(("destroy", "--yes", "--skip-preview", "--stack", stack, *refreshing))
        elif command == "refresh":
            steps.append(("refresh", "--yes", "--skip-preview", "--stack", stack))
        else:
            steps.append(("preview", "--stack", stack, *refreshing))
        for args in steps:
            done = call.run("pulumi", "--non-interactive", *args, cwd=work_dir)
            if done.returncode != 0:
                return done.returncode
            if args[0] in PULUMI_COMMANDS:
                call.outputs["output"] = done.stdout
        outputs = call.run("pulumi", "--non-interactive", "stack", "output", "--json", "--stack", stack, cwd=work_dir)
        if outputs.returncode != 0:
            return outputs.returncode
        for key, value in json.loads(outputs.stdout or "{}").items():
            call.outputs[key] = value if isinstance(value, str) else json.dumps(value)
        if remove and command == "destroy":
            removed = call.run("pulumi", "--non-interactive", "stack", "rm", "--yes", stack, cwd=work_dir)
            return removed.returncode
        return 0

    return ActionStandIn(
        frozenset({"v6"}),
        {"command": "", "stack-name": None, "work-dir": "./", "upsert": "false", "remove": "false", "refresh": "false"},
        frozenset(),
        run,
    )


def stand_ins(cli_bin: Path, python_bins: dict[str, Path]) -> dict[str, ActionStandIn]:
    return {
        "actions/checkout": ActionStandIn(frozenset({"v4", "v5"}), {}, frozenset(), checkout),
        "actions/setup-python": setup_python(python_bins),
        "actions/cache": ActionStandIn(
            frozenset({"v4"}),
            {"path": None, "key": None, "restore-keys": None, "fail-on-cache-miss": "false", "lookup-only": "false"},
            frozenset({"path", "key"}),
            cache,
        ),
        "pulumi/actions": pulumi_actions(cli_bin),
    }


def python_bin(version: str) -> Path:
    """The bin folder of this machine's python<version> (not a shim, not a virtualenv)."""
    probe = subprocess.run(
        [f"python{version}", "-c", "import sys; print(sys.base_prefix)"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return Path(probe.stdout.strip()) / "bin"
