"""Fat (universal) Mach-O files, written in pure Python on any host, byte for byte as
``llvm-lipo -create`` writes them.

Why a writer at all: fusing an arm64 and an x86_64 wheel into a universal2 one needs ``lipo``,
which exists on macOS only (and LLVM's ``llvm-lipo`` is rarely installed). A fat file is a
big-endian table of ``(cputype, cpusubtype, offset, size, align)`` entries followed by the
thin files, each at an aligned offset, so Python writes it as fast as it copies the bytes.

The rules are LLVM's (``llvm/lib/Object/MachOUniversalWriter.cpp``, ``llvm-lipo.cpp``):

- Inputs are thin Mach-O files, fat files (each of their slices is taken, with the
  alignment their fat table gives) and ``ar`` static archives of Mach-O objects (one slice:
  the whole archive, with the first object's cputype, aligned 2^3 for 64-bit objects and 2^2
  for 32-bit ones).
- A thin file's alignment is its page size for the CPUs Apple ships (2^12 for x86 and
  PowerPC, 2^14 for ARM); for any other CPU it is the smallest alignment of its segments'
  addresses (the largest section alignment for an object file), kept within 2^2..2^15.
- Slices are ordered by ``llvm::stable_sort`` with LLVM's ``Slice::operator<``: the same
  cputype by subtype, arm64 after every other CPU, the rest by alignment (smallest first,
  which wastes least padding). The order is reproduced step by step as libstdc++'s
  ``std::stable_sort`` takes it, so that even inputs for which that comparison is not a strict
  ordering come out in LLVM's order.
- Offsets follow the table, each rounded up to its slice's alignment; the gaps are zeros, and
  the file ends with the last slice.

Two deliberate differences, both for files LLVM 14 refuses or gets wrong: when an offset or
size does not fit 32 bits we write a ``fat_header`` with ``FAT_MAGIC_64`` and 64-bit entries
(what Apple's ``lipo -fat64`` writes) instead of failing; and two slices whose subtypes differ
only in capability bits (``CPU_SUBTYPE_MASK``) count as the same architecture, as they do for
Apple's tools and the project's reader, so the result is always a file they accept.

Reads go through :class:`~nuitka_archguard.binaries.source.ByteSource` windows and the
project's Mach-O reader validates every thin image first; the bytes themselves are copied
kernel-side (``os.sendfile``) where the OS can, never held in memory whole.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Callable, Optional

from macholib.mach_o import (
    FAT_MAGIC,
    FAT_MAGIC_64,
    LC_SEGMENT,
    LC_SEGMENT_64,
    MH_OBJECT,
    fat_arch,
    fat_arch64,
    fat_header,
    section,
    section_64,
    segment_command,
    segment_command_64,
)

from . import macho
from .macho import ARCHIVE_MAGIC, CPU_SUBTYPE_MASK, CpuType, arch_name
from .model import BinaryReadError
from .source import FIRST_READ, ByteSource, open_regular, os_error_text

__all__ = [
    "ARCHIVE_MAGIC",
    "FatWriteError",
    "fat_bytes",
    "input_archs",
    "is_fat_input",
    "write_fat",
]

THIN_ARCHIVE_MAGIC = b"!<thin>\n"
MAX_SECTION_ALIGNMENT = 15
"""``MachOUniversalBinary::MaxSectionAlignment``: the largest alignment (2^15) a fat table
entry may claim and the ceiling of a computed one."""
MIN_FILE_ALIGNMENT = 2
"""The smallest computed alignment: 2^2, four bytes."""
ARCHIVE_ALIGNMENT = {64: 3, 32: 2}
"""An archive slice's alignment by the word size of its objects."""
PAGE_ALIGNMENT: dict[int, int] = {
    CpuType.X86: 12,
    CpuType.X86_64: 12,
    CpuType.POWERPC: 12,
    CpuType.POWERPC64: 12,
    CpuType.ARM: 14,
    CpuType.ARM64: 14,
    CpuType.ARM64_32: 14,
}
"""Alignment of a thin file by CPU: the page size (4 KiB for x86 and PowerPC, 16 KiB on
Apple's ARM), whatever its segments say."""
UINT32_MAX = 0xFFFFFFFF
COPY_CHUNK = 1024 * 1024

