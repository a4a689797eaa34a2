"""One answer to "can ``fix`` do this?", asked by ``scan``'s "fix all" line, the plugin's
stop message and ``fix``'s own plan (they used to decide in three places that disagreed,
so a printed ``fix`` command could be one ``fix`` then refused).

Diagnosis-side on purpose: it reads what the scan found (a distribution, an environment's
interpreter) and imports nothing of the fixer.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from pathlib import Path
from typing import Optional

from ..target import Target
from ..text import shell_quote
from .ownership import Distribution, OwnerKind
from .policy import display_path

__all__ = ["fix_program", "host_refusal", "interpreter_os", "own_interpreter", "reinstall_refusal"]


def reinstall_refusal(dist: Optional[Distribution]) -> str:
    """Why ``fix`` cannot reinstall ``dist`` (``""``: it can): it must be installed by pip
    from a wheel, with a valid name and version and a RECORD listing its files."""
    if dist is None:
        return "no installed distribution owns these files, so none can be reinstalled"
    if not dist.metadata_ok:
        # The scan named its metadata unreadable (an invalid Name or Version, names that
        # disagree): asking pip for whatever it claims would install another project.
        return (
            "its metadata is unreadable (name or version not valid), so nothing is "
            "downloaded for it"
        )
    if dist.kind != OwnerKind.PIP.value:
        return f"installed by {dist.kind}, not from a wheel with a RECORD"
    if not dist.location or not dist.version:
        return "no version or RECORD to reinstall from"
    if not Path(dist.location, "RECORD").is_file():
        return "its .dist-info has no RECORD, so its files are unknown"
    return ""


_INTERPRETERS = ("bin/python3", "bin/python", "Scripts/python.exe", "python.exe")
_MACHO = tuple(
    bytes.fromhex(m) for m in ("feedface", "feedfacf", "cefaedfe", "cffaedfe", "cafebabe")
)


def own_interpreter(root: Path) -> Optional[Path]:
    """The Python that runs an environment: a prefix's own, or for a site-packages folder
    the one of the prefix it lies in (``lib/python3.X/site-packages``, ``Lib/site-packages``);
    ``None`` for folders no interpreter runs from (a ``pip install --target`` folder)."""
    candidates = [root]
    if root.name == "site-packages":
        candidates += [root.parent.parent.parent, root.parent.parent]
    for prefix in candidates:
        for rel in _INTERPRETERS:
            path = prefix / rel
            if path.is_file():
                return path
    return None


def interpreter_os(python: Path) -> Optional[str]:
    """``linux``, ``macos`` or ``windows`` from the interpreter's first bytes."""
    try:
        with open(os.path.realpath(python), "rb") as handle:
            head = handle.read(4)
    except OSError:
        return None
    if head.startswith(b"\x7fELF"):
        return "linux"
    if head in _MACHO:
        return "macos"
    if head.startswith(b"MZ"):
        return "windows"
    return None


def host_refusal(root: Path, target: Target) -> str:
    """Why ``fix`` must not install ``target``'s wheels into the environment at ``root``
    (``""``: it may): its own interpreter runs on another OS, so it could no longer import
    them."""
    python = own_interpreter(Path(os.path.abspath(root)))
    if python is None:
        return ""
    system = interpreter_os(python)
    if system is None or system == target.platform:
        return ""
    return (
        f"its own Python ({display_path(str(python))}) runs on {system}: installing "
        f"{target.platform} wheels into it would break it for this machine. Instead: write "
        f"corrected wheels with --output DIR; or install into a folder of its own "
        f"(pip install --target DIR ..., then nuitka-archguard fix DIR --target "
        f"{target.name}); or run the fix on a {target.platform} machine"
    )


def fix_program() -> str:
    """How to run nuitka-archguard so that a printed command works as pasted, also when
    the virtual environment it lives in is not activated: ``nuitka-archguard`` when that is
    the one on ``PATH``, else the script's full path (also beside the interpreter, which is
    where it is when Nuitka runs without ``site``), else ``python -m nuitka_archguard``."""
    name = "nuitka-archguard" + (".exe" if os.name == "nt" else "")
    script = Path(sysconfig.get_path("scripts") or "", name)
    found = shutil.which("nuitka-archguard")
    if found and script.is_file() and os.path.realpath(found) == os.path.realpath(script):
        return "nuitka-archguard"
    if script.is_file():
        return shell_quote(str(script))
    # Nuitka runs the plugin with -S: no site module, so sysconfig names the base Python's
    # scripts folder; a virtual environment's script sits beside its interpreter.
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return shell_quote(str(beside))
    return f"{shell_quote(sys.executable)} -m nuitka_archguard"
