"""The preflight's promise on real Nuitka builds (Linux x86_64, foreign wheels on
PYTHONPATH): it stops within seconds, before Nuitka's Python-level compilation, and every
error it reports is an error of the full check of the same build (run with
``--archguard-preflight=no``), compared through both builds' JSON reports. A consistent
environment builds with the preflight on (tests/test_nuitka_builds.py case 3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.nuitkabuild import (
    ARM,
    BCRYPT,
    BCRYPT_PROGRAM,
    CFFI,
    CRYPTOGRAPHY,
    X86_28,
    Build,
    assert_no_host_cffi,
    assert_stopped_early,
    case,
    run_build,
    wheel_tree,
)
from tests.nuitkabuild import (
    needs_linux_x86_64_and_nuitka as needs_linux_x86_64_and_nuitka,  # autouse fixture
)

pytestmark = [pytest.mark.nuitka, pytest.mark.realwheels]

PREFLIGHT_STOP = "FATAL: archguard: stopped before the C compilation, in the preflight"
PYTHON_COMPILED = "Completed Python level compilation"


def _errors(report: Path) -> set[tuple[str, str, str]]:
    data = json.loads(report.read_text())
    return {
        ((f["distribution"] or {}).get("name", ""), f["path"], f["severity"])
        for f in data["findings"]
        if f["severity"] == "error" and not f["allowed"]
    }


def _pair(tmp_path: Path, name: str, program: str, paths: list[Path]) -> tuple[Build, Build]:
    """The same build with the preflight (default) and without it, each with its report."""
    builds = []
    for preflight in ("yes", "no"):
        report = tmp_path / f"{name}-{preflight}.json"
        extra = [f"--archguard-report={report}", f"--archguard-preflight={preflight}"]
        builds.append(run_build(tmp_path / f"{name}-{preflight}", program, paths, extra=extra))
    return builds[0], builds[1]


def _assert_promise(tmp_path: Path, name: str, early: Build, full: Build) -> None:
    assert_stopped_early(early)
    assert_stopped_early(full)
    assert PREFLIGHT_STOP in early.output, early.output
    assert PYTHON_COMPILED not in early.output, early.output
    assert PREFLIGHT_STOP not in full.output, full.output
    ours = _errors(tmp_path / f"{name}-yes.json")
    theirs = _errors(tmp_path / f"{name}-no.json")
    assert ours and ours <= theirs, (ours, theirs)
    print(f"[{name}: preflight stop {early.seconds:.1f} s, full check stop {full.seconds:.1f} s]")


@case("1")
def test_bcrypt_aarch64_stops_in_the_preflight_and_the_full_check_agrees(tmp_path: Path) -> None:
    early, full = _pair(tmp_path, "bcrypt", BCRYPT_PROGRAM, [wheel_tree([BCRYPT], ARM)])
    _assert_promise(tmp_path, "bcrypt", early, full)
    assert "bcrypt 4.2.0" in early.output and "_bcrypt.abi3.so" in early.output
    assert "arch-missing" in early.output
    assert early.seconds < full.seconds / 2, (early.seconds, full.seconds)


@case("2b")
def test_seed_on_linux_stops_in_the_preflight_naming_cffi_and_cryptography(
    tmp_path: Path,
) -> None:
    assert_no_host_cffi()
    program = (
        "from cryptography.hazmat.bindings._rust import openssl\n"
        "from cryptography.fernet import Fernet\n"
        "print('fernet', len(Fernet.generate_key()))\n"
    )
    paths = [wheel_tree([CRYPTOGRAPHY], X86_28), wheel_tree([CFFI], ARM)]
    early, full = _pair(tmp_path, "seed", program, paths)
    _assert_promise(tmp_path, "seed", early, full)
    assert "foreign-extension-only" in early.output and "cffi 1.17.1" in early.output
    assert "needed by cryptography" in early.output
