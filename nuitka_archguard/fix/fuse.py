"""Two trees of one distribution, one per arch, fused into one universal2 tree.

``first`` is the installed distribution (its files laid out as in site-packages, with its
``.dist-info``), ``second`` the other arch's wheel of the same release, unpacked. The output
holds every file of both:

- every Mach-O file present in both, found by its magic and not by its name (extension
  modules, dylibs, framework binaries without a suffix, helper executables, ``MH_DSYM`` debug
  files, and ``ar`` archives of Mach-O objects) becomes one fat file, byte for byte what
  ``llvm-lipo -create`` makes (:mod:`..binaries.fat`). dSYM files are fused like the rest:
  a universal dSYM is what Xcode itself writes, and keeping one arch would leave the other's
  debug information behind. A file in ``first`` that already holds every arch of its
  counterpart (a fat file in both wheels) is kept as it is;
- files identical in both, and files present in only one, are kept;
- any other file that differs stops the fusion: :class:`FuseConflict` lists every one of them,
  sorted, before anything is written, unless a glob of ``accept_different`` names it; then
  the installed (first) file is kept and the result says so. Silently keeping one of two
  differing files is how merged wheels break (delocate issue 180);
- symlinks are recreated with the same target text, never followed: a link that points
  outside a tree cannot make us read or write there.

The ``.dist-info`` is the installed one's: ``WHEEL`` gets the universal2 tags (the lower
minimum macOS of the two, as ``delocate-merge`` writes them), a provenance file
``ARCHGUARD_FUSED.json`` records what was fused from what (hashes of both inputs of every
fused file), and ``RECORD`` is written last, as pip writes it (``sha256=`` urlsafe base64
without padding, sizes, its own line empty, sorted, CRLF), so ``pip list``, ``pip show
--files`` and ``pip uninstall`` keep working. The other wheel's ``.dist-info`` only has to
name the same project and version; its other files are compared and differences reported.
"""

from __future__ import annotations

import base64
import csv
import enum
import fnmatch
import hashlib
import io
import json
import os
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from packaging.tags import parse_tag
from packaging.utils import canonicalize_name
from packaging.version import Version

from .. import __version__
from ..binaries import macho
from ..binaries.fat import FatWriteError, input_archs, is_fat_input, write_fat
from ..check.metadata import (
    MetadataError,
    MetadataReader,
    checked_name,
    checked_version,
    parse_headers,
    read_regular,
)
from ..text import shown
from ..wheel import WheelFile, leaves_root

__all__ = [
    "PROVENANCE",
    "FuseConflict",
    "FuseError",
    "FuseResult",
    "fuse_trees",
    "record_hash",
    "universal2_tags",
]

PROVENANCE = "ARCHGUARD_FUSED.json"
"""The provenance file written into the fused ``.dist-info`` (and listed in its RECORD)."""
PROVENANCE_FORMAT = 1
_REWRITTEN = frozenset({"RECORD", "WHEEL", PROVENANCE})
"""``.dist-info`` files the fusion writes itself."""
_INSTALL_ONLY = frozenset({"INSTALLER", "REQUESTED", "direct_url.json"})
"""Files pip adds on install: a wheel never has them, so they are not compared."""
_DATA_SCHEMES_IN_SITE = ("purelib", "platlib")
_MACOS_TAG = re.compile(r"macosx_([0-9]{1,4})_([0-9]{1,4})_([a-z0-9_]+)")
_MACOS_ARCHS = frozenset({"x86_64", "arm64", "universal2", "intel", "universal"})
_COMPARE_CHUNK = 1024 * 1024


class FuseError(Exception):
    """The trees cannot be fused (not one release, not macOS wheels, a corrupt binary, an OS
    error). One line; paths in it are escaped."""


class FuseConflict(FuseError):
    """Files that differ between the trees and are not binaries: nothing was written."""

    def __init__(self, paths: Sequence[str], first: str = "installed") -> None:
        self.paths = tuple(sorted(paths))
        listed = ", ".join(shown(path) for path in self.paths)
        super().__init__(
            f"{len(self.paths)} file(s) differ between the two wheels and are not binaries:"
            f" {listed} (keep the {first} copies with --accept-different GLOB)"
        )


