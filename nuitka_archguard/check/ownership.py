"""Who installed a file, and who needs it.

A finding that says "this .so lacks x86_64" is half an answer; users fix *distributions*.
This module maps an absolute file path to the pip distribution (``RECORD``), conda package
(``conda-meta/*.json``) or Homebrew formula (``Cellar/<formula>/<version>/``) that put it
there, and answers "who requires it" from ``Requires-Dist`` (cffi: needed by cryptography).

Everything is lazy and forgiving: an environment is indexed only when a path inside it is
asked about, each ``RECORD`` is read once, and broken metadata is skipped (with a note),
never raised. Every file is read through :mod:`.metadata` (bounded, regular files only).

**Trust boundary.** Metadata is read only from the PATHs given to :meth:`OwnershipIndex.for_paths`
(and directories under them), and from an environment's own layout around a site directory:
``<prefix>/lib/pythonX.Y/site-packages`` (or ``<prefix>/Lib/site-packages``) and that
``<prefix>``'s ``conda-meta``. A ``conda-meta`` or ``site-packages`` in some other ancestor
(a shared temporary directory, say) is never read: whoever can write there could otherwise
rename the culprit of a finding and the fix printed for it.

**Built from source** (``Distribution.built_from_source``) is true when the install did not
come from a published binary wheel, as far as the metadata can tell:

- ``direct_url.json`` says ``dir_info`` (a local directory, editable or not) or ``vcs_info``,
  or ``archive_info`` with a URL that is not a ``.whl`` (an sdist);
- there is no ``WHEEL`` file or it has no ``Tag:`` line (legacy ``setup.py install``, eggs);
- every platform tag is a plain ``linux_<arch>`` tag: PyPI refuses those, so the wheel was
  built on this machine (a local macOS or Windows build cannot be told from a published one);
- Homebrew: ``INSTALL_RECEIPT.json`` says ``poured_from_bottle: false``.
"""

from __future__ import annotations

import enum
import os
import re
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from packaging.tags import parse_tag
from packaging.utils import (
    canonicalize_name,
)

from ..binaries.source import os_error_text
from .metadata import MetadataReader, checked_name, checked_version, required_names

PathLike = Union[str, "os.PathLike[str]"]

_SITE_DIR_NAMES = frozenset({"site-packages", "dist-packages"})
_HOMEBREW_PREFIXES = ("/opt/homebrew", "/usr/local", "/home/linuxbrew/.linuxbrew")
_CONDA_TEXT = re.compile(r"^[A-Za-z0-9_.+!-]{1,100}\Z")
_EXTENSION_MODULE = re.compile(
    r"^(?P<module>[A-Za-z_][A-Za-z0-9_]*)(\.(cpython|cp|pypy|graalpy|abi)[^.]*)?\.(so|pyd)\Z"
)


class OwnerKind(str, enum.Enum):
    PIP = "pip"
    CONDA = "conda"
    HOMEBREW = "homebrew"
    DIRECTORY = "directory"


