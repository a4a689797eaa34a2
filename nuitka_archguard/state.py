"""The ``.archguard`` state folder of an environment: its name, and "did a fix stop
midway here?".

Read-only knowledge that the diagnosis (the scanner, the plugin) and the fixer share: only
``fix/`` writes into the folder, and the diagnosis asks this module instead of importing the
fixer (data flows one way: check -> fix, never back).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Optional

from .text import shell_quote, shown

__all__ = [
    "JOURNAL_NAME",
    "STATE_DIR",
    "half_fixed_message",
    "half_fixed_near",
    "interrupted_near",
]

STATE_DIR = ".archguard"
"""The folder at an environment's root (only there) that holds backups, staging and the
journal of ``nuitka-archguard fix``."""
JOURNAL_NAME = "journal.json"
"""The journal of a fix or undo in progress; present after a run means it was interrupted."""


def interrupted_near(path: str) -> Optional[str]:
    """The root of an interrupted fix at ``path`` or up to three folders above it (a
    site-packages folder inside a fixed prefix), for the read-only scanner and plugin."""
    current = os.path.abspath(path)
    for _ in range(4):
        if os.path.lexists(os.path.join(current, STATE_DIR, JOURNAL_NAME)):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return None


def half_fixed_near(paths: Iterable[str]) -> Optional[str]:
    """The error for the first of ``paths`` (or a folder up to three above it) that an
    interrupted fix left half-done, for the read-only scanner and plugin; None if none."""
    for path in paths:
        if path:
            found = interrupted_near(path)
            if found is not None:
                return half_fixed_message(found)
    return None


def half_fixed_message(root: str) -> str:
    """One line: what is wrong and the command that recovers it."""
    return (
        f"{shown(root)}: a 'nuitka-archguard fix' was interrupted here and the environment is "
        f"half-fixed; run: nuitka-archguard fix {shell_quote(root)} (it rolls the "
        "interrupted fix back first)"
    )
