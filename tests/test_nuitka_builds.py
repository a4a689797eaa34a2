"""Real Nuitka builds on Linux x86_64 with foreign (aarch64) wheels on PYTHONPATH.

Each case is one ``test_caseN_...`` function, so ``-k case1`` selects case 1.
``ARCHGUARD_NUITKA_CASES`` (comma-separated: ``1,2,2b,3,4``; unset: all; ``none``: none)
selects cases as well, for CI legs that have time for only some. Builds are slow (30-120 s
each on 2 cores), so the cases share as few builds as possible: one build without the plugin
proves cases 1 and 2 are real, three builds stop early, two run to the end.

Works with Nuitka 4.x (``--mode=standalone``) and 2.x (``--standalone``).
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.nuitkabuild import (
    ARM,
    BCRYPT,
    BCRYPT_PROGRAM,
    CFFI,
    CRYPTOGRAPHY,
    NUITKA_MAJOR,
    X86_28,
    assert_no_host_cffi,
    assert_stopped_early,
    case,
    needs_linux_x86_64_and_nuitka,
    run_build,
    wheel_tree,
)

_ = needs_linux_x86_64_and_nuitka  # the autouse fixture, imported to apply here too

pytestmark = [pytest.mark.nuitka, pytest.mark.realwheels]


X86 = "manylinux2014_x86_64"


# -- case 1: an aarch64 abi3 extension in an x86_64 build ---------------------------------------


@case("1")
def test_case1_foreign_extension_stops_before_c_compilation(tmp_path: Path) -> None:
    tree = wheel_tree([BCRYPT], ARM)
    earlier = tmp_path / "case1" / "out" / "earlier.build"  # not this build's: kept
    earlier.mkdir(parents=True)
    build = run_build(tmp_path / "case1", BCRYPT_PROGRAM, [tree])
    assert_stopped_early(build)
    assert sorted(p.name for p in build.output_dir.iterdir()) == ["earlier.build"]
    out = build.output
    assert "bcrypt 4.2.0" in out
    assert "manylinux2014_aarch64" in out or "manylinux_2_17_aarch64" in out
    assert "_bcrypt.abi3.so" in out
    assert "aarch64" in out and "x86_64" in out
    assert "fix:" in out and "bcrypt==4.2.0" in out
    print(f"[case1: stopped after {build.seconds:.1f} s]")


@case("1", "2")
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
    build = run_build(
        tmp_path / "noplugin",
        program,
        [wheel_tree([BCRYPT], ARM), wheel_tree([CFFI], ARM)],
        plugin=False,
    )
    assert build.returncode == 0, build.output
    assert "archguard" not in build.output
    result = build.run()
    text = result.stdout + result.stderr
    assert "cannot open shared object file" in text, text
    assert "_cffi_backend: ModuleNotFoundError" in text, text


# -- case 2: only an aarch64 _cffi_backend exists: Nuitka drops it silently ------------------------


@case("2")
def test_case2_cffi_backend_only_for_aarch64_is_foreign_extension_only(tmp_path: Path) -> None:
    assert_no_host_cffi()
    program = 'import _cffi_backend\nprint("cffi backend", _cffi_backend.__version__)\n'
    build = run_build(tmp_path / "case2", program, [wheel_tree([CFFI], ARM)])
    assert_stopped_early(build)
    assert not build.output_dir.exists()  # Nuitka made it for this build: removed
    out = build.output
    assert "foreign-extension-only" in out
    assert "cffi 1.17.1" in out
    assert "_cffi_backend" in out and "aarch64" in out


# -- case 2b: the seed, on Linux ------------------------------------------------------------------


@case("2b")
def test_case2b_seed_cryptography_needs_foreign_cffi_backend(tmp_path: Path) -> None:
    assert_no_host_cffi()
    tree = wheel_tree([CRYPTOGRAPHY], X86_28)
    cffi = wheel_tree([CFFI], ARM)
    program = (
        "from cryptography.hazmat.bindings._rust import openssl\n"
        "from cryptography.fernet import Fernet\n"
        "print('fernet', len(Fernet.generate_key()))\n"
    )
    # Through the command, with the plugin named rather than given as a path.
    build = run_build(tmp_path / "case2b", program, [tree, cffi], via_cli=True)
    assert_stopped_early(build)
    out = build.output
    assert "foreign-extension-only" in out
    assert "cffi 1.17.1" in out
    assert "_cffi_backend" in out and "aarch64" in out
    # The preflight names the requiring distribution (the full check, run with
    # --archguard-preflight=no in tests/test_preflight_builds.py, the module as well).
    assert "needed by cryptography" in out


# -- case 3: a consistent environment ------------------------------------------------------------


@case("3")
def test_case3_consistent_environment_builds_runs_and_prints_summary(tmp_path: Path) -> None:
    build = run_build(tmp_path / "case3", BCRYPT_PROGRAM, [wheel_tree([BCRYPT], X86)])
    assert build.returncode == 0, build.output
    assert "archguard: " in build.output and "all consistent" in build.output, build.output
    assert "linux-x86_64" in build.output
    result = build.run()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hashed b'$2b$'" in result.stdout
    print(f"[case3: full build took {build.seconds:.1f} s]")


# -- case 4: warning mode --------------------------------------------------------------------------


@case("4")
def test_case4_warning_mode_builds_anyway_and_writes_json(tmp_path: Path) -> None:
    report = tmp_path / "archguard.json"
    nuitka_report = tmp_path / "nuitka-report.xml"
    build = run_build(
        tmp_path / "case4",
        BCRYPT_PROGRAM,
        [wheel_tree([BCRYPT], ARM)],
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
