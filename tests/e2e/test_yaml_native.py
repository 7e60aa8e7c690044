"""examples/yaml through the real CLI, the real YAML language host and the native `zego` plugin,
against two emulators: one stack, two AppIds, each reached only through its explicit provider."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from devkit.pulumi_local import LocalPulumi
from devkit.redis_server import RedisServer
from tests.support.settings import config_of
from zego_provider import ZegoClient
from zego_provider.emulator import ZegoEmulator
from zego_provider.native.schema import input_name
from zego_provider.settings import SETTINGS

from .two_apps import (
    CDN,
    KEYNOTE_URLS,
    PRODUCTION_APP,
    PROJECT,
    REHEARSAL,
    RULE_SET,
    TEST_APP,
    TwoApps,
    two_app_stack,
)

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "yaml" / "Pulumi.yaml"
PLUGIN = REPO / "plugins" / "zego"

TEST_SECRET = "yaml-e2e-test-app-secret-made-up"
PRODUCTION_SECRET = "yaml-e2e-production-secret-made-up"


pytestmark = pytest.mark.usefixtures("yaml_language_host")


@pytest.fixture
def two_apps(tmp_path: Path) -> Iterator[TwoApps]:
    project = tmp_path / "project"
    project.mkdir()
    text = EXAMPLE.read_text()
    assert "path: ../../plugins/zego" in text
    (project / "Pulumi.yaml").write_text(text.replace("path: ../../plugins/zego", f"path: {PLUGIN}"))
    # The plugin's launcher runs this interpreter (where the package under test is installed).
    pulumi = LocalPulumi(tmp_path / "work", project, extra_env={"ZEGO_PROVIDER_PYTHON": sys.executable})
    with two_app_stack(pulumi, "Pulumi.yaml", TEST_SECRET, PRODUCTION_SECRET) as two_apps:
        yield two_apps


def test_preview_up_destroy_reach_each_app_only_through_its_provider(two_apps: TwoApps) -> None:
    preview = two_apps.run("preview")
    # ensure-pulumi puts the host beside `pulumi`, where the engine looks for bundled hosts
    assert "pulumi-language-yaml from $PATH" not in preview.stdout + preview.stderr
    assert two_apps.requests() == {TEST_APP: [], PRODUCTION_APP: []}

    two_apps.up()
    assert two_apps.live() == {
        TEST_APP: {REHEARSAL: [f"rtmp://{CDN}/live/{REHEARSAL}"]},
        PRODUCTION_APP: {"keynote": sorted(KEYNOTE_URLS)},
    }
    for app, log in two_apps.requests().items():
        assert log, f"app {app} got no request"
        assert {entry["params"]["AppId"] for entry in log} == {str(app)}
        assert {entry["code"] for entry in log} == {0}
    assert {e["params"]["IsTest"] for e in two_apps.requests()[TEST_APP]} == {"true"}
    ids = {r["urn"].rsplit("::", 1)[1]: r.get("id") for r in two_apps.resources() if r["type"] == RULE_SET}
    assert ids == {
        "rehearsal": f"{TEST_APP}:{REHEARSAL}",
        "keynote": f"{PRODUCTION_APP}:keynote",
        "greenRoom": f"{PRODUCTION_APP}:green-room",
    }

    two_apps.run("preview", "--expect-no-changes")
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
    assert sent[PRODUCTION_APP].count(("DeleteCDNTransferRule", "keynote")) == 2  # the live relays stopped
    for calls in sent.values():  # per stream, Clear comes last
        for stream in {s for _, s in calls}:
            assert [a for a, s in calls if s == stream][-1] == "ClearCDNTransferRule"
    assert [r for r in two_apps.resources() if r["type"] == RULE_SET] == []


def test_both_server_secrets_stay_out_of_state_logs_and_output(two_apps: TwoApps) -> None:
    verbose = ("-v=9", "--logtostderr")
    outputs = [two_apps.run("up", "--yes", "--skip-preview", *verbose), two_apps.run("preview", *verbose)]
    exported = two_apps.run("stack", "export").stdout
    state_files = [p.read_text() for p in (two_apps.pulumi.work_dir / "state").rglob("*.json")]
    outputs.append(two_apps.run("destroy", "--yes", "--skip-preview", *verbose))
    assert state_files and '"serverSecret"' in exported
    for text in [exported, *state_files, *(r.stdout + r.stderr for r in outputs)]:
        assert TEST_SECRET not in text and PRODUCTION_SECRET not in text


def test_bad_input_is_refused_at_preview_before_any_request(two_apps: TwoApps) -> None:
    two_apps.edit("- rtmp://${cdnHost}/live/keynote\n", "- http://${cdnHost}/live/keynote\n")
    two_apps.edit("streamId: keynote\n", "streamId: key note\n")  # the engine stops at the first bad resource
    result = two_apps.run("preview", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "cdnUrls[0]" in output and "rtmp://" in output
    assert "streamId" in output and "keynote" in output
    assert "Traceback" not in output
    assert two_apps.requests() == {TEST_APP: [], PRODUCTION_APP: []}


def test_a_wrong_server_secret_reads_as_one_line_with_code_meaning_and_request_id(two_apps: TwoApps) -> None:
    two_apps.run("config", "set", "--secret", "productionServerSecret", "wrong-secret-made-up")
    result = two_apps.up(check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in output
    failures = [line for line in output.splitlines() if "100000005" in line]
    assert len(failures) >= 2, output  # the progress view and the diagnostics
    for line in failures:  # each complete on its own line: code, meaning, RequestId, fix
        assert "signature wrong" in line and "RequestId" in line and "serverSecret" in line, line
    assert "wrong-secret-made-up" not in output
    refused = two_apps.requests()[PRODUCTION_APP]
    assert refused and {e["code"] for e in refused} == {100000005}
    assert {e["params"]["AppId"] for e in two_apps.requests()[TEST_APP]} <= {str(TEST_APP)}

    # destroy runs no program: it would use the provider as recorded, wrong secret included
    two_apps.run("config", "set", "--secret", "productionServerSecret", PRODUCTION_SECRET)
    two_apps.up()
    assert two_apps.live()[PRODUCTION_APP] == {"keynote": sorted(KEYNOTE_URLS)}
    two_apps.destroy()
    assert two_apps.live() == {TEST_APP: {}, PRODUCTION_APP: {}}


LOBBY = "rtmp://cdn-a.example.com/live/lobby"
LOBBY_BACKUP = "rtmp://backup-push.example-cdn.net/live/lobby"


def test_an_imported_stream_gets_the_relays_then_declared(two_apps: TwoApps) -> None:
    two_apps.up()
    with ZegoClient(config_of(PRODUCTION_APP, PRODUCTION_SECRET, endpoint=two_apps.production_app.url)) as zego:
        zego.create_cdn_transfer_rule("lobby", LOBBY)  # made outside Pulumi
    provider = two_apps.urn("pulumi:providers:zego", "productionApp")
    before = len(two_apps.production_app.admin.requests())
    imported = two_apps.run(
        "import",
        RULE_SET,
        "lobby",
        f"{PRODUCTION_APP}:lobby",
        "--provider",
        f"productionApp={provider}",
        *("--protect=false", "--yes"),
    )
    assert "lobby" in imported.stdout
    assert len(two_apps.production_app.admin.requests()) == before  # ZEGO has no read call: nothing sent
    [lobby] = [r for r in two_apps.resources() if r["urn"] == two_apps.urn(RULE_SET, "lobby")]
    assert lobby["id"] == f"{PRODUCTION_APP}:lobby"
    assert lobby["provider"].startswith(provider + "::")
    assert lobby["outputs"]["streamId"] == "lobby" and lobby["outputs"]["cdnUrls"] == []

    two_apps.edit(
        "\noutputs:",
        "  lobby:\n"
        f"    type: {RULE_SET}\n"
        "    properties:\n"
        "      streamId: lobby\n"
        f"      cdnUrls: [{LOBBY}, {LOBBY_BACKUP}]\n"
        "    options:\n"
        "      provider: ${productionApp}\n"
        "\noutputs:",
    )
    two_apps.up()
    assert two_apps.live()[PRODUCTION_APP]["lobby"] == sorted([LOBBY, LOBBY_BACKUP])

    two_apps.destroy()
    assert two_apps.live() == {TEST_APP: {}, PRODUCTION_APP: {}}


def test_the_plugin_serves_its_schema(two_apps: TwoApps) -> None:
    schema = json.loads(two_apps.pulumi.run("package", "get-schema", str(PLUGIN / "pulumi-resource-zego")).stdout)
    assert schema["name"] == "zego"
    resource = schema["resources"][RULE_SET]
    assert resource["description"]
    assert {"streamId", "cdnUrls", "stopRelaysOnDelete"} <= set(resource["inputProperties"])
    assert all(p.get("description") for p in resource["inputProperties"].values())
    provider = schema["provider"]["inputProperties"]
    assert set(provider) == {input_name(setting) for setting in SETTINGS}
    for setting in SETTINGS:
        assert setting.env_var in provider[input_name(setting)]["description"]
        assert provider[input_name(setting)].get("secret", False) is setting.secret
    assert {name for name, spec in provider.items() if spec.get("secret")} == {"serverSecret", "rateLimiter"}


TWO_PLAIN_APPS = f"""name: {PROJECT}
runtime: yaml
plugins:
  providers:
    - name: zego
      path: {PLUGIN}
