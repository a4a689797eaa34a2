"""What a build must run on: a platform, the architectures every loaded binary needs, and
for macOS the oldest OS version it must start on.

Targets are parsed from our own short names (``macos-universal2``, ``linux-musl-aarch64``)
and from wheel platform tags (``macosx_10_13_x86_64``, ``manylinux_2_28_aarch64``), because
users copy both from wherever they are: a CI matrix, a wheel file name, ``pip debug``.
Architecture names follow the binary readers (``lipo`` / ``uname -m`` / ``win_*`` names) so
that checking a slice is a plain set lookup.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import platform as _platform
import re
import sys
import sysconfig
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from packaging.markers import default_environment
from packaging.tags import Tag, parse_tag, platform_tags
from packaging.version import Version

from . import archs
from .archs import Libc, Platform
from .text import shown
from .wheel import parse_name

__all__ = [
    "Libc",
    "Platform",
    "Target",
    "TargetError",
    "format_version",
    "host_target",
    "macos_target",
    "marker_environments",
    "parse_min_os",
    "parse_target",
]


class TargetError(ValueError):
    """A target or minimum OS version that cannot be understood. The message says what is
    accepted, so the CLI can print it as is."""


def _spellings(plat: Platform) -> tuple[list[str], list[str]]:
    """(our names for ``plat``, the architectures its ``<arch>`` stands for); a platform
    with few architectures has each name spelt out."""
    if plat is Platform.MACOS:
        formats = (f"macos-{name}" for name in archs.MACOS_FORMATS)
        names = ["macos-x86_64", "macos-arm64", "macos-<arch>[+<arch>]", *formats]
        return names, sorted(archs.KNOWN_ARCHS[plat])
    if plat is Platform.LINUX:
        return ["linux-<arch>", "linux-musl-<arch>"], sorted(archs.KNOWN_ARCHS[plat])
    known = archs.ANDROID_ABIS if plat is Platform.ANDROID else archs.KNOWN_ARCHS.get(plat, ())
    order = ("amd64", "x86_64", "x86", "arm64", "arm64_v8a")  # the common ones first
    ranked = sorted(known, key=lambda a: (order.index(a) if a in order else len(order), a))
    return [f"{plat.value}-{arch}" for arch in ranked], []


def accepted_targets(with_archs: bool = True) -> str:
    """Every spelling :func:`parse_target` accepts, generated from the platform tables it
    parses with (:mod:`.archs`), for ``--target``'s help and for errors: one list."""
    parts = []
    for plat in Platform:
        names, arch_list = _spellings(plat)
        joined = ", ".join(names)
        parts.append(
            f"{joined} (<arch>: {' '.join(arch_list)})" if with_archs and arch_list else joined
        )
    tags = ", ".join(tag for plat in Platform for tag in archs.spec(plat).tag_examples)
    aliases = "; common aliases (x64, amd64, aarch64, armhf, ...) work too" if with_archs else ""
    return (
        ", ".join(parts)
        + aliases
        + "; other spellings such as "
        + ", ".join(OTHER_SPELLINGS)
        + "; or a wheel platform tag (dotted ones too), full tag or wheel file name "
        f"such as {tags}"
    )


OTHER_SPELLINGS = (
    "darwin-arm64", "darwin-x86_64", "osx-arm64", "osx-64", "linux-64", "linux-aarch64",
    "win-64", "win-32", "win-arm64", "x86_64-apple-darwin", "aarch64-apple-darwin",
    "aarch64-unknown-linux-gnu", "x86_64-unknown-linux-musl", "x86_64-pc-windows-msvc",
    "aarch64-pc-windows-msvc",
)  # fmt: skip
"""Neighbouring ecosystems' names that parse too (conda subdirs, Rust/LLVM target triples),
shown in help; every one is parsed by the tests."""


_ACCEPTED = "accepted: " + accepted_targets(with_archs=False)
_WITH_MIN_OS = frozenset(p for p, s in archs.PLATFORMS.items() if s.min_os_words is not None)


