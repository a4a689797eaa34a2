"""The archguard Nuitka plugin with a clock around its own work, for ``benchmarks/run.py``:
``--user-plugin=benchmarks/timed_plugin.py`` instead of the plugin's own file.

The plugin's cost in a build is what runs in Nuitka's processes on its behalf: importing it
(in every process that loads it), its constructor (the preflight) and every hook Nuitka
calls. Each is timed with ``time.perf_counter`` and ``time.thread_time`` (the CPU of the
thread that runs it) and written, one JSON line per process, to the folder named by
``ARCHGUARD_BENCH_TIMING``: as the module loads (``load``), and the hooks' total as the
process exits (``hooks``, ``calls``). A process that ends with ``os._exit`` runs no exit
handler: its import is recorded at once, and one that compiles must record its hooks.
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

_START, _START_CPU = time.perf_counter(), time.thread_time()
import nuitka_archguard.nuitka_plugin.archguard as _base  # noqa: E402

_LOAD, _LOAD_CPU = time.perf_counter() - _START, time.thread_time() - _START_CPU
_HOOKS = {"seconds": 0.0, "cpu": 0.0, "calls": 0}
_DEPTH = [0]


def _write(record: dict[str, Any]) -> None:
    folder = os.environ.get("ARCHGUARD_BENCH_TIMING")
    if not folder:
        return
    record["pid"] = os.getpid()
    with open(os.path.join(folder, f"{os.getpid()}.jsonl"), "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


_write({"load": _LOAD, "load_cpu": _LOAD_CPU})
atexit.register(
    lambda: _write(
        {"hooks": _HOOKS["seconds"], "hooks_cpu": _HOOKS["cpu"], "calls": _HOOKS["calls"]}
    )
)


def _timed(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def timed(*args: Any, **kwargs: Any) -> Any:
        _DEPTH[0] += 1
        start, start_cpu = time.perf_counter(), time.thread_time()
        try:
            return method(*args, **kwargs)
        finally:
            _DEPTH[0] -= 1
            if _DEPTH[0] == 0:  # a hook called from a hook is counted once
                _HOOKS["seconds"] += time.perf_counter() - start
                _HOOKS["cpu"] += time.thread_time() - start_cpu
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
