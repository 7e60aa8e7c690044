"""engine: `pulumi preview` and `pulumi up` of CdnTransferRuleSets, against no-op dynamic resources.

Both stacks run benchmarks/pulumi_program.py with the real Pulumi CLI and a file backend:
one declares COUNT CdnTransferRuleSets (one URL each) against the emulator (limit off,
`zego:rateLimit` 1000), the other COUNT no-op dynamic resources with the same inputs,
whose provider (benchmarks/noop_provider.py) returns at once. The ratio is what the
provider's check, diff and ZEGO calls add on top of the engine's own cost of a dynamic
resource. The runs alternate (ABBA, and the other way round in the next round) so that a warming
machine favours neither side; the full run takes the median of FULL_ROUNDS rounds.
"""

from __future__ import annotations

import contextlib
import statistics

from zego_provider.emulator import ZegoEmulator

from .common import APP_ID, SECRET, bench_stack, figure, header, pulumi_cli, run_alone

FULL_COUNT = 100
QUICK_COUNT = 10
RATE_LIMIT = 1000.0
FULL_ROUNDS = 3
QUICK_ROUNDS = 1


def run(quick: bool = False) -> str:
    count = QUICK_COUNT if quick else FULL_COUNT
    header(
        "engine",
        f"`pulumi preview` and `pulumi up` of {count} CdnTransferRuleSets vs {count} no-op dynamic resources",
    )
    if pulumi_cli() is None:
        line = "engine: skipped (no Pulumi CLI on PATH: put the output of scripts/ensure-pulumi first on PATH)"
        print(line, flush=True)
        return line
    rounds = QUICK_ROUNDS if quick else FULL_ROUNDS
    times: dict[str, list[float]] = {
        key: [] for key in ("preview rule sets", "preview no-op", "up rule sets", "up no-op")
    }
    with contextlib.ExitStack() as stack:
        emulator = stack.enter_context(ZegoEmulator(app_id=APP_ID, server_secret=SECRET, rate_limit=None))
        sides = {
            name: stack.enter_context(
                bench_stack(f"zego-bench-{kind}-", kind=kind, count=count, endpoint=emulator.url, rate_limit=RATE_LIMIT)
            )
            for name, kind in (("rule sets", "rulesets"), ("no-op", "noop"))
        }
        for index in range(rounds):
            if index:  # start again from an empty stack (not timed)
                for side in sides.values():
                    side.destroy()
                emulator.admin.reset()
            order = ["rule sets", "no-op"] if index % 2 == 0 else ["no-op", "rule sets"]
            for name in order:
                times[f"preview {name}"].append(sides[name].preview().seconds)
            for name in reversed(order):
                times[f"up {name}"].append(sides[name].up().seconds)
            created = sum(len(rules) for rules in emulator.admin.streams().values())
            if created != count:
                raise RuntimeError(f"`pulumi up` should have created {count} rules on the emulator, found {created}")
            figure(
                f"round {index + 1}: "
                + ", ".join(f"{key} {values[-1]:.2f} s" for key, values in times.items())
                + f"; {created} rules created"
            )
    middle = {key: statistics.median(values) for key, values in times.items()}
    what = f"median of {rounds} rounds" if rounds > 1 else "one round"
    for verb in ("preview", "up"):
        rules, noop = middle[f"{verb} rule sets"], middle[f"{verb} no-op"]
        figure(
            f"{verb} ({what}): rule sets {rules:.2f} s, no-op {noop:.2f} s "
            f"({1000 * (rules - noop) / count:+.1f} ms a resource)"
        )
    line = (
        f"engine: up {middle['up rule sets'] / middle['up no-op']:.2f}x a no-op dynamic resource "
        f"(preview {middle['preview rule sets'] / middle['preview no-op']:.2f}x)"
    )
    print(line, flush=True)
    return line


if __name__ == "__main__":
    run_alone(run, __doc__)
