"""Find the binaries in what a user points at: a virtualenv or prefix, a site-packages
directory, a Nuitka ``.dist`` folder, an ``.app`` bundle, any directory, or ``.whl`` files.

Walking, not parsing, dominates a scan (see NOTES.md), so the walk is as cheap as it can be:
``os.scandir`` recursion using the directory entry's own type (no ``stat`` per file), one
``open`` + 8-byte read per candidate file, and the format reader only for files whose magic
says Mach-O, ELF or PE, on the same open file descriptor.

What is skipped without being opened (documented in the README):

* files whose suffix says they are text or Python source, never loaded as binaries:
  :data:`SKIP_SUFFIXES` (``.py``, ``.pyc``, ``.pyi``, ``.txt``, ``.json``, ``.h``, ``.c``...);
* directories that only hold metadata or bytecode: ``__pycache__``, ``*.dist-info``,
  ``*.egg-info`` (for wheels, the same members);
* anything that is not a regular file (FIFOs, sockets, devices: never opened, a note);
* a directory already visited (by ``(st_dev, st_ino)``), so symlink loops end.

``.whl`` files found in a directory (a wheelhouse) are read like wheels named as PATHs.

Wheels are opened once (:class:`~..wheel.WheelFile`: a scan reads a wheel's metadata and its
members from that one open, and takes one its caller holds open) and read in place through
``ZipMemberSource``: never extracted, member names are only names (``..`` and absolute paths
included), and every member costs at most the source's header budget whatever sizes the
archive claims or the compression method (stored, deflate, bzip2, lzma, zstd) can expand to.
A wheel whose central directory lists more than 100,000 entries is refused before it is
parsed; members that share one local header are read once; the dist-info's ``WHEEL`` and
``METADATA`` go through :mod:`.metadata`.
"""

from __future__ import annotations

import enum
import errno
import os
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Optional

from ..binaries import MAGIC_LENGTH, BinaryFormat, BinaryInfo, BinaryReadError, read_binary
from ..binaries import detect_format as _detect_format
from ..binaries.source import OPEN_FLAGS, FileSource, InflateBudget, ZipMemberSource, os_error_text
from ..state import STATE_DIR
from ..wheel import WheelError, WheelFile, WheelMeta
from .metadata import MetadataReader
from .policy import display_path, looks_loaded

__all__ = [
    "SKIP_DIRS",
    "SKIP_SUFFIXES",
    "WHEEL_SUFFIX",
    "Discovery",
    "Found",
    "PathError",
    "Root",
    "RootKind",
    "WheelMeta",
    "module_name",
    "open_root",
    "open_wheel",
    "read_wheel_meta",
    "resolve",
]

SKIP_SUFFIXES = frozenset(
    {
        ".py", ".pyc", ".pyo", ".pyi", ".pyx", ".pxd", ".pxi", ".txt", ".json", ".md", ".rst",
        ".h", ".hpp", ".hh", ".c", ".cc", ".cpp", ".cxx", ".rs", ".toml", ".cfg", ".ini",
        ".yaml", ".yml", ".html", ".css", ".js", ".csv", ".typed", ".in", ".sh", ".bat",
    }
)  # fmt: skip
"""Suffixes of files that are never loaded or run as Mach-O/ELF/PE binaries."""
SKIP_DIRS = frozenset({"__pycache__"})
"""Folders never walked, wherever they are. ``.archguard`` (the backups and staging of
``nuitka-archguard fix``) is skipped only at the top of a walk, where fix puts it: a folder
of that name deeper in a package is scanned like any other."""
WHEEL_SUFFIX = ".whl"
"""Wheels found in a walked directory are opened and their members checked."""
_SKIP_DIR_SUFFIXES = (".dist-info", ".egg-info")
_SAME_NOTES = 3
"""Notes of one kind per wheel before the rest are counted in one line."""
SAME_NOTES_KEPT = 20
"""Notes with the same text a scan keeps; the rest are counted (``repeated_notes``)."""


class PathError(Exception):
    """A PATH given to the scan cannot be read at all: missing, not readable, not a wheel.
    One line naming the path."""


class RootKind(str, enum.Enum):
    PREFIX = "prefix"
    SITE_PACKAGES = "site-packages"
    DIST = "dist"
    APP = "app"
    DIRECTORY = "directory"
    WHEEL = "wheel"
    FILE = "file"


