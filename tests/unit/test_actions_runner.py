"""The local GitHub Actions runner does what GitHub does with the parts our workflows use."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.actions_runner import ActionsRunner, WorkflowError

WORKFLOW = """
name: t
on:
  workflow_dispatch:
    inputs:
      word: {type: string, default: plain, required: true}
env:
  FROM_SECRET: ${{ secrets.TOKEN }}
jobs:
  first:
    runs-on: ubuntu-latest
    steps:
      - id: write
        run: |
          echo "EXPORTED=from-env-file" >> "$GITHUB_ENV"
          mkdir -p "$RUNNER_TEMP/tools" && printf '#!/bin/sh\\necho tool-ran\\n' > "$RUNNER_TEMP/tools/mytool"
          chmod +x "$RUNNER_TEMP/tools/mytool" && echo "$RUNNER_TEMP/tools" >> "$GITHUB_PATH"
          { echo 'multi<<EOF'; echo 'line one'; echo 'line two'; echo 'EOF'; } >> "$GITHUB_OUTPUT"
      - env:
          WORD: ${{ inputs.word }}
          MULTI: ${{ steps.write.outputs.multi }}
        run: |
          echo "word=$WORD exported=$EXPORTED secret=$FROM_SECRET literal=${{ inputs.word }}" > out.txt
          mytool >> out.txt
          echo "$MULTI" >> out.txt
      - run: exit 3
      - if: inputs.word == 'never'
        run: touch skipped-by-if
      - if: failure()
        run: touch after-failure
      - run: touch skipped-after-failure
  second:
    needs: first
    runs-on: ubuntu-latest
    steps:
      - run: touch second-ran
"""


def runner(tmp_path: Path) -> ActionsRunner:
    workspace = tmp_path / "repo"
    (workspace / ".github" / "workflows").mkdir(parents=True)
    (workspace / ".github" / "workflows" / "t.yml").write_text(WORKFLOW)
    (tmp_path / "runner").mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    return ActionsRunner(
        workspace, runner_dir=tmp_path / "runner", base_env=env, secrets={"TOKEN": "s3"}, repository="o/r", stand_ins={}
    )


def test_run_steps_see_env_files_outputs_and_never_an_interpolated_shell_line(tmp_path: Path) -> None:
    [run] = runner(tmp_path).trigger("workflow_dispatch", {"inputs": {"word": "$(touch pwned)"}})
    workspace = tmp_path / "repo"
    # ${{ }} inside run: is left to bash, which refuses `${{ inputs.word }}` (a bad substitution)
    assert not (workspace / "out.txt").exists()
    first = run.jobs["first"]
    assert [step.outcome for step in first.steps] == ["success", "failure", "skipped", "skipped", "success", "skipped"]
    assert "bad substitution" in first.steps[1].log
    assert not (workspace / "pwned").exists()
    assert (workspace / "after-failure").exists() and not (workspace / "skipped-after-failure").exists()
    assert run.jobs["second"].conclusion == "skipped"  # its need failed
    assert not run.succeeded


def test_env_file_path_file_and_multiline_outputs_reach_later_steps(tmp_path: Path) -> None:
    r = runner(tmp_path)
    text = WORKFLOW.replace(" literal=${{ inputs.word }}", "").replace("      - run: exit 3\n", "")
    (tmp_path / "repo" / ".github" / "workflows" / "t.yml").write_text(text)
    [run] = r.trigger("workflow_dispatch", {"inputs": {"word": '"; touch pwned; echo "'}})
    assert (tmp_path / "repo" / "out.txt").read_text().splitlines() == [
        'word="; touch pwned; echo " exported=from-env-file secret=s3',
        "tool-ran",
        "line one",
        "line two",
    ]
    assert not (tmp_path / "repo" / "pwned").exists()
    assert run.succeeded and (tmp_path / "repo" / "second-ran").exists()


def test_unknown_inputs_actions_and_keys_are_refused(tmp_path: Path) -> None:
    r = runner(tmp_path)
    with pytest.raises(WorkflowError, match="no such inputs"):
        r.trigger("workflow_dispatch", {"inputs": {"other": "x"}})
    (tmp_path / "repo" / ".github" / "workflows" / "t.yml").write_text(
        WORKFLOW.replace("      - run: exit 3\n", "      - uses: actions/github-script@v7\n")
    )
    with pytest.raises(WorkflowError, match="no local stand-in"):
        r.trigger("workflow_dispatch", {})
    (tmp_path / "repo" / ".github" / "workflows" / "t.yml").write_text(
        WORKFLOW.replace("    needs: first", "    services: {}")
    )
    with pytest.raises(WorkflowError, match="not modelled"):
        r.trigger("workflow_dispatch", {})
