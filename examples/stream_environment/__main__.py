"""A live-stream environment: which CDN relays each stream of an event should have.

Copy this program and change STREAMS. `pulumi up` creates the relays, a changed list updates
only the difference, `pulumi destroy` stops them and clears every scheduled relay.

Stack config read here (besides the provider's own zego:* settings):
  cdnHost        the ingest host of your main CDN   (default live-push.example-cdn.com)
  backupCdnHost  optional second CDN for the main stage
"""

import pulumi

from zego_provider import CdnTransferRuleSet

config = pulumi.Config()
zego = pulumi.Config("zego")
cdn_host = config.get("cdnHost") or "live-push.example-cdn.com"
backup_host = config.get("backupCdnHost")

# In ZEGO's test environment every stream id must carry the zegotest-<AppId>- prefix.
prefix = f"zegotest-{zego.require('appId')}-" if zego.get_bool("isTest") else ""

STREAMS: dict[str, list[str]] = {
    "main-stage": [f"rtmp://{cdn_host}/live/main-stage"]
    + ([f"rtmp://{backup_host}/live/main-stage"] if backup_host else []),
    "side-stage": [f"rtmp://{cdn_host}/live/side-stage?auth=demo-token"],
    "green-room": [],  # a stream with no relay: nothing is created, destroy still clears it
}

rule_sets = {name: CdnTransferRuleSet(name, stream_id=prefix + name, cdn_urls=urls) for name, urls in STREAMS.items()}

pulumi.export("relays", {name: rules.cdn_urls for name, rules in rule_sets.items()})
