"""An installed package built byte by byte (``tests/synth/macho.py``): an extension module
that links a vendored dylib in ``.dylibs/``, as delocate lays out macOS wheels, with the
``.dist-info`` pip would write. Each arch list is chosen by the test, so a dylib can lack a
slice the extension module has: what no real wheel on PyPI is known to ship, but what a
hand-fused or badly repaired wheel does.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from pathlib import Path

from tests.synth import macho

PYTHON_TAG = "cp311"
EXTENSION_SUFFIX = ".cpython-311-darwin.so"
MIN_OS = {"x86_64": "10.9", "arm64": "11.0"}


def _macho(archs: Sequence[str], **fields: object) -> bytes:
    slices = [
        macho.thin(arch, build_version=("macos", MIN_OS.get(arch, "11.0"), "14.0"), **fields)  # type: ignore[arg-type]
        for arch in archs
    ]
    return slices[0] if len(slices) == 1 else macho.fat(slices)


def _record_line(root: Path, path: Path) -> str:
    data = path.read_bytes()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path.relative_to(root).as_posix()},sha256={digest},{len(data)}"


def vendored_dylib_package(
    root: Path,
    *,
    name: str = "vendorpkg",
    version: str = "1.0",
    extension_archs: Sequence[str] = ("x86_64", "arm64"),
    dylib_archs: Sequence[str] = ("arm64",),
    platform_tag: str = "macosx_11_0_universal2",
) -> Path:
    """Write ``NAME/__init__.py`` (imports ``NAME._native``), ``NAME/_native<suffix>`` and
    ``NAME/.dylibs/libvendored.1.dylib`` (linked by ``@loader_path``) with a ``.dist-info``
    (METADATA, WHEEL with ``platform_tag``, INSTALLER, RECORD) under ``root``, a folder for
    ``PYTHONPATH``. Returns ``root``."""
    package = root / name
    (package / ".dylibs").mkdir(parents=True, exist_ok=True)
    dylib_name = "libvendored.1.dylib"
    (package / "__init__.py").write_text(f"from {name} import _native  # noqa: F401\n")
    (package / f"_native{EXTENSION_SUFFIX}").write_bytes(
        _macho(
            extension_archs,
            filetype="bundle",
            dylibs=[f"@loader_path/.dylibs/{dylib_name}", "/usr/lib/libSystem.B.dylib"],
        )
    )
    (package / ".dylibs" / dylib_name).write_bytes(
        _macho(
            dylib_archs,
            filetype="dylib",
            id_dylib=f"/DLC/{name}/.dylibs/{dylib_name}",
            dylibs=["/usr/lib/libSystem.B.dylib"],
        )
    )
    info = root / f"{name}-{version}.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "WHEEL").write_text(
        "Wheel-Version: 1.0\nGenerator: nuitka-archguard tests\nRoot-Is-Purelib: false\n"
        f"Tag: {PYTHON_TAG}-{PYTHON_TAG}-{platform_tag}\n"
    )
    (info / "INSTALLER").write_text("pip\n")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != "RECORD")
    lines = [_record_line(root, p) for p in files]
    lines.append(f"{name}-{version}.dist-info/RECORD,,")
    (info / "RECORD").write_text("\n".join(lines) + "\n")
    return root
