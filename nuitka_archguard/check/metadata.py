"""Every read of distribution metadata goes through here: ``METADATA``/``PKG-INFO``,
``WHEEL``, ``RECORD``, ``INSTALLER``, ``direct_url.json``, ``conda-meta/*.json``, Homebrew
receipts, ``pyproject.toml``, and the same files inside a wheel (an opened
:class:`~..wheel.WheelFile`: :meth:`MetadataReader.wheel_meta`, ``wheel_dist_info``,
``wheel_tags``).

Metadata is as hostile as binaries (a wheel from the internet, a shared directory), so the
guarantees live in one place:

* only regular files are read: a file is opened with ``O_NONBLOCK`` and checked with
  ``fstat`` on the open descriptor, so a FIFO, socket or device is a one-line note, never a
  hang or an endless read;
* every file has a byte limit (:data:`FILE_LIMIT`, larger for ``RECORD`` and conda records),
  and all metadata of one scan shares one :class:`MetadataBudget` of bytes and of entries
  (paths listed by ``RECORD`` and conda records), so a scan's memory is bounded whatever
  the metadata says;
* ``RECORD`` and ``installed-files.txt`` are streamed a line at a time, never held whole;
* zip members are decompressed through :class:`~.binaries.source.MemberStream`, which counts
  every byte whatever the compression method;
* a ``Name`` that is not a valid project name, or a ``Version`` that is not a PEP 440 version,
  makes the metadata unreadable (a note), so such text never reaches a command.

"Needed by" (:func:`required_names`): a requirement counts only when it holds without an
extra. ``cffi; extra == "speed"`` in X's metadata does not make X need cffi: X works without
it, and whether the extra was installed is not recorded anywhere.
"""

from __future__ import annotations

import csv
import json
import os
import re
import zipfile
from collections.abc import Iterable, Iterator
from email.parser import HeaderParser
from typing import Any, Callable, Optional, Union

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..binaries.model import BinaryReadError
from ..binaries.source import MemberStream, NotRegularFile, open_regular, os_error_text
from ..text import shown
from ..wheel import WheelError, WheelFile, WheelMeta

__all__ = [
    "FILE_LIMIT",
    "JSON_LIST_LIMIT",
    "LIST_LIMIT",
    "SCAN_BYTES",
    "SCAN_ENTRIES",
    "MetadataBudget",
    "MetadataError",
    "MetadataReader",
    "checked_name",
    "checked_version",
    "parse_headers",
    "read_regular",
    "required_names",
]

FILE_LIMIT = 4 * 1024 * 1024
"""Bytes read at most from one metadata file (METADATA, WHEEL, JSON, pyproject.toml)."""
LIST_LIMIT = 32 * 1024 * 1024
"""Bytes read at most from one file list (RECORD, installed-files.txt, a conda record)."""
JSON_LIST_LIMIT = 16 * 1024 * 1024
"""Bytes read at most from one conda record (parsed whole: JSON cannot be streamed)."""
LIST_ENTRIES = 250_000
"""Paths taken at most from one file list (the largest real wheels list ~30,000)."""
SCAN_BYTES = 256 * 1024 * 1024
"""Bytes of metadata one scan reads at most, all files together."""
SCAN_ENTRIES = 1_000_000
"""Paths one scan takes at most from all file lists together (they are kept in memory)."""
LINE_LIMIT = 64 * 1024
"""Characters of one line of a file list."""
_CHUNK = 64 * 1024
_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])\Z", re.IGNORECASE)
_EXTRA = re.compile(r"\bextra\b")
_NAME_AT_START = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_MAX_NAME = 200
_MAX_VERSION = 100


class MetadataError(Exception):
    """A metadata file cannot be used; one line without the path. ``missing`` tells a file
    that is simply absent (often normal) from one that is unreadable."""

    def __init__(self, text: str, *, missing: bool = False) -> None:
        super().__init__(text)
        self.missing = missing


