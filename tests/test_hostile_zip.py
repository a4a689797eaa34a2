"""Hostile zip archives (wheels): huge claims, bombs, evil names, corrupt directories."""

from __future__ import annotations

import os
import re
import time
import zipfile
import zlib
from pathlib import Path
from typing import Callable, Optional

import pytest

from nuitka_archguard.binaries import (
    HEADER_BUDGET,
    BinaryInfo,
    BinaryReadError,
    read_binary,
)
from tests.hostile.binaries import ELF_SO
from tests.hostile.common import GIB, CountingZipSource, Fails, Outcome, check, run_with_timeout
from tests.hostile.zips import (
    DEFLATED,
    EVIL_NAMES,
    Member,
    _listing,
    build_zip,
    deflate,
    deflate_bomb,
)


def read_members(path: Path) -> list[tuple[str, Optional[BinaryInfo], Optional[str], int]]:
    """Read every member in place, as discovery does; (name, info, error, bytes read)."""
    results = []
    with zipfile.ZipFile(path) as archive:
        for member in archive.infolist():
            source = CountingZipSource(archive, member)
            try:
                info: Optional[BinaryInfo] = read_binary(source, member.filename)
                error = None
            except BinaryReadError as caught:
                info, error = None, str(caught)
            finally:
                source.close()
            results.append((member.filename, info, error, source.bytes_read))
    return results


ELF_HEAD = b"\x7fELF"


CLAIMS_TOO_MUCH = r"(corrupt zip member|truncated): \S.*"


def test_zip_member_claiming_10_gib_is_read_in_place(tmp_path: Path) -> None:
    archive = tmp_path / "huge-1.0-py3-none-any.whl"
    member = Member(b"pkg/huge.so", ELF_SO.data, file_size=10 * GIB)
    archive.write_bytes(build_zip([member]))
    [(name, info, error, spent)] = read_members(archive)
    assert name == "pkg/huge.so"
    assert spent <= HEADER_BUDGET
    assert info is None and error is not None
    assert re.fullmatch(CLAIMS_TOO_MUCH, error), error


def test_deflate_bomb_is_never_inflated(tmp_path: Path) -> None:
    archive = tmp_path / "bomb-1.0-py3-none-any.whl"
    data = deflate_bomb(b"zeros follow", 10)
    archive.write_bytes(
        build_zip([Member(b"pkg/bomb.so", data, method=DEFLATED, true_size=10 * GIB + 12)])
    )
    assert archive.stat().st_size < 16 * 1024 * 1024
    started = time.perf_counter()
    [(_, info, error, spent)] = read_members(archive)
    assert time.perf_counter() - started < 2
    assert spent <= HEADER_BUDGET
    assert error is None and info is not None and not info.is_binary


def test_names_with_dotdot_or_absolute_paths_are_never_written(tmp_path: Path) -> None:
    archive = tmp_path / "evil-1.0-py3-none-any.whl"
    archive.write_bytes(build_zip([Member(name, b"\x00" * 64) for name in EVIL_NAMES]))
    work = tmp_path / "work"
    work.mkdir()
    before_tmp = set(os.listdir("/tmp"))
    cwd = os.getcwd()
    try:
        os.chdir(work)
        results = read_members(archive)
    finally:
        os.chdir(cwd)
    assert len(results) == len(EVIL_NAMES)
    assert all(
        error is None and info is not None and not info.is_binary for _, info, error, _ in results
    )
    assert _listing(work) == set()
    assert _listing(tmp_path) == {"evil-1.0-py3-none-any.whl", "work"}
    assert not {n for n in set(os.listdir("/tmp")) - before_tmp if "archguard" in n}


def test_duplicate_names_are_each_read(tmp_path: Path) -> None:
    archive = tmp_path / "dup-1.0-py3-none-any.whl"
    archive.write_bytes(
        build_zip([Member(b"pkg/dup.so", b"first"), Member(b"pkg/dup.so", b"second member")])
    )
    results = read_members(archive)
    assert [name for name, *_ in results] == ["pkg/dup.so", "pkg/dup.so"]
    assert all(error is None for _, _, error, _ in results)


