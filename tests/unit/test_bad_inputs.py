"""Every bad input or setting of the documented bad-input table is refused in `check`, before any
call, naming what is wrong: in process, through the dynamic provider and the lifecycle behind both
front-ends (tests/integration/test_bad_input_matrix.py carries one case of each kind through the
real provider process)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pulumi.dynamic import Config, ConfigureRequest

from devkit.settings_env import clear_settings
from tests.support.bad_inputs import APP_ID, RESOURCE_INPUTS, SETTINGS, BadInput
from zego_provider.errors import ZegoConfigError
from zego_provider.provider import CdnTransferRuleSetProvider

from .fake_zego import FakeZego

SECRET = "bad-input-matrix-made-up-secret"
DEVELOPMENT = Path(__file__).resolve().parents[2] / "docs" / "development.md"


def configured(zego: FakeZego, overrides: dict[str, str]) -> CdnTransferRuleSetProvider:
    raw = {"zego:appId": str(APP_ID), "zego:serverSecret": SECRET, "zego:endpoint": "http://127.0.0.1:9", **overrides}
    provider = CdnTransferRuleSetProvider(client_factory=lambda config: zego)
    config = Config(raw_config={key: value for key, value in raw.items() if value != ""}, project_name="unit")
    provider.configure(ConfigureRequest(config=config))
    return provider


@pytest.fixture(autouse=True)
def _no_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_settings(monkeypatch)


@pytest.mark.parametrize("case", RESOURCE_INPUTS, ids=lambda case: case.label)
def test_bad_resource_input_is_refused_on_its_property(case: BadInput, zego: FakeZego) -> None:
    result = configured(zego, case.settings).check({}, case.props)
    assert [failure.property for failure in result.failures] == [case.names]
    assert all(failure.reason.strip() for failure in result.failures)
    assert zego.calls == []


@pytest.mark.parametrize("case", SETTINGS, ids=lambda case: case.label)
def test_bad_setting_is_named_before_any_call(case: BadInput, zego: FakeZego) -> None:
    provider = configured(zego, case.settings)
    result = provider.check({}, {"stream_id": "stream", "cdn_urls": []})
    with pytest.raises(ZegoConfigError) as caught:  # anything that would call ZEGO refuses too
        provider.create({"stream_id": "stream", "cdn_urls": []})
    assert [failure.property.split(" ")[0] for failure in result.failures] == [case.names]
    for text in [repr(result.failures), str(caught.value)]:
        assert SECRET not in text and "s3cret" not in text
    assert zego.calls == []


def test_there_are_at_least_25_cases_and_the_contributors_page_counts_them() -> None:
    cases = RESOURCE_INPUTS + SETTINGS
    assert len(cases) >= 25
    assert len({case.label for case in cases}) == len(cases)
    assert f"**Bad input** ({len(cases)} cases" in DEVELOPMENT.read_text()
