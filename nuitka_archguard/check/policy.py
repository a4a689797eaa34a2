"""Judge a binary against a target: which findings, with which code and severity.

The readers only describe files; this module is the one place that decides what is wrong.
It knows nothing about who installed a file or how to fix it (ownership.py, advice.py):
a :class:`Finding` leaves here with an empty ``fix`` and no distribution, and the scanner
fills those in.
"""

from __future__ import annotations

import enum
import functools
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Optional

from packaging.version import InvalidVersion, Version

from .. import archs
from ..archs import Platform
from ..binaries import BinaryFormat, BinaryInfo, Slice
from ..common import plural
from ..text import shown

if TYPE_CHECKING:
    from ..target import Target
    from .ownership import Distribution

__all__ = [
    "Code",
    "Finding",
    "Role",
    "Severity",
    "Unloaded",
    "allowed",
    "built_for",
    "check_binary",
    "check_wheel_tags",
    "display_path",
    "distribution_for_other_os",
    "foreign_extension",
    "internal_error",
    "judge_unloaded",
    "new_finding",
    "other_os",
    "role_for",
    "serves",
    "skipped_by_name",
    "variant_key",
]


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"


class Code(str, enum.Enum):
    ARCH_MISSING = "arch-missing"
    PLATFORM_MISMATCH = "platform-mismatch"
    EXECUTABLE_ARCH = "executable-arch"
    MIN_OS_TOO_NEW = "min-os-too-new"
    WHEEL_TAG_MISMATCH = "wheel-tag-mismatch"
    UNREADABLE_BINARY = "unreadable-binary"
    FOREIGN_EXTENSION_ONLY = "foreign-extension-only"


class Role(str, enum.Enum):
    """What a file is *for*, which decides what it needs: a loaded binary needs every target
    arch as a slice, an executable only needs to run on each target machine."""

    EXTENSION_MODULE = "extension-module"
    SHARED_LIBRARY = "shared-library"
    EXECUTABLE = "executable"
    DATA_FILE = "data-file"

    @property
    def label(self) -> str:
        return self.value.replace("-", " ")


@dataclass(frozen=True)
class Finding:
    """One problem with one file (or, for ``wheel-tag-mismatch`` and a distribution's
    ``platform-mismatch``, one distribution). Made only by :func:`new_finding`; later
    stages add what they know (owner, fix, allowance) with ``dataclasses.replace``."""

    severity: Severity
    code: Code
    path: str
    format: BinaryFormat
    archs: tuple[str, ...]
    """What the file has (for ``min-os-too-new``: the slices that need too new an OS)."""
    required_archs: tuple[str, ...]
    message: str
    fix: str = ""
    distribution: Optional[Distribution] = None
    needed_by: tuple[str, ...] = ()
    module: Optional[str] = None
    allowed: bool = False
    allow_reason: Optional[str] = None
    allow_origin: Optional[str] = None
    """Where the rule that allows it was written (``[tool.archguard] allow in FILE``)."""
    role: Optional[Role] = None
    needs_min_os: Optional[str] = None
    """``min-os-too-new``: the newest minimum macOS among the offending slices."""

    @property
    def counts(self) -> bool:
        """Whether the finding counts towards the summary (allowed ones do not)."""
        return not self.allowed

    def to_json(self) -> dict[str, Any]:
        """The finding object of the scan JSON schema (schema_version 1)."""
        data: dict[str, Any] = {
            "severity": self.severity.value,
            "code": self.code.value,
            "path": display_path(self.path),
            "format": self.format.value,
            "archs": list(self.archs),
            "required_archs": list(self.required_archs),
            "distribution": None if self.distribution is None else self.distribution.to_json(),
            "needed_by": list(self.needed_by),
            "message": self.message,
            "fix": self.fix,
            "allowed": self.allowed,
            "module": self.module,
        }
        if self.allow_reason is not None:
            data["allow_reason"] = self.allow_reason
        if self.allow_origin is not None:
            data["allow_origin"] = self.allow_origin
        return data


