"""Hostile configuration: pyproject.toml, allow rules, version strings."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest

from nuitka_archguard.check.config import ConfigError, load_config
from nuitka_archguard.check.metadata import (
    FILE_LIMIT,
)
from nuitka_archguard.check.scan import MAX_ALLOW_RULES, ScanError, scan
from tests.hostile.binaries import ELF_SO
from tests.hostile.common import run_cli, run_with_timeout
from tests.hostile.files import _huge

_TOO_DEEP = r"invalid TOML: nested too deeply|invalid TOML: .*"
PYPROJECT_CASES: dict[str, tuple[Callable[[Path], object], str]] = {
    "fifo": (os.mkfifo, r"not a regular file \(FIFO, socket or device\), not read"),
    "directory": (lambda p: p.mkdir(), r"a directory, not read"),
    "too-big": (lambda p: _huge(p, FILE_LIMIT + 1), rf"larger than {FILE_LIMIT:,} bytes"),
    "deep-arrays": (lambda p: p.write_text("a = " + "[" * 50_000 + "]" * 50_000), _TOO_DEEP),
    "deep-tables": (
        lambda p: p.write_text("a = " + "{b = " * 50_000 + "1" + "}" * 50_000),
        _TOO_DEEP,
    ),
    "arabic-digits": (
        lambda p: p.write_text('[tool.archguard]\nmin-os = "\u0661\u0660.\u0661\u0663"\n'),
        "",
    ),
}


@pytest.mark.parametrize("case", sorted(PYPROJECT_CASES))
def test_pyproject_case_is_one_line_exit_2(case: str, tmp_path: Path) -> None:
    make, message = PYPROJECT_CASES[case]
    make(tmp_path / "pyproject.toml")
    if message:
        with pytest.raises(ConfigError, match=message):
            run_with_timeout(lambda: load_config(tmp_path), 10)
    result = subprocess.run(
        [sys.executable, "-m", "nuitka_archguard", "scan", str(tmp_path), "--target=macos-arm64"],
        cwd=tmp_path, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("nuitka-archguard: error: ")
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr


# -- allow rules ---------------------------------------------------------------------------------


def test_too_many_allow_rules_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ScanError, match=rf"too many allow rules: at most {MAX_ALLOW_RULES:,}"):
        scan([str(tmp_path)], "linux-x86_64", allow=[f"p{i}" for i in range(MAX_ALLOW_RULES + 1)])
    result = run_cli("scan", str(tmp_path), *[f"--allow=p{i}" for i in range(MAX_ALLOW_RULES + 1)])
    assert result.returncode == 2 and "too many allow rules" in result.stderr


def test_allow_rules_are_matched_in_one_pass(tmp_path: Path) -> None:
    folder = tmp_path / "app.dist"
    folder.mkdir()
    for i in range(300):
        (folder / f"m{i}.so").write_bytes(ELF_SO.data)
    rules = [f"*/nomatch{i}/*.so" for i in range(MAX_ALLOW_RULES - 1)] + ["m1*.so:ok"]
    started = time.perf_counter()
    report = scan([str(folder)], "linux-aarch64", allow=rules)
    assert time.perf_counter() - started < 5
    allowed = {f.path.rsplit("/", 1)[-1] for f in report.findings if f.allowed}
    assert allowed == {f"m{i}.so" for i in range(300) if str(i).startswith("1")}
    assert all(f.allow_reason == "ok" for f in report.findings if f.allowed)


# -- versions: ASCII digits only, bounded ------------------------------------------------------


VERSION_ARGS = {
    "arabic-min-os": ["--target", "macos-arm64", "--min-os", "\u0661\u0660.\u0661\u0663"],
    "fullwidth-min-os": ["--target", "macos-arm64", "--min-os", "\uff11\uff10.\uff11\uff13"],
    "long-min-os": ["--target", "macos-arm64", "--min-os", "1" * 5000],
    "many-parts": ["--target", "macos-arm64", "--min-os", "10." * 1000 + "1"],
    "arabic-tag": ["--target", "macosx_\u0661\u0660_\u0661\u0663_x86_64"],
    "long-tag": ["--target", "macosx_" + "1" * 5000 + "_0_x86_64"],
    "long-manylinux": ["--target", "manylinux_" + "2" * 5000 + "_17_x86_64"],
}


@pytest.mark.parametrize("case", sorted(VERSION_ARGS))
def test_version_strings_are_ascii_digits_with_limits(case: str, tmp_path: Path) -> None:
    result = run_cli("scan", str(tmp_path), *VERSION_ARGS[case])
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("nuitka-archguard: error: ") and result.stderr.count("\n") == 1
    assert "internal error" not in result.stderr and len(result.stderr) < 1000
