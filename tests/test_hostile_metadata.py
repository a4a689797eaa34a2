"""Metadata files on disk: regular files only, bounded, inside the PATH."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Callable, Optional

import pytest

from nuitka_archguard.check.discovery import (
    read_wheel_meta,
)
from nuitka_archguard.check.metadata import (
    FILE_LIMIT,
    LIST_ENTRIES,
    LIST_LIMIT,
    MetadataBudget,
    MetadataReader,
)
from nuitka_archguard.check.ownership import OwnershipIndex
from nuitka_archguard.check.scan import Checker, scan
from tests.hostile.binaries import ELF_SO
from tests.hostile.common import run_with_timeout
from tests.hostile.files import make_venv
from tests.hostile.zips import METADATA_TEXT, Member, _wheel


def _fifo_at(path: Path) -> None:
    path.unlink(missing_ok=True)
    os.mkfifo(path)


_RECORD_FIFO = r"RECORD: unreadable metadata: not a regular file"
_BIG_RECORD = (b"a" * 60_000 + b",,\n") * (LIST_LIMIT // 60_000 + 1)
_INVALID = r"METADATA: unreadable metadata: invalid Name"


def _replace_with_directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _replace_with_link(path: Path, target: str) -> None:
    path.unlink()
    path.symlink_to(target)


METADATA_FILE_CASES: dict[str, tuple[Callable[[Path], object], str, Optional[str]]] = {
    # case: (damage the dist-info, a note that must appear, the owner's name or None)
    "record-fifo": (lambda i: _fifo_at(i / "RECORD"), _RECORD_FIFO, None),
    "record-device": (lambda i: _replace_with_link(i / "RECORD", "/dev/zero"), _RECORD_FIFO, None),
    "record-directory": (
        lambda i: _replace_with_directory(i / "RECORD"),
        r"RECORD: unreadable metadata: a directory",
        None,
    ),
    "record-too-big": (
        lambda i: (i / "RECORD").write_bytes(_BIG_RECORD),
        rf"RECORD: unreadable metadata: larger than {LIST_LIMIT:,} bytes",
        None,
    ),
    "record-endless-line": (
        lambda i: (i / "RECORD").write_bytes(b"x" * (1 << 20)),
        r"RECORD: unreadable metadata: a line longer than",
        None,
    ),
    "metadata-fifo": (
        lambda i: _fifo_at(i / "METADATA"),
        r"METADATA: unreadable metadata: not a regular file",
        "pkg",
    ),
    "metadata-too-big": (
        lambda i: (i / "METADATA").write_bytes(b"Name: pkg\nX: " + b"y" * FILE_LIMIT),
        rf"METADATA: unreadable metadata: larger than {FILE_LIMIT:,} bytes",
        "pkg",
    ),
    "wheel-fifo": (
        lambda i: _fifo_at(i / "WHEEL"),
        r"WHEEL: unreadable metadata: not a regular file",
        "pkg",
    ),
    "installer-fifo": (
        lambda i: _fifo_at(i / "INSTALLER"),
        r"INSTALLER: unreadable metadata: not a regular file",
        "pkg",
    ),
    "direct-url-fifo": (
        lambda i: _fifo_at(i / "direct_url.json"),
        r"direct_url.json: unreadable metadata: not a regular file",
        "pkg",
    ),
    "direct-url-deep": (
        lambda i: (i / "direct_url.json").write_text("[" * 100_000 + "]" * 100_000),
        r"direct_url.json: unreadable metadata: invalid JSON",
        "pkg",
    ),
    "invalid-name": (
        lambda i: (i / "METADATA").write_bytes(b"Name: pkg$(touch x)\nVersion: 1.0\n\n"),
        _INVALID,
        "pkg$(touch x)",
    ),
    "invalid-version": (
        lambda i: (i / "METADATA").write_bytes(b"Name: pkg\nVersion: 1;id\n\n"),
        _INVALID,
        "pkg",
    ),
    "control-name": (
        lambda i: (i / "METADATA").write_bytes(b"Name: pkg\x1b[2J\nVersion: 1.0\n\n"),
        r"invalid Name 'pkg\\x1b\[2J'",
        "pkg\x1b[2J",
    ),
}


@pytest.mark.parametrize("case", sorted(METADATA_FILE_CASES))
def test_metadata_file_case(case: str, tmp_path: Path) -> None:
    damage, note, owner = METADATA_FILE_CASES[case]
    venv, info = make_venv(tmp_path)
    damage(info)
    report = run_with_timeout(lambda: scan([str(venv)], "linux-aarch64"), 20)
    assert any(re.search(note, n) for n in report.notes), report.notes
    assert all("\n" not in n and "\x1b" not in n for n in report.notes)
    (finding,) = report.findings
    name = finding.distribution.name if finding.distribution is not None else None
    if owner is None:
        assert name is None or finding.distribution.kind == "directory"  # type: ignore[union-attr]
    else:
        assert name == owner
    if (owner is not None and "invalid" in case) or "control" in case:
        assert "no command is given" in finding.fix


def test_record_with_more_paths_than_a_list_may_hold_is_cut(tmp_path: Path) -> None:
    venv, info = make_venv(tmp_path)
    lines = "".join(f"f{i},,\n" for i in range(LIST_ENTRIES + 10))
    (info / "RECORD").write_text(lines)
    report = scan([str(venv)], "linux-aarch64")
    assert any(f"lists more than {LIST_ENTRIES:,} paths" in n for n in report.notes)


def test_the_scan_budget_is_shared_by_all_metadata(tmp_path: Path) -> None:
    venv, _ = make_venv(tmp_path)
    reader = MetadataReader(MetadataBudget(max_bytes=100))
    index = OwnershipIndex.for_paths([venv], reader)
    index.owner_of(next(venv.glob("lib/*/site-packages/*.so")))
    assert any("metadata budget of 0 MiB is spent" in n for n in reader.notes)
    assert sum("budget" in n for n in reader.notes) == 1  # said once


def test_conda_meta_of_an_ancestor_outside_the_paths_is_never_read(tmp_path: Path) -> None:
    # Anyone who can write /tmp could plant /tmp/conda-meta to rename the culprit.
    shared = tmp_path / "shared"
    planted = shared / "conda-meta"
    planted.mkdir(parents=True)
    project = shared / "project" / "app.dist"
    project.mkdir(parents=True)
    (project / "x.so").write_bytes(ELF_SO.data)
    record = {"name": "innocent", "version": "1.0", "files": ["project/app.dist/x.so"],
              "channel": "evil"}  # fmt: skip
    (planted / "innocent-1.0-0.json").write_text(json.dumps(record))
    report = scan([str(project)], "linux-aarch64")
    (finding,) = report.findings
    assert finding.distribution is None or finding.distribution.name != "innocent"
    # given the prefix itself, its conda-meta is the environment's own: used
    index = OwnershipIndex.for_paths([shared])
    owner = index.owner_of(project / "x.so")
    assert owner is not None and owner.name == "innocent"
    assert OwnershipIndex.for_paths([project]).owner_of(project / "x.so") is None


def test_conda_records_keep_only_what_is_used(tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    (prefix / "conda-meta").mkdir(parents=True)
    (prefix / "lib").mkdir()
    (prefix / "lib" / "libx.so").write_bytes(ELF_SO.data)
    paths_data = {"paths": [{"_path": f"f{i}", "sha256": "0" * 64} for i in range(20_000)]}
    record = {"name": "x", "version": "1.0", "files": ["lib/libx.so"], "paths_data": paths_data}
    (prefix / "conda-meta" / "x-1.0-0.json").write_text(json.dumps(record))
    owner = OwnershipIndex.for_paths([prefix]).owner_of(prefix / "lib" / "libx.so")
    assert owner is not None and owner.name == "x"


def test_needed_by_ignores_extras_the_same_way_for_wheels_and_environments(tmp_path: Path) -> None:
    # Requires-Dist: pytest; extra == "test" -> pytest is not needed by pkg (metadata.py)
    venv, _ = make_venv(tmp_path)
    index = OwnershipIndex.for_paths([venv])
    assert index.needed_by("cffi") == ("pkg",) and index.needed_by("pytest") == ()
    members = [Member(b"pkg-1.0.dist-info/METADATA", METADATA_TEXT)]
    wheel = _wheel(tmp_path, members)
    checker = Checker("linux-x86_64", search_paths=[])
    checker.add_wheel(read_wheel_meta(str(wheel)))
    assert checker._requires == {"cffi": {"pkg"}}
