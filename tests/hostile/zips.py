"""Hostile zip archives built byte by byte: members, bombs, zip64 claims, wheels."""

from __future__ import annotations

import bz2
import functools
import lzma
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

# -- zip archives (wheels) ---------------------------------------------------------------------

STORED, DEFLATED = 0, 8


@dataclass
class Member:
    """One member of a hand-made zip archive; sizes and names may lie."""

    name: bytes
    data: bytes
    method: int = STORED
    file_size: Optional[int] = None
    """The uncompressed size the directory claims (default: the true one)."""
    compress_size: Optional[int] = None
    crc: Optional[int] = None
    local_name: Optional[bytes] = None
    """The name in the local header, when it should differ from the directory's."""
    true_size: Optional[int] = None
    """The true uncompressed size, when ``data`` is already deflated."""
    utf8_flag: Optional[bool] = None
    """Whether flag bit 11 says the name is UTF-8 (default: when it decodes as UTF-8)."""
    version_needed: int = 45


def deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def deflate_bomb(head: bytes, gib: int) -> bytes:
    """Real deflate data of ``head`` followed by ``gib`` GiB of zeros, made in milliseconds:
    once the window holds only zeros, each flushed MiB of zeros compresses to the same
    bytes, so one block is repeated."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(1024 * 1024)
    first = compressor.compress(head + zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH) == block
    return first + block * (gib * 1024 - 3) + compressor.flush()


def build_zip(members: list[Member], *, directory_offset_delta: int = 0) -> bytes:
    """A zip archive written byte by byte, so that its directory can lie."""
    body = bytearray()
    directory = bytearray()
    for member in members:
        method = member.method
        payload = member.data
        true_size = len(member.data) if member.true_size is None else member.true_size
        file_size = true_size if member.file_size is None else member.file_size
        if member.compress_size is not None:
            compress_size = member.compress_size
        else:
            compress_size = file_size if method == STORED and member.file_size else len(payload)
        crc = member.crc
        if crc is None:
            crc = zlib.crc32(member.data) if method == STORED else 0
        extra = b""
        small_file_size, small_compress_size = file_size, compress_size
        if file_size >= 0xFFFFFFFF or compress_size >= 0xFFFFFFFF:
            extra = struct.pack("<HHQQ", 1, 16, file_size, compress_size)
            small_file_size = small_compress_size = 0xFFFFFFFF
        flags = 0
        utf8 = member.utf8_flag
        if utf8 is None:
            utf8 = _is_utf8(member.name)
        if utf8:
            flags = 0x800
        offset = len(body)
        local_name = member.name if member.local_name is None else member.local_name
        body += struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            45,
            flags,
            method,
            0,
            0x21,
            crc,
            small_compress_size,
            small_file_size,
            len(local_name),
            len(extra),
        )
        body += local_name + extra + payload
        directory += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            45,
            member.version_needed,
            flags,
            method,
            0,
            0x21,
            crc,
            small_compress_size,
            small_file_size,
            len(member.name),
            len(extra),
            0,
            0,
            0,
            0o100644 << 16,
            offset,
        )
        directory += member.name + extra
    end = struct.pack(
        "<IHHHHIIH",
        0x06054B50,
        0,
        0,
        len(members),
        len(members),
        len(directory),
        len(body) + directory_offset_delta,
        0,
    )
    return bytes(body + directory + end)


def _is_utf8(name: bytes) -> bool:
    try:
        name.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _listing(root: Path) -> set[str]:
    return {
        os.path.relpath(os.path.join(d, n), root) for d, ds, fs in os.walk(root) for n in ds + fs
    }


EVIL_NAMES = [
    b"../../../archguard-escaped.so",
    b"/tmp/archguard-absolute.so",
    b"pkg/../../archguard-dotdot.so",
    b"C:\\archguard-drive.so",
    b"\\\\server\\share\\archguard-unc.so",
    b"pkg/\xff\xfe-not-utf8.so",
]


def _wheel(tmp: Path, members: list[Member], name: str = "pkg-1.0-py3-none-any.whl") -> Path:
    path = tmp / name
    path.write_bytes(build_zip(members))
    return path


BZIP2, LZMA, ZSTD = 12, 14, 93
BOMB_MIB = 256


def _chunks_of_zeros(mib: int) -> list[bytes]:
    return [bytes(1 << 20)] * mib


@functools.cache
def bomb(method: int, head: bytes = b"\x7fELF", mib: int = BOMB_MIB) -> bytes:
    """``head`` and ``mib`` MiB of zeros, compressed with a zip method (made once)."""
    if method == DEFLATED:
        return deflate(head + bytes(mib << 20))
    if method == BZIP2:
        compressor = bz2.BZ2Compressor(9)
        parts = [compressor.compress(head)]
        parts += [compressor.compress(chunk) for chunk in _chunks_of_zeros(mib)]
        return b"".join(parts) + compressor.flush()
    if method == LZMA:
        properties = lzma._encode_filter_properties({"id": lzma.FILTER_LZMA1})  # type: ignore[attr-defined]
        lzma_filter = lzma._decode_filter_properties(lzma.FILTER_LZMA1, properties)  # type: ignore[attr-defined]
        compressor = lzma.LZMACompressor(lzma.FORMAT_RAW, filters=[lzma_filter])
        parts = [struct.pack("<BBH", 9, 4, len(properties)), properties, compressor.compress(head)]
        parts += [compressor.compress(chunk) for chunk in _chunks_of_zeros(mib)]
        return b"".join(parts) + compressor.flush()
    raise AssertionError(method)


METADATA_TEXT = (
    b"Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n"
    b'Requires-Dist: cffi>=1.12\nRequires-Dist: pytest; extra == "test"\n\n'
)


BOMB_CASES = {
    "bzip2-so": (BZIP2, b"pkg/bomb.so"),
    "lzma-so": (LZMA, b"pkg/bomb.so"),
    "bzip2-metadata": (BZIP2, b"pkg-1.0.dist-info/METADATA"),
    "lzma-metadata": (LZMA, b"pkg-1.0.dist-info/METADATA"),
    "deflate-metadata": (DEFLATED, b"pkg-1.0.dist-info/METADATA"),
}


def bomb_wheel(tmp: Path, case: str) -> Path:
    method, name = BOMB_CASES[case]
    head = b"\x7fELF"  # one bomb per method (built once), in a binary or a METADATA
    data = bomb(method, head)
    member = Member(name, data, method=method, true_size=(BOMB_MIB << 20) + len(head), crc=0)
    return _wheel(tmp, [member])


def zip64_claiming(entries: int, directory_size: int) -> bytes:
    """An archive whose zip64 end records claim a huge central directory."""
    eocd64 = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, entries, entries,
                         directory_size, 0)  # fmt: skip
    locator = struct.pack("<IIQI", 0x07064B50, 0, 0, 1)
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return eocd64 + locator + eocd
