"""A wheel file: its name, its member paths, and the file itself opened once
(:class:`WheelFile`), for every module that reads wheels (discovery, metadata, the fixer's
download check, install, unpack and fuse).

Four member-path checks used to treat drive letters differently (``^[A-Za-z]:``, a colon in
the first part, the second character) and four modules parsed wheel file names their own
way; the copies drift, and a path one of them let through is a path another must not write.
Two modules opened wheels (each with its own bound) and three more reopened by path a wheel
already open elsewhere.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Union

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from .binaries.source import InflateBudget, open_regular, zip_directory_refusal
from .text import shown

if TYPE_CHECKING:  # zipfile loads when a wheel is opened
    import zipfile

__all__ = [
    "WheelError",
    "WheelFile",
    "WheelMeta",
    "WheelName",
    "leaves_root",
    "member_refusal",
    "parse_name",
    "short_name",
]


@dataclass(frozen=True)
class WheelName:
    """What a wheel's file name says: canonical project name, version, tags (sorted)."""

    name: str
    version: str
    tags: tuple[str, ...]


def parse_name(filename: str) -> Optional[WheelName]:
    """``fast-1.0-cp311-cp311-macosx_11_0_arm64.whl`` -> its name, version and tags;
    ``None`` for anything that is not a valid wheel file name (PEP 427, as pip reads it)."""
    if not filename.endswith(".whl"):
        return None
    try:
        name, version, _build, tags = parse_wheel_filename(filename)
    except (InvalidWheelFilename, ValueError):
        return None
    return WheelName(str(name), str(version), tuple(sorted(str(t) for t in tags)))


def short_name(filename: str) -> str:
    """A wheel file name for a line that must fit a terminal: its compressed tag sets cut to
    their first tag, and how many more the name lists (``fast-1.0-cp311-cp311-manylinux_2_5_
    x86_64.whl and 5 more tags`` for six manylinux tags); the name itself when it lists one
    tag or is not a wheel name."""
    if parse_name(filename) is None:
        return filename
    *head, pythons, abis, platforms = filename[: -len(".whl")].split("-")
    sets = [part.split(".") for part in (pythons, abis, platforms)]
    more = len(sets[0]) * len(sets[1]) * len(sets[2]) - 1
    if more == 0:
        return filename
    first = "-".join([*head, *(tags[0] for tags in sets)])
    return f"{first}.whl and {more} more tag{'s' if more > 1 else ''}"


def leaves_root(path: str) -> bool:
    """Whether a path from a wheel or a RECORD leaves the folder it is relative to: absolute
    (``/``, ``\\``), a drive or any colon in its first part (``C:``, ``C:x``), or a ``..``
    part, with either slash."""
    parts = re.split(r"[/\\]", path)
    return path.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]


def member_refusal(path: str) -> str:
    """Why a wheel member path must not be written (``""``: it may): empty, leaving its
    folder (:func:`leaves_root`), or holding control characters."""
    if not path or leaves_root(path):
        return f"the wheel names a path outside the environment: {path!r}"
    if any(ord(c) < 32 for c in path):
        return f"the wheel names a path with control characters: {path!r}"
    return ""


# -- the opened wheel ---------------------------------------------------------------------------

_OPEN_ERRORS = (OSError, ValueError, EOFError, NotImplementedError)
"""What opening a zip raises besides :class:`zipfile.BadZipFile` (NotImplementedError: a
"version needed to extract" or a compression :mod:`zipfile` does not know)."""


class WheelError(Exception):
    """A wheel that cannot be opened: ``refused`` when its central directory lists too much
    to be parsed, else unreadable (``cause``: the error met). The text has no path: each
    caller says it its own way ("not scanned", "unreadable wheel")."""

    def __init__(self, text: str, *, refused: bool = False, cause: Optional[BaseException] = None):
        super().__init__(text)
        self.refused = refused
        self.cause = cause


@dataclass(frozen=True)
class WheelMeta:
    """What a ``.whl`` file says about itself (its dist-info, else its file name); read by
    :meth:`..check.metadata.MetadataReader.wheel_meta`, kept on the :class:`WheelFile`."""

    name: str
    version: str
    tags: tuple[str, ...]
    requires: tuple[str, ...] = ()
    """Canonical names of what it requires (:func:`..check.metadata.required_names`)."""
    metadata_ok: bool = True
    """False when METADATA names it with an invalid name or version."""


