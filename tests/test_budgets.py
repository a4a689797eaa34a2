"""Budgets bound hostile input without refusing big honest binaries (issue 21).

A file's header budget grows with its own size up to a cap; a zip member is read as deep as
the archive's inflate budget allows, and going back costs a checkpoint, not a new inflate
from the start; a file still out of reach is a note "not checked: too large to inspect",
counted in the summary, never an ``unreadable-binary`` finding. The real files behind this
(pyarrow's libarrow.so, llvmlite.dll, arrow.dll) are in test_real_budgets.py.
"""

from __future__ import annotations

import os
import time
import zipfile
from pathlib import Path

import pytest

from nuitka_archguard.binaries import BinaryReadError, FileSource
from nuitka_archguard.binaries.model import TooLarge
from nuitka_archguard.binaries.source import (
    HEADER_BUDGET,
    HEADER_BUDGET_CAP,
    InflateBudget,
    ZipMemberSource,
    header_budget,
)
from nuitka_archguard.check.report import render_text, summary_line
from nuitka_archguard.check.scan import scan
from tests.hostile.binaries import mx
from tests.hostile.common import GIB, sparse_file

MIB = 1024 * 1024


def test_the_budget_grows_with_the_file_up_to_the_cap() -> None:
    assert header_budget(0) == header_budget(4 * MIB) == HEADER_BUDGET
    assert header_budget(60 * MIB) == 15 * MIB
    assert header_budget(10 * GIB) == HEADER_BUDGET_CAP == 16 * MIB


def test_a_big_file_may_read_a_big_string_table(tmp_path: Path) -> None:
    """pyarrow's libarrow.so: 60 MB, its dynamic string table 2.5 MB near the end."""
    path = sparse_file(tmp_path, "big.so", b"\x7fELF", b"x", size=60 * MIB)
    with FileSource(path) as source:
        assert len(source.read_at(57 * MIB, 2_553_267)) == 2_553_267


def test_a_small_file_claiming_big_headers_is_still_refused(tmp_path: Path) -> None:
    path = sparse_file(tmp_path, "small.so", b"\x7fELF", size=2 * MIB)
    with FileSource(path) as source, pytest.raises(BinaryReadError, match="1024 KiB") as error:
        source.read_at(0, HEADER_BUDGET + 1)
    assert not isinstance(error.value, TooLarge)


def test_a_huge_file_stops_at_the_cap_as_too_large(tmp_path: Path) -> None:
    path = sparse_file(tmp_path, "huge.so", b"\x7fELF", size=10 * GIB)
    with FileSource(path) as source, pytest.raises(TooLarge, match="too large to inspect"):
        source.read_at(0, HEADER_BUDGET_CAP + 1)


def test_too_large_is_a_counted_note_not_a_finding(tmp_path: Path) -> None:
    folder = tmp_path / "tree"
    folder.mkdir()
    # A 10 GiB Mach-O whose load commands claim 4 GiB: beyond the cap, whatever it is.
    sparse_file(folder, "libhuge.dylib", mx(sizeofcmds=0xFFFFFFF0, ncmds=2), size=10 * GIB)
    report = scan([folder], "macos-x86_64")
    assert report.findings == [] and report.too_large == 1 and report.binaries == 0
    (note,) = [n for n in report.notes if "libhuge.dylib" in n]
    assert "not checked: too large to inspect" in note
    assert "1 binary not checked: too large to inspect" in summary_line(report)
    assert report.to_json()["summary"]["too_large"] == 1
    assert "unreadable" not in render_text(report)


def _deep_member(path: Path, size: int) -> None:
    """A deflated member of ``size`` bytes: zeros, with a marker every 64 MiB."""
    chunk = bytes(MIB)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive, \
            archive.open("pkg/deep.dll", "w", force_zip64=True) as member:  # fmt: skip
        for index in range(size // MIB):
            member.write(b"MARK" + chunk[4:] if index % 64 == 0 else chunk)


def test_a_deep_member_is_read_and_going_back_is_cheap(tmp_path: Path) -> None:
    """llvmlite.dll: 120 MB, its PE directories read back and forth; the old per-member
    limit (256 MiB streamed, counting every re-inflate from the start) refused it."""
    wheel = tmp_path / "deep-1.0-py3-none-any.whl"
    _deep_member(wheel, 300 * MIB)
    with zipfile.ZipFile(wheel) as archive:
        budget = InflateBudget()
        source = ZipMemberSource(archive, archive.getinfo("pkg/deep.dll"), budget)
        started = time.perf_counter()
        for offset in (256 * MIB, 64 * MIB, 192 * MIB, 128 * MIB, 256 * MIB, 0):
            assert source.read_at(offset, 4) == b"MARK"
        source.close()
        inflated = (1024 * MIB) - budget.remaining
    assert inflated < 300 * MIB  # once forward, then short steps from checkpoints
    assert time.perf_counter() - started < 20


def test_bytes_inside_the_head_cost_no_budget_and_no_read(tmp_path: Path) -> None:
    """Readers pick many small fields out of the first 4 KiB: from memory, never charged."""
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(range(256)) * 64)  # 16 KiB
    with FileSource(path) as source:
        source.head()
        spent, reads = source._spent, source._reads
        for offset in range(0, 4096 - 16, 16):
            assert source.read_at(offset, 16) == bytes(range(offset % 256, offset % 256 + 16))
        assert (source._spent, source._reads) == (spent, reads)
        assert source.read_at(8192, 4) == bytes(range(4))  # past the head: a read, charged
        assert (source._spent, source._reads) == (spent + 4, reads + 1)


def test_a_file_source_reads_its_head_as_it_opens(tmp_path: Path) -> None:
    """One ``pread`` of the first 4 KiB as the file opens; the format detection and the
    reader then take the head from memory."""
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(range(256)) * 64)  # 16 KiB
    with FileSource(path) as source:
        assert (source._spent, source._reads) == (4096, 1)
        assert source.head() == (bytes(range(256)) * 16)
        assert source.head(16) == bytes(range(16))
        assert (source._spent, source._reads) == (4096, 1)
    small = tmp_path / "small.bin"
    small.write_bytes(b"\x7fELF" + bytes(60))
    with FileSource(small) as source:
        assert (source.head(), source._reads) == (b"\x7fELF" + bytes(60), 1)


def test_a_descriptor_shorter_than_its_size_is_truncated_and_stays_open(tmp_path: Path) -> None:
    """The scanner hands a descriptor and its fstat size: a file that shrank since is
    reported as truncated, and the caller's descriptor is left for the caller to close."""
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(100))
    fd = os.open(path, os.O_RDONLY)
    try:
        with pytest.raises(BinaryReadError, match="truncated: short read at offset 0"):
            FileSource.from_descriptor(fd, 200)
        assert os.fstat(fd).st_size == 100  # still open
    finally:
        os.close(fd)


def test_a_closed_file_source_refuses_to_read(tmp_path: Path) -> None:
    """Its descriptor's number may already belong to another file."""
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(8192))
    source = FileSource(path)
    source.head()
    source.close()
    assert source.read_at(0, 16) == bytes(16)  # the head is kept
    with pytest.raises(BinaryReadError, match="read after close"):
        source.read_at(6000, 16)
