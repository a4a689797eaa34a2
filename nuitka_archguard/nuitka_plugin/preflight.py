"""The plugin's preflight: the program's imports, read before Nuitka compiles anything.

The full check needs Nuitka's complete module set, known only after its Python-level
compilation (a third of a build). Most wrong-architecture builds are visible much earlier:
the program imports ``bcrypt``, and the installed ``bcrypt`` is an aarch64 wheel. The
preflight reads the main program's imports with :mod:`ast` (no code runs), follows them
through the program's own folder and the installed packages' Python files, maps the files
it reaches to the distributions that installed them (RECORD, the ownership index the full
check uses), takes the closure over their ``Requires-Dist`` (markers evaluated for the
*target*, extras only when a requirement asks for them), and judges the extension modules
found that way with the full check's own :class:`~.support.Guard`, the way Nuitka would
meet them: a file Nuitka would include is checked as such (``arch-missing``), a module for
which only a foreign file exists is the silent drop (``foreign-extension-only``).

The promise: the preflight never reports an error the full check of the same build would
not report. So it judges only extension modules the program imports (seen through
``ast``) and what Nuitka's ``implicit-imports`` plugin adds to them: ``_cffi_backend`` for
an imported extension module whose distribution requires cffi and whose file names
``_cffi_backend`` (cryptography's Rust core; Nuitka's own test, mirrored). A required
distribution nothing imports is never judged (Nuitka would not include it); it never judges data
files, payloads or DLLs (left to the full check, with every warning), it skips what the
program imports only under ``if TYPE_CHECKING:`` or a ``sys.platform``/``os.name`` test that
is false for the target, and what ``--nofollow-import-to`` excludes. A dynamic import it
cannot see is left to the full check, which runs as before.
"""

from __future__ import annotations

import ast
import fnmatch
import importlib.machinery
import os
import sys
import sysconfig
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Optional

from packaging.markers import Marker, UndefinedComparison
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from ..binaries.source import open_regular
from ..check.discovery import module_name as _module_name_of
from ..check.metadata import read_regular
from ..check.ownership import Distribution
from ..check.policy import Role, role_for
from ..common import plural
from ..target import Target, marker_environments
from .support import Guard, Level, Message, Settings, Stage, folder_listing

__all__ = [
    "Preflight",
    "PreflightResult",
    "marker_environments",
    "preflight",
    "preflight_summary",
]

MAX_SOURCE_BYTES = 4 * 1024 * 1024
"""A Python file larger than this is not parsed (a generated table, not imports)."""
MAX_FILES = 5000
"""Python files the preflight parses at most; past that it checks what it has reached
(fewer checks, never more errors than the full check)."""

_SOURCE = ".py"
_STDLIB_NAMES: frozenset[str] = frozenset(
    getattr(sys, "stdlib_module_names", ()) or ()
) | frozenset(sys.builtin_module_names)


def _holds(marker: Optional[Marker], environments: Sequence[dict[str, str]], extra: str) -> bool:
    """Whether a requirement applies on any of the target's architectures."""
    if marker is None:
        return True
    for env in environments:
        try:
            if marker.evaluate({**env, "extra": extra}):
                return True
        except (UndefinedComparison, ValueError, TypeError):
            return True  # a marker we cannot judge: follow it, the check stays exact
    return False


# -- reading the program -------------------------------------------------------------------------


@dataclass(frozen=True)
class Reached:
    """An extension module the program (or a distribution it needs) imports: the file the
    running Python's import system would load (``None`` when only files for another
    platform exist), the files of that name, and who imports it."""

    name: str
    path: Optional[str]
    candidates: tuple[str, ...]
    importer: str
    folder: str


@dataclass
class _Walk:
    files: int = 0
    sources: dict[str, str] = field(default_factory=dict)
    """Module name -> the Python file read for it."""
    extensions: dict[str, Reached] = field(default_factory=dict)
    truncated: bool = False


def _suffixes() -> tuple[str, ...]:
    return tuple(importlib.machinery.EXTENSION_SUFFIXES)


