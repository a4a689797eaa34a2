"""The environment a fix works on: its root, its site folders, its interpreter and scheme.

One PATH of ``fix`` is one environment: a virtualenv or prefix (scripts go to its ``bin``),
a site-packages folder, or a ``pip install --target`` folder (scripts go to its own ``bin``,
as pip puts them). Every path a fix writes lies under :attr:`Environment.root`.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .. import archs
from ..check.discovery import PathError, RootKind, resolve
from ..check.metadata import FILE_LIMIT, MetadataError, read_regular
from ..state import STATE_DIR
from .wheels import Scheme

__all__ = ["STATE_DIR", "Environment", "EnvironmentError_"]

_MACHO_MAGICS = frozenset(
    bytes.fromhex(m) for m in ("feedface", "feedfacf", "cefaedfe", "cffaedfe", "cafebabe")
)
_SITE_VERSION = re.compile(r"^(?:python|pypy)([0-9])\.([0-9]+)")


class EnvironmentError_(Exception):
    """A PATH that ``fix`` cannot work on (a wheel, a single file, unreadable)."""


@dataclass(frozen=True)
class Environment:
    root: Path
    kind: RootKind
    sites: tuple[Path, ...]

    @classmethod
    def from_path(cls, path: Optional[str]) -> Environment:
        """``None``: the running interpreter's environment (its prefix).

        The environment is resolved once, here (``realpath``): every later check compares
        resolved paths, so an environment reached through a symlinked ancestor (macOS's
        ``/tmp`` -> ``/private/tmp``) or a link to it is the folder it names."""
        given = path if path is not None else sys.prefix
        text = os.path.realpath(given) if os.path.exists(given) else given
        try:
            root = resolve(text)
        except PathError as error:
            raise EnvironmentError_(str(error)) from None
        if root.kind in (RootKind.WHEEL, RootKind.FILE, RootKind.APP, RootKind.DIST):
            raise EnvironmentError_(
                f"{given}: fix works on environments and folders of installed distributions, "
                f"not on a {root.kind.value}"
                + (
                    "; use --output DIR to write corrected wheels"
                    if root.kind is RootKind.WHEEL
                    else ""
                )
            )
        sites = tuple(Path(os.path.realpath(w)) for w in root.walk)
        return cls(Path(os.path.abspath(text)), root.kind, sites)

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @property
    def is_prefix(self) -> bool:
        return self.kind is RootKind.PREFIX

    @property
    def interpreter(self) -> Optional[Path]:
        """The environment's own Python, if it has one."""
        if not self.is_prefix:
            return None
        for rel in ("bin/python", "bin/python3", "Scripts/python.exe", "python.exe"):
            candidate = self.root / rel
            if candidate.is_file():
                return candidate
        return None

    def runs_macos_python(self) -> bool:
        """Whether the environment's interpreter is a Mach-O file: then the environment also
        serves the host (Nuitka imports modules at compile time) and fixes must fuse."""
        python = self.interpreter
        if python is None:
            return False
        try:
            with open(os.path.realpath(python), "rb") as handle:
                return handle.read(4) in _MACHO_MAGICS
        except OSError:
            return False

    def python_version(self) -> Optional[str]:
        """``3.11`` from pyvenv.cfg, the site folder's name, or the installed wheels' tags."""
        text = _small_text(self.root / "pyvenv.cfg")
        for line in text.splitlines():
            key, _, value = line.partition("=")
            if key.strip() in ("version", "version_info"):
                match = re.match(r"\s*([0-9]+)\.([0-9]+)", value)
                if match:
                    return f"{match.group(1)}.{match.group(2)}"
        for site in self.sites:
            match = _SITE_VERSION.match(site.parent.name)
            if match:
                return f"{match.group(1)}.{match.group(2)}"
        return self.python_from_tags()

    def python_from_tags(self) -> Optional[str]:
        counts: dict[str, int] = {}
        for dist_info in dist_info_folders(self.sites):
            text = _small_text(dist_info / "WHEEL")
            for line in text.splitlines():
                if line.lower().startswith("tag:"):
                    version = archs.python_version_of(line.split(":", 1)[1])
                    if version is not None:
                        counts[version] = counts.get(version, 0) + 1
        return max(counts, key=lambda v: counts[v]) if counts else None

    def scheme_for(self, site: Path, python_version: str) -> Scheme:
        """Where a wheel installed into ``site`` puts its parts, all under :attr:`root`."""
        if self.is_prefix:
            windows = (self.root / "Scripts").is_dir() and not (self.root / "bin").is_dir()
            scripts = self.root / ("Scripts" if windows else "bin")
            data = self.root
            headers = self.root / "include" / "site" / f"python{python_version}"
            interpreter = str(self.interpreter or scripts / "python")
        else:
            scripts = site / "bin"
            data = site
            headers = site / "include"
            interpreter = "/usr/bin/env python3"
        return Scheme(site, site, scripts, data, headers, interpreter)


def _small_text(path: Path) -> str:
    """A small metadata file through :mod:`..metadata` (regular files only, bounded, never
    blocking); empty when it cannot be read."""
    try:
        return read_regular(str(path), FILE_LIMIT).decode("utf-8", "replace")
    except MetadataError:
        return ""


def dist_info_folders(sites: Iterable[Path]) -> Iterator[Path]:
    """The ``.dist-info`` folders of the sites, in name order (an unreadable site has none)."""
    for site in sites:
        try:
            names = sorted(os.listdir(site))
        except OSError:
            continue
        for name in names:
            if name.endswith(".dist-info"):
                yield site / name
