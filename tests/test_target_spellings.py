"""Targets as users type them (issue 21), and platforms as a registry (issue 20): the
spellings of neighbouring ecosystems, ``macos-intel`` as the x86_64 target it is, pasted
multi-tag strings, "did you mean" for the rest, and no platform left to a silent default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pytest

from nuitka_archguard import archs, scan
from nuitka_archguard.archs import Platform
from nuitka_archguard.check.advice import fix_for
from nuitka_archguard.check.ownership import Distribution
from nuitka_archguard.target import OTHER_SPELLINGS, Target, TargetError, parse_target
from tests.envbuild import wheel
from tests.synth import macho


@pytest.mark.parametrize(
    ("text", "name", "libc"),
    [
        ("macos-intel", "macos-x86_64", None),
        ("macosx_10_9_intel", "macos-x86_64", None),
        ("darwin-arm64", "macos-arm64", None),
        ("darwin-x86_64", "macos-x86_64", None),
        ("osx-arm64", "macos-arm64", None),
        ("osx-64", "macos-x86_64", None),
        ("linux-64", "linux-x86_64", "glibc"),
        ("linux-aarch64", "linux-aarch64", "glibc"),
        ("win-64", "windows-amd64", None),
        ("win-32", "windows-x86", None),
        ("win-arm64", "windows-arm64", None),
        ("x86_64-apple-darwin", "macos-x86_64", None),
        ("aarch64-apple-darwin", "macos-arm64", None),
        ("aarch64-unknown-linux-gnu", "linux-aarch64", "glibc"),
        ("x86_64-unknown-linux-musl", "linux-musl-x86_64", "musl"),
        ("x86_64-pc-windows-msvc", "windows-amd64", None),
        ("aarch64-pc-windows-msvc", "windows-arm64", None),
        ("i686-pc-windows-msvc", "windows-x86", None),
        ("aarch64-linux-android", "android-arm64_v8a", None),
        ("aarch64-apple-ios-sim", "ios-simulator-arm64", None),
        ("manylinux_2_17_x86_64.manylinux2014_x86_64", "linux-x86_64", "glibc"),
        ("manylinux_2_17_aarch64.manylinux2014_aarch64", "linux-aarch64", "glibc"),
        ("macosx-10.9-x86_64", "macos-x86_64", None),  # sysconfig's spelling still works
        ("macos-x86-64", "macos-x86_64", None),
    ],
)
def test_spellings(text: str, name: str, libc: Optional[str]) -> None:
    target = parse_target(text)
    assert (target.name, target.libc) == (name, libc)


def test_every_other_spelling_in_the_help_parses() -> None:
    for text in OTHER_SPELLINGS:
        parse_target(text)


def test_dotted_tags_for_two_targets_are_refused() -> None:
    with pytest.raises(TargetError, match="names several targets"):
        parse_target("macosx_10_15_x86_64.macosx_11_0_arm64")


def test_dotted_macos_tags_keep_the_lowest_minimum() -> None:
    target = parse_target("macosx_10_12_x86_64.macosx_10_9_x86_64")
    assert target.name == "macos-x86_64" and str(target.min_os) == "10.9"


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("linx-x86_64", "linux-x86_64"),
        ("darwn-arm64", "darwin-arm64"),
        ("osx_arm64", "osx-arm64"),
        ("macos-arm65", "arm64"),
        ("x86_64-apple-drawin", "x86_64-apple-darwin"),
    ],
)
def test_did_you_mean(text: str, suggestion: str) -> None:
    with pytest.raises(TargetError, match="did you mean") as error:
        parse_target(text)
    assert suggestion in str(error.value)


# -- macos-intel ------------------------------------------------------------------------------

I386 = macho.thin("i386", build_version=None, version_min=("macos", "10.9", "10.9"))
X86 = macho.thin("x86_64", build_version=None, version_min=("macos", "10.9", "10.9"))


def test_an_intel_wheel_scanned_against_its_own_tag_is_clean(tmp_path: Path) -> None:
    whl = wheel(tmp_path, "old", "1.0", "cp311-cp311-macosx_10_9_intel",
                {"old/_m.cpython-311-darwin.so": macho.fat([I386, X86])})  # fmt: skip
    for target in ("macosx_10_9_intel", "macos-intel"):
        report = scan([whl], target)
        assert report.findings == [], target


def test_macos_intel_does_not_demand_i386(tmp_path: Path) -> None:
    whl = wheel(tmp_path, "new", "1.0", "cp311-cp311-macosx_10_9_x86_64",
                {"new/_m.cpython-311-darwin.so": X86})  # fmt: skip
    assert scan([whl], "macos-intel").findings == []


# -- the registry -----------------------------------------------------------------------------


def test_every_platform_has_one_registry_entry() -> None:
    assert set(archs.PLATFORMS) == set(Platform)
    for plat, entry in archs.PLATFORMS.items():
        assert entry.platform is plat and entry.words and entry.tag_examples
        for tag in entry.tag_examples:
            assert parse_target(tag).platform == plat.value
        for arch, subdir in entry.conda.items():
            assert parse_target(subdir) == Target(plat.value, frozenset({arch}),
                                                  libc=parse_target(subdir).libc)  # fmt: skip


@pytest.mark.parametrize(
    ("tag", "version"),
    [("cp311-cp311-macosx_11_0_arm64", "3.11"), ("cp39-cp39", "3.9"), ("cp310-abi3-x", None),
     ("py3-none-any", None), ("pp310-pypy310_pp73-x", None), ("cp3x-cp3x-y", None)],
)  # fmt: skip
def test_one_cp_tag_parser(tag: str, version: Optional[str]) -> None:
    assert archs.python_version_of(tag) == version


def _dist(tag: str) -> Distribution:
    return Distribution("pkg", "1.0", "pip", None, (tag,))


def test_android_advice_is_a_wheel_for_the_folder_not_the_windows_launcher() -> None:
    """Unknown-to-the-old-code platforms fell into the Windows fix (``py -3.11-...``)."""
    target = parse_target("android-arm64_v8a")
    fix = fix_for("arch-missing", _dist("cp313-cp313-android_24_x86_64"), target)
    assert "py -" not in fix
    assert "--platform android_24_arm64_v8a" in fix and "--target" in fix


def test_describe_uses_the_registry_words() -> None:
    assert parse_target("ios_13_0_arm64_iphoneos").describe() == "ios-arm64 (iOS 13.0 or newer)"
    android = parse_target("android_24_arm64_v8a").describe()
    assert android == "android-arm64_v8a (API level 24 or newer)"
    assert parse_target("macosx_10_13_x86_64").describe() == "macos-x86_64 (macOS 10.13 or newer)"
    assert parse_target("win32").describe() == "windows-x86 (32-bit Python)"
