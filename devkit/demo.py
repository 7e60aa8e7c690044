"""The main job, end to end on one machine: emulator, `pulumi up`, an in-place update, `pulumi destroy`.

Run it with `make demo`. Credentials are made up: the emulator is the ZEGO service here.
Exits non-zero if any step fails, and removes the stack, its state and the emulator either way.
"""

from __future__ import annotations

import sys

from devkit.pulumi_local import REPO, LocalPulumi, PulumiError, emulator_process, scratch_dir
from zego_provider.emulator import EmulatorAdmin

APP_ID = 1234567890
SERVER_SECRET = "demo-secret-not-a-real-credential"  # made up; the emulator accepts it
STACK = "demo"
STREAMS = ("main-stage", "side-stage", "green-room")  # as declared in examples/stream_environment


def show_streams(title: str, admin: EmulatorAdmin) -> int:
    """Print the emulator's rules of each demo stream; return how many rules there are."""
    print(f"\n== {title}: the emulator's rules")
    count = 0
    for stream_id in STREAMS:
        rules = admin.stream(stream_id)
        count += len(rules)
        print(f"   {stream_id}: " + (", ".join(f"{r['cdn_url']} ({r['status']})" for r in rules) or "empty"))
    return count


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def main() -> int:
    with scratch_dir("zego-demo-") as work, emulator_process(APP_ID, SERVER_SECRET) as url:
        print(f"emulator: {url}   state backend: file://{work}/state")
        admin = EmulatorAdmin(url)
        pulumi = LocalPulumi(work, REPO)
        try:
            step("pulumi stack init + config (the secret is stored encrypted)")
            pulumi.init_stack(
                STACK,
                config={"zego:appId": str(APP_ID), "zego:endpoint": url},
                secrets={"zego:serverSecret": SERVER_SECRET},
            )
            step("pulumi up: three streams, one with no relay")
            print(pulumi.run("up", "--yes", "--skip-preview", "--stack", STACK).stdout)
            show_streams("after up", admin)

            step("pulumi up again with a backup CDN for the main stage: an in-place update")
            pulumi.run("config", "set", "backupCdnHost", "backup-push.example-cdn.net", "--stack", STACK)
            print(pulumi.run("up", "--yes", "--skip-preview", "--stack", STACK).stdout)
            show_streams("after the update", admin)

            step("pulumi destroy: stop every relay, then ClearCDNTransferRule per stream")
            print(pulumi.run("destroy", "--yes", "--skip-preview", "--stack", STACK).stdout)
            left = show_streams("after destroy", admin)
            cleared = {entry["params"]["StreamId"] for entry in admin.requests(action="ClearCDNTransferRule")}
            if left or cleared != set(STREAMS):
                print(f"FAILED: {left} rule(s) remain; cleared only {sorted(cleared)}", file=sys.stderr)
                return 1
            print("\nEvery stream is empty and was cleared: no relay outlives the environment.")
            return 0
        except PulumiError as error:
            print(f"FAILED: {error}", file=sys.stderr)
            return 1
        finally:
            pulumi.remove_stack(STACK)


if __name__ == "__main__":
    sys.exit(main())
