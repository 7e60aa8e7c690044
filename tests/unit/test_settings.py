"""`SETTINGS` is the one list of settings: the docs table, the native schema, `zego-cdn --help` and
the tests' clean environments are generated from it, so a setting added there shows up in each
of them by itself, and a document with a stale copy of the table fails here, by name."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from devkit.settings_env import clear_settings, setting_variables, unset_settings, without_settings
from zego_provider import settings
from zego_provider.budget.scope import MACHINE, SETTING_NAME
from zego_provider.cli import main as zego_cdn
from zego_provider.config import ProviderConfig
from zego_provider.errors import ZegoConfigError
from zego_provider.native.schema import input_name, package_schema
from zego_provider.settings import SETTINGS, Setting, Source, markdown_table, named_for, replace_table, table_in

REPO = Path(__file__).resolve().parents[2]
FAKE = Setting(
    "fake_knob",
    "zego:fakeKnob",
    "ZEGO_FAKE_KNOB",
    "a knob added for this test",
    "`7`",
    "A setting that exists only in this test.",
    secret=True,
)
SUBCOMMANDS = ("create", "delete", "clear", "teardown")


def documents_with_the_table() -> list[Path]:
    """README.md and every document under docs/ that carries the table markers."""
    candidates = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    return [path for path in candidates if path.is_file() and settings.TABLE_START in path.read_text()]


def stale_documents() -> list[str]:
    """The documents whose table differs from the one generated from SETTINGS now."""
    table = markdown_table()
    return [str(path.relative_to(REPO)) for path in documents_with_the_table() if table_in(path.read_text()) != table]


def help_pages(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    pages = {}
    for command in ("", *SUBCOMMANDS):
        with pytest.raises(SystemExit) as done:
            zego_cdn([command, "--help"] if command else ["--help"])
        assert done.value.code == 0
        pages[command or "zego-cdn"] = capsys.readouterr().out
    return pages


def test_every_document_with_the_markers_holds_the_generated_table() -> None:
    documents = documents_with_the_table()
    assert REPO / "README.md" in documents
    assert stale_documents() == [], "run `make docs` to write the table generated from SETTINGS"


def test_the_table_lists_every_setting_and_marks_the_secret_ones() -> None:
    rows = markdown_table().splitlines()[2:]
    assert len(rows) == len(SETTINGS) == 8
    for setting, row in zip(SETTINGS, rows, strict=True):
        assert f"`{setting.pulumi_key}`" in row and f"`{setting.env_var}`" in row
        assert ("--secret" in row) is setting.secret


def test_the_markers_are_rewritten_in_place_and_text_around_them_is_kept() -> None:
    text = f"intro\n{settings.TABLE_START}\nold table\n{settings.TABLE_END}\noutro\n"
    assert replace_table(text, "| new |\n") == f"intro\n{settings.TABLE_START}\n| new |\n{settings.TABLE_END}\noutro\n"
    assert replace_table("no markers\n", "| new |\n") == "no markers\n"
    with pytest.raises(ValueError, match="markers"):
        replace_table(f"{settings.TABLE_END}\n{settings.TABLE_START}\n", "| new |\n")


def test_the_schema_describes_every_setting_and_marks_credentials_secret() -> None:
    schema = package_schema()
    inputs = schema["provider"]["inputProperties"]
    assert list(inputs) == [input_name(setting) for setting in SETTINGS]
    assert schema["config"]["variables"] == inputs
    for setting in SETTINGS:
        spec = inputs[input_name(setting)]
        assert setting.description in spec["description"]
        assert setting.pulumi_key in spec["description"] and setting.env_var in spec["description"]
        assert spec.get("secret", False) is setting.secret
    assert {name for name, spec in inputs.items() if spec.get("secret")} == {"serverSecret", "rateLimiter"}


def test_every_help_page_names_every_variable(capsys: pytest.CaptureFixture[str]) -> None:
    for page, text in help_pages(capsys).items():
        for variable in setting_variables():
            assert variable in text, f"`{page} --help` does not name {variable}"


def test_the_test_environment_helpers_cover_every_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert setting_variables() == [setting.env_var for setting in SETTINGS]
    for variable in setting_variables():
        monkeypatch.setenv(variable, "set-by-the-test")
    monkeypatch.setenv("ZEGO_NOT_A_SETTING", "kept")
    assert "ZEGO_NOT_A_SETTING" in without_settings(os.environ)
    assert not set(setting_variables()) & set(without_settings(os.environ))
    assert not set(setting_variables()) & set(without_settings(os.environb))  # type: ignore[arg-type]
    assert unset_settings() == dict.fromkeys(setting_variables(), "")
    clear_settings(monkeypatch)
    assert not set(setting_variables()) & set(os.environ)


def test_the_documented_defaults_are_the_ones_in_force() -> None:
    config = ProviderConfig.from_env({"ZEGO_APP_ID": "1", "ZEGO_SERVER_SECRET": "made-up"})
    assert settings.setting("endpoint").default == f"`{config.endpoint}`"
    assert settings.setting("is_test").default == f"`{str(config.is_test).lower()}`"
    assert settings.setting("rate_limit").default.startswith(f"{config.effective_rate_limit:g}, ")
    connect, read = config.attempt_timeout
    assert settings.setting("timeout").default == f"{read:g} (connect: {connect:g})"
    assert (
        settings.setting("rate_limiter").default.startswith(f"`{config.rate_limiter}`")
        and MACHINE in config.rate_limiter
    )
    assert settings.setting("call_time_budget").default == f"{config.call_time_budget:g}"


def test_a_problem_found_at_run_time_is_renamed_for_the_environment() -> None:
    assert settings.setting("rate_limiter").named(Source.EITHER) == SETTING_NAME
    error = ZegoConfigError([(SETTING_NAME, "Redis failed"), ("zego:appId", "is invalid"), ("other", "x")])
    renamed = named_for(error, Source.ENV)
    assert renamed.problems == [("ZEGO_RATE_LIMITER", "Redis failed"), ("ZEGO_APP_ID", "is invalid"), ("other", "x")]


def test_a_setting_added_to_settings_appears_in_every_list_or_fails_naming_where_it_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(settings, "SETTINGS", (*SETTINGS, FAKE))

    assert "| a knob added for this test | `zego:fakeKnob` (secret: set it with `--secret`) |" in markdown_table()
    assert stale_documents() == [str(path.relative_to(REPO)) for path in documents_with_the_table()]
    assert "README.md" in stale_documents()  # until `make docs` writes the new table

    knob = package_schema()["provider"]["inputProperties"]["fakeKnob"]
    assert FAKE.description in knob["description"] and "ZEGO_FAKE_KNOB" in knob["description"]
    assert knob["secret"] is True

    for page, text in help_pages(capsys).items():
        assert "ZEGO_FAKE_KNOB" in text, page

    assert "ZEGO_FAKE_KNOB" in setting_variables()
    monkeypatch.setenv("ZEGO_FAKE_KNOB", "7")
    assert "ZEGO_FAKE_KNOB" not in without_settings(os.environ)
    assert unset_settings()["ZEGO_FAKE_KNOB"] == ""
    clear_settings(monkeypatch)
    assert "ZEGO_FAKE_KNOB" not in os.environ

    # read from both sources; ProviderConfig has no field for it yet, so validation names it
    with pytest.raises(ZegoConfigError) as unread:
        ProviderConfig.from_env({"ZEGO_APP_ID": "1", "ZEGO_SERVER_SECRET": "made-up", "ZEGO_FAKE_KNOB": "7"})
    assert [name for name, _ in unread.value.problems] == ["ZEGO_FAKE_KNOB"]
