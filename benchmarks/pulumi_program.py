"""The benchmarks' Pulumi program (copied into a throwaway project as its `__main__.py`).

Stack config `kind` picks CdnTransferRuleSet ("rulesets") or the no-op dynamic resource
("noop"); `count` is how many, each with one CDN URL; `prefix` (default "bench") starts the
stream ids, so that the stacks of a fleet never share a stream.
"""

import pulumi

from benchmarks.noop_provider import NoopResource
from zego_provider import CdnTransferRuleSet

config = pulumi.Config()
kind = config.require("kind")
prefix = config.get("prefix") or "bench"
for index in range(config.require_int("count")):
    stream_id = f"{prefix}-{index:04d}"
    cdn_urls = [f"rtmp://push.example-cdn.net/live/{stream_id}?token=bench"]
    if kind == "rulesets":
        CdnTransferRuleSet(f"rs-{index:04d}", stream_id=stream_id, cdn_urls=cdn_urls)
    else:
        NoopResource(f"noop-{index:04d}", stream_id=stream_id, cdn_urls=cdn_urls)
