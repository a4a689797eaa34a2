"""Bounded random access to the bytes of a file, a zip member or a buffer.

Readers only ever see a :class:`ByteSource`. It enforces the *header budget*: whatever a
file's headers claim, a reader reads at most ``HEADER_BUDGET`` bytes in at most
``MAX_READS`` reads per file, so a hostile or huge file costs a bounded amount of memory
and time. Files are never read whole.
"""

from __future__ import annotations

import os
import stat
import zipfile
from typing import IO, Optional

from .model import BinaryReadError

HEADER_BUDGET = 1024 * 1024
"""Bytes a reader may read from one file, all slices included (1 MiB)."""
MAX_READS = 4096
"""Separate reads a reader may make from one file."""
FIRST_READ = 4096
"""Bytes read up front: enough for every magic and nearly every header."""
ZIP_SKIP_BUDGET = 256 * 1024 * 1024
"""Decompressed bytes a zip member may be streamed through to reach a header deep inside it
(the second slice of a fat file). Skipped bytes are discarded, never kept."""
ARCHIVE_INFLATE_BUDGET = 1024 * 1024 * 1024
"""Decompressed bytes all members of one archive may cost together (1 GiB), so that a wheel
listing the same deep member many times (or thousands of them) stays bounded in time."""


class ByteSource:
    """Random access with a budget. Subclasses implement :meth:`_read`.

    The bytes :meth:`head` returned are kept: later reads inside them are served from
    memory, so a zip member is not inflated again and a file not read again for them.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._spent = 0
        self._reads = 0
        self._head = b""

    def read_at(self, offset: int, length: int) -> bytes:
        """Return exactly ``length`` bytes at ``offset`` or raise :class:`BinaryReadError`."""
        if offset < 0 or length < 0 or offset + length > self.size:
            raise BinaryReadError(
                f"truncated: needs bytes {offset}..{offset + length} of a {self.size}-byte file"
            )
        self._spent += length
        self._reads += 1
        if self._spent > HEADER_BUDGET or self._reads > MAX_READS:
            raise BinaryReadError(
                f"headers exceed the {HEADER_BUDGET // 1024} KiB header budget"
            )
        if offset + length <= len(self._head):
            return self._head[offset : offset + length]
        data = self._read(offset, length)
        if len(data) != length:
            raise BinaryReadError(f"truncated: short read at offset {offset}")
        return data

    def peek(self, offset: int, length: int) -> bytes:
        """Like :meth:`read_at`, but bytes inside :meth:`head` cost no budget: for readers
        that pick many small header fields out of the first 4 KiB."""
        if offset >= 0 and offset + length <= len(self._head):
            return self._head[offset : offset + length]
        return self.read_at(offset, length)

    def head(self, length: int = FIRST_READ) -> bytes:
        """The first bytes, fewer if the file is smaller; kept for later reads."""
        data = self.read_at(0, min(length, self.size))
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
    """A regular file on disk, opened once; use as a context manager. A reader whose
    headers fit in :meth:`head` (nearly all do) costs one ``pread`` system call."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        try:
            # O_NONBLOCK: a FIFO (or one swapped in after a stat) never blocks the open.
            fd = os.open(path, OPEN_FLAGS)
        except OSError as error:
            raise BinaryReadError(os_error_text(error)) from None
        self._fd: Optional[int] = fd
        self._owns_fd = True
        try:
            info = os.fstat(fd)
        except OSError as error:
            self.close()
            raise BinaryReadError(os_error_text(error)) from None
        if not stat.S_ISREG(info.st_mode):
            self.close()
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise BinaryReadError(kind)
        super().__init__(info.st_size)

    @classmethod
    def from_descriptor(cls, fd: int, size: int) -> FileSource:
        """A source on a descriptor the caller opened (and closes): the scanner's walk reads
        the magic first and hands the same descriptor on, so a binary is opened once."""
        source = cls.__new__(cls)
        source._fd = fd
        source._owns_fd = False
        ByteSource.__init__(source, size)
        return source

    def _read(self, offset: int, length: int) -> bytes:
        assert self._fd is not None
        try:
            if _HAS_PREAD:
                return os.pread(self._fd, length, offset)
            os.lseek(self._fd, offset, os.SEEK_SET)
            return os.read(self._fd, length)
        except OSError as error:
            raise BinaryReadError(os_error_text(error)) from None

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
_HAS_PREAD = hasattr(os, "pread")


class InflateBudget:
    """Decompressed bytes left for one archive; shared by the sources of its members."""

    def __init__(self, limit: int = ARCHIVE_INFLATE_BUDGET) -> None:
        self.remaining = limit

    def spend(self, count: int) -> None:
        self.remaining -= count
        if self.remaining < 0:
            raise BinaryReadError(
                f"the archive's members exceed the {ARCHIVE_INFLATE_BUDGET >> 20} MiB"
                " decompression budget"
            )


class ZipMemberSource(ByteSource):
    """A member of a zip archive, read in place: never extracted, never held whole.

    Deflated members cannot seek, so a read behind the current position reopens the member
    and a read ahead of it streams forward, discarding bytes, up to ``ZIP_SKIP_BUDGET``. The
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
        self._stream: Optional[IO[bytes]] = None
        self._position = 0
        self._streamed = 0

    def _read(self, offset: int, length: int) -> bytes:
        try:
            if self._stream is None or offset < self._position:
                self.close()
                self._stream = self._archive.open(self._member)
                self._position = 0
            while self._position < offset:
                step = min(offset - self._position, 1024 * 1024)
                self._streamed += step
                if self._streamed > ZIP_SKIP_BUDGET:
                    raise BinaryReadError("header lies too deep inside the compressed member")
                self._budget.spend(step)
                skipped = self._stream.read(step)
                if not skipped:
                    return b""
                self._position += len(skipped)
            self._budget.spend(length)
            data = self._stream.read(length)
            self._position += len(data)
            return data
        except EOFError:
            raise BinaryReadError("truncated: member data ends before its claimed size") from None
        except BinaryReadError:
            raise
        except Exception as error:  # BadZipFile, zlib.error, OSError... from a damaged archive
            raise BinaryReadError(f"corrupt zip member: {error or type(error).__name__}") from None

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None


def os_error_text(error: OSError) -> str:
    """An OS error as the one line users see: its text without errno or path."""
    return error.strerror or str(error)
