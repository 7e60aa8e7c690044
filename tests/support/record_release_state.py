"""Records the state a release leaves behind, for the upgrade test (tests/e2e/test_upgrade.py).

    scripts/record-release-state --tree DIR --version X.Y.Z [--python PY] [--kind dynamic|native]

DIR holds the release's tree (`git archive <tag or commit> | tar -x -C DIR`). The
release's package runs from PY (a Python where that release is installed), or from a
virtualenv this script builds under a scratch folder with `pip install -c DIR/constraints.txt DIR`.
The Pulumi CLI is the one on PATH (`scripts/ensure-pulumi` of the current tree); the release's
own scripts/ensure-pulumi must pin the same version, so the state is what that release's users
had. For each kind (dynamic always; native when the release has plugins/zego) it runs the
release's `pulumi up` against an emulator, then writes tests/e2e/fixtures/upgrade/<version>/<kind>/
(see tests/support/release_state.py). It refuses to write a recording that holds the made-up
secret or the passphrase in plain text.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tests.support.pulumi_local import LocalPulumi, scratch_dir
from tests.support.release_state import (
    APP_ID,
    DYNAMIC_PROGRAM,
    FIXTURES,
    KINDS,
    PROJECT,
    SERVER_SECRET,
    STACK,
    STACK_CONFIG,
    STREAMS,
    UPGRADE_PASSPHRASE,
    native_program,
    stack_config_file,
)
from zego_provider.emulator import ZegoEmulator


def pinned_cli_version(tree: Path) -> str:
    """PULUMI_VERSION of the tree's scripts/ensure-pulumi."""
    match = re.search(r"^PULUMI_VERSION=(\S+)$", (tree / "scripts" / "ensure-pulumi").read_text(), re.MULTILINE)
    if not match:
        raise SystemExit(f"no PULUMI_VERSION in {tree}/scripts/ensure-pulumi")
    return match.group(1)


def cli_version() -> str:
    out = subprocess.run(["pulumi", "version"], capture_output=True, text=True, check=True, timeout=60).stdout
    return out.strip().splitlines()[-1].lstrip("v")


def release_python(tree: Path, scratch: Path) -> Path:
    """A virtualenv with the release installed from its tree (not editable: a user's install)."""
    venv = scratch / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    constraints = tree / "constraints.txt"
    extra = ["-c", str(constraints)] if constraints.exists() else []
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *extra, str(tree)], check=True, timeout=1200)
    return python


def installed_version(python: Path, scratch: Path) -> str:
    """The version installed for `python` (run outside this checkout, whose package would shadow it)."""
    code = "import zego_provider; print(zego_provider.__version__, zego_provider.__file__)"
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True, cwd=scratch).stdout
    version, where = out.split()
    print(f"release package: {version} at {where}")
    return version