_FAT_HEADER, _FAT_ARCH, _FAT_ARCH_64 = macho.FAT_HEADER, macho.FAT_ARCH, macho.FAT_ARCH_64
"""The fat structures are the reader's (one definition for reading and writing)."""
assert _FAT_HEADER.size == fat_header._size_
assert _FAT_ARCH.size == fat_arch._size_ and _FAT_ARCH_64.size == fat_arch64._size_
_LOAD_COMMAND_SIZE = 8  # cmd, cmdsize
# Segment and section fields this module reads, at their offsets from the start of the load
# command (sizes from macholib, which counts segment commands without cmd and cmdsize).
_SEGMENT_VMADDR = _LOAD_COMMAND_SIZE + 16
_SEGMENT_64_NSECTS = _SEGMENT_VMADDR + 4 * 8 + 2 * 4  # vmaddr..filesize, maxprot, initprot
_SEGMENT_32_NSECTS = _SEGMENT_VMADDR + 4 * 4 + 2 * 4
_SECTION_64_ALIGN = 16 + 16 + 8 + 8 + 4  # sectname, segname, addr, size, offset
_SECTION_32_ALIGN = 16 + 16 + 4 + 4 + 4
_ARCHIVE_HEADER_SIZE = 60  # name[16] date[12] uid[6] gid[6] mode[8] size[10] fmag[2]
_ARCHIVE_FMAG = b"`\n"
_BSD_LONG_NAME = b"#1/"
_SYMBOL_TABLES = frozenset(
    {b"/", b"/SYM64/", b"__.SYMDEF", b"__.SYMDEF SORTED", b"__.SYMDEF_64",
     b"__.SYMDEF_64 SORTED"}
)  # fmt: skip
"""Names of an archive's symbol table member, which ``ar`` writes first and LLVM skips."""
_GNU_STRING_TABLE = b"//"
_BITCODE_MAGICS = (b"BC\xc0\xde", b"\xde\xc0\x17\x0b")
_LAYOUT = macho.THIN_LAYOUTS
_FAT_MAGICS = macho.FAT_MAGIC_BYTES


class FatWriteError(Exception):
    """The inputs cannot make a fat file: one is not Mach-O, is corrupt, or two hold the same
    architecture. The message is one line and names the input."""


@dataclass(frozen=True)
class _Slice:
    """One architecture to be written: ``size`` bytes at ``offset`` of input ``source``."""

    cputype: int
    cpusubtype: int
    align: int
    """log2 of the alignment."""
    source: int
    offset: int
    size: int

    @property
    def arch(self) -> str:
        return arch_name(self.cputype, self.cpusubtype)


_Read = Callable[[int, int], bytes]
"""``(offset, length) -> bytes``, possibly short at the end of the input."""


class _Window(ByteSource):
    """``size`` bytes at ``base`` of one input (the whole file, or an archive member), with the
    header budget of every :class:`ByteSource`."""

    def __init__(self, read: _Read, base: int, size: int) -> None:
        super().__init__(size)
        self._read_input = read
        self._base = base

    def _read(self, offset: int, length: int) -> bytes:
        return self._read_input(self._base + offset, length)


class _Input:
    """One input: a name for messages, its size and a way to read it."""

    def __init__(self, index: int, name: str, size: int, read: _Read) -> None:
        self.index = index
        self.name = name
        self.size = size
        self.read = read

    def exactly(self, offset: int, length: int, what: str) -> bytes:
        if offset < 0 or offset + length > self.size:
            raise FatWriteError(
                f"{self.name}: truncated: {what} needs bytes {offset}..{offset + length}"
                f" of a {self.size}-byte file"
            )
        data = self.read(offset, length)
        if len(data) != length:
            raise FatWriteError(f"{self.name}: short read at offset {offset}")
        return data

    def window(self, base: int, size: int) -> _Window:
        return _Window(self.read, base, size)

    def part(self, base: int, size: int) -> _Input:
        """``size`` bytes at ``base``, as an input of their own (a fat file's slice)."""
        read = self.read
        return _Input(self.index, self.name, size, lambda o, n: read(base + o, min(n, size - o)))


# -- public ----------------------------------------------------------------------------------


def is_fat_input(head: bytes) -> bool:
    """Whether a file starting with ``head`` (8 bytes or more) is something :func:`write_fat`
    takes: a thin or fat Mach-O file or an ``ar`` archive (whose members decide later)."""
    return macho.is_macho(head) or head[: len(ARCHIVE_MAGIC)] == ARCHIVE_MAGIC


