"""The native `zego` provider in process: its methods called with the SDK's request objects, a fake ZEGO behind."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest
from pulumi.provider.experimental.property_value import Computed, PropertyValue
from pulumi.provider.experimental.provider import (
    CheckRequest,
    ConfigureRequest,
    CreateRequest,
    DeleteRequest,
    DiffRequest,
    GetSchemaRequest,
    PropertyDiffKind,
    ReadRequest,
    UpdateRequest,
)

from tests.support.settings_env import clear_settings
from zego_provider.claims import StreamClaims
from zego_provider.config import SETTINGS
from zego_provider.errors import ZegoConfigError, ZegoInvalidInputError
from zego_provider.native import RULE_SET_TYPE, ZegoProvider
from zego_provider.native.provider import ZegoProviderError
from zego_provider.native.schema import input_name

from .fake_zego import A_NEW, CLEAR, CREATE, DELETE, A, B, FakeZego, invalid

T = TypeVar("T")
APP_ID = 1234567890
SECRET = "unit-test-made-up-secret-0a1b2c"
URN = f"urn:pulumi:dev::zego::{RULE_SET_TYPE}::lobby"


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def pv(value: Any) -> PropertyValue:
    if isinstance(value, PropertyValue):
        return value
    if isinstance(value, list):
        return PropertyValue([pv(item) for item in value])
    if isinstance(value, int) and not isinstance(value, bool):
        return PropertyValue(float(value))
    return PropertyValue(value)


def pmap(**values: Any) -> dict[str, PropertyValue]:
    return {key: pv(value) for key, value in values.items()}


def plain(values: dict[str, PropertyValue]) -> dict[str, Any]:
    def unwrap(value: PropertyValue) -> Any:
        if isinstance(value.value, tuple):
            return [unwrap(item) for item in value.value]
        return value.value

    return {key: unwrap(value) for key, value in values.items()}


def rule_set(stream_id: str, *urls: str, stop: bool = True) -> dict[str, PropertyValue]:
    return pmap(streamId=stream_id, cdnUrls=list(urls), stopRelaysOnDelete=stop)


@pytest.fixture(autouse=True)
def no_zego_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_settings(monkeypatch)


def configured(zego: FakeZego, claims: StreamClaims, **settings: Any) -> ZegoProvider:
    provider = ZegoProvider(client_factory=lambda config: zego, claims=claims)
    args = {"appId": APP_ID, "serverSecret": PropertyValue(SECRET, is_secret=True), "endpoint": "http://127.0.0.1:9"}
    args.update(settings)
    run(provider.configure(ConfigureRequest({}, pmap(**args), True, False)))
    return provider


@pytest.fixture
def provider(zego: FakeZego, claims: StreamClaims) -> ZegoProvider:
    return configured(zego, claims)


def check(provider: ZegoProvider, news: dict[str, PropertyValue], urn: str = URN) -> Any:
    return run(provider.check(CheckRequest(urn, {}, news, b"")))


# schema


def test_the_schema_describes_the_package_provider_resource_and_every_property() -> None:
    schema = json.loads(run(ZegoProvider().get_schema(GetSchemaRequest(0))).schema or "{}")
    assert schema["name"] == "zego" and schema["description"]
    provider_inputs = schema["provider"]["inputProperties"]
    assert set(provider_inputs) == {setting.pulumi_key.split(":", 1)[1] for setting in SETTINGS}
    assert provider_inputs["appId"]["type"] == "integer" and provider_inputs["isTest"]["type"] == "boolean"
    assert provider_inputs["serverSecret"] == {**provider_inputs["serverSecret"], "secret": True, "type": "string"}
    resource = schema["resources"][RULE_SET_TYPE]
    assert resource["description"] and resource["requiredInputs"] == ["streamId"]
    assert resource["inputProperties"]["streamId"]["replaceOnChanges"] is True
    assert resource["inputProperties"]["cdnUrls"]["items"] == {"type": "string"}
    assert resource["inputProperties"]["stopRelaysOnDelete"]["default"] is True
    for spec in [*provider_inputs.values(), *resource["inputProperties"].values()]:
        assert spec["description"]


# provider settings


def test_check_config_refuses_each_bad_setting_on_its_input(zego: FakeZego) -> None:
    news = pmap(appId=0, serverSecret=PropertyValue(" padded ", is_secret=True), endpoint="http://example.com")
    response = run(ZegoProvider().check_config(CheckRequest("urn:p", {}, news, b"")))
    failures = {failure.property: failure.reason for failure in response.failures or []}
    assert set(failures) == {"appId", "serverSecret", "endpoint"}
    assert "padded" not in " ".join(failures.values())
    assert zego.calls == []


def test_check_config_names_a_missing_setting_with_its_environment_variable() -> None:
    response = run(ZegoProvider().check_config(CheckRequest("urn:p", {}, pmap(appId=APP_ID), b"")))
    assert [(failure.property, failure.reason) for failure in response.failures or []] == [
        ("serverSecret (or ZEGO_SERVER_SECRET)", "is required")
    ]


def test_check_config_marks_every_setting_that_can_carry_a_credential_secret() -> None:
    redis_url = "redis://:made-up-redis-pw@127.0.0.1:6379/0"
    news = pmap(appId=APP_ID, serverSecret=SECRET, endpoint="http://127.0.0.1:9", rateLimiter=redis_url)
    inputs = run(ZegoProvider().check_config(CheckRequest("urn:p", {}, news, b""))).inputs or {}
    secret = {name for name, value in inputs.items() if value.is_secret}
    assert secret == {input_name(setting) for setting in SETTINGS if setting.secret} == {"serverSecret", "rateLimiter"}
    assert plain(dict(inputs)) == plain(news)  # the values themselves are unchanged


def test_settings_fall_back_to_the_environment(
    zego: FakeZego, claims: StreamClaims, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZEGO_SERVER_SECRET", SECRET)
    monkeypatch.setenv("ZEGO_IS_TEST", "true")
    provider = ZegoProvider(client_factory=lambda config: zego, claims=claims)
    run(provider.configure(ConfigureRequest({}, pmap(appId=APP_ID), True, False)))
    assert provider.config.is_test and provider.config.server_secret.get_secret_value() == SECRET


def test_a_provider_input_wins_over_the_environment(
    zego: FakeZego, claims: StreamClaims, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZEGO_APP_ID", "42")
    assert configured(zego, claims).config.app_id == APP_ID


def test_the_secret_stays_out_of_the_settings_repr(provider: ZegoProvider) -> None:
    assert SECRET not in repr(provider.config) and SECRET not in str(provider.config)


def test_bad_settings_are_reported_by_check_and_raised_by_operations(zego: FakeZego, claims: StreamClaims) -> None:
    provider = configured(zego, claims, appId=0)
    failures = check(provider, rule_set("s", A)).failures
    assert [failure.property for failure in failures] == ["appId"]
    with pytest.raises(ZegoConfigError):
        run(provider.create(CreateRequest(URN, rule_set("s", A), 60, False)))
    assert zego.calls == []


# check and diff


def test_check_refuses_bad_input_per_property_in_pulumi_names_with_zero_requests(
    provider: ZegoProvider, zego: FakeZego
) -> None:
    response = check(provider, pmap(streamId="bad id", cdnUrls=[A, "http://cdn/key"], stopRelaysOnDelete=True))
    assert [failure.property for failure in response.failures] == ["streamId", "cdnUrls[1]"]
    assert zego.calls == []


def test_check_normalizes_and_fills_defaults(provider: ZegoProvider) -> None:
    response = check(provider, pmap(streamId="s", cdnUrls=[B, A]))
    assert response.failures == [] and plain(response.inputs) == {
        "streamId": "s",
        "cdnUrls": [A, B],
        "stopRelaysOnDelete": True,
    }


def test_check_lets_unknown_values_through(provider: ZegoProvider, claims: StreamClaims) -> None:
    response = check(provider, {"streamId": PropertyValue("s"), "cdnUrls": PropertyValue([PropertyValue.computed()])})
    assert response.failures == []
    urls = response.inputs["cdnUrls"].value
    assert isinstance(urls, tuple) and isinstance(urls[0].value, Computed)  # (the SDK's Computed.__eq__ is broken)
    claim = claims.claim("s")
    assert claim is not None and not claim.complete


def test_check_claims_the_stream_under_the_resource_urn(provider: ZegoProvider, claims: StreamClaims) -> None:
    check(provider, rule_set("s", A))
    claim = claims.claim("s")
    assert claim is not None and claim.owners == {URN} and claim.urls == {A}


def test_check_keeps_a_secret_url_secret(provider: ZegoProvider) -> None:
    response = check(provider, {"streamId": PropertyValue("s"), "cdnUrls": PropertyValue([PropertyValue(A)], True)})
    assert response.inputs["cdnUrls"].is_secret and not response.inputs["streamId"].is_secret


def test_check_with_settings_not_known_yet_checks_everything_else(zego: FakeZego, claims: StreamClaims) -> None:
    provider = ZegoProvider(client_factory=lambda config: zego, claims=claims)
    run(provider.configure(ConfigureRequest({}, {"appId": PropertyValue.computed()}, True, False)))
    assert check(provider, rule_set("s", A)).failures == []
    assert [failure.property for failure in check(provider, rule_set("bad id")).failures] == ["streamId"]


def test_diff_replaces_on_a_new_stream_id(provider: ZegoProvider) -> None:
    response = run(provider.diff(DiffRequest(URN, f"{APP_ID}:s", rule_set("s", A), rule_set("t", A), [])))
    assert response.changes and response.replaces == ["streamId"]
    assert response.detailed_diff["streamId"].kind == PropertyDiffKind.UPDATE_REPLACE


def test_diff_sees_no_change_in_another_order_and_an_update_for_a_new_query(provider: ZegoProvider) -> None:
    same = run(provider.diff(DiffRequest(URN, "x", rule_set("s", A, B), rule_set("s", B, A), [])))
    assert same.changes is False
    rotated = run(provider.diff(DiffRequest(URN, "x", rule_set("s", A), rule_set("s", A_NEW), [])))
    assert rotated.changes and rotated.replaces == [] and rotated.diffs == ["cdnUrls"]


# create, update, delete, read


def test_create_returns_the_app_scoped_id(provider: ZegoProvider, zego: FakeZego) -> None:
    response = run(provider.create(CreateRequest(URN, rule_set("s", B, A), 60, False)))
    assert response.resource_id == f"{APP_ID}:s"
    assert plain(response.properties)["cdnUrls"] == [A, B]
    assert zego.calls == [(CREATE, "s", A), (CREATE, "s", B)]


def test_a_failed_create_rolls_back_and_raises_the_zego_error(provider: ZegoProvider, zego: FakeZego) -> None:
    zego.fail(CREATE, B, invalid())
    with pytest.raises(ZegoInvalidInputError):
        run(provider.create(CreateRequest(URN, rule_set("s", A, B), 60, False)))
    assert zego.live("s") == []


def test_update_sends_only_the_difference(provider: ZegoProvider, zego: FakeZego) -> None:
    zego.rules["s"] = [A]
    response = run(
        provider.update(UpdateRequest(URN, f"{APP_ID}:s", rule_set("s", A), rule_set("s", A_NEW, B), 60, [], False))
    )
    assert plain(response.properties)["cdnUrls"] == [A_NEW, B]
    assert zego.calls == [(DELETE, "s", A), (CREATE, "s", A_NEW), (CREATE, "s", B)]


def test_delete_stops_each_relay_then_clears(provider: ZegoProvider, zego: FakeZego) -> None:
    run(provider.delete(DeleteRequest(URN, f"{APP_ID}:s", rule_set("s", A, B), 60)))
    assert zego.calls == [(DELETE, "s", A), (DELETE, "s", B), (CLEAR, "s", None)]


def test_delete_leaves_what_a_renamed_rule_set_declares(provider: ZegoProvider, zego: FakeZego) -> None:
    zego.rules["s"] = [A]
    check(provider, rule_set("s", A), urn=URN.replace("::lobby", "::lobby-renamed"))
    run(provider.delete(DeleteRequest(URN, f"{APP_ID}:s", rule_set("s", A), 60)))
    assert zego.calls == [] and zego.live("s") == [A]


def test_refresh_keeps_the_recorded_state(provider: ZegoProvider, zego: FakeZego) -> None:
    state = rule_set("s", A)
    response = run(provider.read(ReadRequest(URN, f"{APP_ID}:s", state, rule_set("s", A))))
    assert response.resource_id == f"{APP_ID}:s" and plain(response.properties) == plain(state)
    assert zego.calls == []


def test_import_by_id_learns_the_stream_and_no_url(provider: ZegoProvider, zego: FakeZego) -> None:
    response = run(provider.read(ReadRequest(URN, f"{APP_ID}:lobby-main", {}, {})))
    expected = {"streamId": "lobby-main", "cdnUrls": [], "stopRelaysOnDelete": True}
    assert plain(response.properties) == expected and plain(response.inputs) == expected
    assert zego.calls == []


@pytest.mark.parametrize("id_", ["42:s", "lobby", f"{APP_ID}:"])
def test_import_refuses_an_id_of_another_app_or_without_a_stream(provider: ZegoProvider, id_: str) -> None:
    with pytest.raises(ZegoProviderError):
        run(provider.read(ReadRequest(URN, id_, {}, {})))


@pytest.mark.parametrize("stream_id", ["ab\ncd", "key note", "lobby:main", "x" * 257, ""])
def test_import_refuses_a_stream_id_that_check_would_refuse(
    provider: ZegoProvider, zego: FakeZego, stream_id: str
) -> None:
    """The probe: `pulumi import ... 1234567890:$'ab\\ncd'` recorded a stream id that check refuses."""
    with pytest.raises((ZegoProviderError, ValueError)) as caught:
        run(provider.read(ReadRequest(URN, f"{APP_ID}:{stream_id}", {}, {})))
    assert "\n" not in str(caught.value)  # one line, the newline shown escaped
    assert zego.calls == []


def test_another_resource_type_is_refused(provider: ZegoProvider) -> None:
    with pytest.raises(ZegoProviderError, match="unknown resource type"):
        check(provider, rule_set("s"), urn="urn:pulumi:dev::zego::zego:index:Other::x")


def test_another_app_id_or_environment_replaces_the_provider_and_a_new_secret_updates_it() -> None:
    old = pmap(appId=APP_ID, serverSecret=PropertyValue(SECRET, is_secret=True), isTest=False)

    def diff(**changes: Any) -> Any:
        news = {**old, **pmap(**changes)}
        return run(ZegoProvider().diff_config(DiffRequest("urn:p", "id", old, news, [])))

    assert diff(appId=42).replaces == ["appId"]
    assert diff(isTest=True).replaces == ["isTest"]
    rotated = diff(serverSecret=PropertyValue("another-made-up-secret", is_secret=True))
    assert rotated.changes and rotated.replaces == [] and rotated.diffs == ["serverSecret"]
    assert diff(appId=str(APP_ID)).changes is False  # stack config gives strings


def test_zego_calls_of_parallel_operations_overlap(claims: StreamClaims) -> None:
    """The engine sends operations in parallel; a blocking ZEGO call must not hold up the others."""

    class SlowZego(FakeZego):
        def create_cdn_transfer_rule(self, stream_id: str, cdn_url: str) -> Any:
            time.sleep(0.4)
            return super().create_cdn_transfer_rule(stream_id, cdn_url)

    provider = configured(SlowZego(), claims)

    async def create_four() -> float:
        started = time.monotonic()
        await asyncio.gather(
            *(provider.create(CreateRequest(f"{URN}{n}", rule_set(f"s{n}", A), 60, False)) for n in range(4))
        )
        return time.monotonic() - started

    assert run(create_four()) < 1.2  # four 0.4 s calls one after another would take 1.6 s


def test_a_rule_set_moving_to_a_provider_of_the_same_app_is_not_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine asks DiffConfig when a rule set moves from the default provider (AppId from the
    environment) to an explicit one: same app, so no replacement (which would clear its relays)."""
    monkeypatch.setenv("ZEGO_APP_ID", str(APP_ID))
    monkeypatch.setenv("ZEGO_SERVER_SECRET", SECRET)
    explicit = pmap(appId=APP_ID, serverSecret=PropertyValue(SECRET, is_secret=True))
    moved = run(ZegoProvider().diff_config(DiffRequest("urn:p", "id", {}, explicit, [])))
    assert moved.replaces == [] and moved.changes
    elsewhere = run(ZegoProvider().diff_config(DiffRequest("urn:p", "id", {}, pmap(appId=42), [])))
    assert elsewhere.replaces == ["appId"]


def test_a_null_input_takes_its_default(provider: ZegoProvider) -> None:
    response = check(provider, {**rule_set("s", A), "stopRelaysOnDelete": PropertyValue.null()})
    assert response.failures == [] and plain(response.inputs)["stopRelaysOnDelete"] is True


def test_two_rule_sets_on_one_stream_are_refused_at_check(provider: ZegoProvider, zego: FakeZego) -> None:
    assert check(provider, rule_set("s", A)).failures == []
    failures = check(provider, rule_set("s", B), urn=URN.replace("::lobby", "::stage")).failures
    assert [failure.property for failure in failures] == ["streamId"] and "'lobby'" in failures[0].reason
    assert zego.calls == []
