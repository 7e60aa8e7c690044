"""The e2e tests' Pulumi program: the streams and their relays come from the `streams` stack config.

Each entry is `name: {"stream_id": ..., "cdn_urls": [...]}`, optionally with `"component": C`
(the rule set is a child of a component resource named C) and `"aliases": [{"name": N,
"component": C or null}]` (where it was before), or `"stream_id_of": N` instead of
`"stream_id"` (the stream id Output of the rule set N, declared earlier). Streams named in
the optional `secretStreams` config get their CDN URLs wrapped as secrets. A stream's optional
`options` object is passed as pulumi.ResourceOptions keywords (protect, retain_on_delete,
delete_before_replace, ignore_changes...).
"""

import json

import pulumi

from zego_provider import CdnTransferRuleSet

config = pulumi.Config()
secret_streams = set(json.loads(config.get("secretStreams") or "[]"))
components: dict[str, pulumi.ComponentResource] = {}
rule_sets: dict[str, CdnTransferRuleSet] = {}


def component(name: str) -> pulumi.ComponentResource:
    if name not in components:
        components[name] = pulumi.ComponentResource("e2e:index:Environment", name)
    return components[name]


def alias(spec: dict) -> pulumi.Alias:
    parent = component(spec["component"]) if spec.get("component") else pulumi.ROOT_STACK_RESOURCE
    return pulumi.Alias(name=spec.get("name"), parent=parent)


for name, spec in json.loads(config.require("streams")).items():
    urls = spec["cdn_urls"]
    rule_sets[name] = CdnTransferRuleSet(
        name,
        stream_id=rule_sets[spec["stream_id_of"]].stream_id if "stream_id_of" in spec else spec["stream_id"],
        cdn_urls=[pulumi.Output.secret(url) for url in urls] if name in secret_streams else urls,
        opts=pulumi.ResourceOptions(
            parent=component(spec["component"]) if spec.get("component") else None,
            aliases=[alias(old) for old in spec.get("aliases", [])] or None,
            **spec.get("options", {}),
        ),
    )