def input_archs(path: str | os.PathLike[str]) -> tuple[str, ...]:
    """The architectures :func:`write_fat` would take from one input, in its order (``lipo
    -archs``' names); raises :class:`FatWriteError` for what it would refuse."""
    name = os.fspath(path)
    fd, info = _open_input(name)
    try:
        source = _Input(0, name, info.st_size, _pread_of(fd, name))
        return tuple(entry.arch for entry in _slices_of(source, archives_in_fat=True))
    finally:
        os.close(fd)


def fat_bytes(inputs: Sequence[bytes]) -> bytes:
    """The fat file ``llvm-lipo -create`` makes of ``inputs`` (file contents, in memory).

    Raises :class:`FatWriteError` for an input that is not Mach-O, is corrupt, or holds an
    architecture another input holds too.
    """
    sources = [
        _Input(index, f"input {index + 1}", len(data), _reader_of(data))
        for index, data in enumerate(inputs)
    ]
    header, placed = _plan(sources)
    out = bytearray(header)
    for entry, offset in placed:
        out += bytes(offset - len(out))
        out += inputs[entry.source][entry.offset : entry.offset + entry.size]
    return bytes(out)


def write_fat(inputs: Sequence[str | os.PathLike[str]], output: str | os.PathLike[str]) -> None:
    """Write the fat file ``llvm-lipo -create INPUTS -output OUTPUT`` writes.

    The output appears by one rename of a finished temporary file next to it, so it is never
    seen half written and an input may be the output. Its mode is ``0666`` (``0777`` if an
    input is executable) less the umask, as LLVM sets it. Raises :class:`FatWriteError` for
    bad inputs and for OS errors (unreadable input, full disk), with nothing written.
    """
    descriptors: list[int] = []
    try:
        sources: list[_Input] = []
        executable = False
        for index, path in enumerate(inputs):
            name = os.fspath(path)
            fd, info = _open_input(name)
            descriptors.append(fd)
            executable = executable or bool(info.st_mode & 0o111)
            sources.append(_Input(index, name, info.st_size, _pread_of(fd, name)))
        header, placed = _plan(sources)
        _write_output(os.fspath(output), header, placed, descriptors, sources, executable)
    finally:
        for fd in descriptors:
            os.close(fd)


# -- reading the inputs ----------------------------------------------------------------------


def _reader_of(data: bytes) -> _Read:
    view = memoryview(data)

    def read(offset: int, length: int) -> bytes:
        return bytes(view[offset : offset + length])

    return read


def _pread_of(fd: int, name: str) -> _Read:
    def read(offset: int, length: int) -> bytes:
        try:
            if hasattr(os, "pread"):
                return os.pread(fd, length, offset)
            os.lseek(fd, offset, os.SEEK_SET)
            return os.read(fd, length)
        except OSError as error:
            raise FatWriteError(f"{name}: {os_error_text(error)}") from None

    return read


def _open_input(name: str) -> tuple[int, os.stat_result]:
    try:
        return open_regular(name)
    except OSError as error:
        raise FatWriteError(f"{name}: {os_error_text(error)}") from None


def _slices_of(source: _Input, archives_in_fat: bool = False) -> list[_Slice]:
    """The slices one input contributes, as LLVM's ``buildSlices`` takes them; with
    ``archives_in_fat``, a fat file's archive slices too (to tell its archs only)."""
    head = source.read(0, min(FIRST_READ, source.size))
    magic = head[:4]
    if magic in _LAYOUT:
        return [_thin_slice(source, 0, source.size, None)]
    if head[: len(ARCHIVE_MAGIC)] == ARCHIVE_MAGIC:
        return [_archive_slice(source)]
    if head[: len(THIN_ARCHIVE_MAGIC)] == THIN_ARCHIVE_MAGIC:
        raise FatWriteError(f"{source.name}: a thin archive (members outside it) cannot be fused")
    if magic in _FAT_MAGICS:
        if not macho.is_macho(head):
            raise FatWriteError(f"{source.name}: a Java class file (0xcafebabe), not Mach-O")
        return _fat_slices(source, magic == _FAT_MAGICS[1], archives_in_fat)
    if len(head) < 4:
        raise FatWriteError(f"{source.name}: {len(head)}-byte file is not Mach-O")
    raise FatWriteError(
        f"{source.name}: not a Mach-O file or static archive (magic 0x{magic.hex()})"
    )