@dataclass(frozen=True)
class Root:
    """One PATH as understood: what it is and which directories of it hold the build."""

    path: str
    kind: RootKind
    walk: tuple[str, ...]


@dataclass(frozen=True)
class Found:
    """A file whose magic says binary. ``info.error`` is set when its headers are corrupt or
    it cannot be read. ``rel`` is its POSIX path inside the walked directory (or wheel)."""

    path: str
    rel: str
    info: BinaryInfo
    wheel: Optional[str] = None
    wheel_meta: Optional[WheelMeta] = None


def _suffix(name: str) -> str:
    """``os.path.splitext(name)[1].lower()``, without its cost for the common name (the walk
    asks it of every file in the tree)."""
    dot = name.rfind(".")
    if dot <= 0:
        return ""
    if name[0] != ".":
        return name[dot:].lower()
    return os.path.splitext(name)[1].lower()  # leading dots do not start a suffix


def _skipped_dir(name: str, rel: str) -> bool:
    """Whether a folder ``name`` found at ``rel`` (``""``: the walk's top) is not walked."""
    return name in SKIP_DIRS or name.endswith(_SKIP_DIR_SUFFIXES) or (name == STATE_DIR and not rel)


@dataclass
class Discovery:
    """One scan's walk: counts files, remembers visited directories and binaries (so a
    symlink loop or an aliased file is seen once) and collects notes about what it could
    not look at."""

    files_seen: int = 0
    notes: list[str] = field(default_factory=list)
    reader: MetadataReader = field(default_factory=MetadataReader)
    _dirs: set[tuple[int, int]] = field(default_factory=set)
    _files: set[tuple[int, int]] = field(default_factory=set)
    _same: dict[str, int] = field(default_factory=dict)

    def binaries(self, root: Root, wheel: Optional[WheelFile] = None) -> Iterator[Found]:
        """The binaries of ``root``; for a wheel root, read from ``wheel`` when the caller
        holds it open (:func:`open_root`), else opened here."""
        if root.kind is RootKind.WHEEL:
            if wheel is not None:
                yield from self.wheel_binaries(wheel)
                return
            with open_wheel(root.path) as opened:
                yield from self.wheel_binaries(opened)
            return
        if root.kind is RootKind.FILE:
            found = self._file(root.path, os.path.basename(root.path))
            if found is not None:
                yield found
            return
        for top in root.walk:
            yield from self._walk(top)

    def _note(self, path: str, text: str) -> None:
        """One line per problem, but at most :data:`SAME_NOTES_KEPT` with the same text: a
        folder of a million FIFOs is 20 notes and a count (:meth:`repeated_notes`)."""
        count = self._same.get(text, 0) + 1
        self._same[text] = count
        if count <= SAME_NOTES_KEPT:
            self.notes.append(f"{display_path(path)}: {text}")

    def repeated_notes(self) -> list[str]:
        """``999,980 more like this: skipped: not a regular file``, per text past the cap."""
        return [
            f"{count - SAME_NOTES_KEPT:,} more like this: {text}"
            for text, count in self._same.items()
            if count > SAME_NOTES_KEPT
        ]

    # -- directories ----------------------------------------------------------------------

    def _walk(self, top: str) -> Iterator[Found]:
        try:
            st = os.stat(top)
        except OSError as error:
            self._note(top, os_error_text(error))
            return
        key = (st.st_dev, st.st_ino)
        if key in self._dirs:
            return
        self._dirs.add(key)
        stack: list[tuple[str, str]] = [(top, "")]
        while stack:
            directory, rel = stack.pop()
            try:
                entries = os.scandir(directory)
            except OSError as error:
                self._note(directory, f"not scanned: {os_error_text(error)}")
                continue
            links: list[os.DirEntry[str]] = []
            subdirs: list[tuple[str, str]] = []
            with entries:
                try:
                    for entry in entries:
                        name = entry.name
                        try:
                            if entry.is_symlink():
                                links.append(entry)
                            elif entry.is_file(follow_symlinks=False):
                                suffix = _suffix(name)
                                if suffix in SKIP_SUFFIXES:
                                    self.files_seen += 1
                                    continue
                                if suffix == WHEEL_SUFFIX:
                                    yield from self._wheel_in_tree(entry.path)
                                    continue
                                found = self._file(entry.path, rel + name)
                                if found is not None:
                                    yield found
                            elif entry.is_dir(follow_symlinks=False):
                                if _skipped_dir(name, rel):
                                    continue
                                dst = entry.stat(follow_symlinks=False)
                                key = (dst.st_dev, dst.st_ino)
                                if key not in self._dirs:
                                    self._dirs.add(key)
                                    subdirs.append((entry.path, rel + name + "/"))
                            else:
                                self._note(entry.path, "skipped: not a regular file")
                        except OSError as error:
                            self._note(entry.path, f"skipped: {os_error_text(error)}")
                except OSError as error:  # from the listing: each entry's own are caught above
                    self._note(directory, f"listing stopped: {os_error_text(error)}")
            # Symlinks last, so the file they point to in the same directory is seen first.
            for entry in links:
                yield from self._link(entry, rel, subdirs)
            stack.extend(reversed(subdirs))

    def _link(
        self, entry: os.DirEntry[str], rel: str, subdirs: list[tuple[str, str]]
    ) -> Iterator[Found]:
        name = entry.name
        try:
            st = os.stat(entry.path)
        except OSError as error:
            if error.errno == errno.ELOOP:
                text = "symlink loop"
            elif not os.path.exists(entry.path):
                text = "dangling symlink"
            else:
                text = os_error_text(error)
            if looks_loaded(name):
                yield _unreadable(entry.path, rel + name, text)
            else:
                self._note(entry.path, f"skipped: {text}")
            return
        if stat.S_ISDIR(st.st_mode):
            if _skipped_dir(name, rel):
                return
            key = (st.st_dev, st.st_ino)
            if key not in self._dirs:
                self._dirs.add(key)
                subdirs.append((entry.path, rel + name + "/"))
            return
        if not stat.S_ISREG(st.st_mode):
            self._note(entry.path, "skipped: not a regular file")
            return
        suffix = _suffix(name)
        if suffix in SKIP_SUFFIXES:
            self.files_seen += 1
            return
        if suffix == WHEEL_SUFFIX:
            yield from self._wheel_in_tree(entry.path)
            return
        found = self._file(entry.path, rel + name)
        if found is not None:
            yield found

    def _file(self, path: str, rel: str) -> Optional[Found]:
        """Open once, read the magic, and run the reader on the same descriptor if binary."""
        self.files_seen += 1
        try:
            # Not open_regular: the type is checked (fstat) only once the magic says binary,
            # the walk's hot path reads 4 bytes of every file and stats none of them twice.
            fd = os.open(path, OPEN_FLAGS)
        except OSError as error:
            if looks_loaded(path):
                return _unreadable(path, rel, os_error_text(error))
            self._note(path, f"skipped: {os_error_text(error)}")
            return None
        try:
            try:
                head = os.read(fd, MAGIC_LENGTH)
            except OSError as error:
                if looks_loaded(path):
                    return _unreadable(path, rel, os_error_text(error))
                self._note(path, f"skipped: {os_error_text(error)}")
                return None
            binary_format = _detect_format(head)
            if binary_format is BinaryFormat.NOT_A_BINARY:
                return None
            try:
                st = os.fstat(fd)
            except OSError as error:
                return _unreadable(path, rel, os_error_text(error), binary_format)
            if not stat.S_ISREG(st.st_mode):
                self._note(path, "skipped: not a regular file")
                return None
            key = (st.st_dev, st.st_ino)
            if st.st_ino and key in self._files:
                return None
            self._files.add(key)
            try:
                info = read_binary(FileSource.from_descriptor(fd, st.st_size), path)
            except BinaryReadError as error:
                return _unreadable(path, rel, str(error), binary_format)
            return Found(path=path, rel=rel, info=info)
        finally:
            os.close(fd)

    # -- wheels ---------------------------------------------------------------------------

    def _wheel_in_tree(self, path: str) -> Iterator[Found]:
        """A ``.whl`` inside a scanned directory (a wheelhouse) is read like one named on the
        command line: a CI job pointed at its wheelhouse must not pass unchecked. One that
        cannot be read is a note, not the end of the scan."""
        key = _file_key(path)
        if key is not None:
            if key in self._files:
                return
            self._files.add(key)
        try:
            opened = open_wheel(path)
        except PathError as error:
            self.files_seen += 1
            self.notes.append(str(error))
            return
        with opened:
            yield from self.wheel_binaries(opened)

    def wheel_binaries(self, wheel: WheelFile) -> Iterator[Found]:
        """The binaries among an opened wheel's members, its metadata read once
        (:meth:`.metadata.MetadataReader.wheel_meta`) from the same open file."""
        path, archive = wheel.path, wheel.archive
        meta = self.reader.wheel_meta(wheel)
        budget = wheel.inflate  # one budget per archive, however many walks it has
        seen: set[str] = set()
        offsets: set[int] = set()
        counts = {"alias": 0, "duplicate": 0}
        for member in archive.infolist():
            name = member.filename
            if name.endswith("/"):
                continue
            if member.header_offset in offsets:
                # Several directory entries for the same bytes: a crafted archive.
                counts["alias"] += 1
                if counts["alias"] <= _SAME_NOTES:
                    self._note(f"{path}/{name}", "skipped: shares its data with another member")
                continue
            offsets.add(member.header_offset)
            if name in seen:
                counts["duplicate"] += 1
                if counts["duplicate"] <= _SAME_NOTES:
                    self._note(f"{path}/{name}", "duplicate member name; each copy is checked")
            seen.add(name)
            first = name.split("/", 1)[0]
            if first.endswith(_SKIP_DIR_SUFFIXES) or "/__pycache__/" in f"/{name}":
                continue
            self.files_seen += 1
            if _suffix(name) in SKIP_SUFFIXES or member.file_size == 0:
                continue
            found = self._member(archive, member, path, meta, budget)
            if found is not None:
                yield found
        for kind, text in (("alias", "sharing data"), ("duplicate", "with duplicate names")):
            more = counts[kind] - _SAME_NOTES
            if more > 0:
                self._note(path, f"{more:,} more members {text} like these")

    def _member(
        self,
        archive: zipfile.ZipFile,
        member: zipfile.ZipInfo,
        wheel: str,
        meta: WheelMeta,
        budget: InflateBudget,
    ) -> Optional[Found]:
        name = member.filename
        shown = f"{wheel}/{name}"
        source = ZipMemberSource(archive, member, budget)
        try:
            try:
                head = source.head(MAGIC_LENGTH)
            except BinaryReadError as error:
                if looks_loaded(name):
                    return _unreadable(shown, name, str(error), wheel=wheel, meta=meta)
                self._note(shown, f"skipped: {error}")
                return None
            binary_format = _detect_format(head)
            if binary_format is BinaryFormat.NOT_A_BINARY:
                return None
            try:
                info = read_binary(source, shown)
            except BinaryReadError as error:
                return _unreadable(shown, name, str(error), binary_format, wheel, meta)
            return Found(path=shown, rel=name, info=info, wheel=wheel, wheel_meta=meta)
        finally:
            source.close()