DEFAULT_SEVERITY: dict[Code, Severity] = {
    Code.ARCH_MISSING: Severity.ERROR,
    Code.PLATFORM_MISMATCH: Severity.ERROR,
    Code.EXECUTABLE_ARCH: Severity.ERROR,
    Code.MIN_OS_TOO_NEW: Severity.WARNING,
    Code.WHEEL_TAG_MISMATCH: Severity.WARNING,
    Code.UNREADABLE_BINARY: Severity.WARNING,
    Code.FOREIGN_EXTENSION_ONLY: Severity.ERROR,
}


def new_finding(
    code: Code,
    path: str,
    message: str,
    *,
    severity: Optional[Severity] = None,
    format: BinaryFormat = BinaryFormat.NOT_A_BINARY,
    archs: tuple[str, ...] = (),
    required_archs: tuple[str, ...] = (),
    **context: Any,
) -> Finding:
    """The one way a finding is made: the code decides the severity unless told
    (``executable-arch`` under emulation, ``min-os-too-new`` with ``--strict-min-os``)."""
    return Finding(
        severity=DEFAULT_SEVERITY[code] if severity is None else severity,
        code=code,
        path=path,
        format=format,
        archs=tuple(archs),
        required_archs=tuple(required_archs),
        message=message,
        **context,
    )


def allowed(finding: Finding, reason: Optional[str], origin: Optional[str] = None) -> Finding:
    """The finding, kept in the report but no longer counted (``--allow PATTERN:REASON``)."""
    return replace(finding, allowed=True, allow_reason=reason, allow_origin=origin)


def internal_error(path: str, target: Target, error: BaseException) -> Finding:
    """A file archguard failed on: named, never a traceback in the user's build."""
    name = os.path.basename(path) or path
    return new_finding(
        Code.UNREADABLE_BINARY,
        path,
        f"{name} could not be checked: internal error in archguard "
        f"({type(error).__name__}: {error})",
        required_archs=_sorted(target.archs),
    )


def foreign_extension(
    module_name: str, info: BinaryInfo, target: Target, needed_by: Sequence[str] = ()
) -> Finding:
    """An extension module Nuitka leaves out because no file of it fits the target."""
    have = ", ".join(info.archs) if info.archs else "another platform"
    message = (
        f"extension module {module_name} exists only for {have}, so Nuitka leaves it out; "
        f"the target {target.name} needs {_fmt_archs(_sorted(target.archs))}"
    )
    if needed_by:
        message += f"; needed by {', '.join(needed_by)}"
    return new_finding(
        Code.FOREIGN_EXTENSION_ONLY,
        info.path,
        message,
        format=info.format,
        archs=info.archs,
        required_archs=_sorted(target.archs),
        needed_by=tuple(needed_by),
        module=module_name,
        role=Role.EXTENSION_MODULE,
    )


def display_path(path: str) -> str:
    """A path as one line of printable text whatever bytes its name holds: see
    :func:`nuitka_archguard.text.shown`."""
    return shown(path)


# -- roles ------------------------------------------------------------------------------------

# Extension module names of every platform, like importlib.machinery.EXTENSION_SUFFIXES but
# not only the running one's: .cpython-311-darwin.so, .cpython-311-x86_64-linux-gnu.so,
# .abi3.so, .cp311-win_amd64.pyd, .pypy310-pp73-x86_64-linux-gnu.so, plain .so and .pyd.
_EXTENSION_RE = re.compile(
    r"\.(?:(?:cpython|pypy|cp|pp|graalpy)[0-9a-z_.\-]*|abi3)\.(?:so|pyd)\Z|\.pyd\Z", re.IGNORECASE
)
_SHARED_LIBRARY_RE = re.compile(r"(?:\.dylib|\.dll|\.so(?:\.[0-9][0-9a-z.]*)?)\Z", re.IGNORECASE)
_LOADED_FILE_TYPES = frozenset({"dylib", "bundle", "shared-library", "dll"})
_EXECUTABLE_FILE_TYPES = frozenset({"executable"})


