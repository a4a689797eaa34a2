"""The archguard plugin's logic, kept free of Nuitka so it can be tested anywhere.

The plugin file (``archguard.py``) only translates Nuitka's objects (modules, entry points,
data files, options) into plain facts (:class:`ModuleFacts`, :class:`EntryPointFacts`) and
calls on :class:`Session`, and prints the :class:`Message` values it gets back; everything
that decides, finds, words or writes lives here: when to stop (:class:`Stage`), which module
imports which, how a relative import resolves, which folders a stopped build leaves behind.
That split is what lets the plugin's decisions, the macOS paths included, be tested on any
machine without Nuitka.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
import os
import platform as _platform
import re
import shutil
import sys
import sysconfig
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Callable, Optional

from .. import archs
from ..binaries import BinaryReadError, inspect_file
from ..check.config import Config, ConfigError, load_config, table_name
from ..check.policy import Code, Finding, Role, Severity, check_binary, internal_error
from ..check.report import render_text
from ..check.scan import AllowRule, Checker, ScanReport, allow_rules
from ..common import PLUGIN_NAME, plural
from ..target import Target, TargetError, host_target, macos_target
from ..text import shown

ALLOW_OPTION = "--archguard-allow"
"""The option a plugin user types to accept a finding (the scanner's is ``--allow``)."""
PREFLIGHT_OPTION = "--archguard-preflight"
"""The option that turns the preflight (``preflight.py``) on or off."""

__all__ = [
    "PLUGIN_NAME",
    "ConfigError",
    "EntryPointFacts",
    "ExtensionFinder",
    "Guard",
    "ImportAttempt",
    "Level",
    "Message",
    "Mode",
    "ModuleFacts",
    "OutputFolders",
    "Session",
    "Settings",
    "Stage",
    "Verdict",
    "entry_point_role",
    "macos_archs",
    "merge_settings",
    "missing_imports",
    "plugin_target",
    "project_config",
    "python_min_macos",
    "report_items",
]


class Mode(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"


class Stage(str, enum.Enum):
    """When a verdict is given: the two points where a stop still saves the user's time."""

    PREFLIGHT = "before the C compilation, in the preflight"
    """Before Nuitka compiles anything: the program's imports, read (``preflight.py``)."""
    EARLY = "before the C compilation"
    LATE = "before the distribution folder is finished"


@dataclass(frozen=True)
class Settings:
    """The plugin options after merging ``[tool.archguard]`` (command line wins)."""

    mode: Mode = Mode.ERROR
    allow: tuple[str, ...] = ()
    min_os: Optional[str] = None
    strict_min_os: bool = False
    report_path: Optional[str] = None
    min_os_from: Optional[str] = None
    """Where ``min_os`` came from when not from the command line (the project's table), so
    that a bad value names its file."""
    allow_rules: tuple[AllowRule, ...] = field(default=(), compare=False)
    """:attr:`allow` as rules that know where they were written (``[tool.archguard]`` or
    ``--archguard-allow``); empty: made from :attr:`allow`."""


def merge_settings(
    *,
    mode: Optional[str],
    allow: Iterable[str],
    min_os: Optional[str],
    strict_min_os: bool,
    report_path: Optional[str],
    project: Optional[Config] = None,
) -> Settings:
    """Plugin options over ``[tool.archguard]`` (``project``), over defaults.

    Allow lists add up: a project-wide allowance and a one-off ``--archguard-allow`` both
    apply. The project's ``target`` is not used: Nuitka decides what it builds for.
    Raises ``ValueError`` for a mode that is neither error nor warning.
    """
    project = project or Config()
    return Settings(
        mode=Mode(str(mode or Mode.ERROR.value).lower()),
        allow=tuple(dict.fromkeys((*project.allow, *(allow or ())))),
        allow_rules=allow_rules(project, allow or (), ALLOW_OPTION),
        min_os=min_os or project.min_os,
        strict_min_os=bool(strict_min_os or project.strict_min_os),
        report_path=report_path or None,
        min_os_from=table_name(project) if not min_os and project.min_os else None,
    )


def project_config(directory: Optional[str] = None) -> Config:
    """``[tool.archguard]`` of the project being built (the current directory, as for
    ``nuitka-archguard scan``). Raises :class:`ConfigError` (a ``ValueError``-like usage
    error for the plugin) when the table cannot be used."""
    return load_config(directory)


# -- target -----------------------------------------------------------------------------------

_NUITKA_MACOS_ARCHS = frozenset({"x86_64", "arm64"})
"""What ``--macos-target-arch`` builds for besides ``universal``."""


def macos_archs(option: Optional[str], host_arch: str) -> frozenset[str]:
    """The architectures a macOS build needs, from ``--macos-target-arch``.

    ``None``/``native`` is the architecture the compiling Python runs as (``x86_64`` under
    Rosetta 2 even on an arm64 Mac), ``universal`` means both slices (Nuitka 2.x accepts it;
    4.x offers arm64 and x86_64 only).
    """
    value = (option or "native").strip().lower()
    if value == "native":
        value = host_arch.strip().lower()
    if value in ("universal", "universal2"):
        return archs.UNIVERSAL2
    arch = archs.ALIASES[archs.Platform.MACOS].get(value, value)
    if arch not in _NUITKA_MACOS_ARCHS:
        raise TargetError(f"unknown --macos-target-arch value {option!r}")
    return frozenset({arch})


def python_min_macos(executable: str, wanted_archs: Iterable[str]) -> Optional[str]:
    """The minimum macOS of the Python binary: what Nuitka itself compiles for (it reads
    the same value from ``sys.executable``). Prefers a non-arm64 slice, since arm64 code
    runs on macOS 11 or later anyway; ``None`` when the file says nothing."""
    try:
        info = inspect_file(executable)
    except (BinaryReadError, OSError):
        return None
    wanted = set(wanted_archs)
    slices = [s for s in info.slices if s.min_os and (s.arch in wanted or not wanted)]
    slices.sort(key=lambda s: s.arch.startswith("arm64"))
    return slices[0].min_os if slices else None


def plugin_target(
    *,
    platform: str,
    macos_target_arch: Optional[str] = None,
    host_arch: Optional[str] = None,
    min_os: Optional[str] = None,
    min_os_from: Optional[str] = None,
    python_executable: Optional[str] = None,
) -> Target:
    """The target a Nuitka build produces: on macOS from ``--macos-target-arch`` with the
    minimum OS from ``--archguard-min-os``, else the Python binary's own minimum, else its
    ``MACOSX_DEPLOYMENT_TARGET``; elsewhere the compiling interpreter (Nuitka cannot cross
    compile there). ``min_os_from``: where a ``min_os`` not given on the command line was
    read (:attr:`Settings.min_os_from`), named when it is bad."""
    if platform != "darwin":
        return host_target()
    wanted = macos_archs(macos_target_arch, host_arch or _platform.machine() or "x86_64")
    if min_os is not None:
        try:
            return macos_target(wanted, min_os)  # the user's value: a bad one is an error
        except TargetError as error:
            if min_os_from is None:
                raise
            raise TargetError(f"{min_os_from} min-os: {error}") from None
    derived = python_min_macos(python_executable, wanted) if python_executable else None
    if derived is None:
        value = sysconfig.get_config_var("MACOSX_DEPLOYMENT_TARGET")
        derived = str(value) if value else None
    try:
        return macos_target(wanted, derived)
    except TargetError:  # an odd value in the interpreter's build: check without a minimum
        return macos_target(wanted, None)


# -- roles ------------------------------------------------------------------------------------

_ENTRY_POINT_ROLES = {
    "extension": Role.EXTENSION_MODULE,
    "dll": Role.SHARED_LIBRARY,
    "exe": Role.EXECUTABLE,
    "executable": Role.EXECUTABLE,
}


def entry_point_role(kind: str) -> Optional[Role]:
    """The role of a Nuitka standalone entry point kind; ``None`` for ignored ones."""
    if kind.endswith("_ignored"):
        return None
    return _ENTRY_POINT_ROLES.get(kind)


# -- the silent drop --------------------------------------------------------------------------

_SUFFIX = re.compile(r"(?:\.[A-Za-z0-9_\-]+)*\.(?:so|pyd)\Z")


def folder_listing(directory: str, cache: dict[str, dict[str, list[str]]]) -> dict[str, list[str]]:
    """A folder's names by their stem (``_cffi_backend`` -> its files), listed once per
    ``cache``: module lookups ask the same folders again and again. An unreadable folder
    lists nothing."""
    listing = cache.get(directory)
    if listing is None:
        listing = {}
        try:
            names = os.listdir(directory)
        except OSError:
            names = []
        for name in names:
            listing.setdefault(name.split(".", 1)[0], []).append(name)
        cache[directory] = listing
    return listing


class ExtensionFinder:
    """Finds extension-module files for a module name that Nuitka could not find.

    Nuitka looks only for the running interpreter's suffixes (and on macOS rejects a file
    without the target slice), so ``_cffi_backend.cpython-311-aarch64-linux-gnu.so`` is
    invisible to an x86_64 build. This looks for *any* ``NAME[.tag].so|.pyd``; each
    directory is listed once.
    """

    def __init__(self, search_path: Sequence[str]) -> None:
        self._search_path = [p for p in dict.fromkeys(search_path) if p]
        self._listings: dict[str, dict[str, list[str]]] = {}

    def candidates(self, module_name: str, extra_dirs: Iterable[str] = ()) -> list[str]:
        parts = [p for p in module_name.split(".") if p]
        if not parts:
            return []
        stem = parts[-1]
        dirs = [os.path.join(base, *parts[:-1]) for base in self._search_path]
        dirs.extend(extra_dirs)
        found: list[str] = []
        for directory in dict.fromkeys(dirs):
            for name in self._listing(directory).get(stem, ()):
                path = os.path.join(directory, name)
                if name == stem:
                    package = self._listing(path).get("__init__", ())
                    found.extend(
                        os.path.join(path, n)
                        for n in package
                        if _SUFFIX.fullmatch(n[len("__init__") :])
                    )
                elif _SUFFIX.fullmatch(name[len(stem) :]):
                    found.append(path)
        return found

    def _listing(self, directory: str) -> dict[str, list[str]]:
        return folder_listing(directory, self._listings)


# -- the guard --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """What to do at a stage: ``stop`` with ``message`` (error mode, errors found), or warn
    with ``message``, or print ``summary`` (a clean or warning-only outcome)."""

    stop: bool
    message: Optional[str] = None
    summary: Optional[str] = None


class Guard:
    """One build's checks. Every entry point swallows its own failures: an internal error
    becomes an ``unreadable-binary`` finding naming the file, never a traceback."""

    def __init__(
        self,
        target: Target,
        settings: Settings,
        *,
        search_path: Optional[Sequence[str]] = None,
    ) -> None:
        self.target = target
        self.settings = settings
        self._search_path = list(sys.path if search_path is None else search_path)
        self.checker = Checker(
            target,
            strict_min_os=settings.strict_min_os,
            allow=settings.allow_rules or settings.allow,
            search_paths=self._search_path,
            min_os_option="--archguard-min-os",
        )
        self._finder = ExtensionFinder(self._search_path)
        self._seen: set[str] = set()
        self._missing_seen: set[str] = set()
        self._internal: list[Finding] = []
        self._reported: set[tuple[str, str, Optional[str], str]] = set()
        self._half_fixed = _half_fixed(self._search_path)

    # -- collecting ---------------------------------------------------------------------------

    def check(
        self,
        path: str,
        role: Optional[Role],
        *,
        module_name: Optional[str] = None,
        needed_by: Iterable[str] = (),
        loaded: bool = False,
    ) -> None:
        """Check one file Nuitka includes (``role`` None: a data file, judged by its name
        and header); the same file twice counts once. ``loaded``: a DLL Nuitka includes
        as one (a dependency, or its package configuration's DLL for this arch)."""
        key = _key(path)
        if key in self._seen:
            return
        self._seen.add(key)
        try:
            self.checker.check_file(
                path,
                role,
                module_name=module_name,
                needed_by=self._needers(path, needed_by),
                loaded=loaded,
            )
        except Exception as error:
            self.record_internal_error(path, error)

    def check_missing_module(
        self,
        module_name: str,
        *,
        needed_by: Iterable[str] = (),
        extra_dirs: Iterable[str] = (),
    ) -> Optional[Finding]:
        """A module the program needs that Nuitka did not find: if a file for another
        architecture or OS is all there is, that is the silent drop (foreign-extension-only).
        """
        if module_name in self._missing_seen:
            return None
        self._missing_seen.add(module_name)
        path = ""
        try:
            for path in self._finder.candidates(module_name, extra_dirs):
                if self.is_foreign(path):
                    return self.checker.add_foreign_extension(
                        module_name, path, needed_by=self._needers(path, needed_by)
                    )
        except Exception as error:
            self.record_internal_error(path or module_name, error)
        return None

    def _needers(self, path: str, modules: Iterable[str]) -> Optional[tuple[str, ...]]:
        """The modules that import a file, then the distributions that require its owner
        (``_cffi_backend`` needed by ``cryptography.hazmat.bindings._rust``, cryptography).
        ``None`` lets the checker fall back to the distributions alone."""
        names = [m for m in modules if m]
        if not names:
            return None
        return tuple(dict.fromkeys([*names, *self.checker.needed_by(self.checker.owner_of(path))]))

    def is_foreign(self, path: str) -> bool:
        """Whether an extension-module file lacks the target's arch or is for another OS:
        what Nuitka leaves out (the silent drop); the preflight asks it too."""
        try:
            info = inspect_file(path)
        except (BinaryReadError, OSError):
            return False
        if not info.is_binary:
            return False
        codes = {f.code for f in check_binary(info, self.target, Role.EXTENSION_MODULE)}
        return bool(codes & {Code.ARCH_MISSING, Code.PLATFORM_MISMATCH})

    def record_internal_error(self, path: str, error: BaseException) -> None:
        self._internal.append(internal_error(path, self.target, error))

    # -- judging ------------------------------------------------------------------------------

    def report(self) -> ScanReport:
        report = self.checker.report()
        if self._internal:
            report = dataclasses.replace(report, findings=[*report.findings, *self._internal])
        return report

    def verdict(self, stage: Stage) -> Verdict:
        """Judge everything collected so far; findings already shown are not repeated."""
        if self._half_fixed is not None:  # judging a half-replaced environment is wrong
            message, self._half_fixed = self._half_fixed, None
            return Verdict(stop=self.settings.mode is Mode.ERROR, message=message)
        report = self.report()
        new = [f for f in report.findings if _finding_key(f) not in self._reported]
        self._reported.update(_finding_key(f) for f in new)
        counted = [f for f in new if not f.allowed]
        errors = [f for f in counted if f.severity is Severity.ERROR]
        if not new:
            return Verdict(stop=False, summary=self.summary(report))
        shown = dataclasses.replace(report, findings=new)
        text = render_text(shown, allow_option=ALLOW_OPTION).rstrip()
        if errors and self.settings.mode is Mode.ERROR:
            head = (
                f"stopped {stage.value}: {plural(len(errors), 'binary')} would "
                f"fail on {self.target.describe()}."
            )
            from ..check.advice import fix_command_for

            command = fix_command_for(self.target, errors)
            if command:
                head += f"\nFix every offender at once: {command}"
            tail = (
                "Fix the environment as shown, or build anyway with --archguard-mode=warning, "
                f"or accept a finding with {ALLOW_OPTION}=NAME[:REASON]."
            )
            if stage is Stage.PREFLIGHT:
                tail += (
                    "\nFound by the preflight, before Nuitka's compilation; "
                    f"{PREFLIGHT_OPTION}=no leaves the check to the full one after it."
                )
            return Verdict(stop=True, message=f"{head}\n{text}\n{tail}")
        if not counted:
            return Verdict(stop=False, message=text, summary=self.summary(report))
        head = (
            f"{plural(len(errors), 'error')} and {plural(len(counted) - len(errors), 'warning')} "
            f"for {self.target.describe()} (mode {self.settings.mode.value}, the build goes on):"
        )
        return Verdict(stop=False, message=f"{head}\n{text}", summary=self.summary(report))

    def summary(self, report: Optional[ScanReport] = None) -> str:
        """The one line a build prints at its end."""
        report = report or self.report()
        errors, warnings = len(report.errors), len(report.warnings)
        checked = f"{plural(report.binaries, 'binary')} checked for {self.target.describe()}"
        counted = "".join(
            f"; {plural(count, 'binary')} {what}"
            for count, what in (
                (report.variants_for_target, "for other platforms with a variant for the target"),
                (report.skipped_other_os, "for other OSes skipped"),
                (report.too_large, "not checked: too large to inspect"),
            )
            if count
        )
        if not errors and not warnings:
            allowed = len(report.allowed)
            note = f" ({plural(allowed, 'allowed finding')})" if allowed else ""
            return f"{checked}: all consistent{note}{counted}."
        return f"{checked}: {plural(errors, 'error')}, {plural(warnings, 'warning')}{counted}."

    def write_json(self) -> Optional[str]:
        """Write the scan-schema JSON report if asked; returns an error text on failure."""
        if not self.settings.report_path:
            return None
        try:
            path = self.settings.report_path
            directory = os.path.dirname(os.path.abspath(path))
            os.makedirs(directory, exist_ok=True)
            with open(path, "w", encoding="utf-8") as stream:
                json.dump(self.report().to_json(), stream, indent=2)  # strict UTF-8 (to_json)
                stream.write("\n")
        except (OSError, TypeError, ValueError) as error:
            return f"cannot write the report {self.settings.report_path!r}: {error}"
        return None


def _half_fixed(search_path: Sequence[str]) -> Optional[str]:
    """The error for an environment on the search path that a ``fix`` left half-done."""
    from ..state import half_fixed_near

    return half_fixed_near(search_path)


def report_items(
    report: ScanReport,
    mode: Mode,
    make_report_path: Optional[Callable[[str], str]] = None,
) -> list[tuple[str, str]]:
    """Key/value strings for Nuitka's ``--report`` XML (plugin data must be strings)."""
    items = [
        ("target", report.target.name),
        ("mode", mode.value),
        ("binaries_checked", str(report.binaries)),
        ("errors", str(len(report.errors))),
        ("warnings", str(len(report.warnings))),
    ]
    for number, finding in enumerate(report.findings, 1):
        path = finding.path
        if make_report_path is not None:
            with contextlib.suppress(Exception):
                path = str(make_report_path(path))
        dist = finding.distribution
        owner = f" [{dist.name} {dist.version}]" if dist is not None else ""
        state = "allowed " if finding.allowed else ""
        text = (
            f"{state}{finding.severity.value} {finding.code.value} {path}{owner}: "
            f"{finding.message}" + (f" Fix: {finding.fix}" if finding.fix else "")
        )
        items.append((f"finding_{number}", shown(text)))
    return items


def _finding_key(finding: Finding) -> tuple[str, str, Optional[str], str]:
    return (finding.code.value, finding.path, finding.module, finding.message)


def _key(path: str) -> str:
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return path


# -- what the plugin learns from Nuitka, as plain data ------------------------------------------


@dataclass(frozen=True)
class ImportAttempt:
    """An import a module made that Nuitka did not locate: the name as written and its
    relative level (0 for ``import x``, 1 for ``from . import x``, 2 for ``from .. import``)."""

    name: str
    level: int = 0


@dataclass(frozen=True)
class ModuleFacts:
    """What the plugin needs to know of one Nuitka module object."""

    name: str
    filename: Optional[str] = None
    is_extension: bool = False
    is_package: bool = False
    not_found: tuple[ImportAttempt, ...] = ()
    implicit_imports: tuple[str, ...] = ()
    """What Nuitka's implicit-imports plugin adds for it (``_cffi_backend`` for cffi users:
    Nuitka 4.x adds it to cryptography's Rust extension module, 2.x to the ``cryptography``
    package, a Python module): that plugin skips the ones it cannot locate without a word."""

    @property
    def package(self) -> str:
        """The package its relative imports start from ('' for a top-level module)."""
        return self.name if self.is_package else self.name.rpartition(".")[0]

    @property
    def folder(self) -> Optional[str]:
        """The directory its relative imports live in."""
        if not self.filename:
            return None
        if os.path.isdir(self.filename):  # Nuitka gives a package its folder
            return self.filename
        return os.path.dirname(self.filename)


@dataclass(frozen=True)
class EntryPointFacts:
    """One of Nuitka's standalone entry points (an extension module, DLL or executable)."""

    kind: str
    source_path: str
    module_name: Optional[str] = None
    reason: str = ""


def missing_imports(module: ModuleFacts) -> Iterator[str]:
    """The full names a module's not-found imports may stand for: the name as Nuitka gives
    it, and for a relative import the name resolved against the module's package (``from .
    import _bcrypt`` in ``bcrypt/__init__.py`` is ``bcrypt._bcrypt``), as Python resolves it:
    level 2 starts one package up."""
    for attempt in module.not_found:
        if not attempt.name:
            continue
        yield attempt.name
        if attempt.level <= 0 or not module.package:
            continue
        parts = module.package.split(".")
        if attempt.level - 1 >= len(parts):
            continue  # beyond the top-level package: Python raises ImportError too
        base = ".".join(parts[: len(parts) - (attempt.level - 1)])
        if not attempt.name.startswith(base + "."):
            yield f"{base}.{attempt.name}"


# -- what the plugin prints ----------------------------------------------------------------------


class Level(str, enum.Enum):
    """How Nuitka shows a message: ``STOP`` ends the build (Nuitka's FATAL)."""

    INFO = "info"
    WARNING = "warning"
    STOP = "stop"


@dataclass(frozen=True)
class Message:
    """One line (or block) for Nuitka to print: every line is printable text
    (:func:`..text.shown`), whatever names it carries."""

    level: Level
    text: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", "\n".join(shown(x) for x in self.text.split("\n")))


# -- the folders a stopped build leaves behind ---------------------------------------------------

_NUITKA_FOLDER_SUFFIXES = (".build", ".dist", ".onefile-build", ".app")


@dataclass(frozen=True)
class OutputFolders:
    """Nuitka's output folders as they were before the build began, so that a stopped build
    removes the ones it created (the generated C of a build that stops before the C
    compilation, an empty ``.dist``) and never one that was there before."""

    directory: str
    existed: bool
    before: frozenset[str]

    @classmethod
    def snapshot(cls, directory: str) -> OutputFolders:
        try:
            names = frozenset(os.listdir(directory))
        except OSError:
            return cls(directory, existed=os.path.lexists(directory), before=frozenset())
        return cls(directory, existed=True, before=names)

    def created(self) -> list[str]:
        """Build folders (``NAME.build``, ``NAME.dist``, ...) that were not there before."""
        try:
            names = sorted(os.listdir(self.directory))
        except OSError:
            return []
        return [
            os.path.join(self.directory, name)
            for name in names
            if name.endswith(_NUITKA_FOLDER_SUFFIXES)
            and name not in self.before
            and os.path.isdir(os.path.join(self.directory, name))
            and not os.path.islink(os.path.join(self.directory, name))
        ]

    def remove_created(self, keep: Optional[str] = None) -> list[str]:
        """Remove the build folders this build created (not one holding ``keep``, the JSON
        report), then the output directory itself if the build created it and it is empty.
        Returns what was removed; failures are ignored (a stop must not turn into a crash)."""
        kept = os.path.abspath(keep) if keep else None
        removed: list[str] = []
        for path in self.created():
            if kept and kept.startswith(os.path.abspath(path) + os.sep):
                continue
            shutil.rmtree(path, ignore_errors=True)
            if not os.path.lexists(path):
                removed.append(path)
        if not self.existed:
            with contextlib.suppress(OSError):
                os.rmdir(self.directory)  # only succeeds when empty
                removed.append(self.directory)
        return removed


# -- one build -----------------------------------------------------------------------------------


class Session:
    """One Nuitka build as the plugin sees it: who imports what, which modules, DLLs and
    data files were checked, and the two stops.

    The early stop (:attr:`Stage.EARLY`) fires at the first of the hooks that run before the
    Scons C compilation, the late one (:attr:`Stage.LATE`) at the first of those that run
    before the distribution folder is finished; each fires once, and the late one never
    skips the early verdict. ``make_guard`` is called on first use, when Nuitka's options are
    final.
    """

    def __init__(self, make_guard: Callable[[], Guard]) -> None:
        self._make_guard = make_guard
        self._guard: Optional[Guard] = None
        self._importers: dict[str, str] = {}
        self._early_done = False
        self._late_done = False
        self._summary_done = False
        self.folders: Optional[OutputFolders] = None
        """Set when the build starts; a stop then removes the folders the build created."""

    @property
    def guard(self) -> Guard:
        if self._guard is None:
            self._guard = self._make_guard()
        return self._guard

    # -- who imports what -----------------------------------------------------------------------

    def record_import(self, module_name: Optional[str], user: Optional[str]) -> None:
        """``user`` imports ``module_name``; the first importer is the one named."""
        if module_name and user and module_name not in self._importers:
            self._importers[module_name] = user

    def needers(self, module_name: str) -> tuple[str, ...]:
        """Who imports a module, unless it is its own package (bcrypt imports
        bcrypt._bcrypt: saying so adds nothing)."""
        user = self._importers.get(module_name)
        if not user or user.split(".")[0] == module_name.split(".")[0]:
            return ()
        return (user,)

    # -- checking -------------------------------------------------------------------------------

    def check_modules(self, modules: Iterable[ModuleFacts]) -> None:
        """Nuitka's complete module set: every extension module, and every module one of
        them needs that Nuitka did not find (the silent drop)."""
        modules = tuple(modules)
        done = {m.name for m in modules}
        for module in modules:
            try:
                self._check_module(module, done)
            except Exception as error:
                self.guard.record_internal_error(module.filename or module.name, error)

    def _check_module(self, module: ModuleFacts, done: set[str]) -> None:
        guard = self.guard
        if module.is_extension and module.filename:
            guard.check(
                module.filename,
                Role.EXTENSION_MODULE,
                module_name=module.name,
                needed_by=self.needers(module.name),
            )
        missing_here = [name for name in missing_imports(module) if name not in done]
        folder = module.folder if missing_here else None  # a stat: only when it is asked
        nearby = (folder,) if folder else ()
        for missing in missing_here:
            # The importer's own folder matters only for its own package's modules.
            extra = nearby if missing.rpartition(".")[0] == module.package else ()
            guard.check_missing_module(missing, needed_by=(module.name,), extra_dirs=extra)
        for missing in module.implicit_imports:
            if missing not in done and missing != module.name:
                guard.check_missing_module(missing, needed_by=(module.name,))

    def check_data_file(self, source: Optional[str], *, kind: str, tags: Iterable[str]) -> None:
        """A data file Nuitka copies: binaries among them are checked (not inhibited ones)."""
        if kind != "data_file" or not source or "inhibit" in set(tags):
            return
        self.check_safely(source, lambda: self.guard.check(source, None))

    def check_entry_point(self, entry_point: EntryPointFacts) -> None:
        """An extension module, DLL or executable of the standalone distribution."""
        self.check_safely(entry_point.source_path, lambda: self._check_entry(entry_point))

    def _check_entry(self, entry_point: EntryPointFacts) -> None:
        role = entry_point_role(entry_point.kind)
        if role is None or entry_point.reason == "main binary" or not entry_point.source_path:
            return
        module = entry_point.module_name
        if role is Role.EXTENSION_MODULE and module:
            needers = self.needers(module)
        else:
            needers = (module,) if module else ()
        self.guard.check(
            entry_point.source_path,
            role,
            module_name=module if role is Role.EXTENSION_MODULE else None,
            needed_by=needers,
            loaded=role is Role.SHARED_LIBRARY,
        )

    def check_safely(self, what: str, action: Callable[[], None]) -> None:
        """Run one piece of checking; a bug in it becomes a finding about ``what``."""
        try:
            action()
        except Exception as error:
            self.guard.record_internal_error(what or "?", error)

    # -- the stops ------------------------------------------------------------------------------

    def early(self, *, standalone: bool) -> list[Message]:
        """The verdict before the C compilation, once. Outside standalone mode it is the
        last one, so it carries the summary line too."""
        if self._early_done:
            return []
        self._early_done = True
        return self._judge(Stage.EARLY, summary=not standalone)

    def late(self, entry_points: Iterable[EntryPointFacts] = ()) -> list[Message]:
        """The verdict on the DLLs found after Scons, once, after the early one."""
        if self._late_done:
            return []
        self._late_done = True
        messages = self.early(standalone=True)
        if any(m.level is Level.STOP for m in messages):
            return messages
        for entry_point in entry_points:
            self.check_entry_point(entry_point)
        return [*messages, *self._judge(Stage.LATE, summary=False)]

    def finish(self) -> list[Message]:
        """The distribution folder is done: the summary line, once."""
        if self._summary_done:
            return []
        self._summary_done = True
        return [Message(Level.INFO, self.guard.summary())]

    def _judge(self, stage: Stage, *, summary: bool) -> list[Message]:
        guard = self.guard
        verdict = guard.verdict(stage)
        messages: list[Message] = []
        problem = guard.write_json()
        if problem:
            messages.append(Message(Level.WARNING, problem))
        if verdict.stop:
            if self.folders is not None:
                self.folders.remove_created(keep=guard.settings.report_path)
            messages.append(Message(Level.STOP, verdict.message or "stopped"))
            return messages
        if verdict.message:
            messages.append(Message(Level.WARNING, verdict.message))
        if summary and verdict.summary and not self._summary_done:
            self._summary_done = True
            messages.append(Message(Level.INFO, verdict.summary))
        return messages

    def report_items(
        self, make_report_path: Optional[Callable[[str], str]] = None
    ) -> list[tuple[str, str]]:
        """Key/value strings for Nuitka's ``--report`` XML; none before anything ran."""
        if self._guard is None:
            return []
        try:
            return report_items(self._guard.report(), self._guard.settings.mode, make_report_path)
        except Exception as error:
            return [("error", f"archguard could not summarize its findings: {error}")]
