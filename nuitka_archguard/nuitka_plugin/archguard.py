"""Nuitka plugin ``archguard``: stop a build that would ship binaries for the wrong CPU
architecture or OS, before the C compilation, naming the distribution and the fix.

Use: ``python -m nuitka --user-plugin="$(nuitka-archguard plugin-path)" ...`` or
``nuitka-archguard nuitka ...``. A thin adapter: it turns Nuitka's modules, DLL entry points
and data files into plain facts for :class:`nuitka_archguard.nuitka_plugin.support.Session`,
which decides (and is tested without Nuitka), and prints the messages it returns.

When it looks (Nuitka 4.x / 2.x):

* ``onModuleCompleteSet``: every extension module, and every module the program needs that
  Nuitka could not find although a file for another architecture exists (the silent drop);
* ``onDataFileTags``: binaries among the data files;
* ``onDllTags`` (4.x only): DLLs found by the early, pre-Scons DLL detection;
* ``getModuleIncludes`` (4.x: first asked as C code generation begins, after the early DLL
  detection), ``onDataComposerRun`` (both) and ``onGeneratedSourceCode`` (4.x): the first
  of them that fires stops the build, before the Scons C compilation, with one message.
* ``onCopiedDLL`` / ``onStandaloneDistributionFinished``: late DLLs (the main binary's and,
  on 2.x, all DLLs: 2.x detects them only after Scons), before data files are copied, the
  folder is finished and onefile packing.
* ``getReportData`` (4.x): the findings in Nuitka's ``--report`` XML.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import platform
import sys
from collections.abc import Iterable, Iterator
from typing import Any, Callable, Optional

from nuitka.plugins.PluginBase import (  # type: ignore[import-untyped,import-not-found,unused-ignore]
    NuitkaPluginBase,
)


def _load_package() -> None:
    """Make ``nuitka_archguard`` importable even when only this file's path was given to
    an interpreter that does not have the package installed (loaded from its own folder,
    without touching ``sys.path``, which Nuitka uses to find the program's modules)."""
    try:
        importlib.import_module("nuitka_archguard")
    except ImportError:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        spec = importlib.util.spec_from_file_location(
            "nuitka_archguard", os.path.join(root, "__init__.py"), submodule_search_locations=[root]
        )
        if spec is None or spec.loader is None:
            raise
        module = importlib.util.module_from_spec(spec)
        sys.modules["nuitka_archguard"] = module
        spec.loader.exec_module(module)


_LOAD_ERROR: Optional[str] = None
"""Why ``nuitka_archguard`` could not be imported (a dependency missing from the Python that
runs Nuitka): the plugin then stops the build with that, instead of a traceback."""
try:
    _load_package()

    from nuitka_archguard.nuitka_plugin.preflight import preflight, preflight_summary
    from nuitka_archguard.nuitka_plugin.support import (
        ConfigError,
        EntryPointFacts,
        Guard,
        ImportAttempt,
        Level,
        Message,
        Mode,
        ModuleFacts,
        OutputFolders,
        Session,
        merge_settings,
        plugin_target,
        project_config,
    )
except ImportError as error:
    _LOAD_ERROR = str(error)


def _options() -> Any:
    """Nuitka's options module: ``nuitka.options.Options`` from 4.0, ``nuitka.Options``
    before. Only called from hooks: the file is imported while options are still parsed."""
    try:
        return importlib.import_module("nuitka.options.Options")
    except ImportError:
        return importlib.import_module("nuitka.Options")


def _host() -> tuple[str, str]:
    """The compiling machine: ``sys.platform`` and the architecture Python runs as."""
    return sys.platform, platform.machine()


def _name(value: Any) -> Optional[str]:
    """A Nuitka ``ModuleName`` (or a module) as plain text."""
    if value is None:
        return None
    full_name = getattr(value, "getFullName", None)
    if callable(full_name):
        value = full_name()
    text = str(value.asString() if hasattr(value, "asString") else value)
    return text or None


class ArchguardPlugin(NuitkaPluginBase):  # type: ignore[misc,unused-ignore]
    """Checks every binary of the build against the target before Scons runs."""

    plugin_name = "archguard"  # nuitka_archguard.common.PLUGIN_NAME (tested equal)
    plugin_category = "feature"
    plugin_desc = (
        "Stop builds that would ship binaries for the wrong CPU architecture or OS, before "
        "the C compilation, naming the offending distribution and the fix."
    )

    @classmethod
    def addPluginCommandLineOptions(cls, group: Any) -> None:
        group.add_option(
            "--archguard-mode",
            action="store",
            dest="archguard_mode",
            choices=("error", "warning"),
            default=None,
            metavar="MODE",
            help="""\
'error' (default): stop the build before the C compilation when a binary does not fit the
target. 'warning': report the same findings as warnings and build anyway.""",
        )
        group.add_option(
            "--archguard-allow",
            action="append",
            dest="archguard_allow",
            default=[],
            metavar="PATTERN[:REASON]",
            help="""\
Accept findings for a distribution name, a module name or a path glob, with an optional
reason after ':'. Accepted findings are still listed. Can be given multiple times.""",
        )
        group.add_option(
            "--archguard-min-os",
            action="store",
            dest="archguard_min_os",
            default=None,
            metavar="VERSION",
            help="""\
macOS only: the oldest macOS the build must start on. Default is the one Nuitka compiles
for (the Python binary's minimum), else the Python's MACOSX_DEPLOYMENT_TARGET.""",
        )
        group.add_option(
            "--archguard-strict-min-os",
            action="store_true",
            dest="archguard_strict_min_os",
            default=False,
            help="macOS only: a binary needing a newer macOS than the minimum is an error.",
        )
        group.add_option(
            "--archguard-preflight",
            action="store",
            dest="archguard_preflight",
            choices=("yes", "no"),
            default="yes",
            metavar="yes|no",
            help="""\
'yes' (default): before Nuitka compiles anything, read the program's imports and check the
extension modules of the distributions they reach; an error stops the build within seconds
(warnings wait for the full check, which always runs). 'no': only the full check.""",
        )
        group.add_option(
            "--archguard-report",
            action="store",
            dest="archguard_report",
            default=None,
            metavar="FILE.json",
            help="Write the findings as JSON (the 'nuitka-archguard scan' schema) to this file.",
        )

    def __init__(
        self,
        archguard_mode: Optional[str] = None,
        archguard_allow: Optional[Iterable[str]] = None,
        archguard_min_os: Optional[str] = None,
        archguard_strict_min_os: bool = False,
        archguard_report: Optional[str] = None,
        archguard_preflight: Optional[str] = "yes",
    ) -> None:
        self._mode = archguard_mode
        self._allow = tuple(archguard_allow or ())
        self._min_os = archguard_min_os
        self._strict_min_os = bool(archguard_strict_min_os)
        self._report_path = archguard_report
        self._preflight = str(archguard_preflight or "yes").lower() != "no"
        if _LOAD_ERROR is not None:
            self.sysexit(
                f"cannot load the nuitka_archguard package ({_LOAD_ERROR}); install it into "
                f"the Python that runs Nuitka: {sys.executable} -m pip install nuitka-archguard",
                reporting=False,
            )
        self._session = Session(self._make_guard)
        # The preflight runs as the plugin loads: options are parsed (plugins are activated
        # after that, in Nuitka's re-executed process only), and Nuitka has not yet imported
        # its compiler, which takes seconds.
        self._run_preflight()

    # -- setup --------------------------------------------------------------------------------

    @property
    def guard(self) -> Guard:
        """Created on first use, inside a hook, when Nuitka's options are final."""
        return self._session.guard

    def _make_guard(self) -> Guard:
        parsed = getattr(_options(), "options", None)
        try:
            settings = merge_settings(
                mode=self._mode,
                allow=self._allow,
                min_os=self._min_os,
                strict_min_os=self._strict_min_os,
                report_path=self._report_path,
                project=project_config(),
            )
            host_platform, host_arch = _host()
            target = plugin_target(
                platform=host_platform,
                macos_target_arch=getattr(parsed, "macos_target_arch", None),
                host_arch=host_arch,
                min_os=settings.min_os,
                min_os_from=settings.min_os_from,
                python_executable=sys.executable,
            )
        except (ValueError, ConfigError) as error:  # bad target/settings: a usage error
            self.sysexit(f"{error}", reporting=False)
            raise  # pragma: no cover - sysexit does not return
        return Guard(target, settings)

    def _is_standalone(self) -> bool:
        try:
            return bool(_options().isStandaloneMode())
        except Exception:
            return False

    def _say(self, messages: Iterable[Message]) -> None:
        for message in messages:
            if message.level is Level.STOP:
                self.sysexit(message.text, reporting=False)
            elif message.level is Level.WARNING:
                self.warning(message.text)
            else:
                self.info(message.text)

    # -- discovery ----------------------------------------------------------------------------

    def onCompilationStartChecks(self) -> None:
        _ = self.guard  # a bad option or target stops the build now, not after the parse
        try:  # before Nuitka makes its .build/.dist folders: a stop removes only new ones
            self._session.folders = OutputFolders.snapshot(str(_options().getOutputDir()))
        except Exception:
            self._session.folders = None

    # -- the preflight: before Nuitka compiles anything -------------------------------------------

    def onBeforeCodeParsing(self) -> None:
        self._run_preflight()  # when the options could not be read as the plugin loaded

    def _run_preflight(self) -> None:
        if not self._preflight:
            return
        try:
            options = _options()
            standalone = bool(options.isStandaloneMode())
            mains = [str(m) for m in _main_files(options)]
            nofollow = [str(n) for n in options.getShallFollowInNoCase()]
            extra = [str(m) for m in (*options.getMustIncludeModules(),
                                      *options.getMustIncludePackages())]  # fmt: skip
        except Exception:
            return  # options not parsed yet: asked again before Nuitka parses the code
        self._preflight = False  # once
        guard = self.guard
        if guard.settings.mode is not Mode.ERROR or not standalone or not mains:
            return  # warnings wait for the full check; outside standalone nothing is included
        try:
            result = preflight(
                mains, guard.target, guard.settings, nofollow=nofollow, extra_modules=extra
            )
        except Exception as error:  # never a traceback: the full check still runs
            self.warning(f"preflight skipped (internal error: {type(error).__name__}: {error})")
            return
        if result.stopped and self._session.folders is not None:
            self._session.folders.remove_created(keep=guard.settings.report_path)
        self._say(result.messages)
        self.info(preflight_summary(result))

    def onModuleRecursion(
        self,
        module_name: Any,
        module_filename: Any,
        module_kind: Any,
        using_module_name: Any,
        source_ref: Any,
        reason: Any,
    ) -> None:
        self._session.record_import(_name(module_name), _name(using_module_name))

    def onModuleCompleteSet(self, module_set: Any) -> None:
        implicit = self._implicit_imports_plugin()
        facts: list[ModuleFacts] = []
        for module in tuple(module_set):
            try:
                facts.append(_module_facts(module, implicit))
            except Exception as error:
                self.guard.record_internal_error(_filename(module) or _name(module) or "?", error)
        self._session.check_modules(facts)

    @staticmethod
    def _implicit_imports_plugin() -> Any:
        """Nuitka's ``implicit-imports`` plugin: it adds imports that modules make where
        Nuitka cannot see them (``_cffi_backend`` for cffi users: 4.x asks for it for the
        extension module, 2.x for the ``cryptography`` package) and silently skips those it
        cannot locate, so archguard asks it again, for every module, which ones it wanted."""
        try:
            plugins = importlib.import_module("nuitka.plugins.Plugins")
            for plugin in plugins.getActivePlugins():
                if getattr(plugin, "plugin_name", None) == "implicit-imports":
                    return plugin
        except Exception:
            return None
        return None

    def onDataFileTags(self, included_datafile: Any) -> None:
        source = getattr(included_datafile, "source_path", None)
        self._session.check_data_file(
            str(source) if source else None,
            kind=str(getattr(included_datafile, "kind", "")),
            tags=tuple(getattr(included_datafile, "tags", None) or ()),
        )

    def onDllTags(self, included_entry_point: Any) -> None:
        path = str(getattr(included_entry_point, "source_path", None) or "?")
        try:
            facts = _entry_point_facts(included_entry_point)
        except Exception as error:
            self.guard.record_internal_error(path, error)
            return
        self._session.check_entry_point(facts)

    # -- the early stop: before Scons -----------------------------------------------------

    def getModuleIncludes(self, context: Any) -> tuple[str, ...]:
        # Asked for every compiled module as C code generation begins (Nuitka 4.x), right
        # after the early DLL detection: the earliest moment every early finding is known.
        self._early_stop()
        return ()

    def onDataComposerRun(self) -> None:
        self._early_stop()

    def onGeneratedSourceCode(self, source_dir: Any, onefile: Any) -> None:
        if not onefile:
            self._early_stop()

    def _early_stop(self) -> None:
        self._say(self._session.early(standalone=self._is_standalone()))

    # -- the late stop: DLLs found after Scons ------------------------------------------------

    def onCopiedDLL(self, dll_filename: Any) -> None:
        self._late_stop()

    def onStandaloneDistributionFinished(self, dist_dir: Any) -> None:
        self._late_stop()
        self._say(self._session.finish())

    def _late_stop(self) -> None:
        self._say(self._session.late(_late_entry_points()))

    # -- reporting ----------------------------------------------------------------------------

    def getReportData(self, make_report_path: Optional[Callable[[str], str]] = None) -> Any:
        return tuple(self._session.report_items(make_report_path))


# -- reading Nuitka's objects ------------------------------------------------------------------


def _main_files(options: Any) -> tuple[str, ...]:
    """The main programs Nuitka compiles (4.x may have several; 2.x has one positional);
    none for a module or package build."""
    if options.shallMakeModule():
        return ()
    getter = getattr(options, "getMainEntryPointFilenames", None)
    if callable(getter):
        return tuple(getter())
    positional = tuple(options.getPositionalArgs())
    return positional[:1]


def _late_entry_points() -> Iterator[EntryPointFacts]:
    """The standalone entry points known after Scons (the main binary's DLLs; on 2.x all)."""
    try:
        freezer = importlib.import_module("nuitka.freezer.IncludedEntryPoints")
        entry_points = tuple(freezer.getStandaloneEntryPoints())
    except Exception:
        return
    for entry_point in entry_points:
        try:
            yield _entry_point_facts(entry_point)
        except Exception:
            continue


def _entry_point_facts(entry_point: Any) -> EntryPointFacts:
    source = getattr(entry_point, "source_path", None)
    return EntryPointFacts(
        kind=str(entry_point.kind),
        source_path=str(source) if source else "",
        module_name=_name(getattr(entry_point, "module_name", None)),
        reason=str(getattr(entry_point, "reason", "") or ""),
    )


def _module_facts(module: Any, implicit: Any) -> ModuleFacts:
    is_extension = bool(module.isPythonExtensionModule())
    return ModuleFacts(
        name=_name(module) or "?",
        filename=_filename(module),
        is_extension=is_extension,
        is_package=_is_package(module),
        not_found=tuple(_not_found_imports(module)),
        implicit_imports=(tuple(_implicit_names(implicit, module)) if implicit else ()),
    )


def _not_found_imports(module: Any) -> Iterator[ImportAttempt]:
    """Imports a module made that Nuitka did not locate (``finding`` not-found)."""
    try:
        attempts = tuple(module.getUsedModules())
    except Exception:
        return
    for attempt in attempts:
        if getattr(attempt, "finding", None) != "not-found":
            continue
        missing = _name(getattr(attempt, "module_name", None))
        if missing:
            yield ImportAttempt(missing, int(getattr(attempt, "level", 0) or 0))


def _filename(module: Any) -> Optional[str]:
    try:
        filename = module.getFilename()
    except Exception:
        return None
    return str(filename) if filename else None


def _is_package(module: Any) -> bool:
    try:
        return bool(module.isCompiledPythonPackage() or module.isExtensionModulePackage())
    except Exception:
        return False


def _implicit_names(plugin: Any, module: Any) -> Iterator[str]:
    """Module names a plugin's ``getImplicitImports`` yields: names, (name, reason) pairs
    or nested generators, as Nuitka accepts them."""

    def walk(values: Any) -> Iterator[str]:
        for value in values:
            if isinstance(value, (tuple, list)) and value:
                value = value[0]
            if hasattr(value, "__next__"):
                yield from walk(value)
                continue
            text = _name(value)
            if text:
                yield text

    try:
        yield from walk(plugin.getImplicitImports(module))
    except Exception:
        return
