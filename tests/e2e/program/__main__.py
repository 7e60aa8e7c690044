"""The e2e tests' Pulumi program: the streams and their relays come from the `streams` stack config.

Streams named in the optional `secretStreams` config get their CDN URLs wrapped as secrets.
A stream's optional `options` object is passed as pulumi.ResourceOptions keywords (protect,
retain_on_delete, delete_before_replace, ignore_changes...).
"""

import json

import pulumi

from zego_provider import CdnTransferRuleSet

config = pulumi.Config()
secret_streams = set(json.loads(config.get("secretStreams") or "[]"))
for name, spec in json.loads(config.require("streams")).items():
    urls = spec["cdn_urls"]
    CdnTransferRuleSet(
        name,
        stream_id=spec["stream_id"],
        cdn_urls=[pulumi.Output.secret(url) for url in urls] if name in secret_streams else urls,
        opts=pulumi.ResourceOptions(**spec.get("options", {})),
    )