@dataclass(frozen=True)
class Distribution:
    """What installed a file. ``version`` is ``None`` for the ``directory`` fallback.

    ``location`` (extra, for advice): the ``.dist-info`` directory (pip), the environment
    prefix (conda), the Homebrew prefix such as ``/opt/homebrew`` (homebrew), or the
    top-level directory (directory).
    """

    name: str
    version: Optional[str]
    kind: str = OwnerKind.PIP.value
    installer: Optional[str] = None
    wheel_tags: tuple[str, ...] = ()
    built_from_source: bool = False
    channel: Optional[str] = None
    subdir: Optional[str] = None
    requires: tuple[str, ...] = ()
    location: Optional[str] = field(default=None, compare=False)
    metadata_ok: bool = True
    """False when the metadata named it with an invalid name or version: such a distribution
    is reported as unreadable metadata and no command is ever built from it."""

    @property
    def wheel_tag(self) -> Optional[str]:
        """The tag to show: the first platform-specific one, else the first one."""
        for tag in self.wheel_tags:
            if not tag.endswith("-any"):
                return tag
        return self.wheel_tags[0] if self.wheel_tags else None

    @property
    def platform_tags(self) -> tuple[str, ...]:
        """The platform parts of ``wheel_tags`` (``macosx_11_0_arm64``), each once."""
        return tuple(dict.fromkeys(tag.rsplit("-", 1)[-1] for tag in self.wheel_tags))

    @property
    def canonical_name(self) -> str:
        return canonicalize_name(self.name)

    @property
    def requirement(self) -> str:
        """``NAME==VERSION`` for pip commands (just the name without a version)."""
        return f"{self.name}=={self.version}" if self.version else self.name

    def describe(self) -> str:
        """``cffi 1.17.1 (pip, wheel cp311-cp311-macosx_11_0_arm64)`` for messages."""
        head = f"{self.name} {self.version}" if self.version else self.name
        if self.kind == OwnerKind.PIP:
            detail = f"wheel {self.wheel_tag}" if self.wheel_tag else "pip"
            if self.built_from_source:
                detail += ", built from source"
            return f"{head} ({detail})"
        if self.kind == OwnerKind.CONDA:
            where = "/".join(x for x in (self.channel, self.subdir) if x)
            return f"{head} (conda{', ' + where if where else ''})"
        if self.kind == OwnerKind.HOMEBREW:
            return f"{head} (Homebrew formula)"
        return f"{head} (directory, no package metadata)"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "installer": self.installer,
            "wheel_tags": list(self.wheel_tags),
            "built_from_source": self.built_from_source,
            "kind": self.kind,
        }
        if self.kind == OwnerKind.CONDA:
            data["channel"] = self.channel
            data["subdir"] = self.subdir
        return data

    def __str__(self) -> str:
        return f"{self.name} {self.version}" if self.version else self.name


def owner_of_in_tree(path: PathLike, root: PathLike) -> Optional[Distribution]:
    """Fallback owner for a ``.dist`` folder or ``.app`` bundle, which keep no metadata: the
    top-level package directory under ``root`` (inside an ``.app``: under ``Contents/MacOS``,
    ``Contents/Frameworks``, ``Contents/Resources``…). ``numpy.libs`` counts as ``numpy``; an
    extension module at the top is named by its module (``_cffi_backend``)."""
    base, full = os.path.abspath(root), os.path.abspath(path)
    inside = base.rstrip(os.sep) + os.sep
    if full.startswith(inside):  # the common case, without relpath's own abspath and split
        rel = full[len(inside) :]
    else:
        try:
            rel = os.path.relpath(full, base)
        except ValueError:  # another drive on Windows
            return None
    parts = [p for p in rel.replace("\\", "/").split("/") if p and p != "."]
    if not parts or parts[0] == "..":
        return None
    bundle: Optional[list[str]] = None
    if base.lower().endswith(".app"):
        bundle = parts
    elif len(parts) > 1 and parts[0].lower().endswith(".app"):
        base, bundle = os.path.join(base, parts[0]), parts[1:]
    if bundle is not None:
        # Contents/MacOS/<top>, Contents/Frameworks/<top>, Contents/Resources/<top>...
        skip = (2 if len(bundle) >= 3 else 1) if bundle[:1] == ["Contents"] else 0
        base, parts = os.path.join(base, *bundle[:skip]), bundle[skip:]
    if not parts:
        return None
    top = parts[0]
    if len(parts) == 1:
        match = _EXTENSION_MODULE.match(top)
        name = match.group("module") if match else top
    else:
        name = top[: -len(".libs")] if top.endswith(".libs") and len(top) > 5 else top
    location = os.path.join(base, top)
    return Distribution(name, None, OwnerKind.DIRECTORY.value, location=location)


def homebrew_owner(
    path: PathLike,
    reader: Optional[MetadataReader] = None,
    trusted: Optional[Sequence[str]] = None,
) -> Optional[Distribution]:
    """``<prefix>/Cellar/<formula>/<version>/…`` (after resolving symlinks such as
    ``/opt/homebrew/lib/libssl.dylib``) names a Homebrew formula. A prefix other than
    Homebrew's own three counts only with a ``bin/brew`` and, when ``trusted`` is given,
    only inside one of those directories (the trust boundary in the module docstring)."""
    return _homebrew_owner_at(os.path.realpath(os.fspath(path)), reader, trusted)


