"""The native `zego` Pulumi package: a provider plugin usable from any Pulumi language.

`pulumi-resource-zego` (or `python -m zego_provider.native`) serves it; `plugins/zego/` in the
repository is a folder a Pulumi.yaml can name. Same lifecycle as the dynamic resource
(`zego_provider.lifecycle`), with explicit provider instances, a schema and import.
"""

from .provider import ZegoProvider
from .schema import PACKAGE, RULE_SET_TYPE, package_schema
from .server import main

__all__ = ["PACKAGE", "RULE_SET_TYPE", "ZegoProvider", "main", "package_schema"]
