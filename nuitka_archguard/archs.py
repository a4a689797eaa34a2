"""The vocabulary: architecture names per platform, macOS binary formats, wheel platform tags
and which architecture runs which code. Tables are data; the functions only look things up.

Every other module (target parsing, the policy, advice, the plugin) asks here, so that a
name means one thing everywhere. Architecture names follow the binary readers: ``lipo``
names for Mach-O (``x86_64``, ``arm64``), ``uname -m`` names for ELF (``aarch64``,
``i686``), Python's ``win_*`` names for PE (``amd64``, ``x86``). Modelled on
``packaging.tags`` and auditwheel's ``architecture.py``.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Callable, Optional

from packaging.version import Version

__all__ = [
    "ALIASES",
    "ANDROID_ABIS",
    "ARCH_NOTES",
    "KNOWN_ARCHS",
    "MACOS_ARM64_FIRST",
    "MACOS_FORMATS",
    "PLATFORMS",
    "PLATFORM_NAMES",
    "UNIVERSAL2",
    "Libc",
    "Platform",
    "PlatformSpec",
    "PlatformTag",
    "macos_format",
    "macos_target_archs",
    "normalize",
    "parse_platform_tag",
    "provides",
    "python_version_of",
    "runs_via",
    "spec",
]


class Platform(str, enum.Enum):
    """An OS a build runs on; the values match the readers' ``Slice.platform`` names."""

    MACOS = "macos"
    LINUX = "linux"
    WINDOWS = "windows"
    ANDROID = "android"
    IOS = "ios"
    IOS_SIMULATOR = "ios-simulator"


@dataclass(frozen=True)
class PlatformSpec:
    """Everything one platform means to archguard, in one place (``packaging.tags``' one
    generator per platform, as data): a new platform is one new entry in :data:`PLATFORMS`.
    """

    platform: Platform
    display: str
    """How people write it in prose: ``macOS``."""
    words: tuple[str, ...]
    """What users put before an architecture in a target (``darwin-arm64``): the first is
    ours (``macos``)."""
    triple_os: tuple[str, ...]
    """OS words of target triples (``aarch64-apple-darwin``, ``x86_64-pc-windows-msvc``)."""
    conda: dict[str, str]
    """Architecture (the readers' name) -> conda subdir (``osx-arm64``)."""
    tag_examples: tuple[str, ...]
    """Wheel platform tags shown as examples."""
    default_min_os: Optional[Version]
    """The oldest OS a wheel tag names when none is given (macOS 10.9, iOS 13.0, API 24);
    None where the OS version is no part of a target."""
    min_os_words: Optional[str]
    """A target's minimum OS in messages: ``macOS {} or newer``; None: no minimum OS."""
    advice: str
    """Which fix the advice writes for a pip distribution: ``macos`` (lipo/Rosetta/universal2),
    ``linux`` (a container), ``windows`` (the ``py`` launcher), ``cross`` (a wheel for a
    ``--target`` folder: Nuitka does not build for phones)."""
    binary_format: str
    """The binary format its loader takes (a ``BinaryFormat`` value: ``mach-o``, ``elf``,
    ``pe``)."""
    suffixes: frozenset[str]
    """File suffixes of binaries it loads or runs, among those only some OSes use (``.so``
    counts for versioned names too); a ``.dll`` is never loaded on Linux."""


