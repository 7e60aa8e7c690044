"""CdnTransferRuleSet: the resource a Pulumi program declares, one per stream."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi.dynamic

from .provider import CdnTransferRuleSetProvider


class CdnTransferRuleSetArgs:
    """Inputs of a CdnTransferRuleSet; each may be a plain value or an Output of another resource.

    :param stream_id: the RTC stream's id (in the test environment it must start with
        ``zegotest-<AppId>-``). Changing it replaces the rule set.
    :param cdn_urls: the ``rtmp://`` URLs the stream is relayed to; order does not matter,
        duplicates are refused, and an empty list is allowed.
    :param stop_relays_on_delete: on destroy, also stop relays that are already running
        (DeleteCDNTransferRule per URL) before clearing the scheduled ones. Default true.
    """

    def __init__(
        self,
        stream_id: pulumi.Input[str],
        cdn_urls: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        stop_relays_on_delete: pulumi.Input[bool] = True,
    ) -> None:
        self.stream_id = stream_id
        self.cdn_urls = cdn_urls if cdn_urls is not None else []
        self.stop_relays_on_delete = stop_relays_on_delete


class CdnTransferRuleSet(pulumi.dynamic.Resource, module="zego", name="CdnTransferRuleSet"):
    """All CDN relay rules of one ZEGO stream: created on up, diffed on update, cleared on destroy."""

    stream_id: pulumi.Output[str]
    cdn_urls: pulumi.Output[list[str]]
    stop_relays_on_delete: pulumi.Output[bool]

    def __init__(
        self,
        resource_name: str,
        args: CdnTransferRuleSetArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        *,
        stream_id: pulumi.Input[str] | None = None,
        cdn_urls: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        stop_relays_on_delete: pulumi.Input[bool] = True,
    ) -> None:
        if args is None:
            if stream_id is None:
                raise TypeError("CdnTransferRuleSet needs stream_id (or args=CdnTransferRuleSetArgs(...))")
            args = CdnTransferRuleSetArgs(stream_id, cdn_urls, stop_relays_on_delete)
        elif stream_id is not None or cdn_urls is not None:
            raise TypeError("give either args or keyword inputs to CdnTransferRuleSet, not both")
        props = {
            "stream_id": args.stream_id,
            "cdn_urls": args.cdn_urls,
            "stop_relays_on_delete": args.stop_relays_on_delete,
        }
        super().__init__(CdnTransferRuleSetProvider(), resource_name, props, opts)