def _homebrew_owner_at(
    real: str, reader: Optional[MetadataReader], trusted: Optional[Sequence[str]]
) -> Optional[Distribution]:
    """:func:`homebrew_owner` of a path already resolved."""
    real = real.replace("\\", "/")
    marker = "/Cellar/"
    index = real.find(marker)
    while index >= 0:
        prefix = real[:index]
        rest = real[index + len(marker) :].split("/")
        if len(rest) >= 3 and rest[0] and rest[1] and _is_homebrew_prefix(prefix, trusted):
            receipt = (reader or MetadataReader()).json(
                os.path.join(prefix, "Cellar", rest[0], rest[1], _RECEIPT), optional=True
            )
            from_source = isinstance(receipt, dict) and receipt.get("poured_from_bottle") is False
            requires: tuple[str, ...] = ()
            if isinstance(receipt, dict):
                deps = receipt.get("runtime_dependencies")
                if isinstance(deps, list):
                    requires = tuple(
                        str(d["full_name"])
                        for d in deps
                        if isinstance(d, dict) and "full_name" in d
                    )
            return Distribution(
                rest[0],
                rest[1],
                OwnerKind.HOMEBREW.value,
                metadata_ok=bool(_CONDA_TEXT.match(rest[0]) and _CONDA_TEXT.match(rest[1])),
                installer="homebrew",
                built_from_source=from_source,
                requires=requires,
                location=prefix,
            )
        index = real.find(marker, index + 1)
    return None


_RECEIPT = "INSTALL_RECEIPT.json"


def _is_homebrew_prefix(prefix: str, trusted: Optional[Sequence[str]] = None) -> bool:
    if prefix in _HOMEBREW_PREFIXES:
        return True
    if trusted is not None and not any(_is_within(_key(prefix), t) for t in trusted):
        return False
    return os.path.isfile(os.path.join(prefix, "bin", "brew"))


class _PipRecord:
    """One ``.dist-info`` / ``.egg-info`` directory; its Distribution is built on demand."""

    __slots__ = ("_dist", "path")

    def __init__(self, path: str) -> None:
        self.path = path
        self._dist: Optional[Distribution] = None

    def distribution(self, reader: MetadataReader) -> Distribution:
        if self._dist is None:
            self._dist = _read_pip_distribution(self.path, reader)
        return self._dist


class _Scope:
    """An indexed place: a pip site directory or a conda prefix. ``files`` maps normalized
    absolute paths to an owner; filled on first use."""

    __slots__ = ("conda", "files", "indexed", "root", "scope")

    def __init__(self, root: str, scope: str, conda: bool) -> None:
        self.root = root
        self.scope = scope
        self.conda = conda
        self.indexed = False
        self.files: dict[str, Union[_PipRecord, Distribution]] = {}


