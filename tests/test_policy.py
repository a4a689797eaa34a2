"""policy.check_binary: every code, judged on synthesized binaries read by the real readers."""

from __future__ import annotations

import dataclasses

import pytest

from nuitka_archguard.binaries import BinaryFormat, BinaryInfo, BytesSource, read_binary
from nuitka_archguard.check.ownership import Distribution
from nuitka_archguard.check.policy import (
    Code,
    Finding,
    Role,
    Severity,
    check_binary,
    check_wheel_tags,
    role_for,
)
from nuitka_archguard.target import parse_target
from tests.synth import elf, macho, pe


def info(data: bytes, name: str = "mod.cpython-311-darwin.so") -> BinaryInfo:
    return read_binary(BytesSource(data), f"/site/{name}")


def codes(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.code.value, f.severity.value) for f in findings]


def old_x86(min_os: str = "10.9", filetype: str = "bundle") -> bytes:
    return macho.thin("x86_64", filetype, build_version=None, version_min=("macos", min_os, min_os))


def arm(min_os: str = "11.0", filetype: str = "bundle", platform: str = "macos") -> bytes:
    return macho.thin("arm64", filetype, build_version=(platform, min_os, "14.0"))


# -- roles ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("_cffi_backend.cpython-311-darwin.so", Role.EXTENSION_MODULE),
        ("_rust.abi3.so", Role.EXTENSION_MODULE),
        ("_speedups.cpython-311-x86_64-linux-gnu.so", Role.EXTENSION_MODULE),
        ("_ctypes.cp311-win_amd64.pyd", Role.EXTENSION_MODULE),
        ("foo.pypy310-pp73-x86_64-linux-gnu.so", Role.EXTENSION_MODULE),
        ("plain.so", Role.EXTENSION_MODULE),
        ("plain.pyd", Role.EXTENSION_MODULE),
        ("libssl.3.dylib", Role.SHARED_LIBRARY),
        ("libgfortran-040039e1.so.5.0.0", Role.SHARED_LIBRARY),
        ("libz.so", Role.SHARED_LIBRARY),
        ("python311.dll", Role.SHARED_LIBRARY),
        ("README", Role.DATA_FILE),
    ],
)
def test_role_from_name(name: str, role: Role) -> None:
    assert role_for(name) is role


def test_role_from_file_type_when_the_name_says_nothing() -> None:
    assert role_for("bin/helper", info(arm(filetype="executable"), "helper")) is Role.EXECUTABLE
    assert role_for("Python", info(arm(filetype="dylib"), "Python")) is Role.SHARED_LIBRARY
    assert role_for("thing.o", info(arm(filetype="object"), "thing.o")) is Role.DATA_FILE
    assert role_for("helper", info(elf.elf("x86_64", etype="exec"), "helper")) is Role.EXECUTABLE
    assert role_for("tool.exe", info(pe.pe("amd64", dll=False), "tool.exe")) is Role.EXECUTABLE


# -- arch-missing -------------------------------------------------------------------------------


def test_arm64_only_extension_in_an_x86_64_target_is_an_error() -> None:
    findings = check_binary(info(arm()), parse_target("macos-x86_64"), Role.EXTENSION_MODULE)
    assert codes(findings) == [("arch-missing", "error")]
    finding = findings[0]
    assert finding.archs == ("arm64",)
    assert finding.required_archs == ("x86_64",)
    assert "holds only arm64" in finding.message
    assert "x86_64 processes cannot load it" in finding.message
    assert finding.format is BinaryFormat.MACHO


def test_universal2_target_needs_both_slices() -> None:
    target = parse_target("macos-universal2")
    (finding,) = check_binary(info(arm()), target)
    assert finding.code is Code.ARCH_MISSING
    assert finding.required_archs == ("arm64", "x86_64")
    assert "x86_64 processes cannot load it" in finding.message
    both = info(macho.fat([old_x86(), arm()]))
    assert check_binary(both, target) == []


