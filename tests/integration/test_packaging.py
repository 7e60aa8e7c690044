"""The built wheel, installed into a fresh virtualenv (not this editable tree), works on its own."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from tests.support.wheel import built_dist, fresh_venv
from zego_provider.emulator import EmulatorAdmin

REPO = Path(__file__).resolve().parents[2]
PUBLIC_NAMES = [
    "sign",
    "ZegoClient",
    "ZegoResponse",
    "ZegoApiError",
    "ZegoAuthenticationError",
    "ZegoRateLimitError",
    "ZegoInvalidInputError",
    "ZegoServerError",
    "ZegoConfigError",
    "CdnTransferRuleSet",
    "CdnTransferRuleSetArgs",
]
SECRET = "wheel-test-made-up-secret"


@pytest.fixture(scope="module")
def built() -> Path:
    """The folder holding the sdist and the wheel of this checkout, built once (tests/support/wheel.py)."""
    return built_dist()


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin folder of a fresh virtualenv with only the built wheel (and its dependencies),
    installed by version as from the index (tests/support/wheel.py)."""
    return fresh_venv(tmp_path_factory.mktemp("wheel") / "venv")


def test_twine_check_passes_on_the_sdist_and_the_wheel(built: Path) -> None:
    """What a package index checks before it accepts an upload: the metadata and the long description render."""
    files = sorted(str(path) for path in built.iterdir())
    assert len(files) == 2
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *files], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2


def test_the_metadata_says_what_the_package_is_and_where_it_lives(built: Path) -> None:
    """The wheel's METADATA: this version, the short README as the long description, the project URLs."""
    import zipfile
    from email.parser import Parser

    import zego_provider

    [wheel] = built.glob("zego_pulumi_provider-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(archive.read(name).decode())
    assert metadata["Version"] == zego_provider.__version__
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert metadata.get_payload().strip() == (REPO / "README.md").read_text().strip()
    assert sorted(url.split(",")[0] for url in metadata.get_all("Project-URL")) == [
        "Changelog",
        "Documentation",
        "Homepage",
        "Issues",
    ]
    assert "pulumi<4,>=3.272" in metadata.get_all("Requires-Dist")


def run(bin_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=bin_dir,  # away from the source tree, so nothing imports from it
        env={**os.environ, **(env or {})},
    )


def test_the_wheel_carries_py_typed_and_its_public_names(installed: Path) -> None:
    names = ", ".join(PUBLIC_NAMES)
    script = (
        f"import importlib.resources, zego_provider; from zego_provider import {names}; "
        "print(zego_provider.__file__); "
        "print(importlib.resources.files('zego_provider').joinpath('py.typed').is_file()); "
        "print(zego_provider.__version__)"
    )
    result = run(installed, "python", "-c", script)
    assert result.returncode == 0, result.stderr
    location, typed, version = result.stdout.split()
    assert "site-packages" in location and str(REPO) not in location
    assert typed == "True"
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)


def test_zego_cdn_help_runs(installed: Path) -> None:
    result = run(installed, "zego-cdn", "--help")
    assert result.returncode == 0
    assert "create" in result.stdout and "clear" in result.stdout


def test_create_and_clear_round_trip_against_the_installed_emulator(installed: Path) -> None:
    emulator = subprocess.Popen(
        [str(installed / "zego-cdn"), "emulator", "--app-id", "1234567890", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "ZEGO_SERVER_SECRET": SECRET},
    )
    try:
        assert emulator.stdout is not None
        url = re.search(r"listening on (http://\S+)", emulator.stdout.readline())
        assert url, "the emulator did not say where it listens"
        env = {"ZEGO_APP_ID": "1234567890", "ZEGO_SERVER_SECRET": SECRET, "ZEGO_API_ENDPOINT": url.group(1)}
        created = run(installed, "zego-cdn", "create", "wheel&stream", "rtmp://cdn.example.com/live/k?t=1", env=env)
        assert created.returncode == 0, created.stderr
        assert created.stdout.startswith("ok [RequestId ")
        admin = EmulatorAdmin(url.group(1))
        assert [rule["cdn_url"] for rule in admin.stream("wheel&stream")] == ["rtmp://cdn.example.com/live/k?t=1"]
        cleared = run(installed, "zego-cdn", "clear", "wheel&stream", env=env)
        assert cleared.returncode == 0, cleared.stderr
        assert admin.stream("wheel&stream") == []
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)


def test_the_native_plugin_is_installed_and_serves_its_schema(installed: Path) -> None:
    plugin = subprocess.Popen(
        [str(installed / "pulumi-resource-zego"), "127.0.0.1:1"], stdout=subprocess.PIPE, cwd=installed, text=True
    )
    try:
        assert plugin.stdout is not None
        port = int(plugin.stdout.readline().strip())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=30)
            stub = provider_pb2_grpc.ResourceProviderStub(channel)
            reply = stub.GetSchema(provider_pb2.GetSchemaRequest(), timeout=30)
        assert json.loads(reply.schema)["resources"].keys() == {"zego:index:CdnTransferRuleSet"}
    finally:
        plugin.terminate()
        plugin.wait(timeout=10)