class OwnershipIndex:
    """Maps files to the distributions that installed them, for a set of environments.

    Cheap to build: :meth:`for_paths` only finds site directories and conda prefixes; each
    is read on the first question about a path inside it. Paths outside every known place
    are looked up from their ancestors (a ``site-packages`` or a prefix with
    ``conda-meta``), so the index also works when it was given nothing. Never raises for
    bad metadata; ``notes`` collects what was skipped.
    """

    def __init__(self, reader: Optional[MetadataReader] = None) -> None:
        self.reader = reader if reader is not None else MetadataReader()
        self._trusted: list[str] = []
        self._scopes: dict[str, _Scope] = {}
        self._checked_dirs: set[str] = set()
        self._requires: Optional[dict[str, tuple[str, ...]]] = None
        self._needed_by: dict[str, tuple[str, ...]] = {}
        """:meth:`needed_by`'s answers by canonical name: a scan asks for the distribution of
        every finding, and each answer goes through every known distribution's requirements.
        Made again with ``_requires`` (an environment added drops both)."""
        self._records: dict[str, list[_PipRecord]] = {}
        self._conda: dict[str, list[tuple[Distribution, list[str]]]] = {}
        self._real_dirs: dict[str, str] = {}

    @property
    def notes(self) -> list[str]:
        """What was skipped (one line each): the reader's notes."""
        return self.reader.notes

    @classmethod
    def for_paths(
        cls, paths: Iterable[PathLike] = (), reader: Optional[MetadataReader] = None
    ) -> OwnershipIndex:
        """Index for scan paths or ``sys.path`` entries: virtualenvs and prefixes,
        site-packages directories, ``pip --target`` directories, conda environments, or
        anything inside them. Paths that hold no metadata are simply ignored. Only these
        paths are trusted (see the module docstring)."""
        index = cls(reader)
        for path in paths:
            index.add_path(path)
        return index

    def add_path(self, path: PathLike) -> None:
        """Make the environments at or around ``path`` known (nothing is read yet)."""
        try:
            real = os.path.realpath(os.fspath(path))
        except (TypeError, ValueError, OSError):
            return
        self._trusted.append(_key(real))
        if os.path.isdir(real):
            self._add_prefix(real)
            if os.path.basename(real) in _SITE_DIR_NAMES or _has_dist_info(real):
                self._add_pip_root(real)
        self._discover_from(real)

    def owner_of(self, path: PathLike) -> Optional[Distribution]:
        """The pip distribution, conda package or Homebrew formula that installed ``path``,
        or ``None``. Conda wins over pip when both list a file (conda is the installer)."""
        try:
            raw = os.fspath(path)
            real, is_dir = self._resolve(raw)
            # Each key once, the real one first, with what its lstat told of it.
            candidates = {_key(real): is_dir}
            candidates.setdefault(_key(os.path.abspath(raw)), None)
        except (TypeError, ValueError, OSError):
            return None
        for key, known_dir in candidates.items():
            found = self._lookup(key, known_dir)
            if found is not None:
                return found
        try:
            return _homebrew_owner_at(real, self.reader, self._trusted)
        except (OSError, ValueError):
            return None

    def _resolve(self, raw: str) -> tuple[str, Optional[bool]]:
        """``os.path.realpath(raw)``, each folder resolved once (a scan asks for hundreds of
        files in a few folders, and realpath costs an lstat per component of every path),
        and whether it is a directory when the lstat of the file itself told (else None)."""
        folder, name = os.path.split(os.path.abspath(raw))
        if not name or ".." in raw:  # ".." after a symlink: only realpath resolves it right
            return os.path.realpath(raw), None
        return _resolved_in(self._real_folder(folder), name)

    def _real_folder(self, folder: str) -> str:
        """``os.path.realpath(folder)`` of an absolute folder without ``..``, worked out from
        its parent's (cached too): one lstat per new folder, not one per component of it."""
        unresolved: list[tuple[str, str]] = []
        real = self._real_dirs.get(folder)
        while real is None:
            parent, name = os.path.split(folder)
            if not name:  # the file system's root
                real = self._real_dirs[folder] = os.path.realpath(folder)
                break
            unresolved.append((folder, name))
            folder = parent
            real = self._real_dirs.get(folder)
        for folder, name in reversed(unresolved):
            real = self._real_dirs[folder] = _resolved_in(real, name)[0]
        return real

    def needed_by(self, dist_name: str) -> tuple[str, ...]:
        """Names of the known distributions whose ``Requires-Dist`` (without an ``extra``
        marker) or conda ``depends`` names ``dist_name``, sorted."""
        wanted = canonicalize_name(dist_name)
        if self._requires is None:
            self._requires = self._collect_requires()
            self._needed_by = {}
        needed = self._needed_by.get(wanted)
        if needed is None:
            needed = tuple(sorted(n for n, reqs in self._requires.items() if wanted in reqs))
            self._needed_by[wanted] = needed
        return needed

    def distributions(self) -> tuple[Distribution, ...]:
        """Every pip and conda distribution in the known environments."""
        return tuple(self._iter_distributions())

    def get(self, name: str) -> Optional[Distribution]:
        """A known distribution by (any spelling of) its name."""
        wanted = canonicalize_name(name)
        for dist in self._iter_distributions():
            if dist.canonical_name == wanted:
                return dist
        return None

    # -- internals ------------------------------------------------------------------------

    def _lookup(self, key: str, is_dir: Optional[bool] = None) -> Optional[Distribution]:
        self._discover_from(key, is_dir)
        hits: list[Distribution] = []
        for scope in self._scopes.values():
            if not _is_within(key, scope.scope):
                continue
            if not scope.indexed:
                self._index(scope)
            owner = scope.files.get(key)
            if owner is None:
                continue
            dist = owner if isinstance(owner, Distribution) else owner.distribution(self.reader)
            if scope.conda:
                return dist
            hits.append(dist)
        return hits[0] if hits else None

    def _discover_from(self, key: str, is_dir: Optional[bool] = None) -> None:
        """Find site directories and conda prefixes among the ancestors of a path: a
        ``conda-meta`` only inside a trusted PATH or at the prefix of a site directory's
        own layout (the trust boundary in the module docstring). ``is_dir``: whether the
        path is a directory, when the caller knows (None: looked up here)."""
        if is_dir is None:
            is_dir = os.path.isdir(key)
        current = key if is_dir else os.path.dirname(key)
        while current and current not in self._checked_dirs:
            self._checked_dirs.add(current)
            base = os.path.basename(current)
            if base in _SITE_DIR_NAMES and os.path.isdir(current):
                self._add_pip_root(current)
                prefix = _pip_scope(_key(current))
                if prefix != _key(current) and os.path.isdir(os.path.join(prefix, "conda-meta")):
                    self._add_conda(prefix)
            trusted = any(_is_within(_key(current), t) for t in self._trusted)
            if trusted and os.path.isdir(os.path.join(current, "conda-meta")):
                self._add_conda(current)
            parent = os.path.dirname(current)
            if parent == current:
                break
            current = parent

    def _add_prefix(self, prefix: str) -> None:
        """A virtualenv, conda environment or installation prefix."""
        if os.path.isdir(os.path.join(prefix, "conda-meta")):
            self._add_conda(prefix)
        for lib in ("lib", "lib64", "Lib", os.path.join("local", "lib")):
            lib_dir = os.path.join(prefix, lib)
            for site in _site_dirs_under(lib_dir):
                self._add_pip_root(site)

    def _add_pip_root(self, root: str) -> None:
        key = _key(root)
        if key not in self._scopes:
            self._scopes[key] = _Scope(root, _pip_scope(key), conda=False)
            self._requires = None

    def _add_conda(self, prefix: str) -> None:
        key = _key(prefix) + "\0conda"
        if key not in self._scopes:
            self._scopes[key] = _Scope(prefix, _key(prefix), conda=True)
            self._requires = None

    def _index(self, scope: _Scope) -> None:
        scope.indexed = True
        if scope.conda:
            for dist, files in self._conda_packages(scope.root):
                for rel in files:
                    scope.files.setdefault(_key(os.path.join(scope.root, rel)), dist)
            return
        root = _key(scope.root)
        for record in self._pip_records(scope.root):
            for path in _record_files(record.path, scope.root, self.reader):
                held = scope.files.setdefault(path, record)
                # Two RECORDs list one file: the first in name order no longer wins
                # outright, or any package could claim numpy's files (and the fix printed
                # for them) by sorting before it. The distribution the file's top-level
                # package is named for keeps it.
                if (
                    held is not record
                    and _named_for(record, path, root)
                    and not (isinstance(held, _PipRecord) and _named_for(held, path, root))
                ):
                    scope.files[path] = record

    def _iter_distributions(self) -> Iterator[Distribution]:
        seen: set[str] = set()
        for scope in list(self._scopes.values()):
            if scope.conda:
                for dist, _files in self._conda_packages(scope.root):
                    if dist.canonical_name not in seen:
                        seen.add(dist.canonical_name)
                        yield dist
                continue
            for record in self._pip_records(scope.root):
                dist = record.distribution(self.reader)
                if dist.canonical_name not in seen:
                    seen.add(dist.canonical_name)
                    yield dist

    def _pip_records(self, root: str) -> list[_PipRecord]:
        records = self._records.get(root)
        if records is None:
            records = self._records[root] = _list_pip_records(root, self.reader)
        return records

    def _conda_packages(self, prefix: str) -> list[tuple[Distribution, list[str]]]:
        packages = self._conda.get(prefix)
        if packages is None:
            packages = self._conda[prefix] = list(_read_conda(prefix, self.reader))
        return packages

    def _collect_requires(self) -> dict[str, tuple[str, ...]]:
        result: dict[str, tuple[str, ...]] = {}
        for dist in self._iter_distributions():
            result.setdefault(dist.name, dist.requires)
        return result


