"""state_size: the serialized provider every resource carries, and the state a rule set costs.

The dynamic provider is pickled into every resource's inputs and outputs (`__provider`),
so its size is paid per resource. CdnTransferRuleSetProvider pickles to a reference to
its class (no settings, no secret), which should stay well under 1 KB. With the Pulumi
CLI on PATH, a stack of rule sets is deployed against the emulator and `pulumi stack
export` is measured; without it, a resource's state entry is estimated from its outputs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from pulumi.dynamic.dynamic import serialize_provider

from zego_provider.emulator import ZegoEmulator
from zego_provider.provider import CdnTransferRuleSetProvider

from .common import APP_ID, SECRET, bench_stack, figure, header, pulumi_cli, run_alone

KB = 1024
FULL_COUNT = 20
QUICK_COUNT = 5
RULE_SET_TYPE = "pulumi-python:dynamic/zego:CdnTransferRuleSet"


def provider_blob() -> str:
    return str(serialize_provider(CdnTransferRuleSetProvider()))


def entry_bytes(resource: dict[str, Any]) -> int:
    """A resource's share of `pulumi stack export`, formatted as the CLI formats it (4-space indent)."""
    return len(json.dumps(resource, indent=4).encode("utf-8"))


def estimated_entry(blob: str) -> dict[str, Any]:
    """What the engine records for one rule set, built by hand when no CLI can be run."""
    stream_id = "bench-0000"
    outputs = {
        "__provider": blob,
        "cdn_urls": [f"rtmp://push.example-cdn.net/live/{stream_id}?token=bench"],
        "stop_relays_on_delete": True,
        "stream_id": stream_id,
    }
    return {
        "urn": f"urn:pulumi:bench::zego-bench-rulesets::{RULE_SET_TYPE}::rs-0000",
        "custom": True,
        "id": f"{APP_ID}:{stream_id}",
        "type": RULE_SET_TYPE,
        "inputs": outputs,
        "outputs": outputs,
        "parent": "urn:pulumi:bench::zego-bench-rulesets::pulumi:pulumi:Stack::zego-bench-rulesets-bench",
        "provider": "urn:pulumi:bench::zego-bench-rulesets::pulumi:providers:pulumi-python::default::"
        "00000000-0000-0000-0000-000000000000",
        "created": "2025-01-01T00:00:00.000000000Z",
        "modified": "2025-01-01T00:00:00.000000000Z",
    }


def without_trace(resource: dict[str, Any]) -> dict[str, Any]:
    """The entry without the Python call stack the engine records for each resource."""
    return {key: value for key, value in resource.items() if key not in ("stackTrace", "sourcePosition")}


def properties_bytes(resource: dict[str, Any]) -> int:
    """The part the provider decides: inputs and outputs."""
    return entry_bytes({key: resource[key] for key in ("inputs", "outputs") if key in resource})


def measured(count: int) -> tuple[list[dict[str, Any]], int]:
    """Deploy `count` rule sets; returns their state entries and the size of the whole export."""
    with (
        ZegoEmulator(app_id=APP_ID, server_secret=SECRET, rate_limit=None) as emulator,
        bench_stack("zego-bench-state-", kind="rulesets", count=count, endpoint=emulator.url, rate_limit=1000) as stack,
    ):
        stack.up()
        text, document = stack.export()
    resources = document["deployment"].get("resources", [])
    rule_sets = [resource for resource in resources if resource.get("type") == RULE_SET_TYPE]
    if len(rule_sets) != count:
        raise RuntimeError(f"expected {count} rule sets in the exported state, found {len(rule_sets)}")
    return rule_sets, len(text.encode("utf-8"))


def mean(values: Iterable[int]) -> int:
    items = list(values)
    return round(sum(items) / len(items))


def run(quick: bool = False) -> str:
    count = QUICK_COUNT if quick else FULL_COUNT
    cli = pulumi_cli()
    how = f"`pulumi up` of {count} rule sets, then `pulumi stack export`" if cli else "estimated (no Pulumi CLI)"
    header("state_size", f"serialized provider blob; state per rule set, {how}")
    blob = provider_blob()
    blob_bytes = len(blob.encode("ascii"))
    figure(f"provider blob: {blob_bytes} B of base64 ({len(blob) * 3 // 4} B pickled), goal < {KB} B")
    if cli:
        rule_sets, total = measured(count)
        sizes = [entry_bytes(resource) for resource in rule_sets]
        per_rule_set = mean(sizes)
        figure(
            f"stack export: {total} B for {count} rule sets: {sum(sizes)} B in their entries "
            f"(from {min(sizes)} to {max(sizes)} B each), {total - sum(sizes)} B for the stack, "
            "the default provider and framing"
        )
        trace = per_rule_set - mean(entry_bytes(without_trace(resource)) for resource in rule_sets)
        figure(
            f"of a rule set's {per_rule_set} B: {mean(properties_bytes(r) for r in rule_sets)} B inputs and outputs, "
            f"{trace} B the engine's recorded Python stack trace (stackTrace, sourcePosition), the rest URNs and dates"
        )
        source = "measured"
    else:
        per_rule_set = entry_bytes(estimated_entry(blob))
        figure("no Pulumi CLI on PATH: the state entry is estimated from a rule set's outputs (no stack trace)")
        source = "estimated"
    figure(
        f"the blob is in each entry twice (inputs and outputs): {2 * blob_bytes} B "
        f"of the {per_rule_set} B ({2 * blob_bytes / per_rule_set:.0%})"
    )
    figure(f"goal: blob < 1 KB: {'met' if blob_bytes < KB else 'NOT met'}")
    line = (
        f"state: provider blob {blob_bytes} B ({blob_bytes / KB:.2f} of 1 KB), "
        f"{per_rule_set} B of state per rule set ({source})"
    )
    print(line, flush=True)
    return line


if __name__ == "__main__":
    run_alone(run, __doc__)