@dataclass(frozen=True)
class Target:
    """The platform a build must run on.

    ``archs`` are all required: a ``macos-universal2`` build needs both slices in every
    binary the Python process loads. ``min_os`` (macOS only) is the oldest macOS the build
    must start on; ``None`` means "not checked". ``name`` is filled in when left empty.
    """

    platform: str
    archs: frozenset[str]
    min_os: Optional[Version] = None
    libc: Optional[str] = None
    name: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.platform not in {p.value for p in Platform}:
            raise TargetError(f"unknown platform {self.platform!r}; {_ACCEPTED}")
        if isinstance(self.platform, Platform):  # keep the plain string: it is printed
            object.__setattr__(self, "platform", self.platform.value)
        if not isinstance(self.archs, frozenset):
            object.__setattr__(self, "archs", frozenset(self.archs))
        if not self.archs:
            raise TargetError("a target needs at least one architecture")
        if isinstance(self.min_os, str):
            object.__setattr__(self, "min_os", parse_min_os(self.min_os))
        if self.min_os is not None and self.platform not in _WITH_MIN_OS:
            raise TargetError("a minimum OS version applies to macOS, iOS and Android only")
        if self.libc is not None and self.platform != Platform.LINUX:
            raise TargetError("a C library (glibc/musl) applies to Linux targets only")
        if not self.name:
            object.__setattr__(self, "name", _canonical_name(self))

    @property
    def is_universal2(self) -> bool:
        return self.platform == Platform.MACOS and self.archs == archs.UNIVERSAL2

    def min_os_for(self, arch: str) -> Optional[Version]:
        """The minimum macOS that matters for one slice: arm64 code never runs before 11.0,
        so an arm64 slice needing 11.0 is fine for a universal2 target with minimum 10.13."""
        if self.min_os is None:
            return None
        if self.platform != Platform.MACOS:
            return self.min_os
        if arch in archs.ARM64_MAC and self.min_os < archs.MACOS_ARM64_FIRST:
            return archs.MACOS_ARM64_FIRST
        return self.min_os

    def describe(self) -> str:
        """For messages: ``macos-x86_64 (macOS 10.13 or newer)``, ``linux-x86_64 (glibc)``,
        ``windows-x86 (32-bit Python)``, ``android-arm64_v8a (API level 24 or newer)``."""
        words = archs.spec(self.platform).min_os_words
        if words is not None:
            oldest = _min_os_text(self, oldest=True)
            return self.name if oldest is None else f"{self.name} ({words.format(oldest)})"
        if self.platform == Platform.LINUX:
            return f"{self.name} (glibc)" if self.libc == Libc.GLIBC else self.name
        bits = {"x86": "32-bit", "amd64": "64-bit", "arm64": "64-bit", "arm": "32-bit"}
        arch = next(iter(self.archs))
        return f"{self.name} ({bits[arch]} Python)" if len(self.archs) == 1 else self.name

    def pip_platforms(self) -> tuple[str, ...]:
        """Wheel platform tags for ``pip --platform`` that fetch wheels for this target;
        empty when pip has no such tag (e.g. a macOS i386+ppc target)."""
        min_os = self.min_os_for(next(iter(self.archs))) if len(self.archs) == 1 else self.min_os
        libc = Libc(self.libc) if self.libc else None
        return archs.platform_tags(Platform(self.platform), self.archs, min_os, libc)

    def to_json(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "archs": sorted(self.archs),
            "min_os": _min_os_text(self),
            "libc": self.libc,
            "name": self.name,
        }

    def __str__(self) -> str:
        return self.name


def _min_os_text(target: Target, oldest: bool = False) -> Optional[str]:
    """The minimum OS as written (an API level on Android); ``oldest``: the oldest OS the
    build really starts on (an arm64-only macOS build never runs before macOS 11)."""
    if target.min_os is None:
        return None
    if target.platform == Platform.ANDROID:
        return str(target.min_os.release[0])  # an API level
    if oldest and target.platform == Platform.MACOS:
        return format_version(min(v for v in map(target.min_os_for, target.archs) if v))
    return format_version(target.min_os)


