"""The native `zego` provider: `pulumi.provider.experimental.Provider` over the shared lifecycle.

A thin adapter, like the dynamic provider: it turns Pulumi's property values (camelCase,
possibly secret or computed) into the plain snake_case dicts of `zego_provider.lifecycle`,
and back. One process serves one provider instance (the engine starts a process per
provider resource), so its settings are those of one AppId. ZEGO calls run in worker threads:
the engine sends operations in parallel, and the SDK serves them on one event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi.output import Unknown
from pulumi.provider.experimental.property_value import Computed, PropertyValue
from pulumi.provider.experimental.provider import (
    CheckFailure,
    CheckRequest,
    CheckResponse,
    ConfigureRequest,
    ConfigureResponse,
    CreateRequest,
    CreateResponse,
    DeleteRequest,
    DiffRequest,
    DiffResponse,
    GetSchemaRequest,
    GetSchemaResponse,
    PropertyDiff,
    PropertyDiffKind,
    Provider,
    ReadRequest,
    ReadResponse,
    UpdateRequest,
    UpdateResponse,
)

from .. import lifecycle
from ..claims import StreamClaims
from ..config import ProviderConfig
from ..errors import ZegoConfigError
from ..frontend import NOT_KNOWN, ClientFactory, ProviderCore, ZegoProviderError, is_unknown
from ..lifecycle import RuleSetLifecycle
from ..models import RuleSetInputs
from ..settings import declared
from .schema import RULE_SET_TYPE, input_name, package_schema, property_name

log = logging.getLogger(__name__)

FIELDS = {property_name(field): field for field in RuleSetInputs.model_fields}
"""Pulumi property name -> lifecycle field (`streamId` -> `stream_id`)."""


REPLACING_SETTINGS = ("appId", "isTest")
"""Provider inputs whose change moves the rule sets to another app or environment."""


def _plain(value: PropertyValue) -> Any:
    """A property value as plain Python (secrets unwrapped: the caller keeps track of them); a value
    not known yet is the SDK's `Unknown`, never equal to a known one, so diff sees a change."""
    inner = value.value
    if isinstance(inner, Computed):
        return NOT_KNOWN
    if isinstance(inner, float) and inner.is_integer():
        return int(inner)  # Pulumi numbers are floats; an AppId or count is an integer
    if isinstance(inner, Mapping):
        return {key: _plain(item) for key, item in inner.items()}
    if isinstance(inner, Sequence) and not isinstance(inner, str):
        return [_plain(item) for item in inner]
    return inner


def _property_value(value: Any, *, secret: bool = False) -> PropertyValue:
    if isinstance(value, Unknown):
        return PropertyValue.computed()
    if isinstance(value, bool) or value is None or isinstance(value, str):
        wrapped = PropertyValue(value)
    elif isinstance(value, int | float):
        wrapped = PropertyValue(float(value))
    elif isinstance(value, list | tuple):
        wrapped = PropertyValue([_property_value(item) for item in value])
    elif isinstance(value, dict):
        wrapped = PropertyValue({key: _property_value(item) for key, item in value.items()})
    else:
        raise TypeError(f"no Pulumi value for {type(value).__name__}")
    return wrapped.with_secret(True) if secret else wrapped


class RuleSetProperties:
    """A rule set's Pulumi properties as lifecycle fields, remembering which were secret (a CDN URL
    may carry a stream key: what came in secret goes out secret)."""

    def __init__(self, properties: Mapping[str, PropertyValue]) -> None:
        self.fields: dict[str, Any] = {}
        self.secret: set[str] = set()
        self.unknown: set[str] = set()
        for name, value in properties.items():
            if name.startswith("__") or value.value is None:
                continue  # the engine's own keys; a null input is an input not given (its default applies)
            field = FIELDS.get(name, name)  # an unknown name stays as is, for check to refuse
            self.fields[field] = _plain(value)
            if value.contains_secret():
                self.secret.add(field)
            if is_unknown(self.fields[field]):
                self.unknown.add(field)

    def output(self, fields: Mapping[str, Any]) -> dict[str, PropertyValue]:
        return {
            property_name(field) if field in RuleSetInputs.model_fields else field: _property_value(
                value, secret=field in self.secret
            )
            for field, value in fields.items()
        }


def _pulumi_path(path: str) -> str:
    """`cdn_urls[1]` -> `cdnUrls[1]`: a check failure names the property as the program does."""
    head, bracket, rest = path.partition("[")
    return property_name(head) + bracket + rest if head in RuleSetInputs.model_fields else path