@dataclass(frozen=True)
class FuseResult:
    """What :func:`fuse_trees` did, as relative POSIX paths, each tuple sorted."""

    fused: tuple[str, ...]
    """Mach-O files (and archives) now fat with the slices of both."""
    identical: tuple[str, ...]
    only_first: tuple[str, ...]
    only_second: tuple[str, ...]
    accepted_different: tuple[str, ...]
    """Differing files an ``accept_different`` glob named: the first (installed) one kept."""
    already_fat: tuple[str, ...] = ()
    """Binaries whose first file already held every arch of the second: kept."""
    metadata_differs: tuple[str, ...] = ()
    """``.dist-info`` files of the second wheel that differ from the installed ones (kept)."""
    dist_info: str = ""
    """The ``.dist-info`` folder's name."""
    tags: tuple[str, ...] = ()
    """The ``Tag`` lines now in ``WHEEL``."""

    @property
    def notes(self) -> tuple[str, ...]:
        """One line per thing a user should know: files kept although they differ."""
        lines = [f"kept the installed {shown(p)} (differs from the wheel's; accepted)"
                 for p in self.accepted_different]  # fmt: skip
        lines += [f"kept the installed {shown(p)}: it already holds every arch of the wheel's"
                  for p in self.already_fat]  # fmt: skip
        lines += [f"kept the installed {shown(p)} (the wheel's differs)"
                  for p in self.metadata_differs]  # fmt: skip
        return tuple(lines)


class _Kind(enum.Enum):
    FILE = "file"
    LINK = "symlink"
    DIR = "directory"


class _Action(enum.Enum):
    FIRST = "first"
    SECOND = "second"
    FUSE = "fuse"


@dataclass(frozen=True)
class _Tree:
    root: Path
    entries: dict[str, _Kind]
    dist_info: str
    data_dir: Optional[str]


def fuse_trees(
    first: Path,
    second: Path,
    output: Path,
    *,
    accept_different: Sequence[str] = (),
    wheel: Optional[Union[Path, WheelFile]] = None,
    first_name: str = "installed",
) -> FuseResult:
    """Fuse ``first`` (installed) and ``second`` (the other arch's wheel, unpacked) into
    ``output`` (an empty or missing folder). ``wheel``, the file ``second`` came from, is
    named with its sha256 in the provenance file (hashed from the open file when it is an
    opened :class:`..wheel.WheelFile`: the bytes that were checked and unpacked). Raises
    :class:`FuseConflict` or :class:`FuseError`; on any error the output folder is left
    empty."""
    left, right = _tree(Path(first), "installed"), _tree(Path(second), "wheel")
    name, version = _same_release(left, right)
    plan, result = _plan(left, right, accept_different, first_name)
    output = Path(output)
    _prepare_output(output)
    try:
        provenance = _execute(plan, left, right, output)
        pairs_from = right if result.get("named_by_second") else left
        tags = universal2_tags(_wheel_tags(pairs_from), _wheel_tags(left) + _wheel_tags(right))
        origin = None if wheel is None else _wheel_origin(wheel)
        _write_dist_info(left, right, output, tags, name, version, provenance, result, origin)
    except BaseException:
        _empty(output)
        raise
    return _finish(result, left, right, tags)


# -- reading the trees ------------------------------------------------------------------------


