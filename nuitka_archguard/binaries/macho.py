"""Mach-O reader: the arch slices of thin and fat (universal) files, with each slice's
file type, platform, minimum OS, SDK, linked libraries, install name and rpaths.

Headers only: one read for the fat table, one per slice for its mach header and load
commands (a second only when the load commands outgrow the first read). ``struct`` on those
buffers, never macholib's ``MachO()`` (about 80x slower); macholib gives us the constants.

Strictness follows LLVM's object reader, so a file we reject is one Apple's and LLVM's tools
reject too: a load command whose ``cmdsize`` is below its structure or past ``sizeofcmds``,
or a string (dylib name, rpath) whose offset lies outside its command or that has no NUL
terminator inside it, makes the file corrupt. Names are decoded as UTF-8 with ``replace``,
so what we return can always be printed.

Reference: ``<mach-o/loader.h>``, ``<mach-o/fat.h>``, ``<mach/machine.h>``.
"""

from __future__ import annotations

import bisect
import enum
import functools
import struct

from macholib.mach_o import (
    FAT_MAGIC,
    FAT_MAGIC_64,
    LC_BUILD_VERSION,
    LC_ID_DYLIB,
    LC_LOAD_DYLIB,
    LC_LOAD_UPWARD_DYLIB,
    LC_LOAD_WEAK_DYLIB,
    LC_REEXPORT_DYLIB,
    LC_RPATH,
    LC_VERSION_MIN_IPHONEOS,
    LC_VERSION_MIN_MACOSX,
    LC_VERSION_MIN_TVOS,
    LC_VERSION_MIN_WATCHOS,
    MH_CIGAM,
    MH_CIGAM_64,
    MH_MAGIC,
    MH_MAGIC_64,
)

from .model import BinaryReadError, Slice
from .source import FIRST_READ, ByteSource

TYPE_CHECKING = False  # typing costs `inspect` ~15 ms of start-up: for mypy only
if TYPE_CHECKING:
    from typing import Any, Callable, Optional

__all__ = ["JAVA_MIN_MAJOR", "MAX_FAT_ARCHS", "is_macho", "read_slices"]

JAVA_MIN_MAJOR = 45
"""A Java class file also starts with ``0xcafebabe``; its next four bytes (minor, major
version, big-endian) read as ``nfat_arch`` are at least 45 (JDK 1.0.2). A fat header with 45
or more architectures is therefore Java (or garbage), never Mach-O. Zero architectures is a
corrupt Mach-O, reported by :func:`read_slices`."""
MAX_FAT_ARCHS = JAVA_MIN_MAJOR - 1
"""The most architectures a fat file may list (there are fewer than 40 ever named)."""

CPU_SUBTYPE_MASK = 0xFF000000
"""Capability bits of ``cpusubtype`` (``CPU_SUBTYPE_LIB64``, arm64e's pointer-auth ABI)."""


class CpuType(enum.IntEnum):
    VAX = 1
    MC680X0 = 6
    X86 = 7
    X86_64 = 0x01000007
    MC98000 = 10
    HPPA = 11
    ARM = 12
    ARM64 = 0x0100000C
    ARM64_32 = 0x0200000C
    MC88000 = 13
    SPARC = 14
    I860 = 15
    POWERPC = 18
    POWERPC64 = 0x01000012


_ARCH_NAMES: dict[tuple[int, int], str] = {
    # llvm-lipo's names first (MachOObjectFile::getArchTriple), then Apple's lipo's
    # (NXGetArchInfoFromCpuType) for the pairs LLVM does not know.
    (CpuType.X86, 3): "i386",
    (CpuType.X86, 4): "i486",
    (CpuType.X86, 0x84): "i486SX",
    (CpuType.X86, 5): "pentium",
    (CpuType.X86, 0x16): "pentpro",
    (CpuType.X86, 0x36): "pentIIm3",
    (CpuType.X86, 0x56): "pentIIm5",
    (CpuType.X86, 0x0A): "pentium4",
    (CpuType.X86_64, 3): "x86_64",
    (CpuType.X86_64, 8): "x86_64h",
    (CpuType.ARM, 0): "arm",
    (CpuType.ARM, 5): "armv4t",
    (CpuType.ARM, 6): "armv6",
    (CpuType.ARM, 7): "armv5e",
    (CpuType.ARM, 8): "xscale",
    (CpuType.ARM, 9): "armv7",
    (CpuType.ARM, 10): "armv7f",
    (CpuType.ARM, 11): "armv7s",
    (CpuType.ARM, 12): "armv7k",
    (CpuType.ARM, 13): "armv8",
    (CpuType.ARM, 14): "armv6m",
    (CpuType.ARM, 15): "armv7m",
    (CpuType.ARM, 16): "armv7em",
    (CpuType.ARM64, 0): "arm64",
    (CpuType.ARM64, 1): "arm64v8",
    (CpuType.ARM64, 2): "arm64e",
    (CpuType.ARM64_32, 1): "arm64_32",
    (CpuType.POWERPC, 0): "ppc",
    (CpuType.POWERPC, 1): "ppc601",
    (CpuType.POWERPC, 3): "ppc603",
    (CpuType.POWERPC, 4): "ppc603e",
    (CpuType.POWERPC, 5): "ppc603ev",
    (CpuType.POWERPC, 6): "ppc604",
    (CpuType.POWERPC, 7): "ppc604e",
    (CpuType.POWERPC, 9): "ppc750",
    (CpuType.POWERPC, 10): "ppc7400",
    (CpuType.POWERPC, 11): "ppc7450",
    (CpuType.POWERPC, 100): "ppc970",
    (CpuType.POWERPC64, 0): "ppc64",
    (CpuType.POWERPC64, 100): "ppc970-64",
    (CpuType.MC680X0, 1): "m68k",
    (CpuType.MC680X0, 2): "m68040",
    (CpuType.MC680X0, 3): "m68030",
    (CpuType.HPPA, 0): "hppa",
    (CpuType.HPPA, 1): "hppa7100LC",
    (CpuType.MC88000, 0): "m88k",
    (CpuType.SPARC, 0): "sparc",
    (CpuType.I860, 0): "i860",
}
# Plain int keys, here and below: a lookup by the ints read from a file then compares ints,
# not enum members (whose == goes through the enum class).
_ARCH_NAMES = {(int(cpu), sub): name for (cpu, sub), name in _ARCH_NAMES.items()}