def role_for(name: str, info: Optional[BinaryInfo] = None) -> Role:
    """The role a file plays, from its name and, failing that, its file type.

    ``foo.abi3.so``, ``foo.cpython-311-darwin.so``, ``foo.cp311-win_amd64.pyd`` and a plain
    ``foo.so`` are extension modules; ``libfoo.so``/``libfoo.so.1``/``.dylib``/``.dll`` are
    shared libraries; other binaries go by their header's file type (executables; dylibs and
    bundles; anything else, such as object files, is data that is never loaded).
    """
    base = os.path.basename(name.replace("\\", "/"))
    if _EXTENSION_RE.search(base):
        return Role.EXTENSION_MODULE
    # A plain .so naming a platform (attach_linux_amd64.so) is a per-platform helper
    # library, not a module anyone imports.
    if base.lower().endswith(".so") and not base.startswith("lib") and not variant_key(base):
        return Role.EXTENSION_MODULE
    if _SHARED_LIBRARY_RE.search(base):
        return Role.SHARED_LIBRARY
    if info is None or not info.slices:
        return Role.DATA_FILE
    types = {s.file_type for s in info.slices}
    if types & _LOADED_FILE_TYPES:
        return Role.SHARED_LIBRARY
    if types & _EXECUTABLE_FILE_TYPES:
        return Role.EXECUTABLE
    return Role.DATA_FILE


# Suffixes only some OSes load or run (the platforms registry); names without them are
# judged by their content.
_SUFFIX_PLATFORMS = {
    suffix: frozenset(p.value for p, entry in archs.PLATFORMS.items() if suffix in entry.suffixes)
    for suffix in sorted({s for entry in archs.PLATFORMS.values() for s in entry.suffixes})
}
_SO_VERSION_RE = re.compile(r"\.so(?:\.[0-9][0-9a-z.]*)?\Z", re.IGNORECASE)


def used_on(name: str, platform: str) -> bool:
    """Whether a file of this name can be loaded or run on ``platform`` at all."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].lower()
    suffix = ".so" if _SO_VERSION_RE.search(base) else os.path.splitext(base)[1]
    platforms = _SUFFIX_PLATFORMS.get(suffix)
    return platforms is None or platform in platforms


def looks_loaded(name: str) -> bool:
    """Whether a name alone says the file is loaded into the process (.so/.pyd/.dylib/.dll)."""
    return role_for(name) in (Role.EXTENSION_MODULE, Role.SHARED_LIBRARY)


# -- architectures ------------------------------------------------------------------------------


def _slice_platform_ok(item: Slice, target: Target) -> Optional[str]:
    """None if the slice's OS fits the target, else a short name of what it is built for."""
    if item.platform is not None and item.platform != target.platform:
        return item.platform
    if target.platform == Platform.LINUX and target.libc and item.libc and item.libc != target.libc:
        return f"linux ({item.libc})"
    return None


_FORMAT_FOR_PLATFORM = {
    p.value: BinaryFormat(entry.binary_format) for p, entry in archs.PLATFORMS.items()
}
_FORMAT_OS = {
    BinaryFormat.MACHO: "macOS (Mach-O)",
    BinaryFormat.ELF: "Linux/Unix (ELF)",
    BinaryFormat.PE: "Windows (PE)",
}


def _fmt_archs(archs: Iterable[str]) -> str:
    items = list(archs)
    return ", ".join(items) if items else "no architecture"


def _sorted(archs: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(archs)))


# -- the check -------------------------------------------------------------------------------