def _validated(source: _Input, window: _Window, where: str) -> None:
    """Let the project's Mach-O reader check every header the way LLVM's reader does."""
    try:
        macho.read_slices(window)
    except BinaryReadError as error:
        raise FatWriteError(f"{source.name}: {where}{error}") from None


def _thin_slice(
    source: _Input, offset: int, size: int, align: Optional[int], *, checked: bool = False
) -> _Slice:
    """A thin Mach-O image of ``size`` bytes at ``offset``: its alignment is ``align`` when a
    fat table gave one, else computed as LLVM's ``calculateAlignment`` does. ``checked``:
    the reader already validated it (as a slice of a fat input read whole)."""
    window = source.window(offset, size)
    if not checked:
        _validated(source, window, "" if offset == 0 else f"slice at offset {offset}: ")
    order, bits = _LAYOUT[window.head()[:4]]
    cputype, cpusubtype, filetype, ncmds, sizeofcmds = struct.unpack_from(
        order + "IIIII", window.head(), 4
    )
    header_size = 32 if bits == 64 else 28
    problem = macho.llvm_refusal(
        window.read_at(header_size, sizeofcmds), order, bits, filetype, ncmds, size
    )
    if problem:
        where = "" if offset == 0 else f"slice at offset {offset}: "
        raise FatWriteError(f"{source.name}: {where}truncated or malformed: {problem}")
    if align is None:
        align = PAGE_ALIGNMENT.get(cputype)
    if align is None:
        header_size = 32 if bits == 64 else 28
        commands = window.read_at(header_size, sizeofcmds)
        align = _file_alignment(commands, order, bits, ncmds, filetype == MH_OBJECT)
    return _Slice(cputype, cpusubtype, align, source.index, offset, size)


def _file_alignment(commands: bytes, order: str, bits: int, ncmds: int, is_object: bool) -> int:
    """LLVM's ``calculateFileAlignment``: the smallest alignment among the segments, where a
    segment's is the lowest set bit of its address, or in an object file the largest
    alignment of its sections (at least 2^2)."""
    segment_cmd = LC_SEGMENT_64 if bits == 64 else LC_SEGMENT
    segment_size = _LOAD_COMMAND_SIZE + (
        segment_command_64._size_ if bits == 64 else segment_command._size_
    )
    section_size = section_64._size_ if bits == 64 else section._size_
    vmaddr = struct.Struct(order + ("Q" if bits == 64 else "I"))
    u32 = struct.Struct(order + "I")
    nsects_at = _SEGMENT_64_NSECTS if bits == 64 else _SEGMENT_32_NSECTS
    align_at = _SECTION_64_ALIGN if bits == 64 else _SECTION_32_ALIGN
    minimum = MAX_SECTION_ALIGNMENT
    position = 0
    for index in range(ncmds):
        cmd, cmdsize = struct.unpack_from(order + "II", commands, position)
        if cmd == segment_cmd:
            if cmdsize < segment_size:
                raise FatWriteError(f"load command {index}: segment cmdsize {cmdsize} too small")
            if is_object:
                (nsects,) = u32.unpack_from(commands, position + nsects_at)
                if segment_size + nsects * section_size > cmdsize:
                    raise FatWriteError(
                        f"load command {index}: {nsects} sections do not fit cmdsize {cmdsize}"
                    )
                current = MIN_FILE_ALIGNMENT if nsects else minimum
                for number in range(nsects):
                    at = position + segment_size + number * section_size + align_at
                    current = max(current, u32.unpack_from(commands, at)[0])
            else:
                (address,) = vmaddr.unpack_from(commands, position + _SEGMENT_VMADDR)
                current = (address & -address).bit_length() - 1 if address else bits
            minimum = min(minimum, current)
        position += cmdsize
    return max(MIN_FILE_ALIGNMENT, min(minimum, MAX_SECTION_ALIGNMENT))