class FileType(enum.IntEnum):
    OBJECT = 1
    EXECUTE = 2
    FVMLIB = 3
    CORE = 4
    PRELOAD = 5
    DYLIB = 6
    DYLINKER = 7
    BUNDLE = 8
    DYLIB_STUB = 9
    DSYM = 10
    KEXT_BUNDLE = 11
    FILESET = 12


_FILE_TYPE_NAMES: dict[int, str] = {
    FileType.OBJECT: "object",
    FileType.EXECUTE: "executable",
    FileType.FVMLIB: "fvmlib",
    FileType.CORE: "core",
    FileType.PRELOAD: "preload",
    FileType.DYLIB: "dylib",
    FileType.DYLINKER: "dylinker",
    FileType.BUNDLE: "bundle",
    FileType.DYLIB_STUB: "dylib-stub",
    FileType.DSYM: "dsym",
    FileType.KEXT_BUNDLE: "kext",
    FileType.FILESET: "fileset",
}
_FILE_TYPE_NAMES = {int(number): name for number, name in _FILE_TYPE_NAMES.items()}


class Platform(enum.IntEnum):
    """``LC_BUILD_VERSION``'s platform (``PLATFORM_*`` in ``<mach-o/loader.h>``)."""

    MACOS = 1
    IOS = 2
    TVOS = 3
    WATCHOS = 4
    BRIDGEOS = 5
    MACCATALYST = 6
    IOS_SIMULATOR = 7
    TVOS_SIMULATOR = 8
    WATCHOS_SIMULATOR = 9
    DRIVERKIT = 10
    VISIONOS = 11
    VISIONOS_SIMULATOR = 12


_PLATFORM_NAMES: dict[int, str] = {p: p.name.lower().replace("_", "-") for p in Platform}
_PLATFORM_NAMES = {int(number): name for number, name in _PLATFORM_NAMES.items()}

_VERSION_MIN_PLATFORMS = {
    LC_VERSION_MIN_MACOSX: Platform.MACOS,
    LC_VERSION_MIN_IPHONEOS: Platform.IOS,
    LC_VERSION_MIN_TVOS: Platform.TVOS,
    LC_VERSION_MIN_WATCHOS: Platform.WATCHOS,
}
# Smallest cmdsize of each command we read: the fixed part of its structure.
_BUILD_VERSION_SIZE = 24  # cmd, cmdsize, platform, minos, sdk, ntools
_VERSION_MIN_SIZE = 16  # cmd, cmdsize, version, sdk
_DYLIB_SIZE = 24  # cmd, cmdsize, name offset, timestamp, current, compatibility version
_RPATH_SIZE = 12  # cmd, cmdsize, path offset
_LOAD_COMMAND_SIZE = 8


_CPU_ARCH_ABI64 = 0x01000000
"""The cputype flag of 64-bit ABIs (arm64_32 has ABI64_32 instead: a 32-bit header)."""
_FAMILIES_WITH_64_BIT = frozenset({7, 12, 18})
"""x86, ARM and PowerPC: their 32- and 64-bit cputypes differ by the ABI64 flag, so the
header's word size must agree with it (unknown CPU types are left alone, as lipo does)."""


class _Layout:
    """Byte order and word size of one thin Mach-O header."""

    __slots__ = ("command", "header", "header_size", "u32", "u32x2", "u32x3", "wide")

    def __init__(self, order: str, bits: int) -> None:
        # magic, cputype, cpusubtype, filetype, ncmds, sizeofcmds, flags (+ reserved)
        self.header = struct.Struct(order + "IIIIIII")
        self.header_size = 28 if bits == 32 else 32
        self.wide = bits == 64
        self.command = struct.Struct(order + "II")
        self.u32 = struct.Struct(order + "I")
        self.u32x2 = struct.Struct(order + "II")
        self.u32x3 = struct.Struct(order + "III")


