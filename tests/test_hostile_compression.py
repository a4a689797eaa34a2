"""Every zip compression method, compression bombs, aliased members, huge directories."""

from __future__ import annotations

import bz2
import lzma
import struct
import sys
import time
import zlib
from pathlib import Path

import pytest

from nuitka_archguard.check.discovery import (
    Discovery,
    PathError,
    open_wheel,
    read_wheel_meta,
    resolve,
)
from nuitka_archguard.check.metadata import (
    FILE_LIMIT,
    MetadataReader,
)
from nuitka_archguard.check.policy import Code
from nuitka_archguard.check.scan import ScanError, scan
from tests.hostile.binaries import ELF_SO
from tests.hostile.common import run_with_timeout
from tests.hostile.zips import (
    BOMB_CASES,
    BZIP2,
    DEFLATED,
    LZMA,
    METADATA_TEXT,
    STORED,
    ZSTD,
    Member,
    _wheel,
    bomb,
    bomb_wheel,
    build_zip,
    deflate,
    zip64_claiming,
)


def compressed(method: int, data: bytes) -> bytes:
    """``data`` compressed as a zip member of ``method``."""
    if method == STORED:
        return data
    if method == DEFLATED:
        return deflate(data)
    if method == BZIP2:
        return bz2.compress(data)
    if method == LZMA:
        properties = lzma._encode_filter_properties({"id": lzma.FILTER_LZMA1})  # type: ignore[attr-defined]
        lzma_filter = lzma._decode_filter_properties(lzma.FILTER_LZMA1, properties)  # type: ignore[attr-defined]
        raw = lzma.compress(data, lzma.FORMAT_RAW, filters=[lzma_filter])
        return struct.pack("<BBH", 9, 4, len(properties)) + properties + raw
    return data  # zstd: whatever bytes, the method number is what is tested


WHEEL_TEXT = b"Wheel-Version: 1.0\nTag: cp311-cp311-manylinux_2_17_aarch64\n"


# -- every compression method, binary and metadata members alike ---------------------------


@pytest.mark.parametrize("method", [STORED, DEFLATED, BZIP2, LZMA])
def test_every_method_reads_members_and_metadata(method: int, tmp_path: Path) -> None:
    members = [
        Member(b"pkg/x.so", compressed(method, ELF_SO.data), method=method,
               true_size=len(ELF_SO.data), crc=zlib.crc32(ELF_SO.data)),
        Member(b"pkg-1.0.dist-info/METADATA", compressed(method, METADATA_TEXT), method=method,
               true_size=len(METADATA_TEXT), crc=zlib.crc32(METADATA_TEXT)),
        Member(b"pkg-1.0.dist-info/WHEEL", compressed(method, WHEEL_TEXT), method=method,
               true_size=len(WHEEL_TEXT), crc=zlib.crc32(WHEEL_TEXT)),
    ]  # fmt: skip
    wheel = _wheel(tmp_path, members, "pkg-1.0-cp311-cp311-manylinux_2_17_aarch64.whl")
    meta = read_wheel_meta(str(wheel))
    assert (meta.name, meta.version, meta.requires) == ("pkg", "1.0", ("cffi",))
    report = scan([str(wheel)], "linux-aarch64")
    (finding,) = [f for f in report.findings if f.code is Code.ARCH_MISSING]
    assert finding.archs == ("x86_64",)


@pytest.mark.parametrize("case", sorted(BOMB_CASES))
def test_compression_bombs_cost_their_budget_whatever_the_method(case: str, tmp_path: Path) -> None:
    wheel = bomb_wheel(tmp_path, case)
    started = time.perf_counter()
    report = run_with_timeout(lambda: scan([str(wheel)], "linux-x86_64"), 30)
    assert time.perf_counter() - started < 10
    if case.endswith("-so"):
        # the magic and headers come out of the first chunk; the rest is never inflated
        (finding,) = report.findings
        assert finding.code is Code.UNREADABLE_BINARY
    else:
        limit = f"larger than {FILE_LIMIT:,} bytes"
        assert any(limit in note for note in report.notes), report.notes