def _fat_slices(source: _Input, fat64: bool, archives_ok: bool = False) -> list[_Slice]:
    """Each slice of a fat input, with the alignment its table entry gives (LLVM keeps it).
    A slice that is an archive is refused (as LLVM does) unless ``archives_ok``."""
    entry = _FAT_ARCH_64 if fat64 else _FAT_ARCH
    head = source.read(0, min(FIRST_READ, source.size))
    count = struct.unpack_from(">I", head, 4)[0] if len(head) >= _FAT_HEADER.size else 0
    table_end = _FAT_HEADER.size + count * entry.size
    archives: set[int] = set()
    if count <= macho.MAX_FAT_ARCHS and table_end <= len(head):
        for index in range(count):
            offset = entry.unpack_from(head, _FAT_HEADER.size + index * entry.size)[2]
            if source.read(offset, len(ARCHIVE_MAGIC)) == ARCHIVE_MAGIC:
                if not archives_ok:
                    raise FatWriteError(
                        f"{source.name}: fat slice {index} is a static archive; fat archives"
                        " are not taken as inputs (llvm-lipo refuses them too): give its thin"
                        " archives"
                    )
                archives.add(index)
    if not archives:
        _validated(source, source.window(0, source.size), "")
    elif count > macho.MAX_FAT_ARCHS:
        raise FatWriteError(f"{source.name}: fat header lists {count} architectures")
    table = source.exactly(_FAT_HEADER.size, count * entry.size, "fat table")
    slices = []
    for index in range(count):
        fields = entry.unpack_from(table, index * entry.size)
        cputype, cpusubtype, offset, size, align = fields[:5]
        where = f"fat slice {index} ({arch_name(cputype, cpusubtype)})"
        if index in archives:
            if offset < table_end or offset + size > source.size:
                raise FatWriteError(f"{source.name}: {where} lies outside the file")
            inner = _archive_slice(source.part(offset, size))
            if (inner.cputype, inner.cpusubtype) != (cputype, cpusubtype):
                raise FatWriteError(f"{source.name}: {where} holds {inner.arch} objects")
            slices.append(_Slice(cputype, cpusubtype, align, source.index, offset, size))
            continue
        if align > MAX_SECTION_ALIGNMENT:
            raise FatWriteError(
                f"{source.name}: {where}: alignment 2^{align} is above the maximum"
                f" 2^{MAX_SECTION_ALIGNMENT}"
            )
        if offset % (1 << align):
            raise FatWriteError(
                f"{source.name}: {where}: offset {offset} is not aligned to 2^{align}"
            )
        slices.append(_thin_slice(source, offset, size, align, checked=not archives))
    return slices


def _archive_slice(source: _Input) -> _Slice:
    """An ``ar`` archive as one slice: the cputype of its Mach-O objects, which must all
    agree (LLVM's ``Slice::create(const Archive &)``)."""
    first: Optional[tuple[int, int, int, str]] = None  # cputype, cpusubtype, bits, member
    position = len(ARCHIVE_MAGIC)
    index = 0
    while position < source.size:
        header = source.exactly(position, _ARCHIVE_HEADER_SIZE, "archive member header")
        if header[58:60] != _ARCHIVE_FMAG:
            raise FatWriteError(
                f"{source.name}: archive member header at offset {position} is corrupt"
            )
        raw_name = header[:16].rstrip(b" ")
        size_text = header[48:58].strip()
        if not size_text.isdigit():
            raise FatWriteError(
                f"{source.name}: archive member at offset {position} has no valid size"
            )
        data, size = position + _ARCHIVE_HEADER_SIZE, int(size_text)
        if data + size > source.size:
            raise FatWriteError(
                f"{source.name}: archive member at offset {position} runs past the end"
            )
        name = raw_name
        if raw_name.startswith(_BSD_LONG_NAME) and raw_name[3:].isdigit():
            length = int(raw_name[3:])
            if length > size:
                raise FatWriteError(
                    f"{source.name}: archive member at offset {position} has a name longer"
                    " than itself"
                )
            name = source.exactly(data, length, "archive member name").rstrip(b"\0")
            data, size = data + length, size - length
        skipped = (index == 0 and name in _SYMBOL_TABLES) or (
            index <= 1 and name == _GNU_STRING_TABLE
        )
        if not skipped:
            label = name.decode("utf-8", "replace").rstrip("/") or f"at offset {position}"
            member = _archive_member(source, data, size, label)
            if first is None:
                first = (*member, label)
            elif member[:2] != first[:2]:
                raise FatWriteError(
                    f"{source.name}: archive members {first[3]!r} ({arch_name(*first[:2])})"
                    f" and {label!r} ({arch_name(*member[:2])}) differ in architecture"
                )
        index += 1
        position = data + size
        position += position & 1
    if first is None:
        raise FatWriteError(f"{source.name}: archive holds no Mach-O object to take its arch")
    cputype, cpusubtype, bits, _ = first
    return _Slice(cputype, cpusubtype, ARCHIVE_ALIGNMENT[bits], source.index, 0, source.size)