_LAYOUTS = {
    MH_MAGIC: _Layout(">", 32),
    MH_CIGAM: _Layout("<", 32),
    MH_MAGIC_64: _Layout(">", 64),
    MH_CIGAM_64: _Layout("<", 64),
}
"""Keyed by the magic read big-endian: ``MH_CIGAM`` read big-endian means little-endian."""
_LAYOUTS_BY_MAGIC = {magic.to_bytes(4, "big"): layout for magic, layout in _LAYOUTS.items()}
"""The same, by the first four bytes of a file."""
_THIN_MAGIC_BYTES = frozenset(m.to_bytes(4, "big") for m in _LAYOUTS)
_FAT_MAGIC_BYTES = FAT_MAGIC.to_bytes(4, "big")
_FAT64_MAGIC_BYTES = FAT_MAGIC_64.to_bytes(4, "big")
_U32_BE = struct.Struct(">I")
_FAT_ARCH = struct.Struct(">IIIII")  # cputype, cpusubtype, offset, size, align
_FAT_ARCH_64 = struct.Struct(">IIQQII")  # cputype, cpusubtype, offset, size, align, reserved
_FAT_HEADER_SIZE = 8
FAT_HEADER = struct.Struct(">II")  # magic, nfat_arch
FAT_ARCH, FAT_ARCH_64 = _FAT_ARCH, _FAT_ARCH_64
"""The fat header and table entries (always big-endian), shared with the fat writer."""
FAT_MAGIC_BYTES = (_FAT_MAGIC_BYTES, _FAT64_MAGIC_BYTES)
THIN_LAYOUTS: dict[bytes, tuple[str, int]] = {
    MH_MAGIC.to_bytes(4, "big"): (">", 32),
    MH_MAGIC_64.to_bytes(4, "big"): (">", 64),
    MH_CIGAM.to_bytes(4, "big"): ("<", 32),
    MH_CIGAM_64.to_bytes(4, "big"): ("<", 64),
}
"""Byte order and word size of a thin Mach-O file by its first four bytes."""
ARCHIVE_MAGIC = b"!<arch>\n"
"""The first bytes of an ``ar`` static archive: a fat file's slice may be one (a fused
``.a``, as ``lipo -create`` makes of two thin archives)."""


def is_macho(head: bytes) -> bool:
    """Whether ``head`` (the first 8 bytes or more) starts a thin or fat Mach-O file.

    Fat files and Java class files share the magic ``0xcafebabe``; see
    :data:`JAVA_MIN_MAJOR`. A fat magic with fewer than 8 bytes behind it is taken for a
    truncated Mach-O, so :func:`read_slices` reports it rather than letting it pass unseen.
    """
    magic = head[:4]
    if magic in _THIN_MAGIC_BYTES or magic == _FAT64_MAGIC_BYTES:
        return True
    if magic == _FAT_MAGIC_BYTES:
        return len(head) < 8 or int.from_bytes(head[4:8], "big") < JAVA_MIN_MAJOR
    return False


def read_slices(source: ByteSource) -> tuple[Slice, ...]:
    """The slices of a thin or fat Mach-O file, in the order of its fat table.

    Raises :class:`BinaryReadError` for anything truncated or inconsistent.
    """
    head = source.head(FIRST_READ)
    layout = _LAYOUTS_BY_MAGIC.get(head[:4])
    if layout is not None:
        return (_read_thin(source, layout, head, 0, source.size, ""),)
    if len(head) < 4:
        raise BinaryReadError(f"truncated: {len(head)}-byte file has no Mach-O magic")
    (magic,) = _U32_BE.unpack_from(head)
    if magic in (FAT_MAGIC, FAT_MAGIC_64):
        return _read_fat(source, head, magic == FAT_MAGIC_64)
    raise BinaryReadError(f"not a Mach-O file (magic {magic:#010x})")


@functools.lru_cache(maxsize=64)
def arch_name(cputype: int, cpusubtype: int) -> str:
    """``lipo -archs``' name for a CPU type and subtype (capability bits ignored); cached,
    as every slice read asks it of the same few pairs."""
    subtype = cpusubtype & ~CPU_SUBTYPE_MASK
    name = _ARCH_NAMES.get((cputype, subtype))
    if name is None:
        return f"cputype_{cputype:#x}_subtype_{subtype}"
    return name


