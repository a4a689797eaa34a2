"""PE reader: machine, DLL or executable, and imported DLLs of one Windows image.

Reads the DOS, COFF and optional headers and the section table (inside the first 4 KiB in
every real image), then the import and delay-import descriptors and the DLL names they point
to. Only ``MZ`` is checked by :func:`is_pe` because format detection sees 8 bytes; a DOS
``MZ`` file without a ``PE\\0\\0`` header is reported as a :class:`BinaryReadError`.

ARM64EC and ARM64X images carry the COFF machine of one of their two views (AMD64 and
ARM64); what tells them apart is a non-zero ``CHPEMetadataPointer`` in the load
configuration. So: AMD64 + CHPE metadata -> ``arm64ec``, ARM64 + CHPE metadata ->
``arm64x``. This is a heuristic (the hybrid metadata is not validated), but no plain AMD64 or
ARM64 image has that pointer set.

PE format: https://learn.microsoft.com/en-us/windows/win32/debug/pe-format
"""

from __future__ import annotations

import bisect
import enum
import struct

from .model import CLR_ANYCPU, CLR_ANYCPU_32BIT_PREFERRED, BinaryReadError, Slice
from .source import FIRST_READ, ByteSource

TYPE_CHECKING = False  # typing costs `inspect` ~15 ms of start-up: for mypy only
if TYPE_CHECKING:
    from typing import Optional

MZ_MAGIC = b"MZ"
PE_SIGNATURE = b"PE\0\0"

MAX_DESCRIPTORS = 4096
"""Import descriptors read per directory; real images import a few dozen DLLs."""
MAX_NAME = 260
"""Longest DLL name read (MAX_PATH)."""
MAX_SECTIONS = 8192


class Machine(enum.IntEnum):
    I386 = 0x14C
    ARM = 0x1C0
    THUMB = 0x1C2
    ARMNT = 0x1C4
    IA64 = 0x200
    AMD64 = 0x8664
    ARM64 = 0xAA64
    ARM64EC = 0xA641
    ARM64X = 0xA64E
    RISCV32 = 0x5032
    RISCV64 = 0x5064
    LOONGARCH64 = 0x6264


# Python's win_* platform tag names (sysconfig.get_platform() without "win-").
_ARCHS: dict[int, str] = {
    Machine.I386: "x86",
    Machine.ARM: "arm",
    Machine.THUMB: "arm",
    Machine.ARMNT: "arm",
    Machine.IA64: "ia64",
    Machine.AMD64: "amd64",
    Machine.ARM64: "arm64",
    Machine.ARM64EC: "arm64ec",
    Machine.ARM64X: "arm64x",
    Machine.RISCV32: "riscv32",
    Machine.RISCV64: "riscv64",
    Machine.LOONGARCH64: "loongarch64",
}


class OptionalMagic(enum.IntEnum):
    PE32 = 0x10B
    PE32_PLUS = 0x20B


class Directory(enum.IntEnum):
    IMPORT = 1
    LOAD_CONFIG = 10
    DELAY_IMPORT = 13
    CLR_RUNTIME = 14


class ComImageFlags(enum.IntFlag):
    """``IMAGE_COR20_HEADER.Flags`` of a .NET assembly (what ``corflags`` shows)."""

    ILONLY = 0x1
    BIT32_REQUIRED = 0x2
    IL_LIBRARY = 0x4
    STRONGNAME_SIGNED = 0x8
    NATIVE_ENTRYPOINT = 0x10
    TRACKDEBUGDATA = 0x10000
    BIT32_PREFERRED = 0x20000


CLR_FLAGS_OFFSET = 16
"""Offset of ``Flags`` in ``IMAGE_COR20_HEADER`` (cb, versions, the metadata directory)."""


# Plain ints for the hot path: an enum member lookup costs ~0.2 µs on Python 3.11.
_AMD64, _ARM64 = int(Machine.AMD64), int(Machine.ARM64)
_PE32, _PE32_PLUS = int(OptionalMagic.PE32), int(OptionalMagic.PE32_PLUS)
_IMPORT, _LOAD_CONFIG, _DELAY_IMPORT, _CLR = (int(d) for d in Directory)

IMAGE_FILE_DLL = 0x2000
DELAY_ATTRIBUTE_RVA = 1
"""Delay-load descriptors without this bit (Visual C++ 6) hold VAs, not RVAs."""