def _archive_member(source: _Input, offset: int, size: int, label: str) -> tuple[int, int, int]:
    """(cputype, cpusubtype, bits) of one archive member, which must be a thin Mach-O."""
    window = source.window(offset, size)
    head = window.head() if size else b""
    where = f"archive member {label!r}: "
    if head[:4] in _LAYOUT:
        _validated(source, window, where)
        order, bits = _LAYOUT[head[:4]]
        cputype, cpusubtype = struct.unpack_from(order + "II", head, 4)
        return cputype, cpusubtype, bits
    if macho.is_macho(head):
        raise FatWriteError(f"{source.name}: {where}a fat file (not allowed in an archive)")
    if head[:4] in _BITCODE_MAGICS:
        raise FatWriteError(f"{source.name}: {where}LLVM bitcode is not supported")
    raise FatWriteError(f"{source.name}: {where}not a Mach-O object")


# -- planning --------------------------------------------------------------------------------


def _plan(sources: Sequence[_Input]) -> tuple[bytes, list[tuple[_Slice, int]]]:
    """The header and each slice with its offset, in LLVM's order."""
    if not sources:
        raise FatWriteError("no inputs to make a fat file of")
    slices = [entry for source in sources for entry in _slices_of(source)]
    _check_duplicates(slices, sources)
    ordered = _lipo_order(slices)
    fat64 = False
    offsets = _offsets(ordered, _FAT_ARCH.size)
    if any(o > UINT32_MAX for o in offsets) or any(s.size > UINT32_MAX for s in ordered):
        fat64 = True
        offsets = _offsets(ordered, _FAT_ARCH_64.size)
    header = bytearray(_FAT_HEADER.pack(FAT_MAGIC_64 if fat64 else FAT_MAGIC, len(ordered)))
    for entry, offset in zip(ordered, offsets):
        fields = (entry.cputype, entry.cpusubtype, offset, entry.size, entry.align)
        header += _FAT_ARCH_64.pack(*fields, 0) if fat64 else _FAT_ARCH.pack(*fields)
    return bytes(header), list(zip(ordered, offsets))


