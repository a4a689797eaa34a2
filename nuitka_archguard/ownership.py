"""Who installed a file, and who needs it.

A finding that says "this .so lacks x86_64" is half an answer; users fix *distributions*.
This module maps an absolute file path to the pip distribution (``RECORD``), conda package
(``conda-meta/*.json``) or Homebrew formula (``Cellar/<formula>/<version>/``) that put it
there, and answers "who requires it" from ``Requires-Dist`` (cffi: needed by cryptography).

Everything is lazy and forgiving: an environment is indexed only when a path inside it is
asked about, each ``RECORD`` is read once, and broken metadata is skipped (with a note),
never raised.

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

import csv
import enum
import io
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from email.parser import HeaderParser
from typing import Any, Optional, Union

from packaging.requirements import InvalidRequirement, Requirement
from packaging.tags import parse_tag
from packaging.utils import (
    InvalidWheelFilename,
    canonicalize_name,
    parse_wheel_filename,
)

from .binaries.source import os_error_text

PathLike = Union[str, "os.PathLike[str]"]

# Metadata files are small; anything bigger is not what it claims to be.
_MAX_METADATA_BYTES = 4 * 1024 * 1024
_MAX_RECORD_BYTES = 64 * 1024 * 1024
_SITE_DIR_NAMES = frozenset({"site-packages", "dist-packages"})
_HOMEBREW_PREFIXES = ("/opt/homebrew", "/usr/local", "/home/linuxbrew/.linuxbrew")
_EXTRA_MARKER = re.compile(r"\bextra\b")
_NAME_AT_START = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_EXTENSION_MODULE = re.compile(
    r"^(?P<module>[A-Za-z_][A-Za-z0-9_]*)(\.(cpython|cp|pypy|graalpy|abi)[^.]*)?\.(so|pyd)$"
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


def wheel_distribution(filename: str) -> Optional[Distribution]:
    """The distribution a ``.whl`` file name describes (for scanning wheels in place)."""
    try:
        name, version, _build, tags = parse_wheel_filename(os.path.basename(filename))
    except (InvalidWheelFilename, ValueError):
        return None
    ordered = sorted(str(tag) for tag in tags)
    return Distribution(str(name), str(version), OwnerKind.PIP.value, None, tuple(ordered))


def owner_of_in_tree(path: PathLike, root: PathLike) -> Optional[Distribution]:
    """Fallback owner for a ``.dist`` folder or ``.app`` bundle, which keep no metadata: the
    top-level package directory under ``root`` (inside an ``.app``: under ``Contents/MacOS``,
    ``Contents/Frameworks``, ``Contents/Resources``…). ``numpy.libs`` counts as ``numpy``; an
    extension module at the top is named by its module (``_cffi_backend``)."""
    try:
        rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    except ValueError:  # another drive on Windows
        return None
    parts = [p for p in rel.replace("\\", "/").split("/") if p and p != "."]
    if not parts or parts[0] == "..":
        return None
    base = os.path.abspath(root)
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


def homebrew_owner(path: PathLike) -> Optional[Distribution]:
    """``<prefix>/Cellar/<formula>/<version>/…`` (after resolving symlinks such as
    ``/opt/homebrew/lib/libssl.dylib``) names a Homebrew formula."""
    real = os.path.realpath(os.fspath(path)).replace("\\", "/")
    marker = "/Cellar/"
    index = real.find(marker)
    while index >= 0:
        prefix = real[:index]
        rest = real[index + len(marker) :].split("/")
        if len(rest) >= 3 and rest[0] and rest[1] and _is_homebrew_prefix(prefix):
            receipt = _read_json(os.path.join(prefix, "Cellar", rest[0], rest[1], _RECEIPT))
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
                installer="homebrew",
                built_from_source=from_source,
                requires=requires,
                location=prefix,
            )
        index = real.find(marker, index + 1)
    return None


_RECEIPT = "INSTALL_RECEIPT.json"


def _is_homebrew_prefix(prefix: str) -> bool:
    if prefix in _HOMEBREW_PREFIXES:
        return True
    return os.path.isfile(os.path.join(prefix, "bin", "brew"))


class _PipRecord:
    """One ``.dist-info`` / ``.egg-info`` directory; its Distribution is built on demand."""

    __slots__ = ("_dist", "path")

    def __init__(self, path: str) -> None:
        self.path = path
        self._dist: Optional[Distribution] = None

    def distribution(self, notes: list[str]) -> Distribution:
        if self._dist is None:
            self._dist = _read_pip_distribution(self.path, notes)
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

    def __init__(self) -> None:
        self.notes: list[str] = []
        self._scopes: dict[str, _Scope] = {}
        self._checked_dirs: set[str] = set()
        self._requires: Optional[dict[str, tuple[str, ...]]] = None
        self._records: dict[str, list[_PipRecord]] = {}
        self._conda: dict[str, list[tuple[Distribution, list[str]]]] = {}

    @classmethod
    def for_paths(cls, paths: Iterable[PathLike] = ()) -> OwnershipIndex:
        """Index for scan paths or ``sys.path`` entries: virtualenvs and prefixes,
        site-packages directories, ``pip --target`` directories, conda environments, or
        anything inside them. Paths that hold no metadata are simply ignored."""
        index = cls()
        for path in paths:
            index.add_path(path)
        return index

    def add_path(self, path: PathLike) -> None:
        """Make the environments at or around ``path`` known (nothing is read yet)."""
        try:
            real = os.path.realpath(os.fspath(path))
        except (TypeError, ValueError, OSError):
            return
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
            candidates = dict.fromkeys((_key(os.path.realpath(raw)), _key(os.path.abspath(raw))))
        except (TypeError, ValueError, OSError):
            return None
        for key in candidates:
            found = self._lookup(key)
            if found is not None:
                return found
        try:
            return homebrew_owner(raw)
        except (OSError, ValueError):
            return None

    def needed_by(self, dist_name: str) -> tuple[str, ...]:
        """Names of the known distributions whose ``Requires-Dist`` (without an ``extra``
        marker) or conda ``depends`` names ``dist_name``, sorted."""
        wanted = canonicalize_name(dist_name)
        if self._requires is None:
            self._requires = self._collect_requires()
        return tuple(sorted(n for n, reqs in self._requires.items() if wanted in reqs))

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

    def _lookup(self, key: str) -> Optional[Distribution]:
        self._discover_from(key)
        hits: list[Distribution] = []
        for scope in self._scopes.values():
            if not _is_within(key, scope.scope):
                continue
            if not scope.indexed:
                self._index(scope)
            owner = scope.files.get(key)
            if owner is None:
                continue
            dist = owner if isinstance(owner, Distribution) else owner.distribution(self.notes)
            if scope.conda:
                return dist
            hits.append(dist)
        return hits[0] if hits else None

    def _discover_from(self, key: str) -> None:
        """Find site directories and conda prefixes among the ancestors of a path."""
        current = os.path.dirname(key) if not os.path.isdir(key) else key
        while current and current not in self._checked_dirs:
            self._checked_dirs.add(current)
            base = os.path.basename(current)
            if base in _SITE_DIR_NAMES and os.path.isdir(current):
                self._add_pip_root(current)
            if os.path.isdir(os.path.join(current, "conda-meta")):
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
        for record in self._pip_records(scope.root):
            for path in _record_files(record.path, scope.root, self.notes):
                scope.files.setdefault(path, record)

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
                dist = record.distribution(self.notes)
                if dist.canonical_name not in seen:
                    seen.add(dist.canonical_name)
                    yield dist

    def _pip_records(self, root: str) -> list[_PipRecord]:
        records = self._records.get(root)
        if records is None:
            records = self._records[root] = _list_pip_records(root, self.notes)
        return records

    def _conda_packages(self, prefix: str) -> list[tuple[Distribution, list[str]]]:
        packages = self._conda.get(prefix)
        if packages is None:
            packages = self._conda[prefix] = list(_read_conda(prefix, self.notes))
        return packages

    def _collect_requires(self) -> dict[str, tuple[str, ...]]:
        result: dict[str, tuple[str, ...]] = {}
        for dist in self._iter_distributions():
            result.setdefault(dist.name, dist.requires)
        return result


# -- pip ------------------------------------------------------------------------------------


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


def _list_pip_records(root: str, notes: list[str]) -> list[_PipRecord]:
    try:
        with os.scandir(root) as entries:
            names = sorted(e.name for e in entries if e.name.endswith((".dist-info", ".egg-info")))
    except OSError as exc:
        notes.append(f"cannot list {root}: {os_error_text(exc)}")
        return []
    return [_PipRecord(os.path.join(root, name)) for name in names]


def _record_files(meta_dir: str, root: str, notes: list[str]) -> Iterator[str]:
    """Normalized absolute paths listed by a RECORD (or an egg's installed-files.txt)."""
    if meta_dir.endswith(".egg-info"):
        text = _read_text(os.path.join(meta_dir, "installed-files.txt"), notes, quiet=True)
        for line in (text or "").splitlines():
            if line.strip():
                yield _key(os.path.join(meta_dir, line.strip()))
        return
    text = _read_text(os.path.join(meta_dir, "RECORD"), notes, limit=_MAX_RECORD_BYTES)
    if text is None:
        return
    try:
        for row in csv.reader(io.StringIO(text)):
            if row and row[0]:
                yield _key(os.path.join(root, row[0]))
    except csv.Error as exc:
        notes.append(f"{meta_dir}/RECORD: unreadable line ({exc})")


def _read_pip_distribution(meta_dir: str, notes: list[str]) -> Distribution:
    stem = os.path.basename(meta_dir).rsplit(".", 1)[0]
    dir_name, _, dir_version = stem.partition("-")
    egg = meta_dir.endswith(".egg-info")
    headers = _read_headers(os.path.join(meta_dir, "PKG-INFO" if egg else "METADATA"), notes)
    dir_version = dir_version.split("-")[0]
    name = (headers.get("Name") or [""])[0].strip() or dir_name
    version = (headers.get("Version") or [""])[0].strip() or dir_version
    requires = _requires_from(headers.get("Requires-Dist", []))
    if egg:
        text = _read_text(os.path.join(meta_dir, "requires.txt"), notes, quiet=True) or ""
        requires = _requires_from(text.split("\n[", 1)[0].splitlines())
        installer = "setuptools"
        tags: tuple[str, ...] = ()
    else:
        text = _read_text(os.path.join(meta_dir, "INSTALLER"), notes, quiet=True) or ""
        installer = text.strip().split("\n", 1)[0].strip()
        wheel = _read_headers(os.path.join(meta_dir, "WHEEL"), notes, quiet=True)
        tags = _expand_tags(wheel.get("Tag", []))
    return Distribution(
        name=name,
        version=version or None,
        kind=OwnerKind.PIP.value,
        installer=installer or None,
        wheel_tags=tags,
        built_from_source=egg or _built_from_source(meta_dir, tags),
        requires=requires,
        location=meta_dir,
    )


def _built_from_source(meta_dir: str, tags: tuple[str, ...]) -> bool:
    direct = _read_json(os.path.join(meta_dir, "direct_url.json"))
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


def _requires_from(values: Iterable[str]) -> tuple[str, ...]:
    names: list[str] = []
    for value in values:
        if not value.strip() or value.lstrip().startswith("#"):
            continue
        try:
            req = Requirement(value.strip())
        except InvalidRequirement:
            match = _NAME_AT_START.match(value)
            if match and ";" not in value:
                names.append(canonicalize_name(match.group(1)))
            continue
        if req.marker is not None and _EXTRA_MARKER.search(str(req.marker)):
            continue
        names.append(canonicalize_name(req.name))
    return tuple(dict.fromkeys(names))


# -- conda ----------------------------------------------------------------------------------


def _read_conda(prefix: str, notes: list[str]) -> Iterator[tuple[Distribution, list[str]]]:
    meta = os.path.join(prefix, "conda-meta")
    try:
        names = sorted(n for n in os.listdir(meta) if n.endswith(".json"))
    except OSError as exc:
        notes.append(f"cannot list {meta}: {os_error_text(exc)}")
        return
    for entry in names:
        data = _read_json(os.path.join(meta, entry))
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            notes.append(f"{meta}/{entry}: not a conda package record, skipped")
            continue
        files = data.get("files")
        paths = [f for f in files if isinstance(f, str)] if isinstance(files, list) else []
        subdir = data.get("subdir")
        channel = _short_channel(data.get("channel"), subdir)
        depends = data.get("depends")
        requires = (
            _requires_from(str(d).split()[0] for d in depends if isinstance(d, str) and d.strip())
            if isinstance(depends, list)
            else ()
        )
        dist = Distribution(
            name=str(data["name"]),
            version=str(data["version"]) if data.get("version") is not None else None,
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


# -- reading helpers: never raise -----------------------------------------------------------


def _read_text(
    path: str, notes: list[str], *, quiet: bool = False, limit: int = _MAX_METADATA_BYTES
) -> Optional[str]:
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        _note_read_error(path, exc, notes, quiet=quiet)
        return None
    if len(data) > limit:
        notes.append(f"{path}: larger than {limit} bytes, skipped")
        return None
    return data.decode("utf-8", errors="replace")


def _note_read_error(path: str, error: OSError, notes: list[str], *, quiet: bool) -> None:
    """A missing file is noted unless ``quiet`` (optional metadata); other errors always."""
    if isinstance(error, FileNotFoundError):
        if not quiet:
            notes.append(f"{path}: missing")
    else:
        notes.append(f"{path}: {os_error_text(error)}")


def _read_headers(path: str, notes: list[str], *, quiet: bool = False) -> dict[str, list[str]]:
    """RFC 822 headers of METADATA / WHEEL; the body (long description) is not parsed."""
    head = _read_head(path, notes, quiet=quiet)
    if not head:
        return {}
    try:
        message = HeaderParser().parsestr(head)
        result: dict[str, list[str]] = {}
        for key, value in message.items():
            result.setdefault(key, []).append(str(value))
        return result
    except Exception as exc:  # email parsing of hostile input: skip, never fail the scan
        notes.append(f"{path}: unreadable headers ({type(exc).__name__})")
        return {}


def _read_head(path: str, notes: list[str], *, quiet: bool) -> Optional[str]:
    """The text up to the first blank line: METADATA's long description can be large."""
    chunks: list[bytes] = []
    size = 0
    try:
        with open(path, "rb") as handle:
            while size <= _MAX_METADATA_BYTES:
                chunk = handle.read(16384)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if b"\n\n" in chunk or b"\n\r\n" in chunk:
                    break
    except OSError as exc:
        _note_read_error(path, exc, notes, quiet=quiet)
        return None
    text = b"".join(chunks).decode("utf-8", errors="replace")
    return re.split(r"\r?\n\r?\n", text, maxsplit=1)[0]


def _read_json(path: str) -> Any:
    try:
        with open(path, "rb") as handle:
            data = handle.read(_MAX_RECORD_BYTES + 1)
        if len(data) > _MAX_RECORD_BYTES:
            return None
        return json.loads(data.decode("utf-8", errors="replace"))
    except (OSError, ValueError, RecursionError):
        return None