_MACOS_TAGS = ("macosx_10_13_x86_64", "macosx_11_0_universal2")
PLATFORMS: dict[Platform, PlatformSpec] = {
    Platform.MACOS: PlatformSpec(
        Platform.MACOS, "macOS", ("macos", "darwin", "osx", "mac"),
        ("darwin", "macos"), {"x86_64": "osx-64", "arm64": "osx-arm64"},
        _MACOS_TAGS, Version("10.9"), "macOS {} or newer", "macos", "mach-o",
        frozenset({".dylib", ".so"}),
    ),
    Platform.LINUX: PlatformSpec(
        Platform.LINUX, "Linux", ("linux",), ("linux",),
        {"x86_64": "linux-64", "aarch64": "linux-aarch64", "ppc64le": "linux-ppc64le",
         "s390x": "linux-s390x", "i686": "linux-32", "armv7l": "linux-armv7l"},
        ("manylinux_2_28_aarch64", "manylinux2014_x86_64", "musllinux_1_2_x86_64",
         "linux_x86_64"),
        None, None, "linux", "elf", frozenset({".so"}),
    ),
    Platform.WINDOWS: PlatformSpec(
        Platform.WINDOWS, "Windows", ("windows", "win"), ("windows",),
        {"amd64": "win-64", "x86": "win-32", "arm64": "win-arm64"},
        ("win_amd64", "win32", "win_arm64"), None, None, "windows", "pe",
        frozenset({".exe", ".dll", ".pyd"}),
    ),
    Platform.ANDROID: PlatformSpec(
        Platform.ANDROID, "Android", ("android",), ("android", "androideabi"), {},
        ("android_24_arm64_v8a",), Version("24"), "API level {} or newer", "cross", "elf",
        frozenset({".so"}),
    ),
    Platform.IOS: PlatformSpec(
        Platform.IOS, "iOS", ("ios",), ("ios",), {},
        ("ios_13_0_arm64_iphoneos",), Version("13.0"), "iOS {} or newer", "cross", "mach-o",
        frozenset({".dylib", ".so"}),
    ),
    Platform.IOS_SIMULATOR: PlatformSpec(
        Platform.IOS_SIMULATOR, "iOS simulator", ("ios-simulator",), (), {},
        ("ios_13_0_arm64_iphonesimulator",), Version("13.0"), "iOS {} or newer", "cross",
        "mach-o", frozenset({".dylib", ".so"}),
    ),
}  # fmt: skip
"""One entry per platform; every table below that is keyed by platform follows it."""

PLATFORM_NAMES: dict[str, str] = {
    **{plat.value: spec.display for plat, spec in PLATFORMS.items()},
    "maccatalyst": "Mac Catalyst",
}
"""Platform names as people write them, for messages (a slice may name Mac Catalyst)."""


def spec(platform: str | Platform) -> PlatformSpec:
    """The registry entry of a platform; raises ``KeyError`` for none (never a default)."""
    return PLATFORMS[Platform(platform)]


_CPYTHON_TAG = re.compile(r"cp([0-9])([0-9]{1,3})\Z")


def python_version_of(tag: str) -> Optional[str]:
    """``3.11`` from a CPython wheel tag ``cp311-cp311-...`` (or ``cp311-cp311``); None for
    ``abi3`` tags (they only give a minimum), other interpreters and anything else."""
    parts = tag.strip().split("-")
    if len(parts) < 2 or not parts[1].lower().startswith("cp"):
        return None
    match = _CPYTHON_TAG.match(parts[0].lower())
    return f"{match.group(1)}.{match.group(2)}" if match else None


class Libc(str, enum.Enum):
    GLIBC = "glibc"
    MUSL = "musl"


_MACHO = ("x86_64", "x86_64h", "arm64", "arm64e", "i386", "ppc", "ppc64")
KNOWN_ARCHS: dict[Platform, frozenset[str]] = {
    Platform.MACOS: frozenset(_MACHO),
    Platform.IOS: frozenset({"arm64", "arm64e"}),
    Platform.IOS_SIMULATOR: frozenset({"arm64", "x86_64"}),
    Platform.LINUX: frozenset(
        {
            "x86_64", "i686", "aarch64", "armv7l", "armv6l", "armel", "ppc64le", "ppc64",
            "s390x", "riscv64", "loongarch64", "mips64", "mips64el", "mips", "mipsel",
            "sparc64", "ppc",
        }
    ),
    Platform.ANDROID: frozenset({"aarch64", "armv7l", "i686", "x86_64"}),
    Platform.WINDOWS: frozenset({"amd64", "x86", "arm64", "arm"}),
}  # fmt: skip
"""Architectures a target may name, per platform, in the readers' names."""

ANDROID_ABIS: dict[str, str] = {
    "arm64_v8a": "aarch64",
    "armeabi_v7a": "armv7l",
    "x86": "i686",
    "x86_64": "x86_64",
}
"""Android ABI names (wheel tags, ``ANDROID_ABI``) -> the ELF reader's names."""

