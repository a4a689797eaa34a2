"""The quick start's first command (``examples/seed-scenario/run.py``) on the oldest and the
newest Python the project supports, in a temporary copy of the project.

It creates ``.venv``, installs the project with what the tests need (no fuzzing tools: atheris
has no wheel for every Python), re-runs itself there once, and scans two real wheels. These
tests install packages and download wheels, so they are in the ``realwheels`` tier.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path
from typing import Optional

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path("examples/seed-scenario/run.py")
PYENV = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"


def _python(version: Optional[str]) -> Optional[str]:
    """A Python ``version`` (X.Y), or the newest 3.x found, from pyenv or PATH."""
    found: dict[tuple[int, int], str] = {}
    candidates = glob.glob(str(PYENV / "3.*" / "bin" / "python3"))
    candidates += [p for p in (shutil.which(f"python3.{m}") for m in range(9, 20)) if p]
    for path in candidates:
        match = re.search(r"3\.(\d+)", path)
        if match:
            found.setdefault((3, int(match.group(1))), path)
    if version is not None:
        return found.get((3, int(version.split(".")[1])))
    return found[max(found)] if found else None


OLDEST = "3.9"  # requires-python >= 3.9


def _copy_project(dest: Path) -> Path:
    """What the quick start needs of the project: its metadata, package and the script."""
    for name in ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in"):
        shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(
        ROOT / "nuitka_archguard",
        dest / "nuitka_archguard",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (dest / SCRIPT).parent.mkdir(parents=True)
    shutil.copy2(ROOT / SCRIPT, dest / SCRIPT)
    return dest


def _clean_env() -> dict[str, str]:
    """The environment of a user who has not activated anything."""
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    env.pop("NUITKA_ARCHGUARD_BOOTSTRAPPED", None)
    return env


@pytest.mark.realwheels
@pytest.mark.parametrize("version", [OLDEST, None], ids=["oldest", "newest"])
def test_quick_start_runs_on_the_oldest_and_newest_python(
    version: Optional[str], tmp_path: Path
) -> None:
    python = _python(version)
    if python is None:
        pytest.skip(f"no Python {version or '3.x'} on this machine")
    project = _copy_project(tmp_path)
    # A .venv whose python runs but holds nothing (an interrupted first run): the script
    # once re-ran itself there forever; now it installs what is missing, then re-runs once.
    venv.EnvBuilder(with_pip=False).create(project / ".venv")
    result = subprocess.run(
        [python, str(SCRIPT)], cwd=project, env=_clean_env(),
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Setting up .venv with nuitka-archguard and its test tools..." in output
    assert "(exit code 1)" in output and "(exit code 0)" in output
    assert "Traceback" not in output and "BuildBackendWarning" not in output, output
    venv_python = project / ".venv" / "bin" / "python"
    installed = subprocess.run(
        [str(venv_python), "-c", "import pytest, nuitka_archguard, importlib.util as u;"
         "print(u.find_spec('atheris') is None)"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert installed.stdout.strip() == "True", installed  # the fuzzing tools stay out
    # A second run finds everything in place: no set-up, same result.
    again = subprocess.run(
        [python, str(SCRIPT)], cwd=project, env=_clean_env(),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert again.returncode == 0 and "Setting up" not in again.stdout, again


def test_the_script_never_re_runs_itself_twice(tmp_path: Path) -> None:
    """Re-run once already (the marker set) and still without the project: one line, exit 2."""
    project = _copy_project(tmp_path)
    env = {**_clean_env(), "NUITKA_ARCHGUARD_BOOTSTRAPPED": "1"}
    python = getattr(sys, "_base_executable", sys.executable)  # outside this test's venv
    bare = subprocess.run([python, "-I", "-c", "import nuitka_archguard"], capture_output=True)
    if bare.returncode == 0:
        pytest.skip(f"{python} has nuitka_archguard installed")
    result = subprocess.run(
        [python, "-I", str(SCRIPT)], cwd=project, env=env,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result
    assert result.stderr.count("\n") == 1 and "is not importable" in result.stderr, result.stderr


@pytest.mark.realwheels
def test_a_failed_install_is_one_line_with_the_command_to_retry(tmp_path: Path) -> None:
    python = _python(OLDEST) or sys.executable
    project = _copy_project(tmp_path)
    env = {**_clean_env(), "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(tmp_path / "nothing")}
    result = subprocess.run(
        [python, "-I", str(SCRIPT)], cwd=project, env=env,
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 2, result
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("run.py: error: installing into .venv failed (exit 1); retry with: ")
    assert "-m pip install --quiet -e" in last and "[test]" in last, last
    assert "Traceback" not in result.stderr
