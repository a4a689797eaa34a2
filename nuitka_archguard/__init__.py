"""nuitka-archguard: stop builds that would ship binaries for the wrong architecture or OS.

The public API: :func:`inspect_file` reads one binary, :func:`scan` checks trees, wheels and
environments against a :class:`Target`, and :func:`plugin_path` locates the Nuitka plugin.
"""

from __future__ import annotations

import os

from .binaries import BinaryFormat, BinaryInfo, BinaryReadError, Slice, inspect_file

__version__ = "0.1.0"

__all__ = [
    "BinaryFormat",
    "BinaryInfo",
    "BinaryReadError",
    "Slice",
    "__version__",
    "inspect_file",
    "plugin_path",
]


def plugin_path() -> str:
    """Absolute path of the Nuitka plugin file, for ``--user-plugin=``."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "nuitka_plugin", "archguard.py")
