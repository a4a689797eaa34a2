"""Binary format readers: tell Mach-O, ELF and PE apart by their magic bytes and read the
headers that matter for architecture checks. Nothing here judges a file."""

from __future__ import annotations

import os

from . import elf, macho, pe
from .model import BinaryFormat, BinaryInfo, BinaryReadError, Slice
from .source import HEADER_BUDGET, ByteSource, BytesSource, FileSource

TYPE_CHECKING = False  # typing costs `inspect` ~15 ms of start-up: for mypy only
if TYPE_CHECKING:
    from typing import Callable

__all__ = [
    "HEADER_BUDGET",
    "MAGIC_LENGTH",
    "BinaryFormat",
    "BinaryInfo",
    "BinaryReadError",
    "ByteSource",
    "BytesSource",
    "FileSource",
    "Slice",
    "detect_format",
    "inspect_file",
    "read_binary",
]

MAGIC_LENGTH = 8
"""Bytes :func:`detect_format` needs: four of magic, four more to tell Java from fat Mach-O."""

_READERS: dict[BinaryFormat, Callable[[ByteSource], tuple[Slice, ...]]] = {
    BinaryFormat.MACHO: macho.read_slices,
    BinaryFormat.ELF: elf.read_slices,
    BinaryFormat.PE: pe.read_slices,
}


_BY_MAGIC: dict[bytes, BinaryFormat] = {
    **dict.fromkeys(macho.THIN_LAYOUTS, BinaryFormat.MACHO),
    macho.FAT_MAGIC_BYTES[1]: BinaryFormat.MACHO,  # fat64: no Java class shares its magic
    elf.ELF_MAGIC: BinaryFormat.ELF,
}
"""The four-byte magics that say the format alone: one lookup for nearly every binary."""


def detect_format(head: bytes) -> BinaryFormat:
    """The format the first bytes of a file announce; needs :data:`MAGIC_LENGTH` bytes."""
    known = _BY_MAGIC.get(head[:4])
    if known is not None:
        return known
    if macho.is_macho(head):
        return BinaryFormat.MACHO
    if elf.is_elf(head):
        return BinaryFormat.ELF
    if pe.is_pe(head):
        return BinaryFormat.PE
    return BinaryFormat.NOT_A_BINARY


def read_binary(source: ByteSource, path: str) -> BinaryInfo:
    """Read a binary from any byte source; raises :class:`BinaryReadError` if it is corrupt."""
    binary_format = detect_format(source.head())
    reader = _READERS.get(binary_format)
    if reader is None:
        return BinaryInfo(path, BinaryFormat.NOT_A_BINARY)
    return BinaryInfo(path, binary_format, reader(source))


def inspect_file(path: str | os.PathLike[str], *, strict: bool = False) -> BinaryInfo:
    """Describe the file at ``path``.

    Returns a ``not-a-binary`` result for files that are not Mach-O, ELF or PE (Java class
    files included). Raises :class:`BinaryReadError` when the file is missing, unreadable,
    not a regular file, or a binary whose headers are truncated or corrupt. ``strict``: also
    when LLVM's Mach-O reader would refuse the file (:func:`.macho.strict_check`), as the
    ``inspect`` command asks; the scanner and the plugin read only what a verdict needs and
    judge such a file by what its headers say.
    """
    try:
        source = FileSource(path)
        try:
            info = read_binary(source, os.fspath(path))
            if strict and info.format is BinaryFormat.MACHO:
                macho.strict_check(source)  # what LLVM's tools refuse is no valid binary
            return info
        finally:
            source.close()
    except BinaryReadError as error:
        if error.path is not None:
            raise
        raise BinaryReadError(error.reason, os.fspath(path)) from None