def _tree(root: Path, role: str) -> _Tree:
    if not root.is_dir() or root.is_symlink():
        raise FuseError(f"{shown(str(root))}: not a folder")
    entries: dict[str, _Kind] = {}
    pending = [""]
    while pending:
        relative = pending.pop()
        try:
            with os.scandir(root / relative if relative else root) as listing:
                for item in listing:
                    path = f"{relative}/{item.name}" if relative else item.name
                    if item.is_symlink():
                        entries[path] = _Kind.LINK
                    elif item.is_dir(follow_symlinks=False):
                        entries[path] = _Kind.DIR
                        pending.append(path)
                    elif item.is_file(follow_symlinks=False):
                        entries[path] = _Kind.FILE
                    else:
                        raise FuseError(
                            f"{shown(path)} in the {role} tree is not a file, folder or symlink"
                        )
        except OSError as error:
            raise FuseError(f"{shown(str(root / relative))}: {error.strerror}") from None
    dist_infos = [p for p, k in entries.items() if k is _Kind.DIR and "/" not in p
                  and p.endswith(".dist-info")]  # fmt: skip
    if len(dist_infos) != 1:
        found = ", ".join(shown(p) for p in sorted(dist_infos)) or "none"
        raise FuseError(f"the {role} tree must hold one .dist-info folder (found: {found})")
    data_dirs = [p for p, k in entries.items() if k is _Kind.DIR and "/" not in p
                 and p.endswith(".data")]  # fmt: skip
    return _Tree(root, entries, dist_infos[0], data_dirs[0] if data_dirs else None)


def _metadata(tree: _Tree) -> dict[str, list[str]]:
    path = tree.root / tree.dist_info / "METADATA"
    try:
        return parse_headers(read_regular(str(path)).decode("utf-8", "replace"))
    except MetadataError as error:
        raise FuseError(f"{shown(tree.dist_info)}/METADATA: {error}") from None


def _same_release(first: _Tree, second: _Tree) -> tuple[str, str]:
    """Name and version, which must be the same in both (and valid)."""
    found = []
    for tree in (first, second):
        headers = _metadata(tree)
        name = checked_name((headers.get("Name") or [""])[0])
        version = checked_version((headers.get("Version") or [""])[0])
        if name is None or version is None:
            raise FuseError(f"{shown(tree.dist_info)}/METADATA has no valid Name and Version")
        found.append((name, version))
    (name, version), (other_name, other_version) = found
    if canonicalize_name(name) != canonicalize_name(other_name) or Version(version) != Version(
        other_version
    ):
        raise FuseError(
            f"not one release: {name} {version} is installed, the wheel is"
            f" {other_name} {other_version}"
        )
    return name, version


def _wheel_tags(tree: _Tree) -> list[str]:
    path = tree.root / tree.dist_info / "WHEEL"
    try:
        headers = parse_headers(read_regular(str(path)).decode("utf-8", "replace"))
    except MetadataError as error:
        raise FuseError(f"{shown(tree.dist_info)}/WHEEL: {error}") from None
    tags = headers.get("Tag") or []
    if not tags:
        raise FuseError(f"{shown(tree.dist_info)}/WHEEL lists no Tag")
    return tags


def universal2_tags(first: Iterable[str], second: Iterable[str]) -> tuple[str, ...]:
    """The ``WHEEL`` tags of the fused distribution: each interpreter-ABI pair of the
    installed wheel, on ``macosx_<lowest minimum of both>_universal2``.

    ``cp311-cp311-macosx_11_0_arm64`` + ``cp311-cp311-macosx_10_9_x86_64`` ->
    ``cp311-cp311-macosx_10_9_universal2`` (delocate-merge's choice: pip on either arch
    accepts it, and each slice still carries its own minimum macOS).
    """
    lowest: Optional[tuple[int, int]] = None
    pairs: dict[tuple[str, str], None] = {}
    for index, texts in enumerate((list(first), list(second))):
        for text in texts:
            try:
                parsed = parse_tag(text)
            except ValueError:
                raise FuseError(f"{shown(text)} is not a wheel tag") from None
            for tag in parsed:
                match = _MACOS_TAG.fullmatch(tag.platform)
                if match is None or match.group(3) not in _MACOS_ARCHS:
                    raise FuseError(f"{shown(text)} is not a macOS wheel tag")
                version = (int(match.group(1)), int(match.group(2)))
                lowest = version if lowest is None else min(lowest, version)
                if index == 0:
                    pairs[(tag.interpreter, tag.abi)] = None
    if lowest is None or not pairs:
        raise FuseError("no wheel tags to fuse")
    platform = f"macosx_{lowest[0]}_{lowest[1]}_universal2"
    return tuple(f"{interpreter}-{abi}-{platform}" for interpreter, abi in pairs)


