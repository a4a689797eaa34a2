"""Small things every layer shares, each kept in exactly one place: the exit codes, the
plugin's name and how a count is worded. Imports nothing, so any entry point may use it."""

from __future__ import annotations

import enum

TYPE_CHECKING = False  # typing costs `inspect` ~15 ms of start-up: for mypy only
if TYPE_CHECKING:
    from typing import Optional

__all__ = ["PLUGIN_NAME", "ExitCode", "plural"]

PLUGIN_NAME = "archguard"
"""The Nuitka plugin's name: ``--user-plugin=...`` registers it, options are ``--archguard-*``."""


class ExitCode(enum.IntEnum):
    """What the commands return: 0 no error findings (warnings are fine), 1 error findings,
    2 a usage error or a PATH that cannot be read."""

    OK = 0
    FINDINGS = 1
    USAGE = 2


_IRREGULAR = {"binary": "binaries"}


def plural(count: int, noun: str, many: Optional[str] = None) -> str:
    """``1 error``, ``2 errors``, ``3 binaries``."""
    if count == 1:
        return f"1 {noun}"
    return f"{count} {many or _IRREGULAR.get(noun) or noun + 's'}"