def _read_fat(source: ByteSource, head: bytes, fat64: bool) -> tuple[Slice, ...]:
    if len(head) < _FAT_HEADER_SIZE:
        raise BinaryReadError(f"truncated: {len(head)}-byte file has no complete fat header")
    (count,) = _U32_BE.unpack_from(head, 4)
    if count == 0:
        raise BinaryReadError("fat header lists no architectures")
    if count > MAX_FAT_ARCHS:
        raise BinaryReadError(f"fat header lists {count} architectures (at most {MAX_FAT_ARCHS})")
    entry = _FAT_ARCH_64 if fat64 else _FAT_ARCH
    table_end = _FAT_HEADER_SIZE + count * entry.size
    if table_end > source.size:
        raise BinaryReadError(
            f"truncated: fat table of {count} architectures needs {table_end} bytes,"
            f" file has {source.size}"
        )
    table = head if table_end <= len(head) else source.read_at(0, table_end)

    entries: list[tuple[int, int, int, int, str]] = []
    seen: dict[tuple[int, int], int] = {}
    for index in range(count):
        fields = entry.unpack_from(table, _FAT_HEADER_SIZE + index * entry.size)
        cputype, cpusubtype, offset, size = fields[0], fields[1], fields[2], fields[3]
        arch = arch_name(cputype, cpusubtype)
        if offset < table_end:
            raise BinaryReadError(
                f"fat slice {index} ({arch}) starts at {offset}, inside the fat header"
            )
        if offset + size > source.size:
            raise BinaryReadError(
                f"fat slice {index} ({arch}) ends at {offset + size},"
                f" past the end of the {source.size}-byte file"
            )
        key = (cputype, cpusubtype & ~CPU_SUBTYPE_MASK)
        if key in seen:
            raise BinaryReadError(f"fat slices {seen[key]} and {index} are both {arch}")
        seen[key] = index
        entries.append((offset, size, index, cputype, arch))

    slices: list[Optional[Slice]] = [None] * count
    end = 0
    previous = -1
    # In file order: a zip member then streams forward only, and overlaps show up.
    for offset, size, index, cputype, arch in sorted(entries):
        if offset < end:
            raise BinaryReadError(f"fat slices {previous} and {index} overlap")
        end, previous = offset + size, index
        where = f"fat slice {index} ({arch}): "
        if size < 4:
            raise BinaryReadError(f"{where}truncated: {size}-byte slice has no Mach-O magic")
        buffer = source.read_at(offset, min(size, FIRST_READ))
        if buffer.startswith(ARCHIVE_MAGIC):  # a static archive's objects: never loaded
            slices[index] = Slice(arch, "static-archive")
            continue
        (magic,) = _U32_BE.unpack_from(buffer)
        layout = _LAYOUTS.get(magic)
        if layout is None:
            raise BinaryReadError(f"{where}not a thin Mach-O header (magic {magic:#010x})")
        slices[index] = _read_thin(source, layout, buffer, offset, size, where, cputype)
    return tuple(s for s in slices if s is not None)


def _read_thin(
    source: ByteSource,
    layout: _Layout,
    buffer: bytes,
    offset: int,
    size: int,
    where: str,
    expected_cputype: Optional[int] = None,
) -> Slice:
    """One thin Mach-O image of ``size`` bytes at ``offset``, laid out as its magic says;
    ``buffer`` holds its first bytes (at least the magic)."""
    header_size = layout.header_size
    if size < header_size:
        raise BinaryReadError(
            f"{where}truncated: mach header needs {header_size} bytes, has {size}"
        )
    if len(buffer) < header_size:
        buffer = source.read_at(offset, header_size)
    _, cputype, cpusubtype, filetype, ncmds, sizeofcmds, _ = layout.header.unpack_from(buffer)
    wide = layout.wide
    if wide != bool(cputype & _CPU_ARCH_ABI64) and cputype & 0x00FFFFFF in _FAMILIES_WITH_64_BIT:
        # A 64-bit CPU type in a 32-bit header (or the reverse): no loader accepts it.
        raise BinaryReadError(
            f"{where}corrupt: a {64 if wide else 32}-bit mach header with"
            f" {'a 32' if wide else 'a 64'}-bit cputype {cputype:#x}"
        )
    if expected_cputype is not None and cputype != expected_cputype:
        raise BinaryReadError(
            f"{where}mach header says {arch_name(cputype, cpusubtype)},"
            f" the fat table says cputype {expected_cputype:#x}"
        )
    if header_size + sizeofcmds > size:
        raise BinaryReadError(
            f"{where}truncated: load commands ({sizeofcmds} bytes) run past the end"
            f" of the {size}-byte image"
        )
    if ncmds * _LOAD_COMMAND_SIZE > sizeofcmds:
        raise BinaryReadError(f"{where}{ncmds} load commands cannot fit in {sizeofcmds} bytes")
    if header_size + sizeofcmds <= len(buffer):
        commands, start = buffer, header_size
    else:
        commands, start = source.read_at(offset + header_size, sizeofcmds), 0
    try:
        fields = _read_commands(layout, commands, start, start + sizeofcmds, ncmds)
    except BinaryReadError as error:
        raise BinaryReadError(f"{where}{error}") from None
    platform, min_os, sdk, dependencies, rpaths, install_name = fields
    return Slice(
        arch_name(cputype, cpusubtype),
        _FILE_TYPE_NAMES.get(filetype) or f"filetype_{filetype}",
        platform,
        min_os,
        sdk,
        tuple(dependencies),
        tuple(rpaths),
        install_name,
    )


if TYPE_CHECKING:
    _Fields = tuple[
        Optional[str], Optional[str], Optional[str], list[str], list[str], Optional[str]
    ]