# -- planning ---------------------------------------------------------------------------------


def _placed(tree: _Tree, path: str) -> Optional[str]:
    """Where an entry of a tree goes in the output: None for its ``.dist-info`` (handled
    apart) and for the wheel's ``.data`` folder itself; ``purelib``/``platlib`` content of a
    wheel's ``.data`` lands at the root, as an installer puts it."""
    top, _, rest = path.partition("/")
    if top == tree.dist_info:
        return None
    if tree.data_dir is not None and top == tree.data_dir:
        scheme, _, inner = rest.partition("/")
        if not rest or (scheme in _DATA_SCHEMES_IN_SITE and not inner):
            return None
        if scheme not in _DATA_SCHEMES_IN_SITE:
            raise FuseError(
                f"{shown(path)}: the wheel installs files outside site-packages ({scheme});"
                " install it into a staging folder first"
            )
        return inner
    return path


_EXTENSION = re.compile(
    r"^(?P<module>.+?)(?P<suffix>\.cpython-[0-9]+-darwin\.so|\.abi3\.so|\.so)\Z"
)


def _suffix_rank(name: str) -> int:
    """CPython's order (``importlib.machinery.EXTENSION_SUFFIXES`` on macOS): the
    version's own ``.cpython-3XY-darwin.so``, then ``.abi3.so``, then ``.so``."""
    match = _EXTENSION.match(name)
    suffix = match.group("suffix") if match else ""
    return 0 if suffix.startswith(".cpython-") else 1 if suffix == ".abi3.so" else 2


def _by_module(
    left: dict[Optional[str], str],
    right: dict[Optional[str], str],
    first: _Tree,
    second: _Tree,
) -> tuple[dict[Optional[str], str], dict[Optional[str], str], list[str]]:
    """One extension module published under different names per arch (Cython 3.3.1: arm64
    only as ``cp311-cp311``, x86_64 only as ``cp39-abi3``) is one file in the output: both
    files move to the name CPython finds first, and are fused there. An abi3 slice loads in
    every CPython at or above its minimum, so it may sit in a ``cpython-311`` file. Returns
    the re-keyed maps and the output names taken from ``second``."""
    modules: dict[str, dict[str, list[str]]] = {}
    for side, placed, tree in (("left", left, first), ("right", right, second)):
        for out, path in placed.items():
            match = _EXTENSION.match(out or "")
            if match and tree.entries[path] is _Kind.FILE:
                found = modules.setdefault(match.group("module"), {"left": [], "right": []})
                found[side].append(out or "")
    named_by_second: list[str] = []
    left, right = dict(left), dict(right)
    for names in modules.values():
        if len(names["left"]) != 1 or len(names["right"]) != 1:
            continue
        mine, theirs = names["left"][0], names["right"][0]
        if mine == theirs or mine in right or theirs in left:
            continue
        rank = {name: _suffix_rank(name) for name in (mine, theirs)}
        if rank[mine] == rank[theirs]:
            continue  # two Python versions' files: not one module for one Python
        winner = mine if rank[mine] < rank[theirs] else theirs
        if winner == theirs:
            named_by_second.append(theirs)
        left[winner] = left.pop(mine)
        right[winner] = right.pop(theirs)
    return left, right, named_by_second


