"""The harness's ``otool`` and ``file`` stand-ins (tests/macos_emulated/tools.py) say what the
real tools say, for what Nuitka reads of them: ``otool`` is compared with LLVM's
``llvm-otool`` on synthesized Mach-O files, ``file`` with the host's ``file``. Fast (no
Nuitka), so they run with the hermetic tests; without ``llvm-otool`` the comparison skips.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.macos_emulated import TOOLS
from tests.macos_emulated.tools import NOT_EMULATED_EXIT
from tests.realwheels import llvm_tool
from tests.synth import macho

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the stand-ins serve the Linux harness"
)


def _stand_in(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOLS), *args], capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("machos")
    files = {
        "thin-bundle": macho.thin(
            "arm64",
            "bundle",
            build_version=("macos", "11.0", "14.0"),
            dylibs=["@rpath/libffi.8.dylib", "/usr/lib/libSystem.B.dylib"],
            rpaths=["@loader_path/.dylibs", "@loader_path/../lib"],
        ),
        "fat-dylib": macho.fat(
            [
                macho.thin(
                    "x86_64",
                    "dylib",
                    build_version=None,
                    version_min=("macos", "10.9", "10.15"),
                    id_dylib="@rpath/libvendored.1.dylib",
                    dylibs=["/usr/lib/libc++.1.dylib"],
                    weak_dylibs=["/usr/lib/libz.1.dylib"],
                ),
                macho.thin(
                    "arm64",
                    "dylib",
                    build_version=("macos", "11.0.1", "14.2"),
                    id_dylib="@rpath/libvendored.1.dylib",
                    dylibs=["/usr/lib/libc++.1.dylib"],
                    rpaths=["@loader_path"],
                ),
            ]
        ),
    }
    paths = {}
    for name, data in files.items():
        path = root / name
        path.write_bytes(data)
        paths[name] = path
    return paths


def _nuitka_view(option: str, text: str) -> list[str]:
    """The lines Nuitka reads: all of ``-L``/``-D``; of ``-l``, rpaths and minimum OS."""
    lines = text.splitlines()
    if option != "-l":
        return lines
    wanted = lines[:1]
    for index, line in enumerate(lines):
        if line.strip().startswith(("path ", "minos ")):
            wanted.append(line.strip())
        if line.endswith("cmd LC_VERSION_MIN_MACOSX"):
            wanted.append(lines[index + 2].strip())
    return wanted


@pytest.mark.parametrize("option", ["-L", "-D", "-l"])
@pytest.mark.parametrize("arch", ["x86_64", "arm64"])
@pytest.mark.parametrize("sample", ["thin-bundle", "fat-dylib"])
def test_otool_stand_in_agrees_with_llvm_otool(
    samples: dict[str, Path], sample: str, arch: str, option: str, tmp_path: Path
) -> None:
    llvm_otool = llvm_tool("llvm-otool")
    if llvm_otool is None:
        pytest.skip("llvm-otool is not installed")
    path = samples[sample]
    ours = _stand_in("otool", "-arch", arch, option, str(path))
    # llvm-otool-14 ignores -arch for fat files (it prints the first slice): give it the
    # slice alone, split off by llvm-lipo, and compare all but the first line (the path).
    single = path
    if sample.startswith("fat"):
        llvm_lipo = llvm_tool("llvm-lipo")
        if llvm_lipo is None:
            pytest.skip("llvm-lipo is not installed")
        single = tmp_path / f"{sample}-{arch}"
        subprocess.run([llvm_lipo, str(path), "-thin", arch, "-output", str(single)], check=True)
    theirs = subprocess.run(
        [llvm_otool, "-arch", arch, option, str(single)], capture_output=True, text=True
    )
    assert ours.returncode == theirs.returncode == 0, (ours.stderr, theirs.stderr)
    assert ours.stdout.splitlines()[0] == f"{path}:"
    assert _nuitka_view(option, ours.stdout)[1:] == _nuitka_view(option, theirs.stdout)[1:], (
        ours.stdout,
        theirs.stdout,
    )


def test_otool_stand_in_picks_the_requested_slice(samples: dict[str, Path]) -> None:
    path = str(samples["fat-dylib"])
    x86 = _stand_in("otool", "-arch", "x86_64", "-l", path).stdout
    arm = _stand_in("otool", "-arch", "arm64", "-l", path).stdout
    assert "LC_VERSION_MIN_MACOSX" in x86 and "version 10.9" in x86 and "minos" not in x86
    assert "minos 11.0.1" in arm and "path @loader_path (offset 12)" in arm


def test_file_stand_in_passes_mach_o_through_and_calls_host_elf_universal(
    samples: dict[str, Path],
) -> None:
    real_file = shutil.which("file")
    if real_file is None:
        pytest.skip("the host has no 'file'")
    for path in samples.values():
        ours = _stand_in("file", str(path))
        theirs = subprocess.run([real_file, str(path)], capture_output=True, text=True)
        assert ours.stdout == theirs.stdout
    thin = _stand_in("file", str(samples["thin-bundle"])).stdout
    assert "universal" not in thin and "arm64" in thin
    host = _stand_in("file", sys.executable).stdout
    assert host.startswith(f"{sys.executable}: Mach-O universal binary with 2 architectures")
    assert re.search(r"\[x86_64:.*\] \[arm64:.*\]", host)


@pytest.mark.parametrize("tool", ["lipo", "install_name_tool", "codesign", "xcrun"])
def test_tools_past_scons_fail_loudly(tool: str) -> None:
    result = _stand_in(tool, "-create", "a", "b")
    assert result.returncode == NOT_EMULATED_EXIT
    assert f"'{tool}' is not emulated" in result.stderr and "Scons" in result.stderr