def format_version(version: Version) -> str:
    """``10.13``, ``11.0``, ``10.15.4``: the way ``otool`` and the readers print them."""
    major, minor, micro = (*version.release, 0, 0)[:3]
    return f"{major}.{minor}.{micro}" if micro else f"{major}.{minor}"


def parse_min_os(text: Union[str, Version]) -> Version:
    """A macOS version such as ``10.13`` or ``11``; underscores (``10_13``) also work."""
    if isinstance(text, Version):
        version = text
    else:
        cleaned = str(text).strip().replace("_", ".")
        # ASCII digits only (a regex digit class also matches other scripts' digits).
        if not re.fullmatch(r"[0-9]{1,4}(\.[0-9]{1,4}){0,2}", cleaned):
            raise TargetError(
                f"invalid minimum macOS version {shown(repr(str(text)[:40]))}; expected e.g. "
                "10.13, 11.0 or 14"
            )
        version = Version(cleaned)
    if not 10 <= version.release[0] <= 99 or len(version.release) > 3:
        raise TargetError(f"invalid minimum macOS version {text!r}: macOS versions are 10.x, 11+")
    return Version(format_version(version))


def macos_target(archs: Iterable[str], min_os: Optional[str] = None) -> Target:
    """A macOS target from lipo-style names (aliases and formats like ``universal2`` work)."""
    wanted: set[str] = set()
    for arch in archs:
        wanted |= _macos_archs(str(arch).strip().lower(), str(arch))
    if not wanted:
        raise TargetError("a macOS target needs at least one architecture")
    return Target(
        Platform.MACOS.value,
        frozenset(wanted),
        parse_min_os(min_os) if min_os is not None else None,
    )


MAX_TARGET_LENGTH = 100
"""Characters of a target name or wheel tag (the longest real tags have about 40)."""


def parse_target(text: str, min_os: Optional[str] = None) -> Target:
    """Parse ``--target``. ``min_os`` (macOS only) overrides a version from a wheel tag."""
    if not isinstance(text, str) or not text.strip():
        raise TargetError(f"empty target; {_ACCEPTED}")
    if len(text) > MAX_TARGET_LENGTH:
        raise TargetError(f"invalid target: longer than {MAX_TARGET_LENGTH} characters")
    low = text.strip().lower()
    target = _parse_name(low, text) or _parse_triple(low, text) or _parse_dotted_tags(low, text)
    if target is None:
        target = _parse_platform_tag(low.replace("-", "_").replace(".", "_"), text)
    if target is None:
        target = _parse_full_tag(text.strip())
    if target is None:
        if _is_arch(low):
            raise TargetError(
                f"target {text!r} names no platform: say macos-{low}, linux-{low} or "
                f"windows-{low}; {_ACCEPTED}"
            )
        # One line: the close spellings when there are some, else the whole accepted list.
        raise TargetError(f"unknown target {text!r};{_did_you_mean(low) or ' ' + _ACCEPTED}")
    if min_os is not None:
        if target.platform != Platform.MACOS:
            raise TargetError(f"--min-os applies to macOS targets only, not to {target.name!r}")
        target = Target(target.platform, target.archs, parse_min_os(min_os), target.libc)
    return target


def host_target() -> Target:
    """The platform the running interpreter builds for.

    macOS: the interpreter's own architecture (``platform.machine()``: a universal2 Python
    runs as one architecture, and under Rosetta 2 reports x86_64) and the deployment target
    of its build (``MACOSX_DEPLOYMENT_TARGET`` in the environment wins, as for the compiler).
    Linux: the architecture and C library from ``packaging.tags`` (a 32-bit Python on a
    64-bit kernel gives i686). Windows: ``sysconfig.get_platform()``, which says ``win32``
    for a 32-bit Python on 64-bit Windows.
    """
    if sys.platform == "darwin":
        min_os: Optional[Version] = None
        for value in (
            os.environ.get("MACOSX_DEPLOYMENT_TARGET"),
            sysconfig.get_config_var("MACOSX_DEPLOYMENT_TARGET"),
        ):
            if value:
                try:
                    min_os = parse_min_os(str(value))
                    break
                except TargetError:
                    continue
        machine = _platform.machine().lower() or "x86_64"
        return Target(Platform.MACOS.value, frozenset(_macos_archs(machine, machine)), min_os)
    if sys.platform.startswith("linux"):
        return _host_linux()
    if sys.platform in {"win32", "cygwin"}:
        found = _parse_platform_tag(sysconfig.get_platform().lower().replace("-", "_"), "")
        if found is not None and found.platform == Platform.WINDOWS:
            return found
        machine = _platform.machine().lower()
        return Target(Platform.WINDOWS.value, frozenset({_arch(Platform.WINDOWS, machine)}))
    raise TargetError(
        f"nuitka-archguard does not know the platform {sys.platform!r}; pass --target"
    )