# -- pip ------------------------------------------------------------------------------------


def _resolved_in(real_folder: str, name: str) -> tuple[str, Optional[bool]]:
    """``os.path.realpath`` of ``name`` inside a folder already resolved (itself unless it
    is a symlink), and whether it is a directory, from the same lstat: None for a symlink,
    whose target is not looked at here."""
    joined = os.path.join(real_folder, name)
    try:
        mode = os.lstat(joined).st_mode
    except (OSError, ValueError):  # as os.path.islink and os.path.isdir say: neither
        return joined, False
    if stat.S_ISLNK(mode):
        return os.path.realpath(joined), None
    return joined, stat.S_ISDIR(mode)


def _key(path: str) -> str:
    return os.path.normcase(os.path.normpath(path))


def _is_within(key: str, scope: str) -> bool:
    return key == scope or key.startswith(scope.rstrip(os.sep) + os.sep)


def _pip_scope(site_key: str) -> str:
    """Files of a site directory's distributions may live up to the prefix
    (``../../../bin/tool`` in RECORD): ``<prefix>/lib/python3.11/site-packages`` and
    ``<prefix>/Lib/site-packages`` scope to the prefix; a ``--target`` dir to itself."""
    parts = site_key.split(os.sep)
    if os.path.basename(site_key) in _SITE_DIR_NAMES and len(parts) >= 3:
        up = 3 if parts[-2].lower().startswith("python") else 2
        return os.sep.join(parts[:-up]) or os.sep
    return site_key


