"""Small stand-ins for the Nuitka objects the plugin's hooks receive (modules, data files, DLL
entry points, the implicit-imports plugin), for the hook tests that need no build."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("nuitka")


Attempt = namedtuple("Attempt", "module_name finding level")


EntryPoint = namedtuple("EntryPoint", "kind source_path dest_path module_name package_name reason")


DataFile = namedtuple("DataFile", "kind source_path dest_path reason tags")


class Module:
    """Stands in for a Nuitka module object: only what the plugin asks."""

    def __init__(
        self,
        name: str,
        filename: Path,
        *,
        extension: bool = False,
        used: Sequence[Attempt] = (),
        package: bool = False,
    ) -> None:
        self.name, self.filename, self.extension = name, filename, extension
        self.used, self.package = tuple(used), package

    def getFullName(self) -> str:
        return self.name

    def getFilename(self) -> str:
        return str(self.filename)

    def isPythonExtensionModule(self) -> bool:
        return self.extension

    def getUsedModules(self) -> tuple[Attempt, ...]:
        return self.used

    def isCompiledPythonPackage(self) -> bool:
        return self.package and not self.extension

    def isExtensionModulePackage(self) -> bool:
        return False


class ImplicitImports:
    """Stands in for Nuitka's implicit-imports plugin: cffi users need _cffi_backend."""

    plugin_name = "implicit-imports"

    def getImplicitImports(self, module: Module) -> Iterator[Any]:
        if module.name == "cryptography.hazmat.bindings._rust":
            yield ("_cffi_backend", "cffi-generated extension module")