resources:
  appA:
    type: pulumi:providers:zego
    properties:
      appId: ${{testAppId}}
      serverSecret: ${{testServerSecret}}
      endpoint: ${{testEndpoint}}
  appB:
    type: pulumi:providers:zego
    properties:
      appId: ${{productionAppId}}
      serverSecret: ${{productionServerSecret}}
      endpoint: ${{productionEndpoint}}
"""


def rule_set(name: str, stream: str, urls: list[str], provider: str) -> str:
    return (
        f"  {name}:\n    type: {RULE_SET}\n    properties:\n      streamId: {stream}\n"
        f"      cdnUrls: [{', '.join(urls)}]\n    options:\n      provider: ${{{provider}}}\n"
    )


def test_a_rule_set_moved_to_the_other_app_is_created_there_and_cleared_on_the_old(two_apps: TwoApps) -> None:
    two_apps.program.write_text(TWO_PLAIN_APPS + rule_set("lobby", "lobby", [LOBBY], "appA"))
    two_apps.up()
    assert two_apps.live() == {TEST_APP: {"lobby": [LOBBY]}, PRODUCTION_APP: {}}

    two_apps.program.write_text(TWO_PLAIN_APPS + rule_set("lobby", "lobby", [LOBBY], "appB"))
    two_apps.up()
    assert two_apps.live() == {TEST_APP: {}, PRODUCTION_APP: {"lobby": [LOBBY]}}
    [lobby] = [r for r in two_apps.resources() if r["type"] == RULE_SET]
    assert lobby["id"] == f"{PRODUCTION_APP}:lobby"
    assert [e["action"] for e in two_apps.requests()[TEST_APP]][-1] == "ClearCDNTransferRule"

    two_apps.destroy()
    assert two_apps.live() == {TEST_APP: {}, PRODUCTION_APP: {}}


def test_one_stream_id_on_both_apps_is_two_streams(two_apps: TwoApps) -> None:
    both = rule_set("lobbyA", "lobby", [LOBBY], "appA") + rule_set("lobbyB", "lobby", [LOBBY_BACKUP], "appB")
    two_apps.program.write_text(TWO_PLAIN_APPS + both)
    two_apps.up()
    assert two_apps.live() == {TEST_APP: {"lobby": [LOBBY]}, PRODUCTION_APP: {"lobby": [LOBBY_BACKUP]}}

    two_apps.program.write_text(TWO_PLAIN_APPS + rule_set("lobbyB", "lobby", [LOBBY_BACKUP], "appB"))
    two_apps.up()  # dropping app A's rule set clears app A's stream only
    assert two_apps.live() == {TEST_APP: {}, PRODUCTION_APP: {"lobby": [LOBBY_BACKUP]}}
    assert two_apps.requests()[TEST_APP][-1]["action"] == "ClearCDNTransferRule"

    two_apps.destroy()
    assert two_apps.live() == {TEST_APP: {}, PRODUCTION_APP: {}}


REDIS_PASSWORD = "made-up-redis-password-7c1d"
SECRET_SETTINGS_PROGRAM = """name: zego-secret-settings
runtime: yaml
plugins:
  providers:
    - name: zego
      path: {plugin}