# Kinds of the load commands we read; the first three hold one string (an lc_str).
_DEPENDENCY, _RPATH, _ID, _BUILD, _VERSION_MIN = range(5)
_COMMANDS: dict[int, tuple[int, int, str]] = {
    LC_LOAD_DYLIB: (_DEPENDENCY, _DYLIB_SIZE, "LC_LOAD_DYLIB"),
    LC_LOAD_WEAK_DYLIB: (_DEPENDENCY, _DYLIB_SIZE, "LC_LOAD_WEAK_DYLIB"),
    LC_REEXPORT_DYLIB: (_DEPENDENCY, _DYLIB_SIZE, "LC_REEXPORT_DYLIB"),
    LC_LOAD_UPWARD_DYLIB: (_DEPENDENCY, _DYLIB_SIZE, "LC_LOAD_UPWARD_DYLIB"),
    LC_RPATH: (_RPATH, _RPATH_SIZE, "LC_RPATH"),
    LC_ID_DYLIB: (_ID, _DYLIB_SIZE, "LC_ID_DYLIB"),
    LC_BUILD_VERSION: (_BUILD, _BUILD_VERSION_SIZE, "LC_BUILD_VERSION"),
    LC_VERSION_MIN_MACOSX: (_VERSION_MIN, _VERSION_MIN_SIZE, "LC_VERSION_MIN_MACOSX"),
    LC_VERSION_MIN_IPHONEOS: (_VERSION_MIN, _VERSION_MIN_SIZE, "LC_VERSION_MIN_IPHONEOS"),
    LC_VERSION_MIN_TVOS: (_VERSION_MIN, _VERSION_MIN_SIZE, "LC_VERSION_MIN_TVOS"),
    LC_VERSION_MIN_WATCHOS: (_VERSION_MIN, _VERSION_MIN_SIZE, "LC_VERSION_MIN_WATCHOS"),
}
"""The load commands we read, each with its kind, its smallest ``cmdsize`` (the fixed part
of its structure) and its name for messages: one lookup per command. All others are only
stepped over."""


def _read_commands(layout: _Layout, data: bytes, position: int, end: int, ncmds: int) -> _Fields:
    """Walk ``ncmds`` load commands in ``data[position:end]``.

    The hot loop of every Mach-O read: one ``unpack_from`` and one dict lookup per command,
    the strings (dylib names, rpaths, install name) checked and decoded inline."""
    build: Optional[tuple[int, int, int]] = None
    version_min: Optional[tuple[int, int, int]] = None
    dependencies: list[str] = []
    rpaths: list[str] = []
    install_name: Optional[str] = None
    unpack_command = layout.command.unpack_from
    unpack_u32 = layout.u32.unpack_from
    known = _COMMANDS
    first = position
    # Only a command that is read is checked to lie inside ``..end`` here; one that is only
    # stepped over is checked by where the walk ends. Either way, the error names the first
    # command that does not fit (:func:`_misfit`).
    try:
        for index in range(ncmds):
            cmd, cmdsize = unpack_command(data, position)
            if cmdsize < 8:  # _LOAD_COMMAND_SIZE, as a constant
                raise _misfit(unpack_command, data, first, end, ncmds)
            if cmd in known:  # most commands (segments, symbol tables...) are stepped over
                if position + cmdsize > end:
                    raise _misfit(unpack_command, data, first, end, ncmds)
                kind, minimum, name = known[cmd]
                if cmdsize < minimum:
                    raise BinaryReadError(
                        f"load command {index} ({name}) has cmdsize {cmdsize},"
                        f" below its {minimum}-byte structure"
                    )
                if kind <= _ID:
                    # An lc_str: an offset from the command's start to a NUL-terminated string
                    # that must lie wholly inside the command.
                    (offset,) = unpack_u32(data, position + 8)
                    if offset < minimum or offset >= cmdsize:
                        raise BinaryReadError(
                            f"load command {index} ({name}) string offset {offset}"
                            f" lies outside its {minimum}..{cmdsize} bytes"
                        )
                    start = position + offset
                    stop = data.find(b"\0", start, position + cmdsize)
                    if stop < 0:
                        raise BinaryReadError(
                            f"load command {index} ({name}) string has no NUL terminator"
                        )
                    text = data[start:stop].decode("utf-8", "replace")
                    if kind == _DEPENDENCY:
                        dependencies.append(text)
                    elif kind == _RPATH:
                        rpaths.append(text)
                    else:
                        install_name = text
                elif kind == _BUILD:
                    found = layout.u32x3.unpack_from(data, position + 8)
                    # A zippered binary carries macOS and Mac Catalyst: macOS is the one
                    # that counts.
                    if build is None or (found[0] == Platform.MACOS and build[0] != Platform.MACOS):
                        build = found
                elif version_min is None:
                    version, sdk = layout.u32x2.unpack_from(data, position + 8)
                    version_min = (_VERSION_MIN_PLATFORMS[cmd], version, sdk)
            position += cmdsize
    except struct.error:  # a command header past the end of ``data``: past sizeofcmds too
        raise _misfit(unpack_command, data, first, end, ncmds) from None
    if position > end:
        raise _misfit(unpack_command, data, first, end, ncmds)
    chosen = build or version_min
    if chosen is None:
        return None, None, None, dependencies, rpaths, install_name
    number, minos, sdk = chosen
    return (
        _PLATFORM_NAMES.get(number) or f"platform_{number}",
        _version(minos),
        _version(sdk) if sdk else None,  # otool prints "n/a"
        dependencies,
        rpaths,
        install_name,
    )


def _misfit(
    unpack_command: Callable[[bytes, int], tuple[Any, ...]],
    data: bytes,
    position: int,
    end: int,
    ncmds: int,
) -> BinaryReadError:
    """The first of ``ncmds`` load commands from ``position`` that does not lie inside
    ``..end``: walked again, only once the hot loop found that one does not."""
    for index in range(ncmds):
        if position + _LOAD_COMMAND_SIZE > end:
            return BinaryReadError(f"load command {index} starts past sizeofcmds")
        cmd, cmdsize = unpack_command(data, position)
        if cmdsize < _LOAD_COMMAND_SIZE:
            return BinaryReadError(f"load command {index} ({cmd:#x}) has cmdsize {cmdsize}")
        if position + cmdsize > end:
            return BinaryReadError(
                f"load command {index} ({cmd:#x}) of {cmdsize} bytes runs past sizeofcmds"
            )
        position += cmdsize
    return BinaryReadError("load commands run past sizeofcmds")  # not reached: one misfits


