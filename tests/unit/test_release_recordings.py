"""The recorded release states the upgrade test runs on (tests/e2e/fixtures/upgrade/): complete,
free of plain-text secrets, and moved to the test's emulator without touching anything else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.release_state import (
    FIXTURES,
    SERVER_SECRET,
    STACK_CONFIG,
    UPGRADE_PASSPHRASE,
    Recording,
    recordings,
)

RECORDINGS = recordings()
SECRET_SIG = "4dabf18193072939515e22adb298388d"


def test_every_release_is_recorded_for_every_kind_it_has() -> None:
    """0.1.0 had only the dynamic resource; from 0.2.0 on, every release records both kinds."""
    found = {(r.version, r.kind) for r in RECORDINGS}
    assert ("0.1.0", "dynamic") in found
    for version in {v for v, _ in found if v != "0.1.0"}:
        assert {(version, "dynamic"), (version, "native")} <= found
    for recording in RECORDINGS:
        assert recording.folder == FIXTURES / recording.version / recording.kind


@pytest.mark.parametrize("recording", RECORDINGS, ids=[r.name for r in RECORDINGS])
def test_recording_holds_no_plain_secret(recording: Recording) -> None:
    """The made-up ServerSecret is in the recording only encrypted (config and state), and the
    passphrase that encrypts it is nowhere in it."""
    files = sorted(path for path in recording.folder.iterdir() if path.is_file())
    expected = {"manifest.json", "stack.json", STACK_CONFIG, "relays.json", *recording.program_files()}
    assert {p.name for p in files} == expected
    for path in files:
        text = path.read_text()
        assert SERVER_SECRET not in text, path
        assert UPGRADE_PASSPHRASE not in text, path
    assert "secure: v1:" in (recording.folder / STACK_CONFIG).read_text()
    secrets = [
        value
        for resource in recording.state()["deployment"]["resources"]
        for value in resource.get("inputs", {}).values()
        if isinstance(value, dict) and SECRET_SIG in value
    ]
    assert secrets and all(set(value) == {SECRET_SIG, "ciphertext"} for value in secrets)


@pytest.mark.parametrize("recording", RECORDINGS, ids=[r.name for r in RECORDINGS])
def test_materialize_moves_only_the_endpoint(recording: Recording, tmp_path: Path) -> None:
    endpoint = "http://127.0.0.1:1"
    state_file = recording.materialize(tmp_path / "project", endpoint)
    state = state_file.read_text()
    assert recording.endpoint not in state and endpoint in state
    assert state == (recording.folder / "stack.json").read_text().replace(recording.endpoint, endpoint)
    config = (tmp_path / "project" / f"Pulumi.{recording.stack}.yaml").read_text()
    assert f": {endpoint}\n" in config and recording.endpoint not in config
    for name in recording.program_files():
        assert (tmp_path / "project" / name).read_bytes() == (recording.folder / name).read_bytes()
    json.loads(state)


def test_materialize_refuses_an_endpoint_that_is_the_prefix_of_another(tmp_path: Path) -> None:
    """A recorded :4355 must not turn :43553 into a third URL."""
    (original,) = [r for r in RECORDINGS if r.name == "0.1.0-dynamic"]
    shorter = Recording(original.folder, {**original.manifest, "endpoint": original.endpoint[:-1]})
    with pytest.raises(ValueError, match="prefix of a longer URL"):
        shorter.materialize(tmp_path / "project", "http://127.0.0.1:1")
