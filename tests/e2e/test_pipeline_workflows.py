"""examples/pipeline copied into an empty git repository, its GitHub workflows run as written.

The local runner (tests/support/actions_runner.py) plays GitHub: it picks the workflows an
event triggers, evaluates their `if:`s and runs every step, `run:` steps in bash with GitHub's
flags and `uses:` steps through local stand-ins (the machine's Python, the Pulumi CLI built by
scripts/ensure-pulumi). The workflows create their own virtualenv and pip finds
zego-pulumi-provider==<this version> where a user's pip would find it on the index: here,
the wheel built from this checkout (PIP_FIND_LINKS). The ZEGO API is the emulator.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.actions_runner import ActionsRunner, RunResult
from tests.support.actions_stand_ins import python_bin, stand_ins
from tests.support.wheel import pip_env
from zego_provider.emulator import ZegoEmulator

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "pipeline"
REPOSITORY = "example-org/live-events"
APP_ID = 1987654321
SECRET = "pipeline-e2e-made-up-secret-4c1d"
PASSPHRASE = "pipeline-e2e-made-up-passphrase"
MAIN, BACKUP = "live-push.example-cdn.com", "backup-push.example-cdn.net"
HOSTILE = 'Add green room $(touch pwned) `touch pwned` "; touch pwned; echo "'


@dataclass
class Pipeline:
    runner: ActionsRunner
    emulator: ZegoEmulator
    workspace: Path
    root: Path

    def trigger(self, event_name: str, payload: dict[str, Any]) -> RunResult:
        [run] = self.runner.trigger(event_name, payload)
        return run

    def pull_request(self, action: str, title: str = "Add the side stage", **extra: Any) -> RunResult:
        pull_request = {"number": 7, "title": title, "head": {"ref": "side-stage", "repo": {"full_name": REPOSITORY}}}
        return self.trigger("pull_request", {"action": action, "number": 7, "pull_request": {**pull_request, **extra}})

    def dispatch(self, action: str, stack: str) -> RunResult:
        return self.trigger("workflow_dispatch", {"inputs": {"action": action, "stack": stack}})

    def live(self) -> dict[str, list[str]]:
        return {s: sorted(r["cdn_url"] for r in rules) for s, rules in self.emulator.admin.streams().items() if rules}

    def stacks(self) -> list[str]:
        return sorted(path.stem for path in (self.root / "state").rglob("stacks/stream-environment/*.json"))

    def git(self, *args: str) -> None:
        subprocess.run(["git", *args], cwd=self.workspace, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    root = tmp_path_factory.mktemp("pipeline")
    workspace = root / "live-events"
    shutil.copytree(EXAMPLE, workspace, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
    (root / "home").mkdir()
    (root / "runner").mkdir()
    (root / "state").mkdir()
    with ZegoEmulator(app_id=APP_ID, server_secret=SECRET) as emulator:
        secrets = {
            "ZEGO_APP_ID": str(APP_ID),
            "ZEGO_SERVER_SECRET": SECRET,
            "ZEGO_API_ENDPOINT": emulator.url,
            "PULUMI_BACKEND_URL": f"file://{root / 'state'}",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            # ZEGO_RATE_LIMITER left unset: the workflow passes "" and the provider must read it as unset.
        }
        base_env = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(root / "home"),
            "LANG": "C.UTF-8",
            # the runner machine's settings: no update check, no plugin downloads (nothing to reach)
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "GIT_CONFIG_NOSYSTEM": "1",
            **pip_env(),
        }
        cli_bin = Path(shutil.which("pulumi") or "pulumi").resolve().parent
        runner = ActionsRunner(
            workspace,
            runner_dir=root / "runner",
            base_env=base_env,
            secrets=secrets,
            repository=REPOSITORY,
            stand_ins=stand_ins(cli_bin, {"3.11": python_bin("3.11")}),
        )
        made = Pipeline(runner, emulator, workspace, root)
        made.git("init", "--quiet", "--initial-branch", "main")
        made.git("-c", "user.name=ci", "-c", "user.email=ci@example.com", "add", "--all")
        made.git(
            "-c", "user.name=ci", "-c", "user.email=ci@example.com", "commit", "--quiet", "-m", "stream environment"
        )
        yield made


def assert_clean(run: RunResult, pipeline: Pipeline) -> None:
    assert run.succeeded, run.log
    assert SECRET not in run.log and PASSPHRASE not in run.log
    assert not list(pipeline.root.rglob("pwned"))


def sent_since(pipeline: Pipeline, start: int) -> list[tuple[str, str]]:
    return [(e["action"], e["params"]["StreamId"]) for e in pipeline.emulator.admin.requests()[start:]]


@pytest.mark.timeout(900)  # a fresh virtualenv and several Pulumi runs on a busy machine
def test_a_pull_request_gets_its_environment_updated_on_push_and_removed_on_close(pipeline: Pipeline) -> None:
    opened = pipeline.pull_request("opened", title=HOSTILE)
    assert_clean(opened, pipeline)
    assert opened.workflow == "pr-environment.yml"
    assert opened.concurrency_group == "zego-stack-pr-7"
    assert {name: job.conclusion for name, job in opened.jobs.items()} == {"up": "success", "destroy": "skipped"}
    assert pipeline.live() == {
        "pr-7-main-stage": [f"rtmp://{MAIN}/live/pr-7-main-stage"],
        "pr-7-side-stage": [f"rtmp://{MAIN}/live/pr-7-side-stage"],
    }
    assert "pr-7" in pipeline.stacks()
    summaries = [path.read_text() for path in (pipeline.root / "runner").rglob("step_summary.md")]
    assert any(HOSTILE in text for text in summaries)  # the title arrived as data, never as shell

    # A push: the pull request adds a backup CDN; only the new relays are created.
    project = pipeline.workspace / "Pulumi.yaml"
    text = project.read_text()
    assert 'backupCdnHost:\n    type: string\n    default: ""' in text
    project.write_text(text.replace('default: ""', f"default: {BACKUP}", 1))
    pipeline.git("-c", "user.name=ci", "-c", "user.email=ci@example.com", "commit", "--quiet", "-am", "backup CDN")
    before = len(pipeline.emulator.admin.requests())
    pushed = pipeline.pull_request("synchronize")
    assert_clean(pushed, pipeline)
    assert pushed.concurrency_group == "zego-stack-pr-7"
    assert pipeline.live() == {
        stream: sorted([f"rtmp://{MAIN}/live/{stream}", f"rtmp://{BACKUP}/live/{stream}"])
        for stream in ("pr-7-main-stage", "pr-7-side-stage")
    }
    assert sorted(sent_since(pipeline, before)) == [
        ("CreatCDNTransferRule", "pr-7-main-stage"),
        ("CreatCDNTransferRule", "pr-7-side-stage"),
    ]

    before = len(pipeline.emulator.admin.requests())
    closed = pipeline.pull_request("closed", merged=True)
    assert_clean(closed, pipeline)
    assert {name: job.conclusion for name, job in closed.jobs.items()} == {"up": "skipped", "destroy": "success"}
    assert [step.outcome for step in closed.jobs["destroy"].steps][-1] == "skipped"  # the failure() hint
    assert pipeline.live() == {}
    sent = sent_since(pipeline, before)
    for stream in ("pr-7-main-stage", "pr-7-side-stage"):
        assert [action for action, s in sent if s == stream][-1] == "ClearCDNTransferRule"
    assert "pr-7" not in pipeline.stacks()


@pytest.mark.timeout(900)  # a fresh virtualenv and several Pulumi runs on a busy machine
def test_a_manual_dispatch_brings_staging_up_and_tears_it_down(pipeline: Pipeline) -> None:
    up = pipeline.dispatch("up", "staging")
    assert_clean(up, pipeline)
    assert up.workflow == "manual.yml" and up.concurrency_group == "zego-stack-staging"
    streams = ("staging-main-stage", "staging-side-stage", "staging-green-room")
    assert pipeline.live() == {
        stream: sorted([f"rtmp://{MAIN}/live/{stream}", f"rtmp://{BACKUP}/live/{stream}"]) for stream in streams
    }
    assert "staging" in pipeline.stacks()
    assert "encryptionsalt" in (pipeline.workspace / "Pulumi.staging.yaml").read_text()  # passphrase secrets

    before = len(pipeline.emulator.admin.requests())
    down = pipeline.dispatch("destroy", "staging")
    assert_clean(down, pipeline)
    assert pipeline.live() == {}
    sent = sent_since(pipeline, before)
    for stream in streams:
        assert [action for action, s in sent if s == stream][-1] == "ClearCDNTransferRule"
    assert "staging" not in pipeline.stacks()


def test_a_hostile_stack_input_is_refused_and_never_executed(pipeline: Pipeline) -> None:
    before = len(pipeline.emulator.admin.requests())
    refused = pipeline.dispatch("up", 'staging$(touch pwned)"; touch pwned; echo "')
    assert not refused.succeeded
    [job] = refused.jobs.values()
    assert next((step.name, step.outcome) for step in job.steps) == ("Check the stack name", "failure")
    assert {step.outcome for step in job.steps[1:]} == {"skipped"}
    assert not list(pipeline.root.rglob("pwned"))
    assert len(pipeline.emulator.admin.requests()) == before
