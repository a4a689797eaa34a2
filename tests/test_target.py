"""Target parsing: every accepted form, the errors, and the host target."""

from __future__ import annotations

import dataclasses
import json
from typing import Optional

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.version import Version

import nuitka_archguard.target as target_mod
from nuitka_archguard.target import (
    Target,
    TargetError,
    host_target,
    macos_target,
    parse_min_os,
    parse_target,
)


@pytest.mark.parametrize(
    ("text", "platform", "archs", "min_os", "libc", "name"),
    [
        # our own names
        ("macos-x86_64", "macos", {"x86_64"}, None, None, "macos-x86_64"),
        ("macos-arm64", "macos", {"arm64"}, None, None, "macos-arm64"),
        ("macos-universal2", "macos", {"arm64", "x86_64"}, None, None, "macos-universal2"),
        ("macos-arm64+x86_64", "macos", {"arm64", "x86_64"}, None, None, "macos-universal2"),
        ("  MacOS-X86_64 ", "macos", {"x86_64"}, None, None, "macos-x86_64"),
        ("macos-aarch64", "macos", {"arm64"}, None, None, "macos-arm64"),
        ("linux-x86_64", "linux", {"x86_64"}, None, "glibc", "linux-x86_64"),
        ("linux-aarch64", "linux", {"aarch64"}, None, "glibc", "linux-aarch64"),
        ("linux-arm64", "linux", {"aarch64"}, None, "glibc", "linux-aarch64"),
        ("linux-i686", "linux", {"i686"}, None, "glibc", "linux-i686"),
        ("linux-armv7l", "linux", {"armv7l"}, None, "glibc", "linux-armv7l"),
        ("linux-ppc64le", "linux", {"ppc64le"}, None, "glibc", "linux-ppc64le"),
        ("linux-s390x", "linux", {"s390x"}, None, "glibc", "linux-s390x"),
        ("linux-riscv64", "linux", {"riscv64"}, None, "glibc", "linux-riscv64"),
        ("linux-glibc-aarch64", "linux", {"aarch64"}, None, "glibc", "linux-aarch64"),
        ("linux-musl-x86_64", "linux", {"x86_64"}, None, "musl", "linux-musl-x86_64"),
        ("linux-musl-aarch64", "linux", {"aarch64"}, None, "musl", "linux-musl-aarch64"),
        ("windows-amd64", "windows", {"amd64"}, None, None, "windows-amd64"),
        ("windows-x86", "windows", {"x86"}, None, None, "windows-x86"),
        ("windows-arm64", "windows", {"arm64"}, None, None, "windows-arm64"),
        ("windows-x64", "windows", {"amd64"}, None, None, "windows-amd64"),
        # wheel platform tags
        ("macosx_10_13_x86_64", "macos", {"x86_64"}, "10.13", None, "macos-x86_64"),
        ("macosx_11_0_arm64", "macos", {"arm64"}, "11.0", None, "macos-arm64"),
        ("macosx_10_9_universal2", "macos", {"arm64", "x86_64"}, "10.9", None, "macos-universal2"),
        ("macosx_11_0_universal2", "macos", {"arm64", "x86_64"}, "11.0", None, "macos-universal2"),
        # i386 runs no supported macOS: the intel tag, as a target, is x86_64 (issue 21)
        ("macosx_10_6_intel", "macos", {"x86_64"}, "10.6", None, "macos-x86_64"),
        ("macosx_10_4_fat", "macos", {"i386", "ppc"}, "10.4", None, "macos-i386+ppc"),
        ("macosx_10_5_fat3", "macos", {"i386", "ppc", "x86_64"}, "10.5", None, None),
        ("macosx_10_5_fat64", "macos", {"ppc64", "x86_64"}, "10.5", None, None),
        ("macosx_10_5_universal", "macos", {"i386", "ppc", "ppc64", "x86_64"}, "10.5", None, None),
        ("manylinux_2_28_aarch64", "linux", {"aarch64"}, None, "glibc", "linux-aarch64"),
        ("manylinux_2_17_x86_64", "linux", {"x86_64"}, None, "glibc", "linux-x86_64"),
        ("manylinux2014_x86_64", "linux", {"x86_64"}, None, "glibc", "linux-x86_64"),
        ("manylinux2010_i686", "linux", {"i686"}, None, "glibc", "linux-i686"),
        ("manylinux1_x86_64", "linux", {"x86_64"}, None, "glibc", "linux-x86_64"),
        ("manylinux_2_31_armv7l", "linux", {"armv7l"}, None, "glibc", "linux-armv7l"),
        ("linux_x86_64", "linux", {"x86_64"}, None, "glibc", "linux-x86_64"),
        ("musllinux_1_2_x86_64", "linux", {"x86_64"}, None, "musl", "linux-musl-x86_64"),
        ("musllinux_1_1_aarch64", "linux", {"aarch64"}, None, "musl", "linux-musl-aarch64"),
        ("win_amd64", "windows", {"amd64"}, None, None, "windows-amd64"),
        ("win32", "windows", {"x86"}, None, None, "windows-x86"),
        ("win_arm64", "windows", {"arm64"}, None, None, "windows-arm64"),
        # sysconfig.get_platform() spellings
        ("macosx-10.13-x86_64", "macos", {"x86_64"}, "10.13", None, "macos-x86_64"),
        ("macosx-11.0-arm64", "macos", {"arm64"}, "11.0", None, "macos-arm64"),
        ("win-amd64", "windows", {"amd64"}, None, None, "windows-amd64"),
        ("win-arm64", "windows", {"arm64"}, None, None, "windows-arm64"),
        # full tags and wheel file names
        ("cp311-cp311-macosx_11_0_arm64", "macos", {"arm64"}, "11.0", None, "macos-arm64"),
        (
            "cffi-1.17.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            "linux",
            {"x86_64"},
            None,
            "glibc",
            "linux-x86_64",
        ),
        (
            "cryptography-43.0.3-cp39-abi3-macosx_10_9_universal2.whl",
            "macos",
            {"arm64", "x86_64"},
            "10.9",
            None,
            "macos-universal2",
        ),
    ],
)
def test_forms(
    text: str,
    platform: str,
    archs: set[str],
    min_os: Optional[str],
    libc: Optional[str],
    name: Optional[str],
) -> None:
    target = parse_target(text)
    assert target.platform == platform
    assert target.archs == frozenset(archs)
    assert target.min_os == (Version(min_os) if min_os else None)
    assert target.libc == libc
    if name is not None:
        assert target.name == name
    # the canonical name parses back to the same target (minimum aside)
    again = parse_target(target.name)
    assert (again.platform, again.archs, again.libc) == (target.platform, archs, libc)
    assert json.loads(json.dumps(target.to_json()))["archs"] == sorted(archs)