resources:
  app:
    type: pulumi:providers:zego
    properties:
      appId: {app_id}
      serverSecret: {secret}
      endpoint: {endpoint}
      rateLimiter: {rate_limiter}
  lobby:
    type: zego:index:CdnTransferRuleSet
    properties:
      streamId: lobby
      cdnUrls: [{url}]
    options:
      provider: ${{app}}
"""


def test_settings_that_carry_credentials_are_encrypted_even_when_the_program_passes_plain_strings(
    tmp_path: Path,
) -> None:
    """`serverSecret` and a `rateLimiter` Redis URL with a password, written as plain strings in the
    program: the schema marks both secret, so the engine keeps them encrypted in state, and the
    budget is kept in that password-protected Redis."""
    project = tmp_path / "project"
    project.mkdir()
    pulumi = LocalPulumi(tmp_path / "work", project, extra_env={"ZEGO_PROVIDER_PYTHON": sys.executable})
    with (
        RedisServer(password=REDIS_PASSWORD) as redis_server,
        ZegoEmulator(app_id=PRODUCTION_APP, server_secret=PRODUCTION_SECRET) as zego,
    ):
        (project / "Pulumi.yaml").write_text(
            SECRET_SETTINGS_PROGRAM.format(
                plugin=PLUGIN,
                app_id=PRODUCTION_APP,
                secret=PRODUCTION_SECRET,
                endpoint=zego.url,
                rate_limiter=redis_server.url,
                url=LOBBY,
            )
        )
        assert REDIS_PASSWORD in redis_server.url
        pulumi.run("stack", "init", "secrets")
        try:
            outputs = [
                pulumi.run("preview", "--diff", "--stack", "secrets"),
                pulumi.run("up", "--yes", "--skip-preview", "--diff", "--stack", "secrets", "-v=9", "--logtostderr"),
            ]
            assert {s: [r["cdn_url"] for r in rules] for s, rules in zego.admin.streams().items()} == {"lobby": [LOBBY]}
            exported = pulumi.run("stack", "export", "--stack", "secrets").stdout
            state_files = [p.read_text() for p in (pulumi.work_dir / "state").rglob("*.json")]

            [provider] = [r for r in json.loads(exported)["deployment"]["resources"] if r["urn"].endswith("::app")]
            for name in ("serverSecret", "rateLimiter"):
                for kind in ("inputs", "outputs"):
                    value = provider[kind][name]
                    assert isinstance(value, dict) and "ciphertext" in value, f"{kind}.{name} is not encrypted"
            with redis.Redis(port=redis_server.port, password=REDIS_PASSWORD) as budget:
                keys = sorted(key.decode() for key in budget.keys("zego-provider:*"))
            assert any(key.startswith(f"zego-provider:{PRODUCTION_APP}-production") for key in keys), keys

            outputs.append(pulumi.run("destroy", "--yes", "--skip-preview", "--stack", "secrets"))
            assert zego.admin.streams() == {}
        finally:
            pulumi.remove_stack("secrets")
    assert state_files
    for text in [exported, *state_files, *(r.stdout + r.stderr for r in outputs)]:
        assert REDIS_PASSWORD not in text and PRODUCTION_SECRET not in text