def record(kind: str, tree: Path, python: Path, version: str, work: Path, out: Path) -> None:
    """Run the release's `pulumi up` of the recording program for `kind`; write the recording to `out`."""
    project = work / "project"
    project.mkdir(parents=True)
    venv_bin = python.parent
    env = {
        "PULUMI_CONFIG_PASSPHRASE": UPGRADE_PASSPHRASE,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "VIRTUAL_ENV": str(venv_bin.parent),
    }
    if kind == "dynamic":
        program_files = ["__main__.py"]
        (project / "__main__.py").write_text(DYNAMIC_PROGRAM)
        (project / "Pulumi.yaml").write_text(
            f"name: {PROJECT}\nruntime:\n  name: python\n  options:\n"
            f"    toolchain: pip\n    virtualenv: {venv_bin.parent}\n"
        )
    else:
        program_files = ["Pulumi.yaml"]
        (project / "Pulumi.yaml").write_text(native_program(STREAMS))
        # The release's plugin, found on PATH (so the program names no path of this machine).
        env["PATH"] = f"{tree / 'plugins' / 'zego'}{os.pathsep}{env['PATH']}"
        env["ZEGO_PROVIDER_PYTHON"] = str(python)
    pulumi = LocalPulumi(work / "pulumi", project, extra_env=env)
    with ZegoEmulator(app_id=APP_ID, server_secret=SERVER_SECRET) as emulator:
        if kind == "dynamic":
            config = {"zego:appId": str(APP_ID), "zego:endpoint": emulator.url, "streams": json.dumps(STREAMS)}
            secrets = {"zego:serverSecret": SERVER_SECRET}
        else:
            config = {"appId": str(APP_ID), "endpoint": emulator.url}
            secrets = {"serverSecret": SERVER_SECRET}
        try:
            pulumi.init_stack(STACK, config=config, secrets=secrets)
            pulumi.run("up", "--yes", "--skip-preview", "--stack", STACK, timeout=600)
            exported = pulumi.run("stack", "export", "--stack", STACK).stdout
            stack_config = (project / stack_config_file(STACK)).read_text()  # `stack rm` deletes it
            relays = {
                stream: sorted(rule["cdn_url"] for rule in rules)
                for stream, rules in emulator.admin.streams().items()
                if rules
            }
            endpoint = emulator.url
        finally:
            pulumi.remove_stack(STACK)
    expected = {spec["stream_id"]: sorted(spec["cdn_urls"]) for spec in STREAMS.values() if spec["cdn_urls"]}
    if relays != expected:
        raise SystemExit(f"the release's up left {relays} on the emulator, not {expected}")
    files = {
        "stack.json": exported,
        STACK_CONFIG: stack_config,
        "relays.json": json.dumps(relays, indent=2, sort_keys=True) + "\n",
        **{name: (project / name).read_text() for name in program_files},
    }
    manifest = {
        "version": version,
        "kind": kind,
        "project": PROJECT,
        "stack": STACK,
        "app_id": APP_ID,
        "endpoint": endpoint,
        "streams": STREAMS,
        "program": program_files,
        "pulumi_cli": cli_version(),
    }
    files["manifest.json"] = json.dumps(manifest, indent=2) + "\n"
    for name, text in files.items():
        for plain in (SERVER_SECRET, UPGRADE_PASSPHRASE):
            if plain in text:
                raise SystemExit(f"{name} holds a plain-text secret: not recorded")
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text)
    print(f"recorded {version} {kind}: {out}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--tree", type=Path, required=True, help="a checkout of the release")
    parser.add_argument("--version", required=True, help="the release's version (the fixture folder's name)")
    parser.add_argument("--python", type=Path, help="a Python where that release is installed")
    parser.add_argument("--kind", choices=KINDS, action="append", help="default: every kind the release has")
    parser.add_argument("--out", type=Path, default=FIXTURES, help="default: %(default)s")
    args = parser.parse_args(argv)
    tree = args.tree.resolve()
    pinned, running = pinned_cli_version(tree), cli_version()
    if pinned != running:
        raise SystemExit(f"the release pins Pulumi CLI {pinned}, the pulumi on PATH is {running}")
    has_native = (tree / "plugins" / "zego" / "pulumi-resource-zego").exists()
    kinds = args.kind or [kind for kind in KINDS if kind == "dynamic" or has_native]
    if "native" in kinds and not has_native:
        raise SystemExit(f"{tree} has no native plugin (plugins/zego)")
    with scratch_dir("zego-record-") as scratch:
        python = args.python.absolute() if args.python else release_python(tree, scratch)
        installed = installed_version(python, scratch)
        if installed != args.version and not args.version.startswith(installed):
            print(f"note: {python} has zego_provider {installed}, recorded as {args.version}", file=sys.stderr)
        for kind in kinds:
            work = Path(tempfile.mkdtemp(dir=scratch))
            record(kind, tree, python, args.version, work, args.out / args.version / kind)
    return 0


if __name__ == "__main__":
    sys.exit(main())