@functools.lru_cache(maxsize=256)
def _version(value: int) -> str:
    """``xxxx.yy.zz`` nibbles as ``otool`` prints them, without a ``.0`` patch."""
    major, minor, patch = value >> 16, (value >> 8) & 0xFF, value & 0xFF
    if patch:
        return f"{major}.{minor}.{patch}"
    return f"{major}.{minor}"


# -- LLVM's stricter checks (the fat writer, inspect) -----------------------------------------

_FILETYPES_LLVM_KNOWS = range(1, 12)
"""``MH_OBJECT`` .. ``MH_KEXT_BUNDLE``: what LLVM 14's ``identify_magic`` takes as Mach-O."""
_NEEDS_ID_DYLIB = (6, 9)  # MH_DYLIB, MH_DYLIB_STUB
_LC_SEGMENT, _LC_SYMTAB, _LC_SEGMENT_64, _LC_UUID = 0x1, 0x2, 0x19, 0x1B
_LC_ID_DYLIB = 0xD
_LC_STR_COMMANDS = {
    # dylib_command (24 bytes before the string): load, id, lazy, weak, reexport, upward
    0xC: 24, 0xD: 24, 0x20: 24, 0x80000018: 24, 0x8000001F: 24, 0x80000023: 24,
    # 12 bytes: dylinkers, dyld environment, rpath, sub-framework/umbrella/client/library
    0xE: 12, 0xF: 12, 0x27: 12, 0x8000001C: 12, 0x12: 12, 0x13: 12, 0x14: 12, 0x15: 12,
}  # fmt: skip
"""Commands whose first field after their fixed part is an ``lc_str``, with the size of that
fixed part: the string's offset must lie past it and inside the command."""
_LC_DYSYMTAB = 0xB
_EXACT_SIZES = {
    0x24: 16, 0x25: 16, 0x2F: 16, 0x30: 16,  # LC_VERSION_MIN_*
    0x80000028: 24, _LC_UUID: 24, 0x2A: 16,  # LC_MAIN, LC_UUID, LC_SOURCE_VERSION
    0x21: 20, 0x2C: 24, 0x31: 40,  # LC_ENCRYPTION_INFO(_64), LC_NOTE
    0x16: 16, 0x17: 12, 0x11: 40, 0x1A: 72,  # two-level hints, prebind cksum, routines(_64)
}  # fmt: skip
"""Commands LLVM requires to have exactly their structure's size."""
_LINKEDIT_DATA = {0x1D, 0x1E, 0x26, 0x29, 0x2B, 0x2E, 0x80000033, 0x80000034}
"""``linkedit_data_command``s (code signature, function starts, chained fixups...): 16 bytes,
their data inside the file."""
_DYLD_INFO = {0x22, 0x80000022}
_LC_BUILD_VERSION = 0x32

# What LLVM checks of each command, by kind: one dict lookup per command (see _LLVM_CHECKS).
_K_STR, _K_EXACT, _K_BUILD, _K_LINKEDIT, _K_DYLD_INFO, _K_SYMTAB, _K_DYSYMTAB, _K_SEGMENT = range(8)
_LLVM_CHECKS: dict[int, tuple[int, int]] = {
    **{cmd: (_K_STR, fixed_part) for cmd, fixed_part in _LC_STR_COMMANDS.items()},
    **{cmd: (_K_EXACT, size) for cmd, size in _EXACT_SIZES.items()},
    _LC_BUILD_VERSION: (_K_BUILD, 24),
    **{cmd: (_K_LINKEDIT, 16) for cmd in _LINKEDIT_DATA},
    **{cmd: (_K_DYLD_INFO, 48) for cmd in _DYLD_INFO},
    _LC_SYMTAB: (_K_SYMTAB, 24),
    _LC_DYSYMTAB: (_K_DYSYMTAB, 80),
    _LC_SEGMENT: (_K_SEGMENT, 56),
    _LC_SEGMENT_64: (_K_SEGMENT, 72),
}
"""Each command LLVM checks beyond its ``cmdsize`` alignment: its kind and its structure's
size (the fixed part before an ``lc_str``; the fixed part of a segment command)."""
_PAST_END = "extends past the end of the file"


class _Regions:
    """The parts of one image LLVM places in the file (headers, symbol and string tables,
    dyld info, linkedit data...): each must lie inside the file and overlap none placed
    before (``checkOverlappingElement``). Kept sorted: the parts accepted so far never
    overlap, so one bisection finds the only one a new part could overlap."""

    __slots__ = ("ends", "file_size", "starts")

    def __init__(self, file_size: int, headers_end: int) -> None:
        self.file_size = file_size
        self.starts = [0]
        self.ends = [headers_end]

    def refusal(self, offset: int, size: int) -> Optional[str]:
        """Why the part at ``offset`` of ``size`` bytes is refused, or None (it is then one
        more part; an empty part is no part)."""
        end = offset + size
        if end > self.file_size:
            return _PAST_END
        if size == 0:
            return None
        at = bisect.bisect_left(self.starts, end)  # the parts starting before this one ends
        if at and self.ends[at - 1] > offset:
            return "overlaps another part of the file"
        self.starts.insert(at, offset)
        self.ends.insert(at, end)
        return None


