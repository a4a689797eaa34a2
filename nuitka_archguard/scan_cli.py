"""`nuitka-archguard scan` (being written)."""

from __future__ import annotations

from typing import Any


def add_scan_parser(commands: Any) -> None:
    commands.add_parser("scan", help="check environments, folders and wheels against a target")
