"""Small local wheels for the fix tests: real zip files with WHEEL, METADATA and RECORD,
holding synthetic Mach-O/ELF files, in a folder that pip reads with --find-links."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Optional

from nuitka_archguard.check.metadata import MetadataReader
from tests.synth import macho

PY = "cp311"


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _expanded(tag: str) -> list[str]:
    pythons, abis, platforms = (part.split(".") for part in tag.split("-"))
    return [f"{p}-{a}-{x}" for p in pythons for a in abis for x in platforms]


def make_wheel(
    folder: Path,
    name: str,
    version: str,
    tag: str,
    files: Mapping[str, bytes],
    *,
    requires: tuple[str, ...] = (),
    extra_members: Optional[Mapping[str, bytes]] = None,
) -> Path:
    """``folder/<name>-<version>-<tag>.whl``; ``tag`` is ``cp311-cp311-macosx_11_0_arm64``
    or ``py3-none-any``, or a compressed tag set (``cp311-cp311-manylinux_2_17_x86_64.
    manylinux2014_x86_64``), which WHEEL lists one tag a line as bdist_wheel writes it.
    ``extra_members`` are added as they are (hostile names)."""
    folder.mkdir(parents=True, exist_ok=True)
    dist_info = f"{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    members = dict(files)
    members[f"{dist_info}/METADATA"] = metadata.encode()
    members[f"{dist_info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: "
        f"{'true' if tag.endswith('-any') else 'false'}\n"
        + "".join(f"Tag: {t}\n" for t in _expanded(tag))
    ).encode()
    record = "".join(f"{path},{_digest(data)},{len(data)}\n" for path, data in members.items())
    record += f"{dist_info}/RECORD,,\n"
    members[f"{dist_info}/RECORD"] = record.encode()
    path = folder / f"{name}-{version}-{tag}.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
        for member, data in (extra_members or {}).items():
            archive.writestr(member, data)
    return path


def ext_wheel(folder: Path, name: str, version: str, arch: str, *, py: str = PY,
              requires: tuple[str, ...] = ()) -> Path:  # fmt: skip
    """A wheel with one extension module ``<name>/_speedups.<py>-darwin.so`` for ``arch``."""
    minimum = "11.0" if arch == "arm64" else "10.9"
    platform = f"macosx_{minimum.replace('.', '_')}_{arch}"
    binary = macho.thin(arch, "bundle", build_version=("macos", minimum, "14.0"))
    files = {
        f"{name}/__init__.py": f"VERSION = {version!r}\n".encode(),
        f"{name}/_speedups.cpython-311-darwin.so": binary,
    }
    return make_wheel(folder, name, version, f"{py}-{py}-{platform}", files, requires=requires)


def pure_wheel(folder: Path, name: str, version: str) -> Path:
    files = {f"{name}/__init__.py": f"VERSION = {version!r}\nPURE = True\n".encode()}
    return make_wheel(folder, name, version, "py3-none-any", files)


def install(wheel: Path, target: Path) -> None:
    """Install like ``pip install --target``: into a plain folder, with a RECORD."""
    from installer import install as run_install
    from installer.destinations import SchemeDictionaryDestination
    from installer.sources import WheelFile

    target.mkdir(parents=True, exist_ok=True)
    scheme = {key: str(target) for key in ("purelib", "platlib", "data")}
    scheme["scripts"] = str(target / "bin")
    scheme["headers"] = str(target / "include")
    destination = SchemeDictionaryDestination(
        scheme, interpreter="/usr/bin/python3", script_kind="posix"
    )
    with WheelFile.open(wheel) as source:
        run_install(source, destination, additional_metadata={"INSTALLER": b"pip\n"})


def tree_hash(root: Path) -> dict[str, str]:
    """Every file and symlink under ``root`` with its content hash and mode (not mtimes),
    and every folder with its mode: what "byte for byte the same" means here."""
    result: dict[str, str] = {}
    for directory, subdirs, names in os.walk(root):
        subdirs.sort()
        rel_dir = os.path.relpath(directory, root)
        result[rel_dir + "/"] = "dir:" + oct(os.lstat(directory).st_mode)
        for name in sorted(names):
            path = Path(directory, name)
            rel = os.path.relpath(path, root)
            if path.is_symlink():
                result[rel] = "link:" + os.readlink(path)
            elif not path.is_file():  # a FIFO or socket: reading it would block
                result[rel] = "special:" + oct(path.lstat().st_mode)
            else:
                data = path.read_bytes()
                result[rel] = f"{hashlib.sha256(data).hexdigest()}:{oct(path.stat().st_mode)}"
    return result


def verify_record(dist_info: Path) -> list[str]:
    """RECORD lines whose file is missing or whose hash or size differ (empty: all verify):
    what the fix tests check an installed distribution with."""
    site = dist_info.parent
    problems: list[str] = []
    reader = MetadataReader()
    for row in reader.record_rows(str(dist_info / "RECORD")):
        if len(row) < 3 or not row[1]:
            continue
        path = site / row[0]
        try:
            if not stat.S_ISREG(os.lstat(path).st_mode):
                problems.append(f"{row[0]}: not a regular file")
                continue
            data = path.read_bytes()
        except OSError as error:
            problems.append(f"{row[0]}: {error.strerror}")
            continue
        algorithm, _, expected = row[1].partition("=")
        digest = hashlib.new(algorithm, data).digest()
        actual = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if actual != expected or (row[2] and int(row[2]) != len(data)):
            problems.append(f"{row[0]}: hash or size differs")
    return problems + reader.notes