def check_binary(
    info: BinaryInfo,
    target: Target,
    role: Optional[Role] = None,
    *,
    strict_min_os: bool = False,
) -> list[Finding]:
    """Every finding for one file; an empty list when it is fine or not a binary at all.

    ``info.error`` set means the magic said binary but the headers could not be read:
    an ``unreadable-binary`` warning. ``role`` None: decided by :func:`role_for`.

    A file whose name only another OS uses (``.exe``/``.dll``/``.pyd`` outside Windows,
    ``.dylib`` outside macOS, ``.so`` on Windows) is never loaded or run on the target:
    pip's and setuptools' Windows launcher templates in every virtualenv, per-OS copies in
    multi-platform packages. Such files give no finding here; the scanner counts them, and a
    distribution made only of them gets :func:`distribution_for_other_os`. ``MH_DSYM`` debug
    files and IL-only .NET assemblies (AnyCPU) give none either: never loaded, or loaded by
    any process.
    """
    required = _sorted(target.archs)
    name = display_path(os.path.basename(info.path.replace("\\", "/")))
    if not used_on(name, target.platform) or info.debug_only or info.any_cpu:
        return []
    if info.error is not None:
        what = "" if role is None else f"{role.label} "
        return [
            new_finding(
                code=Code.UNREADABLE_BINARY,
                path=info.path,
                format=info.format,
                archs=(),
                required_archs=required,
                message=f"{what}{name} cannot be checked: {info.error}",
                role=role,
            )
        ]
    if not info.is_binary:
        return []
    if role is None:
        role = role_for(info.path, info)
    if role is Role.DATA_FILE:
        return []

    findings: list[Finding] = []
    mismatch = _platform_mismatch(info, target, role, name, required)
    if mismatch is not None:
        return [mismatch]
    usable = [s for s in info.slices if _slice_platform_ok(s, target) is None]
    if role is Role.EXECUTABLE:
        finding = _executable_arch(info, usable, target, name, required)
    else:
        finding = _arch_missing(info, usable, target, role, name, required)
    if finding is not None:
        findings.append(finding)
    too_new = _min_os_too_new(info, usable, target, role, name, required, strict_min_os)
    if too_new is not None:
        findings.append(too_new)
    return findings


_USUAL_OS = {
    BinaryFormat(entry.binary_format): p.value for p, entry in reversed(archs.PLATFORMS.items())
}
"""The OS a format usually means when a file does not say: the registry's first platform of
that format (Mach-O: macOS, not iOS; ELF: Linux, not Android)."""


def built_for(info: BinaryInfo) -> Optional[str]:
    """The OS a binary is for: its slices' platform, else its format's usual OS."""
    platforms = list(dict.fromkeys(s.platform for s in info.slices if s.platform))
    if len(platforms) == 1:
        return platforms[0]
    return _USUAL_OS.get(info.format) if not platforms else None


def skipped_by_name(path: str, target: Target) -> bool:
    """Whether the file's name alone says the target never loads or runs it."""
    return not used_on(path, target.platform)


def other_os(info: BinaryInfo, target: Target) -> Optional[str]:
    """The OS a readable binary is built for when it is not the target's (by its format or
    because every slice names another OS; a C library mismatch is not another OS); None when
    it is for the target, or loaded anywhere (AnyCPU .NET), or not a binary."""
    if info.error is not None or not info.is_binary or info.any_cpu or info.debug_only:
        return None
    if info.format is not _FORMAT_FOR_PLATFORM.get(target.platform):
        return built_for(info) or _USUAL_OS.get(info.format)
    platforms = [s.platform for s in info.slices]
    if platforms and all(p is not None and p != target.platform for p in platforms):
        return built_for(info) or platforms[0]
    return None


# -- binaries nothing loads: the multi-platform payload rule ---------------------------------

