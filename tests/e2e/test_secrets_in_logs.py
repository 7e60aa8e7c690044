"""`pulumi up` and `destroy` at the engine's most verbose (-v=9 --logtostderr --logflow) never print
the ServerSecret, a Signature or a SignatureNonce.

A logged Signature is a bearer token for about ten minutes (ZEGO signs AppId, nonce, secret and
Timestamp only). The emulator runs in this process: recording what its gateway accepts
(`EmulatorState.accept_nonce`) gives every nonce and Timestamp it received (its request log
keeps no nonce, on purpose); the Signature of each is recomputed from them, so the scan knows
every credential that was sent.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.redis_server import RedisServer
from zego_provider.signing import sign

from .conftest import APP_ID, SECRET, STACK, Stack

pytestmark = pytest.mark.e2e

VERBOSE = ("-v=9", "--logtostderr", "--logflow")
STREAMS = {
    "main": ["rtmp://cdn.example.com/live/main?token=t1", "rtmp://backup.example.com/live/main"],
    "side": ["rtmp://cdn.example.com/live/side"],
}


def record_accepted_nonces(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """From now on, every (nonce, Timestamp) the emulator's gateway accepts."""
    accepted: list[tuple[str, int]] = []
    state = stack.emulator.state
    original = state.accept_nonce

    def recording(nonce: str, timestamp: float) -> bool:
        fresh = original(nonce, timestamp)
        if fresh:
            accepted.append((nonce, int(timestamp)))
        return fresh

    monkeypatch.setattr(state, "accept_nonce", recording)
    return accepted


def sent_credentials(accepted: list[tuple[str, int]]) -> set[str]:
    """Every nonce the emulator received, and the Signature that went with it."""
    return {
        credential for nonce, timestamp in accepted for credential in (nonce, sign(APP_ID, nonce, SECRET, timestamp))
    }


@pytest.fixture
def python_logs_everything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every Python process Pulumi starts (the program, the dynamic provider) logs at DEBUG to
    stderr, which the engine relays into its own log: urllib3's request lines included."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import logging, sys\n"
        "logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format='%(name)s %(levelname)s %(message)s')\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(site))


@pytest.mark.usefixtures("python_logs_everything")
@pytest.mark.parametrize("secret_from", ["config", "env"])
def test_verbose_pulumi_output_holds_no_secret_signature_or_nonce(
    make_stack: Callable[..., Stack], secret_from: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = make_stack(secret_from=secret_from)
    accepted = record_accepted_nonces(stack, monkeypatch)
    stack.set_streams(STREAMS)
    admin = stack.emulator.admin
    # A server error and a dropped connection on the way: retries log warnings in the provider.
    admin.inject(code=5000, count=1, action="CreatCDNTransferRule")
    admin.inject(drop=True, count=1, action="ClearCDNTransferRule")
    up = stack.up(*VERBOSE)
    assert stack.live_rules() == {"main": sorted(STREAMS["main"]), "side": STREAMS["side"]}
    admin.inject(drop=True, count=1, action="DeleteCDNTransferRule")
    admin.inject(code=1, count=1, action="ClearCDNTransferRule")
    destroy = stack.destroy(*VERBOSE)
    assert stack.live_rules() == {}

    output = "\n".join([up.stdout, up.stderr, destroy.stdout, destroy.stderr])
    # Verbose logging really was on: the engine's planner, the provider's retry warnings and
    # urllib3's request lines (redacted) all reached the output.
    assert "Planner decided to create" in output and "retrying in" in output
    assert "urllib3.connectionpool DEBUG" in output and "Signature=<redacted>" in output
    credentials = sent_credentials(accepted)
    assert len(credentials) >= 2 * 8  # 3 creates + 1 retry, 3 deletes + 2 clears + 2 retries
    assert SECRET not in output
    leaked = sorted(credential for credential in credentials if credential in output)
    assert leaked == []


def test_preview_warns_of_a_redis_password_in_plain_stack_config_without_printing_it(stack: Stack) -> None:
    """The dynamic provider's `configure` gets secrets unwrapped, so the program (which knows the
    stack's secret keys) says it: `pulumi preview` names the key, never the password."""
    password = "made-up-redis-password-e2e-41f"
    stack.set_streams({"main": ["rtmp://cdn.example.com/live/main"]})
    with RedisServer(password=password) as redis_server:
        stack.pulumi.run("config", "set", "zego:rateLimiter", redis_server.url, "--stack", STACK)
        plain = stack.preview()
        stack.pulumi.run("config", "set", "--secret", "zego:rateLimiter", redis_server.url, "--stack", STACK)
        secret = stack.preview()
    warned = plain.stdout + plain.stderr
    assert "zego:rateLimiter holds a credential in plain text" in warned and "--secret zego:rateLimiter" in warned
    assert "holds a credential in plain text" not in secret.stdout + secret.stderr
    for result in (plain, secret):
        assert password not in result.stdout + result.stderr
    assert stack.emulator.admin.requests() == []