class _Locator:
    """Finds modules on a search path as the import system would, without importing:
    each folder is listed once."""

    def __init__(self, search_path: Sequence[str]) -> None:
        self.search_path = [os.path.abspath(p) for p in dict.fromkeys(search_path) if p]
        self._listings: dict[str, dict[str, list[str]]] = {}
        self._packages: dict[str, Optional[list[str]]] = {}
        self._suffixes = _suffixes()

    def _listing(self, folder: str) -> dict[str, list[str]]:
        return folder_listing(folder, self._listings)

    def package_folders(self, name: str) -> Optional[list[str]]:
        """The folders a package's submodules are looked up in; None: not a package."""
        if name in self._packages:
            return self._packages[name]
        parent, _, last = name.rpartition(".")
        bases = self.search_path if not parent else self.package_folders(parent)
        folders: Optional[list[str]] = None
        for base in bases or ():
            names = self._listing(base).get(last, ())
            if last not in names:
                continue
            folder = os.path.join(base, last)
            if not os.path.isdir(folder):
                continue
            inits = self._listing(folder).get("__init__", ())
            if any(n == "__init__.py" or n.endswith(self._suffixes) for n in inits):
                folders = [folder]  # a regular package wins over namespace portions
                break
            folders = [*(folders or []), folder]
        self._packages[name] = folders
        return folders

    def find(self, name: str) -> tuple[Optional[str], Optional[str], tuple[str, ...], str]:
        """``(source, extension, foreign, folder)`` for a module: the ``.py`` file to read
        (a package's ``__init__.py``), the extension file the import system would load,
        the extension files of that name for another platform only, and their folder."""
        parent, _, last = name.rpartition(".")
        bases = self.search_path if not parent else (self.package_folders(parent) or [])
        foreign: list[str] = []
        where = ""
        for base in bases:
            names = self._listing(base).get(last, ())
            if not names:
                continue
            if last in names:  # a package first, as the import system looks
                folder = os.path.join(base, last)
                inits = self._listing(folder).get("__init__", ())
                source, extension, _ = self._pick(folder, "__init__", inits)
                if source or extension:
                    return source, extension, (), folder
            source, extension, other = self._pick(base, last, names)
            if source or extension:
                return source, extension, (), base
            if other and not foreign:
                foreign, where = list(other), base
        return None, None, tuple(foreign), where

    def _pick(
        self, folder: str, stem: str, names: Iterable[str]
    ) -> tuple[Optional[str], Optional[str], tuple[str, ...]]:
        names = list(names)
        for suffix in self._suffixes:  # the import system's order: extensions first
            if stem + suffix in names:
                return None, os.path.join(folder, stem + suffix), ()
        if stem + _SOURCE in names:
            return os.path.join(folder, stem + _SOURCE), None, ()
        foreign = tuple(
            os.path.join(folder, n)
            for n in sorted(names)
            if n.startswith(stem + ".") and role_for(n) is Role.EXTENSION_MODULE
        )
        return None, None, foreign


def _static_truth(test: ast.expr, env: dict[str, str]) -> Optional[bool]:
    """The value of an ``if`` test Nuitka decides at compile time for the target:
    ``TYPE_CHECKING``, ``sys.platform == "..."`` / ``.startswith("...")``, ``os.name``."""
    if isinstance(test, ast.Name) and test.id == "TYPE_CHECKING":
        return False
    if isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING":
        return False
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _static_truth(test.operand, env)
        return None if inner is None else not inner
    if (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], (ast.Eq, ast.NotEq))
        and isinstance(test.comparators[0], ast.Constant)
        and isinstance(test.comparators[0].value, str)
    ):
        value = _known(test.left, env)
        if value is None:
            return None
        equal = value == test.comparators[0].value
        return equal if isinstance(test.ops[0], ast.Eq) else not equal
    if (
        isinstance(test, ast.Call)
        and isinstance(test.func, ast.Attribute)
        and test.func.attr == "startswith"
        and len(test.args) == 1
        and isinstance(test.args[0], ast.Constant)
        and isinstance(test.args[0].value, str)
    ):
        value = _known(test.func.value, env)
        return None if value is None else value.startswith(test.args[0].value)
    return None


def _known(node: ast.expr, env: dict[str, str]) -> Optional[str]:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        if node.value.id == "sys" and node.attr == "platform":
            return env.get("sys_platform")
        if node.value.id == "os" and node.attr == "name":
            return env.get("os_name")
    return None