def _file_key(path: str) -> Optional[tuple[int, int]]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if st.st_ino else None


def _unreadable(
    path: str,
    rel: str,
    text: str,
    binary_format: BinaryFormat = BinaryFormat.NOT_A_BINARY,
    wheel: Optional[str] = None,
    meta: Optional[WheelMeta] = None,
) -> Found:
    info = BinaryInfo(path=path, format=binary_format, error=text)
    return Found(path=path, rel=rel, info=info, wheel=wheel, wheel_meta=meta)


def open_wheel(path: str) -> WheelFile:
    """The wheel, opened once (:meth:`~..wheel.WheelFile.open`: its central directory sized
    before it is parsed); raises :class:`PathError`. The caller closes it."""
    try:
        return WheelFile.open(path)
    except WheelError as error:
        if error.refused:
            raise PathError(f"{display_path(path)}: not scanned: {error}") from None
        raise PathError(f"{display_path(path)}: not a readable wheel: {error}") from None


def read_wheel_meta(path: str, reader: Optional[MetadataReader] = None) -> WheelMeta:
    """:class:`WheelMeta` of a ``.whl`` file; raises :class:`PathError` if it is no zip.
    Who holds the opened wheel asks :meth:`.metadata.MetadataReader.wheel_meta` instead."""
    with open_wheel(path) as wheel:
        return (reader if reader is not None else MetadataReader()).wheel_meta(wheel)


