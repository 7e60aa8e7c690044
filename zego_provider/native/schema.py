"""The `zego` package schema: what `pulumi package get-schema` prints and SDK generators read.

It is generated from the declarations that already define the shapes: the settings
(`zego_provider.settings.SETTINGS`: name, description, secret-ness; `ProviderConfig`: type),
so a setting added there appears here as a provider input, and the rule-set inputs
(`zego_provider.models.RuleSetInputs`). Only the rule set's descriptions are written here.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.alias_generators import to_camel

from .. import __version__
from ..config import ProviderConfig
from ..models import RuleSetInputs
from ..settings import Setting, declared

PACKAGE = "zego"
RULE_SET_TYPE = "zego:index:CdnTransferRuleSet"

RULE_SET_DESCRIPTIONS: dict[str, str] = {
    "stream_id": "The RTC stream whose relays this rule set owns; a new stream id replaces the rule set.",
    "cdn_urls": (
        "The RTMP URLs the stream is relayed to. ZEGO identifies a relay by its URL without the query, "
        "so two URLs that differ only in the query are one relay (refused as duplicates); a changed query "
        "(a rotated token) deletes the relay and creates it again."
    ),
    "stop_relays_on_delete": (
        "On delete, stop each relay (DeleteCDNTransferRule) before clearing the stream's rules; "
        "false only clears them (running relays go on until the stream stops)."
    ),
}

RULE_SET_DESCRIPTION = (
    "Every CDN relay (transfer) rule of one ZEGO stream. Create adds a rule per URL, or none (a failure rolls "
    "back); update sends only the difference; delete stops the relays, then always clears the stream's rules. "
    "Its id is `<AppId>:<streamId>`. Import: `pulumi import zego:index:CdnTransferRuleSet NAME <AppId>:<streamId>` "
    "learns only the stream id (ZEGO cannot list a stream's relays): declare the URLs, and the next update "
    "creates them."
)


def input_name(setting: Setting) -> str:
    """A setting's provider input: its stack config key without the `zego:` namespace (`appId`)."""
    return setting.pulumi_key.split(":", 1)[1]


def property_name(field: str) -> str:
    """A rule-set field's Pulumi property name: camelCase, as Pulumi packages name them."""
    return to_camel(field)


def _type_of(field_schema: dict[str, Any]) -> dict[str, Any]:
    """The Pulumi type of a JSON-schema property (an optional value is its non-null branch)."""
    branches = [branch for branch in field_schema.get("anyOf", [field_schema]) if branch.get("type") != "null"]
    branch: dict[str, Any] = branches[0] if branches else {"type": "string"}
    kind = branch.get("type", "string")
    if kind == "array":
        items: dict[str, Any] = dict(branch.get("items") or {})
        return {"type": "array", "items": _type_of(items)}
    return {"type": kind if kind in ("string", "integer", "number", "boolean") else "string"}


def _fields(model: type[BaseModel]) -> dict[str, dict[str, Any]]:
    return dict(model.model_json_schema()["properties"])


def setting_properties() -> dict[str, dict[str, Any]]:
    """Each setting as a provider input; one that can carry a credential is `secret`, so the engine
    encrypts it in state even when a program passes a plain string."""
    fields = _fields(ProviderConfig)
    properties: dict[str, dict[str, Any]] = {}
    for setting in declared():
        spec = _type_of(fields.get(setting.field, {}))
        default = (
            setting.default[0].upper() + setting.default[1:]
            if setting.default.startswith("required")
            else (f"Default: {setting.default}")
        )
        spec["description"] = (
            f"{setting.description} {default}. When not given: stack config "
            f"`{setting.pulumi_key}` (the default provider), then the environment variable `{setting.env_var}`."
        )
        if setting.secret:
            spec["secret"] = True
        properties[input_name(setting)] = spec
    return properties


def rule_set_properties() -> dict[str, dict[str, Any]]:
    properties: dict[str, dict[str, Any]] = {}
    for field, field_schema in _fields(RuleSetInputs).items():
        spec = _type_of(field_schema)
        spec["description"] = RULE_SET_DESCRIPTIONS[field]
        if "default" in field_schema:
            spec["default"] = field_schema["default"]
        if field == "stream_id":
            spec["replaceOnChanges"] = True
        properties[property_name(field)] = spec
    return properties


REPOSITORY = "https://github.com/zego-pulumi-provider/zego-pulumi-provider"

# What Pulumi's code generators read to name and version each language's SDK (sdk/ in the
# repository, `make sdks`): the package names users install and import, and the Go import path
# under the repository. `meta.supportPack` gives each SDK its own build file (pyproject.toml,
# package.json, go.mod) at the version above.
LANGUAGES: dict[str, dict[str, Any]] = {
    "python": {"packageName": "pulumi_zego", "respectSchemaVersion": True, "pyproject": {"enabled": True}},
    "nodejs": {"packageName": "@zego-pulumi/zego", "respectSchemaVersion": True},
    "go": {
        "importBasePath": REPOSITORY.removeprefix("https://") + "/sdk/go/zego",
        "generateResourceContainerTypes": True,
        "respectSchemaVersion": True,
    },
}


def package_schema() -> dict[str, Any]:
    settings = setting_properties()
    rule_set = rule_set_properties()
    required = [property_name(field) for field in RuleSetInputs.model_json_schema().get("required", [])]
    return {
        "name": PACKAGE,
        "displayName": "ZEGOCLOUD CDN relay",
        "version": __version__,
        "description": "ZEGOCLOUD CDN relay (transfer) rules per live stream, declared as Pulumi resources.",
        "keywords": ["zego", "zegocloud", "cdn", "rtmp", "live-streaming"],
        "license": "Apache-2.0",
        "repository": REPOSITORY,
        "meta": {"supportPack": True},
        "language": LANGUAGES,
        "config": {"variables": settings},
        "provider": {
            "description": (
                "A ZEGO AppId's credentials and settings. Declare one explicit provider per AppId to manage "
                "several apps (say test and production) in one stack."
            ),
            "inputProperties": settings,
        },
        "resources": {
            RULE_SET_TYPE: {
                "description": RULE_SET_DESCRIPTION,
                "inputProperties": rule_set,
                "requiredInputs": required,
                "properties": rule_set,
                "required": list(rule_set),
            }
        },
    }
