"""Nuitka user plugin ``archguard-emul-probe``: records what Nuitka decided and stops the
build right before Scons, the point from which a Mac is really needed.

Writes ``ARCHGUARD_EMUL_PROBE`` (JSON, rewritten at every stage so a build stopped earlier,
e.g. by archguard, still leaves what was known by then):

* ``premise``: ``is_macos``, ``architecture`` and ``macos_target_arch`` as Nuitka's own
  functions report them, ``sys_platform``, Nuitka's version;
* ``modules``: Nuitka's complete module set (``onModuleCompleteSet``): name -> file, kind;
* ``dlls``: the early DLL detection's entry points (``onDllTags``, Nuitka 4.x);
* ``stage``: the last hook reached; ``before-scons`` once ``onGeneratedSourceCode`` ran.

Then it stops the build with :data:`STOP_EXIT` and :data:`STOP_MESSAGE`: in
``onGeneratedSourceCode`` on Nuitka 4.x, in ``onDataComposerRun`` on 2.x (which has no
``onGeneratedSourceCode``); both are the last hook before Scons.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
from typing import Any

from nuitka.plugins.PluginBase import (  # type: ignore[import-untyped,import-not-found,unused-ignore]
    NuitkaPluginBase,
)

ENV_PROBE = "ARCHGUARD_EMUL_PROBE"
_HAS_GENERATED_SOURCE_HOOK = hasattr(NuitkaPluginBase, "onGeneratedSourceCode")
STOP_EXIT = 42
STOP_MESSAGE = "archguard-emul-probe: stopped before Scons (the harness's end point)"


def _text(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "asString"):
        return value.asString()
    return str(value)


def _premise() -> dict[str, Any]:
    from nuitka.utils.Utils import getArchitecture, isMacOS  # type: ignore[import-untyped,import-not-found,unused-ignore]

    try:
        from nuitka.options.Options import getMacOSTargetArch  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:  # Nuitka 2.x
        from nuitka.Options import (  # type: ignore[import-untyped,import-not-found,no-redef,unused-ignore]
            getMacOSTargetArch,
        )
    try:
        from nuitka.Version import getNuitkaVersion  # type: ignore[import-untyped,import-not-found,unused-ignore]

        version = str(getNuitkaVersion())
    except ImportError:  # pragma: no cover - every Nuitka has it
        version = None
    return {
        "is_macos": bool(isMacOS()),
        "architecture": getArchitecture(),
        "macos_target_arch": getMacOSTargetArch(),
        "sys_platform": sys.platform,
        "nuitka_version": version,
    }


_WRITTEN = False


def _premise_at_exit() -> None:
    """A plugin may stop the build as it loads (archguard's preflight), before any hook of
    this one: the premise is still recorded, when Nuitka's options were parsed."""
    path = os.environ.get(ENV_PROBE)
    if _WRITTEN or not path:
        return
    try:
        premise = _premise()
    except Exception:  # options never parsed (Nuitka refused the command line)
        return
    data = {"stage": "stopped-as-plugins-loaded", "modules": {}, "dlls": [], "premise": premise}
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)


atexit.register(_premise_at_exit)


class EmulationProbe(NuitkaPluginBase):  # type: ignore[misc,unused-ignore]
    plugin_name = "archguard-emul-probe"
    plugin_desc = "Test harness: records Nuitka's decisions and stops before Scons."

    def __init__(self) -> None:
        self._data: dict[str, Any] = {"stage": "loaded", "modules": {}, "dlls": []}

    def _write(self, stage: str) -> None:
        global _WRITTEN
        _WRITTEN = True
        self._data["stage"] = stage
        self._data["premise"] = _premise()
        path = os.environ.get(ENV_PROBE)
        if path:
            tmp = path + ".tmp"
            with open(tmp, "w", encoding="utf-8") as handle:
                json.dump(self._data, handle, indent=1, sort_keys=True)
            os.replace(tmp, path)

    def onCompilationStartChecks(self) -> None:
        self._write("compilation-start")

    def onModuleCompleteSet(self, module_set: Any) -> None:
        modules = {}
        for module in module_set:
            try:
                filename = module.getFilename()
            except Exception:
                filename = None
            kind = "extension" if module.isPythonExtensionModule() else "python"
            modules[_text(module.getFullName())] = {"file": _text(filename), "kind": kind}
        self._data["modules"] = modules
        self._write("module-complete-set")

    def onDllTags(self, included_entry_point: Any) -> None:
        entry = included_entry_point
        self._data["dlls"].append(
            {
                "kind": _text(getattr(entry, "kind", None)),
                "source_path": _text(getattr(entry, "source_path", None)),
                "package_name": _text(getattr(entry, "package_name", None)),
                "reason": _text(getattr(entry, "reason", None)),
            }
        )
        self._write("dll-tags")  # archguard may stop the build before the next stage

    def onGeneratedSourceCode(self, source_dir: Any, onefile: Any) -> None:
        """Nuitka 4.x: the last hook before Scons (after the data composer)."""
        if not onefile:
            self._stop()

    def onDataComposerRun(self) -> None:
        """Nuitka 2.x has no ``onGeneratedSourceCode``: this is its last hook before Scons."""
        if not _HAS_GENERATED_SOURCE_HOOK:
            self._stop()

    def _stop(self) -> None:
        self._write("before-scons")
        from nuitka.Tracing import plugins_logger  # type: ignore[import-untyped,import-not-found,unused-ignore]

        plugins_logger.sysexit(STOP_MESSAGE, exit_code=STOP_EXIT)