class MetadataBudget:
    """Bytes and file-list entries left for all metadata of one scan."""

    def __init__(self, max_bytes: int = SCAN_BYTES, max_entries: int = SCAN_ENTRIES) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self.bytes_left = max_bytes
        self.entries_left = max_entries

    def spend(self, count: int) -> None:
        self.bytes_left -= count
        if self.bytes_left < 0:
            raise MetadataError(
                f"the scan's metadata budget of {self.max_bytes >> 20} MiB is spent; not read"
            )

    def take_entry(self) -> None:
        self.entries_left -= 1
        if self.entries_left < 0:
            raise MetadataError(
                f"the scan's budget of {self.max_entries:,} listed paths is spent; rest not read"
            )


# -- one file ---------------------------------------------------------------------------------


def _open_regular(path: str) -> int:
    """A descriptor on ``path`` if it is a regular file; never blocks (``O_NONBLOCK``), and
    the type is checked on the open descriptor, so nothing can be swapped in between."""
    try:
        return open_regular(path)[0]
    except FileNotFoundError:
        raise MetadataError("missing", missing=True) from None
    except OSError as error:
        raise MetadataError(_open_error_text(error)) from None


def _open_error_text(error: OSError) -> str:
    """Why a metadata file (or a wheel) could not be opened, in one line."""
    if isinstance(error, NotRegularFile):
        kind = "a directory" if error.is_dir else "not a regular file (FIFO, socket or device)"
        return f"{kind}, not read"
    return os_error_text(error)


def _chunks(
    source: Union[int, MemberStream],
    limit: int,
    budget: Optional[MetadataBudget],
    stop: Optional[bytes] = None,
) -> Iterator[bytes]:
    """The bytes of a file (a descriptor) or of a zip member, in chunks, at most ``limit``
    (more raises), each counted."""
    total = 0
    while True:
        try:
            chunk = os.read(source, _CHUNK) if isinstance(source, int) else source.read(_CHUNK)
        except OSError as error:
            raise MetadataError(os_error_text(error)) from None
        if not chunk:
            return
        total += len(chunk)
        if total > limit:
            raise MetadataError(f"larger than {limit:,} bytes; not read")
        if budget is not None:
            budget.spend(len(chunk))
        yield chunk
        if stop is not None and stop in chunk:
            return


def read_regular(
    path: str, limit: int = FILE_LIMIT, budget: Optional[MetadataBudget] = None
) -> bytes:
    """The whole of a small regular file; raises :class:`MetadataError` (for ``config``)."""
    fd = _open_regular(path)
    try:
        return b"".join(_chunks(fd, limit, budget))
    finally:
        os.close(fd)


# -- text formats -----------------------------------------------------------------------------


def parse_headers(text: str) -> dict[str, list[str]]:
    """RFC 822 headers (METADATA, WHEEL) up to the first blank line; values stripped."""
    head = re.split(r"\r?\n\r?\n", text, maxsplit=1)[0]
    result: dict[str, list[str]] = {}
    for key, value in HeaderParser().parsestr(head).items():
        result.setdefault(str(key), []).append(str(value).strip())
    return result


def checked_name(text: str) -> Optional[str]:
    """``text`` if it is a valid project name (PEP 508: letters, digits, ``._-``), else
    None: only such names are put into commands."""
    return text if len(text) <= _MAX_NAME and _NAME.match(text) else None


def checked_version(text: str) -> Optional[str]:
    """The normalized PEP 440 version, or None: only such versions are put into commands."""
    if len(text) > _MAX_VERSION:
        return None
    try:
        return str(Version(text))
    except InvalidVersion:
        return None


def required_names(values: Iterable[str]) -> tuple[str, ...]:
    """Canonical names of what ``Requires-Dist`` values (or conda ``depends`` names) need.

    The one parser of requirements. A requirement under an extra (its marker mentions
    ``extra``) does not count: see the module's docstring. Other markers are kept (they
    describe the machine, and the target is not always this machine). Unparsable entries
    count by their leading name unless they carry a marker."""
    names: list[str] = []
    for value in values:
        text = value.strip()
        if not text or text.startswith("#"):
            continue
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            match = _NAME_AT_START.match(text)
            if match and ";" not in text:
                names.append(canonicalize_name(match.group(1)))
            continue
        if requirement.marker is not None and _EXTRA.search(str(requirement.marker)):
            continue
        names.append(canonicalize_name(requirement.name))
    return tuple(dict.fromkeys(names))


