"""A dynamic resource whose provider does nothing: the engine benchmark's baseline.

It lives in an importable module (not in the Pulumi program's `__main__`) so that dill
pickles it by reference, exactly like CdnTransferRuleSetProvider: the two differ only in
what their operations do, not in the size of the provider blob carried by each resource.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi.dynamic
from pulumi.dynamic import CreateResult, ResourceProvider


class NoopProvider(ResourceProvider):
    """create returns at once: its id is the stream id, its outputs are its inputs."""

    serialize_as_secret_always = False

    def create(self, props: dict[str, Any]) -> CreateResult:
        outs = {key: value for key, value in props.items() if not key.startswith("__")}
        return CreateResult(str(props.get("stream_id", "noop")), outs)


class NoopResource(pulumi.dynamic.Resource, module="bench", name="Noop"):
    """Same inputs and outputs as a CdnTransferRuleSet, and no work behind them."""

    stream_id: pulumi.Output[str]
    cdn_urls: pulumi.Output[list[str]]
    stop_relays_on_delete: pulumi.Output[bool]

    def __init__(
        self,
        resource_name: str,
        *,
        stream_id: pulumi.Input[str],
        cdn_urls: pulumi.Input[Sequence[pulumi.Input[str]]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {"stream_id": stream_id, "cdn_urls": cdn_urls, "stop_relays_on_delete": True}
        super().__init__(NoopProvider(), resource_name, props, opts)
