"""ELF reader: architecture, file type, OS, libc and dynamic linking of one ELF file.

Reads the ELF header and program headers (usually inside the first 4 KiB), then the
``PT_DYNAMIC`` segment and the part of the dynamic string table its entries point into:
three or four reads per file. Section headers are read only when ``DT_STRTAB`` maps to no
``PT_LOAD`` segment (stripped or hand-made files).

ELF header: https://refspecs.linuxfoundation.org/elf/gabi4+/ch4.eheader.html
"""

from __future__ import annotations

import enum
import functools
import struct

from .model import BinaryReadError, Slice
from .source import FIRST_READ, ByteSource

TYPE_CHECKING = False  # typing costs `inspect` ~15 ms of start-up: for mypy only
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Optional

ELF_MAGIC = b"\x7fELF"

MAX_PROGRAM_HEADERS = 4096
"""Real files have about a dozen; more than this is a lie (core files are not walked)."""
MAX_SECTION_HEADERS = 4096
MAX_DYNAMIC_ENTRIES = 4096
"""Real dynamic sections have a few dozen entries; read at most this many."""
MAX_STRING = 4096
"""Longest name or path read from a string table (PATH_MAX)."""
MAX_INTERP = 4096
MAX_NAMES_TOTAL = 256 * 1024
"""Bytes of all DT_NEEDED/DT_SONAME/DT_RPATH/DT_RUNPATH names together: a few offsets into
one long string must not multiply it into gigabytes."""


class EIClass(enum.IntEnum):
    C32 = 1
    C64 = 2


class EIData(enum.IntEnum):
    LSB = 1
    MSB = 2


class EType(enum.IntEnum):
    REL = 1
    EXEC = 2
    DYN = 3
    CORE = 4


class EMachine(enum.IntEnum):
    SPARC = 2
    I386 = 3
    M68K = 4
    MIPS = 8
    PARISC = 15
    SPARC32PLUS = 18
    PPC = 20
    PPC64 = 21
    S390 = 22
    ARM = 40
    SH = 42
    SPARCV9 = 43
    IA_64 = 50
    X86_64 = 62
    AARCH64 = 183
    RISCV = 243
    LOONGARCH = 258
    ALPHA = 0x9026


class PType(enum.IntEnum):
    LOAD = 1
    DYNAMIC = 2
    INTERP = 3
    NOTE = 4


class ArmFlags(enum.IntFlag):
    """``e_flags`` of 32-bit ARM files (``packaging/_manylinux.py`` reads them the same way):
    glibc's armhf loader refuses soft-float objects, so the float ABI is part of the arch."""

    ABI_FLOAT_SOFT = 0x200
    ABI_FLOAT_HARD = 0x400


ANDROID_NOTE_NAME = b"Android\0"
NT_ANDROID_TYPE_IDENT = 1
"""The ``.note.android.ident`` note: owner "Android", type 1, the API level as its first word.
Every NDK-built file carries it; it is what tells Android's bionic ELF from glibc Linux."""
MAX_NOTES_BYTES = 4096
"""Bytes of PT_NOTE segments read; the Android note sits among the first few notes."""


class ShType(enum.IntEnum):
    STRTAB = 3
    DYNAMIC = 6


class DTag(enum.IntEnum):
    NULL = 0
    NEEDED = 1
    STRTAB = 5
    STRSZ = 10
    SONAME = 14
    RPATH = 15
    RUNPATH = 29
    FLAGS_1 = 0x6FFFFFFB