def _plan(
    first: _Tree, second: _Tree, accept: Sequence[str], first_name: str = "installed"
) -> tuple[list[tuple[str, _Action, str, str]], dict[str, list[str]]]:
    """``(output path, action, path in first, path in second)`` per entry, and the result's
    lists. Raises :class:`FuseConflict` with every conflict found."""
    left = {_placed(first, p): p for p in first.entries}
    right = {_placed(second, p): p for p in second.entries}
    left.pop(None, None)
    right.pop(None, None)
    left, right, named_by_second = _by_module(left, right, first, second)
    result: dict[str, list[str]] = {
        key: [] for key in ("fused", "identical", "only_first", "only_second",
                            "accepted_different", "already_fat")
    }  # fmt: skip
    result["named_by_second"] = named_by_second
    plan: list[tuple[str, _Action, str, str]] = []
    conflicts: list[str] = []
    for out in sorted(set(left) | set(right), key=str):
        assert out is not None
        a, b = left.get(out), right.get(out)
        if b is None:
            assert a is not None
            plan.append((out, _Action.FIRST, a, ""))
            if first.entries[a] is not _Kind.DIR:
                result["only_first"].append(out)
            continue
        if a is None:
            plan.append((out, _Action.SECOND, "", b))
            if second.entries[b] is not _Kind.DIR:
                result["only_second"].append(out)
            continue
        kind_a, kind_b = first.entries[a], second.entries[b]
        if kind_a is _Kind.DIR and kind_b is _Kind.DIR:
            plan.append((out, _Action.FIRST, a, b))
            continue
        if kind_a is _Kind.DIR or kind_b is _Kind.DIR:
            raise FuseError(f"{shown(out)} is a folder in one tree and a file in the other")
        verdict = _compare(first.root / a, kind_a, second.root / b, kind_b, out)
        if verdict == "identical":
            plan.append((out, _Action.FIRST, a, b))
        elif verdict == "fuse":
            plan.append((out, _Action.FUSE, a, b))
            result["fused"].append(out)
            continue
        elif verdict == "already_fat":
            plan.append((out, _Action.FIRST, a, b))
        elif _accepted(out, accept):
            plan.append((out, _Action.FIRST, a, b))
            verdict = "accepted_different"
        else:
            conflicts.append(out)
            continue
        result[verdict].append(out)
    if conflicts:
        raise FuseConflict(conflicts, first_name)
    return plan, result


def _accepted(path: str, globs: Sequence[str]) -> bool:
    """A glob names a path when it matches the whole relative path (``*`` crosses ``/``) or,
    for a glob without ``/``, the file name."""
    name = path.rsplit("/", 1)[-1]
    return any(
        fnmatch.fnmatchcase(path, glob) or ("/" not in glob and fnmatch.fnmatchcase(name, glob))
        for glob in globs
    )


def _compare(a: Path, kind_a: _Kind, b: Path, kind_b: _Kind, out: str) -> str:
    """``identical``, ``fuse``, ``already_fat`` or ``different``."""
    try:
        if kind_a is _Kind.LINK or kind_b is _Kind.LINK:
            same = kind_a is kind_b and os.readlink(a) == os.readlink(b)
            return "identical" if same else "different"
        if _same_bytes(a, b):
            return "identical"
        head_a, head_b = _head(a), _head(b)
    except OSError as error:
        raise FuseError(f"{shown(out)}: {error.strerror}") from None
    if not (is_fat_input(head_a) and is_fat_input(head_b)):
        return "different"
    try:
        archs_a, archs_b = input_archs(a), input_archs(b)
    except FatWriteError as error:
        if macho.is_macho(head_a) and macho.is_macho(head_b):
            raise FuseError(f"{shown(out)}: {shown(str(error))}") from None
        return "different"  # e.g. an archive of ELF objects: not ours to fuse
    if set(archs_b) <= set(archs_a):
        return "already_fat"
    if set(archs_a) & set(archs_b):
        raise FuseError(
            f"{shown(out)}: the installed file holds {', '.join(archs_a)} and the wheel's"
            f" {', '.join(archs_b)}; they overlap, so neither can be kept nor both fused"
        )
    return "fuse"


