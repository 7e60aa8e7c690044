"""A deploy tool of your own with Pulumi inside: one stream environment per pull request.

    python deploy.py up --pr 7        create or update stack pr-7 (its streams' CDN relays)
    python deploy.py destroy --pr 7   stop its relays, clear its streams, remove the stack

Pulumi's Automation API runs the program below in this process (no Pulumi.yaml, no project
folder). The environment holds what a CI secret store would: ZEGO_APP_ID, ZEGO_SERVER_SECRET
(optional ZEGO_API_ENDPOINT, ZEGO_RATE_LIMITER), PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE.
An empty variable means unset. The `pulumi` CLI must be on PATH.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import pulumi
from pulumi import automation as auto

from zego_provider import CdnTransferRuleSet

PROJECT = "stream-environment"
STREAMS = ("main-stage", "side-stage")


def program() -> None:
    """The environment of one stack: each stream relays to the main CDN (and the backup, if set)."""
    config = pulumi.Config()
    stack = pulumi.get_stack()
    hosts = [host for host in (config.require("cdnHost"), config.get("backupCdnHost")) if host]
    relays = {}
    for name in STREAMS:
        stream_id = f"{stack}-{name}"  # one AppId, many environments: never the same stream twice
        urls = [f"rtmp://{host}/live/{stream_id}" for host in hosts]
        relays[stream_id] = CdnTransferRuleSet(name, stream_id=stream_id, cdn_urls=urls).cdn_urls
    pulumi.export("relays", relays)


def environment(name: str) -> str | None:
    return os.environ.get(name) or None  # CI systems pass an unset secret as ""


def select(stack_name: str, work_dir: str) -> auto.Stack:
    # The dynamic provider runs in a process of its own that Pulumi starts with the python3
    # first on PATH: point it at this interpreter, where zego-pulumi-provider is installed.
    # Pulumi's scratch files go to work_dir; the stack itself lives in the backend (PULUMI_BACKEND_URL).
    workspace = auto.LocalWorkspaceOptions(work_dir=work_dir, env_vars={"PULUMI_PYTHON_CMD": sys.executable})
    return auto.create_or_select_stack(stack_name=stack_name, project_name=PROJECT, program=program, opts=workspace)


def configure(stack: auto.Stack, cdn_host: str, backup_cdn_host: str | None) -> None:
    """The stack's config: the credentials (the secret encrypted with the stack's passphrase) and the CDNs."""
    app_id, secret = environment("ZEGO_APP_ID"), environment("ZEGO_SERVER_SECRET")
    if app_id is None or secret is None:
        raise SystemExit("deploy.py: set ZEGO_APP_ID and ZEGO_SERVER_SECRET (from your secret store)")
    values = {
        "zego:appId": auto.ConfigValue(app_id),
        "zego:serverSecret": auto.ConfigValue(secret, secret=True),
        "cdnHost": auto.ConfigValue(cdn_host),
    }
    optional = {"zego:endpoint": environment("ZEGO_API_ENDPOINT"), "backupCdnHost": backup_cdn_host}
    values.update({key: auto.ConfigValue(value) for key, value in optional.items() if value})
    stack.set_all_config(values)
    for key, value in optional.items():
        if not value:
            stack.remove_config(key)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Bring a pull request's stream environment up or tear it down.")
    parser.add_argument("action", choices=("up", "destroy"))
    parser.add_argument("--pr", type=int, required=True, help="pull request number: the stack is pr-<number>")
    parser.add_argument("--cdn-host", default="live-push.example-cdn.com", help="ingest host of the main CDN")
    parser.add_argument("--backup-cdn-host", default=None, help="a second CDN every stream also relays to")
    args = parser.parse_args(argv)

    stack_name = f"pr-{args.pr}"
    with tempfile.TemporaryDirectory(prefix="deploy-") as work_dir:
        stack = select(stack_name, work_dir)
        configure(stack, args.cdn_host, args.backup_cdn_host)
        if args.action == "up":
            result = stack.up(on_output=print)
            print(f"{stack_name}: {result.summary.result}; relays {result.outputs['relays'].value}")
        else:
            stack.destroy(on_output=print)
            stack.workspace.remove_stack(stack_name)
            print(f"{stack_name}: destroyed and removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
