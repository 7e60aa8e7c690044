"""CdnTransferRuleSet: the resource a Pulumi program declares, one per stream."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any, cast

import pulumi
import pulumi.dynamic
from pulumi.runtime.settings import get_monitor

from .budget import display
from .provider import CdnTransferRuleSetProvider
from .settings import Setting, declared


class StreamDeclaredTwiceError(pulumi.RunError):
    """Two rule sets of one program claim the same stream: each would remove the other's relays.

    A `pulumi.RunError`, so that `pulumi preview` shows the message alone, without a traceback.
    """


_streams_by_run: weakref.WeakKeyDictionary[Any, dict[str, tuple[str, object]]] = weakref.WeakKeyDictionary()


def _declared_streams() -> dict[str, tuple[str, object]]:
    """stream id -> (resource name, resource) of this program run.

    Keyed by the run's resource monitor: a program runs once per process under the CLI, but
    several times in one process under the Automation API or pulumi's mocks.
    """
    run = get_monitor()
    if run is None:
        return {}
    return _streams_by_run.setdefault(run, {})


def _claim_stream(stream_id: str, resource_name: str, resource: object) -> str:
    first_name, first = _declared_streams().setdefault(stream_id, (resource_name, resource))
    if first is not resource:
        raise StreamDeclaredTwiceError(
            f"stream {stream_id!r} is declared by two CdnTransferRuleSets, {first_name!r} and {resource_name!r}: "
            "one rule set owns every relay of a stream (the delete of either would remove the other's), "
            "so list all its cdn_urls in one of them"
        )
    return stream_id


_warned_runs: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def _holds_credential(setting: Setting, value: str) -> bool:
    """A secret setting's value that carries a credential: the ServerSecret always, a rate
    limiter only when it is a URL with a password (`machine` or a bare Redis URL holds none)."""
    return setting.field != "rate_limiter" or display(value) != value


def plain_credentials() -> list[str]:
    """The stack config keys that hold a credential in plain text (set without `--secret`).

    Only the program can tell: the engine passes a dynamic provider's `configure` the stack
    config with every secret unwrapped (the Python SDK's dynamic-provider server calls
    `unwrap_rpc_secret` on each value and answers `acceptSecrets: false`), so the provider
    process never learns which values were secret. The program does (`PULUMI_CONFIG_SECRET_KEYS`).
    """
    found = []
    for setting in declared():
        value = pulumi.runtime.get_config(setting.pulumi_key)
        if not setting.secret or not isinstance(value, str) or not value:
            continue
        if not pulumi.runtime.is_config_secret(setting.pulumi_key) and _holds_credential(setting, value):
            found.append(setting.pulumi_key)
    return found


def _warn_of_plain_credentials() -> None:
    """Once per program run: `pulumi preview` and `up` say which credential sits in plain text
    in the stack's config file (Pulumi.<stack>.yaml), never its value."""
    run = get_monitor()
    if run is None or _warned_runs.get(run):
        return
    _warned_runs[run] = True
    for key in plain_credentials():
        pulumi.log.warn(
            f"{key} holds a credential in plain text in the stack config: set it with "
            f"`pulumi config set --secret {key} ...` so that it is stored encrypted"
        )


class CdnTransferRuleSetArgs:
    """Inputs of a CdnTransferRuleSet; each may be a plain value or an Output of another resource.

    :param stream_id: the RTC stream's id (in the test environment it must start with
        ``zegotest-<AppId>-``). Changing it replaces the rule set.
    :param cdn_urls: the ``rtmp://`` URLs the stream is relayed to; order does not matter,
        duplicates are refused, and an empty list is allowed.
    :param stop_relays_on_delete: on destroy, also stop relays that are already running
        (DeleteCDNTransferRule per URL) before clearing the scheduled ones. Default true.
    """

    def __init__(
        self,
        stream_id: pulumi.Input[str],
        cdn_urls: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        stop_relays_on_delete: pulumi.Input[bool] = True,
    ) -> None:
        self.stream_id = stream_id
        self.cdn_urls = cdn_urls if cdn_urls is not None else []
        self.stop_relays_on_delete = stop_relays_on_delete


class CdnTransferRuleSet(pulumi.dynamic.Resource, module="zego", name="CdnTransferRuleSet"):
    """All CDN relay rules of one ZEGO stream: created on up, diffed on update, cleared on destroy.

    A stream belongs to one rule set: a second one in the same program is refused with
    `StreamDeclaredTwiceError`, at construction or, for a stream id that is an Output, once it
    resolves.
    """

    stream_id: pulumi.Output[str]
    cdn_urls: pulumi.Output[list[str]]
    stop_relays_on_delete: pulumi.Output[bool]

    def __init__(
        self,
        resource_name: str,
        args: CdnTransferRuleSetArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        *,
        stream_id: pulumi.Input[str] | None = None,
        cdn_urls: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        stop_relays_on_delete: pulumi.Input[bool] = True,
    ) -> None:
        if args is None:
            if stream_id is None:
                raise TypeError("CdnTransferRuleSet needs stream_id (or args=CdnTransferRuleSetArgs(...))")
            args = CdnTransferRuleSetArgs(stream_id, cdn_urls, stop_relays_on_delete)
        elif stream_id is not None or cdn_urls is not None:
            raise TypeError("give either args or keyword inputs to CdnTransferRuleSet, not both")
        stream_id_input: pulumi.Input[str] = args.stream_id
        if isinstance(stream_id_input, str):
            _claim_stream(stream_id_input, resource_name, self)
        else:  # known once it resolves (never during a preview that cannot know it)
            stream_id_input = pulumi.Output.from_input(cast("pulumi.Input[str]", stream_id_input)).apply(
                lambda known: _claim_stream(known, resource_name, self)
            )
        _warn_of_plain_credentials()
        props = {
            "stream_id": stream_id_input,
            "cdn_urls": args.cdn_urls,
            "stop_relays_on_delete": args.stop_relays_on_delete,
        }
        super().__init__(CdnTransferRuleSetProvider(), resource_name, props, opts)