def test_a_fat_file_with_one_slice_is_judged_by_its_slices() -> None:
    fat_but_thin = info(macho.fat([arm()]))
    (finding,) = check_binary(fat_but_thin, parse_target("macos-universal2"))
    assert finding.code is Code.ARCH_MISSING
    assert check_binary(fat_but_thin, parse_target("macos-arm64")) == []


def test_shared_libraries_are_checked_like_extensions() -> None:
    lib = info(arm(filetype="dylib"), "libffi.8.dylib")
    (finding,) = check_binary(lib, parse_target("macos-x86_64"))
    assert finding.code is Code.ARCH_MISSING
    assert finding.role is Role.SHARED_LIBRARY
    assert finding.message.startswith("shared library libffi.8.dylib")


def test_linux_and_windows_arch_missing() -> None:
    so = info(elf.elf("aarch64", needed=["libc.so.6"]), "_x.cpython-311-aarch64-linux-gnu.so")
    (finding,) = check_binary(so, parse_target("linux-x86_64"))
    assert finding.code is Code.ARCH_MISSING and finding.archs == ("aarch64",)
    assert check_binary(so, parse_target("manylinux_2_28_aarch64")) == []
    pyd = info(pe.pe("x86"), "_x.cp311-win32.pyd")
    (finding,) = check_binary(pyd, parse_target("windows-amd64"))
    assert finding.code is Code.ARCH_MISSING
    assert check_binary(pyd, parse_target("win32")) == []


# -- platform-mismatch --------------------------------------------------------------------------


def test_elf_in_a_macos_target_is_a_platform_mismatch() -> None:
    (finding,) = check_binary(info(elf.elf("x86_64")), parse_target("macos-x86_64"))
    assert codes([finding]) == [("platform-mismatch", "error")]
    assert "ELF" in finding.message and "macOS" in finding.message


def test_pe_in_a_linux_target_and_macho_in_windows() -> None:
    (finding,) = check_binary(info(pe.pe("amd64"), "_x.abi3.so"), parse_target("linux-x86_64"))
    assert finding.code is Code.PLATFORM_MISMATCH
    (finding,) = check_binary(info(old_x86(), "x.pyd"), parse_target("windows-amd64"))
    assert finding.code is Code.PLATFORM_MISMATCH


@pytest.mark.parametrize("platform", ["ios", "ios-simulator", "maccatalyst", "tvos"])
def test_macho_built_for_ios_is_a_platform_mismatch(platform: str) -> None:
    (finding,) = check_binary(info(arm(platform=platform)), parse_target("macos-arm64"))
    assert finding.code is Code.PLATFORM_MISMATCH
    assert platform in finding.message


def test_musl_extension_in_a_glibc_target_and_the_reverse() -> None:
    musl = info(elf.elf("x86_64", needed=["libc.musl-x86_64.so.1"]), "_m.abi3.so")
    glibc = info(elf.elf("x86_64", needed=["libc.so.6"]), "_g.abi3.so")
    (finding,) = check_binary(musl, parse_target("linux-x86_64"))
    assert finding.code is Code.PLATFORM_MISMATCH and "musl" in finding.message
    (finding,) = check_binary(glibc, parse_target("linux-musl-x86_64"))
    assert finding.code is Code.PLATFORM_MISMATCH and "glibc" in finding.message
    assert check_binary(musl, parse_target("musllinux_1_2_x86_64")) == []
    unknown = info(elf.elf("x86_64"), "_u.abi3.so")  # names no libc: not judged
    assert check_binary(unknown, parse_target("linux-musl-x86_64")) == []


def test_freebsd_elf_in_a_linux_target() -> None:
    so = info(elf.elf("x86_64", osabi=9), "_f.so")
    (finding,) = check_binary(so, parse_target("linux-x86_64"))
    assert finding.code is Code.PLATFORM_MISMATCH and "freebsd" in finding.message


# -- executables --------------------------------------------------------------------------------


