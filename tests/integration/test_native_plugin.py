"""The native `zego` plugin as the engine runs it: the `pulumi-resource-zego` process, driven over gRPC
with the SDK's generated stubs, talking HTTP to an in-process emulator."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import grpc
import pytest
from pulumi.provider.experimental.property_value import PropertyValue
from pulumi.runtime.proto import provider_pb2
from pydantic.alias_generators import to_camel

from devkit.provider_process import PluginProcess
from devkit.settings_env import without_settings
from tests.support.bad_inputs import RESOURCE_INPUTS, BadInput, one_of_each_kind
from tests.support.bad_inputs import SETTINGS as BAD_SETTINGS
from zego_provider.emulator import ZegoEmulator
from zego_provider.native import RULE_SET_TYPE

APP_ID = 1234567890
SECRET = "made-up-secret-for-native-tests-0123"
URL_A = "rtmp://cdn-a.example.com/live/key-a?token=old"
URL_A_NEW = "rtmp://cdn-a.example.com/live/key-a?token=new"
URL_B = "rtmp://cdn-b.example.com/live/key-b"
CLEAR = "ClearCDNTransferRule"
REPO = Path(__file__).resolve().parents[2]
CONSOLE_SCRIPT = Path(sys.executable).with_name("pulumi-resource-zego")
LAUNCHER = REPO / "plugins" / "zego" / "pulumi-resource-zego"


def _pv(value: Any) -> PropertyValue:
    if isinstance(value, PropertyValue):
        return value
    if isinstance(value, list):
        return PropertyValue([_pv(item) for item in value])
    if isinstance(value, int) and not isinstance(value, bool):
        return PropertyValue(float(value))
    return PropertyValue(value)


def struct(values: Mapping[str, Any]) -> Any:
    return PropertyValue.marshal_map({key: _pv(value) for key, value in values.items()})


def plain(struct_value: Any) -> dict[str, Any]:
    def unwrap(value: PropertyValue) -> Any:
        if isinstance(value.value, tuple):
            return [unwrap(item) for item in value.value]
        return value.value

    return {key: unwrap(value) for key, value in PropertyValue.unmarshal_map(struct_value).items()}


def rule_set(stream_id: str, *urls: str) -> dict[str, Any]:
    return {"streamId": stream_id, "cdnUrls": sorted(urls), "stopRelaysOnDelete": True}


class Plugin(PluginProcess):
    """One `pulumi-resource-zego` process and a stub to it; stderr is kept for the secret check."""

    def __init__(self, command: list[str], env: Mapping[str, str] | None = None) -> None:
        clean = without_settings(os.environ)
        # The engine's address comes last: never dialled by these operations.
        super().__init__([*command, "127.0.0.1:1"], {**clean, **(env or {})})

    @staticmethod
    def urn(name: str) -> str:
        return f"urn:pulumi:dev::native::{RULE_SET_TYPE}::{name}"

    def configure(self, **args: Any) -> None:
        self.stub.Configure(provider_pb2.ConfigureRequest(args=struct(args), acceptSecrets=True), timeout=30)

    def check(self, name: str, news: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        reply = self.stub.Check(provider_pb2.CheckRequest(urn=self.urn(name), news=struct(news)), timeout=30)
        return plain(reply.inputs), [(failure.property, failure.reason) for failure in reply.failures]

    def create(self, name: str, props: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        reply = self.stub.Create(provider_pb2.CreateRequest(urn=self.urn(name), properties=struct(props)), timeout=60)
        return reply.id, plain(reply.properties)

    def update(self, name: str, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        request = provider_pb2.UpdateRequest(id=id_, urn=self.urn(name), olds=struct(olds), news=struct(news))
        return plain(self.stub.Update(request, timeout=60).properties)

    def delete(self, name: str, id_: str, props: Mapping[str, Any]) -> None:
        request = provider_pb2.DeleteRequest(id=id_, urn=self.urn(name), properties=struct(props))
        self.stub.Delete(request, timeout=60)

    def read(self, name: str, id_: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
        reply = self.stub.Read(provider_pb2.ReadRequest(id=id_, urn=self.urn(name)), timeout=30)
        return reply.id, plain(reply.properties), plain(reply.inputs)


@pytest.fixture(scope="module")
def zego() -> Iterator[ZegoEmulator]:
    with ZegoEmulator(app_id=APP_ID, server_secret=SECRET, rate_limit=None) as emulator:
        yield emulator


@pytest.fixture
def emulator(zego: ZegoEmulator) -> ZegoEmulator:
    zego.admin.reset()
    return zego


@pytest.fixture
def deployment(zego: ZegoEmulator) -> Iterator[Callable[..., Plugin]]:
    """A configured plugin process per deployment, as the engine starts one per provider and run
    (what a run checked claims its stream in that process only, see zego_provider.claims)."""
    started: list[Plugin] = []

    def start(secret: str = SECRET) -> Plugin:
        plugin = Plugin([str(CONSOLE_SCRIPT)])
        started.append(plugin)
        plugin.configure(
            appId=APP_ID, serverSecret=PropertyValue(secret, is_secret=True), endpoint=zego.url, rateLimit=200
        )
        return plugin

    yield start
    for plugin in started:
        assert SECRET not in plugin.close()


def test_the_schema_is_served_by_the_console_script_and_by_the_repository_launcher() -> None:
    for plugin in (
        Plugin([str(CONSOLE_SCRIPT)]),
        Plugin(["sh", str(LAUNCHER)], env={"ZEGO_PROVIDER_PYTHON": sys.executable}),
    ):
        try:
            schema = plugin.stub.GetSchema(provider_pb2.GetSchemaRequest(), timeout=30).schema
        finally:
            plugin.close()
        assert '"name": "zego"' in schema and RULE_SET_TYPE in schema


def test_bad_provider_settings_are_refused_by_check_config() -> None:
    plugin = Plugin([str(CONSOLE_SCRIPT)])
    try:
        reply = plugin.stub.CheckConfig(
            provider_pb2.CheckRequest(
                urn="urn:pulumi:dev::native::pulumi:providers:zego::app", news=struct({"appId": 0})
            ),
            timeout=30,
        )
    finally:
        plugin.close()
    assert {failure.property for failure in reply.failures} == {"appId", "serverSecret (or ZEGO_SERVER_SECRET)"}


def test_check_refuses_bad_input_per_property_with_zero_requests(
    emulator: ZegoEmulator, deployment: Callable[..., Plugin]
) -> None:
    plugin = deployment()
    _, failures = plugin.check("bad", {"streamId": "has space", "cdnUrls": [URL_A, "http://x/y"]})
    assert [path for path, _ in failures] == ["streamId", "cdnUrls[1]"]
    _, failures = plugin.check("twice", {"streamId": "twice", "cdnUrls": [URL_A, URL_A_NEW]})
    assert [path for path, _ in failures] == ["cdnUrls"] and "same relay" in failures[0][1]
    assert emulator.admin.requests() == []


def test_create_update_delete_through_the_plugin(emulator: ZegoEmulator, deployment: Callable[..., Plugin]) -> None:
    first = deployment()
    inputs, failures = first.check("lobby", {"streamId": "lobby", "cdnUrls": [URL_B, URL_A]})
    assert failures == []
    id_, outs = first.create("lobby", inputs)
    assert id_ == f"{APP_ID}:lobby" and outs == rule_set("lobby", URL_A, URL_B)
    assert sorted(rule["cdn_url"] for rule in emulator.admin.stream("lobby")) == [URL_A, URL_B]

    second = deployment()  # the next `pulumi up`: the token of A is rotated
    news, _ = second.check("lobby", rule_set("lobby", URL_A_NEW, URL_B))
    assert second.update("lobby", id_, outs, news) == rule_set("lobby", URL_A_NEW, URL_B)
    assert sorted(rule["cdn_url"] for rule in emulator.admin.stream("lobby")) == [URL_A_NEW, URL_B]

    deployment().delete("lobby", id_, news)  # `pulumi destroy`: nothing checked
    assert emulator.admin.stream("lobby") == []
    assert emulator.admin.requests()[-1]["action"] == CLEAR


def test_import_reads_the_stream_from_the_id_and_no_url(
    emulator: ZegoEmulator, deployment: Callable[..., Plugin]
) -> None:
    id_, properties, inputs = deployment().read("imported", f"{APP_ID}:stage-2")
    assert id_ == f"{APP_ID}:stage-2"
    assert properties == inputs == rule_set("stage-2")
    assert emulator.admin.requests() == []


def test_a_zego_error_reaches_the_engine_as_one_line(emulator: ZegoEmulator, deployment: Callable[..., Plugin]) -> None:
    plugin = deployment(secret="a-wrong-made-up-secret-9876543210")
    with pytest.raises(grpc.RpcError) as caught:
        plugin.create("lobby", rule_set("lobby", URL_A))
    message = caught.value.details()  # type: ignore[attr-defined]
    assert "\n" not in message and "Traceback" not in message and 'File "' not in message
    assert message.startswith("ZEGO CreatCDNTransferRule failed: code ")
    assert "RequestId" in message and "check zego:appId and zego:serverSecret" in message
    assert "a-wrong-made-up-secret" not in message


def test_a_hand_edited_state_is_refused_in_one_line(emulator: ZegoEmulator, deployment: Callable[..., Plugin]) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        deployment().create("lobby", {"streamId": "lobby", "cdnUrls": ["http://cdn/stream-key-1"]})
    message = caught.value.details()  # type: ignore[attr-defined]
    assert message.startswith("invalid CdnTransferRuleSet inputs: cdn_urls[0]") and "\n" not in message
    assert "stream-key-1" not in message
    assert emulator.admin.requests() == []


# the bad-input matrix of the dynamic resource (tests/integration/bad_inputs.py), through the native plugin


def _camel_path(path: str) -> str:
    head, bracket, rest = path.partition("[")
    return to_camel(head) + bracket + rest


@pytest.fixture(scope="module")
def checkers(zego: ZegoEmulator) -> Iterator[dict[bool, Plugin]]:
    """A configured plugin for production and one for the test environment."""
    plugins: dict[bool, Plugin] = {}
    for is_test in (False, True):
        plugin = plugins[is_test] = Plugin([str(CONSOLE_SCRIPT)])
        plugin.configure(appId=APP_ID, serverSecret=SECRET, endpoint=zego.url, isTest=is_test)
    yield plugins
    for plugin in plugins.values():
        plugin.close()


@pytest.mark.parametrize("case", one_of_each_kind(RESOURCE_INPUTS), ids=lambda case: case.label)
def test_bad_resource_input_is_refused_on_its_property_as_by_the_dynamic_resource(
    case: BadInput, emulator: ZegoEmulator, checkers: dict[bool, Plugin]
) -> None:
    plugin = checkers[case.settings.get("zego:isTest") == "true"]
    _, failures = plugin.check("bad", {to_camel(key): value for key, value in case.props.items()})
    assert [prop for prop, _ in failures] == [_camel_path(case.names)]
    assert all(reason.strip() for _, reason in failures)
    assert emulator.admin.requests() == []


@pytest.mark.parametrize("case", one_of_each_kind(BAD_SETTINGS), ids=lambda case: case.label)
def test_bad_setting_is_refused_on_its_provider_input(case: BadInput, emulator: ZegoEmulator) -> None:
    settings = {"appId": str(APP_ID), "serverSecret": SECRET, "endpoint": emulator.url}
    settings.update({key.split(":", 1)[1]: value for key, value in case.settings.items()})
    plugin = Plugin([str(CONSOLE_SCRIPT)])
    try:
        reply = plugin.stub.CheckConfig(
            provider_pb2.CheckRequest(
                urn="urn:pulumi:dev::native::pulumi:providers:zego::app",
                news=struct({key: value for key, value in settings.items() if value != ""}),
            ),
            timeout=30,
        )
    finally:
        stderr = plugin.close()
    failures = [(failure.property, failure.reason) for failure in reply.failures]
    assert [name.split(" ")[0] for name, _ in failures] == [case.names.split(":", 1)[1]]
    for text in [repr(failures), stderr]:
        assert SECRET not in text and "s3cret" not in text
    assert emulator.admin.requests() == []


def test_diff_config_replaces_the_provider_for_another_app_id_and_updates_it_for_a_new_secret() -> None:
    old = {"appId": APP_ID, "serverSecret": PropertyValue(SECRET, is_secret=True)}
    plugin = Plugin([str(CONSOLE_SCRIPT)])
    try:

        def diff_config(**news: Any) -> Any:
            request = provider_pb2.DiffRequest(
                urn="urn:pulumi:dev::native::pulumi:providers:zego::app", olds=struct(old), news=struct({**old, **news})
            )
            return plugin.stub.DiffConfig(request, timeout=30)

        moved, rotated, same = diff_config(appId=42), diff_config(serverSecret="another-made-up-secret"), diff_config()
    finally:
        plugin.close()
    assert moved.changes == provider_pb2.DiffResponse.DIFF_SOME and list(moved.replaces) == ["appId"]
    assert rotated.changes == provider_pb2.DiffResponse.DIFF_SOME and list(rotated.replaces) == []
    assert same.changes == provider_pb2.DiffResponse.DIFF_NONE