# -- internals ----------------------------------------------------------------------------


def _host_linux() -> Target:
    arch: Optional[str] = None
    libc = Libc.GLIBC.value
    try:
        for tag in platform_tags():
            if tag.startswith("musllinux_"):
                libc = Libc.MUSL.value
            elif tag.startswith("linux_"):
                arch = tag[len("linux_") :]
    except Exception:  # packaging probes the interpreter's ELF header; never fail on it
        arch = None
    if not arch:
        arch = _platform.machine().lower() or "x86_64"
    with contextlib.suppress(TargetError):  # an exotic machine: keep the kernel's name
        arch = _arch(Platform.LINUX, arch)
    return Target(Platform.LINUX.value, frozenset({arch}), None, libc)


def _arch(plat: Platform, raw: str, original: str = "") -> str:
    try:
        return archs.normalize(plat, raw)
    except archs.UnknownArch:
        where = f" in {original!r}" if original and original.strip().lower() != raw else ""
        known = ", ".join(sorted(archs.KNOWN_ARCHS[plat]))
        names = [*archs.KNOWN_ARCHS[plat], *archs.ALIASES[plat]]
        close = difflib.get_close_matches(raw, names, n=2, cutoff=0.6)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        raise TargetError(
            f"unknown {plat.value} architecture {raw!r}{where}{hint}; expected one of: {known}"
        ) from None


def _macos_archs(raw: str, original: str) -> set[str]:
    result: set[str] = set()
    for part in raw.split("+"):
        if part in archs.MACOS_FORMATS:
            result |= archs.MACOS_FORMATS[part]
        else:
            result.add(_arch(Platform.MACOS, part, original))
    return result


_CONDA_SUBDIRS: dict[str, tuple[Platform, str]] = {
    subdir: (plat, arch)
    for plat, entry in archs.PLATFORMS.items()
    for arch, subdir in entry.conda.items()
}
"""conda subdir (``osx-64``) -> (platform, arch), from the registry."""
_WORDS: tuple[tuple[str, Platform], ...] = tuple(
    sorted(
        ((word, plat) for plat, entry in archs.PLATFORMS.items() for word in entry.words),
        key=lambda item: -len(item[0]),  # ios-simulator before ios
    )
)
"""Platform words users put before an architecture (``darwin-arm64``), longest first."""


def _parse_name(low: str, original: str) -> Optional[Target]:
    """Our names (``macos-universal2``, ``linux-musl-aarch64``), other words for the same
    platforms (``darwin-arm64``, ``win-x64``) and conda subdirs (``osx-64``, ``linux-64``)."""
    if low in _CONDA_SUBDIRS:
        plat, arch = _CONDA_SUBDIRS[low]
        return Target(plat.value, frozenset({arch}), None, _default_libc(plat))
    for word, plat in _WORDS:
        if not (low.startswith(word + "-") and len(low) > len(word) + 1):
            continue
        rest = low[len(word) + 1 :]
        if plat is Platform.MACOS:
            wanted = archs.macos_target_archs(frozenset(_macos_archs(rest, original)))
            return Target(plat.value, wanted)
        libc = _default_libc(plat)
        if plat is Platform.LINUX:
            for prefix, value in (("musl-", Libc.MUSL.value), ("glibc-", Libc.GLIBC.value)):
                if rest.startswith(prefix):
                    libc, rest = value, rest[len(prefix) :]
        return Target(plat.value, frozenset({_arch(plat, rest, original)}), None, libc)
    return None