def _offsets(ordered: Sequence[_Slice], entry_size: int) -> list[int]:
    offset = _FAT_HEADER.size + len(ordered) * entry_size
    offsets = []
    for entry in ordered:
        boundary = 1 << entry.align
        offset = -(-offset // boundary) * boundary
        offsets.append(offset)
        offset += entry.size
    return offsets


def _check_duplicates(slices: Sequence[_Slice], sources: Sequence[_Input]) -> None:
    seen: dict[tuple[int, int], _Slice] = {}
    for entry in slices:
        key = (entry.cputype, entry.cpusubtype & ~CPU_SUBTYPE_MASK)
        other = seen.setdefault(key, entry)
        if other is not entry:
            first, second = sources[other.source].name, sources[entry.source].name
            where = (
                f"{first} holds {entry.arch} twice"
                if first == second
                else (f"{first} and {second} both hold {entry.arch}")
            )
            raise FatWriteError(f"{where}: a fat file holds each architecture once")


def _less(lhs: _Slice, rhs: _Slice) -> bool:
    """LLVM's ``Slice::operator<``."""
    if lhs.cputype == rhs.cputype:
        return lhs.cpusubtype < rhs.cpusubtype
    if lhs.cputype == CpuType.ARM64:  # arm64 last, as cctools' lipo does
        return False
    if rhs.cputype == CpuType.ARM64:
        return True
    return lhs.align < rhs.align


_CHUNK = 7
"""libstdc++'s ``_S_chunk_size``: runs it insertion-sorts before merging."""


def _lipo_order(slices: Sequence[_Slice]) -> list[_Slice]:
    """``std::stable_sort(slices, _less)`` as libstdc++ runs it with its temporary buffer:
    sort each half (insertion sort in runs of 7, then merge passes), then merge the halves,
    backwards when the first half is the longer one."""
    items = list(slices)
    if len(items) < 2:
        return items
    middle = (len(items) + 1) // 2
    first, second = _merge_sort(items[:middle]), _merge_sort(items[middle:])
    if len(first) <= len(second):
        return _merge(first, second)
    return _merge_backward(first, second)


def _merge_sort(items: list[_Slice]) -> list[_Slice]:
    """libstdc++'s ``__merge_sort_with_buffer``."""
    for start in range(0, len(items), _CHUNK):
        items[start : start + _CHUNK] = _insertion_sort(items[start : start + _CHUNK])
    step = _CHUNK
    while step < len(items):
        merged: list[_Slice] = []
        start = 0
        while len(items) - start >= 2 * step:
            merged += _merge(items[start : start + step], items[start + step : start + 2 * step])
            start += 2 * step
        split = start + min(len(items) - start, step)
        merged += _merge(items[start:split], items[split:])
        items, step = merged, step * 2
    return items


def _insertion_sort(items: list[_Slice]) -> list[_Slice]:
    """libstdc++'s ``__insertion_sort``."""
    for index in range(1, len(items)):
        value = items[index]
        if _less(value, items[0]):
            items[1 : index + 1] = items[:index]
            items[0] = value
            continue
        position = index
        while position > 0 and _less(value, items[position - 1]):
            items[position] = items[position - 1]
            position -= 1
        items[position] = value
    return items


def _merge(first: list[_Slice], second: list[_Slice]) -> list[_Slice]:
    """libstdc++'s ``__move_merge``: ties (and inconsistencies) go to ``first``."""
    out: list[_Slice] = []
    i = j = 0
    while i < len(first) and j < len(second):
        if _less(second[j], first[i]):
            out.append(second[j])
            j += 1
        else:
            out.append(first[i])
            i += 1
    return out + first[i:] + second[j:]


def _merge_backward(first: list[_Slice], second: list[_Slice]) -> list[_Slice]:
    """libstdc++'s ``__move_merge_adaptive_backward``: fills the result from its end."""
    if not second:
        return first
    out: list[Optional[_Slice]] = [None] * (len(first) + len(second))
    i, j, k = len(first) - 1, len(second) - 1, len(out)
    while True:
        k -= 1
        if _less(second[j], first[i]):
            out[k] = first[i]
            if i == 0:
                out[:k] = second[: j + 1]
                break
            i -= 1
        else:
            out[k] = second[j]
            if j == 0:
                out[:k] = first[: i + 1]
                break
            j -= 1
    return [entry for entry in out if entry is not None]


# -- writing ---------------------------------------------------------------------------------


def _write_output(
    output: str,
    header: bytes,
    placed: Sequence[tuple[_Slice, int]],
    descriptors: Sequence[int],
    sources: Sequence[_Input],
    executable: bool,
) -> None:
    directory = os.path.dirname(output) or "."
    temporary = os.path.join(
        directory, f".{os.path.basename(output)}.temp-universal-{secrets.token_hex(4)}"
    )
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(temporary, flags, 0o777 if executable else 0o666)
    except OSError as error:
        raise FatWriteError(f"{output}: {os_error_text(error)}") from None
    try:
        try:
            _write_all(fd, header)
            position = len(header)
            for entry, offset in placed:
                _write_all(fd, bytes(offset - position))
                source = sources[entry.source]
                _copy(descriptors[entry.source], entry.offset, entry.size, fd, source)
                position = offset + entry.size
        finally:
            os.close(fd)
        os.replace(temporary, output)
    except OSError as error:
        _discard(temporary)
        raise FatWriteError(f"{output}: {os_error_text(error)}") from None
    except BaseException:
        _discard(temporary)
        raise


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _copy(source_fd: int, offset: int, size: int, fd: int, source: _Input) -> None:
    """``size`` bytes at ``offset`` of the input to the output's current position: in the
    kernel where ``sendfile`` copies between files (Linux), else through a 1 MiB buffer."""
    end = offset + size
    if _SENDFILE:
        try:
            while offset < end:
                sent = os.sendfile(fd, source_fd, offset, min(end - offset, 1 << 30))
                if sent == 0:
                    break
                offset += sent
        except OSError:
            pass  # not supported between these files: copy through user space below
    while offset < end:
        data = source.read(offset, min(COPY_CHUNK, end - offset))
        if not data:
            break
        _write_all(fd, data)
        offset += len(data)
    if offset != end:
        raise FatWriteError(f"{source.name}: changed while being read (it is shorter now)")


_SENDFILE = hasattr(os, "sendfile") and os.name == "posix" and os.uname().sysname == "Linux"


def _discard(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