ZIP_MEMBER_CASES: dict[str, tuple[Callable[[], bytes], Outcome]] = {
    # The local header names another file than the directory does.
    "local-name-differs": (
        lambda: build_zip([Member(b"pkg/a.so", b"data", local_name=b"pkg/b.so")]),
        Fails(r"corrupt zip member: its local header names another file than the directory"),
    ),
    # The directory's offset is off: zipfile shifts every member by the difference.
    "directory-offset-too-big": (
        lambda: build_zip([Member(b"pkg/a.so", b"data")], directory_offset_delta=7),
        Fails(r"corrupt zip member: (negative seek value -7|\[Errno 22\] Invalid argument)"),
    ),
    "directory-offset-too-small": (
        lambda: build_zip([Member(b"pkg/a.so", b"data")], directory_offset_delta=-7),
        Fails(r"corrupt zip member: bad local header magic"),
    ),
    # Deflate data that is not deflate data.
    "corrupt-deflate-stream": (
        lambda: build_zip([Member(b"pkg/a.so", b"\xff" * 64, method=DEFLATED, true_size=4096)]),
        Fails(r"corrupt zip member: Error -3 while decompressing data: .*"),
    ),
    # A stored member whose directory entry claims more bytes than the archive holds.
    "stored-size-past-end": (
        lambda: build_zip([Member(b"pkg/a.so", b"not a binary", file_size=1 << 20)]),
        Fails(CLAIMS_TOO_MUCH),
    ),
    # Compressed data shorter than the size claimed: the stream ends early.
    "deflate-shorter-than-claimed": (
        lambda: build_zip(
            [
                Member(
                    b"pkg/a.so",
                    deflate(b"tiny"),
                    method=DEFLATED,
                    true_size=1 << 30,
                    crc=zlib.crc32(b"tiny"),
                )
            ]
        ),
        Fails(r"truncated: short read at offset 0|" + CLAIMS_TOO_MUCH),
    ),
    "deflate-shorter-than-claimed-bad-crc": (
        lambda: build_zip(
            [Member(b"pkg/a.so", deflate(b"tiny"), method=DEFLATED, true_size=1 << 30, crc=1)]
        ),
        # CRCs are not checked (only headers are read): the short data is what shows.
        Fails(r"truncated: short read at offset 0"),
    ),
}


@pytest.mark.parametrize("case", sorted(ZIP_MEMBER_CASES))
def test_zip_member_case(case: str, tmp_path: Path) -> None:
    make, outcome = ZIP_MEMBER_CASES[case]
    archive = tmp_path / "case-1.0-py3-none-any.whl"
    archive.write_bytes(make())
    with zipfile.ZipFile(archive) as opened:
        member = opened.infolist()[0]

        def read() -> BinaryInfo:
            source = CountingZipSource(opened, member)
            try:
                return read_binary(source, member.filename)
            finally:
                source.close()
                assert source.bytes_read <= HEADER_BUDGET

        run_with_timeout(lambda: check(outcome, read))


def test_corrupt_central_directory_is_refused_by_zipfile(tmp_path: Path) -> None:
    """Discovery must treat these as a broken wheel (one finding), see the scan tests."""
    good = build_zip([Member(b"pkg/a.so", b"data")])
    broken = {
        "no-end-record": good[:-22],
        "truncated-directory": good[:-30] + good[-22:],
        "garbage": b"PK\x03\x04" + b"\xff" * 200,
        "empty": b"",
    }
    for name, data in broken.items():
        path = tmp_path / f"{name}-1.0-py3-none-any.whl"
        path.write_bytes(data)
        with pytest.raises(zipfile.BadZipFile):
            zipfile.ZipFile(path).infolist()


def test_name_flagged_utf8_that_is_not_makes_zipfile_raise_unicode_error(tmp_path: Path) -> None:
    """Not a BadZipFile: discovery must catch this too (see the scan tests)."""
    path = tmp_path / "flag-1.0-py3-none-any.whl"
    path.write_bytes(build_zip([Member(b"pkg/\xff.so", b"data", utf8_flag=True)]))
    with pytest.raises(UnicodeDecodeError):
        zipfile.ZipFile(path)
