"""examples/python-native through the real CLI, this repository's Python language host, the typed
`pulumi_zego` SDK (its wheel, in a fresh virtualenv) and the native `zego` plugin, against two
emulators: one stack, two AppIds, each reached only through its explicit provider."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.pulumi_local import LocalPulumi
from tests.support.python_sdk import python_sdk_venv, sdk_files
from tests.support.settings import config_of
from zego_provider import ZegoClient

from .two_apps import CDN, KEYNOTE_URLS, PRODUCTION_APP, REHEARSAL, RULE_SET, TEST_APP, TwoApps, two_app_stack

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "python-native"
PLUGIN = REPO / "plugins" / "zego"

TEST_SECRET = "python-sdk-e2e-test-app-secret-made-up"
PRODUCTION_SECRET = "python-sdk-e2e-production-secret-made-up"
EXTRA_KEYNOTE_URL = "rtmp://third-push.example-cdn.org/live/keynote"


@pytest.fixture
def two_apps(tmp_path: Path) -> Iterator[TwoApps]:
    project = tmp_path / "project"
    project.mkdir()
    settings = (EXAMPLE / "Pulumi.yaml").read_text()
    for old, new in (
        ("virtualenv: venv ", f"virtualenv: {python_sdk_venv()} "),  # the SDK's wheel, installed as a user would
        ("path: ../../plugins/zego ", f"path: {PLUGIN} "),
    ):
        assert old in settings
        settings = settings.replace(old, new)
    (project / "Pulumi.yaml").write_text(settings)
    (project / "__main__.py").write_text((EXAMPLE / "__main__.py").read_text())
    # The plugin's launcher runs this interpreter (where the provider under test is installed).
    pulumi = LocalPulumi(tmp_path / "work", project, extra_env={"ZEGO_PROVIDER_PYTHON": sys.executable})
    with two_app_stack(pulumi, "__main__.py", TEST_SECRET, PRODUCTION_SECRET) as two_apps:
        yield two_apps


def test_up_update_and_destroy_reach_each_app_only_through_its_provider(two_apps: TwoApps) -> None:
    two_apps.up()
    assert two_apps.live() == {
        TEST_APP: {REHEARSAL: [f"rtmp://{CDN}/live/{REHEARSAL}"]},
        PRODUCTION_APP: {"keynote": sorted(KEYNOTE_URLS)},
    }
    for app, log in two_apps.requests().items():
        assert log, f"app {app} got no request"
        assert {entry["params"]["AppId"] for entry in log} == {str(app)}
    assert {e["params"]["IsTest"] for e in two_apps.requests()[TEST_APP]} == {"true"}
    ids = {r["urn"].rsplit("::", 1)[1]: r.get("id") for r in two_apps.resources() if r["type"] == RULE_SET}
    assert ids == {
        "rehearsal": f"{TEST_APP}:{REHEARSAL}",
        "keynote": f"{PRODUCTION_APP}:keynote",
        "greenRoom": f"{PRODUCTION_APP}:green-room",
    }
    two_apps.run("preview", "--expect-no-changes")

    # An in-place update: one more relay on the keynote, sent alone to the production app.
    two_apps.edit('"rtmp://backup-push', f'"{EXTRA_KEYNOTE_URL}",\n        "rtmp://backup-push')
    before = {app: len(log) for app, log in two_apps.requests().items()}
    preview = two_apps.run("preview", "--diff")
    assert "~ zego:index:CdnTransferRuleSet: (update)" in preview.stdout and "replace" not in preview.stdout
    two_apps.up()
    assert two_apps.live()[PRODUCTION_APP] == {"keynote": sorted([*KEYNOTE_URLS, EXTRA_KEYNOTE_URL])}
    sent = {
        app: [(e["action"], e["params"]["StreamId"]) for e in log[before[app] :]]
        for app, log in two_apps.requests().items()
    }
    assert sent == {TEST_APP: [], PRODUCTION_APP: [("CreatCDNTransferRule", "keynote")]}  # sic: ZEGO's spelling

    two_apps.production_app.admin.publish("keynote")  # the show is live: Delete must stop its relays
    before = {app: len(log) for app, log in two_apps.requests().items()}
    two_apps.destroy()
    assert two_apps.live() == {TEST_APP: {}, PRODUCTION_APP: {}}
    sent = {
        app: [(e["action"], e["params"]["StreamId"]) for e in log[before[app] :]]
        for app, log in two_apps.requests().items()
    }
    assert sent[TEST_APP][-1] == ("ClearCDNTransferRule", REHEARSAL)
    assert sorted(s for a, s in sent[PRODUCTION_APP] if a == "ClearCDNTransferRule") == ["green-room", "keynote"]
    for calls in sent.values():  # per stream, Clear comes last, on the stream's own app
        for stream in {s for _, s in calls}:
            assert [a for a, s in calls if s == stream][-1] == "ClearCDNTransferRule"
    assert [r for r in two_apps.resources() if r["type"] == RULE_SET] == []


def test_bad_input_is_refused_at_preview_naming_the_property(two_apps: TwoApps) -> None:
    two_apps.edit('f"rtmp://{cdn_host}/live/keynote"', 'f"http://{cdn_host}/live/keynote"')
    two_apps.edit('stream_id="keynote"', 'stream_id="key note"')
    result = two_apps.run("preview", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "cdnUrls[0]" in output and "rtmp://" in output
    assert "streamId" in output
    assert "Traceback" not in output
    assert two_apps.requests() == {TEST_APP: [], PRODUCTION_APP: []}


def test_a_wrong_server_secret_fails_with_one_line(two_apps: TwoApps) -> None:
    two_apps.run("config", "set", "--secret", "productionServerSecret", "wrong-secret-made-up")
    result = two_apps.up(check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in output
    failures = [line for line in output.splitlines() if "100000005" in line]
    assert failures, output
    for line in failures:  # each complete on its own line: code, meaning, RequestId, fix
        assert "signature wrong" in line and "RequestId" in line and "serverSecret" in line, line
    assert "wrong-secret-made-up" not in output
    assert {e["code"] for e in two_apps.requests()[PRODUCTION_APP]} == {100000005}


LOBBY = "rtmp://cdn-a.example.com/live/lobby"


def test_import_prints_python_that_previews_with_no_changes(two_apps: TwoApps) -> None:
    two_apps.up()
    with ZegoClient(config_of(PRODUCTION_APP, PRODUCTION_SECRET, endpoint=two_apps.production_app.url)) as zego:
        zego.create_cdn_transfer_rule("lobby", LOBBY)  # made outside Pulumi
    provider = two_apps.urn("pulumi:providers:zego", "productionApp")
    sent = len(two_apps.production_app.admin.requests())
    imported = two_apps.run(
        "import", RULE_SET, "lobby", f"{PRODUCTION_APP}:lobby", "--provider", f"productionApp={provider}", "--yes"
    )  # code generation on: the default
    assert "Please copy the following code into your Pulumi application" in imported.stdout
    code = imported.stdout[imported.stdout.index("import pulumi\n") :].strip()  # the snippet ends the output
    assert "zego.CdnTransferRuleSet(" in code and 'stream_id="lobby"' in code, imported.stdout
    assert "provider=production_app" in code and "protect=True" in code, code
    [lobby] = [r for r in two_apps.resources() if r["urn"] == two_apps.urn(RULE_SET, "lobby")]
    assert lobby["id"] == f"{PRODUCTION_APP}:lobby" and lobby["provider"].startswith(provider + "::")

    # Pasted into the program as printed (imports included), it declares what was imported.
    two_apps.program.write_text(two_apps.program.read_text() + "\n" + code + "\n")
    two_apps.run("preview", "--expect-no-changes")
    assert len(two_apps.production_app.admin.requests()) == sent  # ZEGO has no read call: nothing was sent


def test_gen_sdk_through_the_cli_writes_the_committed_python_sdk(tmp_path: Path) -> None:
    """GeneratePackage of this repository's Python host: the same files as sdk/python (`make sdks`)."""
    pulumi = LocalPulumi(tmp_path / "work", tmp_path, extra_env={"ZEGO_PROVIDER_PYTHON": sys.executable})
    out = tmp_path / "sdk"
    plugin = PLUGIN / "pulumi-resource-zego"
    result = pulumi.run("package", "gen-sdk", str(plugin), "--language", "python", "--out", str(out))
    assert f"SDK has been written to {out / 'python'}" in result.stdout + result.stderr
    committed = REPO / "sdk" / "python"
    generated = sorted(p.relative_to(out / "python").as_posix() for p in (out / "python").rglob("*") if p.is_file())
    assert generated == sorted(p.relative_to(committed).as_posix() for p in sdk_files())
    for name in generated:  # each file names its generator in its header; nothing else differs
        ours = (committed / name).read_text().replace("generated by pulumi-codegen.", "generated by TOOL.")
        theirs = (
            (out / "python" / name).read_text().replace("generated by pulumi-language-python.", "generated by TOOL.")
        )
        assert theirs == ours, name