def test_arm64_executable_cannot_run_on_an_x86_64_target() -> None:
    tool = info(arm(filetype="executable"), "helper")
    (finding,) = check_binary(tool, parse_target("macos-x86_64"))
    assert codes([finding]) == [("executable-arch", "error")]
    assert "cannot run" in finding.message


def test_x86_64_executable_on_arm64_runs_only_through_rosetta() -> None:
    tool = info(old_x86(filetype="executable"), "helper")
    (finding,) = check_binary(tool, parse_target("macos-arm64"))
    assert codes([finding]) == [("executable-arch", "warning")]
    assert "Rosetta 2" in finding.message
    (finding,) = check_binary(tool, parse_target("macos-universal2"))
    assert finding.severity is Severity.WARNING
    assert check_binary(tool, parse_target("macos-x86_64")) == []


def test_executable_given_role_and_windows_emulation() -> None:
    exe = info(pe.pe("amd64", dll=False), "tool.exe")
    (finding,) = check_binary(exe, parse_target("windows-arm64"), Role.EXECUTABLE)
    assert finding.severity is Severity.WARNING and "emulation" in finding.message
    x86 = info(pe.pe("x86", dll=False), "tool32.exe")
    assert check_binary(x86, parse_target("windows-amd64"), Role.EXECUTABLE) == []
    (finding,) = check_binary(exe, parse_target("windows-x86"), Role.EXECUTABLE)
    assert finding.severity is Severity.ERROR


# -- min-os-too-new -------------------------------------------------------------------------------


def test_min_os_too_new_is_a_warning_per_slice_and_an_error_when_strict() -> None:
    target = parse_target("macos-universal2", "10.13")
    data = macho.fat([old_x86("10.15"), arm("11.0")])
    (finding,) = check_binary(info(data), target)
    assert codes([finding]) == [("min-os-too-new", "warning")]
    assert finding.archs == ("x86_64",)  # arm64 needing 11.0 is fine: arm64 Macs start there
    assert "x86_64 needs macOS 10.15" in finding.message and "10.13" in finding.message
    (strict,) = check_binary(info(data), target, strict_min_os=True)
    assert strict.severity is Severity.ERROR


def test_arm64_slice_newer_than_11_is_too_new() -> None:
    (finding,) = check_binary(info(arm("12.0")), parse_target("macos-arm64", "11.0"))
    assert finding.code is Code.MIN_OS_TOO_NEW and finding.archs == ("arm64",)


def test_no_min_os_check_without_a_target_minimum_or_for_other_slices() -> None:
    assert check_binary(info(old_x86("10.15")), parse_target("macos-x86_64")) == []
    data = macho.fat([old_x86("10.9"), arm("13.0")])
    assert check_binary(info(data), parse_target("macosx_10_9_x86_64")) == []


def test_arch_missing_and_min_os_together() -> None:
    target = parse_target("macos-universal2", "10.9")
    findings = check_binary(info(old_x86("10.13")), target)
    assert codes(findings) == [("arch-missing", "error"), ("min-os-too-new", "warning")]


# -- unreadable, data, not binaries ---------------------------------------------------------------


def test_unreadable_binary_is_a_warning() -> None:
    broken = BinaryInfo(path="/x/_b.abi3.so", format=BinaryFormat.MACHO, error="truncated")
    (finding,) = check_binary(broken, parse_target("macos-x86_64"), Role.EXTENSION_MODULE)
    assert codes([finding]) == [("unreadable-binary", "warning")]
    assert "truncated" in finding.message


def test_not_binaries_and_data_files_give_nothing() -> None:
    text = BinaryInfo(path="/x/a.so", format=BinaryFormat.NOT_A_BINARY)
    assert check_binary(text, parse_target("macos-x86_64")) == []
    obj = info(arm(filetype="object"), "thing.o")
    assert check_binary(obj, parse_target("macos-x86_64")) == []


# -- wheel tags ----------------------------------------------------------------------------


def _dist(*tags: str) -> Distribution:
    return Distribution("thin2", "1.0", "pip", "pip", tuple(tags))


