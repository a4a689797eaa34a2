"""Bounded random access to the bytes of a file, a zip member or a buffer.

Readers only ever see a :class:`ByteSource`. It enforces the *header budget*: whatever a
file's headers claim, a reader reads at most :func:`header_budget` bytes (``HEADER_BUDGET``,
more for a big file in proportion to its own size, never more than ``HEADER_BUDGET_CAP``)
in at most ``MAX_READS`` reads per file, so a hostile or huge file costs a bounded amount
of memory and time. Files are never read whole.
"""

from __future__ import annotations

import bisect
import enum
import functools
import os
import stat
import struct
import zlib

from .model import BinaryReadError, TooLarge

TYPE_CHECKING = False  # typing costs `inspect` ~15 ms of start-up: for mypy only
if TYPE_CHECKING:  # bz2, lzma and zipfile load on first use: reading one file needs none
    import zipfile
    from typing import Optional, Protocol, Union

HEADER_BUDGET = 1024 * 1024
"""Bytes a reader may read from one file of up to 4 MiB, all slices included (1 MiB)."""
HEADER_BUDGET_SHARE = 4
"""A bigger file may spend this fraction (1/4) of its own size on headers: pyarrow's
60 MB ``libarrow.so`` has a 2.5 MB dynamic string table."""
HEADER_BUDGET_CAP = 16 * 1024 * 1024
"""Bytes a reader may read from any one file, however big (16 MiB)."""
MAX_READS = 4096
"""Separate reads a reader may make from one file."""
FIRST_READ = 4096
"""Bytes read up front: enough for every magic and nearly every header."""
ARCHIVE_INFLATE_BUDGET = 1024 * 1024 * 1024
"""Decompressed bytes all members of one archive may cost together (1 GiB), so that a wheel
listing the same deep member many times (or thousands of them) stays bounded in time. A
member may be streamed as deep as this allows to reach a header (the import table of a
120 MB ``llvmlite.dll``); skipped bytes are discarded, never kept."""
CHECKPOINTS = 32
"""Places a deflated or stored member remembers while it streams forward, so that a read
behind the current position resumes from the nearest one instead of inflating again from
the start (a PE reader goes back and forth between its directories)."""
CHECKPOINT_MIN_STEP = 4 * 1024 * 1024


