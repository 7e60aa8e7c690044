"""What both Pulumi front-ends share: the settings they were configured with, the client, the lifecycle.

The dynamic provider (`zego_provider.provider`) and the native one (`zego_provider.native`)
differ only in their protocol's values; a `ProviderCore` holds the rest. Settings are read in
`configure`, inside the provider process, from the stack's `zego:*` values and then the
environment; bad ones are kept for `check` to report per setting, and raised by anything that
would call ZEGO. Clients are shared per settings in the process (`shared_client`), so that
Pulumi's parallel operations share one connection pool, one budget and one order per stream.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN

from .claims import StreamClaims, stream_claims
from .client import ZegoClient
from .config import ProviderConfig
from .errors import ZegoConfigError, ZegoError
from .lifecycle import RuleClient, RuleSetLifecycle

ClientFactory = Callable[[ProviderConfig], RuleClient]
"""Gives a front-end its client for the settings it was configured with; `shared_client` by default."""


class ZegoProviderError(ZegoError):
    """A refused operation the user can fix (a wrong import id, settings not known): shown as one line."""


_clients: dict[ProviderConfig, ZegoClient] = {}
_clients_lock = threading.Lock()


def shared_client(config: ProviderConfig) -> ZegoClient:
    """The process's one client of these settings."""
    with _clients_lock:
        client = _clients.get(config)
        if client is None:
            client = _clients[config] = ZegoClient(config)
        return client


NOT_KNOWN: Unknown = Unknown()  # type: ignore[no-untyped-call]  # the SDK's class is untyped
"""A value not known yet, as the native front-end hands it to the lifecycle (for a Computed)."""


def is_unknown(value: Any) -> bool:
    """A value not known yet (preview), or a list or map holding one: the SDK's `Unknown`, or its
    UNKNOWN wire string (the dynamic provider gets both; the native one maps Computed to `Unknown`)."""
    if isinstance(value, Unknown) or (isinstance(value, str) and value == UNKNOWN):
        return True
    if isinstance(value, list | tuple):
        return any(is_unknown(item) for item in value)
    if isinstance(value, dict):
        return any(is_unknown(item) for item in value.values())
    return False


class ProviderCore:
    """The settings of one provider (one AppId), and the lifecycle of its rule sets over them.

    `client_factory` and `claims` are seams for in-process tests; by default the process's
    shared clients and stream claims.
    """

    def __init__(self, client_factory: ClientFactory | None = None, claims: StreamClaims | None = None) -> None:
        self.client_factory: ClientFactory = client_factory or shared_client
        self.claims = claims or stream_claims
        self.settings_unknown = False
        self._config: ProviderConfig | None = None
        self._config_error: ZegoConfigError | None = None

    def configure(self, stack: Mapping[str, Any], *, unknown: bool = False) -> None:
        """Read the settings: `stack` (`zego:*` keys) wins over the environment. `unknown`: some
        come from resources not created yet (a preview), so none can be read."""
        self._config = self._config_error = None
        self.settings_unknown = unknown
        if not unknown:
            try:
                self._config = ProviderConfig.from_sources(stack, os.environ)
            except ZegoConfigError as error:
                self._config_error = error

    @property
    def config(self) -> ProviderConfig:
        if self._config_error is not None:
            raise self._config_error
        if self.settings_unknown:
            raise ZegoProviderError("the zego provider's settings are not known yet (they come from other resources)")
        if self._config is None:
            # Not configured by the engine (e.g. called directly): the environment is all we have.
            self._config = ProviderConfig.from_env()
        return self._config

    def client(self) -> RuleClient:
        return self.client_factory(self.config)

    def lifecycle(self) -> RuleSetLifecycle:
        config = self.config
        return RuleSetLifecycle(self.client, self.claims, app_id=config.app_id, is_test=config.is_test)