def _default_libc(plat: Platform) -> Optional[str]:
    return Libc.GLIBC.value if plat is Platform.LINUX else None


_TRIPLE_ENVS = {"musl": Libc.MUSL, "musleabi": Libc.MUSL, "musleabihf": Libc.MUSL}
# Platforms in the order a triple's words are matched: aarch64-linux-android names Linux too.
_TRIPLE_ORDER = (Platform.ANDROID, Platform.IOS, Platform.MACOS, Platform.WINDOWS, Platform.LINUX)


def _parse_triple(low: str, original: str) -> Optional[Target]:
    """A target triple (Rust, LLVM, Go's ``GOOS``-less cousins): ``x86_64-apple-darwin``,
    ``aarch64-unknown-linux-gnu``, ``x86_64-unknown-linux-musl``, ``x86_64-pc-windows-msvc``,
    ``aarch64-linux-android``, ``aarch64-apple-ios-sim``."""
    parts = low.split("-")
    if not 3 <= len(parts) <= 4 or not _is_arch(parts[0]):
        return None
    rest = parts[1:]
    for plat in _TRIPLE_ORDER:
        words = archs.PLATFORMS[plat].triple_os
        if not any(part.startswith(words) for part in rest):  # darwin23.1.0 too
            continue
        if plat is Platform.IOS and rest[-1] == "sim":
            plat = Platform.IOS_SIMULATOR
        if plat is Platform.MACOS:
            wanted = archs.macos_target_archs(frozenset(_macos_archs(parts[0], original)))
            return Target(plat.value, wanted)
        libc = _default_libc(plat)
        if plat is Platform.LINUX and rest[-1] in _TRIPLE_ENVS:
            libc = _TRIPLE_ENVS[rest[-1]].value
        return Target(plat.value, frozenset({_arch(plat, parts[0], original)}), None, libc)
    return None


def _parse_dotted_tags(low: str, original: str) -> Optional[Target]:
    """A pasted multi-tag platform (``manylinux_2_17_x86_64.manylinux2014_x86_64``): every
    part a tag, all for one target (the lowest minimum OS kept)."""
    if "." not in low or low.endswith(".whl"):
        return None
    found = [_parse_platform_tag(part, original) for part in low.split(".")]
    if not found or any(t is None for t in found):
        return None
    targets = [t for t in found if t is not None]
    if len({(t.platform, t.archs, t.libc) for t in targets}) > 1:
        names = ", ".join(sorted({t.name for t in targets}))
        raise TargetError(f"{original!r} names several targets ({names}); pass one of them")
    return min(targets, key=lambda t: t.min_os or Version("0"))


def _is_arch(word: str) -> bool:
    return any(word in known or word in archs.ALIASES[p] for p, known in archs.KNOWN_ARCHS.items())


def _spellings_to_suggest() -> list[str]:
    """Concrete spellings for "did you mean": our names, the other spellings, tag examples."""
    names = [
        "macos-x86_64", "macos-arm64", "macos-universal2", "macos-intel", "linux-x86_64",
        "linux-aarch64", "linux-musl-x86_64", "linux-musl-aarch64", "linux-armv7l",
        "windows-amd64", "windows-x86", "windows-arm64", "android-arm64_v8a",
        "android-x86_64", "ios-arm64", "ios-simulator-arm64",
    ]  # fmt: skip
    tags = [tag for entry in archs.PLATFORMS.values() for tag in entry.tag_examples]
    return [*names, *OTHER_SPELLINGS, *tags]


def _did_you_mean(low: str) -> str:
    close = difflib.get_close_matches(low, _spellings_to_suggest(), n=3, cutoff=0.6)
    return f" did you mean {' or '.join(close)}?" if close else ""


