"""Build small, valid PE images byte by byte, for tests and hostile-input mutations.

``pe(...)`` returns bytes; ``build_pe(...)`` also returns the offsets of every structure, so
a test can corrupt exactly one field. Layout::

    DOS header (e_lfanew = 0x40) | "PE\\0\\0" | COFF header | optional header | section table
    0x200: .rdata (RVA 0x1000): import descriptors | delay-import descriptors | load config
           | thunk arrays | DLL names

Every import takes one function by ordinal 1, so ``llvm-readobj --coff-imports`` can walk it.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

MACHINES = {
    "x86": 0x14C,
    "amd64": 0x8664,
    "arm64": 0xAA64,
    "arm": 0x1C4,
    "arm64ec": 0xA641,
    "arm64x": 0xA64E,
    "ia64": 0x200,
}
SIXTY_FOUR_BIT = {0x8664, 0xAA64, 0xA641, 0xA64E, 0x200}
IMAGE_FILE_EXECUTABLE_IMAGE = 2
IMAGE_FILE_LARGE_ADDRESS_AWARE = 0x20
IMAGE_FILE_32BIT_MACHINE = 0x100
IMAGE_FILE_DLL = 0x2000
PE_OFFSET = 0x40
FILE_ALIGNMENT = 0x200
SECTION_RVA = 0x1000
CHPE_OFFSET_64, CHPE_OFFSET_32 = 200, 124
COMIMAGE_FLAGS_ILONLY, COMIMAGE_FLAGS_32BITREQUIRED = 0x1, 0x2
COMIMAGE_FLAGS_32BITPREFERRED = 0x20000


@dataclass(frozen=True)
class PeImage:
    data: bytes
    pe32plus: bool
    pe_offset: int
    coff_offset: int
    optional_offset: int
    optional_size: int
    directories_offset: int
    section_table_offset: int
    section_offset: int
    """File offset of .rdata; RVA ``r`` lies at ``section_offset + r - SECTION_RVA``."""
    import_offset: Optional[int]
    delay_import_offset: Optional[int]
    load_config_offset: Optional[int]
    image_base: int


def pe(machine: str = "amd64", **options: object) -> bytes:
    """The bytes of :func:`build_pe`."""
    return build_pe(machine, **options).data  # type: ignore[arg-type]


def build_pe(
    machine: str = "amd64",
    *,
    machine_value: Optional[int] = None,
    dll: bool = True,
    imports: Sequence[str] = (),
    delay_imports: Sequence[str] = (),
    chpe: bool = False,
    load_config: Optional[bool] = None,
    pe32plus: Optional[bool] = None,
    delay_rva_based: bool = True,
    clr_flags: Optional[int] = None,
) -> PeImage:
    """A PE image for ``machine`` (a key of :data:`MACHINES`, or any with ``machine_value=``).

    ``chpe`` writes a load configuration with a non-zero CHPEMetadataPointer (the mark of
    ARM64EC/ARM64X images); ``load_config=True`` writes one without it.
    ``pe32plus`` defaults to the machine's word size. ``delay_rva_based=False`` writes
    Visual C++ 6 style delay-load descriptors that hold VAs. ``clr_flags`` writes a CLR
    runtime header (a .NET assembly) with these ``COMIMAGE_FLAGS_*``.
    """
    value = MACHINES[machine] if machine_value is None else machine_value
    plus = value in SIXTY_FOUR_BIT if pe32plus is None else pe32plus
    if load_config is None:
        load_config = chpe
    image_base = 0x180000000 if plus else 0x10000000
    word, thunk_size = ("Q", 8) if plus else ("I", 4)
    optional_size = 240 if plus else 224
    coff_offset = PE_OFFSET + 4
    optional_offset = coff_offset + 20
    directories_offset = optional_offset + (112 if plus else 96)
    section_table_offset = optional_offset + optional_size
    headers_size = FILE_ALIGNMENT
    assert section_table_offset + 40 <= headers_size

    # .rdata contents, laid out by RVA
    import_rva = SECTION_RVA
    cursor = import_rva + (len(imports) + 1) * 20 if imports else import_rva
    delay_rva = cursor
    if delay_imports:
        cursor += (len(delay_imports) + 1) * 32
    load_config_rva = cursor
    load_config_size = (0x140 if plus else 0xC0) if load_config else 0
    cursor += load_config_size
    clr_rva = cursor
    if clr_flags is not None:
        cursor += 72  # sizeof(IMAGE_COR20_HEADER)
    every = [*imports, *delay_imports]
    thunks_rva = cursor  # per DLL: ILT (2 thunks), IAT (2 thunks), module handle (8 bytes)
    per_dll = 4 * thunk_size + 8
    cursor += per_dll * len(every)
    names_rva = cursor
    name_rvas = []
    names = bytearray()
    for name in every:
        name_rvas.append(names_rva + len(names))
        names += name.encode() + b"\0"
    cursor += len(names)
    virtual_size = max(cursor - SECTION_RVA, 1)
    raw_size = (virtual_size + FILE_ALIGNMENT - 1) // FILE_ALIGNMENT * FILE_ALIGNMENT
    section_offset = headers_size
    size = section_offset + raw_size
    out = bytearray(size)

    def at(rva: int) -> int:
        return section_offset + rva - SECTION_RVA

    out[0:2] = b"MZ"
    struct.pack_into("<I", out, 0x3C, PE_OFFSET)
    out[PE_OFFSET : PE_OFFSET + 4] = b"PE\0\0"
    characteristics = IMAGE_FILE_EXECUTABLE_IMAGE | (
        IMAGE_FILE_LARGE_ADDRESS_AWARE if plus else IMAGE_FILE_32BIT_MACHINE
    )
    if dll:
        characteristics |= IMAGE_FILE_DLL
    struct.pack_into(
        "<HHIIIHH", out, coff_offset, value, 1, 0, 0, 0, optional_size, characteristics
    )
    size_of_image = SECTION_RVA + (virtual_size + 0xFFF) // 0x1000 * 0x1000
    if plus:
        struct.pack_into(
            "<HBBIIIIIQIIHHHHHHIIIIHHQQQQII",
            out,
            optional_offset,
            0x20B,
            14,
            0,
            0,
            raw_size,
            0,
            0,
            SECTION_RVA,
            image_base,
            0x1000,
            FILE_ALIGNMENT,
            6,
            0,
            0,
            0,
            6,
            0,
            0,
            size_of_image,
            headers_size,
            0,
            3,
            0x160,
            0x100000,
            0x1000,
            0x100000,
            0x1000,
            0,
            16,
        )
    else:
        struct.pack_into(
            "<HBBIIIIIIIIIHHHHHHIIIIHHIIIIII",
            out,
            optional_offset,
            0x10B,
            14,
            0,
            0,
            raw_size,
            0,
            0,
            SECTION_RVA,
            SECTION_RVA,
            image_base,
            0x1000,
            FILE_ALIGNMENT,
            6,
            0,
            0,
            0,
            6,
            0,
            0,
            size_of_image,
            headers_size,
            0,
            3,
            0x140,
            0x100000,
            0x1000,
            0x100000,
            0x1000,
            0,
            16,
        )
    directories = {}
    if imports:
        directories[1] = (import_rva, (len(imports) + 1) * 20)
        directories[12] = (thunks_rva + 2 * thunk_size, 2 * thunk_size * len(imports))
    if load_config:
        directories[10] = (load_config_rva, load_config_size)
    if delay_imports:
        directories[13] = (delay_rva, (len(delay_imports) + 1) * 32)
    if clr_flags is not None:
        directories[14] = (clr_rva, 72)
    for index, (rva, length) in directories.items():
        struct.pack_into("<II", out, directories_offset + index * 8, rva, length)
    struct.pack_into(
        "<8sIIIIIIHHI",
        out,
        section_table_offset,
        b".rdata",
        virtual_size,
        SECTION_RVA,
        raw_size,
        section_offset,
        0,
        0,
        0,
        0,
        0x40000040,
    )

    ordinal = (1 << 63 | 1) if plus else (1 << 31 | 1)
    for i, name_rva in enumerate(name_rvas):
        ilt = thunks_rva + i * per_dll
        iat = ilt + 2 * thunk_size
        handle = iat + 2 * thunk_size
        struct.pack_into(f"<{word}", out, at(ilt), ordinal)
        struct.pack_into(f"<{word}", out, at(iat), ordinal)
        if i < len(imports):
            struct.pack_into("<IIIII", out, at(import_rva + i * 20), ilt, 0, 0, name_rva, iat)
        else:
            j = i - len(imports)
            bias = 0 if delay_rva_based else image_base
            struct.pack_into(
                f"<I{'I' * 7}",
                out,
                at(delay_rva + j * 32),
                1 if delay_rva_based else 0,
                (name_rva + bias) & 0xFFFFFFFF,
                (handle + bias) & 0xFFFFFFFF,
                (iat + bias) & 0xFFFFFFFF,
                (ilt + bias) & 0xFFFFFFFF,
                0,
                0,
                0,
            )
    out[at(names_rva) : at(names_rva) + len(names)] = names
    if clr_flags is not None:  # cb, runtime 2.5, metadata directory (empty), Flags
        struct.pack_into("<IHHIII", out, at(clr_rva), 72, 2, 5, 0, 0, clr_flags)
    if load_config:
        struct.pack_into("<I", out, at(load_config_rva), load_config_size)
        if chpe:
            pointer = image_base + names_rva  # any non-zero VA inside the image
            if plus:
                struct.pack_into("<Q", out, at(load_config_rva) + CHPE_OFFSET_64, pointer)
            else:
                struct.pack_into("<I", out, at(load_config_rva) + CHPE_OFFSET_32, pointer)
    return PeImage(
        data=bytes(out),
        pe32plus=plus,
        pe_offset=PE_OFFSET,
        coff_offset=coff_offset,
        optional_offset=optional_offset,
        optional_size=optional_size,
        directories_offset=directories_offset,
        section_table_offset=section_table_offset,
        section_offset=section_offset,
        import_offset=at(import_rva) if imports else None,
        delay_import_offset=at(delay_rva) if delay_imports else None,
        load_config_offset=at(load_config_rva) if load_config else None,
        image_base=image_base,
    )