class WheelFile:
    """One wheel, opened once and handed to everyone who reads it (installer's
    ``WheelFile(zipfile)``): the scan's metadata pass and its member walk, the fixer's trust
    check, its unpacking and its install all read the same open file, never the path again
    (a file swapped between two opens would be judged in one and installed from the other).

    Opening is bounded: one descriptor (:func:`~.binaries.source.open_regular`: a regular
    file, never a FIFO), whose central directory is sized
    (:func:`~.binaries.source.zip_directory_refusal`) before :mod:`zipfile` parses it. Members
    are read through :class:`~.binaries.source.MemberStream` (bounded whatever the
    compression), all binaries of the archive within its one :attr:`inflate` budget, however
    many readers it is handed to; metadata through :mod:`..check.metadata`, which keeps what
    it read here (:attr:`meta`) so that a second reader does not read it again."""

    def __init__(self, path: str, archive: zipfile.ZipFile, size: int = 0) -> None:
        self.path = path
        """The path it was opened by (for messages: the file itself is never reopened)."""
        self.archive = archive
        self.size = size
        """Its size in bytes when opened."""
        self.inflate = InflateBudget()
        """Decompressed bytes its members' binaries may still cost, all readers together
        (:data:`~.binaries.source.ARCHIVE_INFLATE_BUDGET`)."""
        self.meta: Optional[WheelMeta] = None
        """What :meth:`..check.metadata.MetadataReader.wheel_meta` read (kept, read once)."""
        self.meta_notes: tuple[str, ...] = ()
        """The notes that reading :attr:`meta` gave."""
        self.meta_reader: object = None
        """The reader :attr:`meta_notes` went to (another reader gets them again)."""

    @classmethod
    def open(cls, path: str) -> WheelFile:
        """Open ``path`` as a wheel; raises :class:`WheelError`."""
        import zipfile

        try:
            fd, info = open_regular(path)
        except OSError as error:
            raise WheelError(str(error), cause=error) from None
        try:
            refusal = zip_directory_refusal(fd)
        except OSError as error:
            os.close(fd)
            raise WheelError(str(error), cause=error) from None
        if refusal:
            os.close(fd)
            raise WheelError(refusal, refused=True)
        handle = os.fdopen(fd, "rb")
        try:
            archive = zipfile.ZipFile(handle)
        except (zipfile.BadZipFile, *_OPEN_ERRORS) as error:
            handle.close()
            raise WheelError(str(error), cause=error) from None
        archive.filename = path  # as if opened by path (installer names the wheel by it)
        return cls(path, archive, info.st_size)

    @property
    def filename(self) -> str:
        """The file's name (``fast-1.0-cp311-cp311-macosx_11_0_arm64.whl``)."""
        return os.path.basename(self.path)

    @property
    def parsed(self) -> Optional[WheelName]:
        """What the file name says (:func:`parse_name`), or None."""
        return parse_name(self.filename)

    def members(self) -> list[zipfile.ZipInfo]:
        """Every entry of the central directory, in its order."""
        return self.archive.infolist()

    def dist_info_files(self) -> list[zipfile.ZipInfo]:
        """The files directly inside its top-level ``.dist-info`` folders, each stored copy
        once (entries sharing one local header are one file)."""
        seen: set[int] = set()
        found = []
        for info in self.archive.infolist():
            top, _, inner = info.filename.partition("/")
            if not top.endswith(".dist-info") or not inner or "/" in inner:
                continue
            if info.header_offset in seen:
                continue
            seen.add(info.header_offset)
            found.append(info)
        return found

    def dist_info(self) -> Optional[str]:
        """Its ``.dist-info`` folder's name (the first one listed), or None."""
        files = self.dist_info_files()
        return files[0].filename.split("/", 1)[0] if files else None

    def path_refusal(self) -> str:
        """Why one of its member paths must not be written (:func:`member_refusal`, the one
        rule), naming the wheel; ``""`` when every one may."""
        for info in self.archive.infolist():
            refusal = member_refusal(info.filename)
            if refusal:
                return f"{shown(self.filename)}: {refusal}"
        return ""

    def unpacked_size(self) -> int:
        """Bytes its members unpack to at most: :mod:`zipfile` stops each at the size the
        central directory declares."""
        return sum(info.file_size for info in self.archive.infolist())

    def sha256(self) -> str:
        """The hex SHA-256 of the file as opened (read from the open file, not the path)."""
        handle = self.archive.fp
        if handle is None:
            raise ValueError("the wheel is closed")
        digest = hashlib.sha256()
        handle.seek(0)  # zipfile seeks before each of its own reads
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
        return digest.hexdigest()

    def copy_to(self, target: Union[str, os.PathLike[str]]) -> None:
        """Write the file as opened to ``target`` (its mode and times kept, as
        :func:`shutil.copy2` would): the bytes that were checked, not whatever the path
        holds by now."""
        import shutil

        handle = self.archive.fp
        if handle is None:
            raise ValueError("the wheel is closed")
        handle.seek(0)
        with open(target, "wb") as copy:
            shutil.copyfileobj(handle, copy)
        st = os.fstat(handle.fileno())
        os.chmod(target, stat.S_IMODE(st.st_mode))
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))

    def close(self) -> None:
        handle = self.archive.fp
        self.archive.close()
        if handle is not None:
            handle.close()  # a ZipFile given a file object leaves it open

    def __enter__(self) -> WheelFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