class ZegoProvider(Provider):
    """The `zego` package: the provider resource (settings of one AppId) and `CdnTransferRuleSet`.

    `client_factory` and `claims` are seams for in-process tests, as in the dynamic provider.
    """

    def __init__(self, client_factory: ClientFactory | None = None, claims: StreamClaims | None = None) -> None:
        self._core = ProviderCore(client_factory, claims)

    # the provider resource

    async def get_schema(self, request: GetSchemaRequest) -> GetSchemaResponse:
        return GetSchemaResponse(json.dumps(package_schema()))

    async def check_config(self, request: CheckRequest) -> CheckResponse:
        """Refuse bad settings at preview, one failure per provider input (zero requests)."""
        stack, unknown = _settings(request.new_inputs)
        failures: list[CheckFailure] = []
        if not unknown:
            try:
                ProviderConfig.from_sources(stack, os.environ)
            except ZegoConfigError as error:
                failures = [CheckFailure(_input_of(name), reason) for name, reason in error.problems]
        return CheckResponse(inputs=_secret_settings_marked(request.new_inputs), failures=failures)

    async def diff_config(self, request: DiffRequest) -> DiffResponse:
        """Another AppId or environment replaces the provider, and so every rule set it manages
        (created in the new app, deleted from the old): its relays live in the other app. Any other
        setting (the secret, the endpoint, limits) is an update.

        The engine also asks this when a rule set moves to another provider resource (a renamed
        provider, default to explicit): only another app or environment replaces the rule set then,
        so AppId and environment are compared as resolved, the `ZEGO_*` environment included.
        """
        olds, _ = _settings(request.old_state)
        news, unknown = _settings(request.new_inputs)
        changed = sorted(
            input_name(setting)
            for setting in declared()
            if input_name(setting) in unknown or not _same(olds.get(setting.pulumi_key), news.get(setting.pulumi_key))
        )
        old_app, new_app = _app_of(olds), _app_of(news)
        if old_app is not None and new_app is not None and not unknown:
            replaces = [name for name, old, new in zip(REPLACING_SETTINGS, old_app, new_app, strict=True) if old != new]
        else:
            replaces = [name for name in changed if name in REPLACING_SETTINGS]
        return DiffResponse(changes=bool(changed), replaces=replaces, diffs=changed)

    async def configure(self, request: ConfigureRequest) -> ConfigureResponse:
        """Read the settings: provider inputs (or the stack's `zego:*` config), then the environment.

        A bad setting is kept to be reported by `check` against each rule set, and raised by
        anything that would call ZEGO. The secret stays a SecretStr inside ProviderConfig.
        """
        stack, unknown = _settings(request.args, request.variables)
        self._core.configure(stack, unknown=bool(unknown))
        return ConfigureResponse(accept_secrets=True, supports_preview=False)

    @property
    def config(self) -> ProviderConfig:
        return self._core.config

    # CdnTransferRuleSet

    async def check(self, request: CheckRequest) -> CheckResponse:
        """Refuse bad input per property before any call; unknown (preview) values pass."""
        _require_rule_set(request.type)
        props = RuleSetProperties(request.new_inputs)
        if self._core.settings_unknown:
            # The AppId is not known yet (a preview): check all but the test-environment prefix.
            rule_sets = RuleSetLifecycle(self._core.client, StreamClaims(), app_id=0, is_test=False)
        else:
            try:
                rule_sets = self._core.lifecycle()
            except ZegoConfigError as error:
                return CheckResponse(
                    request.new_inputs, [CheckFailure(_input_of(name), reason) for name, reason in error.problems]
                )
        checked = rule_sets.check(props.fields, props.unknown, owner=request.urn)
        return CheckResponse(
            inputs=props.output(checked.inputs),
            failures=[CheckFailure(_pulumi_path(path), reason) for path, reason in checked.problems],
        )

    async def diff(self, request: DiffRequest) -> DiffResponse:
        olds = RuleSetProperties(request.old_state).fields
        news = RuleSetProperties(request.new_inputs)
        found = lifecycle.diff(olds, news.fields, news.unknown)
        replaces = [property_name(field) for field in found.replaces]
        changed = [property_name(field) for field in found.changed]
        return DiffResponse(
            changes=bool(changed),
            replaces=replaces,
            diffs=changed,
            detailed_diff={
                name: PropertyDiff(
                    PropertyDiffKind.UPDATE_REPLACE if name in replaces else PropertyDiffKind.UPDATE, input_diff=True
                )
                for name in changed
            },
            delete_before_replace=False,
        )

    async def create(self, request: CreateRequest) -> CreateResponse:
        _require_rule_set(request.type)
        props = RuleSetProperties(request.properties)
        id_, outs = await asyncio.to_thread(self._core.lifecycle().create, props.fields)
        return CreateResponse(id_, props.output(outs))

    async def update(self, request: UpdateRequest) -> UpdateResponse:
        olds = RuleSetProperties(request.olds)
        news = RuleSetProperties(request.news)
        outs = await asyncio.to_thread(self._core.lifecycle().update, olds.fields, news.fields)
        return UpdateResponse(news.output(outs))

    async def delete(self, request: DeleteRequest) -> None:
        await asyncio.to_thread(
            self._core.lifecycle().delete, request.resource_id, RuleSetProperties(request.properties).fields
        )

    async def read(self, request: ReadRequest) -> ReadResponse:
        """Refresh keeps the recorded state; an import (an id alone) learns the stream id from it
        and records no URL, since ZEGO cannot list a stream's relays."""
        _require_rule_set(request.type)
        props = RuleSetProperties(request.properties)
        importing = not props.fields
        if importing:
            self._check_import_id(request.resource_id)
        outs = props.output(lifecycle.read(request.resource_id, props.fields))
        inputs = outs if importing or not request.inputs else request.inputs
        return ReadResponse(request.resource_id, outs, inputs)

    def _check_import_id(self, id_: str) -> None:
        app_id = lifecycle.app_id_of(id_)
        stream_id = lifecycle.stream_id_of(id_)
        if app_id is None or not stream_id:
            raise ZegoProviderError(f"import id {id_!r} is not <AppId>:<streamId>")
        if app_id != str(self.config.app_id):
            raise ZegoProviderError(
                f"import id {id_!r} names AppId {app_id}, but this provider manages AppId {self.config.app_id}: "
                "import through the provider of that AppId (--provider)"
            )