_WORD = "|".join(sorted((re.escape(w) for w in archs.PATH_WORDS), key=len, reverse=True))
_WORD_RUN_RE = re.compile(
    rf"(?<![a-z0-9])(?:{_WORD})(?:[-_.](?:{_WORD}))*(?![a-z0-9])", re.IGNORECASE
)
_BINARY_SUFFIXES = (".exe", ".dll", ".pyd", ".dylib", ".bin", ".so")
_SO_VERSION_TAIL_RE = re.compile(r"\.[0-9][0-9a-z.]*")


def _without_suffix(name: str) -> str:
    """``libfoo.so.1.2`` -> ``libfoo``; ``x.dll`` -> ``x``. String methods and one anchored
    match of the tail: linear in the name, whatever a hostile zip member is called."""
    if name.endswith(_BINARY_SUFFIXES):
        return name.rsplit(".", 1)[0]
    at = name.rfind(".so.")
    if at > 0 and _SO_VERSION_TAIL_RE.fullmatch(name, at + 3):
        return name[:at]
    return name


def _without_version(name: str) -> str:
    """``tkdnd2.9.4`` -> ``tkdnd``, ``foo-1.2`` -> ``foo``: a trailing ``[-_.]?N(.N)*`` taken
    off by one backward scan (a regex anchored at the end is quadratic on a hostile name)."""
    digits = "0123456789"
    end = at = len(name)
    while at > 0:
        char = name[at - 1]
        if char in digits or (
            char == "." and at < end and name[at] in digits and at >= 2 and name[at - 2] in digits
        ):
            at -= 1
        else:
            break
    if at == end:
        return name
    if at > 0 and name[at - 1] in "-_.":
        at -= 1
    return name[:at]


def variant_key(path: str) -> Optional[tuple[str, tuple[str, ...]]]:
    """``(template, words)`` of a path whose folder or file names hold platform or
    architecture words (:data:`archs.PATH_WORDS`); None when they hold none.

    Two files are variants of one another when their templates are equal and their words
    differ: ``common/linux-x86_64/selenium-manager``, ``common/macos/selenium-manager`` and
    ``common/windows/selenium-manager.exe``; ``attach_x86.dll`` and ``attach_linux_amd64.so``;
    ``tkdnd/osx-x64/libtkdnd2.9.4.dylib`` and ``tkdnd/win-x64/libtkdnd2.10.3.dll``. In the
    file name, a ``lib`` prefix, the binary suffix and a trailing version do not count.
    """
    folder, slash, name = path.replace("\\", "/").lower().rpartition("/")
    name = _without_suffix(name)
    # A run of words never spans a "/": the folder's part is worked out once per folder.
    template, folder_words = _folder_words(folder)
    name, name_words = _collapsed_words(name[3:] if name.startswith("lib") else name)
    words = folder_words + name_words
    return (template + slash + _without_version(name), words) if words else None


def _collapsed_words(text: str) -> tuple[str, tuple[str, ...]]:
    """``text`` with each run of platform or architecture words replaced by a NUL, and the
    runs in order."""
    words: list[str] = []

    def collapse(match: re.Match[str]) -> str:
        words.append(match.group(0))
        return "\0"

    return _WORD_RUN_RE.sub(collapse, text), tuple(words)


_folder_words = functools.lru_cache(maxsize=1024)(_collapsed_words)


def serves(info: BinaryInfo, target: Target) -> frozenset[str]:
    """The target archs a readable binary for the target's OS loads into or runs on
    natively (empty for another OS, an unreadable file or a non-binary)."""
    if info.error is not None or not info.is_binary or info.debug_only:
        return frozenset()
    if not used_on(info.path, target.platform) or other_os(info, target) is not None:
        return frozenset()
    usable = [s for s in info.slices if _slice_platform_ok(s, target) is None]
    return frozenset(
        arch
        for arch in target.archs
        if any(
            archs.provides(s.arch, arch, target.platform)
            or archs.runs_via(s.arch, arch, target.platform) == archs.NATIVE
            for s in usable
        )
    )


