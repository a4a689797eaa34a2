"""archs: the one vocabulary. Tags, aliases, formats and emulation, as data other modules
share; the target parser and the policy must agree with it (they once disagreed on fat32)."""

from __future__ import annotations

from typing import Optional

import pytest
from packaging.version import Version

from nuitka_archguard import archs
from nuitka_archguard.archs import Libc, Platform, PlatformTag
from nuitka_archguard.target import parse_target


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("cp39-abi3-macosx_10_9_universal2", ("macos", {"arm64", "x86_64"})),
        ("cp311-cp311-macosx_11_0_arm64", ("macos", {"arm64"})),
        ("cp27-cp27m-macosx_10_5_fat32", ("macos", {"i386", "ppc"})),
        ("cp27-cp27m-macosx_10_6_intel", ("macos", {"i386", "x86_64"})),
        ("cp27-cp27m-macosx_10_5_fat64", ("macos", {"ppc64", "x86_64"})),
        ("cp27-cp27m-macosx_10_5_fat3", ("macos", {"i386", "ppc", "x86_64"})),
        ("cp27-cp27m-macosx_10_5_universal", ("macos", {"i386", "ppc", "ppc64", "x86_64"})),
        ("cp311-cp311-manylinux_2_17_aarch64", ("linux", {"aarch64"})),
        ("cp311-cp311-manylinux2014_x86_64", ("linux", {"x86_64"})),
        ("cp311-cp311-musllinux_1_2_x86_64", ("linux", {"x86_64"})),
        ("cp311-cp311-manylinux_2_31_armv7l", ("linux", {"armv7l"})),
        ("cp311-cp311-win_amd64", ("windows", {"amd64"})),
        ("cp311-cp311-win32", ("windows", {"x86"})),
        ("cp311-cp311-win_arm64", ("windows", {"arm64"})),
        ("cp314-cp314-android_24_arm64_v8a", ("android", {"aarch64"})),
        ("cp314-cp314-android_24_x86_64", ("android", {"x86_64"})),
        ("cp313-cp313-ios_13_0_arm64_iphoneos", ("ios", {"arm64"})),
        ("cp313-cp313-ios_13_0_arm64_iphonesimulator", ("ios-simulator", {"arm64"})),
        ("cp313-cp313-ios_13_0_x86_64_iphonesimulator", ("ios-simulator", {"x86_64"})),
        ("py3-none-any", None),
        ("cp311-cp311-linux_z80", None),
    ],
)
def test_wheel_archs(tag: str, expected: Optional[tuple[str, set[str]]]) -> None:
    found = archs.wheel_archs(tag)
    assert (None if found is None else (found[0].value, set(found[1]))) == expected


@pytest.mark.parametrize(
    "tag",
    ["macosx_10_5_fat32", "macosx_10_6_intel", "macosx_11_0_universal2", "manylinux_2_28_aarch64",
     "musllinux_1_2_armv7l", "win_arm64", "android_24_arm64_v8a", "ios_13_0_arm64_iphoneos"],
)  # fmt: skip
def test_target_parser_and_tag_table_agree(tag: str) -> None:
    """One table: what a wheel tag promises is what the same tag names as a target (for
    macOS formats, as a supported Mac runs them: the intel tag's target is x86_64)."""
    parsed = archs.parse_platform_tag(tag)
    assert parsed is not None
    target = parse_target(tag)
    wanted = parsed.archs
    if parsed.platform is Platform.MACOS:
        wanted = archs.macos_target_archs(wanted)
    assert (target.platform, target.archs) == (parsed.platform.value, wanted)
    assert target.libc == (parsed.libc.value if parsed.libc else None)


def test_platform_tag_fields() -> None:
    assert archs.parse_platform_tag("musllinux_1_2_aarch64") == PlatformTag(
        Platform.LINUX, frozenset({"aarch64"}), None, Libc.MUSL
    )
    assert archs.parse_platform_tag("android_21_armeabi_v7a") == PlatformTag(
        Platform.ANDROID, frozenset({"armv7l"}), Version("21")
    )
    assert archs.parse_platform_tag("any") is None
    with pytest.raises(archs.UnknownArch, match="z80"):
        archs.parse_platform_tag("linux_z80")


@pytest.mark.parametrize(
    ("platform", "wanted", "min_os", "expected"),
    [
        (Platform.MACOS, {"arm64", "x86_64"}, "10.13", ("macosx_10_13_universal2",)),
        (Platform.MACOS, {"arm64"}, "10.13", ("macosx_11_0_arm64",)),
        (Platform.MACOS, {"arm64"}, "14.0", ("macosx_14_0_arm64",)),
        (Platform.MACOS, {"i386", "ppc"}, "10.5", ("macosx_10_5_fat32",)),
        (Platform.ANDROID, {"aarch64"}, "24", ("android_24_arm64_v8a",)),
        (Platform.IOS_SIMULATOR, {"arm64"}, "13.0", ("ios_13_0_arm64_iphonesimulator",)),
        (Platform.WINDOWS, {"x86"}, None, ("win32",)),
    ],
)
def test_platform_tags_round_trip(
    platform: Platform, wanted: set[str], min_os: Optional[str], expected: tuple[str, ...]
) -> None:
    version = Version(min_os) if min_os else None
    tags = archs.platform_tags(platform, frozenset(wanted), version)
    assert tags == expected
    parsed = archs.parse_platform_tag(tags[0])
    assert parsed is not None and parsed.archs == frozenset(wanted)


def test_provides() -> None:
    assert archs.provides("i386", "i686", "linux")
    assert archs.provides("arm64x", "arm64", "windows")
    assert not archs.provides("arm64x", "amd64", "windows")
    assert not archs.provides("x86_64h", "x86_64", "macos")
    assert not archs.provides("armel", "armv7l", "linux")


@pytest.mark.parametrize(
    ("exe", "machine", "platform", "expected"),
    [
        ("x86_64", "arm64", "macos", "Rosetta 2"),
        ("arm64", "x86_64", "macos", None),
        ("x86", "amd64", "windows", archs.NATIVE),
        ("x86", "arm64", "windows", "x86 emulation on Windows on Arm"),
        ("amd64", "arm64", "windows", "x64 emulation on Windows on Arm"),
        ("arm64ec", "arm64", "windows", "x64 emulation on Windows on Arm"),
        ("i686", "x86_64", "linux", "32-bit compatibility libraries"),
        ("aarch64", "x86_64", "linux", None),
        ("x86_64", "arm64", "nonsense", None),
    ],
)
def test_runs_via(exe: str, machine: str, platform: str, expected: Optional[str]) -> None:
    assert archs.runs_via(exe, machine, platform) == expected


def test_normalize_and_formats() -> None:
    assert archs.normalize(Platform.LINUX, "ARMHF") == "armv7l"
    assert archs.normalize(Platform.WINDOWS, "x64") == "amd64"
    assert archs.normalize(Platform.ANDROID, "arm64_v8a") == "aarch64"
    with pytest.raises(archs.UnknownArch, match="expected one of"):
        archs.normalize(Platform.MACOS, "sparc")
    assert archs.macos_format(frozenset({"i386", "ppc"})) == "fat32"
    assert archs.macos_format(frozenset({"arm64"})) is None


def test_the_plugin_file_names_itself_as_common_says() -> None:
    """The plugin class spells its name before the package can be imported; keep it equal."""
    from pathlib import Path

    from nuitka_archguard import plugin_path
    from nuitka_archguard.common import PLUGIN_NAME

    source = Path(plugin_path()).read_text(encoding="utf-8")
    assert f'    plugin_name = "{PLUGIN_NAME}"' in source
