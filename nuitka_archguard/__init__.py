"""nuitka-archguard: stop builds that would ship binaries for the wrong architecture or OS.

The public API: :func:`inspect_file` reads one binary, :func:`scan` checks environments,
folders and wheels against a :class:`Target`, and :func:`plugin_path` locates the Nuitka
plugin file for ``--user-plugin=``.
"""

from __future__ import annotations

import os

from .binaries import BinaryFormat, BinaryInfo, BinaryReadError, Slice, inspect_file
from .ownership import Distribution
from .policy import Code, Finding, Role, Severity
from .scan import Checker, ScanError, ScanReport, scan
from .target import Target, TargetError, host_target, parse_target

__version__ = "0.1.0"

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