def _parse_platform_tag(tag: str, original: str) -> Optional[Target]:
    """One wheel platform tag (or sysconfig platform with ``-``/``.`` turned into ``_``)."""
    try:
        parsed = archs.parse_platform_tag(tag)
    except archs.UnknownArch as error:
        raise TargetError(f"{error} (in {original or tag!r}); {_ACCEPTED}") from None
    if parsed is None:
        return None
    min_os, wanted = parsed.min_os, parsed.archs
    if parsed.platform is Platform.MACOS:
        wanted = archs.macos_target_archs(wanted)  # macosx_10_9_intel: an x86_64 target
        if min_os is not None:
            min_os = parse_min_os(min_os)
    libc = parsed.libc.value if parsed.libc is not None else None
    return Target(parsed.platform.value, wanted, min_os, libc)


def _parse_full_tag(text: str) -> Optional[Target]:
    """A full tag (``cp311-cp311-macosx_11_0_arm64``) or a wheel file name."""
    tags: frozenset[Tag]
    try:
        if text.lower().endswith(".whl"):
            wheel = parse_name(os.path.basename(text))  # the one wheel-name parser
            if wheel is None:
                return None
            tags = frozenset(tag for each in wheel.tags for tag in parse_tag(each))
        elif text.count("-") == 2:
            tags = parse_tag(text)
        else:
            return None
    except ValueError:
        return None
    found = {_parse_platform_tag(tag.platform, text) for tag in tags}
    found.discard(None)
    if not found:
        if any(tag.platform == "any" for tag in tags):
            raise TargetError(f"{text!r} is platform independent ('any'): it names no target")
        return None
    if len({(t.platform, t.archs, t.libc) for t in found if t is not None}) > 1:
        names = ", ".join(sorted(t.name for t in found if t is not None))
        raise TargetError(f"{text!r} names several targets ({names}); pass one of them")
    # several manylinux aliases of one target: any will do; for macOS keep the lowest minimum
    return min((t for t in found if t is not None), key=lambda t: t.min_os or Version("0"))


def _canonical_name(target: Target) -> str:
    wanted = target.archs
    if target.platform == Platform.MACOS:
        if wanted == archs.UNIVERSAL2:
            return "macos-universal2"
        return "macos-" + "+".join(sorted(wanted))
    if target.platform == Platform.ANDROID:
        by_reader = {reader: abi for abi, reader in archs.ANDROID_ABIS.items()}
        wanted = frozenset(by_reader.get(a, a) for a in wanted)
    joined = "+".join(sorted(wanted))
    if target.platform == Platform.LINUX and target.libc == Libc.MUSL:
        return f"linux-musl-{joined}"
    return f"{target.platform}-{joined}"


# -- PEP 508 markers for the target ----------------------------------------------------------------

_MARKER_PLATFORMS = {
    "macos": ("darwin", "Darwin", "posix"),
    "linux": ("linux", "Linux", "posix"),
    "windows": ("win32", "Windows", "nt"),
    "android": ("android", "Android", "posix"),
    "ios": ("ios", "iOS", "posix"),
    "ios-simulator": ("ios", "iOS", "posix"),
}
_MARKER_MACHINES = {
    ("windows", "amd64"): "AMD64",
    ("windows", "x86"): "x86",
    ("windows", "arm64"): "ARM64",
    ("windows", "arm"): "ARM",
}
"""``platform.machine()`` where it differs from the target's arch name (Windows says AMD64)."""


def marker_environments(target: Target) -> list[dict[str, str]]:
    """PEP 508 marker environments for the target, one per architecture it needs: the
    compiling Python's version and implementation (Nuitka compiles for it), the target's
    ``sys_platform``, ``platform_system``, ``os_name`` and ``platform_machine``."""
    base = {str(k): str(v) for k, v in default_environment().items()}
    platform = _MARKER_PLATFORMS.get(target.platform)
    environments = []
    for arch in sorted(target.archs):
        env = dict(base)
        if platform is not None:
            env["sys_platform"], env["platform_system"], env["os_name"] = platform
        env["platform_machine"] = _MARKER_MACHINES.get((target.platform, arch), arch)
        environments.append(env)
    return environments