def _site_dirs_under(lib_dir: str) -> list[str]:
    found: list[str] = []
    try:
        entries = sorted(os.listdir(lib_dir))
    except OSError:
        return found
    for entry in entries:
        if entry in _SITE_DIR_NAMES:
            found.append(os.path.join(lib_dir, entry))
        elif entry.startswith("python"):
            for site in _SITE_DIR_NAMES:
                candidate = os.path.join(lib_dir, entry, site)
                if os.path.isdir(candidate):
                    found.append(candidate)
    return found


def _has_dist_info(directory: str) -> bool:
    try:
        with os.scandir(directory) as entries:
            return any(e.name.endswith((".dist-info", ".egg-info")) for e in entries)
    except OSError:
        return False


def _list_pip_records(root: str, reader: MetadataReader) -> list[_PipRecord]:
    try:
        with os.scandir(root) as entries:
            names = sorted(e.name for e in entries if e.name.endswith((".dist-info", ".egg-info")))
    except OSError as exc:
        reader.note(root, f"not listed: {os_error_text(exc)}")
        return []
    return [_PipRecord(os.path.join(root, name)) for name in names]


def _named_for(record: _PipRecord, path: str, root: str) -> bool:
    """Whether ``path`` lies in a top-level directory of ``root`` named like ``record``'s
    distribution (``numpy/...`` and ``numpy-1.26.4.dist-info``)."""
    if not path.startswith(root + os.sep):
        return False
    top = path[len(root) + 1 :].split(os.sep, 1)
    if len(top) < 2:
        return False
    dist_name = os.path.basename(record.path).split("-", 1)[0]
    return canonicalize_name(top[0]) == canonicalize_name(dist_name)


def _record_files(meta_dir: str, root: str, reader: MetadataReader) -> Iterator[str]:
    """Normalized absolute paths listed by a RECORD (or an egg's installed-files.txt),
    streamed."""
    if meta_dir.endswith(".egg-info"):
        listing = os.path.join(meta_dir, "installed-files.txt")
        for line in reader.listed_paths(listing, optional=True):
            yield _key(os.path.join(meta_dir, line))
        return
    for row in reader.record_paths(os.path.join(meta_dir, "RECORD")):
        yield _key(os.path.join(root, row))


def _read_pip_distribution(meta_dir: str, reader: MetadataReader) -> Distribution:
    stem = os.path.basename(meta_dir).rsplit(".", 1)[0]
    dir_name, _, dir_version = stem.partition("-")
    egg = meta_dir.endswith(".egg-info")
    metadata = os.path.join(meta_dir, "PKG-INFO" if egg else "METADATA")
    headers = reader.headers(metadata)
    dir_version = dir_version.split("-")[0]
    raw_name = (headers.get("Name") or [""])[0] or dir_name
    raw_version = (headers.get("Version") or [""])[0] or dir_version
    name, version = checked_name(raw_name), checked_version(raw_version) if raw_version else ""
    ok = name is not None and version is not None
    if not ok:
        reader.note(metadata, f"unreadable metadata: invalid Name {raw_name!r} or Version")
    requires = required_names(headers.get("Requires-Dist", []))
    if egg:
        text = reader.text(os.path.join(meta_dir, "requires.txt"), optional=True) or ""
        requires = required_names(text.split("\n[", 1)[0].splitlines())
        installer = "setuptools"
        tags: tuple[str, ...] = ()
    else:
        text = reader.text(os.path.join(meta_dir, "INSTALLER"), optional=True) or ""
        installer = text.strip().split("\n", 1)[0].strip()
        if installer and checked_name(installer) is None:
            installer = ""
        wheel = reader.headers(os.path.join(meta_dir, "WHEEL"), optional=True)
        tags = _expand_tags(wheel.get("Tag", []))
    return Distribution(
        name=name or raw_name,
        version=(version if ok else raw_version) or None,
        kind=OwnerKind.PIP.value,
        installer=installer or None,
        wheel_tags=tags,
        built_from_source=egg or _built_from_source(meta_dir, tags, reader),
        requires=requires,
        location=meta_dir,
        metadata_ok=ok,
    )


