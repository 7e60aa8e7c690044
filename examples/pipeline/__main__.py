"""The stream environment of one stack: which CDN relays each of its live streams has.

Every stream id starts with the stack name (`pr-7-main-stage`, `staging-main-stage`), so the
environments of many pull requests share one ZEGO AppId without touching each other's streams.
Stack config (defaults in Pulumi.yaml):
  streams        the streams of the environment
  cdnHost        the ingest host of the main CDN
  backupCdnHost  a second CDN every stream also relays to ("" for none)
The credentials are not config: the provider reads ZEGO_APP_ID and ZEGO_SERVER_SECRET (and
ZEGO_API_ENDPOINT, ZEGO_RATE_LIMITER) from the environment the workflow gives it.
"""

import pulumi

from zego_provider import CdnTransferRuleSet

config = pulumi.Config()
stack = pulumi.get_stack()
hosts = [host for host in (config.require("cdnHost"), config.get("backupCdnHost")) if host]

relays = {}
for name in config.require_object("streams"):
    stream_id = f"{stack}-{name}"
    rules = CdnTransferRuleSet(
        name, stream_id=stream_id, cdn_urls=[f"rtmp://{host}/live/{stream_id}" for host in hosts]
    )
    relays[stream_id] = rules.cdn_urls

pulumi.export("relays", relays)