_APPLE_ALIASES = {"amd64": "x86_64", "x64": "x86_64", "x86-64": "x86_64", "aarch64": "arm64"}
ALIASES: dict[Platform, dict[str, str]] = {
    Platform.MACOS: _APPLE_ALIASES,
    Platform.IOS: _APPLE_ALIASES,
    Platform.IOS_SIMULATOR: _APPLE_ALIASES,
    Platform.LINUX: {
        "amd64": "x86_64", "x64": "x86_64", "x86-64": "x86_64", "arm64": "aarch64",
        "i386": "i686",
        "i486": "i686", "i586": "i686", "x86": "i686", "armv7": "armv7l", "armhf": "armv7l",
        "armv7hl": "armv7l", "armv8l": "armv7l", "ppc64el": "ppc64le",
    },
    Platform.ANDROID: {
        **ANDROID_ABIS, "amd64": "x86_64", "arm64": "aarch64", "i386": "i686",
        "armv7": "armv7l",
    },
    Platform.WINDOWS: {
        "x86_64": "amd64", "x64": "amd64", "x86-64": "amd64", "win_amd64": "amd64",
        "i386": "x86",
        "i686": "x86", "win32": "x86", "aarch64": "arm64", "arm32": "arm",
    },
}  # fmt: skip
"""Other names users and tools give an architecture -> the readers' name, per platform."""

MACOS_FORMATS: dict[str, frozenset[str]] = {
    "universal2": frozenset({"arm64", "x86_64"}),
    "intel": frozenset({"i386", "x86_64"}),
    "fat": frozenset({"i386", "ppc"}),
    "fat32": frozenset({"i386", "ppc"}),
    "fat3": frozenset({"i386", "ppc", "x86_64"}),
    "fat64": frozenset({"ppc64", "x86_64"}),
    "universal": frozenset({"i386", "ppc", "ppc64", "x86_64"}),
}
"""macOS multi-architecture "binary formats" of wheel tags (CPython's
``_osx_support.get_platform_osx``, ``packaging.tags._mac_binary_formats``)."""
UNIVERSAL2 = MACOS_FORMATS["universal2"]

MACOS_TARGET_FORMATS: dict[str, frozenset[str]] = {
    "universal2": UNIVERSAL2,
    # i386 runs no macOS that Python supports; the "intel" wheel tag installs on x86_64 Macs
    "intel": frozenset({"x86_64"}),
}
"""What a format name means as a *target* (``macos-intel``, a ``macosx_10_9_intel`` tag),
where it differs from what the tag promises (:data:`MACOS_FORMATS`)."""


def macos_target_archs(archs: frozenset[str]) -> frozenset[str]:
    """The archs a macOS target needs when its name or tag says these (``intel`` -> x86_64)."""
    for name, members in MACOS_FORMATS.items():
        if members == archs and name in MACOS_TARGET_FORMATS:
            return MACOS_TARGET_FORMATS[name]
    return archs


MACOS_ARM64_FIRST = Version("11.0")
"""arm64 Macs start at macOS 11: a lower minimum cannot apply to an arm64 slice."""
ARM64_MAC = frozenset({"arm64", "arm64e"})

ARCH_NOTES: dict[str, str] = {
    "armel": "soft-float ARM EABI; armv7l means the hard-float ABI (armhf)",
    "x32": "the x32 ABI, which no x86_64 process loads",
}
"""What an architecture name means where the name alone may mislead."""

PATH_WORDS: frozenset[str] = frozenset(
    {
        # operating systems, as folder and file names spell them
        "linux", "manylinux", "musllinux", "macos", "macosx", "darwin", "osx", "mac",
        "windows", "win", "win32", "win64", "android", "ios",
        # architectures
        "x86", "x64", "x86_64", "x86-64", "amd64", "i386", "i686", "ia32", "arm64", "aarch64",
        "arm", "arm32", "armv7", "armv7l", "armhf", "ppc64le", "s390x", "riscv64",
        "universal", "universal2", "intel",
    }
)  # fmt: skip
"""Platform and architecture words in folder and file names of packages that ship one copy
of a binary per platform (``linux-x86_64/``, ``win-arm64/``, ``attach_amd64.dll``)."""

# -- which code serves which process --------------------------------------------------------

_SAME_CODE = {"i386": "i686", "i486": "i686", "i586": "i686", "armv7": "armv7l",
              "armv7hl": "armv7l"}  # fmt: skip
