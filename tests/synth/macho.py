"""Build Mach-O files byte by byte, for tests and fuzzing.

Nothing here uses the reader under test: the layouts come from ``<mach-o/loader.h>`` and
``<mach-o/fat.h>``, the arch numbers from ``<mach/machine.h>``. Every knob a corrupt file
needs is a parameter (``ncmds``, ``sizeofcmds``, ``cmdsize``, string offsets, fat entries).

    thin("x86_64", "bundle", build_version=("macos", "10.13", "14.0"), dylibs=["/usr/lib/libz"])
    fat([thin("x86_64"), thin("arm64")])
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import Optional

ABI64 = 0x01000000
ABI64_32 = 0x02000000
CPU_TYPE_X86, CPU_TYPE_ARM, CPU_TYPE_POWERPC = 7, 12, 18

ARCHS: dict[str, tuple[int, int]] = {
    "i386": (CPU_TYPE_X86, 3),
    "x86_64": (CPU_TYPE_X86 | ABI64, 3),
    "x86_64h": (CPU_TYPE_X86 | ABI64, 8),
    "arm64": (CPU_TYPE_ARM | ABI64, 0),
    "arm64v8": (CPU_TYPE_ARM | ABI64, 1),
    "arm64e": (CPU_TYPE_ARM | ABI64, 2),
    "arm64_32": (CPU_TYPE_ARM | ABI64_32, 1),
    "armv4t": (CPU_TYPE_ARM, 5),
    "armv6": (CPU_TYPE_ARM, 6),
    "armv5e": (CPU_TYPE_ARM, 7),
    "xscale": (CPU_TYPE_ARM, 8),
    "armv7": (CPU_TYPE_ARM, 9),
    "armv7s": (CPU_TYPE_ARM, 11),
    "armv7k": (CPU_TYPE_ARM, 12),
    "armv6m": (CPU_TYPE_ARM, 14),
    "armv7m": (CPU_TYPE_ARM, 15),
    "armv7em": (CPU_TYPE_ARM, 16),
    "ppc": (CPU_TYPE_POWERPC, 0),
    "ppc64": (CPU_TYPE_POWERPC | ABI64, 0),
}
"""``lipo -archs`` name -> (cputype, cpusubtype)."""

FILETYPES: dict[str, int] = {
    "object": 1, "executable": 2, "fvmlib": 3, "core": 4, "preload": 5, "dylib": 6,
    "dylinker": 7, "bundle": 8, "dylib-stub": 9, "dsym": 10, "kext": 11, "fileset": 12,
}  # fmt: skip
PLATFORMS: dict[str, int] = {
    "macos": 1, "ios": 2, "tvos": 3, "watchos": 4, "bridgeos": 5, "maccatalyst": 6,
    "ios-simulator": 7, "tvos-simulator": 8, "watchos-simulator": 9, "driverkit": 10,
    "visionos": 11, "visionos-simulator": 12,
}  # fmt: skip

LC_LOAD_DYLIB = 0xC
LC_ID_DYLIB = 0xD
LC_LOAD_WEAK_DYLIB = 0x80000018
LC_RPATH = 0x8000001C
LC_REEXPORT_DYLIB = 0x8000001F
LC_LOAD_UPWARD_DYLIB = 0x80000023
LC_VERSION_MIN_MACOSX = 0x24
LC_VERSION_MIN_IPHONEOS = 0x25
LC_VERSION_MIN_TVOS = 0x2F
LC_VERSION_MIN_WATCHOS = 0x30
LC_BUILD_VERSION = 0x32
LC_UUID = 0x1B
DYLIB_COMMANDS: dict[str, int] = {
    "load": LC_LOAD_DYLIB,
    "weak": LC_LOAD_WEAK_DYLIB,
    "reexport": LC_REEXPORT_DYLIB,
    "upward": LC_LOAD_UPWARD_DYLIB,
    "id": LC_ID_DYLIB,
}
VERSION_MIN_COMMANDS: dict[str, int] = {
    "macos": LC_VERSION_MIN_MACOSX,
    "ios": LC_VERSION_MIN_IPHONEOS,
    "tvos": LC_VERSION_MIN_TVOS,
    "watchos": LC_VERSION_MIN_WATCHOS,
}

MH_MAGIC, MH_MAGIC_64 = 0xFEEDFACE, 0xFEEDFACF
FAT_MAGIC, FAT_MAGIC_64 = 0xCAFEBABE, 0xCAFEBABF


class Form:
    """Byte order and word size shared by a header and its load commands."""

    def __init__(self, big_endian: bool = False, bits: int = 64) -> None:
        if bits not in (32, 64):
            raise ValueError(f"bits must be 32 or 64, not {bits}")
        self.big_endian = big_endian
        self.bits = bits
        self.order = ">" if big_endian else "<"

    def pack(self, fmt: str, *values: int) -> bytes:
        return struct.pack(self.order + fmt, *values)


LITTLE64 = Form()


def encode_version(text: str) -> int:
    """``"10.15.4"`` -> ``0x000a0f04`` (``xxxx.yy.zz`` nibbles)."""
    parts = [int(p) for p in text.split(".")] + [0, 0]
    return (parts[0] << 16) | (parts[1] << 8) | parts[2]


def command(
    cmd: int, body: bytes = b"", form: Form = LITTLE64, *, cmdsize: Optional[int] = None
) -> bytes:
    """A load command: ``cmd``, ``cmdsize``, ``body``, zero-padded to 8 (64-bit) or 4 bytes.
    ``cmdsize`` overrides the size written (the bytes stay the same)."""
    align = 8 if form.bits == 64 else 4
    raw = 8 + len(body)
    padded = body + b"\0" * (-raw % align)
    return form.pack("II", cmd, raw + (-raw % align) if cmdsize is None else cmdsize) + padded


def string_command(
    cmd: int,
    fixed: bytes,
    text: str,
    form: Form = LITTLE64,
    *,
    offset: Optional[int] = None,
    terminate: bool = True,
    cmdsize: Optional[int] = None,
) -> bytes:
    """A command whose ``fixed`` fields follow an ``lc_str`` offset, then the string."""
    data = text.encode("utf-8", "surrogateescape") + (b"\0" if terminate else b"")
    real_offset = 12 + len(fixed)
    body = form.pack("I", real_offset if offset is None else offset) + fixed + data
    if not terminate:  # keep padding from supplying the NUL
        align = 8 if form.bits == 64 else 4
        body += b"x" * (-(8 + len(body)) % align)
    return command(cmd, body, form, cmdsize=cmdsize)


def dylib_command(
    name: str,
    kind: str = "load",
    form: Form = LITTLE64,
    *,
    offset: Optional[int] = None,
    terminate: bool = True,
    cmdsize: Optional[int] = None,
) -> bytes:
    """``kind``: load, weak, reexport, upward (dependencies) or id (``LC_ID_DYLIB``)."""
    fixed = form.pack("III", 2, 0x10000, 0x10000)  # timestamp, current, compatibility
    return string_command(
        DYLIB_COMMANDS[kind], fixed, name, form, offset=offset, terminate=terminate,
        cmdsize=cmdsize,
    )  # fmt: skip


def rpath_command(
    path: str,
    form: Form = LITTLE64,
    *,
    offset: Optional[int] = None,
    terminate: bool = True,
    cmdsize: Optional[int] = None,
) -> bytes:
    return string_command(
        LC_RPATH, b"", path, form, offset=offset, terminate=terminate, cmdsize=cmdsize
    )


def build_version_command(
    platform: str | int, minos: str, sdk: str = "0", form: Form = LITTLE64, *,
    cmdsize: Optional[int] = None,
) -> bytes:  # fmt: skip
    """``LC_BUILD_VERSION`` with one tool entry (ld)."""
    number = PLATFORMS[platform] if isinstance(platform, str) else platform
    body = form.pack("IIII", number, encode_version(minos), encode_version(sdk), 1)
    body += form.pack("II", 3, encode_version("1015.7"))
    return command(LC_BUILD_VERSION, body, form, cmdsize=cmdsize)


def version_min_command(
    platform: str, version: str, sdk: str = "0", form: Form = LITTLE64, *,
    cmdsize: Optional[int] = None,
) -> bytes:  # fmt: skip
    """``LC_VERSION_MIN_MACOSX`` / ``IPHONEOS`` / ``TVOS`` / ``WATCHOS`` by platform."""
    body = form.pack("II", encode_version(version), encode_version(sdk))
    return command(VERSION_MIN_COMMANDS[platform], body, form, cmdsize=cmdsize)


def form_for(arch: str, bits: Optional[int] = None, big_endian: Optional[bool] = None) -> Form:
    """The natural form of ``arch``: 64-bit for ABI64 cputypes, big-endian for PowerPC."""
    cputype = ARCHS[arch][0] if arch in ARCHS else 0
    if bits is None:
        bits = 64 if cputype & ABI64 else 32
    if big_endian is None:
        big_endian = cputype & 0xFFFFFF == CPU_TYPE_POWERPC
    return Form(big_endian, bits)


def thin(
    arch: str = "arm64",
    filetype: str | int = "bundle",
    *,
    bits: Optional[int] = None,
    big_endian: Optional[bool] = None,
    cputype: Optional[int] = None,
    cpusubtype: Optional[int] = None,
    build_version: Optional[tuple[str, str, str]] = ("macos", "11.0", "14.0"),
    version_min: Optional[tuple[str, str, str]] = None,
    dylibs: Iterable[str] = (),
    weak_dylibs: Iterable[str] = (),
    reexport_dylibs: Iterable[str] = (),
    upward_dylibs: Iterable[str] = (),
    id_dylib: Optional[str] = None,
    rpaths: Iterable[str] = (),
    extra_commands: Sequence[bytes] = (),
    ncmds: Optional[int] = None,
    sizeofcmds: Optional[int] = None,
    body: bytes = b"\0" * 16,
) -> bytes:
    """A thin Mach-O file: header, then load commands in this order: ``LC_ID_DYLIB``,
    ``LC_BUILD_VERSION``, ``LC_VERSION_MIN_*``, load/weak/reexport/upward dylibs, rpaths,
    ``extra_commands`` (raw, build them with :func:`form_for`'s form), then ``body``.

    ``arch`` is a key of :data:`ARCHS` unless ``cputype``/``cpusubtype`` are given;
    ``bits`` and ``big_endian`` default to the arch's natural form. ``ncmds`` and
    ``sizeofcmds`` override the header's counts (for corrupt files).
    """
    form = form_for(arch, bits, big_endian)
    default_type, default_subtype = ARCHS.get(arch, (0, 0))
    commands: list[bytes] = []
    if id_dylib is not None:
        commands.append(dylib_command(id_dylib, "id", form))
    if build_version is not None:
        commands.append(build_version_command(*build_version, form=form))
    if version_min is not None:
        commands.append(version_min_command(*version_min, form=form))
    for kind, names in (
        ("load", dylibs), ("weak", weak_dylibs), ("reexport", reexport_dylibs),
        ("upward", upward_dylibs),
    ):  # fmt: skip
        commands.extend(dylib_command(name, kind, form) for name in names)
    commands.extend(rpath_command(path, form) for path in rpaths)
    commands.extend(extra_commands)
    blob = b"".join(commands)
    number = FILETYPES[filetype] if isinstance(filetype, str) else filetype
    header = form.pack(
        "IIIIIII",
        MH_MAGIC_64 if form.bits == 64 else MH_MAGIC,
        default_type if cputype is None else cputype,
        default_subtype if cpusubtype is None else cpusubtype,
        number,
        len(commands) if ncmds is None else ncmds,
        len(blob) if sizeofcmds is None else sizeofcmds,
        0x00200085,  # MH_NOUNDEFS | MH_DYLDLINK | MH_TWOLEVEL | MH_PIE
    )
    if form.bits == 64:
        header += b"\0" * 4
    return header + blob + body


def header_arch(data: bytes) -> tuple[int, int]:
    """(cputype, cpusubtype) of a thin file made by :func:`thin`."""
    order = "<" if data[:4] in (b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe") else ">"
    cputype, cpusubtype = struct.unpack_from(order + "II", data, 4)
    return cputype, cpusubtype


def fat(
    slices: Sequence[bytes],
    *,
    fat64: bool = False,
    align: int = 12,
    nfat_arch: Optional[int] = None,
    overrides: Sequence[Optional[Mapping[str, int]]] = (),
) -> bytes:
    """A fat file of ``slices`` (thin files), each at a ``2**align``-aligned offset, with
    cputype/cpusubtype taken from the slice headers.

    ``overrides[i]`` replaces fields of entry ``i`` as written in the fat table (``cputype``,
    ``cpusubtype``, ``offset``, ``size``, ``align``); the slices stay where they are.
    ``nfat_arch`` overrides the count in the header.
    """
    entry_size = 32 if fat64 else 20
    table_end = 8 + len(slices) * entry_size
    boundary = 1 << align
    offset = -(-table_end // boundary) * boundary
    entries: list[bytes] = []
    payload = bytearray()
    for index, data in enumerate(slices):
        cputype, cpusubtype = header_arch(data)
        fields = {"cputype": cputype, "cpusubtype": cpusubtype, "offset": offset,
                  "size": len(data), "align": align}  # fmt: skip
        if index < len(overrides) and overrides[index]:
            fields.update(overrides[index] or {})
        names = ("cputype", "cpusubtype", "offset", "size", "align")
        values = [fields[name] for name in names]
        entries.append(struct.pack(">IIQQII" if fat64 else ">IIIII", *values, *([0] * fat64)))
        gap = offset - table_end - len(payload)
        payload += b"\0" * gap + data
        offset = -(-(offset + len(data)) // boundary) * boundary
    count = len(slices) if nfat_arch is None else nfat_arch
    header = struct.pack(">II", FAT_MAGIC_64 if fat64 else FAT_MAGIC, count)
    return header + b"".join(entries) + bytes(payload)


LC_SEGMENT, LC_SEGMENT_64 = 0x1, 0x19


def segment_command(
    vmaddr: int = 0, section_aligns: Sequence[int] = (), form: Form = LITTLE64,
    *, name: str = "__TEXT",
) -> bytes:  # fmt: skip
    """``LC_SEGMENT(_64)`` with no file content (fileoff, filesize 0) and one empty section
    per entry of ``section_aligns`` (each the section's log2 alignment)."""
    wide = form.bits == 64
    segname = name.encode().ljust(16, b"\0")
    word = "Q" if wide else "I"
    sections = b"".join(
        (b"__s%d" % index).ljust(16, b"\0") + segname
        + form.pack(word * 2 + "IIIIIII", 0, 0, 0, align, 0, 0, 0, 0, 0)
        + (form.pack("I", 0) if wide else b"")
        for index, align in enumerate(section_aligns)
    )  # fmt: skip
    body = segname + form.pack(word * 4 + "iiII", vmaddr, 0, 0, 0, 7, 7,
                               len(section_aligns), 0)  # fmt: skip
    return command(LC_SEGMENT_64 if wide else LC_SEGMENT, body + sections, form)


def archive(members: Sequence[tuple[str, bytes]], *, gnu: bool = False) -> bytes:
    """An ``ar`` archive of ``(name, data)`` members after an empty symbol table: BSD style
    (``#1/N`` names, ``__.SYMDEF SORTED``) as Apple's ``ar`` writes, or GNU style."""

    def member(name: str, data: bytes) -> bytes:
        raw = name.encode()
        if gnu:
            field, payload = raw + b"/", data
        else:
            padded = raw + b"\0" * (-len(raw) % 8 or 8)
            field, payload = b"#1/%d" % len(padded), padded + data
        header = (
            field.ljust(16) + b"0".ljust(12) + b"0".ljust(6) + b"0".ljust(6)
            + b"100644".ljust(8) + str(len(payload)).encode().ljust(10) + b"`\n"
        )  # fmt: skip
        return header + payload + b"\n" * (len(payload) % 2)

    symbols = member("/", b"\0" * 4) if gnu else member("__.SYMDEF SORTED", b"\0" * 8)
    if gnu:  # the GNU symbol table's name is "/" itself, not "/" plus the terminator
        symbols = b"/".ljust(16) + symbols[16:]
    return b"!<arch>\n" + symbols + b"".join(member(name, data) for name, data in members)