DF_1_PIE = 0x08000000
_ABI_FLOAT_SOFT, _ABI_FLOAT_HARD = int(ArmFlags.ABI_FLOAT_SOFT), int(ArmFlags.ABI_FLOAT_HARD)
# Plain ints for the per-entry loop: enum member lookups cost more than the parsing itself.
_DT_NEEDED, _DT_STRTAB, _DT_STRSZ, _DT_SONAME, _DT_FLAGS_1 = (
    int(t) for t in (DTag.NEEDED, DTag.STRTAB, DTag.STRSZ, DTag.SONAME, DTag.FLAGS_1)
)
_DT_NULL = int(DTag.NULL)
_DYNAMIC_ENTRY = {
    (endian, is64): struct.Struct(endian + ("QQ" if is64 else "II"))
    for endian in "<>"
    for is64 in (False, True)
}
"""One dynamic entry (d_tag, d_val), by byte order and word size."""
_NOTE_HEADER = {endian: struct.Struct(endian + "III") for endian in "<>"}
"""A note's namesz, descsz and type."""
_PROGRAM_HEADER = {
    # 64: p_type, p_flags, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align
    # 32: p_type, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_flags, p_align
    (endian, is64): struct.Struct(endian + ("I4xQQ8xQ16x" if is64 else "III4xI12x"))
    for endian in "<>"
    for is64 in (False, True)
}
"""One program header as (p_type, p_offset, p_vaddr, p_filesz), the other fields skipped."""
_STRING_TAGS = frozenset(int(t) for t in (DTag.NEEDED, DTag.SONAME, DTag.RPATH, DTag.RUNPATH))
_READ_TAGS = _STRING_TAGS | {_DT_NULL, _DT_STRTAB, _DT_STRSZ, _DT_FLAGS_1}
"""The dynamic entries the reader looks at; it steps over every other one."""
_PT_LOAD, _PT_DYNAMIC, _PT_INTERP = int(PType.LOAD), int(PType.DYNAMIC), int(PType.INTERP)
_PT_NOTE = int(PType.NOTE)
_ET_REL, _ET_EXEC, _ET_DYN, _ET_CORE = (int(t) for t in EType)


class OSABI(enum.IntEnum):
    SYSV = 0
    HPUX = 1
    NETBSD = 2
    GNU = 3
    HURD = 4
    SOLARIS = 6
    AIX = 7
    IRIX = 8
    FREEBSD = 9
    TRU64 = 10
    MODESTO = 11
    OPENBSD = 12
    OPENVMS = 13
    NSK = 14
    AROS = 15
    FENIXOS = 16
    CLOUDABI = 17
    OPENVOS = 18
    STANDALONE = 255


# SYSV (0) is what every Linux toolchain writes; GNU (3) appears with GNU_IFUNC/unique symbols.
_PLATFORMS: dict[int, str] = {
    OSABI.SYSV: "linux",
    OSABI.GNU: "linux",
    OSABI.HPUX: "hpux",
    OSABI.NETBSD: "netbsd",
    OSABI.HURD: "hurd",
    OSABI.SOLARIS: "solaris",
    OSABI.AIX: "aix",
    OSABI.IRIX: "irix",
    OSABI.FREEBSD: "freebsd",
    OSABI.TRU64: "tru64",
    OSABI.MODESTO: "modesto",
    OSABI.OPENBSD: "openbsd",
    OSABI.OPENVMS: "openvms",
    OSABI.NSK: "nsk",
    OSABI.AROS: "aros",
    OSABI.FENIXOS: "fenixos",
    OSABI.CLOUDABI: "cloudabi",
    OSABI.OPENVOS: "openvos",
    OSABI.STANDALONE: "standalone",
}
_PLATFORMS = {int(osabi): name for osabi, name in _PLATFORMS.items()}  # looked up by int

