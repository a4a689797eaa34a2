"""Hostile files on disk (links, FIFOs, sparse files) and environments to scan."""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path
from typing import Callable

from tests.hostile.binaries import ELF_SO
from tests.hostile.common import GIB, NOT_A_BINARY, Fails, Outcome
from tests.hostile.zips import METADATA_TEXT

# -- files on disk ---------------------------------------------------------------------------


def _zero_bytes(tmp: Path) -> Path:
    path = tmp / "empty.so"
    path.write_bytes(b"")
    return path


def _directory(tmp: Path) -> Path:
    path = tmp / "x.so"
    path.mkdir()
    return path


def _dangling_symlink(tmp: Path) -> Path:
    path = tmp / "dangling.so"
    path.symlink_to(tmp / "nowhere.so")
    return path


def _looping_symlink(tmp: Path) -> Path:
    first, second = tmp / "a.so", tmp / "b.so"
    first.symlink_to(second)
    second.symlink_to(first)
    return first


def _self_symlink(tmp: Path) -> Path:
    path = tmp / "self.so"
    path.symlink_to(path)
    return path


def _fifo(tmp: Path) -> Path:
    path = tmp / "pipe.so"
    os.mkfifo(path)
    return path


def _symlink_to_fifo(tmp: Path) -> Path:
    path = tmp / "link-to-pipe.so"
    path.symlink_to(_fifo(tmp))
    return path


def _symlink_to_directory(tmp: Path) -> Path:
    path = tmp / "link-to-dir.so"
    path.symlink_to(_directory(tmp))
    return path


def _missing(tmp: Path) -> Path:
    return tmp / "missing.so"


def _not_a_directory(tmp: Path) -> Path:
    (tmp / "file").write_bytes(b"x")
    return tmp / "file" / "x.so"


def _non_utf8_name(tmp: Path) -> Path:
    path = Path(os.fsdecode(os.path.join(os.fsencode(tmp), b"bad-\xff\xfe-name.so")))
    path.write_bytes(b"\x7fELT not really an ELF file")
    return path


def _text_file(tmp: Path) -> Path:
    path = tmp / "README.so"
    path.write_bytes(b"#!/bin/sh\necho not a binary\n")
    return path


def _short_magic(tmp: Path) -> Path:
    path = tmp / "short.so"
    path.write_bytes(b"\xcf\xfa")
    return path


def _sparse_zeros(tmp: Path) -> Path:
    path = tmp / "sparse.so"
    with open(path, "wb") as handle:
        handle.truncate(10 * GIB)
    return path


FILE_CASES: dict[str, tuple[Callable[[Path], Path], Outcome]] = {
    "zero-bytes": (_zero_bytes, NOT_A_BINARY),
    "two-bytes-of-magic": (_short_magic, NOT_A_BINARY),
    "text-file": (_text_file, NOT_A_BINARY),
    "directory-named-x.so": (_directory, Fails("a directory")),
    "symlink-to-directory": (_symlink_to_directory, Fails("a directory")),
    "dangling-symlink": (_dangling_symlink, Fails(re.escape(os.strerror(errno.ENOENT)))),
    "missing-file": (_missing, Fails(re.escape(os.strerror(errno.ENOENT)))),
    "path-through-a-file": (_not_a_directory, Fails(re.escape(os.strerror(errno.ENOTDIR)))),
    "looping-symlinks": (_looping_symlink, Fails(re.escape(os.strerror(errno.ELOOP)))),
    "self-symlink": (_self_symlink, Fails(re.escape(os.strerror(errno.ELOOP)))),
    "fifo": (_fifo, Fails("not a regular file")),
    "symlink-to-fifo": (_symlink_to_fifo, Fails("not a regular file")),
    "non-utf8-name": (_non_utf8_name, NOT_A_BINARY),
    "sparse-10-GiB-of-zeros": (_sparse_zeros, NOT_A_BINARY),
}


# -- metadata files on disk: regular files only, bounded, inside the PATH ---------------------


def make_venv(tmp: Path, name: str = "pkg") -> tuple[Path, Path]:
    """A virtualenv with one distribution owning one x86_64 extension module."""
    venv = tmp / "venv"
    site = venv / "lib" / "python3.11" / "site-packages"
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (venv / "bin").mkdir()
    (venv / "bin" / "python").write_text("")
    (site / "x.cpython-311-x86_64-linux-gnu.so").write_bytes(ELF_SO.data)
    (info / "METADATA").write_bytes(METADATA_TEXT.replace(b"pkg", name.encode()))
    (info / "WHEEL").write_bytes(b"Wheel-Version: 1.0\nTag: cp311-cp311-manylinux_2_17_x86_64\n")
    (info / "INSTALLER").write_text("pip\n")
    record = f"x.cpython-311-x86_64-linux-gnu.so,,\n{name}-1.0.dist-info/RECORD,,\n"
    (info / "RECORD").write_text(record)
    return venv, info


def _huge(path: Path, size: int) -> None:
    with open(path, "wb") as handle:
        handle.truncate(size)
