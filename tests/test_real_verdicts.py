"""Verdicts on real wheels that once got a false "ok" or a false error (issue 11), checked
against pefile and LIEF where they are installed (test-only oracles, never dependencies).

Pinned in tests/realwheels.py (``VERDICT_PINS`` and ``PINS``), downloaded once into the cache.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest

from nuitka_archguard.binaries import BytesSource, read_binary
from nuitka_archguard.check.scan import scan
from nuitka_archguard.cli.main import main
from tests import realwheels

pytestmark = pytest.mark.realwheels


def pinned(project: str, version: str, platform: str) -> Path:
    try:
        return realwheels.wheel(project, version, platform)
    except realwheels.NetworkUnavailable as error:
        pytest.skip(f"real wheel not cached and PyPI unreachable: {error}")


def cli_json(*argv: str) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([*argv, "--format", "json"])
    return code, json.loads(out.getvalue())


def test_windows_numpy_for_linux_is_one_platform_mismatch() -> None:
    whl = pinned("numpy", "1.26.4", "win_amd64")
    code, data = cli_json("scan", str(whl), "--target", "linux-x86_64")
    assert code == data["exit_code"] == 1
    (finding,) = data["findings"]
    assert finding["code"] == "platform-mismatch" and finding["severity"] == "error"
    assert finding["distribution"]["name"] == "numpy"
    assert "is built for Windows" in finding["message"]
    assert data["summary"]["binaries"] == 0
    with zipfile.ZipFile(whl) as archive:
        pe_members = [n for n in archive.namelist() if n.lower().endswith((".pyd", ".dll"))]
    assert data["summary"]["skipped_other_os"] == len(pe_members) > 10


def test_a_wheelhouse_with_an_arm64_numpy_fails_for_macos_x86_64(tmp_path: Path) -> None:
    whl = pinned("numpy", "1.26.4", "arm64")
    house = tmp_path / "wheelhouse"
    house.mkdir()
    shutil.copy(whl, house / whl.name)
    code, folder = cli_json("scan", str(house), "--target", "macos-x86_64")
    _, direct = cli_json("scan", str(whl), "--target", "macos-x86_64")
    assert code == folder["exit_code"] == 1
    assert folder["summary"]["errors"] == direct["summary"]["errors"] > 10
    assert {f["code"] for f in folder["findings"] if f["severity"] == "error"} == {"arch-missing"}
    # the text groups them: one fix block for numpy, not one per file
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["scan", str(house), "--target", "macos-x86_64"])
    text = out.getvalue()
    assert text.count("fix:") == 1 and "more" in text
    fix = next(f["fix"] for f in folder["findings"] if f["code"] == "arch-missing")
    downloads = [line for line in fix.splitlines() if " pip download " in line]
    assert "--platform macosx_11_0_x86_64 --python-version 3.11" in downloads[0]


def test_pythonnet_runtime_is_an_anycpu_assembly_that_runs_anywhere() -> None:
    whl = pinned("pythonnet", "3.0.5", "win_amd64")
    with zipfile.ZipFile(whl) as archive:
        name = next(n for n in archive.namelist() if n.endswith("Python.Runtime.dll"))
        data = archive.read(name)
    info = read_binary(BytesSource(data), name)
    (item,) = info.slices
    assert (item.arch, item.clr) == ("x86", "AnyCPU") and info.any_cpu
    for target in ("windows-amd64", "windows-arm64", "windows-x86"):
        assert scan([whl], target).findings == [], target
    pefile = pytest.importorskip("pefile")
    image = pefile.PE(data=data, fast_load=True)
    index = pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_COM_DESCRIPTOR"]
    clr = image.OPTIONAL_HEADER.DATA_DIRECTORY[index]
    assert clr.VirtualAddress and clr.Size >= 72
    flags = image.get_dword_at_rva(clr.VirtualAddress + 16)  # IMAGE_COR20_HEADER.Flags
    assert flags & 0x1 and not flags & 0x2  # ILONLY, not 32BITREQUIRED
    assert image.FILE_HEADER.Machine == 0x14C


def test_pyobjc_core_dsym_files_are_not_binaries() -> None:
    whl = pinned("pyobjc-core", "13.0", "macosx_11_0_arm64")
    root = realwheels.extracted(whl)
    machos = realwheels.binaries([root])["mach-o"]
    dsyms = [p for p in machos if ".dSYM/" in p.as_posix()]
    assert len(dsyms) > 2 and len(machos) > len(dsyms)
    for path in dsyms[:20]:
        assert read_binary(BytesSource(path.read_bytes()), str(path)).debug_only, path
    report = scan([whl], "macos-x86_64")
    assert report.findings == []
    assert report.binaries == len(machos) - len(dsyms)
    lief = pytest.importorskip("lief")
    parsed = lief.MachO.parse(str(dsyms[0]))
    assert parsed is not None
    assert all(b.header.file_type == lief.MachO.Header.FILE_TYPE.DSYM for b in parsed)