# (machine, class, data) -> uname -m name; None in a key matches either value.
_ARCHS: dict[tuple[int, Optional[int], Optional[int]], str] = {
    (EMachine.X86_64, EIClass.C64, None): "x86_64",
    (EMachine.X86_64, EIClass.C32, None): "x32",  # the x32 ABI: no x86_64 process loads it
    (EMachine.I386, None, None): "i686",
    (EMachine.AARCH64, EIClass.C64, EIData.LSB): "aarch64",
    (EMachine.AARCH64, EIClass.C64, EIData.MSB): "aarch64_be",
    (EMachine.AARCH64, EIClass.C32, None): "aarch64_ilp32",
    (EMachine.ARM, None, EIData.LSB): "armv7l",
    (EMachine.ARM, None, EIData.MSB): "armv7b",
    (EMachine.PPC64, None, EIData.LSB): "ppc64le",
    (EMachine.PPC64, None, EIData.MSB): "ppc64",
    (EMachine.PPC, None, EIData.MSB): "ppc",
    (EMachine.PPC, None, EIData.LSB): "ppcle",
    (EMachine.S390, EIClass.C64, None): "s390x",
    (EMachine.S390, EIClass.C32, None): "s390",
    (EMachine.RISCV, EIClass.C64, None): "riscv64",
    (EMachine.RISCV, EIClass.C32, None): "riscv32",
    (EMachine.LOONGARCH, EIClass.C64, None): "loongarch64",
    (EMachine.LOONGARCH, EIClass.C32, None): "loongarch32",
    (EMachine.MIPS, EIClass.C64, EIData.LSB): "mips64el",
    (EMachine.MIPS, EIClass.C64, EIData.MSB): "mips64",
    (EMachine.MIPS, EIClass.C32, EIData.LSB): "mipsel",
    (EMachine.MIPS, EIClass.C32, EIData.MSB): "mips",
    (EMachine.SPARCV9, None, None): "sparc64",
    (EMachine.SPARC, None, None): "sparc",
    (EMachine.SPARC32PLUS, None, None): "sparc",
    (EMachine.M68K, None, None): "m68k",
    (EMachine.PARISC, None, None): "parisc",
    (EMachine.SH, None, None): "sh4",
    (EMachine.IA_64, None, None): "ia64",
    (EMachine.ALPHA, None, None): "alpha",
}

