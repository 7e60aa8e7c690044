"""The native plugin's recorded state is read by the current plugin without a diff.

For each native recording (tests/e2e/fixtures/upgrade/<version>/native/, from 0.2.0 on) the
recorded inputs and outputs must still fit the current schema, pass `check` unchanged, and
diff empty against themselves: a renamed or retyped property, a new required input or a changed
default would otherwise make every existing stack's next `up` update or replace its relays.
The upgrade test (tests/e2e/test_upgrade.py) shows the same through the engine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest
from google.protobuf import json_format, struct_pb2
from pulumi.provider.experimental.property_value import PropertyValue
from pulumi.provider.experimental.provider import CheckRequest, ConfigureRequest, DiffRequest

from tests.support.release_state import SERVER_SECRET, Recording, recordings
from zego_provider.claims import StreamClaims
from zego_provider.config import SETTINGS
from zego_provider.native import RULE_SET_TYPE, ZegoProvider
from zego_provider.native.schema import package_schema

from .fake_zego import FakeZego

T = TypeVar("T")
PROVIDER_TYPE = "pulumi:providers:zego"
SECRET_SIG = "4dabf18193072939515e22adb298388d"
NATIVE = [recording for recording in recordings() if recording.kind == "native"]


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def decrypted(value: Any) -> Any:
    """State values as the engine sends them to a provider: a secret decrypted, still marked secret."""
    if isinstance(value, dict):
        if SECRET_SIG in value:
            return {SECRET_SIG: value[SECRET_SIG], "value": SERVER_SECRET}
        return {key: decrypted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decrypted(item) for item in value]
    return value


def wire(values: dict[str, Any]) -> dict[str, PropertyValue]:
    """Recorded JSON through the wire format the plugin receives (numbers become floats, as there)."""
    return PropertyValue.unmarshal_map(json_format.ParseDict(decrypted(values), struct_pb2.Struct()))


def plain(values: dict[str, PropertyValue]) -> dict[str, Any]:
    return dict(json_format.MessageToDict(PropertyValue.marshal_map(values)))


def conforms(spec: dict[str, Any], value: Any) -> bool:
    """Does a recorded value fit a property's schema type (a secret is its ciphertext in the state)?"""
    if isinstance(value, dict) and SECRET_SIG in value:
        return bool(spec.get("secret")) and spec["type"] == "string"
    kind = spec["type"]
    if kind == "array":
        return isinstance(value, list) and all(conforms(spec["items"], item) for item in value)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, {"string": str, "boolean": bool}[kind])


def resources(recording: Recording, type_: str) -> list[dict[str, Any]]:
    return [r for r in recording.state()["deployment"]["resources"] if r["type"] == type_]


@pytest.fixture(autouse=True)
def no_zego_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for setting in SETTINGS:
        monkeypatch.delenv(setting.env_var, raising=False)


def test_native_state_is_recorded_from_0_2_0_on() -> None:
    assert "0.2.0" in {recording.version for recording in NATIVE}


@pytest.mark.parametrize("recording", NATIVE, ids=[r.name for r in NATIVE])
def test_recorded_inputs_and_outputs_fit_the_current_schema(recording: Recording) -> None:
    schema = package_schema()
    rule_set, provider = schema["resources"][RULE_SET_TYPE], schema["provider"]
    rule_sets = resources(recording, RULE_SET_TYPE)
    assert len(rule_sets) == len(recording.streams)
    for recorded in rule_sets:
        inputs, outputs = recorded["inputs"], recorded["outputs"]
        assert set(rule_set["requiredInputs"]) <= set(inputs) <= set(rule_set["inputProperties"]), recorded["urn"]
        assert set(rule_set["required"]) <= set(outputs) <= set(rule_set["properties"]), recorded["urn"]
        for name, value in inputs.items():
            assert conforms(rule_set["inputProperties"][name], value), (recorded["urn"], name)
        for name, value in outputs.items():
            assert conforms(rule_set["properties"][name], value), (recorded["urn"], name)
    (recorded_provider,) = resources(recording, PROVIDER_TYPE)
    for name, value in recorded_provider["inputs"].items():
        assert name in provider["inputProperties"], name
        assert conforms(provider["inputProperties"][name], value), name


@pytest.mark.parametrize("recording", NATIVE, ids=[r.name for r in NATIVE])
def test_recorded_state_checks_unchanged_and_diffs_empty_with_the_current_plugin(recording: Recording) -> None:
    zego = FakeZego()
    plugin = ZegoProvider(client_factory=lambda config: zego, claims=StreamClaims())
    (recorded_provider,) = resources(recording, PROVIDER_TYPE)
    provider_inputs = wire(recorded_provider["inputs"])
    config_check = run(
        plugin.check_config(CheckRequest(recorded_provider["urn"], provider_inputs, provider_inputs, b""))
    )
    assert not config_check.failures
    config_diff = run(
        plugin.diff_config(
            DiffRequest(recorded_provider["urn"], recorded_provider["id"], provider_inputs, provider_inputs, [])
        )
    )
    assert not config_diff.changes and not config_diff.replaces
    run(plugin.configure(ConfigureRequest({}, provider_inputs, True, False)))

    for recorded in resources(recording, RULE_SET_TYPE):
        urn, inputs = recorded["urn"], wire(recorded["inputs"])
        checked = run(plugin.check(CheckRequest(urn, inputs, inputs, b"")))
        assert not checked.failures, urn
        assert plain(checked.inputs) == recorded["inputs"], urn  # check adds no default, renames nothing
        diff = run(plugin.diff(DiffRequest(urn, recorded["id"], wire(recorded["outputs"]), checked.inputs, [])))
        assert not diff.changes and not diff.replaces, (urn, diff.diffs)
    assert zego.calls == []  # reading the state asks ZEGO nothing
