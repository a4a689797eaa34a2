"""Issue 17 §2 on the real case: Cython 3.3.1 publishes its macOS arm64 wheel only as
``cp311-cp311`` (``*.cpython-311-darwin.so``) and its x86_64 wheel only as ``cp39-abi3``
(``*.abi3.so``). Fixing the arm64 install for universal2 fuses each module into the name
CPython loads first, and a scan of the result is clean, in place and with --output."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from nuitka_archguard.cli.main import main
from tests.fixwheels import install

pytestmark = pytest.mark.realwheels
U2 = "macos-universal2"


def _arm64_wheel(folder: Path) -> Path:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
         "--platform", "macosx_11_0_arm64", "--python-version", "3.11", "--implementation",
         "cp", "--abi", "cp311", "--dest", str(folder), "cython==3.3.1"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        pytest.skip(f"cython 3.3.1 not downloadable here: {result.stderr[-300:]}")
    (wheel,) = folder.glob("cython-3.3.1-cp311-cp311-macosx_11_0_arm64.whl")
    return wheel


def _files(folder: Path, pattern: str) -> list[Path]:
    """Files of the environment (not the fix's backup in .archguard)."""
    return sorted(
        p for p in folder.rglob(pattern) if ".archguard" not in p.relative_to(folder).parts
    )


def test_cython_fuses_by_module_in_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "folder"
    install(_arm64_wheel(tmp_path / "w"), folder)
    modules = _files(folder, "*.cpython-311-darwin.so")
    assert len(modules) > 10
    code = main(["fix", str(folder), "--target", U2])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "verdict: ok" in out
    assert not _files(folder, "*.abi3.so")
    assert _files(folder, "*.cpython-311-darwin.so") == modules
    for path in modules:
        assert path.read_bytes()[:4] == bytes.fromhex("cafebabe"), path
    assert main(["scan", str(folder), "--target", U2]) == 0


def test_cython_output_wheel_scans_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wheel = _arm64_wheel(tmp_path / "w")
    out = tmp_path / "out"
    code = main(["fix", str(wheel), "--output", str(out), "--target", U2])
    text = capsys.readouterr().out
    assert code == 0, text
    (made,) = out.iterdir()
    assert made.name.endswith("-cp311-cp311-macosx_10_9_universal2.whl"), made.name
    names = zipfile.ZipFile(made).namelist()
    assert not [n for n in names if n.endswith(".abi3.so")]
    assert main(["scan", str(made), "--target", U2]) == 0
