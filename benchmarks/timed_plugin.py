"""The archguard Nuitka plugin with a clock around its own work, for ``benchmarks/run.py``:
``--user-plugin=benchmarks/timed_plugin.py`` instead of the plugin's own file.

The plugin's cost in a build is what runs in Nuitka's processes on its behalf: importing it
(in the process that parses the options and in the re-executed one that compiles), its
constructor (the preflight) and every hook Nuitka calls. Each is timed with
``time.perf_counter`` and written, one JSON line per process, to the folder named by
``ARCHGUARD_BENCH_TIMING``: as the module loads (``load``), and the hooks' total as the
process exits (``hooks``, ``calls``). Nuitka's first process ends with ``os._exit`` (no
exit handlers), but it only parses options there, and its import is recorded at once.
Measured inside the build, this is far less noisy on a shared machine than the difference
of two builds' wall times.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import time
from typing import Any, Callable

_START = time.perf_counter()
import nuitka_archguard.nuitka_plugin.archguard as _base  # noqa: E402

_LOAD = time.perf_counter() - _START
_HOOKS = {"seconds": 0.0, "calls": 0}
_DEPTH = [0]


def _write(record: dict[str, Any]) -> None:
    folder = os.environ.get("ARCHGUARD_BENCH_TIMING")
    if not folder:
        return
    record["pid"] = os.getpid()
    with open(os.path.join(folder, f"{os.getpid()}.jsonl"), "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


_write({"load": _LOAD})
atexit.register(lambda: _write({"hooks": _HOOKS["seconds"], "calls": _HOOKS["calls"]}))


def _timed(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def timed(*args: Any, **kwargs: Any) -> Any:
        _DEPTH[0] += 1
        start = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            _DEPTH[0] -= 1
            if _DEPTH[0] == 0:  # a hook called from a hook is counted once
                _HOOKS["seconds"] += time.perf_counter() - start
                _HOOKS["calls"] += 1

    return timed


def _hooks() -> dict[str, Callable[..., Any]]:
    """The plugin's own methods Nuitka calls: its constructor and public hooks."""
    found = {}
    for name, value in vars(_base.ArchguardPlugin).items():
        hook = name == "__init__" or not name.startswith("_")
        if hook and callable(value) and not isinstance(value, (classmethod, staticmethod)):
            found[name] = _timed(value)
    return found


TimedArchguardPlugin = type("TimedArchguardPlugin", (_base.ArchguardPlugin,), _hooks())