def header_budget(size: int) -> int:
    """Bytes a reader may read from a file of ``size`` bytes (see the module docstring)."""
    return min(max(HEADER_BUDGET, size // HEADER_BUDGET_SHARE), HEADER_BUDGET_CAP)


class ByteSource:
    """Random access with a budget. Subclasses implement :meth:`_read`.

    The bytes :meth:`head` returned are kept: later reads inside them are served from
    memory and cost no budget, so a zip member is not inflated again and a file not read
    again for the many small header fields readers pick out of the first 4 KiB.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.budget = header_budget(size)
        self._spent = 0
        self._reads = 0
        self._head = b""

    def read_at(self, offset: int, length: int) -> bytes:
        """Return exactly ``length`` bytes at ``offset`` or raise :class:`BinaryReadError`."""
        end = offset + length
        head = self._head
        if end <= len(head) and offset >= 0 and length >= 0:
            return head[offset:end]
        if offset < 0 or length < 0 or end > self.size:
            raise BinaryReadError(
                f"truncated: needs bytes {offset}..{end} of a {self.size}-byte file"
            )
        spent = self._spent = self._spent + length
        reads = self._reads = self._reads + 1
        if spent > self.budget or reads > MAX_READS:
            detail = f"headers exceed the {self.budget // 1024} KiB header budget"
            if self.size > HEADER_BUDGET * HEADER_BUDGET_SHARE:  # a big file, not a liar
                raise TooLarge(detail)
            raise BinaryReadError(detail)
        try:
            data = self._read(offset, length)
        except OSError as error:  # EIO, or a file that vanished under a network mount
            raise BinaryReadError(os_error_text(error)) from None
        if len(data) != length:
            raise BinaryReadError(f"truncated: short read at offset {offset}")
        return data

    def head(self, length: int = FIRST_READ) -> bytes:
        """The first bytes, fewer if the file is smaller; kept for later reads (asked again,
        as the format detection and then the reader do, they cost no read and no budget)."""
        kept = self._head
        if length <= len(kept):  # asked again: no read, and the whole head is no copy
            return kept[:length]
        length = min(length, self.size)
        if length <= len(kept):
            return kept[:length]
        data = self.read_at(0, length)
        if len(data) > len(self._head):
            self._head = data
        return data

    def _read(self, offset: int, length: int) -> bytes:
        raise NotImplementedError


class BytesSource(ByteSource):
    """A buffer, for tests, fuzzing and headers already in memory."""

    def __init__(self, data: bytes) -> None:
        super().__init__(len(data))
        self._data = data

    def _read(self, offset: int, length: int) -> bytes:
        return self._data[offset : offset + length]


class FileSource(ByteSource):
    """A regular file on disk, opened once; use as a context manager. Its :meth:`head` is
    read as it opens, so a reader whose headers fit there (nearly all do) costs that one
    ``pread`` system call and nothing more."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        try:
            fd, info = open_regular(path)
        except OSError as error:
            raise BinaryReadError(os_error_text(error)) from None
        self._owns_fd = True
        self._take(fd, info.st_size)

    @classmethod
    def from_descriptor(cls, fd: int, size: int) -> FileSource:
        """A source on a descriptor the caller opened (and closes): the scanner's walk reads
        the magic first and hands the same descriptor on, so a binary is opened once."""
        source = cls.__new__(cls)
        source._owns_fd = False
        source._take(fd, size)
        return source

    def _take(self, fd: int, size: int) -> None:
        """Hold ``fd`` and read the head now: the format detection and every reader start
        there, and one ``pread`` here spares the first :meth:`head` its way through
        :meth:`read_at` (a tenth of a Mach-O read's interpreter time)."""
        self._fd: Optional[int] = fd
        ByteSource.__init__(self, size)
        length = size if size < FIRST_READ else FIRST_READ
        try:
            head = _pread(fd, length, 0)
        except OSError as error:  # EIO, or a file that vanished under a network mount
            self.close()
            raise BinaryReadError(os_error_text(error)) from None
        if len(head) != length:  # it shrank since its fstat
            self.close()
            raise BinaryReadError("truncated: short read at offset 0")
        self._head = head
        self._spent = length
        self._reads = 1

    def _read(self, offset: int, length: int) -> bytes:
        fd = self._fd
        if fd is None:  # its number may belong to another file now
            raise BinaryReadError("read after close")
        return _pread(fd, length, offset)

    def close(self) -> None:
        if self._fd is not None and self._owns_fd:
            os.close(self._fd)
        self._fd = None

    def __enter__(self) -> FileSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
"""How files are opened for their headers: O_NONBLOCK, so that a FIFO never blocks."""


class NotRegularFile(OSError):
    """:func:`open_regular` found a folder, a FIFO, a socket or a device."""

    def __init__(self, is_dir: bool, path: str) -> None:
        super().__init__(0, "a directory" if is_dir else "not a regular file", path)
        self.is_dir = is_dir


def open_regular(
    path: str | os.PathLike[str], *, nofollow: bool = False
) -> tuple[int, os.stat_result]:
    """An open descriptor on ``path`` and its ``fstat``, if it is a regular file: opened
    with ``O_NONBLOCK`` (a FIFO never blocks the open) and its type checked on the open
    descriptor (nothing can be swapped in between). ``nofollow``: a symlink is refused.
    Raises :class:`OSError` (:class:`NotRegularFile` for anything but a regular file). The
    one opener of the package: readers, metadata, the fat writer, discovery and the journal.
    """
    flags = OPEN_FLAGS | (getattr(os, "O_NOFOLLOW", 0) if nofollow else 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(stat.S_ISDIR(info.st_mode), os.fsdecode(path))
    except BaseException:
        os.close(fd)
        raise
    return fd, info


def _seek_and_read(fd: int, length: int, offset: int) -> bytes:
    """``os.pread`` where the OS has none (Windows)."""
    os.lseek(fd, offset, os.SEEK_SET)
    return os.read(fd, length)


_pread = getattr(os, "pread", _seek_and_read)


class InflateBudget:
    """Decompressed bytes left for one archive; shared by the sources of its members."""

    def __init__(self, limit: int = ARCHIVE_INFLATE_BUDGET) -> None:
        self.remaining = limit

    def spend(self, count: int) -> None:
        self.remaining -= count
        if self.remaining < 0:
            raise TooLarge(
                f"the archive's members exceed the {ARCHIVE_INFLATE_BUDGET >> 20} MiB"
                " decompression budget"
            )


class ZipMemberSource(ByteSource):
    """A member of a zip archive, read in place: never extracted, never held whole.

    Deflated members cannot seek, so a read ahead of the current position streams forward,
    discarding bytes, within the archive's :class:`InflateBudget`, and a read behind it
    resumes from the nearest checkpoint (:data:`CHECKPOINTS`) or reopens the member. The
    size is the one the central directory claims; a member that decompresses to less is
    reported as truncated, and one that claims more is never read beyond what a header needs.
    """

    def __init__(
        self,
        archive: zipfile.ZipFile,
        member: zipfile.ZipInfo,
        budget: Optional[InflateBudget] = None,
    ) -> None:
        super().__init__(member.file_size)
        self._archive = archive
        self._member = member
        self._budget = budget if budget is not None else InflateBudget()
        self._stream: Optional[MemberStream] = None
        self._position = 0
        self._checkpoints: list[tuple[int, _Checkpoint]] = []
        self._positions: list[int] = []
        self._every = max(CHECKPOINT_MIN_STEP, member.file_size // CHECKPOINTS)

    def _read(self, offset: int, length: int) -> bytes:
        try:
            point = self._checkpoint_before(offset)
            if self._stream is None or offset < self._position:
                self._rewind(point)
            elif point is not None and point[0] > self._position:
                self._stream.restore(point[1])  # a jump ahead: skip what a checkpoint knows
                self._position = point[0]
            assert self._stream is not None
            while self._position < offset:
                step = min(offset - self._position, 1024 * 1024)
                self._budget.spend(step)
                skipped = self._stream.read(step)
                if not skipped:
                    return b""
                self._position += len(skipped)
                last = self._positions[-1] if self._positions else 0
                if self._position - last >= self._every:
                    state = self._stream.checkpoint()
                    if state is not None:
                        self._checkpoints.append((self._position, state))
                        self._positions.append(self._position)
            self._budget.spend(length)
            data = self._stream.read(length)
            self._position += len(data)
            return data
        except BinaryReadError:
            raise
        except Exception as error:  # zlib.error, LZMAError, OSError... from a damaged archive
            raise BinaryReadError(f"corrupt zip member: {error or type(error).__name__}") from None

    def _checkpoint_before(self, offset: int) -> Optional[tuple[int, _Checkpoint]]:
        """The last checkpoint at or before ``offset`` (they are kept in stream order)."""
        index = bisect.bisect_right(self._positions, offset)  # no key= before Python 3.10
        return self._checkpoints[index - 1] if index else None

    def _rewind(self, point: Optional[tuple[int, _Checkpoint]]) -> None:
        """Go back to ``point`` (a checkpoint), else to the start."""
        if self._stream is not None and point is not None:
            self._stream.restore(point[1])
            self._position = point[0]
            return
        self.close()
        self._stream = MemberStream(self._archive, self._member)
        self._position = 0

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None


if TYPE_CHECKING:

    class _Decoder(Protocol):
        """What bz2, lzma and zstd decompressors share: output bounded by ``max_length``, input
        they could not use yet kept inside them."""

        @property
        def eof(self) -> bool: ...

        @property
        def needs_input(self) -> bool: ...

        def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


class _Inflate:
    """zlib's raw deflate behind the :class:`_Decoder` interface (zlib hands unused input
    back instead of keeping it)."""

    def __init__(self) -> None:
        self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
        self._pending = b""

    @property
    def eof(self) -> bool:
        return self._zlib.eof

    @property
    def needs_input(self) -> bool:
        return not self._pending

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        data = self._pending + data if self._pending else data
        out = self._zlib.decompress(data, max(max_length, 0))
        self._pending = self._zlib.unconsumed_tail
        return out

    def copy(self) -> _Inflate:
        twin = _Inflate.__new__(_Inflate)
        twin._zlib = self._zlib.copy()
        twin._pending = self._pending
        return twin


class _Stored:
    """Method 0: the bytes as they are."""

    @property
    def eof(self) -> bool:
        return False

    def __init__(self) -> None:
        self._pending = b""

    @property
    def needs_input(self) -> bool:
        return not self._pending

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        data = self._pending + data if self._pending else data
        self._pending = data[max_length:]
        return data[:max_length]

    def copy(self) -> _Stored:
        twin = _Stored()
        twin._pending = self._pending
        return twin


class CompressionMethod(int, enum.Enum):
    """Zip compression methods (APPNOTE 4.4.5) this reader decompresses itself."""

    STORED = 0
    DEFLATED = 8
    BZIP2 = 12
    LZMA = 14
    ZSTANDARD = 93


_RAW_CHUNK = 64 * 1024
"""Compressed bytes handed to a decompressor at a time."""
_LOCAL_HEADER = struct.Struct("<4s22xHH")
_LOCAL_MAGIC = b"PK\x03\x04"


class MemberStream:
    """A zip member's decompressed bytes, produced a chunk at a time.

    :mod:`zipfile` hands bzip2 and lzma (and zstd) decompressors its whole read buffer
    without ``max_length``, so a few hundred compressed bytes can become gigabytes in one
    call. Here every decompressor, whatever the method, is asked for at most the bytes the
    caller wants, and is fed ``_RAW_CHUNK`` compressed bytes at a time: what a member costs is
    what the reader asked for, never what the compressed data can expand to.
    """

    def __init__(self, archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
        if archive.fp is None:
            raise BinaryReadError("the archive is closed")
        if member.flag_bits & 0x1:
            raise BinaryReadError("encrypted zip member")
        self._fp = archive.fp
        self._fp.seek(member.header_offset)
        header = self._fp.read(_LOCAL_HEADER.size)
        if len(header) != _LOCAL_HEADER.size:
            raise BinaryReadError("truncated: local header ends early")
        magic, name_length, extra_length = _LOCAL_HEADER.unpack(header)
        if magic != _LOCAL_MAGIC:
            raise BinaryReadError("corrupt zip member: bad local header magic")
        local_name = self._fp.read(name_length)
        encoding = "utf-8" if member.flag_bits & 0x800 else "cp437"
        if local_name.decode(encoding, "replace") != member.orig_filename:
            raise BinaryReadError(
                "corrupt zip member: its local header names another file than the directory"
            )
        self._raw_at = member.header_offset + _LOCAL_HEADER.size + name_length + extra_length
        self._raw_left = member.compress_size
        self._decoder = _decoder_for(member.compress_type, self)

    def read_raw(self, count: int) -> bytes:
        """Up to ``count`` compressed bytes of the member (the archive file is shared, so
        every read seeks)."""
        count = min(count, self._raw_left)
        if count <= 0:
            return b""
        self._fp.seek(self._raw_at)
        data = self._fp.read(count)
        self._raw_at += len(data)
        self._raw_left = self._raw_left - len(data) if data else 0
        return data

    def read(self, length: int) -> bytes:
        """Up to ``length`` decompressed bytes; fewer only at the end of the member."""
        chunks: list[bytes] = []
        wanted = length
        while wanted > 0 and not self._decoder.eof:
            # zlib may hold output back after all input is in: ask even without new input
            data = self.read_raw(_RAW_CHUNK) if self._decoder.needs_input else b""
            out = self._decoder.decompress(data, wanted)
            if not out and not data:
                break  # no input left and no output: the end (or corrupt data)
            chunks.append(out)
            wanted -= len(out)
        return b"".join(chunks)

    def checkpoint(self) -> Optional[_Checkpoint]:
        """Where the stream is, to :meth:`restore` later; None for decoders that cannot be
        copied (bzip2, lzma, zstd: those members reopen instead)."""
        if not isinstance(self._decoder, (_Inflate, _Stored)):
            return None
        return (self._raw_at, self._raw_left, self._decoder.copy())

    def restore(self, point: _Checkpoint) -> None:
        self._raw_at, self._raw_left, decoder = point
        self._decoder = decoder.copy()

    def close(self) -> None:
        self._raw_left = 0


if TYPE_CHECKING:
    _Checkpoint = tuple[int, int, Union["_Inflate", "_Stored"]]


def _decoder_for(method: int, stream: MemberStream) -> _Decoder:
    if method == CompressionMethod.STORED:
        return _Stored()
    if method == CompressionMethod.DEFLATED:
        return _Inflate()
    if method == CompressionMethod.BZIP2:
        import bz2

        return bz2.BZ2Decompressor()
    if method == CompressionMethod.LZMA:
        # Zip's LZMA: 2 version bytes, 2 bytes of properties size, the properties, then a
        # raw LZMA1 stream (APPNOTE 5.8.8).
        import lzma

        head = stream.read_raw(4)
        if len(head) != 4:
            raise BinaryReadError("truncated: lzma header ends early")
        (size,) = struct.unpack("<H", head[2:])
        properties = stream.read_raw(size)
        if len(properties) != size:
            raise BinaryReadError("truncated: lzma properties end early")
        try:
            lzma_filter = lzma._decode_filter_properties(  # type: ignore[attr-defined]
                lzma.FILTER_LZMA1, properties
            )
        except lzma.LZMAError as error:
            raise BinaryReadError(f"corrupt lzma properties: {error}") from None
        decoder: _Decoder = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[lzma_filter])
        return decoder
    zstd_decompressor = _zstd_decompressor() if method == CompressionMethod.ZSTANDARD else None
    if zstd_decompressor is not None:
        zstd: _Decoder = zstd_decompressor()
        return zstd
    raise BinaryReadError(f"zip compression method {method} is not supported")


@functools.cache
def _zstd_decompressor() -> Optional[type]:
    try:
        from compression import zstd  # type: ignore[import-not-found]  # Python 3.14+
    except ImportError:
        return None
    found: type = zstd.ZstdDecompressor
    return found


def os_error_text(error: OSError) -> str:
    """An OS error as the one line users see: its text without errno or path."""
    return error.strerror or str(error)


# -- a zip's central directory, sized before zipfile parses it ---------------------------------

MAX_ZIP_ENTRIES = 100_000
"""Central-directory entries a wheel may list (the largest real wheels list ~30,000):
:mod:`zipfile` holds one object per entry, so more is refused before parsing."""
MAX_ZIP_DIRECTORY = 32 * 1024 * 1024
"""Bytes a wheel's central directory may take (zipfile parses by size, not by count)."""

_EOCD = struct.Struct("<4s6xHI4xH")
_EOCD64_LOCATOR = struct.Struct("<4s4xQ4x")
_EOCD64 = struct.Struct("<4s28xQQ")


def zip_directory_size(fd: int) -> tuple[int, int]:
    """Entries and bytes the end-of-central-directory record (zip64 included) claims for
    the central directory; zeros when it cannot be found (zipfile then reports it)."""
    file_size = os.fstat(fd).st_size
    tail_start = max(0, file_size - (_EOCD.size + 0xFFFF))
    tail = os.pread(fd, file_size - tail_start, tail_start)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _EOCD.size:
        return 0, 0
    _, entries, size, _ = _EOCD.unpack_from(tail, at)
    locator_at = at - _EOCD64_LOCATOR.size
    if locator_at >= 0 and tail[locator_at : locator_at + 4] == b"PK\x06\x07":
        _, offset = _EOCD64_LOCATOR.unpack_from(tail, locator_at)
        record = os.pread(fd, _EOCD64.size, offset) if offset < file_size else b""
        if len(record) == _EOCD64.size and record[:4] == b"PK\x06\x06":
            _, entries64, size64 = _EOCD64.unpack(record)
            entries, size = max(entries, entries64), max(size, size64)
    return int(entries), int(size)


def zip_directory_refusal(fd: int) -> Optional[str]:
    """Why the zip open as ``fd`` lists too much to be parsed by :mod:`zipfile` (which holds
    every entry in memory), or None. Every reader of wheels asks before it opens one."""
    entries, size = zip_directory_size(fd)
    if entries > MAX_ZIP_ENTRIES or size > MAX_ZIP_DIRECTORY:
        return (
            f"its central directory lists {entries:,} entries in {size:,} bytes, more than"
            f" the {MAX_ZIP_ENTRIES:,} entries ({MAX_ZIP_DIRECTORY >> 20} MiB) read"
        )
    return None
