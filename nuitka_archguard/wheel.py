"""A wheel file's name and its member paths: one parser and one rule for every module that
reads wheels (discovery, the fixer's download check, install, unpack and fuse).

Four member-path checks used to treat drive letters differently (``^[A-Za-z]:``, a colon in
the first part, the second character) and four modules parsed wheel file names their own
way; the copies drift, and a path one of them let through is a path another must not write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

__all__ = ["WheelName", "leaves_root", "member_refusal", "parse_name"]


@dataclass(frozen=True)
class WheelName:
    """What a wheel's file name says: canonical project name, version, tags (sorted)."""

    name: str
    version: str
    tags: tuple[str, ...]


def parse_name(filename: str) -> Optional[WheelName]:
    """``fast-1.0-cp311-cp311-macosx_11_0_arm64.whl`` -> its name, version and tags;
    ``None`` for anything that is not a valid wheel file name (PEP 427, as pip reads it)."""
    if not filename.endswith(".whl"):
        return None
    try:
        name, version, _build, tags = parse_wheel_filename(filename)
    except (InvalidWheelFilename, ValueError):
        return None
    return WheelName(str(name), str(version), tuple(sorted(str(t) for t in tags)))


def leaves_root(path: str) -> bool:
    """Whether a path from a wheel or a RECORD leaves the folder it is relative to: absolute
    (``/``, ``\\``), a drive or any colon in its first part (``C:``, ``C:x``), or a ``..``
    part, with either slash."""
    parts = re.split(r"[/\\]", path)
    return path.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]


def member_refusal(path: str) -> str:
    """Why a wheel member path must not be written (``""``: it may): empty, leaving its
    folder (:func:`leaves_root`), or holding control characters."""
    if not path or leaves_root(path):
        return f"the wheel names a path outside the environment: {path!r}"
    if any(ord(c) < 32 for c in path):
        return f"the wheel names a path with control characters: {path!r}"
    return ""