def _head(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(8)


def _same_bytes(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with open(a, "rb") as left, open(b, "rb") as right:
        while True:
            chunk = left.read(_COMPARE_CHUNK)
            if chunk != right.read(_COMPARE_CHUNK):
                return False
            if not chunk:
                return True


# -- writing ----------------------------------------------------------------------------------


def _prepare_output(output: Path) -> None:
    try:
        output.mkdir(parents=True, exist_ok=True)
        if any(output.iterdir()):
            raise FuseError(f"{shown(str(output))}: the output folder is not empty")
    except OSError as error:
        raise FuseError(f"{shown(str(output))}: {error.strerror}") from None


def _empty(output: Path) -> None:
    """Remove what a failed fusion wrote, leaving the output folder itself."""
    for item in list(output.iterdir()) if output.is_dir() else []:
        if item.is_dir() and not item.is_symlink():
            shutil.rmtree(item, ignore_errors=True)
        else:
            item.unlink(missing_ok=True)


def _execute(
    plan: Sequence[tuple[str, _Action, str, str]], first: _Tree, second: _Tree, output: Path
) -> list[dict[str, object]]:
    """Write the output tree; returns the provenance of each fused file."""
    fused: list[dict[str, object]] = []
    for out, action, a, b in plan:
        target = output.joinpath(*out.split("/"))
        try:
            if action is _Action.FUSE:
                source_a, source_b = first.root / a, second.root / b
                write_fat([source_a, source_b], target)
                shutil.copymode(source_a, target)
                fused.append(
                    {
                        "path": out,
                        "archs": list(input_archs(target)),
                        "installed_sha256": _sha256_hex(source_a),
                        "wheel_sha256": _sha256_hex(source_b),
                    }
                )
                continue
            tree, path = (first, a) if action is _Action.FIRST else (second, b)
            source = tree.root / path
            kind = tree.entries[path]
            if kind is _Kind.DIR:
                target.mkdir(exist_ok=True)
                shutil.copymode(source, target)
            elif kind is _Kind.LINK:
                os.symlink(os.readlink(source), target)
            else:
                shutil.copy2(source, target, follow_symlinks=False)
        except FatWriteError as error:
            raise FuseError(f"{shown(out)}: {shown(str(error))}") from None
        except OSError as error:
            raise FuseError(f"{shown(out)}: {error.strerror or error}") from None
    return fused


def _wheel_origin(wheel: Union[Path, WheelFile]) -> dict[str, str]:
    try:
        if isinstance(wheel, WheelFile):
            return {"file": wheel.filename, "sha256": wheel.sha256()}
        return {"file": wheel.name, "sha256": _sha256_hex(wheel)}
    except OSError as error:
        raise FuseError(f"{shown(str(wheel))}: {error.strerror}") from None


def _sha256_hex(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_COMPARE_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_dist_info(
    first: _Tree,
    second: _Tree,
    output: Path,
    tags: tuple[str, ...],
    name: str,
    version: str,
    fused: list[dict[str, object]],
    result: dict[str, list[str]],
    wheel: Optional[dict[str, str]],
) -> None:
    source, target = first.root / first.dist_info, output / first.dist_info
    target.mkdir()
    shutil.copymode(source, target)
    for relative, kind in sorted(first.entries.items()):
        top, _, inner = relative.partition("/")
        if top != first.dist_info or not inner or inner in _REWRITTEN:
            continue
        origin, destination = first.root / relative, output / relative
        if kind is _Kind.DIR:
            destination.mkdir()
        elif kind is _Kind.LINK:
            os.symlink(os.readlink(origin), destination)
        else:
            shutil.copy2(origin, destination, follow_symlinks=False)
    result["metadata_differs"] = _metadata_differences(first, second)
    _write_wheel(source / "WHEEL", target / "WHEEL", tags)
    provenance = {
        "format": PROVENANCE_FORMAT,
        "tool": f"nuitka-archguard {__version__}",
        "distribution": name,
        "version": version,
        "tags": list(tags),
        "installed_tags": _wheel_tags(first),
        "wheel_tags": _wheel_tags(second),
        "wheel": wheel,
        "fused": fused,
        "already_fat": result["already_fat"],
        "accepted_different": result["accepted_different"],
        "metadata_differs": result["metadata_differs"],
    }
    text = json.dumps(provenance, indent=2, ensure_ascii=True, sort_keys=True) + "\n"
    (target / PROVENANCE).write_text(text, encoding="utf-8")
    _write_record(first, output)


def _metadata_differences(first: _Tree, second: _Tree) -> list[str]:
    differs = []
    for relative, kind in sorted(second.entries.items()):
        top, _, inner = relative.partition("/")
        if top != second.dist_info or not inner or kind is not _Kind.FILE:
            continue
        if inner in _REWRITTEN or inner in _INSTALL_ONLY:
            continue
        mine = first.root / first.dist_info / inner
        if not mine.is_file() or not _same_bytes(mine, second.root / relative):
            differs.append(f"{first.dist_info}/{inner}")
    return differs


def _write_wheel(source: Path, target: Path, tags: Sequence[str]) -> None:
    """The installed ``WHEEL`` with its ``Tag`` lines replaced where the first one stood."""
    try:
        lines = read_regular(str(source)).decode("utf-8").splitlines()
    except (MetadataError, UnicodeDecodeError) as error:
        raise FuseError(f"WHEEL: {error}") from None
    out: list[str] = []
    for line in lines:
        if line.split(":", 1)[0].strip().lower() == "tag":
            if not any(o.startswith("Tag: ") for o in out):
                out.extend(f"Tag: {tag}" for tag in tags)
            continue
        out.append(line)
    target.write_text("\n".join(out).rstrip("\n") + "\n", encoding="utf-8")
    shutil.copymode(source, target)


def record_hash(path: Path) -> str:
    """``sha256=<urlsafe base64, no padding>``, as RECORD holds it."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_COMPARE_CHUNK), b""):
            digest.update(chunk)
    return "sha256=" + base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode("ascii")


def _write_record(first: _Tree, output: Path) -> None:
    """RECORD as pip writes it: every file in the output, plus the installed RECORD's rows
    for files outside the tree (scripts in ``bin/``), sorted, CRLF, its own row empty."""
    record = f"{first.dist_info}/RECORD"
    rows: dict[str, tuple[str, str, str]] = {record: (record, "", "")}
    for directory, folders, files in os.walk(output):
        linked = [f for f in folders if os.path.islink(os.path.join(directory, f))]
        for item in files + linked:
            path = Path(directory, item)
            relative = path.relative_to(output).as_posix()
            if relative == record:
                continue
            if path.is_symlink():  # listed so that uninstall removes it; nothing to hash
                rows[relative] = (relative, "", "")
            else:
                rows[relative] = (relative, record_hash(path), str(path.stat().st_size))
    for row in _installed_rows(first):
        digest = row[1] if len(row) > 1 else ""
        size = row[2] if len(row) > 2 else ""
        rows.setdefault(row[0], (row[0], digest, size))
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows[key] for key in sorted(rows))
    (output / record).write_bytes(buffer.getvalue().encode("utf-8"))


def _installed_rows(first: _Tree) -> list[list[str]]:
    """The installed RECORD's rows for files outside the tree, streamed (:mod:`..metadata`):
    only those are kept. A RECORD that cannot be read whole stops the fuse (a missing one
    has no rows)."""
    path = str(first.root / first.dist_info / "RECORD")
    reader = MetadataReader()
    rows = []
    if os.path.lexists(path):
        rows = [row for row in reader.record_rows(path) if _outside(row[0])]
    if reader.notes:
        raise FuseError(reader.notes[0])
    return rows


def _outside(path: str) -> bool:
    """A RECORD path that leaves site-packages (``../../../bin/x``) or is absolute: the one
    rule, :func:`..wheel.leaves_root`."""
    return leaves_root(path)


def _finish(
    result: dict[str, list[str]], first: _Tree, second: _Tree, tags: tuple[str, ...]
) -> FuseResult:
    return FuseResult(
        fused=tuple(result["fused"]),
        identical=tuple(result["identical"]),
        only_first=tuple(result["only_first"]),
        only_second=tuple(result["only_second"]),
        accepted_different=tuple(result["accepted_different"]),
        already_fat=tuple(result["already_fat"]),
        metadata_differs=tuple(result.get("metadata_differs", ())),
        dist_info=first.dist_info,
        tags=tags,
    )
