"""The 'fix every offender' command runs as printed also from inside Nuitka, which runs the
plugin with ``-S``: without the site module, sysconfig names the base Python's scripts folder,
and the virtual environment's ``nuitka-archguard`` sits beside its interpreter."""

from __future__ import annotations

import shutil
import sys
import sysconfig
from pathlib import Path

import pytest

from nuitka_archguard.check.fixable import fix_program


def test_the_script_beside_the_interpreter_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venv_bin = tmp_path / "venv" / "bin"
    venv_bin.mkdir(parents=True)
    python = venv_bin / "python"
    python.write_text("")
    script = venv_bin / "nuitka-archguard"
    script.write_text("#!/bin/sh\n")
    monkeypatch.setattr(sys, "executable", str(python))
    monkeypatch.setattr(sysconfig, "get_path", lambda name, *a, **k: str(tmp_path / "base-bin"))
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    assert fix_program() == str(script)
    script.unlink()
    assert fix_program() == f"{python} -m nuitka_archguard"