# -- roots ---------------------------------------------------------------------------------


def resolve(path: str) -> Root:
    """What a PATH is and where its binaries are; raises :class:`PathError` when it cannot
    be read at all (missing, permission denied, a ``.whl`` that is not a zip)."""
    shown = display_path(path)
    try:
        st = os.stat(path)
    except OSError as error:
        raise PathError(f"{shown}: {os_error_text(error)}") from None
    if stat.S_ISREG(st.st_mode):
        if path.lower().endswith(".whl"):
            open_wheel(path).close()
            return Root(path, RootKind.WHEEL, (path,))
        if not os.access(path, os.R_OK):
            raise PathError(f"{shown}: permission denied")
        return Root(path, RootKind.FILE, (path,))
    if not stat.S_ISDIR(st.st_mode):
        raise PathError(f"{shown}: not a file or directory")
    try:
        with os.scandir(path) as entries:
            names = {entry.name for entry in entries}
    except OSError as error:
        raise PathError(f"{shown}: {os_error_text(error)}") from None
    stripped = path.rstrip("/\\")
    if stripped.endswith(".app"):
        return Root(path, RootKind.APP, (path,))
    if stripped.endswith(".dist"):
        return Root(path, RootKind.DIST, (path,))
    if "conda-meta" in names:
        # conda: lib/ holds site-packages, lib-dynload and the shared libraries they load.
        subdirs = ("lib", "Lib", "DLLs", os.path.join("Library", "bin"))
        dirs = [os.path.join(path, d) for d in subdirs]
        found = tuple(d for d in dirs if os.path.isdir(d))
        return Root(path, RootKind.PREFIX, found or (path,))
    site = _site_packages(path, names)
    if site and ("pyvenv.cfg" in names or "bin" in names or "Scripts" in names or "lib" in names):
        return Root(path, RootKind.PREFIX, site)
    kind = RootKind.SITE_PACKAGES if _is_site(stripped, names) else RootKind.DIRECTORY
    return Root(path, kind, (path,))