# Sonames only glibc ships (musl has a single libc.so and names it libc.musl-<arch>.so.1).
_GLIBC_SONAMES = frozenset(
    {"libc.so.6", "libc.so.6.1", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1"}
)
_GLIBC_PREFIXES = ("ld-linux", "ld64.so.")
_MUSL_PREFIXES = ("ld-musl-", "libc.musl-")
_GLIBC_MARKS, _MUSL_MARKS = (
    tuple("\0" + p for p in ps) for ps in (_GLIBC_PREFIXES, _MUSL_PREFIXES)
)
"""The prefixes as they appear at the start of a name in a NUL-joined list of names."""

# class -> (ELF header format after e_ident, program header size, section header size)
_HEADER: dict[int, tuple[str, int, int]] = {
    int(EIClass.C32): ("HHIIIIIHHHHHH", 32, 40),
    int(EIClass.C64): ("HHIQQQIHHHHHH", 56, 64),
}
_C64 = int(EIClass.C64)
_ENDIAN: dict[int, str] = {int(EIData.LSB): "<", int(EIData.MSB): ">"}
_HEADER_STRUCT = {
    (int(elf_class), int(data)): struct.Struct(endian + fmt)
    for elf_class, (fmt, _, _) in _HEADER.items()
    for data, endian in _ENDIAN.items()
}
"""The ELF header after ``e_ident``, by class and byte order."""


def is_elf(head: bytes) -> bool:
    return head[:4] == ELF_MAGIC


@functools.lru_cache(maxsize=64)
def arch_name(machine: int, elf_class: int, data: int) -> str:
    """The ``uname -m`` name of an ``e_machine``; ``em_<n>`` for machines not listed."""
    for key in (
        (machine, elf_class, data),
        (machine, elf_class, None),
        (machine, None, data),
        (machine, None, None),
    ):
        name = _ARCHS.get(key)
        if name is not None:
            return name
    return f"em_{machine}"


def read_slices(source: ByteSource) -> tuple[Slice, ...]:
    """The one slice of an ELF file. Raises :class:`BinaryReadError` for anything truncated
    or inconsistent."""
    head = source.head(FIRST_READ)
    if len(head) < 16 or head[:4] != ELF_MAGIC:
        raise BinaryReadError("truncated ELF identification")
    elf_class, data, osabi = head[4], head[5], head[7]
    layout = _HEADER.get(elf_class)
    endian = _ENDIAN.get(data)
    if layout is None or endian is None:
        raise BinaryReadError(f"bad ELF class ({elf_class}) or byte order ({data})")
    _, phentsize_expected, shentsize_expected = layout
    if len(head) < (64 if elf_class == _C64 else 52):
        raise BinaryReadError("truncated ELF header")
    (e_type, machine, _, _, phoff, shoff, flags, _, phentsize, phnum, shentsize, shnum, _) = (
        _HEADER_STRUCT[elf_class, data].unpack_from(head, 16)
    )

    arch = arch_name(machine, elf_class, data)
    if arch == "armv7l" and flags & _ABI_FLOAT_SOFT and not flags & _ABI_FLOAT_HARD:
        arch = "armel"
    platform = _PLATFORMS.get(osabi) or f"osabi_{osabi}"
    if e_type == _ET_REL:
        return (Slice(arch=arch, file_type="object", platform=platform),)
    if e_type == _ET_CORE:
        # Core files may hold 65535+ segments (PN_XNUM) and link nothing: stop here.
        return (Slice(arch=arch, file_type="core", platform=platform),)
    if e_type != _ET_EXEC and e_type != _ET_DYN:
        raise BinaryReadError(f"unknown ELF file type {e_type}")

    file = _File(source, endian, elf_class == _C64)
    loads, dynamic, interp_at, notes = file.program_headers(
        phoff, phentsize, phnum, phentsize_expected
    )
    interp = file.interpreter(*interp_at) if interp_at else None
    needed, rpaths, soname, flags_1 = (
        file.dynamic(*dynamic, loads, (shoff, shentsize, shnum, shentsize_expected))
        if dynamic
        else _NO_DYNAMIC
    )
    libc = _libc(interp, needed, soname)
    # A file that needs glibc's or musl's libc loads on no Android, whatever its notes say:
    # only the others are searched for the Android note (auditwheel's patchelf moves the
    # notes out of the first read, where looking would cost a read more).
    api_level = (
        file.android_api_level(notes)
        if libc is None and notes and _may_be_android(head, notes)
        else None
    )
    if api_level is not None:
        platform = "android"

    if e_type == _ET_EXEC:
        file_type = "executable"
    elif flags_1 & DF_1_PIE or (interp is not None and soname is None):
        # A PIE. glibc's libc.so.6 has PT_INTERP too (it runs), but is a library: its soname.
        file_type = "executable"
    else:
        file_type = "shared-library"
    return (
        Slice(
            arch,
            file_type,
            platform,
            str(api_level) if api_level else None,  # min_os
            None,  # sdk
            needed,
            rpaths,
            soname,  # install_name
            libc,
        ),
    )


def _may_be_android(head: bytes, notes: list[tuple[int, int]]) -> bool:
    """Whether a PT_NOTE segment may hold the ``Android`` ident note: one that lies inside
    the first read and holds no ``Android`` owner name cannot (the rest of the head is
    not searched: the name elsewhere, in a string table, means nothing)."""
    size = len(head)
    for offset, length in notes:
        if offset + length > size or head.find(ANDROID_NOTE_NAME, offset, offset + length) >= 0:
            return True
    return False


def _libc(interp: Optional[str], needed: Sequence[str], soname: Optional[str]) -> Optional[str]:
    """Which libc the file was linked against, when it says so.

    Extension modules have no PT_INTERP; manylinux ones need ``libc.so.6``, musllinux ones
    ``libc.musl-<arch>.so.1``. The loader's name (``ld-linux-*.so.2``, ``ld64.so.*``,
    ``ld-musl-*.so.1``) tells too, as PT_INTERP, a DT_NEEDED or glibc's own soname. A file
    that names neither (static, or no libc calls) is None.
    """
    names = [*needed, interp.rsplit("/", 1)[-1] if interp else "", soname or ""]
    # Names hold no NUL (they are read up to one): joined, each prefix is one C-level search.
    joined = "\0" + "\0".join(names)
    if any(mark in joined for mark in _MUSL_MARKS):
        return "musl"
    if not _GLIBC_SONAMES.isdisjoint(names) or any(mark in joined for mark in _GLIBC_MARKS):
        return "glibc"
    return None


if TYPE_CHECKING:
    _Linking = tuple[tuple[str, ...], tuple[str, ...], Optional[str], int]
    """What the dynamic section says: DT_NEEDED names, DT_RUNPATH and DT_RPATH entries,
    DT_SONAME, DT_FLAGS_1."""

_NO_DYNAMIC: _Linking = ((), (), None, 0)
"""What a file without PT_DYNAMIC links: nothing."""


class _File:
    """One ELF file's byte order and word size; reads inside the first 4 KiB are free."""

    __slots__ = ("endian", "is64", "read", "size")

    def __init__(self, source: ByteSource, endian: str, is64: bool) -> None:
        self.read = source.read_at
        self.size = source.size
        self.endian = endian
        self.is64 = is64

    def program_headers(
        self, phoff: int, phentsize: int, phnum: int, expected: int
    ) -> tuple[
        list[tuple[int, int, int]],
        Optional[tuple[int, int]],
        Optional[tuple[int, int]],
        list[tuple[int, int]],
    ]:
        """PT_LOAD (vaddr, offset, filesz) list, PT_DYNAMIC and PT_INTERP (offset, filesz),
        PT_NOTE (offset, filesz) list."""
        if phnum == 0:
            return [], None, None, []
        if phentsize != expected:
            raise BinaryReadError(f"bad program header size {phentsize}")
        if phnum > MAX_PROGRAM_HEADERS:
            raise BinaryReadError(f"too many program headers ({phnum})")
        buf = self.read(phoff, phnum * phentsize)
        loads: list[tuple[int, int, int]] = []
        notes: list[tuple[int, int]] = []
        dynamic = interp = None
        # One pass over precompiled headers (a format string per phnum missed struct's cache).
        for p_type, offset, vaddr, size in _PROGRAM_HEADER[self.endian, self.is64].iter_unpack(buf):
            if p_type == _PT_LOAD:
                loads.append((vaddr, offset, size))
            elif p_type > _PT_NOTE:  # PHDR, TLS, GNU_STACK, GNU_RELRO...: one test, skipped
                continue
            elif p_type == _PT_NOTE:
                notes.append((offset, size))
            elif p_type == _PT_DYNAMIC:
                if dynamic is None:  # the first one counts
                    dynamic = (offset, size)
            elif p_type == _PT_INTERP and interp is None:
                interp = (offset, size)
        return loads, dynamic, interp, notes

    def android_api_level(self, notes: list[tuple[int, int]]) -> Optional[int]:
        """The API level of an ``Android`` ident note, or None when there is none. Notes
        that do not parse are skipped (they say nothing about the OS)."""
        budget = MAX_NOTES_BYTES
        for offset, size in notes:
            size = min(size, budget, max(self.size - offset, 0))
            budget -= size
            data = self.read(offset, size) if size >= 12 else b""
            position = 0
            while position + 12 <= len(data):
                namesz, descsz, kind = _NOTE_HEADER[self.endian].unpack_from(data, position)
                name_at = position + 12
                desc_at = name_at + ((namesz + 3) & ~3)
                end = desc_at + ((descsz + 3) & ~3)
                if end > len(data) or end <= position:
                    break
                if (
                    kind == NT_ANDROID_TYPE_IDENT
                    and data[name_at : name_at + namesz] == ANDROID_NOTE_NAME
                    and descsz >= 4
                ):
                    (level,) = struct.unpack_from(self.endian + "I", data, desc_at)
                    return int(level)
                position = end
        return None

    def interpreter(self, offset: int, size: int) -> str:
        if size > MAX_INTERP:
            raise BinaryReadError(f"PT_INTERP too long ({size} bytes)")
        return _decode(self.read(offset, size).split(b"\0", 1)[0])

    def dynamic(
        self,
        offset: int,
        size: int,
        loads: list[tuple[int, int, int]],
        sections: tuple[int, int, int, int],
    ) -> _Linking:
        entry = 16 if self.is64 else 8
        count = min(size // entry, MAX_DYNAMIC_ENTRIES)
        if count == 0:
            return _NO_DYNAMIC
        strings: list[tuple[int, int]] = []
        strtab = strsz = None
        flags_1 = 0
        read_tags, string_tags = _READ_TAGS, _STRING_TAGS
        # One pass over (d_tag, d_val) pairs; a later DT_STRTAB, DT_STRSZ or DT_FLAGS_1 wins.
        for tag, value in _DYNAMIC_ENTRY[self.endian, self.is64].iter_unpack(
            self.read(offset, count * entry)
        ):
            if tag not in read_tags:  # most entries: relocations, hashes, init arrays...
                continue
            if tag in string_tags:
                strings.append((tag, value))
            elif tag == _DT_NULL:  # ends the array
                break
            elif tag == _DT_STRTAB:
                strtab = value
            elif tag == _DT_STRSZ:
                strsz = value
            elif tag == _DT_FLAGS_1:
                flags_1 = value
        if not strings:
            return (), (), None, flags_1
        if strtab is None:
            raise BinaryReadError("dynamic section has names but no DT_STRTAB")
        table_offset, table_size = self._locate_strtab(strtab, loads, sections)
        if strsz is not None:
            table_size = min(table_size, strsz)
        return (*self._names(strings, table_offset, table_size), flags_1)

    def _locate_strtab(
        self, vaddr: int, loads: list[tuple[int, int, int]], sections: tuple[int, int, int, int]
    ) -> tuple[int, int]:
        """File offset of DT_STRTAB and the bytes the file holds from there."""
        for seg_vaddr, seg_offset, seg_size in loads:
            if seg_vaddr <= vaddr < seg_vaddr + seg_size:
                return seg_offset + (vaddr - seg_vaddr), seg_size - (vaddr - seg_vaddr)
        found = self._strtab_from_sections(vaddr, *sections)
        if found is None:
            raise BinaryReadError("DT_STRTAB address maps to no segment or section")
        return found

    def _strtab_from_sections(
        self, vaddr: int, shoff: int, shentsize: int, shnum: int, expected: int
    ) -> Optional[tuple[int, int]]:
        """The string table by section headers: the one at ``vaddr``, else SHT_DYNAMIC's link."""
        if shnum == 0 or shoff == 0:
            return None
        if shentsize != expected:
            raise BinaryReadError(f"bad section header size {shentsize}")
        if shnum > MAX_SECTION_HEADERS:
            raise BinaryReadError(f"too many section headers ({shnum})")
        buf = self.read(shoff, shnum * shentsize)
        fmt = self.endian + ("IIQQQQIIQQ" if self.is64 else "IIIIIIIIII")
        headers = [struct.unpack_from(fmt, buf, i * shentsize) for i in range(shnum)]
        # fields: name, type, flags, addr, offset, size, link, info, addralign, entsize
        for header in headers:
            if header[1] == ShType.STRTAB and header[3] == vaddr and vaddr:
                return header[4], header[5]
        for header in headers:
            if header[1] == ShType.DYNAMIC and header[6] < shnum:
                linked = headers[header[6]]
                if linked[1] == ShType.STRTAB:
                    return linked[4], linked[5]
        return None

    def _names(
        self, strings: list[tuple[int, int]], table_offset: int, table_size: int
    ) -> tuple[tuple[str, ...], tuple[str, ...], Optional[str]]:
        """The NUL-terminated names of ``(tag, offset)`` entries, from one bounded read of the
        string table: the needed libraries, the run paths and the soname."""
        offsets = [offset for _, offset in strings]
        first, last = min(offsets), max(offsets)
        if last >= table_size:
            raise BinaryReadError(f"string offset {last} outside the {table_size}-byte strtab")
        window = self.read(table_offset + first, min(table_size, last + MAX_STRING) - first)
        find = window.find
        total = 0
        needed: list[str] = []
        rpaths: list[str] = []
        soname = None
        for tag, offset in strings:
            start = offset - first
            stop = find(b"\0", start, start + MAX_STRING)
            if stop < 0:
                raise BinaryReadError("unterminated or overlong string in the dynamic string table")
            total += stop - start
            if total > MAX_NAMES_TOTAL:
                raise BinaryReadError(f"dynamic names exceed {MAX_NAMES_TOTAL // 1024} KiB")
            name = window[start:stop].decode("utf-8", "backslashreplace")  # as _decode
            if tag == _DT_NEEDED:
                needed.append(name)
            elif tag == _DT_SONAME:
                if soname is None:
                    soname = name
            else:  # RUNPATH and RPATH: ld.so ignores RPATH when RUNPATH exists; list both.
                rpaths.extend(p for p in name.split(":") if p)
        return tuple(needed), tuple(rpaths), soname


def _decode(raw: bytes) -> str:
    """Names are bytes; undecodable ones stay readable and printable, and never raise."""
    return raw.decode("utf-8", "backslashreplace")