def _imports(tree: ast.AST, env: dict[str, str]) -> Iterator[tuple[str, int, tuple[str, ...]]]:
    """``(module, level, names)`` of every import the tree makes, skipping the branches a
    static test rules out for the target; ``importlib.import_module("x")`` and
    ``__import__("x")`` with a constant count too (Nuitka follows them)."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If):
            truth = _static_truth(node.test, env)
            if truth is not False:
                stack.extend(node.body)
            if truth is not True:
                stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, 0, ()
        elif isinstance(node, ast.ImportFrom):
            yield node.module or "", node.level, tuple(a.name for a in node.names if a.name != "*")
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
            and not any(k.arg == "package" for k in node.keywords)
            and not node.args[0].value.startswith(".")
        ):
            yield node.args[0].value, 0, ()
        stack.extend(ast.iter_child_nodes(node))


def _absolute(module: str, level: int, package: str) -> Optional[str]:
    if level <= 0:
        return module or None
    parts = package.split(".") if package else []
    if level - 1 > len(parts) or not package:
        return None
    base = ".".join(parts[: len(parts) - (level - 1)])
    return f"{base}.{module}" if module else base or None


def _parents(name: str) -> Iterator[str]:
    parts = name.split(".")
    for end in range(1, len(parts) + 1):
        yield ".".join(parts[:end])


class _Walker:
    """Follows imports breadth-first from the main programs, reading each Python file once
    (bounded: :data:`MAX_FILES` files, :data:`MAX_SOURCE_BYTES` each); the standard
    library is not followed (the compiling Python's own: it fits what Nuitka builds)."""

    def __init__(
        self,
        locator: _Locator,
        env: dict[str, str],
        *,
        skip: Sequence[str] = (),
        max_files: int = MAX_FILES,
    ) -> None:
        self.locator = locator
        self.env = env
        self.skip = tuple(skip)
        self.max_files = max_files
        self.walk = _Walk()
        self._queue: deque[tuple[str, str]] = deque()
        self._seen: set[str] = set()
        self._skipped_tops: set[str] = set()
        paths = sysconfig.get_paths()
        stdlib = [paths.get("stdlib"), paths.get("platstdlib")]
        self._stdlib = {os.path.abspath(p) for p in stdlib if p}
        self._stdlib |= {os.path.join(p, "lib-dynload") for p in self._stdlib}

    def add(self, name: str, importer: str) -> None:
        for part in _parents(name):
            if part not in self._seen:
                self._queue.append((part, importer))

    def run(self) -> _Walk:
        while self._queue:
            name, importer = self._queue.popleft()
            if name in self._seen:
                continue
            self._seen.add(name)
            top = name.split(".", 1)[0]
            if top in self._skipped_tops or self._skipped(name):
                continue
            source, extension, foreign, folder = self.locator.find(name)
            if "." not in name and os.path.abspath(folder or os.sep) in self._stdlib:
                self._skipped_tops.add(top)
                continue
            if extension is not None or (source is None and foreign):
                self.walk.extensions[name] = Reached(
                    name, extension, (extension,) if extension else foreign, importer, folder
                )
            elif source is not None:
                self.read(name, source)
        return self.walk

    def _skipped(self, name: str) -> bool:
        top = name.split(".", 1)[0]
        if top in _STDLIB_NAMES or top == "__main__":
            return True
        return any(
            name == p or name.startswith(p + ".") or fnmatch.fnmatchcase(name, p) for p in self.skip
        )

    def read(self, name: str, path: str) -> None:
        """Read one Python file's imports (a file that cannot be read or parsed is left to
        the full check: Nuitka says what it makes of it)."""
        if self.walk.files >= self.max_files:
            self.walk.truncated = True
            return
        self.walk.files += 1
        self.walk.sources[name] = path
        try:
            tree = ast.parse(read_regular(path, MAX_SOURCE_BYTES), filename=path)
        except (OSError, ValueError, SyntaxError, RecursionError, MemoryError):
            return
        is_package = os.path.basename(path) == "__init__.py"
        package = name if is_package else name.rpartition(".")[0]
        for module, level, names in _imports(tree, self.env):
            absolute = _absolute(module, level, package)
            if absolute is None:
                continue
            self.add(absolute, name)
            for item in names:
                self.add(f"{absolute}.{item}", name)


# -- the preflight -------------------------------------------------------------------------------


@dataclass
class PreflightResult:
    """What the preflight did: the Python files it read, the distributions it found, the
    extension modules it judged, how long it took, and what to print (a stop, or nothing:
    warnings wait for the full check)."""

    files_read: int
    distributions: list[Distribution]
    extensions: int
    seconds: float
    messages: list[Message]
    truncated: bool = False

    @property
    def stopped(self) -> bool:
        return any(m.level is Level.STOP for m in self.messages)


class Preflight:
    """One preflight, with a fresh :class:`Guard` (the full check's findings stay its own).

    ``macos_import_check``: Nuitka rejects an extension module without the target's slice
    when it runs on macOS (its ``file`` test), so such a module is dropped, not included."""

    def __init__(
        self,
        target: Target,
        settings: Settings,
        *,
        search_path: Optional[Sequence[str]] = None,
        nofollow: Sequence[str] = (),
        max_files: int = MAX_FILES,
        macos_import_check: Optional[bool] = None,
    ) -> None:
        self.search_path = list(sys.path if search_path is None else search_path)
        self.guard = Guard(target, settings, search_path=self.search_path)
        self.target = target
        self.nofollow = tuple(nofollow)
        self.max_files = max_files
        if macos_import_check is None:  # asked at run time: Nuitka may be told it runs on macOS
            macos_import_check = sys.platform == "darwin"
        self.macos_import_check = macos_import_check
        self.environments = marker_environments(target)
        self.distributions: dict[str, Distribution] = {}
        self._requirers: set[str] = set()

    def run(self, mains: Sequence[str], extra_modules: Sequence[str] = ()) -> PreflightResult:
        start = time.monotonic()
        folders = [os.path.dirname(os.path.abspath(m)) for m in mains]
        locator = _Locator([*folders, *self.search_path])
        walker = _Walker(
            locator, self.environments[0], skip=self.nofollow, max_files=self.max_files
        )
        for main in mains:
            walker.read("__main__", os.path.abspath(main))
        for module in extra_modules:
            walker.add(module, "__main__")
        walk = walker.run()
        self._collect_owners(walk)
        imported = self._imported_extensions(walk)
        for dist, requirer in self._closure(dict(self.distributions)):
            if not _implicitly_imported(dist, imported.get(canonicalize_name(requirer), ())):
                continue
            self._requirers.add(requirer)
            for module in self._top_level_extensions(dist):
                walker.add(module, requirer)
        walk = walker.run()
        for reached in walk.extensions.values():
            self._check(reached)
        messages: list[Message] = []
        verdict = self.guard.verdict(Stage.PREFLIGHT)
        if verdict.stop:
            problem = self.guard.write_json()
            if problem:
                messages.append(Message(Level.WARNING, problem))
            messages.append(Message(Level.STOP, verdict.message or "stopped"))
        return PreflightResult(
            files_read=walk.files,
            distributions=list(self.distributions.values()),
            extensions=len(walk.extensions),
            seconds=time.monotonic() - start,
            messages=messages,
            truncated=walk.truncated,
        )

    def _check(self, reached: Reached) -> None:
        """An extension module Nuitka would include is checked as included; one it would not
        find (no file with this Python's suffix, or on macOS none with the target's slice)
        is the silent drop, as the full check reports it."""
        guard = self.guard
        importer = reached.importer
        by_distribution = importer in self._requirers
        same_package = importer.split(".")[0] == reached.name.split(".")[0]
        needers = () if same_package or by_distribution or importer == "__main__" else (importer,)
        path = reached.path
        if path is not None and self.macos_import_check and guard.is_foreign(path):
            path = None
        if path is not None:
            guard.check(path, Role.EXTENSION_MODULE, module_name=reached.name, needed_by=needers)
            return
        guard.check_missing_module(
            reached.name,
            needed_by=needers,
            extra_dirs=(reached.folder,) if reached.folder else (),
        )

    def _collect_owners(self, walk: _Walk) -> None:
        """The distributions that installed the files the walk reached."""
        paths = [*walk.sources.values()]
        paths += [p for r in walk.extensions.values() for p in r.candidates]
        for path in paths:
            dist = self.guard.checker.owner_of(path)
            if dist is not None and dist.kind == "pip":
                self.distributions.setdefault(dist.canonical_name, dist)

    def _imported_extensions(self, walk: _Walk) -> dict[str, list[str]]:
        """The files of the extension modules the walk reached, by the distribution that
        installed them."""
        found: dict[str, list[str]] = {}
        for reached in walk.extensions.values():
            for path in reached.candidates:
                dist = self.guard.checker.owner_of(path)
                if dist is not None:
                    found.setdefault(dist.canonical_name, []).append(path)
        return found

    def _closure(self, start: dict[str, Distribution]) -> Iterator[tuple[Distribution, str]]:
        """Distributions required by those reached (``Requires-Dist`` whose markers hold for
        the target; under an extra only when a requirement names it), each with the name
        of one that requires it."""
        index = self.guard.checker.index
        reader = self.guard.checker.metadata
        queue: deque[tuple[Distribution, tuple[str, ...]]] = deque((d, ()) for d in start.values())
        done: set[tuple[str, tuple[str, ...]]] = set()
        while queue:
            dist, extras = queue.popleft()
            key = (dist.canonical_name, extras)
            if key in done or not dist.location or dist.location.endswith(".egg-info"):
                continue
            done.add(key)
            headers = reader.headers(os.path.join(dist.location, "METADATA"), optional=True)
            for text in headers.get("Requires-Dist", []):
                try:
                    requirement = Requirement(text)
                except InvalidRequirement:
                    continue
                if not any(_holds(requirement.marker, self.environments, e) for e in ("", *extras)):
                    continue
                wanted = index.get(requirement.name)
                if wanted is None or wanted.kind != "pip":
                    continue
                if wanted.canonical_name not in self.distributions:
                    self.distributions[wanted.canonical_name] = wanted
                    yield wanted, dist.name
                queue.append((wanted, tuple(sorted(requirement.extras))))

    def _top_level_extensions(self, dist: Distribution) -> Iterator[str]:
        """A required distribution's top-level extension modules (``_cffi_backend``): what
        its dependents load through it, often from C where ``ast`` cannot see it."""
        if not dist.location:
            return
        reader = self.guard.checker.metadata
        for row in reader.record_paths(os.path.join(dist.location, "RECORD")):
            rel = row.replace("\\", "/")
            if "/" in rel or role_for(rel) is not Role.EXTENSION_MODULE:
                continue
            yield _module_name_of(rel)


# Nuitka's implicit-imports plugin adds ``_cffi_backend`` to an extension module whose
# distribution requires cffi and whose file holds the name; nothing else of a required
# distribution's top level is added without an import the walk would see.
_IMPLICIT_BACKENDS = {"cffi": b"_cffi_backend"}
_SCAN_LIMIT = 256 * 1024 * 1024


def _implicitly_imported(dist: Distribution, requirer_files: Iterable[str]) -> bool:
    """Whether Nuitka would add ``dist``'s top-level extension modules to a build through
    its implicit imports: ``dist`` is cffi and an imported extension module of the
    distribution that requires it names ``_cffi_backend`` (Nuitka's own test)."""
    needle = _IMPLICIT_BACKENDS.get(dist.canonical_name)
    return needle is not None and any(_file_holds(path, needle) for path in requirer_files)


def _file_holds(path: str, needle: bytes) -> bool:
    """Whether the regular file ``path`` holds ``needle`` within its first 256 MiB (read in
    chunks; an unreadable file holds nothing: the full check judges it)."""
    try:
        fd, _ = open_regular(path)
    except OSError:
        return False
    tail, done = b"", 0
    try:
        while done < _SCAN_LIMIT:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return False
            if needle in tail + chunk:
                return True
            tail, done = chunk[-len(needle) :], done + len(chunk)
        return False
    except OSError:
        return False
    finally:
        os.close(fd)


def preflight_summary(result: PreflightResult) -> str:
    """The line a build prints after the preflight (the stop, if any, is printed before)."""
    files = plural(result.files_read, "Python file")
    dists = plural(len(result.distributions), "distribution")
    modules = plural(result.extensions, "extension module")
    head = f"preflight: {files} read, {dists}, {modules} checked in {result.seconds:.2f} s"
    if result.stopped:
        return head + "."
    more = "; stopped reading past the limit" if result.truncated else ""
    return f"{head}: no errors{more} (the full check follows)."


def preflight(
    mains: Sequence[str],
    target: Target,
    settings: Settings,
    *,
    search_path: Optional[Sequence[str]] = None,
    nofollow: Sequence[str] = (),
    extra_modules: Sequence[str] = (),
    macos_import_check: Optional[bool] = None,
) -> PreflightResult:
    """Run the preflight for the main programs ``mains`` (see the module's docstring)."""
    checker = Preflight(
        target,
        settings,
        search_path=search_path,
        nofollow=nofollow,
        macos_import_check=macos_import_check,
    )
    return checker.run(mains, extra_modules)