def _settings(
    args: Mapping[str, PropertyValue], variables: Mapping[str, str] | None = None
) -> tuple[dict[str, Any], set[str]]:
    """The provider inputs as stack-config keys (`zego:appId`), and those not known yet.

    Inputs (`appId`) are what the engine sends today; the older `zego:config:appId` variables are
    read when an input is absent.
    """
    variables = variables or {}
    stack: dict[str, Any] = {}
    unknown: set[str] = set()
    for setting in declared():
        name = input_name(setting)
        value = args.get(name)
        if value is not None and value.value is not None:
            plain = _plain(value)
            if is_unknown(plain):
                unknown.add(name)
                continue
            stack[setting.pulumi_key] = plain
        else:
            legacy = variables.get(f"zego:config:{name}", variables.get(setting.pulumi_key))
            if legacy is not None:
                stack[setting.pulumi_key] = legacy
    return stack, unknown


def _secret_settings_marked(inputs: Mapping[str, PropertyValue]) -> dict[str, PropertyValue]:
    """The provider inputs with every setting that can carry a credential marked secret, whatever
    the program passed (a plain string, an SDK built from an older schema): the engine stores the
    checked inputs, so these are encrypted in state."""
    secret = {input_name(setting) for setting in declared() if setting.secret}
    return {
        name: PropertyValue(value.value, is_secret=True, dependencies=value.dependencies)
        if name in secret and not value.is_secret and isinstance(value.value, str)
        else value
        for name, value in inputs.items()
    }


def _app_of(stack: Mapping[str, Any]) -> tuple[int, bool] | None:
    """The AppId and environment these settings resolve to (environment included), None if invalid."""
    try:
        config = ProviderConfig.from_sources(stack, os.environ)
    except ZegoConfigError:
        return None
    return config.app_id, config.is_test


def _same(old: Any, new: Any) -> bool:
    """Settings compared as the user wrote them: `1234` and `"1234"`, `true` and `"true"` are one value."""
    return str(old).lower() == str(new).lower()


def _input_of(name: str) -> str:
    """A problem named by its stack config key (`zego:appId`) is reported on the provider input (`appId`);
    one from the environment (`ZEGO_APP_ID`) keeps its name."""
    return name.split(":", 1)[1] if name.startswith("zego:") else name


def _require_rule_set(type_: str) -> None:
    if type_ != RULE_SET_TYPE:
        raise ZegoProviderError(f"unknown resource type {type_!r}: the zego package has {RULE_SET_TYPE}")
