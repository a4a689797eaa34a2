"""A plugin support Session over a synthesized seed environment, without Nuitka: for the tests of
the plugin's decisions."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Optional

from nuitka_archguard.nuitka_plugin.support import (
    Guard,
    ModuleFacts,
    Session,
    merge_settings,
)
from nuitka_archguard.target import macos_target

RUST = "cryptography.hazmat.bindings._rust"


def make_session(
    site: Path,
    *,
    archs: Sequence[str] = ("x86_64",),
    mode: str = "error",
    allow: Sequence[str] = (),
    report_path: Optional[Path] = None,
) -> Session:
    settings = merge_settings(
        mode=mode,
        allow=allow,
        min_os=None,
        strict_min_os=False,
        report_path=str(report_path) if report_path else None,
    )
    target = macos_target(archs, "10.9" if "x86_64" in archs else "11.0")
    return Session(lambda: Guard(target, settings, search_path=[str(site)]))


def seed_modules(site: Path) -> list[ModuleFacts]:
    """The seed as Nuitka's module set shows it: cryptography's Rust core is included,
    ``_cffi_backend`` is not (Nuitka dropped it), and implicit-imports asked for it."""
    return [
        ModuleFacts("__main__", str(site / "prog.py")),
        ModuleFacts(
            RUST,
            str(site / "cryptography/hazmat/bindings/_rust.abi3.so"),
            is_extension=True,
            implicit_imports=("_cffi_backend",),
        ),
    ]