class _Strict:
    """Precompiled structures of one byte order and word size for :func:`llvm_refusal`."""

    __slots__ = (
        "align", "command", "dyld_info", "dysymtab", "module_size", "nlist_size", "section32",
        "section64", "segment", "symtab", "u32",
    )  # fmt: skip

    def __init__(self, order: str, bits: int) -> None:
        wide = bits == 64
        self.align = 8 if wide else 4
        self.command = struct.Struct(order + "II")
        self.u32 = struct.Struct(order + "I")
        self.dyld_info = struct.Struct(order + "10I")
        self.symtab = struct.Struct(order + "IIII")
        self.dysymtab = struct.Struct(order + "18I")
        self.nlist_size = 16 if wide else 12
        self.module_size = 56 if wide else 52
        # A segment's vmaddr, vmsize, fileoff and filesize (after cmd, cmdsize, segname)
        self.segment = struct.Struct(order + ("QQQQ" if wide else "IIII"))
        # A section's addr, size, offset, align, reloff, nreloc, flags (after its names)
        self.section64 = struct.Struct(order + "32xQQIIIII12x")
        self.section32 = struct.Struct(order + "32xIIIIIII8x")


_STRICT = {(order, bits): _Strict(order, bits) for order in "<>" for bits in (32, 64)}


def llvm_refusal(
    commands: bytes, order: str, bits: int, filetype: int, ncmds: int, file_size: int
) -> Optional[str]:
    """Why ``llvm-lipo -create`` (LLVM 14's ``MachOObjectFile``) refuses a thin image the
    project's reader accepts, or ``None``: the writer must not fuse, and ``inspect`` must not
    call readable, what Apple's and LLVM's tools would reject. ``commands``: the image's load
    commands, already walked by :func:`read_slices` (each inside ``sizeofcmds``)."""
    if filetype not in _FILETYPES_LLVM_KNOWS:
        return f"filetype {filetype} is no Mach-O file type LLVM knows"
    layout = _STRICT[order, bits]
    headers_end = (32 if bits == 64 else 28) + len(commands)
    regions = _Regions(file_size, headers_end)
    unpack_command = layout.command.unpack_from
    align = layout.align
    checks = _LLVM_CHECKS.get
    position, has_id, has_uuid = 0, False, False
    for index in range(ncmds):
        cmd, cmdsize = unpack_command(commands, position)
        problem: Optional[str] = None
        check = checks(cmd)
        if cmdsize % align:
            problem = f"cmdsize {cmdsize} is not a multiple of {align}"
        elif check is not None:
            kind, fixed = check
            if kind == _K_STR:
                if (
                    cmdsize < fixed
                    or not fixed <= layout.u32.unpack_from(commands, position + 8)[0] < cmdsize
                ):
                    problem = "string offset lies outside the command"
                elif cmd == _LC_ID_DYLIB:
                    has_id = True
            elif kind == _K_EXACT:
                if cmdsize != fixed:
                    problem = f"has incorrect cmdsize {cmdsize}"
                elif cmd == _LC_UUID:
                    if has_uuid:
                        return "more than one LC_UUID command"
                    has_uuid = True
            elif kind == _K_SEGMENT:
                problem = _segment_refusal(
                    layout, commands, position, cmd, cmdsize, filetype, file_size, headers_end
                )
            elif kind == _K_LINKEDIT:
                if cmdsize != fixed:
                    problem = f"has incorrect cmdsize {cmdsize}"
                else:
                    dataoff, datasize = unpack_command(commands, position + 8)
                    found = regions.refusal(dataoff, datasize)
                    if found:
                        problem = f"data ({dataoff}+{datasize}) {found}"
            elif kind == _K_SYMTAB:
                if cmdsize != fixed:
                    problem = f"LC_SYMTAB has incorrect cmdsize {cmdsize}"
                else:
                    symoff, nsyms, stroff, strsize = layout.symtab.unpack_from(
                        commands, position + 8
                    )
                    found = regions.refusal(symoff, nsyms * layout.nlist_size)
                    if found:
                        problem = f"symbol table {found}"
                    else:
                        found = regions.refusal(stroff, strsize)
                        if found:
                            problem = f"string table {found}"
            elif kind == _K_DYSYMTAB:
                problem = _dysymtab_refusal(layout, commands, position, cmdsize, regions)
            elif kind == _K_DYLD_INFO:
                if cmdsize != fixed:
                    problem = f"has incorrect cmdsize {cmdsize}"
                else:
                    fields = layout.dyld_info.unpack_from(commands, position + 8)
                    for off, size in zip(fields[::2], fields[1::2]):
                        found = regions.refusal(off, size)
                        if found:
                            problem = f"info ({off}+{size}) {found}"
                            break
            else:  # LC_BUILD_VERSION: its fixed part, then ntools tool entries of 8 bytes
                if cmdsize < fixed or (
                    cmdsize != fixed + 8 * layout.u32.unpack_from(commands, position + 20)[0]
                ):
                    problem = f"LC_BUILD_VERSION has incorrect cmdsize {cmdsize}"
        if problem:
            return f"load command {index} ({cmd:#x}) {problem}"
        position += cmdsize
    if filetype in _NEEDS_ID_DYLIB and not has_id:
        return "no LC_ID_DYLIB load command in a dynamic library"
    return None