def test_universal2_tag_with_thin_binaries_is_a_wheel_tag_mismatch() -> None:
    dist = _dist("cp311-cp311-macosx_10_9_universal2")
    thin = info(arm(), "_a.cpython-311-darwin.so")
    finding = check_wheel_tags(dist, [(thin, Role.EXTENSION_MODULE)])
    assert finding is not None
    assert codes([finding]) == [("wheel-tag-mismatch", "warning")]
    assert "universal2" in finding.message and "x86_64" in finding.message
    assert finding.distribution is dist
    both = info(macho.fat([old_x86(), arm()]))
    assert check_wheel_tags(dist, [(both, Role.EXTENSION_MODULE)]) is None


def test_wheel_tags_that_hold_their_promise_or_promise_nothing() -> None:
    thin = info(arm())
    assert (
        check_wheel_tags(_dist("cp311-cp311-macosx_11_0_arm64"), [(thin, Role.EXTENSION_MODULE)])
        is None
    )
    assert check_wheel_tags(_dist("py3-none-any"), [(thin, Role.EXTENSION_MODULE)]) is None
    # executables are not loaded: a thin helper in a universal2 wheel is not the tag's promise
    tool = info(arm(filetype="executable"), "helper")
    assert (
        check_wheel_tags(_dist("cp311-cp311-macosx_10_9_universal2"), [(tool, Role.EXECUTABLE)])
        is None
    )


def test_finding_json_has_the_schema_keys() -> None:
    (finding,) = check_binary(info(arm()), parse_target("macos-x86_64"))
    finding = dataclasses.replace(
        finding,
        distribution=Distribution(
            "cffi", "1.17.1", "pip", "pip", ("cp311-cp311-macosx_11_0_arm64",)
        ),
    )
    data = finding.to_json()
    for key in (
        "severity", "code", "path", "format", "archs", "required_archs", "distribution",
        "needed_by", "message", "fix", "allowed",
    ):  # fmt: skip
        assert key in data
    assert data["distribution"]["name"] == "cffi"
    assert data["distribution"]["wheel_tags"] == ["cp311-cp311-macosx_11_0_arm64"]
    assert data["format"] == "mach-o" and data["allowed"] is False


def test_non_utf8_path_is_printable_in_json() -> None:
    name = b"caf\xe9.so".decode("utf-8", "surrogateescape")
    (finding,) = check_binary(info(arm(), name), parse_target("macos-x86_64"))
    assert "\\xe9" in finding.to_json()["path"]
    finding.to_json()["path"].encode("utf-8")
    assert "\\xe9" in finding.message


@pytest.mark.parametrize(
    ("name", "data", "target"),
    [
        ("pip/_vendor/distlib/t64.exe", pe.pe("amd64", dll=False), "linux-x86_64"),
        ("setuptools/cli-arm64.exe", pe.pe("arm64", dll=False), "macos-x86_64"),
        ("pkg/win/helper.dll", pe.pe("x86"), "macos-arm64"),
        ("pkg/_x.cp311-win_amd64.pyd", pe.pe("amd64"), "linux-x86_64"),
        ("pkg/mac/libfoo.dylib", arm(filetype="dylib"), "linux-x86_64"),
        ("pkg/linux/libfoo.so.1", elf.elf("x86_64"), "windows-amd64"),
    ],
)
def test_files_named_for_another_os_are_never_loaded_there(
    name: str, data: bytes, target: str
) -> None:
    assert check_binary(info(data, name), parse_target(target)) == []


def test_a_foreign_binary_under_a_name_the_target_loads_is_still_an_error() -> None:
    (finding,) = check_binary(info(arm(), "_x.abi3.so"), parse_target("linux-x86_64"))
    assert finding.code is Code.PLATFORM_MISMATCH
    (finding,) = check_binary(info(pe.pe("amd64"), "evil.so"), parse_target("macos-x86_64"))
    assert finding.code is Code.PLATFORM_MISMATCH