def open_root(path: str) -> tuple[Root, Optional[WheelFile]]:
    """:func:`resolve`, and for a wheel the wheel itself, opened (the caller closes it): the
    scan reads a wheel's metadata and its members from this one open."""
    if path.lower().endswith(".whl"):
        try:
            regular = stat.S_ISREG(os.stat(path).st_mode)
        except OSError:
            regular = False  # resolve() says why
        if regular:
            return Root(path, RootKind.WHEEL, (path,)), open_wheel(path)
    return resolve(path), None


def _site_packages(prefix: str, names: set[str]) -> tuple[str, ...]:
    found: list[str] = []
    for lib in ("lib", "lib64", "Lib"):
        if lib not in names:
            continue
        base = os.path.join(prefix, lib)
        direct = os.path.join(base, "site-packages")
        if os.path.isdir(direct):
            found.append(direct)
        try:
            with os.scandir(base) as entries:
                pythons = sorted(e.name for e in entries if e.name.startswith(("python", "pypy")))
        except OSError:
            continue
        for python in pythons:
            for sub in ("site-packages", "dist-packages"):
                candidate = os.path.join(base, python, sub)
                if os.path.isdir(candidate):
                    found.append(candidate)
    return tuple(found)


def _is_site(path: str, names: set[str]) -> bool:
    base = os.path.basename(path)
    return base in ("site-packages", "dist-packages") or any(
        n.endswith(".dist-info") for n in names
    )


_APP_PREFIXES = ("Contents/MacOS/", "Contents/Frameworks/", "Contents/Resources/")


def module_name(rel: str) -> str:
    """The dotted import name of an extension module from its path inside the scanned
    tree: ``cryptography/hazmat/bindings/_rust.abi3.so`` -> ``cryptography.hazmat.bindings._rust``.
    Paths through ``site-packages``/``lib-dynload`` or an app bundle's folders start after them."""
    rel = rel.replace("\\", "/")
    for marker in ("/site-packages/", "/dist-packages/", "/lib-dynload/"):
        index = rel.rfind(marker)
        if index >= 0:
            rel = rel[index + len(marker) :]
    for prefix in _APP_PREFIXES:
        if rel.startswith(prefix):
            rel = rel[len(prefix) :]
    directory, _, base = rel.rpartition("/")
    stem = base.split(".", 1)[0]
    parts = [p for p in directory.split("/") if p] + [stem]
    return ".".join(parts)
