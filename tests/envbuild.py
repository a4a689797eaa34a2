"""Builders of environments and wheels for the scanner, report, CLI and plugin tests: a
pip-installed distribution with its dist-info, the seed case (cryptography + cffi), a wheel."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

from tests.synth import macho

ARM = macho.thin("arm64")
X86 = macho.thin("x86_64", build_version=None, version_min=("macos", "10.9", "10.9"))
UNIVERSAL = macho.fat([X86, ARM])


def install(
    site: Path,
    name: str,
    version: str,
    files: dict[str, bytes],
    *,
    tag: str = "cp311-cp311-macosx_11_0_arm64",
    requires: Sequence[str] = (),
    installer: str = "pip",
) -> None:
    """A pip-installed distribution: its files plus a dist-info with RECORD and WHEEL."""
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    for rel, data in files.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_bytes(data)
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
    (info / "METADATA").write_text(meta)
    (info / "WHEEL").write_text(f"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: {tag}\n")
    (info / "INSTALLER").write_text(installer + "\n")
    record = [f"{rel},," for rel in files]
    record += [f"{info.name}/{n},," for n in ("METADATA", "WHEEL", "INSTALLER", "RECORD")]
    (info / "RECORD").write_text("\n".join(record) + "\n")


def seed_like(
    site: Path, cffi: bytes = ARM, cffi_tag: str = "cp311-cp311-macosx_11_0_arm64"
) -> None:
    install(
        site,
        "cryptography",
        "43.0.3",
        {"cryptography/hazmat/bindings/_rust.abi3.so": UNIVERSAL, "cryptography/__init__.py": b""},
        tag="cp39-abi3-macosx_10_9_universal2",
        requires=["cffi>=1.12; platform_python_implementation != 'PyPy'"],
    )
    install(site, "cffi", "1.17.1", {"_cffi_backend.cpython-311-darwin.so": cffi}, tag=cffi_tag)


def wheel(path: Path, name: str, version: str, tag: str, members: dict[str, bytes],
          requires: Sequence[str] = ()) -> Path:  # fmt: skip
    target = path / f"{name}-{version}-{tag}.whl"
    info = f"{name}-{version}.dist-info"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
        meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
        archive.writestr(f"{info}/METADATA", meta)
        archive.writestr(f"{info}/WHEEL", f"Wheel-Version: 1.0\nTag: {tag}\n")
    return target