_LOADS_INTO: dict[tuple[Platform, str], frozenset[str]] = {
    # An ARM64X file holds native arm64 code (and arm64ec); it loads into arm64 processes.
    (Platform.WINDOWS, "arm64x"): frozenset({"arm64"}),
}
"""(platform, slice arch) -> other process archs that load a slice of it natively."""

NATIVE = "native"
_RUNS: dict[tuple[Platform, str, str], str] = {
    (Platform.MACOS, "arm64", "x86_64"): "Rosetta 2",
    (Platform.MACOS, "arm64", "x86_64h"): "Rosetta 2",
    (Platform.WINDOWS, "amd64", "x86"): NATIVE,  # WOW64 runs 32-bit x86 without emulation
    (Platform.WINDOWS, "arm64", "arm64x"): NATIVE,
    (Platform.WINDOWS, "arm64", "x86"): "x86 emulation on Windows on Arm",
    (Platform.WINDOWS, "arm64", "amd64"): "x64 emulation on Windows on Arm",
    (Platform.WINDOWS, "arm64", "arm64ec"): "x64 emulation on Windows on Arm",
    (Platform.LINUX, "x86_64", "i686"): "32-bit compatibility libraries",
}
"""(platform, machine, executable's arch) -> how it runs there: natively or through what."""


def _same(arch: str) -> str:
    return _SAME_CODE.get(arch, arch)


def provides(slice_arch: str, process_arch: str, platform: str) -> bool:
    """Whether a loaded slice of ``slice_arch`` serves a ``process_arch`` process (``x86_64h``
    does not: a Mac picks it on Haswell and later, the file must still carry x86_64)."""
    if _same(slice_arch) == _same(process_arch):
        return True
    key = (_as_platform(platform), slice_arch)
    return process_arch in _LOADS_INTO.get(key, frozenset())  # type: ignore[arg-type]


def runs_via(exe_arch: str, machine: str, platform: str) -> Optional[str]:
    """How an executable of ``exe_arch`` runs on a ``machine``: :data:`NATIVE`, the name of
    an emulation, or ``None`` when it cannot run there."""
    if _same(exe_arch) == _same(machine):
        return NATIVE
    return _RUNS.get((_as_platform(platform), _same(machine), _same(exe_arch)))  # type: ignore[arg-type]


def _as_platform(value: str) -> Optional[Platform]:
    """The enum member (tables are keyed by members, whose hash differs from the string's)."""
    try:
        return Platform(value)
    except ValueError:
        return None


# -- names ----------------------------------------------------------------------------------


class UnknownArch(ValueError):
    """An architecture the platform does not know; the message lists what it knows."""


def normalize(platform: Platform, raw: str) -> str:
    """The readers' name for ``raw`` on ``platform`` (aliases resolved, case ignored)."""
    low = raw.strip().lower()
    arch = ALIASES[platform].get(low, low)
    known = KNOWN_ARCHS[platform]
    if arch not in known:
        raise UnknownArch(
            f"unknown {platform.value} architecture {raw!r}; "
            f"expected one of: {', '.join(sorted(known))}"
        )
    return arch


def macos_format(archs: frozenset[str]) -> Optional[str]:
    """The binary format name of a set of macOS archs (``universal2``), or None."""
    for name, members in MACOS_FORMATS.items():
        if members == archs and name != "fat":
            return name
    return None


# -- wheel platform tags --------------------------------------------------------------------


@dataclass(frozen=True)
class PlatformTag:
    """What one wheel platform tag promises: an OS, architectures (all of them in every
    binary), the oldest OS release (macOS/iOS version, Android API level) and the libc."""

    platform: Platform
    archs: frozenset[str]
    min_os: Optional[Version] = None
    libc: Optional[Libc] = None