def _dysymtab_refusal(
    layout: _Strict, commands: bytes, position: int, cmdsize: int, regions: _Regions
) -> Optional[str]:
    if cmdsize != 80:
        return f"LC_DYSYMTAB has incorrect cmdsize {cmdsize}"
    fields = layout.dysymtab.unpack_from(commands, position + 8)
    tables = (  # (offset, count, entry size): toc, modules, ext refs, indirect, relocs
        (fields[6], fields[7], 8), (fields[8], fields[9], layout.module_size),
        (fields[10], fields[11], 4), (fields[12], fields[13], 4),
        (fields[14], fields[15], 8), (fields[16], fields[17], 8),
    )  # fmt: skip
    for off, count, entry in tables:
        found = regions.refusal(off, count * entry)
        if found:
            return f"LC_DYSYMTAB table at {off} {found}"
    return None


_ZEROFILL_FLAGS = (0x1, 0x12)  # S_ZEROFILL, S_THREAD_LOCAL_ZEROFILL: no bytes in the file
_NO_SECTION_DATA = (9, 10)  # MH_DYLIB_STUB, MH_DSYM: sections describe, hold nothing


def _segment_refusal(
    layout: _Strict,
    commands: bytes,
    position: int,
    cmd: int,
    cmdsize: int,
    filetype: int,
    file_size: int,
    headers_end: int,
) -> Optional[str]:
    """LLVM's checks of a segment command and of each of its sections
    (``parseSegmentLoadCommand``). Its fixed part and sections are sized by the command
    (``LC_SEGMENT_64`` or ``LC_SEGMENT``), its address fields by the header's word size."""
    wide = cmd == _LC_SEGMENT_64
    fixed, section_size = (72, 80) if wide else (56, 68)
    if cmdsize < fixed:
        return f"segment command is too small ({cmdsize} bytes)"
    vmaddr, vmsize, fileoff, filesize = layout.segment.unpack_from(commands, position + 24)
    nsects = layout.u32.unpack_from(commands, position + fixed - 8)[0]
    if cmdsize != fixed + nsects * section_size:
        return f"segment has incorrect cmdsize for {nsects} sections"
    if fileoff + filesize > file_size:
        return f"segment ({fileoff}+{filesize}) {_PAST_END}"
    if vmsize and filesize > vmsize:
        return f"segment filesize {filesize} is greater than its vmsize {vmsize}"
    if not nsects:
        return None
    data_in_file = filetype not in _NO_SECTION_DATA
    vmend = vmaddr + vmsize
    start = position + fixed
    sections = (layout.section64 if wide else layout.section32).iter_unpack(
        commands[start : start + nsects * section_size]
    )
    for index, (addr, size, offset, _, reloff, nreloc, flags) in enumerate(sections):
        if addr < vmaddr or addr + size > vmend:
            return f"section {index} ({addr}+{size}) lies outside its segment's addresses"
        if data_in_file and flags not in _ZEROFILL_FLAGS:
            if offset > file_size or offset + size > file_size:
                return f"section {index} data ({offset}+{size}) {_PAST_END}"
            if offset < headers_end and size:
                return f"section {index} offset {offset} is not past the headers of the file"
            if size > filesize:
                return f"section {index} size {size} is greater than its segment's"
        if reloff > file_size or reloff + nreloc * 8 > file_size:
            return f"section {index} relocations extend past the end of the file"
    return None


def strict_check(source: ByteSource) -> None:
    """Raise :class:`BinaryReadError` when LLVM's Mach-O reader would refuse a file that
    :func:`read_slices` reads (each thin image, alone or in a fat file, checked by
    :func:`llvm_refusal`). Not on the scanner's hot path: ``inspect`` and the fat writer."""
    head = source.head()
    magic = head[:4]
    if magic in FAT_MAGIC_BYTES:
        entry = FAT_ARCH_64 if magic == FAT_MAGIC_BYTES[1] else FAT_ARCH
        count = _U32_BE.unpack_from(head, 4)[0]
        table = source.read_at(FAT_HEADER.size, count * entry.size)
        images = [entry.unpack_from(table, i * entry.size)[2:4] for i in range(count)]
    else:
        images = [(0, source.size)]
    for offset, size in images:
        first = source.read_at(offset, min(size, FIRST_READ))
        if first.startswith(ARCHIVE_MAGIC) or first[:4] not in THIN_LAYOUTS:
            continue
        order, bits = THIN_LAYOUTS[first[:4]]
        _, _, filetype, ncmds, sizeofcmds = struct.unpack_from(order + "IIIII", first, 4)
        header_size = 32 if bits == 64 else 28
        commands = source.read_at(offset + header_size, sizeofcmds)
        problem = llvm_refusal(commands, order, bits, filetype, ncmds, size)
        if problem:
            where = f"fat slice at offset {offset}: " if offset else ""
            raise BinaryReadError(f"{where}truncated or malformed: {problem}")
