"""The Pulumi dynamic ResourceProvider behind CdnTransferRuleSet.

A thin adapter: the lifecycle of a rule set (check, diff, create, update, delete, read) lives
in `zego_provider.lifecycle`, shared with the native provider; this class turns the dynamic
provider's calls into it. It knows nothing of URLs or signatures. It holds no state when it is
pickled into the Pulumi state: credentials are read in `configure`, inside the provider
process, so the serialized provider is a small reference to this class. Its two seams, the
client factory and the stream claims, are given in-process (tests hand it a fake client);
unpickled by the engine, it always uses the shared ones.

`zego_provider.provider.CdnTransferRuleSetProvider` is a public name, kept for as long as any
supported release could have recorded it. Every existing stack's state holds, per rule set, the
pickled provider (`__provider`): a reference to the class by this module and name, which the
engine unpickles with the code installed *now* on every update and destroy. Moving or renaming
the class or this module would make every stack created before fail to destroy, relays left
running: if the class moves, keep an alias here. tests/unit/test_pickled_reference.py pins it
with the bytes 0.1.0 recorded; docs/development.md ("Recording a release's state") says more.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN

from . import lifecycle
from .claims import StreamClaims, stream_claims
from .config import ProviderConfig
from .errors import ZegoConfigError
from .lifecycle import ClientFactory, RuleClient, RuleSetLifecycle, _clients, shared_client
from .settings import declared

__all__ = ["CdnTransferRuleSetProvider", "ClientFactory", "RuleClient", "_clients", "shared_client"]


def _is_unknown(value: Any) -> bool:
    """The SDK hands a value not known yet (an Output during preview) as its UNKNOWN string or an Unknown."""
    if isinstance(value, Unknown):
        return True
    if isinstance(value, str):
        return value == UNKNOWN
    if isinstance(value, list | tuple):
        return any(_is_unknown(item) for item in value)
    if isinstance(value, dict):
        return any(_is_unknown(item) for item in value.values())
    return False


class CdnTransferRuleSetProvider(ResourceProvider):
    """Owns every CDN relay rule of one stream.

    `client_factory` and `claims` are seams for in-process tests; neither is pickled: the
    engine's copy always uses `shared_client` and the process's `stream_claims`.
    """

    serialize_as_secret_always = False  # it captures no secret, so the state can show it

    def __init__(self, client_factory: ClientFactory | None = None, claims: StreamClaims | None = None) -> None:
        super().__init__()
        self._client_factory: ClientFactory = client_factory or shared_client
        self._claims = claims or stream_claims
        self._config: ProviderConfig | None = None
        self._config_error: ZegoConfigError | None = None

    def __getstate__(self) -> dict[str, Any]:
        # Whatever configure() loaded, and any injected seam, stays in this process: the state
        # holds only a reference to this class.
        return {}

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        self._client_factory = shared_client
        self._claims = stream_claims
        self._config = None
        self._config_error = None

    def configure(self, req: ConfigureRequest) -> None:
        stack = {setting.pulumi_key: req.config.get(setting.pulumi_key) for setting in declared()}
        try:
            self._config = ProviderConfig.from_sources(stack, os.environ)
        except ZegoConfigError as error:
            # Kept for check() to report per setting in `pulumi preview`; anything that would
            # call ZEGO raises it.
            self._config_error = error

    @property
    def config(self) -> ProviderConfig:
        if self._config_error is not None:
            raise self._config_error
        if self._config is None:
            # Not configured by the engine (e.g. called directly): the environment is all we have.
            self._config = ProviderConfig.from_env()
        return self._config

    def _client(self) -> RuleClient:
        return self._client_factory(self.config)

    def _lifecycle(self) -> RuleSetLifecycle:
        config = self.config
        return RuleSetLifecycle(self._client, self._claims, app_id=config.app_id, is_test=config.is_test)

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate every input before any call (see `RuleSetLifecycle.check`); settings that are
        missing or bad are reported one per setting."""
        inputs = _own(news)
        try:
            rule_sets = self._lifecycle()
        except ZegoConfigError as error:
            return CheckResult(inputs, [CheckFailure(name, reason) for name, reason in error.problems])
        checked = rule_sets.check(inputs, _unknown_keys(inputs))
        return CheckResult(checked.inputs, [CheckFailure(path, reason) for path, reason in checked.problems])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        found = lifecycle.diff(olds, news, _unknown_keys(news))
        return DiffResult(changes=bool(found.changed), replaces=found.replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        id_, outs = self._lifecycle().create(_own(props))
        return CreateResult(id_, outs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._lifecycle().update(olds, _own(news)))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        self._lifecycle().delete(_id, props)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, lifecycle.read(id_, _own(props)))


def _own(props: Mapping[str, Any]) -> dict[str, Any]:
    """The resource's inputs, without the SDK's own keys (`__provider`)."""
    return {key: value for key, value in props.items() if not key.startswith("__")}


def _unknown_keys(props: Mapping[str, Any]) -> set[str]:
    return {key for key, value in props.items() if _is_unknown(value)}
