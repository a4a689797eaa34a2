"""The examples are part of the product: run them so none can rot."""

from __future__ import annotations

import importlib.util
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_github_workflow_uses_this_repositorys_action_and_nuitka_action() -> None:
    """The workflow's guard step is ``action.yml`` (run by tests/test_github_action.py), given
    only inputs it declares; Nuitka-Action gets the plugin path the workflow prints."""
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((EXAMPLES / "github-actions.yml").read_text())
    action = yaml.safe_load((EXAMPLES.parent / "action.yml").read_text())
    steps = workflow["jobs"]["build"]["steps"]
    (guard,) = [s for s in steps if str(s.get("uses", "")).endswith("/nuitka-archguard@main")]
    assert set(guard["with"]) <= set(action["inputs"]) and "target" in guard["with"]
    (nuitka,) = [s for s in steps if str(s.get("uses", "")).startswith("Nuitka/Nuitka-Action")]
    assert nuitka["with"]["user-plugin"] == "${{ steps.archguard.outputs.path }}"
    (locate,) = [s for s in steps if s.get("id") == "archguard"]
    assert "nuitka-archguard plugin-path" in locate["run"]
    assert steps.index(guard) < steps.index(nuitka)


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


def _on_linux_x86_64_with_nuitka() -> None:
    if not sys.platform.startswith("linux") or platform.machine() != "x86_64":
        pytest.skip("the Linux example builds on a Linux x86_64 machine")
    if importlib.util.find_spec("nuitka") is None:
        pytest.skip("Nuitka is not installed")


@pytest.mark.nuitka
@pytest.mark.realwheels
def test_linux_example_shows_the_build_stopping_with_the_message() -> None:
    _on_linux_x86_64_with_nuitka()
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "linux-aarch64-in-x86_64" / "run.py")],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "FATAL: archguard: stopped before the C compilation" in output
    assert "bcrypt 4.2.0" in output and "manylinux2014_aarch64" in output
    assert "_bcrypt.abi3.so" in output
    assert "is built for aarch64" in output and "needs x86_64" in output
    assert "--platform manylinux2014_x86_64" in output
    assert "Traceback" not in output


@pytest.mark.nuitka
@pytest.mark.realwheels
def test_build_script_example_reads_the_json_report(tmp_path: Path) -> None:
    """The build script on the same aarch64 bcrypt: the build stops and the report is read."""
    _on_linux_x86_64_with_nuitka()
    from tests import realwheels

    try:
        site = realwheels.installed_target(["bcrypt==4.2.0"], "manylinux2014_aarch64")
    except realwheels.NetworkUnavailable as error:
        pytest.skip(f"cannot download wheels: {error}")
    program = tmp_path / "app.py"
    program.write_text("import bcrypt\nprint(bcrypt.__version__)\n")
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "build_script.py"), str(program)],
        capture_output=True,
        text=True,
        timeout=1800,
        env=dict(os.environ, PYTHONPATH=str(site)),
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "archguard report: target linux x86_64, 1 error(s), 0 warning(s)" in output
    assert "error: arch-missing bcrypt 4.2.0:" in output
    assert not (tmp_path / "build" / "app.dist" / "app.bin").exists()
