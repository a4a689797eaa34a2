"""Verdicts on the kinds of real files that once got a false "ok" or a false error: folders
of wheels, whole distributions for another OS, Android and iOS, ARM float ABIs, .NET
assemblies and dSYM debug files. Every binary is synthesized and read by the real readers."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from nuitka_archguard.binaries import BinaryInfo, BytesSource, read_binary
from nuitka_archguard.check.policy import Code, Severity, check_binary
from nuitka_archguard.check.report import render_text, summary_line
from nuitka_archguard.check.scan import scan
from nuitka_archguard.cli.main import main
from nuitka_archguard.target import parse_target
from tests.envbuild import ARM, install, wheel
from tests.synth import elf, macho, pe

ILONLY = pe.COMIMAGE_FLAGS_ILONLY
BIT32 = pe.COMIMAGE_FLAGS_32BITREQUIRED


def read(data: bytes, name: str) -> BinaryInfo:
    return read_binary(BytesSource(data), f"/site/{name}")


# -- a folder of wheels ----------------------------------------------------------------------


def test_wheels_in_a_scanned_folder_are_read_like_wheels_named_directly(tmp_path: Path) -> None:
    house = tmp_path / "wheelhouse"
    house.mkdir()
    whl = wheel(house, "numpy", "2.1.0", "cp311-cp311-macosx_11_0_arm64",
                {"numpy/_core/_multiarray_umath.cpython-311-darwin.so": ARM,
                 "numpy/linalg/_umath_linalg.cpython-311-darwin.so": ARM})  # fmt: skip
    direct = scan([whl], "macos-x86_64")
    folder = scan([house], "macos-x86_64")
    assert folder.exit_code == direct.exit_code == 1
    assert [(f.code, f.path) for f in folder.errors] == [(f.code, f.path) for f in direct.errors]
    assert len(folder.errors) == 2 and folder.binaries == 2
    dist = folder.errors[0].distribution
    assert dist is not None and dist.wheel_tags == ("cp311-cp311-macosx_11_0_arm64",)
    assert "ok" not in render_text(folder).splitlines()[-2]


def test_a_corrupt_wheel_in_a_folder_is_a_note_and_the_rest_is_checked(tmp_path: Path) -> None:
    (tmp_path / "bad-1.0-py3-none-any.whl").write_bytes(b"not a zip")
    wheel(tmp_path, "cffi", "1.17.1", "cp311-cp311-macosx_11_0_arm64",
          {"_cffi_backend.cpython-311-darwin.so": ARM})  # fmt: skip
    report = scan([tmp_path], "macos-x86_64")
    assert [f.code for f in report.errors] == [Code.ARCH_MISSING]
    assert any("bad-1.0-py3-none-any.whl" in note for note in report.notes)


# -- whole distributions for another OS -----------------------------------------------------


def test_a_windows_wheel_for_linux_is_one_platform_mismatch(tmp_path: Path) -> None:
    # The extension modules link the DLL, as numpy's do: a library nothing links is not loaded.
    members = {
        f"numpy/_core/_m{i}.cp311-win_amd64.pyd": pe.pe("amd64", imports=["libopenblas.dll"])
        for i in range(5)
    }
    members["numpy.libs/libopenblas.dll"] = pe.pe("amd64")
    whl = wheel(tmp_path, "numpy", "2.1.0", "cp311-cp311-win_amd64", members)
    report = scan([whl], "linux-x86_64")
    assert report.exit_code == 1
    (error,) = report.errors
    assert error.code is Code.PLATFORM_MISMATCH and error.severity is Severity.ERROR
    assert error.distribution is not None and error.distribution.name == "numpy"
    assert "numpy 2.1.0 (wheel win_amd64) is built for Windows" in error.message
    assert "its 6 binaries cannot load on linux-x86_64 (glibc)" in error.message
    assert report.binaries == 0 and report.skipped_other_os == 6
    assert "6 binaries for other OSes skipped" in summary_line(report)


def test_a_macos_wheel_for_linux_is_one_finding_not_one_per_file(tmp_path: Path) -> None:
    linked = macho.thin("arm64", dylibs=["@loader_path/.dylibs/libz.1.dylib"])
    members = {f"pkg/_m{i}.cpython-311-darwin.so": linked for i in range(3)}
    members["pkg/.dylibs/libz.1.dylib"] = macho.thin("arm64", "dylib")
    whl = wheel(tmp_path, "pkg", "1.0", "cp311-cp311-macosx_11_0_arm64", members)
    report = scan([whl], "linux-x86_64")
    (error,) = report.errors
    assert error.code is Code.PLATFORM_MISMATCH and "built for macOS" in error.message
    assert "its 4 binaries" in error.message
    assert report.skipped_other_os == 1  # the .dylib; the .so files were checked


def test_launcher_templates_beside_linux_code_stay_skipped(tmp_path: Path) -> None:
    """pip's and setuptools' Windows launcher templates (.exe) sit in every virtualenv: they
    are skipped by name and counted, never a finding."""
    install(tmp_path, "pip", "24.2", {f"pip/_vendor/distlib/{n}.exe": pe.pe("amd64", dll=False)
                                      for n in ("t32", "t64", "w64", "t64-arm")},
            tag="py3-none-any")  # fmt: skip
    install(tmp_path, "cffi", "1.17.1",
            {"_cffi_backend.cpython-311-x86_64-linux-gnu.so": elf.elf("x86_64",
                                                                      needed=["libc.so.6"])},
            tag="cp311-cp311-manylinux_2_17_x86_64")  # fmt: skip
    report = scan([tmp_path], "linux-x86_64")
    assert report.findings == [] and report.exit_code == 0
    assert report.binaries == 1 and report.skipped_other_os == 4
    assert render_text(report).splitlines()[0] == "ok: every binary fits linux-x86_64 (glibc)"


def test_a_pure_wheel_with_only_foreign_helpers_skips_them(tmp_path: Path) -> None:
    """A DLL nothing links, for another OS: never loaded here; skipped and counted."""
    install(tmp_path, "sounddevice", "0.5.1",
            {"_sounddevice_data/portaudio-binaries/libportaudio64bit.dll": pe.pe("amd64")},
            tag="py3-none-any")  # fmt: skip
    report = scan([tmp_path], "linux-x86_64")
    assert report.findings == [] and report.exit_code == 0
    assert report.skipped_other_os == 1 and report.binaries == 0


def test_a_pure_wheel_with_foreign_extension_modules_is_a_warning(tmp_path: Path) -> None:
    install(tmp_path, "pkg", "1.0", {"pkg/_speedup.cp311-win_amd64.pyd": pe.pe("amd64")},
            tag="py3-none-any")  # fmt: skip
    report = scan([tmp_path], "linux-x86_64")
    (warning,) = report.warnings
    assert warning.code is Code.PLATFORM_MISMATCH and "pure-Python wheel" in warning.message
    assert report.exit_code == 0


# -- Android and iOS -------------------------------------------------------------------------


def android_so() -> bytes:
    return elf.elf("aarch64", android_api=24, needed=["libc.so", "libdl.so", "libpython3.14.so"])


def test_android_elf_reads_as_android() -> None:
    (item,) = read(android_so(), "x.so").slices
    assert (item.platform, item.min_os, item.libc) == ("android", "24", None)


def test_android_binaries_are_a_platform_mismatch_for_linux(tmp_path: Path) -> None:
    whl = wheel(tmp_path, "numpy", "2.3.0", "cp314-cp314-android_24_arm64_v8a",
                {"numpy/_core/_m.cpython-314-aarch64-linux-android.so": android_so()})  # fmt: skip
    report = scan([whl], "linux-aarch64")
    (error,) = report.errors
    assert error.code is Code.PLATFORM_MISMATCH and "built for Android" in error.message
    assert scan([whl], "android_24_arm64_v8a").findings == []
    assert scan([whl], "android-x86_64").errors[0].code is Code.ARCH_MISSING


def test_a_linux_elf_in_an_android_target_is_a_platform_mismatch() -> None:
    info = read(elf.elf("aarch64", needed=["libc.so.6"]), "m.so")
    findings = check_binary(info, parse_target("android_24_arm64_v8a"))
    assert [f.code for f in findings] == [Code.PLATFORM_MISMATCH]


@pytest.mark.parametrize(
    ("tag", "platform", "name"),
    [
        ("android_24_arm64_v8a", "android", "android-arm64_v8a"),
        ("android_24_x86_64", "android", "android-x86_64"),
        ("ios_13_0_arm64_iphoneos", "ios", "ios-arm64"),
        ("ios_13_0_arm64_iphonesimulator", "ios-simulator", "ios-simulator-arm64"),
        ("ios_13_0_x86_64_iphonesimulator", "ios-simulator", "ios-simulator-x86_64"),
    ],
)
def test_android_and_ios_tags_are_targets(tag: str, platform: str, name: str) -> None:
    target = parse_target(tag)
    assert (target.platform, target.name) == (platform, name)
    assert parse_target(name).archs == target.archs
    assert target.pip_platforms() == (tag,)


def test_ios_device_and_simulator_are_told_apart_by_the_macho_platform() -> None:
    device = read(macho.thin("arm64", build_version=("ios", "13.0", "17.0")), "m.so")
    simulator = read(macho.thin("arm64", build_version=("ios-simulator", "13.0", "17.0")), "m.so")
    ios, sim = parse_target("ios_13_0_arm64_iphoneos"), parse_target("ios-simulator-arm64")
    assert check_binary(device, ios) == [] and check_binary(simulator, sim) == []
    (wrong,) = check_binary(simulator, ios)
    assert wrong.code is Code.PLATFORM_MISMATCH and "ios-simulator" in wrong.message
    (mac,) = check_binary(device, parse_target("macos-arm64"))
    assert mac.code is Code.PLATFORM_MISMATCH


# -- ARM float ABI ---------------------------------------------------------------------------


def test_soft_float_arm_is_armel_and_an_error_for_armv7l() -> None:
    armel = read(elf.elf("armv7l", flags=elf.ARMEL_FLAGS, needed=["libc.so.6"]), "libz.so.1")
    armhf = read(elf.elf("armv7l", flags=elf.ARMHF_FLAGS, needed=["libc.so.6"]), "libz.so.1")
    assert armel.archs == ("armel",) and armhf.archs == ("armv7l",)
    target = parse_target("manylinux_2_31_armv7l")
    assert check_binary(armhf, target) == []
    (error,) = check_binary(armel, target)
    assert error.code is Code.ARCH_MISSING and error.severity is Severity.ERROR
    assert "armel: soft-float ARM EABI" in error.message
    assert check_binary(armel, parse_target("linux-armel")) == []


def test_arm_without_float_abi_flags_is_not_accused() -> None:
    old = read(elf.elf("armv7l", flags=0), "libold.so")
    assert check_binary(old, parse_target("linux-armv7l")) == []


# -- .NET assemblies -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("machine", "flags", "clr", "fits_arm64"),
    [
        ("x86", ILONLY, "AnyCPU", True),
        ("x86", ILONLY | BIT32 | pe.COMIMAGE_FLAGS_32BITPREFERRED, "AnyCPU, 32-bit preferred",
         True),
        ("x86", ILONLY | BIT32, "x86-only (IL only, 32-bit required)", False),
        ("amd64", ILONLY, "amd64-only (IL only)", False),
        ("x86", 0, "mixed-mode (native code inside)", False),
    ],
)  # fmt: skip
def test_dotnet_assemblies_say_what_the_clr_flags_say(
    machine: str, flags: int, clr: str, fits_arm64: bool
) -> None:
    info = read(pe.pe(machine, clr_flags=flags, imports=["mscoree.dll"]), "Python.Runtime.dll")
    (item,) = info.slices
    assert item.clr == clr
    findings = check_binary(info, parse_target("windows-arm64"))
    assert (findings == []) is fits_arm64
    if not fits_arm64:
        assert [f.code for f in findings] == [Code.ARCH_MISSING]
        assert f"(.NET assembly: {clr})" in findings[0].message


def test_a_clr_directory_pointing_nowhere_is_judged_as_native_code() -> None:
    image = pe.build_pe("x86", clr_flags=ILONLY)
    data = bytearray(image.data)
    data[image.directories_offset + 14 * 8 : image.directories_offset + 14 * 8 + 4] = (
        0x7FFF0000
    ).to_bytes(4, "little")
    info = read(bytes(data), "Python.Runtime.dll")
    assert info.slices[0].clr is None and not info.any_cpu
    assert [f.code for f in check_binary(info, parse_target("windows-arm64"))] == [
        Code.ARCH_MISSING
    ]


def test_pythonnet_like_wheel_is_clean_everywhere(tmp_path: Path) -> None:
    dll = pe.pe("x86", clr_flags=ILONLY, imports=["mscoree.dll"])
    whl = wheel(tmp_path, "pythonnet", "3.0.5", "py3-none-any",
                {"pythonnet/runtime/Python.Runtime.dll": dll})  # fmt: skip
    for target in ("windows-amd64", "windows-arm64", "linux-x86_64", "macos-arm64"):
        assert scan([whl], target).findings == [], target


# -- dSYM ------------------------------------------------------------------------------------


def test_dsym_files_are_not_binaries(tmp_path: Path) -> None:
    dsym = macho.fat([macho.thin("x86_64", "dsym"), macho.thin("arm64", "dsym")])
    members = {
        "objc/_objc.cpython-312-darwin.so": ARM,
        "objc/_objc.cpython-312-darwin.so.dSYM/Contents/Resources/DWARF/"
        "NULL.cpython-312-darwin.so": dsym,
    }
    whl = wheel(tmp_path, "pyobjc_core", "10.3", "cp312-cp312-macosx_11_0_arm64", members)
    report = scan([whl], "macos-x86_64")
    assert report.binaries == 1
    (error,) = report.errors
    assert "NULL" not in error.path and "NULL" not in error.message
    alone = read(dsym, "NULL.cpython-312-darwin.so")
    assert check_binary(alone, parse_target("macos-x86_64")) == []


def test_x86_programs_on_windows_arm64_run_through_x86_emulation() -> None:
    exe = read(pe.pe("x86", dll=False), "tool")
    (warning,) = check_binary(exe, parse_target("windows-arm64"))
    assert "x86 emulation on Windows on Arm" in warning.message and "x64" not in warning.message


def test_inspect_reports_clr_flags_dsym_and_android(tmp_path: Path) -> None:
    (tmp_path / "Python.Runtime.dll").write_bytes(pe.pe("x86", clr_flags=ILONLY))
    (tmp_path / "NULL.so").write_bytes(macho.thin("arm64", "dsym"))
    (tmp_path / "libm.so").write_bytes(android_so())
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["inspect", *(str(tmp_path / n) for n in ("Python.Runtime.dll", "NULL.so",
                                                               "libm.so"))])  # fmt: skip
    text = out.getvalue()
    assert code == 0
    assert ".NET assembly: AnyCPU" in text and "any architecture" in text
    assert "debug symbols (MH_DSYM)" in text
    assert "platform: android" in text and "minimum API level: 24" in text


@pytest.mark.parametrize(
    "notes",
    [
        [(b"GNU\0", 3, b"\1\2\3\4")],
        [(b"Android\0", 1, b"")],  # no API level word
        [(b"Android", 1, b"\x18\0\0\0")],  # the name without its NUL
    ],
)
def test_other_or_odd_notes_leave_a_file_linux(notes: list[tuple[bytes, int, bytes]]) -> None:
    # Bionic's libc.so: a file that names no glibc or musl library has its notes read.
    info = read(elf.elf("aarch64", notes=notes, needed=["libc.so"]), "m.so")
    assert (info.slices[0].platform, info.slices[0].libc) == ("linux", None)


def test_a_file_that_needs_glibc_is_linux_whatever_its_notes_say() -> None:
    """Android's loader has no libc.so.6: an Android note in a glibc-linked file is a lie."""
    (item,) = read(elf.elf("aarch64", android_api=24, needed=["libc.so.6"]), "m.so").slices
    assert (item.platform, item.min_os, item.libc) == ("linux", None, "glibc")


def test_a_lying_note_segment_never_raises() -> None:
    image = elf.build_elf("aarch64", android_api=24)
    data = bytearray(image.data)
    note_header = image.phoff + (image.phnum - 1) * image.phentsize
    # p_offset far past the end, then a namesz that runs past the segment
    data[note_header + 8 : note_header + 16] = (10**9).to_bytes(8, "little")
    assert read(bytes(data), "m.so").slices[0].platform == "linux"
    data = bytearray(image.data)
    (offset,) = [int.from_bytes(data[note_header + 8 : note_header + 16], "little")]
    data[offset : offset + 4] = (0xFFFFFFF0).to_bytes(4, "little")
    assert read(bytes(data), "m.so").slices[0].platform == "linux"
