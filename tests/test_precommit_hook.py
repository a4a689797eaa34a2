"""The pre-commit hook (``.pre-commit-hooks.yaml``), run the way a user meets it:
``pre-commit try-repo`` of this repository against a temporary git repository that commits a
wrong-architecture ``.so``. pre-commit installs the hook's environment from the package index,
so this is in the ``realwheels`` tier."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.synth import elf

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.realwheels,
    pytest.mark.skipif(
        importlib.util.find_spec("pre_commit") is None or shutil.which("git") is None,
        reason="needs pre-commit (the dev extra) and git",
    ),
]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def _project(tmp_path: Path, pyproject: str) -> Path:
    repo = tmp_path / "project"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@example.invalid")
    _git(repo, "config", "user.name", "t")
    (repo / "vendor").mkdir()
    (repo / "vendor" / "libfast.so").write_bytes(elf.elf("aarch64"))
    (repo / "vendor" / "libgood.so").write_bytes(elf.elf("x86_64"))
    (repo / "notes.txt").write_text("not a binary\n")
    (repo / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    _git(repo, "add", ".")
    return repo


def _try_repo(repo: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    env["PRE_COMMIT_HOME"] = str(tmp_path / "pre-commit-home")
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "archguard", *extra],
        cwd=repo, env=env, capture_output=True, text=True, timeout=1200,
    )  # fmt: skip


def test_the_hook_stops_a_commit_of_a_wrong_arch_library(tmp_path: Path) -> None:
    repo = _project(tmp_path, '[tool.archguard]\ntarget = "linux-x86_64"\n')
    result = _try_repo(repo, tmp_path, "--all-files", "--verbose")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "binaries fit the target (nuitka-archguard)" in output and "Failed" in output
    assert "vendor/libfast.so" in output and "aarch64" in output
    assert "notes.txt" not in output  # only binaries are passed to the hook


def test_binaries_that_fit_pass(tmp_path: Path) -> None:
    repo = _project(tmp_path, '[tool.archguard]\ntarget = "linux-x86_64"\n')
    (repo / "vendor" / "libfast.so").unlink()
    _git(repo, "add", "-A")
    result = _try_repo(repo, tmp_path, "--all-files")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Passed" in result.stdout