class Unloaded(str, enum.Enum):
    """What the rule for binaries nothing loads made of one (see :func:`judge_unloaded`)."""

    KEPT = "kept"
    """Its findings stand (an executable for the target's OS, or a library something links)."""
    VARIANT = "variant"
    """Another platform's copy, with a copy for the target beside it: no finding."""
    OTHER_OS = "other-os"
    """Built for another OS and nothing loads it: skipped and counted."""
    WARNED = "warned"
    """A library for the target's OS but another arch that nothing links: a warning."""


_NOT_FOR_TARGET = frozenset({Code.ARCH_MISSING, Code.PLATFORM_MISMATCH, Code.EXECUTABLE_ARCH})


def judge_unloaded(
    info: BinaryInfo,
    role: Role,
    findings: Sequence[Finding],
    target: Target,
    *,
    linked: bool,
    variant: bool,
) -> tuple[Unloaded, list[Finding]]:
    """The rule for a helper executable or a shared library that is no extension module,
    whose findings say it does not fit the target (or whose name says another OS).

    ``linked``: an included binary links it (then it is loaded, and its findings stand).
    ``variant``: a sibling that differs only in platform words (:func:`variant_key`) serves
    the target, so the package picks that one at run time.
    """
    by_name = not used_on(info.path, target.platform)
    unfit = [f for f in findings if f.code in _NOT_FOR_TARGET and f.severity is Severity.ERROR]
    if role is Role.SHARED_LIBRARY and linked:
        return Unloaded.KEPT, list(findings)
    if not unfit and not by_name:
        return Unloaded.KEPT, list(findings)
    if variant:
        return Unloaded.VARIANT, []
    if by_name or other_os(info, target) is not None:
        return Unloaded.OTHER_OS, []
    if role is not Role.SHARED_LIBRARY:
        return Unloaded.KEPT, list(findings)
    why = (
        "; no included binary links it, so the program imports fine and only code that "
        "loads it on purpose fails"
    )
    return Unloaded.WARNED, [
        replace(f, severity=Severity.WARNING, message=f.message + why) if f in unfit else f
        for f in findings
    ]


def distribution_for_other_os(
    distribution: Distribution,
    target: Target,
    platforms: Sequence[str],
    loaded: int,
    found_archs: Sequence[str],
    path: str,
) -> Finding:
    """One ``platform-mismatch`` for a distribution whose wheel tag, or every loaded binary,
    is for another OS (a win_amd64 wheel in a Linux build): one finding, not one per file."""
    names = [archs.PLATFORM_NAMES.get(p, p) for p in dict.fromkeys(platforms)] or ["another OS"]
    tags = [t.rsplit("-", 1)[-1] for t in distribution.wheel_tags if not t.endswith("-any")]
    tagged = f" (wheel {', '.join(dict.fromkeys(tags))})" if tags else ""
    count = plural(loaded, "binary")
    head = " ".join(x for x in (distribution.name, distribution.version) if x)
    message = (
        f"{head}{tagged} is built for {' and '.join(names)}: its {count} cannot load on "
        f"{target.describe()}"
    )
    # A pure-Python wheel (py3-none-any) may carry per-OS helpers it loads only there
    # (sounddevice's PortAudio DLLs): worth a look, not a stop.
    pure = bool(distribution.wheel_tags) and all(
        t.endswith("-any") for t in distribution.wheel_tags
    )
    if pure:
        message += "; it is a pure-Python wheel, so check that it does not need them here"
    return new_finding(
        Code.PLATFORM_MISMATCH,
        path,
        message,
        severity=Severity.WARNING if pure else None,
        archs=_sorted(found_archs),
        required_archs=_sorted(target.archs),
        distribution=distribution,
    )