# ASCII digits only (a regex digit class also matches other scripts' digits), at most 4.
_MACOSX_TAG = re.compile(r"macosx_([0-9]{1,4})_([0-9]{1,4})_([a-z0-9_]+)")
_LINUX_TAGS = (
    (re.compile(r"manylinux_[0-9]{1,4}_[0-9]{1,4}_([a-z0-9_]+)"), Libc.GLIBC),
    (re.compile(r"manylinux(?:1|2010|2014)_([a-z0-9_]+)"), Libc.GLIBC),
    (re.compile(r"musllinux_[0-9]{1,4}_[0-9]{1,4}_([a-z0-9_]+)"), Libc.MUSL),
    (re.compile(r"linux_([a-z0-9_]+)"), Libc.GLIBC),
)
_ANDROID_TAG = re.compile(r"android_([0-9]{1,4})_([a-z0-9_]+)")
_IOS_TAG = re.compile(r"ios_([0-9]{1,4})_([0-9]{1,4})_([a-z0-9_]+?)_(iphoneos|iphonesimulator)")
_IOS_SDKS = {"iphoneos": Platform.IOS, "iphonesimulator": Platform.IOS_SIMULATOR}
WINDOWS_TAGS: dict[str, str] = {
    "amd64": "win_amd64",
    "x86": "win32",
    "arm64": "win_arm64",
    "arm": "win_arm32",
}
"""Windows arch -> its wheel platform tag."""
_WINDOWS_BY_TAG = {tag: arch for arch, tag in WINDOWS_TAGS.items()}
MANYLINUX2014_ARCHS = frozenset({"x86_64", "i686", "aarch64", "armv7l", "ppc64le", "s390x"})


def _macos_tag(tag: str) -> Optional[PlatformTag]:
    match = _MACOSX_TAG.fullmatch(tag)
    if not match:
        return None
    name = match.group(3)
    archs = MACOS_FORMATS.get(name) or frozenset({normalize(Platform.MACOS, name)})
    return PlatformTag(Platform.MACOS, archs, Version(f"{match.group(1)}.{match.group(2)}"))


def _linux_tag(tag: str) -> Optional[PlatformTag]:
    for pattern, libc in _LINUX_TAGS:
        match = pattern.fullmatch(tag)
        if match:
            arch = normalize(Platform.LINUX, match.group(1))
            return PlatformTag(Platform.LINUX, frozenset({arch}), None, libc)
    return None


def _windows_tag(tag: str) -> Optional[PlatformTag]:
    if tag in _WINDOWS_BY_TAG:
        return PlatformTag(Platform.WINDOWS, frozenset({_WINDOWS_BY_TAG[tag]}))
    if tag.startswith("win_"):
        return PlatformTag(Platform.WINDOWS, frozenset({normalize(Platform.WINDOWS, tag[4:])}))
    return None


def _android_tag(tag: str) -> Optional[PlatformTag]:
    match = _ANDROID_TAG.fullmatch(tag)
    if not match:
        return None
    arch = normalize(Platform.ANDROID, match.group(2))
    return PlatformTag(Platform.ANDROID, frozenset({arch}), Version(match.group(1)))


def _ios_tag(tag: str) -> Optional[PlatformTag]:
    """Devices and the simulator: one tag shape, the SDK names the platform."""
    match = _IOS_TAG.fullmatch(tag)
    if not match:
        return None
    platform = _IOS_SDKS[match.group(4)]
    arch = normalize(platform, match.group(3))
    return PlatformTag(platform, frozenset({arch}), Version(f"{match.group(1)}.{match.group(2)}"))


_TAG_PARSERS: dict[Platform, Callable[[str], Optional[PlatformTag]]] = {
    Platform.MACOS: _macos_tag,
    Platform.LINUX: _linux_tag,
    Platform.WINDOWS: _windows_tag,
    Platform.ANDROID: _android_tag,
    Platform.IOS: _ios_tag,  # and the simulator
}
"""One tag parser per platform, tried in :data:`PLATFORMS` order (``packaging.tags``' one
function per platform behind one dispatch)."""


def parse_platform_tag(tag: str) -> Optional[PlatformTag]:
    """``macosx_10_9_universal2`` -> macOS, {arm64, x86_64}, 10.9; ``None`` for ``any`` and
    tags of no known shape. Raises :class:`UnknownArch` for a known shape naming an unknown
    architecture (``linux_z80``)."""
    tag = tag.strip().lower()
    for parse in _TAG_PARSERS.values():
        parsed = parse(tag)
        if parsed is not None:
            return parsed
    return None


def _tag_version(version: Optional[Version], default: str) -> str:
    major, minor = (*(version or Version(default)).release, 0)[:2]
    return f"{major}_{minor}"


def _oldest(platform: Platform) -> str:
    return str(PLATFORMS[platform].default_min_os)


