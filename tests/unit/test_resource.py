"""CdnTransferRuleSet in a Pulumi program, run under pulumi's mocks (no engine, no ZEGO)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Iterator
from typing import Any

import pulumi
import pytest

from zego_provider import CdnTransferRuleSet, CdnTransferRuleSetArgs
from zego_provider.resource import StreamDeclaredTwiceError, plain_credentials

SECRET = "0123456789abcdef0123456789abcdef"


class RecordingMocks(pulumi.runtime.Mocks):
    """Echoes inputs back as outputs and remembers what each resource was registered with."""

    def __init__(self) -> None:
        self.registered: dict[str, tuple[str, dict[str, Any]]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.registered[args.name] = (args.typ, dict(args.inputs))
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


@pytest.fixture
def mocks() -> Iterator[RecordingMocks]:
    # Pulumi's mocks run the program on the current event loop; earlier tests may have closed it.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    recording = RecordingMocks()
    pulumi.runtime.set_mocks(recording, project="zego", stack="test", preview=False)
    yield recording
    _drain(loop)
    asyncio.set_event_loop(None)
    loop.close()


def _drain(loop: asyncio.AbstractEventLoop) -> None:
    """Let the registrations a test started finish, so none is left un-awaited."""
    for _ in range(10):
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        if not pending:
            return
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


@pulumi.runtime.test
def test_keyword_inputs_become_outputs(mocks: RecordingMocks) -> Any:
    rules = CdnTransferRuleSet("main", stream_id="stream-1", cdn_urls=["rtmp://cdn.example.com/live/1"])

    def verify(values: list[Any]) -> None:
        stream_id, cdn_urls, stop = values
        assert stream_id == "stream-1"
        assert cdn_urls == ["rtmp://cdn.example.com/live/1"]
        assert stop is True
        typ, inputs = mocks.registered["main"]
        assert typ == "pulumi-python:dynamic/zego:CdnTransferRuleSet"
        assert set(inputs) == {"stream_id", "cdn_urls", "stop_relays_on_delete", "__provider"}

    return pulumi.Output.all(rules.stream_id, rules.cdn_urls, rules.stop_relays_on_delete).apply(verify)


@pulumi.runtime.test
def test_args_object_and_empty_rule_set(mocks: RecordingMocks) -> Any:
    rules = CdnTransferRuleSet("empty", CdnTransferRuleSetArgs(stream_id="quiet", stop_relays_on_delete=False))

    def verify(values: list[Any]) -> None:
        assert values == ["quiet", [], False]

    return pulumi.Output.all(rules.stream_id, rules.cdn_urls, rules.stop_relays_on_delete).apply(verify)


@pulumi.runtime.test
def test_outputs_of_other_resources_are_accepted_as_inputs(mocks: RecordingMocks) -> Any:
    upstream = CdnTransferRuleSet("upstream", stream_id="source", cdn_urls=[])
    derived_id = upstream.stream_id.apply(lambda stream: f"{stream}-mirror")
    derived_url = upstream.stream_id.apply(lambda stream: f"rtmp://cdn.example.com/live/{stream}")
    rules = CdnTransferRuleSet("mirror", stream_id=derived_id, cdn_urls=[derived_url])

    def verify(values: list[Any]) -> None:
        assert values == ["source-mirror", ["rtmp://cdn.example.com/live/source"]]

    return pulumi.Output.all(rules.stream_id, rules.cdn_urls).apply(verify)


@pulumi.runtime.test
def test_the_serialized_provider_is_small_and_holds_no_secret(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch
) -> Any:
    monkeypatch.setenv("ZEGO_SERVER_SECRET", SECRET)
    rules = CdnTransferRuleSet("sized", stream_id="s", cdn_urls=[])

    def verify(_: Any) -> None:
        blob = mocks.registered["sized"][1]["__provider"]
        assert len(blob) < 1024
        raw = base64.b64decode(blob)
        assert SECRET.encode() not in raw
        assert b"zego_provider.provider" in raw  # a reference to the installed class, not its code

    return rules.stream_id.apply(verify)


def test_stream_id_is_required() -> None:
    with pytest.raises(TypeError, match="stream_id"):
        CdnTransferRuleSet("nameless")


def test_args_and_keywords_do_not_mix() -> None:
    with pytest.raises(TypeError, match="not both"):
        CdnTransferRuleSet("both", CdnTransferRuleSetArgs(stream_id="a"), stream_id="b")


def test_a_second_rule_set_on_the_same_stream_is_refused_naming_both(mocks: RecordingMocks) -> None:
    CdnTransferRuleSet("first", stream_id="shared", cdn_urls=["rtmp://cdn.example.com/live/1"])
    with pytest.raises(StreamDeclaredTwiceError) as caught:
        CdnTransferRuleSet("second", stream_id="shared", cdn_urls=["rtmp://cdn.example.com/live/2"])
    message = str(caught.value)
    assert "'shared'" in message and "'first'" in message and "'second'" in message
    assert isinstance(caught.value, pulumi.RunError)  # shown by the CLI as a message, not a traceback


def test_the_same_name_under_another_parent_is_still_a_second_rule_set(mocks: RecordingMocks) -> None:
    component = pulumi.ComponentResource("test:index:Environment", "env")
    CdnTransferRuleSet("main", stream_id="shared")
    with pytest.raises(StreamDeclaredTwiceError):
        CdnTransferRuleSet("main", stream_id="shared", opts=pulumi.ResourceOptions(parent=component))


def test_a_stream_id_output_is_checked_once_it_resolves(mocks: RecordingMocks) -> None:
    first = CdnTransferRuleSet("first", stream_id="shared")
    second = CdnTransferRuleSet("second", stream_id=first.stream_id.apply(lambda stream: stream))
    loop = asyncio.get_event_loop()
    with pytest.raises(StreamDeclaredTwiceError, match="'first' and 'second'"):
        loop.run_until_complete(second.stream_id.future())


def test_each_program_run_starts_with_no_stream_declared() -> None:
    for run in range(2):
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            pulumi.runtime.set_mocks(RecordingMocks(), project="zego", stack=f"run{run}", preview=False)
            rules = CdnTransferRuleSet("main", stream_id="same-stream-every-run")
            assert loop.run_until_complete(rules.stream_id.future()) == "same-stream-every-run"
            _drain(loop)
        finally:
            asyncio.set_event_loop(None)
            loop.close()


@pytest.fixture
def stack_config() -> Iterator[Callable[[dict[str, str], list[str]], None]]:
    """Sets the program's stack config and its secret keys, as the language host does; restores them after."""

    def set_config(config: dict[str, str], secret_keys: list[str]) -> None:
        pulumi.runtime.set_all_config(config, secret_keys)

    yield set_config
    pulumi.runtime.set_all_config({}, [])