# CHPEMetadataPointer's offset in IMAGE_LOAD_CONFIG_DIRECTORY64 (8 bytes wide).
CHPE_OFFSET_64 = 200


def is_pe(head: bytes) -> bool:
    return head[:2] == MZ_MAGIC


def arch_name(machine: int) -> str:
    """The Windows name of a COFF machine; ``machine_0x<hex>`` for machines not listed."""
    return _ARCHS.get(machine, f"machine_0x{machine:04x}")


def read_slices(source: ByteSource) -> tuple[Slice, ...]:
    return (_Image(source).slice(),)


class _Image:
    def __init__(self, source: ByteSource) -> None:
        self.source = source
        self.read = source.read_at  # reads inside the first 4 KiB are free
        head = source.head(FIRST_READ)
        if len(head) < 64 or head[:2] != MZ_MAGIC:
            raise BinaryReadError("MZ executable without a PE header")
        (pe_offset,) = struct.unpack_from("<I", head, 0x3C)
        if pe_offset + 24 > source.size or self.read(pe_offset, 4) != PE_SIGNATURE:
            raise BinaryReadError("MZ executable without a PE header")
        (self.machine, sections, _, _, _, optional_size, self.characteristics) = struct.unpack(
            "<HHIIIHH", self.read(pe_offset + 4, 20)
        )
        optional_offset = pe_offset + 24
        if optional_size < 2:
            raise BinaryReadError("PE image without an optional header")
        optional = self.read(optional_offset, optional_size)
        (magic,) = struct.unpack_from("<H", optional)
        if magic == _PE32_PLUS:
            self.is64, base_at, count_at = True, 24, 108
        elif magic == _PE32:
            self.is64, base_at, count_at = False, 28, 92
        else:
            raise BinaryReadError(f"unknown PE optional header magic 0x{magic:x}")
        if optional_size < count_at + 4:
            raise BinaryReadError(f"PE optional header too small ({optional_size} bytes)")
        self.image_base = struct.unpack_from("<Q" if self.is64 else "<I", optional, base_at)[0]
        (self.headers_size,) = struct.unpack_from("<I", optional, 60)
        (count,) = struct.unpack_from("<I", optional, count_at)
        count = min(count, 16, (optional_size - count_at - 4) // 8)
        values = struct.unpack_from(f"<{count * 2}I", optional, count_at + 4)
        self.directories = [(values[i], values[i + 1]) for i in range(0, count * 2, 2)]

        if sections > MAX_SECTIONS:
            raise BinaryReadError(f"too many PE sections ({sections})")
        table = self.read(optional_offset + optional_size, sections * 40)
        # VirtualSize, VirtualAddress, SizeOfRawData, PointerToRawData after the 8-byte name;
        # kept as (VirtualAddress, bytes in the file, PointerToRawData), sorted for bisection:
        # a hostile image may pair thousands of sections with thousands of names.
        spans = []
        for i in range(sections):
            virtual_size, address, raw_size, raw_offset = struct.unpack_from(
                "<IIII", table, i * 40 + 8
            )
            size = min(raw_size, virtual_size) if virtual_size else raw_size
            if size:
                spans.append((address, size, raw_offset))
        spans.sort()
        self.spans = spans
        self.starts = [address for address, _, _ in spans]

    def slice(self) -> Slice:
        arch = arch_name(self.machine)
        if (self.machine == _AMD64 or self.machine == _ARM64) and self._has_chpe_metadata():
            arch = "arm64ec" if self.machine == _AMD64 else "arm64x"
        dependencies = self._imports(_IMPORT, 20, 12, None)
        dependencies += self._imports(_DELAY_IMPORT, 32, 4, 0)
        return Slice(
            arch=arch,
            file_type="dll" if self.characteristics & IMAGE_FILE_DLL else "executable",
            platform="windows",
            dependencies=tuple(dict.fromkeys(dependencies)),
            clr=self._clr(arch),
        )

    def _clr(self, arch: str) -> Optional[str]:
        """What a .NET assembly's CLR header says about where it runs, as ``corflags`` and
        Visual Studio name it; ``None`` for native images. A CLR directory that points
        nowhere is read as none: the file is then judged as native code, the strict side."""
        rva, size = self.directory(_CLR)
        if rva == 0 or size < CLR_FLAGS_OFFSET + 4:
            return None
        try:
            offset, available = self.map(rva)
            if available < CLR_FLAGS_OFFSET + 4:
                return None
            (flags,) = struct.unpack("<I", self.read(offset + CLR_FLAGS_OFFSET, 4))
        except BinaryReadError:
            return None
        if not flags & ComImageFlags.ILONLY:
            return "mixed-mode (native code inside)"
        if self.is64 or self.machine != int(Machine.I386):
            return f"{arch}-only (IL only)"
        if flags & ComImageFlags.BIT32_REQUIRED:
            if flags & ComImageFlags.BIT32_PREFERRED:
                return CLR_ANYCPU_32BIT_PREFERRED
            return "x86-only (IL only, 32-bit required)"
        return CLR_ANYCPU

    def directory(self, index: int) -> tuple[int, int]:
        return self.directories[index] if index < len(self.directories) else (0, 0)

    def map(self, rva: int) -> tuple[int, int]:
        """File offset of an RVA and the bytes the file holds from there."""
        index = bisect.bisect_right(self.starts, rva) - 1
        if index >= 0:
            address, size, raw_offset = self.spans[index]
            if rva < address + size:
                return raw_offset + rva - address, size - (rva - address)
        elif rva < self.headers_size:  # before the first section: the headers themselves
            return rva, self.headers_size - rva
        raise BinaryReadError(f"RVA 0x{rva:x} maps to no section")

    def _has_chpe_metadata(self) -> bool:
        rva, size = self.directory(_LOAD_CONFIG)
        if rva == 0 or size < 4:
            return False
        offset, available = self.map(rva)
        if available < 4:
            raise BinaryReadError("truncated load configuration")
        (declared,) = struct.unpack("<I", self.read(offset, 4))
        if declared < CHPE_OFFSET_64 + 8 or available < CHPE_OFFSET_64 + 8:
            return False
        (pointer,) = struct.unpack("<Q", self.read(offset + CHPE_OFFSET_64, 8))
        return bool(pointer)

    def _imports(
        self, index: int, entry: int, name_at: int, attributes_at: Optional[int]
    ) -> list[str]:
        """DLL names of an import (or delay-import) directory, up to its all-zero terminator.

        The directory's size is often wrong in real files, so the walk is bounded by the
        section holding it and :data:`MAX_DESCRIPTORS`, as the loader's walk is by the image.
        """
        rva, _ = self.directory(index)
        if rva == 0:
            return []
        offset, available = self.map(rva)
        limit = min(available // entry, MAX_DESCRIPTORS)
        name_rvas: list[int] = []
        chunk, start = 16, 0
        while True:
            count = min(chunk, limit - start)
            if count <= 0:
                raise BinaryReadError("import directory has no terminator")
            data = self.read(offset + start * entry, count * entry)
            for i in range(count):
                (name_rva,) = struct.unpack_from("<I", data, i * entry + name_at)
                if name_rva == 0:
                    return self._names(name_rvas)
                if attributes_at is not None:
                    (attributes,) = struct.unpack_from("<I", data, i * entry + attributes_at)
                    if not attributes & DELAY_ATTRIBUTE_RVA:
                        name_rva = (name_rva - self.image_base) & 0xFFFFFFFF
                name_rvas.append(name_rva)
            start += count
            chunk *= 4

    def _names(self, rvas: list[int]) -> list[str]:
        """NUL-terminated names, from one read when they lie close together (they do)."""
        if not rvas:
            return []
        places = [self.map(rva) for rva in rvas]
        first = min(offset for offset, _ in places)
        last = max(offset for offset, _ in places)
        if last - first > 65536:
            windows = [
                (offset, self.read(offset, min(available, MAX_NAME)))
                for offset, available in places
            ]
        else:
            end = min(last + MAX_NAME, self.source.size)
            window = self.read(first, end - first)
            windows = [(first, window)] * len(places)
        names = []
        for (offset, available), (window_at, window) in zip(places, windows):
            start = offset - window_at
            stop = window.find(b"\0", start, start + min(available, MAX_NAME))
            if stop < 0:
                raise BinaryReadError("unterminated DLL name in the import directory")
            names.append(window[start:stop].decode("ascii", "backslashreplace"))
        return names