def test_zstd_member_is_unreadable_not_a_crash_where_unsupported(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, [Member(b"pkg/x.so", b"\x28\xb5\x2f\xfd" + bytes(60), method=ZSTD,
                                     true_size=4096)])  # fmt: skip
    report = scan([str(wheel)], "linux-x86_64")
    (finding,) = report.findings
    assert finding.code is Code.UNREADABLE_BINARY
    if sys.version_info < (3, 14):
        assert finding.message.endswith("zip compression method 93 is not supported")


def test_metadata_aliased_600_times_is_read_once(tmp_path: Path) -> None:
    data = bomb(BZIP2, b"Metadata-Version: 2.1\nName: pkg\n", 16)
    member = Member(b"pkg-1.0.dist-info/METADATA", data, method=BZIP2, true_size=16 << 20, crc=0)
    raw = build_zip([member])
    body_end = raw.index(b"PK\x01\x02")
    entry_end = raw.index(b"PK\x05\x06")
    entry = raw[body_end:entry_end]
    aliased = raw[:body_end] + entry * 600
    aliased += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 600, 600, len(entry) * 600, body_end, 0)
    wheel = tmp_path / "pkg-1.0-py3-none-any.whl"
    wheel.write_bytes(aliased)
    reader = MetadataReader()
    started = time.perf_counter()
    read_wheel_meta(str(wheel), reader)
    assert time.perf_counter() - started < 5
    spent = reader.budget.max_bytes - reader.budget.bytes_left
    assert spent <= FILE_LIMIT + (64 << 10)  # one read, stopped at the per-file limit
    assert len(reader.notes) == 1 and "larger than" in reader.notes[0]


def test_aliased_binaries_are_one_note_plus_a_count(tmp_path: Path) -> None:
    raw = build_zip([Member(b"pkg/a.so", ELF_SO.data)])
    body_end = raw.index(b"PK\x01\x02")
    entry = raw[body_end : raw.index(b"PK\x05\x06")]
    count = 5000
    aliased = raw[:body_end] + entry * count
    aliased += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(entry) * count,
                           body_end, 0)  # fmt: skip
    wheel = tmp_path / "pkg-1.0-py3-none-any.whl"
    wheel.write_bytes(aliased)
    discovery = Discovery()
    found = list(discovery.binaries(resolve(str(wheel))))
    assert len(found) == 1
    assert len(discovery.notes) <= 8
    assert any("4,996 more members sharing data like these" in n for n in discovery.notes)


@pytest.mark.parametrize(
    ("entries", "size"), [(1_000_000, 50_000_000), (10, 60_000_000), (100_001, 1000)]
)
def test_huge_central_directories_are_refused_before_parsing(
    entries: int, size: int, tmp_path: Path
) -> None:
    wheel = tmp_path / "pkg-1.0-py3-none-any.whl"
    wheel.write_bytes(zip64_claiming(entries, size))
    with pytest.raises(PathError, match=r"not scanned: its central directory lists"):
        open_wheel(str(wheel))


def test_a_million_real_entries_are_refused_fast(tmp_path: Path) -> None:
    entry = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 20, 0, 0, 0, 0, 0, 0, 0, 5, 0,
                        0, 0, 0, 0, 0) + b"a.txt"  # fmt: skip
    count = 1_000_000
    directory = entry * count
    end64 = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count,
                        len(directory), 0)  # fmt: skip
    locator = struct.pack("<IIQI", 0x07064B50, 0, len(directory), 1)
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    wheel = tmp_path / "pkg-1.0-py3-none-any.whl"
    wheel.write_bytes(directory + end64 + locator + eocd)
    started = time.perf_counter()
    with pytest.raises(ScanError, match=r"lists 1,000,000 entries"):
        scan([str(wheel)], "linux-x86_64")
    assert time.perf_counter() - started < 2
    # fix reads a wheel's metadata through the same check (a wheel offered by an index).
    from nuitka_archguard.check.metadata import MetadataReader

    reader = MetadataReader()
    started = time.perf_counter()
    assert reader.wheel_dist_info(str(wheel)) is None
    assert time.perf_counter() - started < 2
    assert any("lists 1,000,000 entries" in note for note in reader.notes), reader.notes
