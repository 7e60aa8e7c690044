"""Which verbose flags are safe in CI: what `pulumi -v=N --logtostderr [--logflow]` and
PULUMI_DEBUG_GRPC print of the provider's secrets, for a Python program and a YAML program.

The limit (docs/guides/pipelines.md, "Which flags are safe in CI"): the YAML language host is
a Go program; at `-v=9`, and only when `--logflow` hands it the engine's verbosity, the Pulumi
Go SDK it is built on logs every property it marshals (`Marshaling property for RPC[]: key=value`,
sdk/go/common/resource/plugin/rpc.go, `logging.V(9)`), a provider's inputs included, secrets
printed inside their wrapper. The engine relays that log and replaces the values of *secret
stack config* on the way (its global secret filter); any other value is printed as it is.
The schema's `secret: true` makes the host wrap the value as a secret, which does not stop
that line: the plugin cannot prevent it. PULUMI_DEBUG_GRPC writes every gRPC message, secrets
in plain text, to its file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from devkit.redis_server import RedisServer

from .conftest import SECRET, Stack
from .test_yaml_native import PRODUCTION_SECRET, TEST_SECRET, TwoApps, two_apps

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("yaml_language_host")]

__all__ = ["two_apps"]  # a fixture, used by name

REDIS_PASSWORD = "made-up-redis-password-verbose-3e9f"  # made up; only the test's own redis-server knows it
MARSHAL_LINES = ("Marshaling property for RPC[", "Unmarshaling property for RPC[")


def lines_with(output: str, secret: str) -> list[str]:
    return [line for line in output.splitlines() if secret in line]


def with_rate_limiter(two_apps: TwoApps, redis: RedisServer, *, secret: bool) -> None:
    """The production provider also gets `rateLimiter` (a Redis URL with its password) from stack config."""
    declared = "  rateLimiter:\n    type: string\n" + ("    secret: true\n" if secret else "")
    two_apps.edit("  cdnHost:\n", declared + "  cdnHost:\n")
    two_apps.edit(
        "      endpoint: ${productionEndpoint}\n",
        "      endpoint: ${productionEndpoint}\n      rateLimiter: ${rateLimiter}\n",
    )
    two_apps.run("config", "set", *(["--secret"] if secret else []), "rateLimiter", redis.url)


def test_yaml_a_plain_config_value_is_logged_by_the_yaml_host_only_at_v9_with_logflow(two_apps: TwoApps) -> None:
    """A Redis URL put in plain stack config (not `--secret`): the one case that prints it."""
    with RedisServer(password=REDIS_PASSWORD) as redis:
        with_rate_limiter(two_apps, redis, secret=False)

        safe_without_logflow = two_apps.run("preview", "-v=9", "--logtostderr")
        safe_below_9 = two_apps.run("preview", "-v=8", "--logtostderr", "--logflow")
        limit = two_apps.run("preview", "-v=9", "--logtostderr", "--logflow")

    for result in (safe_without_logflow, safe_below_9):
        output = result.stdout + result.stderr
        assert REDIS_PASSWORD not in output and PRODUCTION_SECRET not in output
    # The documented limit: printed, by the Go SDK's marshal log and by nothing else, though the
    # schema marks rateLimiter secret (the `&{{...}}` is the host's secret wrapper).
    leaked = lines_with(limit.stdout + limit.stderr, REDIS_PASSWORD)
    assert leaked, "the YAML host no longer logs provider inputs at -v=9: update docs/guides/pipelines.md"
    assert all(any(marker in line for marker in MARSHAL_LINES) for line in leaked), leaked[:3]
    assert any("rateLimiter={&{{redis://" in line for line in leaked)
    assert PRODUCTION_SECRET not in limit.stdout + limit.stderr  # secret config: filtered by the engine


def test_yaml_secret_config_is_replaced_in_the_yaml_hosts_log_at_v9_with_logflow(two_apps: TwoApps) -> None:
    with RedisServer(password=REDIS_PASSWORD) as redis:
        with_rate_limiter(two_apps, redis, secret=True)
        up = two_apps.run("up", "--yes", "--skip-preview", "-v=9", "--logtostderr", "--logflow")
        destroy = two_apps.run("destroy", "--yes", "--skip-preview", "-v=9", "--logtostderr", "--logflow")
    output = up.stdout + up.stderr + destroy.stdout + destroy.stderr
    for secret in (REDIS_PASSWORD, PRODUCTION_SECRET, TEST_SECRET):
        assert secret not in output
    # The host did log the inputs: the engine's filter replaced each secret config value.
    assert "serverSecret={&{{[secret]}}}" in output and "rateLimiter={&{{[secret]}}}" in output


def test_pulumi_debug_grpc_writes_secrets_to_its_file_and_is_never_safe(two_apps: TwoApps, tmp_path: Path) -> None:
    trace = tmp_path / "grpc.log"
    two_apps.pulumi.env["PULUMI_DEBUG_GRPC"] = str(trace)
    result = two_apps.run("preview")
    assert PRODUCTION_SECRET not in result.stdout + result.stderr  # the console stays clean...
    assert PRODUCTION_SECRET in trace.read_text()  # ...the trace file does not: never in CI


def test_python_a_plain_config_value_is_logged_by_the_engine_from_v7_and_secret_config_never(
    make_stack: Callable[..., Stack],
) -> None:
    """A Python program: neither its host nor the dynamic provider logs an input, but the engine
    logs the default provider's inputs, which it reads from the `zego:*` stack config, at `-v=7`:
    a value set without `--secret` is printed then; a secret one is replaced by `[secret]`."""
    stack = make_stack()
    stack.set_streams({"main": ["rtmp://cdn.example.com/live/main"]})
    with RedisServer(password=REDIS_PASSWORD) as redis:
        stack.pulumi.run("config", "set", "zego:rateLimiter", redis.url, "--stack", "e2e")
        below_7 = stack.preview("-v=6", "--logtostderr", "--logflow")
        limit = stack.preview("-v=7", "--logtostderr")
        stack.pulumi.run("config", "set", "--secret", "zego:rateLimiter", redis.url, "--stack", "e2e")
        up = stack.up("-v=9", "--logtostderr", "--logflow")
        destroy = stack.destroy("-v=9", "--logtostderr", "--logflow")
    assert REDIS_PASSWORD not in below_7.stdout + below_7.stderr
    leaked = lines_with(limit.stdout + limit.stderr, REDIS_PASSWORD)
    assert leaked, "the engine no longer logs plain provider config at -v=7: update docs/guides/pipelines.md"
    secret_run = up.stdout + up.stderr + destroy.stdout + destroy.stderr
    assert "zego:rateLimiter:{[secret]}" in secret_run  # verbose logging was on, and filtered
    assert REDIS_PASSWORD not in secret_run and SECRET not in secret_run
