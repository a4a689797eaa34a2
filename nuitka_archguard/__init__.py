"""nuitka-archguard: stop builds that would ship binaries for the wrong architecture or OS.

The public API: :func:`inspect_file` reads one binary, :func:`scan` checks environments,
folders and wheels against a :class:`Target`, and :func:`plugin_path` locates the Nuitka
plugin file for ``--user-plugin=``.
"""

from __future__ import annotations

import importlib
import os

TYPE_CHECKING = False  # typing costs `inspect` ~15 ms of start-up: for mypy only
if TYPE_CHECKING:
    from typing import Any

    from .binaries import BinaryFormat, BinaryInfo, BinaryReadError, Slice, inspect_file
    from .check.ownership import Distribution
    from .check.policy import Code, Finding, Role, Severity
    from .check.scan import Checker, ScanError, ScanReport, scan
    from .target import Target, TargetError, host_target, parse_target

__version__ = "0.1.0"

# The API is imported on first use (PEP 562), so that a command that needs one reader (``inspect``)
# does not pay for the scanner's imports (packaging's requirement parser, email, ...).
_LAZY = {
    "binaries": (
        "BinaryFormat",
        "BinaryInfo",
        "BinaryReadError",
        "Slice",
        "inspect_file",
    ),
    "check.ownership": ("Distribution",),
    "check.policy": ("Code", "Finding", "Role", "Severity"),
    "check.scan": ("Checker", "ScanError", "ScanReport", "scan"),
    "target": ("Target", "TargetError", "host_target", "parse_target"),
}
_HOME = {name: module for module, names in _LAZY.items() for name in names}

__all__ = [
    "BinaryFormat",
    "BinaryInfo",
    "BinaryReadError",
    "Checker",
    "Code",
    "Distribution",
    "Finding",
    "Role",
    "ScanError",
    "ScanReport",
    "Severity",
    "Slice",
    "Target",
    "TargetError",
    "__version__",
    "host_target",
    "inspect_file",
    "parse_target",
    "plugin_path",
    "scan",
]


def plugin_path() -> str:
    """Absolute path of the Nuitka plugin file, for ``--user-plugin=``."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "nuitka_plugin", "archguard.py")


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
