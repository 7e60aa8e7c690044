"""The e2e tests' Pulumi program: the streams and their relays come from the `streams` stack config."""

import json

import pulumi

from zego_provider import CdnTransferRuleSet

for name, spec in json.loads(pulumi.Config().require("streams")).items():
    CdnTransferRuleSet(name, stream_id=spec["stream_id"], cdn_urls=spec["cdn_urls"])