def test_a_credential_set_without_secret_is_named_and_one_set_with_it_is_not(
    stack_config: Callable[[dict[str, str], list[str]], None],
) -> None:
    with_password = "redis://:made-up-redis-pw@redis.internal:6379/0"
    stack_config({"zego:rateLimiter": with_password, "zego:serverSecret": SECRET, "zego:appId": "1"}, [])
    assert plain_credentials() == ["zego:serverSecret", "zego:rateLimiter"]
    stack_config({"zego:rateLimiter": with_password, "zego:serverSecret": SECRET}, ["zego:serverSecret"])
    assert plain_credentials() == ["zego:rateLimiter"]
    stack_config({"zego:rateLimiter": with_password}, ["zego:rateLimiter"])
    assert plain_credentials() == []
    for no_password in ("machine", "redis://redis.internal:6379/0", "rediss://ci@redis.internal/1"):
        stack_config({"zego:rateLimiter": no_password}, [])
        assert plain_credentials() == [], no_password


def test_the_warning_comes_once_per_run_and_never_holds_the_value(
    mocks: RecordingMocks,
    stack_config: Callable[[dict[str, str], list[str]], None],
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    warnings: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *args, **kwargs: warnings.append(message))
    stack_config({"zego:rateLimiter": "redis://:made-up-redis-pw@redis.internal:6379/0"}, [])
    CdnTransferRuleSet("a", stream_id="a", cdn_urls=[])
    CdnTransferRuleSet("b", stream_id="b", cdn_urls=[])
    assert len(warnings) == 1
    assert "zego:rateLimiter" in warnings[0] and "--secret" in warnings[0]
    assert "made-up-redis-pw" not in warnings[0]
