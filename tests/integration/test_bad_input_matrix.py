"""Every bad input or setting is refused in `check`, before any request, naming what is wrong."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from tests.support.provider_process import ProviderProcess
from tests.support.settings_env import unset_settings
from zego_provider.emulator import ZegoEmulator

from .bad_inputs import APP_ID, RESOURCE_INPUTS, SETTINGS, BadInput

SECRET = "bad-input-matrix-made-up-secret"
DEVELOPMENT = Path(__file__).resolve().parents[2] / "docs" / "development.md"


@pytest.fixture(scope="module")
def zego() -> Iterator[ZegoEmulator]:
    with ZegoEmulator(app_id=APP_ID, server_secret=SECRET, rate_limit=None) as emulator:
        yield emulator


def start_provider(zego: ZegoEmulator, overrides: dict[str, str]) -> ProviderProcess:
    settings = {"zego:appId": str(APP_ID), "zego:serverSecret": SECRET, "zego:endpoint": zego.url, **overrides}
    process = ProviderProcess(env=unset_settings())
    process.configure({key: value for key, value in settings.items() if value != ""})
    return process


@pytest.fixture(scope="module")
def production(zego: ZegoEmulator) -> Iterator[ProviderProcess]:
    process = start_provider(zego, {})
    yield process
    process.close()


@pytest.fixture(scope="module")
def test_environment(zego: ZegoEmulator) -> Iterator[ProviderProcess]:
    process = start_provider(zego, {"zego:isTest": "true"})
    yield process
    process.close()


@pytest.mark.parametrize("case", RESOURCE_INPUTS, ids=lambda case: case.label)
def test_bad_resource_input_is_refused_on_its_property(
    case: BadInput, zego: ZegoEmulator, production: ProviderProcess, test_environment: ProviderProcess
) -> None:
    zego.admin.reset()
    process = test_environment if case.settings.get("zego:isTest") == "true" else production
    _, failures = process.check("bad", case.props)
    assert [prop for prop, _ in failures] == [case.names]
    assert all(reason.strip() for _, reason in failures)
    assert zego.admin.requests() == []


@pytest.mark.parametrize("case", SETTINGS, ids=lambda case: case.label)
def test_bad_setting_is_named_before_any_request(case: BadInput, zego: ZegoEmulator) -> None:
    zego.admin.reset()
    process = start_provider(zego, case.settings)
    try:
        _, failures = process.check("bad", {"stream_id": "stream", "cdn_urls": []})
        with pytest.raises(grpc.RpcError) as caught:  # anything that would call ZEGO refuses too
            process.create("bad", {"stream_id": "stream", "cdn_urls": []})
    finally:
        stderr = process.close()
    assert [name.split(" ")[0] for name, _ in failures] == [case.names]
    assert "ZEGO settings" in (caught.value.details() or "")
    for text in [repr(failures), caught.value.details() or "", stderr]:
        assert SECRET not in text and "s3cret" not in text
    assert zego.admin.requests() == []


def test_there_are_at_least_25_cases_and_the_contributors_page_counts_them() -> None:
    cases = RESOURCE_INPUTS + SETTINGS
    assert len(cases) >= 25
    assert len({case.label for case in cases}) == len(cases)
    assert f"**Bad input** ({len(cases)} cases" in DEVELOPMENT.read_text()