def _platform_mismatch(
    info: BinaryInfo, target: Target, role: Role, name: str, required: tuple[str, ...]
) -> Optional[Finding]:
    want = _FORMAT_FOR_PLATFORM.get(target.platform)
    target_text = archs.PLATFORM_NAMES.get(target.platform, target.platform)
    if want is not None and info.format is not want:
        message = (
            f"{role.label} {name} is a {_FORMAT_OS.get(info.format, info.format.value)} binary "
            f"({_fmt_archs(info.archs)}); the target {target.name} needs {target_text} "
            f"binaries ({_fmt_archs(required)})"
        )
    else:
        foreign = [(s, _slice_platform_ok(s, target)) for s in info.slices]
        bad = [(s, p) for s, p in foreign if p is not None]
        if not bad or len(bad) < len(info.slices):
            return None
        built_for = ", ".join(dict.fromkeys(f"{p} ({s.arch})" for s, p in bad))
        libc = target.libc
        target_desc = f"{target_text} ({libc})" if libc else target_text
        message = (
            f"{role.label} {name} is built for {built_for}, not {target_desc}; "
            f"the target {target.name} cannot load it"
            if role is not Role.EXECUTABLE
            else f"{role.label} {name} is built for {built_for}, not {target_desc}; "
            f"it cannot run on the target {target.name}"
        )
    return new_finding(
        code=Code.PLATFORM_MISMATCH,
        path=info.path,
        format=info.format,
        archs=info.archs,
        required_archs=required,
        message=message,
        role=role,
    )


def _arch_missing(
    info: BinaryInfo,
    usable: Sequence[Slice],
    target: Target,
    role: Role,
    name: str,
    required: tuple[str, ...],
) -> Optional[Finding]:
    missing = [
        arch
        for arch in required
        if not any(archs.provides(s.arch, arch, target.platform) for s in usable)
    ]
    if not missing:
        return None
    has = _fmt_archs(info.archs)
    built = f"holds only {has}" if info.format is BinaryFormat.MACHO else f"is built for {has}"
    message = (
        f"{role.label} {name} {built}, but the target {target.name} needs "
        f"{_fmt_archs(required)}: {' and '.join(missing)} processes cannot load it"
    )
    notes = [f"{a}: {archs.ARCH_NOTES[a]}" for a in info.archs if a in archs.ARCH_NOTES]
    notes += [f".NET assembly: {s.clr}" for s in info.slices if s.clr]
    if notes:
        message += f" ({'; '.join(dict.fromkeys(notes))})"
    return new_finding(
        code=Code.ARCH_MISSING,
        path=info.path,
        format=info.format,
        archs=info.archs,
        required_archs=required,
        message=message,
        role=role,
    )


def _executable_arch(
    info: BinaryInfo,
    usable: Sequence[Slice],
    target: Target,
    name: str,
    required: tuple[str, ...],
) -> Optional[Finding]:
    cannot: list[str] = []
    emulated: dict[str, str] = {}
    for machine in required:
        ways = [archs.runs_via(s.arch, machine, target.platform) for s in usable]
        if archs.NATIVE in ways:
            continue
        other = next((w for w in ways if w is not None), None)
        if other is None:
            cannot.append(machine)
        else:
            emulated[machine] = other
    if not cannot and not emulated:
        return None
    has = _fmt_archs(info.archs)
    if cannot:
        severity = Severity.ERROR
        message = (
            f"executable {name} has {has} and cannot run on {_fmt_archs(cannot)} "
            f"(the target {target.name} needs {_fmt_archs(required)})"
        )
    else:
        severity = Severity.WARNING
        machines = _fmt_archs(emulated)
        via = ", ".join(dict.fromkeys(emulated.values()))
        message = (
            f"executable {name} has {has}: on {machines} it runs only through {via} "
            f"(the target {target.name} needs {_fmt_archs(required)})"
        )
        if via == "Rosetta 2":
            message += "; it fails on Macs without Rosetta 2 installed"
    return new_finding(
        severity=severity,
        code=Code.EXECUTABLE_ARCH,
        path=info.path,
        format=info.format,
        archs=info.archs,
        required_archs=required,
        message=message,
        role=Role.EXECUTABLE,
    )