def test_explicit_min_os_overrides_tag() -> None:
    target = parse_target("macosx_10_9_x86_64", min_os="10.13")
    assert target.min_os == Version("10.13")
    assert parse_target("macos-universal2", "11").min_os == Version("11.0")
    assert parse_target("macos-arm64", "14.2.1").min_os == Version("14.2.1")
    assert parse_target("macos-arm64", "10_15").min_os == Version("10.15")


def test_to_json_and_describe() -> None:
    target = parse_target("macos-x86_64", min_os="10.13")
    assert target.to_json() == {
        "platform": "macos",
        "archs": ["x86_64"],
        "min_os": "10.13",
        "libc": None,
        "name": "macos-x86_64",
    }
    assert target.describe() == "macos-x86_64 (macOS 10.13 or newer)"
    assert parse_target("macos-x86_64").describe() == "macos-x86_64"
    assert parse_target("macosx_11_0_arm64").to_json()["min_os"] == "11.0"
    assert parse_target("linux-aarch64").describe() == "linux-aarch64 (glibc)"
    assert parse_target("linux-musl-x86_64").describe() == "linux-musl-x86_64"
    assert parse_target("win32").describe() == "windows-x86 (32-bit Python)"
    assert parse_target("win_amd64").describe() == "windows-amd64 (64-bit Python)"
    assert str(parse_target("win_arm64")) == "windows-arm64"
    assert parse_target("linux-musl-x86_64").to_json()["libc"] == "musl"


def test_target_is_frozen_and_hashable() -> None:
    a = parse_target("macos-universal2")
    b = macos_target(["x86_64", "arm64"], None)
    assert a == b and hash(a) == hash(b)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.platform = "linux"  # type: ignore[misc]
    assert a.is_universal2 and not parse_target("macos-arm64").is_universal2


def test_direct_construction_fills_name_and_coerces() -> None:
    target = Target("linux", frozenset({"aarch64"}), None, "musl")
    assert target.name == "linux-musl-aarch64"
    coerced = Target("macos", {"arm64"}, "11.0")  # type: ignore[arg-type]
    assert coerced.archs == frozenset({"arm64"}) and coerced.min_os == Version("11.0")
    with pytest.raises(TargetError):
        Target("plan9", frozenset({"x86_64"}))
    with pytest.raises(TargetError):
        Target("macos", frozenset())
    with pytest.raises(TargetError):
        Target("linux", frozenset({"x86_64"}), Version("10.13"))
    with pytest.raises(TargetError):
        Target("windows", frozenset({"amd64"}), None, "glibc")