def _conda_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Keep only the keys conda records are read for, at every level: ``paths_data`` with
    a dict per file costs nothing then."""
    return {k: v for k, v in pairs if k in _CONDA_KEYS}


_CONDA_KEYS = frozenset(
    {"name", "version", "files", "channel", "subdir", "url", "depends", "build"}
)


# -- the reader -------------------------------------------------------------------------------


class MetadataReader:
    """Reads metadata for one scan: one :class:`MetadataBudget`, and ``notes`` (one line
    each) for everything skipped. Methods return None (or nothing) instead of raising."""

    def __init__(self, budget: Optional[MetadataBudget] = None) -> None:
        self.budget = budget if budget is not None else MetadataBudget()
        self.notes: list[str] = []
        self._spent_noted = False

    def note(self, where: str, text: str) -> None:
        if "budget" in text:
            if self._spent_noted:
                return
            self._spent_noted = True
        self.notes.append(shown(f"{where}: {text}"))

    def _failed(self, path: str, error: MetadataError, optional: bool) -> None:
        if not (error.missing and optional):
            self.note(path, f"unreadable metadata: {error}")

    # -- files on disk

    def read(
        self, path: str, *, limit: int = FILE_LIMIT, optional: bool = False
    ) -> Optional[bytes]:
        try:
            return read_regular(path, limit, self.budget)
        except MetadataError as error:
            self._failed(path, error, optional)
            return None

    def text(self, path: str, *, optional: bool = False) -> Optional[str]:
        data = self.read(path, optional=optional)
        return None if data is None else data.decode("utf-8", "replace")

    def headers(self, path: str, *, optional: bool = False) -> dict[str, list[str]]:
        """Headers of METADATA/WHEEL; reading stops after the blank line that ends them, so a
        long description is not read."""
        try:
            fd = _open_regular(path)
            try:
                data = b"".join(_chunks(fd, FILE_LIMIT, self.budget, stop=b"\n\n"))
            finally:
                os.close(fd)
        except MetadataError as error:
            self._failed(path, error, optional)
            return {}
        return self._parse(path, data)

    def _parse(self, where: str, data: bytes) -> dict[str, list[str]]:
        try:
            return parse_headers(data.decode("utf-8", "replace"))
        except Exception as error:  # the email parser on hostile input: a note, never a crash
            self.note(where, f"unreadable metadata: {type(error).__name__}")
            return {}

    def json(self, path: str, *, optional: bool = False, conda: bool = False) -> Any:
        data = self.read(path, limit=JSON_LIST_LIMIT if conda else FILE_LIMIT, optional=optional)
        if data is None:
            return None
        hook: Optional[Callable[[list[tuple[str, Any]]], dict[str, Any]]] = (
            _conda_hook if conda else None
        )
        try:
            return json.loads(data.decode("utf-8", "replace"), object_pairs_hook=hook)
        except (ValueError, RecursionError) as error:
            self.note(path, f"unreadable metadata: invalid JSON ({type(error).__name__})")
            return None

    def take(self, where: str, taken: int) -> bool:
        """Count one more path from a file list; False (and a note) when a budget is out."""
        if taken >= LIST_ENTRIES:
            self.note(where, f"lists more than {LIST_ENTRIES:,} paths; the rest not read")
            return False
        try:
            self.budget.take_entry()
        except MetadataError as error:
            self.note(where, str(error))
            return False
        return True

    def lines(self, path: str, *, optional: bool = False, ends: str = "") -> Iterator[str]:
        """The lines of a file list, streamed: never more than one line held. ``ends`` is
        put back at the end of each line (the CSV reader needs it for quoted newlines)."""
        try:
            fd = _open_regular(path)
        except MetadataError as error:
            self._failed(path, error, optional)
            return
        try:
            pending = b""
            for chunk in _chunks(fd, LIST_LIMIT, self.budget):
                pending += chunk
                *complete, pending = pending.split(b"\n")
                if len(pending) > LINE_LIMIT:
                    raise MetadataError(f"a line longer than {LINE_LIMIT:,} characters")
                for line in complete:
                    yield line.decode("utf-8", "replace").rstrip("\r") + ends
            if pending:
                yield pending.decode("utf-8", "replace").rstrip("\r") + ends
        except MetadataError as error:
            self.note(path, f"unreadable metadata: {error}; the rest not read")
        finally:
            os.close(fd)

    def record_rows(self, path: str) -> Iterator[list[str]]:
        """Every row of a RECORD (CSV) with a path, streamed and counted."""
        taken = 0
        try:
            for row in csv.reader(self.lines(path, ends="\n")):
                if row and row[0]:
                    if not self.take(path, taken):
                        return
                    taken += 1
                    yield row
        except csv.Error as error:
            self.note(path, f"unreadable metadata: {error}; the rest not read")

    def record_paths(self, path: str) -> Iterator[str]:
        """First column of every row of a RECORD (CSV), streamed and counted."""
        for row in self.record_rows(path):
            yield row[0]

    def listed_paths(self, path: str, *, optional: bool = False) -> Iterator[str]:
        """Non-blank lines of installed-files.txt, streamed and counted."""
        taken = 0
        for line in self.lines(path, optional=optional):
            if line.strip():
                if not self.take(path, taken):
                    return
                taken += 1
                yield line.strip()

    # -- zip members

    def member(
        self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str, limit: int = FILE_LIMIT
    ) -> Optional[bytes]:
        """A wheel member's bytes, at most ``limit`` decompressed, each counted."""
        try:
            return b"".join(_chunks(MemberStream(archive, info), limit, self.budget))
        except MetadataError as error:
            self.note(where, f"unreadable metadata: {error}")
        except BinaryReadError as error:
            self.note(where, f"unreadable metadata: {error}")
        except Exception as error:  # zlib.error, LZMAError, OSError... of a damaged archive
            self.note(where, f"unreadable metadata: {error or type(error).__name__}")
        return None

    def member_headers(
        self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str
    ) -> dict[str, list[str]]:
        data = self.member(archive, info, where)
        return {} if data is None else self._parse(where, data)

    def open_wheel(self, path: str) -> Optional[WheelFile]:
        """``path`` opened as a :class:`~..wheel.WheelFile` (bounded), or None and a note."""
        try:
            return WheelFile.open(path)
        except WheelError as error:
            cause = error.cause
            if isinstance(cause, OSError):
                missing = isinstance(cause, FileNotFoundError)
                text = "missing" if missing else _open_error_text(cause)
                self._failed(path, MetadataError(text), False)
            else:
                self.note(path, f"unreadable wheel: {str(error) or type(cause).__name__}")
            return None

    def wheel_dist_info(self, wheel: Union[str, WheelFile]) -> Optional[dict[str, bytes]]:
        """``{file name: bytes}`` of every file in a wheel's top-level ``.dist-info``
        folders (``RECORD`` up to :data:`LIST_LIMIT`, others up to :data:`FILE_LIMIT`), or
        None (and a note) when it cannot be opened or any of them cannot be read whole.
        A path is opened here (and closed); an opened wheel is read as it is.

        Checked before a wheel is installed or unpacked: tools that then read these files
        again (``installer``) read what was counted here, never a decompression bomb."""
        if isinstance(wheel, str):
            opened = self.open_wheel(wheel)
            if opened is None:
                return None
            with opened:
                return self.wheel_dist_info(opened)
        files: dict[str, bytes] = {}
        for info in wheel.dist_info_files():  # aliases of one member cost one read
            inner = info.filename.partition("/")[2]
            where = f"{wheel.path}: {info.filename}"
            limit = LIST_LIMIT if inner == "RECORD" else FILE_LIMIT
            data = self.member(wheel.archive, info, where, limit)
            if data is None:
                return None
            files[info.filename] = data
        return files

    def wheel_tags(self, wheel: Union[str, WheelFile]) -> Optional[tuple[str, ...]]:
        """The ``Tag`` values of a wheel's ``WHEEL`` file (empty if it has none), after
        :meth:`wheel_dist_info` checked every metadata file of the wheel; None if not."""
        files = self.wheel_dist_info(wheel)
        if files is None:
            return None
        path = wheel if isinstance(wheel, str) else wheel.path
        for name, data in sorted(files.items()):
            if name.endswith(".dist-info/WHEEL"):
                return tuple(self._parse(f"{path}: {name}", data).get("Tag", ()))
        return ()

    def wheel_meta(self, wheel: WheelFile) -> WheelMeta:
        """Name, version, tags and requirements from the wheel's dist-info; the file name
        fills whatever is missing. The first ``WHEEL`` and ``METADATA`` are read once each
        (bounded, whatever the compression); a broken dist-info is a note. Read once per
        opened wheel: a second call returns what the first read (its notes given again to
        another reader)."""
        if wheel.meta is not None:
            if wheel.meta_reader is not self:
                self.notes.extend(wheel.meta_notes)
            return wheel.meta
        before = len(self.notes)
        meta = self._wheel_meta(wheel)
        wheel.meta, wheel.meta_notes, wheel.meta_reader = meta, tuple(self.notes[before:]), self
        return meta

    def _wheel_meta(self, wheel: WheelFile) -> WheelMeta:
        path = wheel.path
        name = version = ""
        tags: tuple[str, ...] = ()
        parsed = wheel.parsed
        if parsed is not None:
            name, version, tags = parsed.name, parsed.version, parsed.tags
        file_name, file_version = name, version
        requires: tuple[str, ...] = ()
        members: dict[str, zipfile.ZipInfo] = {}
        copies: dict[str, set[int]] = {"WHEEL": set(), "METADATA": set()}
        for member in wheel.members():
            parts = member.filename.split("/")
            dist_info = len(parts) == 2 and parts[0].endswith(".dist-info")
            if dist_info and parts[1] in ("WHEEL", "METADATA"):
                members.setdefault(parts[1], member)
                copies[parts[1]].add(member.header_offset)
        ok = True
        # Two different copies: pip's zipfile reads the last, a first-wins reader the first,
        # so the culprit's name would depend on who reads. Neither copy is trusted.
        doubled = sorted(kind for kind, offsets in copies.items() if len(offsets) > 1)
        if doubled:
            self.note(path, f"unreadable metadata: more than one {' and '.join(doubled)} member")
            ok = False
        if "WHEEL" in members:
            where = f"{path}/{members['WHEEL'].filename}"
            headers = self.member_headers(wheel.archive, members["WHEEL"], where)
            found = tuple(headers.get("Tag", ()))
            if found:
                tags = found
        if "METADATA" in members:
            where = f"{path}/{members['METADATA'].filename}"
            headers = self.member_headers(wheel.archive, members["METADATA"], where)
            raw_name = (headers.get("Name") or [name])[0]
            raw_version = (headers.get("Version") or [version])[0]
            checked = checked_name(raw_name), checked_version(raw_version) if raw_version else ""
            if checked[0] is None or checked[1] is None:
                self.note(where, f"unreadable metadata: invalid Name {raw_name!r} or Version")
                ok = False
                name, version = raw_name, raw_version
            else:
                name, version = checked[0], checked[1]
                disagreement = _disagreement(file_name, file_version, name, version, members)
                if disagreement:
                    # pip refuses such a wheel; naming the other project in a fix would send
                    # the user to whatever the METADATA claims (a rename of the culprit).
                    self.note(where, f"unreadable metadata: {disagreement}")
                    ok = False
                    name, version = file_name, file_version
            requires = required_names(headers.get("Requires-Dist", ()))
        if not name:
            name = wheel.filename.split("-", 1)[0]
            ok = ok and checked_name(name) is not None
        return WheelMeta(name=name, version=version, tags=tags, requires=requires, metadata_ok=ok)


def _disagreement(
    file_name: str,
    file_version: str,
    name: str,
    version: str,
    members: dict[str, zipfile.ZipInfo],
) -> str:
    """Why the wheel's file name, its dist-info directory and its METADATA do not name the
    same release (as pip checks before installing), or "" when they do."""
    if file_name and canonicalize_name(name) != canonicalize_name(file_name):
        return f"METADATA names {name!r}, the wheel file {file_name!r}"
    if file_version and version and Version(file_version) != Version(version):
        return f"METADATA says version {version!r}, the wheel file {file_version!r}"
    for member in members.values():
        directory = member.filename.split("/", 1)[0][: -len(".dist-info")]
        dir_name = directory.rsplit("-", 1)[0] if "-" in directory else directory
        if canonicalize_name(dir_name) != canonicalize_name(name):
            return f"the dist-info directory {directory!r} does not name {name!r}"
    return ""