def _version(text: Optional[str]) -> Optional[Version]:
    if not text:
        return None
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _min_os_too_new(
    info: BinaryInfo,
    usable: Sequence[Slice],
    target: Target,
    role: Role,
    name: str,
    required: tuple[str, ...],
    strict: bool,
) -> Optional[Finding]:
    if target.platform != Platform.MACOS or target.min_os is None:
        return None
    base = target.min_os
    too_new: list[tuple[str, str, Version]] = []
    for item in usable:
        if not any(archs.provides(item.arch, arch, "macos") for arch in required):
            continue
        needs = _version(item.min_os)
        if needs is None:
            continue
        # Every arm64 Mac runs macOS 11 or later: an arm64 slice needing 11.0 is no problem.
        floor = target.min_os_for(item.arch) or base
        if needs > floor:
            too_new.append((item.arch, item.min_os or "", floor))
    if not too_new:
        return None
    parts = ", ".join(f"{arch} needs macOS {needs}" for arch, needs, _ in too_new)
    message = (
        f"{role.label} {name}: {parts}, newer than the target's minimum macOS {base}; "
        f"it fails to load on older macOS versions"
    )
    return new_finding(
        severity=Severity.ERROR if strict else Severity.WARNING,
        code=Code.MIN_OS_TOO_NEW,
        path=info.path,
        format=info.format,
        archs=tuple(arch for arch, _, _ in too_new),
        required_archs=required,
        message=message,
        role=role,
        needs_min_os=max((needs for _, needs, _ in too_new), key=Version),
    )


# -- wheel tags -------------------------------------------------------------------------------


def check_wheel_tags(
    distribution: Distribution, binaries: Sequence[tuple[BinaryInfo, Role]]
) -> Optional[Finding]:
    """A ``wheel-tag-mismatch`` warning when the distribution's WHEEL tags promise archs that
    its loaded binaries lack (tagged universal2, thin inside); ``None`` when they keep it."""
    promised: dict[str, set[str]] = {}
    for tag in distribution.wheel_tags:
        parsed = archs.wheel_archs(tag)
        if parsed is not None:
            promised.setdefault(parsed[0].value, set()).update(parsed[1])
    if not promised:
        return None
    short: list[tuple[BinaryInfo, tuple[str, ...]]] = []
    for info, role in binaries:
        if role not in (Role.EXTENSION_MODULE, Role.SHARED_LIBRARY) or info.error:
            continue
        platform = next((p for p, f in _FORMAT_FOR_PLATFORM.items() if f is info.format), None)
        if platform is None or platform not in promised:
            continue
        lacking = tuple(
            sorted(
                a
                for a in promised[platform]
                if not any(archs.provides(s.arch, a, platform) for s in info.slices)
            )
        )
        if lacking:
            short.append((info, lacking))
    if not short:
        return None
    first, lacking = short[0]
    tags = ", ".join(distribution.wheel_tags)
    names = ", ".join(
        display_path(os.path.basename(i.path.replace("\\", "/"))) for i, _ in short[:3]
    )
    more = f" and {len(short) - 3} more" if len(short) > 3 else ""
    all_lacking = sorted({a for _, ls in short for a in ls})
    message = (
        f"{distribution.name} {distribution.version} is tagged {tags} but {len(short)} of its "
        f"binaries lack {_fmt_archs(all_lacking)} ({names}{more}): the tag promises more "
        f"than the wheel holds"
    )
    return new_finding(
        code=Code.WHEEL_TAG_MISMATCH,
        path=first.path,
        format=first.format,
        archs=first.archs,
        required_archs=tuple(sorted({a for p in promised.values() for a in p})),
        message=message,
        distribution=distribution,
    )