def test_macos_target() -> None:
    target = macos_target(["x86_64"], "10.13")
    assert target.name == "macos-x86_64" and target.min_os == Version("10.13")
    assert macos_target(["universal2"], None).is_universal2
    assert macos_target(["amd64", "aarch64"], "11.0").is_universal2
    with pytest.raises(TargetError, match="architecture"):
        macos_target(["sparc"], None)
    with pytest.raises(TargetError):
        macos_target([], None)
    with pytest.raises(TargetError):
        macos_target(["arm64"], "ten")


def test_min_os_for_arm64_floor() -> None:
    target = parse_target("macos-universal2", "10.13")
    assert target.min_os_for("x86_64") == Version("10.13")
    assert target.min_os_for("arm64") == Version("11.0")
    assert parse_target("macos-universal2", "12.0").min_os_for("arm64") == Version("12.0")
    assert parse_target("macos-universal2").min_os_for("arm64") is None


@pytest.mark.parametrize(
    ("text", "min_os", "expected"),
    [
        ("macos-x86_64", None, ("macosx_10_9_x86_64",)),
        ("macos-x86_64", "10.13", ("macosx_10_13_x86_64",)),
        ("macos-arm64", None, ("macosx_11_0_arm64",)),
        ("macos-arm64", "10.13", ("macosx_11_0_arm64",)),
        ("macos-universal2", "10.15", ("macosx_10_15_universal2",)),
        ("macosx_10_5_fat3", None, ("macosx_10_5_fat3",)),
        ("macosx_10_5_fat32", None, ("macosx_10_5_fat32",)),
        ("linux-aarch64", None, ("manylinux2014_aarch64", "manylinux_2_28_aarch64")),
        ("linux-riscv64", None, ("linux_riscv64",)),
        ("linux-musl-x86_64", None, ("musllinux_1_2_x86_64", "musllinux_1_1_x86_64")),
        ("windows-x86", None, ("win32",)),
        ("windows-amd64", None, ("win_amd64",)),
    ],
)
def test_pip_platforms(text: str, min_os: Optional[str], expected: tuple[str, ...]) -> None:
    assert parse_target(text, min_os).pip_platforms() == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty target"),
        ("   ", "empty target"),
        ("foo", "unknown target 'foo'; accepted: macos-x86_64"),
        ("x86_64", "names no platform"),
        ("arm64", "names no platform"),
        ("macos-", "unknown target"),
        ("macos-x86", "unknown macos architecture 'x86'"),
        ("macos-arm64+sparc", "unknown macos architecture 'sparc'"),
        ("linux-foo", "unknown linux architecture 'foo' in 'linux-foo'; expected one of:"),
        ("linux-musl-", "unknown linux architecture"),
        ("windows-amd", "unknown windows architecture"),
        ("windows-x86_32", "unknown windows architecture"),
        ("freebsd-amd64", "unknown target"),
        ("macosx_10_13_foo", "unknown macos architecture 'foo'"),
        ("macosx_9_0_x86_64", "macOS versions are 10.x"),
        ("manylinux_2_17_bogus", "unknown linux architecture 'bogus'"),
        ("musllinux_1_2_", "unknown target"),
        ("win_foo", "unknown windows architecture 'foo'"),
        ("cp311-cp311-any", "platform independent"),
        ("cffi-1.0-py3-none-any.whl", "platform independent"),
        ("x-y-macosx_10_9_x86_64.macosx_11_0_arm64", "names several targets"),
        ("not-a.whl", "unknown target"),
    ],
)
def test_errors(text: str, message: str) -> None:
    with pytest.raises(TargetError, match=message.replace("(", r"\(").replace("+", r"\+")):
        parse_target(text)


def test_error_lists_accepted_forms_and_is_value_error() -> None:
    with pytest.raises(ValueError) as info:
        parse_target("nonsense")
    for form in ("macos-universal2", "linux-musl-<arch>", "windows-x86", "manylinux_2_28_aarch64"):
        assert form in str(info.value)


@pytest.mark.parametrize(
    ("text", "min_os"),
    [("linux-x86_64", "10.13"), ("windows-amd64", "11.0"), ("macos-arm64", "abc"),
     ("macos-arm64", "10.13.dev1"), ("macos-arm64", "9.0"), ("macos-arm64", "10.13.1.2"),
     ("macos-arm64", "")],
)  # fmt: skip
def test_min_os_errors(text: str, min_os: str) -> None:
    with pytest.raises(TargetError):
        parse_target(text, min_os)


def test_parse_min_os() -> None:
    assert str(parse_min_os("11")) == "11.0"
    assert parse_min_os(Version("10.13")) == Version("10.13")
    assert target_mod.format_version(Version("10.15.4")) == "10.15.4"
    assert target_mod.format_version(Version("10.15.0")) == "10.15"


