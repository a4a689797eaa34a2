"""Build small, valid ELF files byte by byte, for tests and hostile-input mutations.

``elf(...)`` returns bytes; ``build_elf(...)`` also returns the offsets of every structure,
so a test can corrupt exactly one field. Layout (all in one PT_LOAD at vaddr ``BASE``)::

    ELF header | program headers | interp | .dynstr | .dynamic | .shstrtab | section headers
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

BASE = 0x400000
"""Virtual address of file offset 0."""

# arch -> (e_machine, bits, big_endian) defaults
ARCHS: dict[str, tuple[int, int, bool]] = {
    "x86_64": (62, 64, False),
    "x32": (62, 32, False),
    "i686": (3, 32, False),
    "aarch64": (183, 64, False),
    "aarch64_be": (183, 64, True),
    "armv7l": (40, 32, False),
    "armv7b": (40, 32, True),
    "ppc64le": (21, 64, False),
    "ppc64": (21, 64, True),
    "ppc": (20, 32, True),
    "s390x": (22, 64, True),
    "s390": (22, 32, True),
    "riscv64": (243, 64, False),
    "riscv32": (243, 32, False),
    "loongarch64": (258, 64, False),
    "mips": (8, 32, True),
    "mipsel": (8, 32, False),
    "mips64": (8, 64, True),
    "mips64el": (8, 64, False),
    "sparc64": (43, 64, True),
    "m68k": (4, 32, True),
    "ia64": (50, 64, False),
}
ETYPES = {"rel": 1, "exec": 2, "dyn": 3, "core": 4}

PT_LOAD, PT_DYNAMIC, PT_INTERP, PT_NOTE = 1, 2, 3, 4
EF_ARM_ABI_VER5, EF_ARM_ABI_FLOAT_SOFT, EF_ARM_ABI_FLOAT_HARD = 0x05000000, 0x200, 0x400
ARMHF_FLAGS = EF_ARM_ABI_VER5 | EF_ARM_ABI_FLOAT_HARD  # Debian armhf's libz: 0x5000400
ARMEL_FLAGS = EF_ARM_ABI_VER5 | EF_ARM_ABI_FLOAT_SOFT  # Debian armel's libz: 0x5000200
DT_NULL, DT_NEEDED, DT_STRTAB, DT_STRSZ, DT_SONAME, DT_RPATH, DT_RUNPATH = 0, 1, 5, 10, 14, 15, 29
DT_FLAGS_1, DF_1_PIE = 0x6FFFFFFB, 0x08000000
SHT_STRTAB, SHT_DYNAMIC = 3, 6


@dataclass(frozen=True)
class ElfImage:
    data: bytes
    bits: int
    big_endian: bool
    phoff: int
    phentsize: int
    phnum: int
    interp_offset: Optional[int]
    dynstr_offset: int
    dynstr_size: int
    dynamic_offset: int
    dynamic_size: int
    shoff: int
    shnum: int

    @property
    def endian(self) -> str:
        return ">" if self.big_endian else "<"

    @property
    def word(self) -> str:
        return "Q" if self.bits == 64 else "I"


def elf(arch: str = "x86_64", **options: object) -> bytes:
    """The bytes of :func:`build_elf`."""
    return build_elf(arch, **options).data  # type: ignore[arg-type]


def build_elf(
    arch: str = "x86_64",
    *,
    bits: Optional[int] = None,
    big_endian: Optional[bool] = None,
    machine: Optional[int] = None,
    etype: str = "dyn",
    osabi: int = 0,
    interp: Optional[str] = None,
    needed: Sequence[str] = (),
    runpath: Sequence[str] = (),
    rpath: Sequence[str] = (),
    soname: Optional[str] = None,
    pie: bool = False,
    dynamic: Optional[bool] = None,
    extra_dynamic: Sequence[tuple[int, int]] = (),
    load: bool = True,
    sections: bool = True,
    strsz: bool = True,
    flags: int = 0,
    notes: Sequence[tuple[bytes, int, bytes]] = (),
    android_api: Optional[int] = None,
) -> ElfImage:
    """An ELF file for ``arch`` (a key of :data:`ARCHS`, or any name with ``machine=``).

    ``runpath``/``rpath`` entries are joined with ``:`` into one DT_RUNPATH/DT_RPATH.
    ``dynamic`` defaults to "when there is anything to put in it"; ``load=False`` leaves out
    the PT_LOAD segment (so DT_STRTAB maps only through section headers); ``sections=False``
    leaves out section headers; ``strsz=False`` leaves out DT_STRSZ. ``flags`` is
    ``e_flags``; ``notes`` are (name, type, desc) notes in one PT_NOTE segment, and
    ``android_api`` adds the ``.note.android.ident`` note NDK-built files carry (name
    ``Android``, type 1, the API level, then the NDK version strings).
    """
    default_machine, default_bits, default_big = ARCHS.get(arch, (0, 64, False))
    machine = default_machine if machine is None else machine
    bits = default_bits if bits is None else bits
    big_endian = default_big if big_endian is None else big_endian
    e = ">" if big_endian else "<"
    w = "Q" if bits == 64 else "I"
    ehsize, phentsize, shentsize = (64, 56, 64) if bits == 64 else (52, 32, 40)
    if dynamic is None:
        dynamic = bool(needed or runpath or rpath or soname or pie or extra_dynamic)

    # .dynstr
    dynstr = bytearray(b"\0")

    def add(text: str) -> int:
        at = len(dynstr)
        dynstr.extend(text.encode() + b"\0")
        return at

    entries: list[tuple[int, int]] = []
    if soname is not None:
        entries.append((DT_SONAME, add(soname)))
    entries += [(DT_NEEDED, add(name)) for name in needed]
    if runpath:
        entries.append((DT_RUNPATH, add(":".join(runpath))))
    if rpath:
        entries.append((DT_RPATH, add(":".join(rpath))))
    if pie:
        entries.append((DT_FLAGS_1, DF_1_PIE))
    entries += list(extra_dynamic)

    notes = list(notes)
    if android_api is not None:
        ndk = b"r27c".ljust(64, b"\0") + b"12479018".ljust(64, b"\0")
        notes.append((b"Android\0", 1, struct.pack(f"{e}I", android_api) + ndk))

    def pad4(raw: bytes) -> bytes:
        return raw + b"\0" * (-len(raw) % 4)

    note_bytes = b"".join(
        struct.pack(f"{e}III", len(name), len(desc), kind) + pad4(name) + pad4(desc)
        for name, kind, desc in notes
    )
    phnum = (1 if load else 0) + (1 if dynamic else 0) + (1 if interp is not None else 0)
    phnum += 1 if notes else 0
    phoff = ehsize if phnum else 0
    cursor = ehsize + phnum * phentsize
    interp_bytes = interp.encode() + b"\0" if interp is not None else b""
    interp_offset = cursor if interp is not None else None
    cursor += len(interp_bytes)
    cursor = (cursor + 3) & ~3
    note_offset = cursor
    cursor += len(note_bytes)
    dynstr_offset = cursor
    cursor += len(dynstr)
    cursor = (cursor + 7) & ~7
    dynamic_offset = cursor
    dyn_entry = 16 if bits == 64 else 8
    tail = [(DT_STRTAB, BASE + dynstr_offset)]
    if strsz:
        tail.append((DT_STRSZ, len(dynstr)))
    all_entries = [*tail, *entries, (DT_NULL, 0)] if dynamic else []
    dynamic_bytes = b"".join(struct.pack(f"{e}2{w}", t, v) for t, v in all_entries)
    cursor += len(dynamic_bytes)
    shstrtab = b"\0.dynstr\0.dynamic\0.shstrtab\0"
    shstrtab_offset = cursor
    cursor += len(shstrtab)
    cursor = (cursor + 7) & ~7
    shoff = cursor if sections else 0
    shnum = 4 if sections else 0
    size = cursor + shnum * shentsize

    out = bytearray(size)
    ident = b"\x7fELF" + bytes([2 if bits == 64 else 1, 2 if big_endian else 1, 1, osabi])
    out[:16] = ident.ljust(16, b"\0")
    struct.pack_into(
        e + ("HHIQQQIHHHHHH" if bits == 64 else "HHIIIIIHHHHHH"),
        out,
        16,
        ETYPES[etype],
        machine,
        1,
        BASE + 0x1000 if etype in ("exec", "dyn") else 0,
        phoff,
        shoff,
        flags,
        ehsize,
        phentsize,
        phnum,
        shentsize,
        shnum,
        3 if sections else 0,
    )

    def phdr(index: int, p_type: int, offset: int, vaddr: int, filesz: int) -> None:
        at = phoff + index * phentsize
        if bits == 64:
            struct.pack_into(
                e + "IIQQQQQQ", out, at, p_type, 4, offset, vaddr, vaddr, filesz, filesz, 8
            )
        else:
            struct.pack_into(e + "8I", out, at, p_type, offset, vaddr, vaddr, filesz, filesz, 4, 4)

    index = 0
    if interp is not None:  # PT_INTERP precedes PT_LOAD, as ld writes it
        assert interp_offset is not None
        phdr(index, PT_INTERP, interp_offset, BASE + interp_offset, len(interp_bytes))
        index += 1
    if load:
        phdr(index, PT_LOAD, 0, BASE, size)
        index += 1
    if dynamic:
        phdr(index, PT_DYNAMIC, dynamic_offset, BASE + dynamic_offset, len(dynamic_bytes))
        index += 1
    if notes:
        phdr(index, PT_NOTE, note_offset, BASE + note_offset, len(note_bytes))
        out[note_offset : note_offset + len(note_bytes)] = note_bytes
    if interp_offset is not None:
        out[interp_offset : interp_offset + len(interp_bytes)] = interp_bytes
    out[dynstr_offset : dynstr_offset + len(dynstr)] = dynstr
    out[dynamic_offset : dynamic_offset + len(dynamic_bytes)] = dynamic_bytes
    out[shstrtab_offset : shstrtab_offset + len(shstrtab)] = shstrtab
    if sections:
        fmt = e + ("IIQQQQIIQQ" if bits == 64 else "10I")
        # null, .dynstr (1), .dynamic (2, linked to 1), .shstrtab (3)
        struct.pack_into(
            fmt,
            out,
            shoff + shentsize,
            1,
            SHT_STRTAB,
            2,
            BASE + dynstr_offset,
            dynstr_offset,
            len(dynstr),
            0,
            0,
            1,
            0,
        )
        struct.pack_into(
            fmt,
            out,
            shoff + 2 * shentsize,
            9,
            SHT_DYNAMIC,
            3,
            BASE + dynamic_offset,
            dynamic_offset,
            len(dynamic_bytes),
            1,
            0,
            8,
            dyn_entry,
        )
        struct.pack_into(
            fmt,
            out,
            shoff + 3 * shentsize,
            18,
            SHT_STRTAB,
            0,
            0,
            shstrtab_offset,
            len(shstrtab),
            0,
            0,
            1,
            0,
        )
    return ElfImage(
        data=bytes(out),
        bits=bits,
        big_endian=big_endian,
        phoff=phoff,
        phentsize=phentsize,
        phnum=phnum,
        interp_offset=interp_offset,
        dynstr_offset=dynstr_offset,
        dynstr_size=len(dynstr),
        dynamic_offset=dynamic_offset,
        dynamic_size=len(dynamic_bytes),
        shoff=shoff,
        shnum=shnum,
    )
