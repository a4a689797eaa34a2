"""The examples are part of the product: run them so none can rot."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.synth import macho

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.realwheels
def test_seed_scenario_names_cffi_and_the_fix() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "seed-scenario" / "run.py")],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    broken, fixed = result.stdout.split("== the same with cffi's x86_64 wheel")
    assert "cffi 1.17.1" in broken
    assert "macosx_11_0_arm64" in broken
    assert "_cffi_backend" in broken
    assert "cryptography" in broken
    assert "arch -x86_64" in broken
    assert "(exit code 1)" in broken
    assert "(exit code 0)" in fixed
    assert "Traceback" not in result.stdout + result.stderr


def _workflow_commands() -> list[str]:
    text = (EXAMPLES / "github-actions.yml").read_text()
    return [m.group(1) for m in re.finditer(r"run: (nuitka-archguard .*)", text)]


def test_github_workflow_scan_step_turns_findings_into_annotations(tmp_path: Path) -> None:
    (scan_command,) = [c for c in _workflow_commands() if c.startswith("nuitka-archguard scan")]
    args = scan_command.split()[1:]
    args[args.index("${{") : args.index("}}") + 1] = ["macos-x86_64"]
    package = tmp_path / "site-packages" / "fastthing"
    package.mkdir(parents=True)
    (package / "_speedups.cpython-311-darwin.so").write_bytes(macho.thin(arch="arm64"))
    result = subprocess.run(
        [sys.executable, "-m", "nuitka_archguard", *args, str(tmp_path / "site-packages")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert len(annotations) == 1
    assert annotations[0].startswith("::error file=")
    assert "_speedups.cpython-311-darwin.so" in annotations[0]


def test_github_workflow_plugin_path_step_prints_an_existing_plugin_file() -> None:
    assert "nuitka-archguard plugin-path" in (EXAMPLES / "github-actions.yml").read_text()
    result = subprocess.run(
        [sys.executable, "-m", "nuitka_archguard", "plugin-path"],
        capture_output=True,
        text=True,
        check=True,
    )
    plugin = Path(result.stdout.strip())
    assert plugin.is_absolute() and plugin.is_file()
    assert plugin.name == "archguard.py"
