"""python -m benchmarks [--quick] [NAME ...]: run the benchmarks, each ending with its ratio line.

Exits 1 if a benchmark could not run (an exception); the figures themselves are reported,
not judged: these are measurements, not timed tests.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from collections.abc import Sequence

from .common import environment, now

BENCHMARKS = ("teardown_at_limit", "state_size", "client_overhead", "engine", "fleet")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description="Run the benchmarks; ratios last.")
    parser.add_argument("--quick", action="store_true", help="a small smoke run of every code path")
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"run only these, of: {', '.join(BENCHMARKS)}")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    selected = [name for name in BENCHMARKS if not args.names or name in args.names]
    mode = "quick" if args.quick else "full"
    print(f"benchmarks ({mode}) on {now()}: {environment()}", flush=True)
    started = time.perf_counter()
    failed: list[str] = []
    for name in selected:
        try:
            importlib.import_module(f"{__package__}.{name}").run(args.quick)
        except Exception:
            failed.append(name)
            traceback.print_exc()
            print(f"{name}: FAILED to run (traceback above)", flush=True)
    summary = (
        f"\n{len(selected) - len(failed)} of {len(selected)} benchmarks ran in {time.perf_counter() - started:.1f} s"
    )
    print(summary + (f"; failed: {', '.join(failed)}" if failed else ""), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