def _macos_tags(
    platform: Platform, archs: frozenset[str], min_os: Optional[Version], libc: Optional[Libc]
) -> tuple[str, ...]:
    arch = next(iter(archs)) if len(archs) == 1 else ""
    if archs == UNIVERSAL2:
        return (f"macosx_{_tag_version(min_os, _oldest(platform))}_universal2",)
    if arch in ARM64_MAC:
        floor = min_os if min_os is not None and min_os > MACOS_ARM64_FIRST else None
        return (f"macosx_{_tag_version(floor, str(MACOS_ARM64_FIRST))}_arm64",)
    if arch in {"x86_64", "i386", "ppc", "ppc64"}:
        return (f"macosx_{_tag_version(min_os, _oldest(platform))}_{arch}",)
    name = macos_format(archs)
    return (f"macosx_{_tag_version(min_os, _oldest(platform))}_{name}",) if name else ()


def _linux_tags(
    platform: Platform, archs: frozenset[str], min_os: Optional[Version], libc: Optional[Libc]
) -> tuple[str, ...]:
    arch = next(iter(archs)) if len(archs) == 1 else ""
    if not arch or arch == "armel":
        return ()
    if libc is Libc.MUSL:
        return (f"musllinux_1_2_{arch}", f"musllinux_1_1_{arch}")
    if arch in MANYLINUX2014_ARCHS:
        return (f"manylinux2014_{arch}", f"manylinux_2_28_{arch}")
    return (f"linux_{arch}",)


def _windows_tags(
    platform: Platform, archs: frozenset[str], min_os: Optional[Version], libc: Optional[Libc]
) -> tuple[str, ...]:
    arch = next(iter(archs)) if len(archs) == 1 else ""
    return (WINDOWS_TAGS[arch],) if arch in WINDOWS_TAGS else ()


def _android_tags(
    platform: Platform, archs: frozenset[str], min_os: Optional[Version], libc: Optional[Libc]
) -> tuple[str, ...]:
    arch = next(iter(archs)) if len(archs) == 1 else ""
    abi = next((a for a, r in ANDROID_ABIS.items() if r == arch), None)
    level = str((min_os or Version(_oldest(platform))).release[0])
    return (f"android_{level}_{abi}",) if abi else ()


def _ios_tags(
    platform: Platform, archs: frozenset[str], min_os: Optional[Version], libc: Optional[Libc]
) -> tuple[str, ...]:
    arch = next(iter(archs)) if len(archs) == 1 else ""
    if not arch:
        return ()
    sdk = next(s for s, p in _IOS_SDKS.items() if p is platform)
    return (f"ios_{_tag_version(min_os, _oldest(platform))}_{arch}_{sdk}",)


_TagMaker = Callable[[Platform, frozenset[str], Optional[Version], Optional[Libc]], tuple[str, ...]]
_TAG_MAKERS: dict[Platform, _TagMaker] = {
    Platform.MACOS: _macos_tags,
    Platform.LINUX: _linux_tags,
    Platform.WINDOWS: _windows_tags,
    Platform.ANDROID: _android_tags,
    Platform.IOS: _ios_tags,
    Platform.IOS_SIMULATOR: _ios_tags,
}
"""One tag generator per platform; every platform of the registry has one."""
assert set(_TAG_MAKERS) == set(PLATFORMS) and set(_TAG_PARSERS) <= set(PLATFORMS)


def platform_tags(
    platform: Platform,
    archs: frozenset[str],
    min_os: Optional[Version] = None,
    libc: Optional[Libc] = None,
) -> tuple[str, ...]:
    """Wheel platform tags for ``pip --platform`` that fetch wheels for these archs, the most
    specific first; empty when no wheel tag names them (a macOS i386+ppc target)."""
    return _TAG_MAKERS[platform](platform, archs, min_os, libc)


def wheel_archs(tag: str) -> Optional[tuple[Platform, frozenset[str]]]:
    """(platform, archs) the platform part of a full tag (``cp311-cp311-win_amd64``) or a
    bare platform tag promises; ``None`` for ``any`` or anything not understood."""
    try:
        parsed = parse_platform_tag(tag.rsplit("-", 1)[-1])
    except UnknownArch:
        return None
    return None if parsed is None else (parsed.platform, parsed.archs)
