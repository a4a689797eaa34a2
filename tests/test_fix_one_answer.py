"""Issue 17 §7: one answer to "can fix do this?". ``scan``'s "fix all" line, the plugin's
stop message and ``fix``'s plan ask the same function, so every "fix all" line printed
leads to a plan that changes something, and the line runs as printed without an activated
virtual environment."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from nuitka_archguard.cli.main import main
from tests.fixwheels import ext_wheel, install
from tests.synth import macho

X86 = "macos-x86_64"


def _fixable(tmp_path: Path) -> Path:
    env = tmp_path / "fixable"
    install(ext_wheel(tmp_path / "w", "fast", "1.0", "arm64"), env)
    return env


def _without_record(tmp_path: Path) -> Path:
    """pip-installed, but its RECORD is gone: fix cannot know its files."""
    env = tmp_path / "no-record"
    install(ext_wheel(tmp_path / "w2", "fast", "1.0", "arm64"), env)
    (env / "fast-1.0.dist-info" / "RECORD").unlink()
    return env


def _unowned(tmp_path: Path) -> Path:
    env = tmp_path / "unowned"
    (env / "loose").mkdir(parents=True)
    (env / "loose" / "_x.cpython-311-darwin.so").write_bytes(macho.thin("arm64", "bundle"))
    return env


def _venv_for_another_os(tmp_path: Path) -> Path:
    """A venv whose interpreter runs here (Linux) holding an arm64 macOS wheel."""
    venv = tmp_path / "venv"
    site = venv / "lib" / "python3.11" / "site-packages"
    (venv / "bin").mkdir(parents=True)
    os.symlink(os.path.realpath(sys.executable), venv / "bin" / "python")
    install(ext_wheel(tmp_path / "w3", "fast", "1.0", "arm64"), site)
    return venv


def _fix_line(env: Path, capsys: pytest.CaptureFixture[str]) -> str:
    main(["scan", str(env), "--target", X86])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("fix all:")]
    return lines[0][len("fix all: ") :] if lines else ""


@pytest.mark.parametrize("build", [_fixable, _without_record, _unowned, _venv_for_another_os])
def test_every_fix_all_line_leads_to_a_plan_that_changes_something(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], build: object
) -> None:
    if build is _venv_for_another_os and sys.platform != "linux":
        pytest.skip("needs an ELF interpreter (a Linux host)")
    env = build(tmp_path)  # type: ignore[operator]
    index = tmp_path / "index"
    ext_wheel(index, "fast", "1.0", "x86_64")
    line = _fix_line(env, capsys)
    main(["fix", str(env), "--target", X86, "--no-index", "--find-links", str(index),
                 "--dry-run", "--format", "json"])  # fmt: skip
    document = json.loads(capsys.readouterr().out)
    result = document["results"][0]
    changing = {"replace", "fuse", "pure-python", "older-version"}
    actions = (result.get("plan") or {}).get("actions", [])
    changes = [a for a in actions if a["applies"] and a["action"] in changing]
    assert bool(line) == bool(changes), (line, result)


def test_the_fix_all_line_runs_as_printed_without_an_activated_venv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env, index = _fixable(tmp_path), tmp_path / "index"
    ext_wheel(index, "fast", "1.0", "x86_64")
    line = _fix_line(env, capsys)
    assert line
    path = os.pathsep.join(["/usr/bin", "/bin"])  # not the venv's bin
    clean = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PATH")}
    words = [*shlex.split(line), "--no-index", "--find-links", str(index), "--dry-run"]
    result = subprocess.run(words, capture_output=True, text=True, check=False,
                            env={**clean, "PATH": path})  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "replace by fast-1.0-cp311-cp311-macosx_10_9_x86_64.whl" in result.stdout