@given(st.text(max_size=60), st.one_of(st.none(), st.text(max_size=12)))
def test_never_raises_anything_but_target_error(text: str, min_os: Optional[str]) -> None:
    try:
        target = parse_target(text, min_os)
    except TargetError:
        return
    assert target.name and target.archs


# -- host_target -------------------------------------------------------------------------


def test_host_target_here_is_consistent() -> None:
    target = host_target()
    assert parse_target(target.name).archs == target.archs


def _fake_host(
    monkeypatch: pytest.MonkeyPatch,
    sys_platform: str,
    machine: str = "",
    get_platform: str = "",
    config: Optional[dict[str, str]] = None,
    tags: Optional[list[str]] = None,
) -> None:
    monkeypatch.setattr(target_mod.sys, "platform", sys_platform)
    monkeypatch.setattr(target_mod._platform, "machine", lambda: machine)
    monkeypatch.setattr(target_mod.sysconfig, "get_platform", lambda: get_platform)
    monkeypatch.setattr(
        target_mod.sysconfig, "get_config_var", lambda name: (config or {}).get(name)
    )
    monkeypatch.setattr(target_mod, "platform_tags", lambda: iter(tags or []))
    monkeypatch.delenv("MACOSX_DEPLOYMENT_TARGET", raising=False)


def test_host_macos_arm64_universal2_python(monkeypatch: pytest.MonkeyPatch) -> None:
    # a universal2 Python runs as one architecture: platform.machine() says which
    _fake_host(
        monkeypatch, "darwin", "arm64", "macosx-10.9-universal2",
        {"MACOSX_DEPLOYMENT_TARGET": "10.9"},
    )  # fmt: skip
    target = host_target()
    assert target.name == "macos-arm64" and target.min_os == Version("10.9")


def test_host_macos_rosetta_and_env_deployment_target(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_host(monkeypatch, "darwin", "x86_64", "", {"MACOSX_DEPLOYMENT_TARGET": "11.0"})
    monkeypatch.setenv("MACOSX_DEPLOYMENT_TARGET", "10.13")
    target = host_target()
    assert target.name == "macos-x86_64" and target.min_os == Version("10.13")
    monkeypatch.setenv("MACOSX_DEPLOYMENT_TARGET", "garbage")
    assert host_target().min_os == Version("11.0")


def test_host_linux_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_host(
        monkeypatch, "linux", "x86_64",
        tags=["manylinux_2_36_x86_64", "manylinux_2_17_x86_64", "linux_x86_64"],
    )  # fmt: skip
    assert host_target() == parse_target("linux-x86_64")


def test_host_linux_32bit_python_on_64bit_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_host(monkeypatch, "linux", "x86_64", tags=["manylinux_2_17_i686", "linux_i686"])
    assert host_target().name == "linux-i686"


def test_host_linux_musl(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_host(monkeypatch, "linux", "aarch64", tags=["musllinux_1_2_aarch64", "linux_aarch64"])
    assert host_target().name == "linux-musl-aarch64"


def test_host_linux_fallback_when_tags_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_host(monkeypatch, "linux", "weirdcpu")

    def boom() -> list[str]:
        raise OSError("no ELF header")

    monkeypatch.setattr(target_mod, "platform_tags", boom)
    assert host_target().archs == frozenset({"weirdcpu"})


@pytest.mark.parametrize(
    ("get_platform", "machine", "name"),
    [
        ("win-amd64", "AMD64", "windows-amd64"),
        ("win32", "AMD64", "windows-x86"),  # 32-bit Python on 64-bit Windows
        ("win-arm64", "ARM64", "windows-arm64"),
        ("mingw", "AMD64", "windows-amd64"),
    ],
)
def test_host_windows(
    monkeypatch: pytest.MonkeyPatch, get_platform: str, machine: str, name: str
) -> None:
    _fake_host(monkeypatch, "win32", machine, get_platform)
    assert host_target().name == name


def test_host_unknown_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_host(monkeypatch, "sunos5", "i86pc")
    with pytest.raises(TargetError, match="pass --target"):
        host_target()


def test_describe_names_the_oldest_macos_the_build_can_start_on() -> None:
    """arm64 Macs start at macOS 11: a 10.9 deployment target does not make an arm64 build
    run on 10.9, so it is described from 11.0; an x86_64 slice keeps the deployment target."""
    assert parse_target("macos-arm64", "10.9").describe() == "macos-arm64 (macOS 11.0 or newer)"
    assert parse_target("macos-universal2", "10.9").describe().endswith("(macOS 10.9 or newer)")
    assert parse_target("macos-x86_64", "10.13").describe().endswith("(macOS 10.13 or newer)")