def _built_from_source(meta_dir: str, tags: tuple[str, ...], reader: MetadataReader) -> bool:
    direct = reader.json(os.path.join(meta_dir, "direct_url.json"), optional=True)
    if isinstance(direct, dict):
        if "dir_info" in direct or "vcs_info" in direct:
            return True
        url = str(direct.get("url", ""))
        if "archive_info" in direct and not url.lower().split("#", 1)[0].endswith(".whl"):
            return True
    if not tags:
        return True
    platforms = {tag.rsplit("-", 1)[-1] for tag in tags}
    return all(p.startswith("linux_") for p in platforms)


def _expand_tags(values: list[str]) -> tuple[str, ...]:
    tags: list[str] = []
    for value in values:
        try:
            tags.extend(sorted(str(t) for t in parse_tag(value.strip())))
        except ValueError:
            continue
    return tuple(dict.fromkeys(tags))


# -- conda ----------------------------------------------------------------------------------


def _read_conda(prefix: str, reader: MetadataReader) -> Iterator[tuple[Distribution, list[str]]]:
    meta = os.path.join(prefix, "conda-meta")
    try:
        names = sorted(n for n in os.listdir(meta) if n.endswith(".json"))
    except OSError as exc:
        reader.note(meta, f"not listed: {os_error_text(exc)}")
        return
    for entry in names:
        where = os.path.join(meta, entry)
        data = reader.json(where, conda=True)
        if data is None:
            continue
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            reader.note(where, "not a conda package record, skipped")
            continue
        files = data.get("files")
        paths: list[str] = []
        for item in files if isinstance(files, list) else ():
            if isinstance(item, str):
                if not reader.take(where, len(paths)):
                    break
                paths.append(item)
        subdir = data.get("subdir")
        channel = _short_channel(data.get("channel"), subdir)
        depends = data.get("depends")
        requires = (
            required_names(str(d).split()[0] for d in depends if isinstance(d, str) and d.strip())
            if isinstance(depends, list)
            else ()
        )
        name = str(data["name"])
        version = str(data["version"]) if data.get("version") is not None else None
        ok = bool(_CONDA_TEXT.match(name)) and (version is None or bool(_CONDA_TEXT.match(version)))
        if not ok:
            reader.note(where, f"unreadable metadata: invalid name or version {name!r} {version!r}")
        channel_ok = channel is None or bool(_CONDA_TEXT.match(channel.replace("/", "")))
        dist = Distribution(
            name=name,
            version=version,
            metadata_ok=ok and channel_ok,
            kind=OwnerKind.CONDA.value,
            installer="conda",
            channel=channel,
            subdir=str(subdir) if subdir else _subdir_from_url(data.get("url")),
            requires=requires,
            location=prefix,
        )
        yield dist, paths


def _short_channel(channel: Any, subdir: Any) -> Optional[str]:
    """``https://conda.anaconda.org/conda-forge/osx-arm64`` -> ``conda-forge``."""
    if not isinstance(channel, str) or not channel:
        return None
    if "://" not in channel:
        return channel
    parts = [p for p in channel.split("://", 1)[1].split("/")[1:] if p]
    if parts and (parts[-1] == subdir or parts[-1] == "noarch"):
        parts = parts[:-1]
    return parts[-1] if parts else channel


def _subdir_from_url(url: Any) -> Optional[str]:
    if isinstance(url, str) and url.count("/") >= 2:
        return url.rsplit("/", 2)[-2] or None
    return None
