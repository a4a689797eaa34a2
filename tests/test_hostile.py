"""Hostile and broken input (issue 6): every case is generated here, none is committed.

Each case names the exact outcome: a result (format and archs) or the one-line
:class:`BinaryReadError` message. Whatever a file claims, a reader reads at most
``HEADER_BUDGET`` bytes of it, and no case may block, loop or raise anything else.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import threading
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Union

import pytest

from nuitka_archguard.binaries import (
    HEADER_BUDGET,
    BinaryFormat,
    BinaryInfo,
    BinaryReadError,
    BytesSource,
    FileSource,
    inspect_file,
    read_binary,
)
from nuitka_archguard.binaries.source import ZipMemberSource
from tests.synth import elf as synth_elf
from tests.synth import macho as synth_macho
from tests.synth import pe as synth_pe

GIB = 1024**3


# -- outcomes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reads:
    """The file reads as ``format`` with these archs (none for not-a-binary)."""

    format: BinaryFormat
    archs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fails:
    """Reading raises :class:`BinaryReadError` whose whole message matches ``pattern``."""

    pattern: str


Outcome = Union[Reads, Fails]
NOT_A_BINARY = Reads(BinaryFormat.NOT_A_BINARY)


def check(outcome: Outcome, read: Callable[[], BinaryInfo]) -> None:
    if isinstance(outcome, Fails):
        with pytest.raises(BinaryReadError) as caught:
            read()
        message = str(caught.value)
        assert re.fullmatch(outcome.pattern, message), message
        assert "\n" not in message
        return
    info = read()
    assert (info.format, info.archs) == (outcome.format, outcome.archs)


class CountingFileSource(FileSource):
    """A file source that remembers how many bytes its reader asked for."""

    def __init__(self, path: Union[str, os.PathLike[str]]) -> None:
        super().__init__(path)
        self.bytes_read = 0

    def _read(self, offset: int, length: int) -> bytes:
        self.bytes_read += length
        return super()._read(offset, length)


class CountingZipSource(ZipMemberSource):
    def __init__(self, archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
        super().__init__(archive, member)
        self.bytes_read = 0

    def _read(self, offset: int, length: int) -> bytes:
        self.bytes_read += length
        return super()._read(offset, length)


def run_with_timeout(function: Callable[[], object], seconds: float = 10.0) -> object:
    """Run ``function`` in a daemon thread; fail (rather than hang the suite) if it blocks."""
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = function()
        except BaseException as error:  # handed back to the test thread
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"blocked for more than {seconds} s"
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome.get("value")


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


@pytest.mark.parametrize("case", sorted(FILE_CASES))
def test_file_case(case: str, tmp_path: Path) -> None:
    make, outcome = FILE_CASES[case]
    path = make(tmp_path)
    started = time.perf_counter()
    run_with_timeout(lambda: check(outcome, lambda: inspect_file(path)))
    assert time.perf_counter() - started < 5


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.so"
    path.write_bytes(b"\xcf\xfa\xed\xfe")
    path.chmod(0)
    try:
        with open(path, "rb"):
            pytest.skip("this user reads files whatever their permissions (root)")
    except PermissionError:
        pass
    check(Fails(re.escape(os.strerror(errno.EACCES))), lambda: inspect_file(path))


def test_non_utf8_name_keeps_its_path(tmp_path: Path) -> None:
    path = _non_utf8_name(tmp_path)
    info = inspect_file(path)
    assert info.path == str(path)
    assert os.fsencode(info.path).endswith(b"bad-\xff\xfe-name.so")
    info.to_json()


# -- big and sparse files: the budget, not the file size, bounds the work -----------------------


def sparse_file(tmp: Path, name: str, head: bytes, tail: bytes = b"", size: int = 10 * GIB) -> Path:
    """A ``size``-byte file that holds ``head`` at its start and ``tail`` at its end, and
    nothing (a hole) in between: it takes no disk space."""
    path = tmp / name
    with open(path, "wb") as handle:
        handle.write(head)
        handle.truncate(size)
        if tail:
            handle.seek(size - len(tail))
            handle.write(tail)
    return path


def read_counted(path: Path) -> tuple[Optional[BinaryInfo], Optional[str], int]:
    with CountingFileSource(path) as source:
        try:
            return read_binary(source, str(path)), None, source.bytes_read
        except BinaryReadError as error:
            return None, str(error), source.bytes_read


def test_sparse_10_gib_file_is_not_read_whole(tmp_path: Path) -> None:
    path = sparse_file(tmp_path, "sparse.so", b"")
    started = time.perf_counter()
    info, error, spent = read_counted(path)
    assert time.perf_counter() - started < 1
    assert error is None and info is not None and not info.is_binary
    assert spent <= HEADER_BUDGET


# -- zip archives (wheels) ---------------------------------------------------------------------

STORED, DEFLATED = 0, 8


@dataclass
class Member:
    """One member of a hand-made zip archive; sizes and names may lie."""

    name: bytes
    data: bytes
    method: int = STORED
    file_size: Optional[int] = None
    """The uncompressed size the directory claims (default: the true one)."""
    compress_size: Optional[int] = None
    crc: Optional[int] = None
    local_name: Optional[bytes] = None
    """The name in the local header, when it should differ from the directory's."""
    true_size: Optional[int] = None
    """The true uncompressed size, when ``data`` is already deflated."""
    utf8_flag: Optional[bool] = None
    """Whether flag bit 11 says the name is UTF-8 (default: when it decodes as UTF-8)."""
    version_needed: int = 45


def deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def deflate_bomb(head: bytes, gib: int) -> bytes:
    """Real deflate data of ``head`` followed by ``gib`` GiB of zeros, made in milliseconds:
    once the window holds only zeros, each flushed MiB of zeros compresses to the same
    bytes, so one block is repeated."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(1024 * 1024)
    first = compressor.compress(head + zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH) == block
    return first + block * (gib * 1024 - 3) + compressor.flush()


def build_zip(members: list[Member], *, directory_offset_delta: int = 0) -> bytes:
    """A zip archive written byte by byte, so that its directory can lie."""
    body = bytearray()
    directory = bytearray()
    for member in members:
        method = member.method
        payload = member.data
        true_size = len(member.data) if member.true_size is None else member.true_size
        file_size = true_size if member.file_size is None else member.file_size
        if member.compress_size is not None:
            compress_size = member.compress_size
        else:
            compress_size = file_size if method == STORED and member.file_size else len(payload)
        crc = member.crc
        if crc is None:
            crc = zlib.crc32(member.data) if method == STORED else 0
        extra = b""
        small_file_size, small_compress_size = file_size, compress_size
        if file_size >= 0xFFFFFFFF or compress_size >= 0xFFFFFFFF:
            extra = struct.pack("<HHQQ", 1, 16, file_size, compress_size)
            small_file_size = small_compress_size = 0xFFFFFFFF
        flags = 0
        utf8 = member.utf8_flag
        if utf8 is None:
            utf8 = _is_utf8(member.name)
        if utf8:
            flags = 0x800
        offset = len(body)
        local_name = member.name if member.local_name is None else member.local_name
        body += struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            45,
            flags,
            method,
            0,
            0x21,
            crc,
            small_compress_size,
            small_file_size,
            len(local_name),
            len(extra),
        )
        body += local_name + extra + payload
        directory += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            45,
            member.version_needed,
            flags,
            method,
            0,
            0x21,
            crc,
            small_compress_size,
            small_file_size,
            len(member.name),
            len(extra),
            0,
            0,
            0,
            0o100644 << 16,
            offset,
        )
        directory += member.name + extra
    end = struct.pack(
        "<IHHHHIIH",
        0x06054B50,
        0,
        0,
        len(members),
        len(members),
        len(directory),
        len(body) + directory_offset_delta,
        0,
    )
    return bytes(body + directory + end)


def _is_utf8(name: bytes) -> bool:
    try:
        name.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


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


def _listing(root: Path) -> set[str]:
    return {
        os.path.relpath(os.path.join(d, n), root) for d, ds, fs in os.walk(root) for n in ds + fs
    }


ELF_HEAD = b"\x7fELF"


CLAIMS_TOO_MUCH = r"(corrupt zip member|truncated): \S.*"
"""A member whose data ends before the size its directory entry claims. The message must say
something after the colon (zipfile raises a bare ``EOFError()`` here)."""


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


EVIL_NAMES = [
    b"../../../archguard-escaped.so",
    b"/tmp/archguard-absolute.so",
    b"pkg/../../archguard-dotdot.so",
    b"C:\\archguard-drive.so",
    b"\\\\server\\share\\archguard-unc.so",
    b"pkg/\xff\xfe-not-utf8.so",
]


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


# -- the inspect CLI ---------------------------------------------------------------------------


def run_cli(*args: Union[str, bytes], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [os.fsencode(sys.executable), b"-m", b"nuitka_archguard", *map(os.fsencode, args)],
        capture_output=True,
        text=True,
        errors="backslashreplace",
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("json_output", [False, True], ids=["text", "json"])
def test_inspect_cli_survives_every_file_case(tmp_path: Path, json_output: bool) -> None:
    paths = []
    for index, case in enumerate(sorted(FILE_CASES)):
        folder = tmp_path / str(index)
        folder.mkdir()
        paths.append(FILE_CASES[case][0](folder))
    result = run_cli("inspect", *(["--json"] if json_output else []), *map(str, paths))
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2
    failing = [case for case in sorted(FILE_CASES) if isinstance(FILE_CASES[case][1], Fails)]
    assert len(result.stderr.strip().splitlines()) == len(failing), result.stderr


# -- binaries: Mach-O, Java, ELF, PE -----------------------------------------------------------

X86_64_SLICE = dict(build_version=("macos", "10.13", "14.0"), dylibs=["/usr/lib/libSystem.B.dylib"])
ARM64_SLICE = dict(dylibs=["/usr/lib/libSystem.B.dylib"], rpaths=["@loader_path"])
X64 = synth_macho.form_for("x86_64")
LIBSYSTEM = "/usr/lib/libSystem.B.dylib"


def mx(**options: object) -> bytes:
    """A thin x86_64 bundle; ``options`` go to the builder (and may corrupt it)."""
    return synth_macho.thin("x86_64", "bundle", **{**X86_64_SLICE, **options})  # type: ignore[arg-type]


def ma(**options: object) -> bytes:
    return synth_macho.thin("arm64", "bundle", **{**ARM64_SLICE, **options})  # type: ignore[arg-type]


def with_command(command: bytes) -> bytes:
    """A thin x86_64 file whose only load command is ``command``."""
    return synth_macho.thin("x86_64", build_version=None, extra_commands=[command])


def fat_count(count: int, fat64: bool = False) -> bytes:
    data = bytearray(synth_macho.fat([mx(), ma()], fat64=fat64))
    struct.pack_into(">I", data, 4, count)
    return bytes(data)


def patch(data: bytes, fmt: str, offset: int, *values: object) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, *values)
    return bytes(out)


def universal(fat64: bool = False, **options: object) -> bytes:
    return synth_macho.fat([mx(), ma()], fat64=fat64, **options)  # type: ignore[arg-type]


MACHO_X86_64 = Reads(BinaryFormat.MACHO, ("x86_64",))
MACHO_CASES: dict[str, tuple[Callable[[], bytes], Outcome]] = {
    # nfat_arch
    "nfat_arch-0": (lambda: fat_count(0), Fails("fat header lists no architectures")),
    # 0xcafebabe with a count of 45 or more is a Java class file (or garbage), never Mach-O.
    "nfat_arch-2^32-1": (lambda: fat_count(0xFFFFFFFF), NOT_A_BINARY),
    "fat64-nfat_arch-2^32-1": (
        lambda: fat_count(0xFFFFFFFF, fat64=True),
        Fails(r"fat header lists 4294967295 architectures \(at most 44\)"),
    ),
    "nfat_arch-44-past-the-table": (
        lambda: fat_count(44),
        Fails(r"fat slice 2 \(cputype_0x0_subtype_0\) starts at 0, inside the fat header"),
    ),
    "nfat_arch-past-the-end": (
        lambda: synth_macho.fat([mx()], nfat_arch=40)[:100],
        Fails("truncated: fat table of 40 architectures needs 808 bytes, file has 100"),
    ),
    "fat-magic-only": (
        lambda: b"\xca\xfe\xba\xbe",
        Fails("truncated: 4-byte file has no complete fat header"),
    ),
    "fat-magic-and-2-bytes": (
        lambda: b"\xca\xfe\xba\xbe\0\0",
        Fails("truncated: 6-byte file has no complete fat header"),
    ),
    # slices
    "slices-overlap": (
        lambda: universal(overrides=[None, {"offset": 4096}]),
        Fails("fat slices 0 and 1 overlap"),
    ),
    "slice-runs-into-the-next": (
        lambda: universal(overrides=[{"size": 4097}, None]),
        Fails("fat slices 0 and 1 overlap"),
    ),
    "slice-offset-0": (
        lambda: universal(overrides=[{"offset": 0}, None]),
        Fails(r"fat slice 0 \(x86_64\) starts at 0, inside the fat header"),
    ),
    "slice-inside-the-fat-table": (
        lambda: universal(overrides=[{"offset": 20}, None]),
        Fails(r"fat slice 0 \(x86_64\) starts at 20, inside the fat header"),
    ),
    "slice-past-eof": (
        lambda: universal(overrides=[None, {"offset": 1 << 30}]),
        Fails(r"fat slice 1 \(arm64\) ends at \d+, past the end of the \d+-byte file"),
    ),
    "fat64-slice-offset-2^64-1": (
        lambda: universal(fat64=True, overrides=[None, {"offset": (1 << 64) - 1}]),
        Fails(r"fat slice 1 \(arm64\) ends at \d+, past the end of the \d+-byte file"),
    ),
    "fat64-slice-size-2^64-1": (
        lambda: universal(fat64=True, overrides=[None, {"size": (1 << 64) - 1}]),
        Fails(r"fat slice 1 \(arm64\) ends at \d+, past the end of the \d+-byte file"),
    ),
    "slice-size-0": (
        lambda: universal(overrides=[None, {"size": 0}]),
        Fails(r"fat slice 1 \(arm64\): truncated: 0-byte slice has no Mach-O magic"),
    ),
    "slice-smaller-than-its-header": (
        lambda: universal(overrides=[None, {"size": 20}]),
        Fails(r"fat slice 1 \(arm64\): truncated: mach header needs 32 bytes, has 20"),
    ),
    "two-slices-of-one-arch": (
        lambda: synth_macho.fat([mx(), mx()]),
        Fails(r"fat slices 0 and 1 are both x86_64"),
    ),
    "inner-cputype-disagrees": (
        lambda: synth_macho.fat([mx()], overrides=[{"cputype": 0x0100000C, "cpusubtype": 0}]),
        Fails(
            r"fat slice 0 \(arm64\): mach header says x86_64, the fat table says cputype 0x100000c"
        ),
    ),
    "slice-is-elf": (
        lambda: synth_macho.fat(
            [synth_elf.elf("x86_64")], overrides=[{"cputype": 0x01000007, "cpusubtype": 3}]
        ),
        Fails(r"fat slice 0 \(x86_64\): not a thin Mach-O header \(magic 0x7f454c46\)"),
    ),
    "fat-inside-fat": (
        lambda: synth_macho.fat(
            [synth_macho.fat([mx()])], overrides=[{"cputype": 0x01000007, "cpusubtype": 3}]
        ),
        Fails(r"fat slice 0 \(x86_64\): not a thin Mach-O header \(magic 0xcafebabe\)"),
    ),
    # ncmds / sizeofcmds
    "ncmds-100": (lambda: mx(ncmds=100), Fails("100 load commands cannot fit in 88 bytes")),
    "ncmds-2^32-1": (
        lambda: mx(ncmds=0xFFFFFFFF),
        Fails("4294967295 load commands cannot fit in 88 bytes"),
    ),
    "ncmds-one-too-many": (
        lambda: mx(ncmds=3, body=b""),
        Fails("load command 2 starts past sizeofcmds"),
    ),
    "ncmds-fewer-than-there-are": (lambda: mx(ncmds=1), MACHO_X86_64),
    "sizeofcmds-2^32-1": (
        lambda: mx(sizeofcmds=0xFFFFFFFF),
        Fails(
            r"truncated: load commands \(4294967295 bytes\) run past the end of the \d+-byte image"
        ),
    ),
    "sizeofcmds-too-small": (
        lambda: mx(sizeofcmds=30),
        Fails(r"load command 0 \(0x32\) of 32 bytes runs past sizeofcmds"),
    ),
    "sizeofcmds-0": (lambda: mx(sizeofcmds=0), Fails("2 load commands cannot fit in 0 bytes")),
    "sizeofcmds-over-budget-in-a-sparse-file": (
        lambda: mx(sizeofcmds=HEADER_BUDGET * 2, ncmds=2) + bytes(HEADER_BUDGET * 2),
        Fails(r"headers exceed the 1024 KiB header budget"),
    ),
    # cmdsize
    "cmdsize-0": (
        lambda: with_command(synth_macho.command(0x1B, bytes(16), X64, cmdsize=0)),
        Fails(r"load command 0 \(0x1b\) has cmdsize 0"),
    ),
    "cmdsize-4": (
        lambda: with_command(synth_macho.command(0x1B, bytes(16), X64, cmdsize=4)),
        Fails(r"load command 0 \(0x1b\) has cmdsize 4"),
    ),
    "cmdsize-0-after-a-good-command": (
        lambda: mx(extra_commands=[synth_macho.command(0x1B, bytes(16), X64, cmdsize=0)]),
        Fails(r"load command 2 \(0x1b\) has cmdsize 0"),
    ),
    "cmdsize-past-sizeofcmds": (
        lambda: with_command(synth_macho.dylib_command(LIBSYSTEM, "load", X64, cmdsize=4096)),
        Fails(r"load command 0 \(0xc\) of 4096 bytes runs past sizeofcmds"),
    ),
    "LC_BUILD_VERSION-smaller-than-its-struct": (
        lambda: with_command(
            synth_macho.build_version_command("macos", "10.13", "14.0", X64, cmdsize=16)
        ),
        Fails(r"load command 0 \(LC_BUILD_VERSION\) has cmdsize 16, below its 24-byte structure"),
    ),
    "LC_VERSION_MIN_MACOSX-smaller-than-its-struct": (
        lambda: with_command(
            synth_macho.version_min_command("macos", "10.13", "14.0", X64, cmdsize=8)
        ),
        Fails(
            r"load command 0 \(LC_VERSION_MIN_MACOSX\) has cmdsize 8, below its 16-byte structure"
        ),
    ),
    "LC_LOAD_DYLIB-smaller-than-its-struct": (
        lambda: with_command(synth_macho.dylib_command(LIBSYSTEM, "load", X64, cmdsize=16)),
        Fails(r"load command 0 \(LC_LOAD_DYLIB\) has cmdsize 16, below its 24-byte structure"),
    ),
    "LC_RPATH-smaller-than-its-struct": (
        lambda: with_command(synth_macho.rpath_command("@loader_path", X64, cmdsize=8)),
        Fails(r"load command 0 \(LC_RPATH\) has cmdsize 8, below its 12-byte structure"),
    ),
    # lc_str
    "dylib-name-without-terminator": (
        lambda: with_command(synth_macho.dylib_command(LIBSYSTEM, "load", X64, terminate=False)),
        Fails(r"load command 0 \(LC_LOAD_DYLIB\) string has no NUL terminator"),
    ),
    "rpath-without-terminator": (
        lambda: with_command(synth_macho.rpath_command("@loader_path", X64, terminate=False)),
        Fails(r"load command 0 \(LC_RPATH\) string has no NUL terminator"),
    ),
    "install-name-without-terminator": (
        lambda: with_command(synth_macho.dylib_command("libx.dylib", "id", X64, terminate=False)),
        Fails(r"load command 0 \(LC_ID_DYLIB\) string has no NUL terminator"),
    ),
    "dylib-name-offset-past-the-command": (
        lambda: with_command(synth_macho.dylib_command(LIBSYSTEM, "load", X64, offset=4000)),
        Fails(
            r"load command 0 \(LC_LOAD_DYLIB\) string offset 4000 lies outside its 24\.\.56 bytes"
        ),
    ),
    "dylib-name-offset-inside-the-struct": (
        lambda: with_command(synth_macho.dylib_command(LIBSYSTEM, "load", X64, offset=8)),
        Fails(r"load command 0 \(LC_LOAD_DYLIB\) string offset 8 lies outside its 24\.\.56 bytes"),
    ),
    "rpath-offset-2^32-1": (
        lambda: with_command(synth_macho.rpath_command("@loader_path", X64, offset=0xFFFFFFFF)),
        Fails(
            r"load command 0 \(LC_RPATH\) string offset 4294967295 lies outside its 12\.\.32 bytes"
        ),
    ),
    "non-utf8-dylib-name": (lambda: mx(dylibs=["/usr/lib/\udcff.dylib"]), MACHO_X86_64),
    "unknown-cputype": (
        lambda: mx(cputype=0x77, cpusubtype=5),
        Reads(BinaryFormat.MACHO, ("cputype_0x77_subtype_5",)),
    ),
    "unknown-platform": (lambda: mx(build_version=(99, "10.13", "14.0")), MACHO_X86_64),
    # Java class files share 0xcafebabe: minor and major version follow, major >= 45.
    "java-class-52.0": (lambda: b"\xca\xfe\xba\xbe\x00\x00\x00\x34" + bytes(200), NOT_A_BINARY),
    "java-class-45.3": (lambda: b"\xca\xfe\xba\xbe\x00\x03\x00\x2d" + bytes(200), NOT_A_BINARY),
    "java-class-65-preview": (
        lambda: b"\xca\xfe\xba\xbe\xff\xff\x00\x41" + bytes(200),
        NOT_A_BINARY,
    ),
    "java-class-header-only": (lambda: b"\xca\xfe\xba\xbe\x00\x00\x00\x3d", NOT_A_BINARY),
}

ELF_SO = synth_elf.build_elf("x86_64", needed=["libc.so.6"], soname="libx.so", runpath=["$ORIGIN"])
ELF_PIE = synth_elf.build_elf(
    "x86_64", needed=["libc.so.6"], interp="/lib64/ld-linux-x86-64.so.2", pie=True
)
ELF_NO_LOAD = synth_elf.build_elf("x86_64", needed=["libc.so.6"], load=False)
ELF_I686 = synth_elf.build_elf("i686", needed=["libc.so.6"], soname="libx.so")
E_PHOFF, E_SHOFF, E_PHENTSIZE, E_PHNUM, E_SHENTSIZE, E_SHNUM = 32, 40, 54, 56, 58, 60
ELF_X86_64 = Reads(BinaryFormat.ELF, ("x86_64",))
TRUNCATED_READ = r"truncated: needs bytes \d+\.\.\d+ of a \d+-byte file"

ELF_CASES: dict[str, tuple[Callable[[], bytes], Outcome]] = {
    "e_phnum-65535": (
        lambda: patch(ELF_SO.data, "<H", E_PHNUM, 0xFFFF),
        Fails(r"too many program headers \(65535\)"),
    ),
    "e_phnum-past-the-end": (lambda: patch(ELF_SO.data, "<H", E_PHNUM, 200), Fails(TRUNCATED_READ)),
    "e_phnum-0": (lambda: patch(ELF_SO.data, "<H", E_PHNUM, 0), ELF_X86_64),
    "elf32-e_phnum-65535": (
        lambda: patch(ELF_I686.data, "<H", 44, 0xFFFF),
        Fails(r"too many program headers \(65535\)"),
    ),
    "e_phentsize-0": (
        lambda: patch(ELF_SO.data, "<H", E_PHENTSIZE, 0),
        Fails("bad program header size 0"),
    ),
    "e_phentsize-of-elf32": (
        lambda: patch(ELF_SO.data, "<H", E_PHENTSIZE, 32),
        Fails("bad program header size 32"),
    ),
    "e_phoff-past-eof": (lambda: patch(ELF_SO.data, "<Q", E_PHOFF, 1 << 40), Fails(TRUNCATED_READ)),
    "e_phoff-2^64-1": (
        lambda: patch(ELF_SO.data, "<Q", E_PHOFF, (1 << 64) - 1),
        Fails(TRUNCATED_READ),
    ),
    # Section headers matter only when DT_STRTAB maps to no PT_LOAD segment.
    "e_shnum-65535": (
        lambda: patch(ELF_NO_LOAD.data, "<H", E_SHNUM, 0xFFFF),
        Fails(r"too many section headers \(65535\)"),
    ),
    "e_shnum-past-the-end": (
        lambda: patch(ELF_NO_LOAD.data, "<H", E_SHNUM, 200),
        Fails(TRUNCATED_READ),
    ),
    "e_shoff-past-eof": (
        lambda: patch(ELF_NO_LOAD.data, "<Q", E_SHOFF, 1 << 40),
        Fails(TRUNCATED_READ),
    ),
    "e_shentsize-12": (
        lambda: patch(ELF_NO_LOAD.data, "<H", E_SHENTSIZE, 12),
        Fails("bad section header size 12"),
    ),
    "e_shoff-past-eof-unused": (lambda: patch(ELF_SO.data, "<Q", E_SHOFF, 1 << 40), ELF_X86_64),
    "e_shnum-65535-unused": (lambda: patch(ELF_SO.data, "<H", E_SHNUM, 0xFFFF), ELF_X86_64),
    "sections-link-out-of-range": (
        # .dynstr's address erased, .dynamic's sh_link past the table
        lambda: patch(
            patch(ELF_NO_LOAD.data, "<Q", ELF_NO_LOAD.shoff + 64 + 16, 0),
            "<I",
            ELF_NO_LOAD.shoff + 2 * 64 + 40,
            0xFFFF,
        ),
        Fails("DT_STRTAB address maps to no segment or section"),
    ),
    "PT_DYNAMIC-past-eof": (
        lambda: patch(ELF_SO.data, "<Q", ELF_SO.phoff + 56 + 8, 1 << 40),
        Fails(TRUNCATED_READ),
    ),
    "PT_DYNAMIC-size-2^40": (
        lambda: patch(ELF_SO.data, "<Q", ELF_SO.phoff + 56 + 32, 1 << 40),
        Fails(TRUNCATED_READ),
    ),
    "DT_NEEDED-outside-the-strtab": (
        lambda: patch(ELF_SO.data, "<Q", ELF_SO.dynamic_offset + 16 * 3 + 8, 1 << 20),
        Fails(r"string offset 1048576 outside the \d+-byte strtab"),
    ),
    "DT_STRSZ-0": (
        lambda: patch(ELF_SO.data, "<Q", ELF_SO.dynamic_offset + 16 + 8, 0),
        Fails(r"string offset \d+ outside the 0-byte strtab"),
    ),
    "PT_INTERP-1-MiB": (
        lambda: patch(ELF_PIE.data, "<Q", ELF_PIE.phoff + 32, 1 << 20),
        Fails(r"PT_INTERP too long \(1048576 bytes\)"),
    ),
    "PT_INTERP-past-eof": (
        lambda: patch(ELF_PIE.data, "<Q", ELF_PIE.phoff + 8, 1 << 40),
        Fails(TRUNCATED_READ),
    ),
    "EI_CLASS-0": (
        lambda: patch(ELF_SO.data, "B", 4, 0),
        Fails(r"bad ELF class \(0\) or byte order \(1\)"),
    ),
    "EI_DATA-3": (
        lambda: patch(ELF_SO.data, "B", 5, 3),
        Fails(r"bad ELF class \(2\) or byte order \(3\)"),
    ),
    "e_type-0": (lambda: patch(ELF_SO.data, "<H", 16, 0), Fails("unknown ELF file type 0")),
    "core-with-65535-segments": (
        lambda: patch(patch(ELF_SO.data, "<H", 16, 4), "<H", E_PHNUM, 0xFFFF),
        ELF_X86_64,
    ),
    "magic-only": (lambda: b"\x7fELF", Fails("truncated ELF identification")),
    "identification-only": (lambda: ELF_SO.data[:16], Fails("truncated ELF header")),
}

PE_DLL = synth_pe.build_pe(
    "amd64", imports=["KERNEL32.dll", "python311.dll"], delay_imports=["x.dll"]
)
PE_AMD64 = Reads(BinaryFormat.PE, ("amd64",))
NO_PE_HEADER = Fails("MZ executable without a PE header")

PE_CASES: dict[str, tuple[Callable[[], bytes], Outcome]] = {
    "e_lfanew-past-eof": (lambda: patch(PE_DLL.data, "<I", 0x3C, 1 << 30), NO_PE_HEADER),
    "e_lfanew-2^32-1": (lambda: patch(PE_DLL.data, "<I", 0x3C, 0xFFFFFFFF), NO_PE_HEADER),
    "e_lfanew-0": (lambda: patch(PE_DLL.data, "<I", 0x3C, 0), NO_PE_HEADER),
    "e_lfanew-near-the-end": (
        lambda: patch(PE_DLL.data, "<I", 0x3C, len(PE_DLL.data) - 10),
        NO_PE_HEADER,
    ),
    "no-PE-signature": (lambda: patch(PE_DLL.data, "4s", 0x40, b"NE\0\0"), NO_PE_HEADER),
    "dos-header-only": (lambda: b"MZ" + bytes(62), NO_PE_HEADER),
    "mz-only": (lambda: b"MZ", NO_PE_HEADER),
    "optional-header-size-0": (
        lambda: patch(PE_DLL.data, "<H", PE_DLL.coff_offset + 16, 0),
        Fails("PE image without an optional header"),
    ),
    "optional-header-size-64": (
        lambda: patch(PE_DLL.data, "<H", PE_DLL.coff_offset + 16, 64),
        Fails(r"PE optional header too small \(64 bytes\)"),
    ),
    "optional-header-size-65535": (
        lambda: patch(PE_DLL.data, "<H", PE_DLL.coff_offset + 16, 0xFFFF),
        Fails(TRUNCATED_READ),
    ),
    "optional-header-magic": (
        lambda: patch(PE_DLL.data, "<H", PE_DLL.optional_offset, 0x107),
        Fails("unknown PE optional header magic 0x107"),
    ),
    "NumberOfSections-65535": (
        lambda: patch(PE_DLL.data, "<H", PE_DLL.coff_offset + 2, 0xFFFF),
        Fails(r"too many PE sections \(65535\)"),
    ),
    "section-table-past-the-end": (
        lambda: patch(PE_DLL.data, "<H", PE_DLL.coff_offset + 2, 200),
        Fails(TRUNCATED_READ),
    ),
    "no-sections": (
        lambda: patch(PE_DLL.data, "<H", PE_DLL.coff_offset + 2, 0),
        Fails("RVA 0x1000 maps to no section"),
    ),
    "section-data-past-eof": (
        lambda: patch(PE_DLL.data, "<I", PE_DLL.section_table_offset + 20, 1 << 30),
        Fails(TRUNCATED_READ),
    ),
    "import-directory-maps-nowhere": (
        lambda: patch(PE_DLL.data, "<I", PE_DLL.directories_offset + 8, 0x7FFFFFF0),
        Fails("RVA 0x7ffffff0 maps to no section"),
    ),
    "import-name-maps-nowhere": (
        lambda: patch(PE_DLL.data, "<I", (PE_DLL.import_offset or 0) + 12, 0x7FFFFFF0),
        Fails("RVA 0x7ffffff0 maps to no section"),
    ),
    "delay-import-name-maps-nowhere": (
        lambda: patch(PE_DLL.data, "<I", (PE_DLL.delay_import_offset or 0) + 4, 0x7FFFFFF0),
        Fails("RVA 0x7ffffff0 maps to no section"),
    ),
    "NumberOfRvaAndSizes-2^32-1": (
        lambda: patch(PE_DLL.data, "<I", PE_DLL.optional_offset + 108, 0xFFFFFFFF),
        PE_AMD64,
    ),
}

READER_CASES = {
    **{f"macho-{k}": v for k, v in MACHO_CASES.items()},
    **{f"elf-{k}": v for k, v in ELF_CASES.items()},
    **{f"pe-{k}": v for k, v in PE_CASES.items()},
}


@pytest.mark.parametrize("case", sorted(READER_CASES))
def test_reader_case(case: str, tmp_path: Path) -> None:
    make, outcome = READER_CASES[case]
    path = tmp_path / "case.so"
    path.write_bytes(make())
    check(outcome, lambda: inspect_file(path))
    started = time.perf_counter()
    _, _, spent = read_counted(path)
    assert time.perf_counter() - started < 0.5
    assert spent <= HEADER_BUDGET


# -- cut at every byte offset ------------------------------------------------------------------

CUT_MESSAGE = re.compile(
    r"(fat slice \d+ \(\w+\): )?truncated: .*"
    r"|truncated ELF (identification|header)"
    r"|fat slice \d+ \(\w+\) ends at \d+, past the end of the \d+-byte file"
    r"|MZ executable without a PE header"
    r"|unterminated DLL name in the import directory"
)


def whole_headers(data: bytes) -> int:
    """Bytes a thin Mach-O file needs: its header and load commands."""
    order = "<" if data[:4] in (b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe") else ">"
    (sizeofcmds,) = struct.unpack_from(order + "I", data, 20)
    is64 = data[:4] in (b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa\xcf")
    return (32 if is64 else 28) + sizeofcmds


CUT_SAMPLES: dict[str, tuple[Callable[[], bytes], Optional[Callable[[bytes], int]]]] = {
    # name: (file, where reading must start to succeed; None: the whole file)
    "macho-thin64": (lambda: mx(id_dylib="libx.dylib", rpaths=["@loader_path/.."]), whole_headers),
    "macho-thin32": (
        lambda: synth_macho.thin(
            "i386", version_min=("macos", "10.9", "10.13"), build_version=None, dylibs=[LIBSYSTEM]
        ),
        whole_headers,
    ),
    "macho-thin32-big-endian": (lambda: synth_macho.thin("ppc", dylibs=[LIBSYSTEM]), whole_headers),
    "macho-fat": (lambda: synth_macho.fat([mx(), ma()], align=4), None),
    "macho-fat64": (lambda: synth_macho.fat([mx(), ma()], align=4, fat64=True), None),
    "macho-fat-page-aligned": (lambda: synth_macho.fat([mx(), ma()]), None),
    "elf64": (lambda: ELF_SO.data, lambda data: -1),
    "elf64-pie": (lambda: ELF_PIE.data, lambda data: -1),
    "elf64-without-load": (lambda: ELF_NO_LOAD.data, lambda data: -1),
    "elf32": (lambda: ELF_I686.data, lambda data: -1),
    "pe32+": (lambda: PE_DLL.data, lambda data: -1),
    "pe32": (lambda: synth_pe.pe("x86", imports=["KERNEL32.dll"]), lambda data: -1),
}


@pytest.mark.parametrize("sample", sorted(CUT_SAMPLES))
def test_cut_at_every_offset(sample: str) -> None:
    """Every prefix either fails with a truncation message or, from one length on, reads
    exactly as the whole file does (for Mach-O: from the end of its headers on)."""
    make, needed = CUT_SAMPLES[sample]
    data = make()
    whole = read_binary(BytesSource(data), "f")
    assert whole.is_binary
    magic = 2 if data[:2] == b"MZ" else 4
    first_good = None
    for length in range(len(data) + 1):
        source = BytesSource(data[:length])
        if length < magic:
            assert not read_binary(source, "f").is_binary
            continue
        try:
            info = read_binary(source, "f")
        except BinaryReadError as error:
            assert first_good is None, f"{length}: fails after {first_good} read: {error}"
            assert CUT_MESSAGE.fullmatch(str(error)), f"{length}: {error}"
            continue
        assert info == whole, length
        if first_good is None:
            first_good = length
    expected = len(data) if needed is None else needed(data)
    if expected >= 0:
        assert first_good == expected
    assert first_good is not None


# -- bounded time and memory whatever the headers say ------------------------------------------


def pe_with_many_sections_and_imports(sections: int = 8192, imports: int = 4095) -> bytes:
    """A 0.5 MB PE image: ``sections`` section headers (the import data in the last one) and
    ``imports`` import plus as many delay-import descriptors. Every header is in budget."""
    optional_size = 240
    table_at = 0x40 + 24 + optional_size
    data_at = (table_at + sections * 40 + 0x1FF) & ~0x1FF
    rva = 0x100000
    imports_size, delays_size = (imports + 1) * 20, (imports + 1) * 32
    name_at = imports_size + delays_size
    blob = bytearray(name_at + 16)
    for i in range(imports):
        struct.pack_into("<IIIII", blob, i * 20, 0, 0, 0, rva + name_at, 0)
        struct.pack_into("<8I", blob, imports_size + i * 32, 1, rva + name_at, 0, 0, 0, 0, 0, 0)
    blob[name_at : name_at + 8] = b"evil.dll"
    out = bytearray(data_at) + blob
    out[0:2] = b"MZ"
    struct.pack_into("<I", out, 0x3C, 0x40)
    out[0x40:0x44] = b"PE\0\0"
    struct.pack_into("<HHIIIHH", out, 0x44, 0x8664, sections, 0, 0, 0, optional_size, 0x2022)
    optional = 0x40 + 24
    struct.pack_into("<H", out, optional, 0x20B)
    struct.pack_into("<Q", out, optional + 24, 0x180000000)
    struct.pack_into("<I", out, optional + 60, data_at)
    struct.pack_into("<I", out, optional + 108, 16)
    struct.pack_into("<II", out, optional + 112 + 8 * 1, rva, imports_size)
    struct.pack_into("<II", out, optional + 112 + 8 * 13, rva + imports_size, delays_size)
    struct.pack_into(
        "<8sIIII",
        out,
        table_at + (sections - 1) * 40,
        b".rdata",
        len(blob),
        rva,
        len(blob),
        data_at,
    )
    return bytes(out)


def elf_with_one_long_name_needed_often(entries: int = 64, length: int = 900_000) -> bytes:
    """An ELF file whose ``entries`` DT_NEEDED entries all point at one ``length``-byte
    string: 1 MB of headers that would become ``entries`` MB of names."""
    phdrs_at, dynamic_at = 64, 64 + 2 * 56
    dynamic = [(5, 0), (10, 0)] + [(1, 1)] * (entries - 1) + [(1, length)] + [(0, 0)]
    strings_at = dynamic_at + len(dynamic) * 16
    strings = b"\0" + b"A" * (length - 1) + b"\0\0"
    size = strings_at + len(strings)
    dynamic[0], dynamic[1] = (5, strings_at), (10, len(strings))
    out = bytearray(size)
    out[:16] = b"\x7fELF\x02\x01\x01".ljust(16, b"\0")
    struct.pack_into("<HHIQQQIHHHHHH", out, 16, 3, 62, 1, 0, phdrs_at, 0, 0, 64, 56, 2, 64, 0, 0)
    struct.pack_into("<IIQQQQQQ", out, phdrs_at, 1, 4, 0, 0, 0, size, size, 8)
    struct.pack_into(
        "<IIQQQQQQ",
        out,
        phdrs_at + 56,
        2,
        4,
        dynamic_at,
        dynamic_at,
        dynamic_at,
        len(dynamic) * 16,
        len(dynamic) * 16,
        8,
    )
    for index, (tag, value) in enumerate(dynamic):
        struct.pack_into("<QQ", out, dynamic_at + 16 * index, tag, value)
    out[strings_at:] = strings
    return bytes(out)


def test_pe_time_does_not_grow_with_sections_times_imports() -> None:
    """Regression (pe.py ``_Image.map`` is a linear scan called once per imported name):
    8192 sections x 8190 names took 5.6 s for one 0.5 MB file."""
    data = pe_with_many_sections_and_imports()
    started = time.perf_counter()
    with contextlib.suppress(BinaryReadError):
        read_binary(BytesSource(data), "f")
    assert time.perf_counter() - started < 0.5


def test_elf_names_are_bounded_whatever_the_table_says() -> None:
    """Regression (elf.py ``_File._strings``: a name is not cut at MAX_STRING): 64 DT_NEEDED
    entries at one 900 KB string made 57 MB of names from 1 MB of headers; 4096 would make
    3.6 GB."""
    import tracemalloc

    data = elf_with_one_long_name_needed_often()
    tracemalloc.start()
    try:
        info: Optional[BinaryInfo] = read_binary(BytesSource(data), "f")
    except BinaryReadError:
        info = None
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < 4 * HEADER_BUDGET
    if info is not None:
        assert all(len(name) <= 4096 for name in info.dependencies)


def test_sparse_10_gib_binaries_read_only_their_headers(tmp_path: Path) -> None:
    slice_ = mx()
    at_the_end = 10 * GIB - len(slice_)
    phdrs = ELF_SO.data[ELF_SO.phoff : ELF_SO.phoff + ELF_SO.phnum * ELF_SO.phentsize]
    cases: dict[str, tuple[bytes, bytes, Outcome]] = {
        # A thin Mach-O whose load commands claim 4 GiB of the file.
        "macho-sizeofcmds-4GiB": (
            mx(sizeofcmds=0xFFFFFFF0, ncmds=2),
            b"",
            Fails(r"headers exceed the 1024 KiB header budget"),
        ),
        # A fat64 file whose only slice lies at the end of 10 GiB of holes.
        "macho-fat64-slice-at-the-end": (
            synth_macho.fat([slice_], fat64=True, overrides=[{"offset": at_the_end}])[:40],
            slice_,
            MACHO_X86_64,
        ),
        # An ELF file whose program headers lie at the end.
        "elf-phdrs-at-the-end": (
            patch(ELF_SO.data, "<Q", E_PHOFF, 10 * GIB - 4096),
            phdrs.ljust(4096, b"\0"),
            ELF_X86_64,
        ),
    }
    for name, (head, tail, outcome) in cases.items():
        path = sparse_file(tmp_path, name, head, tail)
        started = time.perf_counter()
        check(outcome, lambda: inspect_file(path))  # noqa: B023
        _, _, spent = read_counted(path)
        assert time.perf_counter() - started < 1, name
        assert spent <= HEADER_BUDGET, name


# -- the scanner: a hostile tree, hostile wheels, unreadable PATHs -----------------------------

from nuitka_archguard.policy import Code  # noqa: E402
from nuitka_archguard.scan import ScanError, ScanReport, scan  # noqa: E402


def hostile_tree(root: Path) -> dict[str, Outcome]:
    """Every file case and every reader case in one tree; returns outcome by path."""
    outcomes: dict[str, Outcome] = {}
    for case in sorted(FILE_CASES):
        folder = root / "files" / case
        folder.mkdir(parents=True)
        make, outcome = FILE_CASES[case]
        outcomes[str(make(folder))] = outcome
    (root / "bins").mkdir()
    for case, (make_bytes, outcome) in READER_CASES.items():
        path = root / "bins" / f"{case}.so"
        path.write_bytes(make_bytes())
        outcomes[str(path)] = outcome
    return outcomes


def test_scan_of_a_hostile_tree_reports_each_corrupt_binary(tmp_path: Path) -> None:
    outcomes = hostile_tree(tmp_path)
    report = run_with_timeout(lambda: scan([str(tmp_path)], "linux-x86_64"), 60)
    assert isinstance(report, ScanReport)
    unreadable = {f.path: f for f in report.findings if f.code is Code.UNREADABLE_BINARY}
    for path, outcome in outcomes.items():
        if not path.startswith(str(tmp_path / "bins")):
            continue
        if isinstance(outcome, Fails):
            assert path in unreadable, path
            message = unreadable[path].message
            assert re.fullmatch(r".* cannot be checked: " + outcome.pattern, message), message
        else:
            assert path not in unreadable, unreadable[path].message
    report.to_json()


def test_scan_names_symlink_problems_exactly(tmp_path: Path) -> None:
    dangling = _dangling_symlink(tmp_path)
    looping = _looping_symlink(tmp_path)
    report = scan([str(tmp_path)], "linux-x86_64")
    messages = {f.path: f.message for f in report.findings if f.code is Code.UNREADABLE_BINARY}
    assert messages[str(dangling)].endswith("cannot be checked: dangling symlink")
    # Regression (discovery.py ``_link``): a loop was reported as "dangling symlink".
    assert re.search(r"loop|too many levels", messages[str(looping)], re.IGNORECASE), messages


def test_scan_skips_fifos_and_directories_named_like_binaries(tmp_path: Path) -> None:
    for index, make in enumerate(
        [_fifo, _symlink_to_fifo, _directory, _symlink_to_directory, _zero_bytes]
    ):
        (tmp_path / str(index)).mkdir()
        make(tmp_path / str(index))
    report = run_with_timeout(lambda: scan([str(tmp_path)], "linux-x86_64"))
    assert report.findings == []


def _wheel(tmp: Path, members: list[Member], name: str = "pkg-1.0-py3-none-any.whl") -> Path:
    path = tmp / name
    path.write_bytes(build_zip(members))
    return path


def test_scan_of_hostile_wheels(tmp_path: Path) -> None:
    members = [Member(name, ELF_SO.data) for name in EVIL_NAMES]
    members += [Member(b"pkg/dup.so", ELF_SO.data), Member(b"pkg/dup.so", b"\x7fELF")]
    members.append(
        Member(b"pkg/bomb.so", deflate_bomb(b"\x7fELF", 2), method=DEFLATED, true_size=2 * GIB + 4)
    )
    members.append(Member(b"pkg/claims.so", ELF_SO.data, file_size=10 * GIB))
    wheel = _wheel(tmp_path, members)
    work = tmp_path / "work"
    work.mkdir()
    cwd = os.getcwd()
    try:
        os.chdir(work)
        started = time.perf_counter()
        report = run_with_timeout(lambda: scan([str(wheel)], "linux-x86_64"), 60)
        assert time.perf_counter() - started < 10
    finally:
        os.chdir(cwd)
    assert _listing(work) == set()
    unreadable = sorted(
        f.path.rsplit("/", 1)[-1] for f in report.findings if f.code is Code.UNREADABLE_BINARY
    )
    assert unreadable == ["bomb.so", "claims.so", "dup.so"], unreadable


ARCHIVE_CASES: dict[str, Callable[[], bytes]] = {
    "no-end-record": lambda: build_zip([Member(b"pkg/a.so", ELF_SO.data)])[:-22],
    "truncated-directory": lambda: (lambda z: z[:-30] + z[-22:])(
        build_zip([Member(b"pkg/a.so", ELF_SO.data)])
    ),
    "garbage": lambda: b"PK\x03\x04" + b"\xff" * 200,
    "empty": lambda: b"",
    "name-flagged-utf8-is-not": lambda: build_zip(
        [Member(b"pkg/\xff.so", ELF_SO.data, utf8_flag=True)]
    ),
    # Regression (discovery.py): zipfile raises NotImplementedError for a "version needed
    # to extract" above 6.3; it escaped resolve(), read_wheel_meta() and scan(). Found by
    # fuzz/run.py.
    "version-needed-23.6": lambda: build_zip(
        [Member(b"pkg/a.so", ELF_SO.data, version_needed=236)]
    ),
}


@pytest.mark.parametrize("case", sorted(ARCHIVE_CASES))
def test_unreadable_wheel_is_a_scan_error(case: str, tmp_path: Path) -> None:
    path = tmp_path / "pkg-1.0-py3-none-any.whl"
    path.write_bytes(ARCHIVE_CASES[case]())
    with pytest.raises(ScanError) as caught:
        scan([str(path)], "linux-x86_64")
    assert "not a readable wheel" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_overlapping_members_cost_one_budget_not_one_per_member(tmp_path: Path) -> None:
    """Regression (discovery.py ``_wheel``): a 0.1 MB wheel whose directory lists one local
    member many times (same offset, same name) made the scan inflate that member once per
    entry: 20 entries of a fat file whose slice lies 200 MiB deep took 22 s."""
    deep = 200 * 1024 * 1024
    slice_ = mx()
    head = synth_macho.fat([slice_], fat64=True, overrides=[{"offset": deep}])[:40]
    content_crc = zlib.crc32(slice_, zlib.crc32(bytes(deep - 40), zlib.crc32(head)))
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = compressor.compress(head) + compressor.compress(bytes(deep - 40))
    body += compressor.compress(slice_) + compressor.flush()
    member = Member(
        b"pkg/m.so", body, method=DEFLATED, true_size=deep + len(slice_), crc=content_crc
    )
    data = build_zip([member])
    local_end = data.index(b"PK\x01\x02")
    directory = data[local_end:-22]
    entries = 20
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, entries, entries, len(directory) * entries, local_end, 0
    )
    wheel = tmp_path / "overlap-1.0-py3-none-any.whl"
    wheel.write_bytes(data[:local_end] + directory * entries + end)
    started = time.perf_counter()
    with contextlib.suppress(ScanError):
        run_with_timeout(lambda: scan([str(wheel)], "macos-x86_64"), 120)
    assert time.perf_counter() - started < 5


# -- the scan CLI ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        _missing,
        _dangling_symlink,
        _looping_symlink,
        _fifo,
        lambda tmp: _wheel_bytes(tmp, b"PK\x03\x04 not a zip"),
        lambda tmp: _wheel_bytes(tmp, build_zip([Member(b"a.so", b"x", version_needed=236)])),
    ],
    ids=[
        "missing",
        "dangling-symlink",
        "looping-symlink",
        "fifo",
        "corrupt-wheel",
        "wheel-version-23.6",
    ],
)
def test_scan_cli_exits_2_for_an_unreadable_path(
    make: Callable[[Path], Path], tmp_path: Path
) -> None:
    path = make(tmp_path)
    result = run_cli("scan", str(path), "--target", "linux-x86_64")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def _wheel_bytes(tmp: Path, data: bytes) -> Path:
    path = tmp / "pkg-1.0-py3-none-any.whl"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_scan_cli_on_a_hostile_tree(fmt: str, tmp_path: Path) -> None:
    hostile_tree(tmp_path)
    bad = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"bins", b"\xff\xfe-corrupt.so")))
    bad.write_bytes(b"\xcf\xfa\xed\xfe" + bytes(8))
    result = run_cli("scan", str(tmp_path), "--target", "linux-x86_64", "--format", fmt)
    assert "Traceback" not in result.stderr, result.stderr
    assert "internal error" not in result.stderr, result.stderr
    assert result.returncode == 1, result.stderr
    if fmt == "json":
        import json

        findings = json.loads(result.stdout)["findings"]
        assert any(f["code"] == "unreadable-binary" for f in findings)


_SETPRIV = shutil.which("setpriv")


@pytest.mark.skipif(
    not (hasattr(os, "geteuid") and os.geteuid() == 0 and _SETPRIV),
    reason="needs root and setpriv: drops root's right to read any file for one process",
)
def test_unreadable_file_as_root_without_dac_capabilities(tmp_path: Path) -> None:
    """Root reads files whatever their mode; without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH it
    cannot, which is what an ordinary user meets: inspect says so in one line and exits 2,
    scan turns an unreadable extension module into an unreadable-binary finding."""
    tree = tmp_path / "site"
    tree.mkdir()
    locked = tree / "_locked.cpython-311-darwin.so"
    locked.write_bytes(b"\xcf\xfa\xed\xfe" + bytes(28))
    locked.chmod(0)
    drop = "-dac_override,-dac_read_search"
    prefix = [str(_SETPRIV), f"--bounding-set={drop}", f"--inh-caps={drop}", sys.executable]
    inspect = subprocess.run(
        [*prefix, "-m", "nuitka_archguard", "inspect", str(locked)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert inspect.returncode == 2, inspect.stdout + inspect.stderr
    assert inspect.stderr == f"nuitka-archguard: {locked}: Permission denied\n"
    scan_run = subprocess.run(
        [*prefix, "-m", "nuitka_archguard", "scan", str(tree), "--target", "macos-arm64",
         "--format", "json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "Traceback" not in scan_run.stderr
    (finding,) = json.loads(scan_run.stdout)["findings"]
    assert finding["code"] == "unreadable-binary"
    assert finding["path"].endswith("_locked.cpython-311-darwin.so")
    assert "Permission denied" in finding["message"]


# == round 2 (issue 10): metadata, compression, output, environments ==========================

import bz2  # noqa: E402
import functools  # noqa: E402
import lzma  # noqa: E402

from nuitka_archguard.advice import fix_for  # noqa: E402
from nuitka_archguard.config import ConfigError, load_config  # noqa: E402
from nuitka_archguard.discovery import (  # noqa: E402
    Discovery,
    PathError,
    open_wheel,
    read_wheel_meta,
    resolve,
)
from nuitka_archguard.metadata import (  # noqa: E402
    FILE_LIMIT,
    LIST_ENTRIES,
    LIST_LIMIT,
    MetadataBudget,
    MetadataReader,
)
from nuitka_archguard.ownership import OwnershipIndex  # noqa: E402
from nuitka_archguard.scan import MAX_ALLOW_RULES, Checker  # noqa: E402
from nuitka_archguard.target import parse_target  # noqa: E402
from nuitka_archguard.text import shown  # noqa: E402

BZIP2, LZMA, ZSTD = 12, 14, 93
BOMB_MIB = 256
"""Zeros behind each compression bomb: far beyond every budget, cheap enough to build."""


def _chunks_of_zeros(mib: int) -> list[bytes]:
    return [bytes(1 << 20)] * mib


@functools.cache
def bomb(method: int, head: bytes = b"\x7fELF", mib: int = BOMB_MIB) -> bytes:
    """``head`` and ``mib`` MiB of zeros, compressed with a zip method (made once)."""
    if method == DEFLATED:
        return deflate(head + bytes(mib << 20))
    if method == BZIP2:
        compressor = bz2.BZ2Compressor(9)
        parts = [compressor.compress(head)]
        parts += [compressor.compress(chunk) for chunk in _chunks_of_zeros(mib)]
        return b"".join(parts) + compressor.flush()
    if method == LZMA:
        properties = lzma._encode_filter_properties({"id": lzma.FILTER_LZMA1})  # type: ignore[attr-defined]
        lzma_filter = lzma._decode_filter_properties(lzma.FILTER_LZMA1, properties)  # type: ignore[attr-defined]
        compressor = lzma.LZMACompressor(lzma.FORMAT_RAW, filters=[lzma_filter])
        parts = [struct.pack("<BBH", 9, 4, len(properties)), properties, compressor.compress(head)]
        parts += [compressor.compress(chunk) for chunk in _chunks_of_zeros(mib)]
        return b"".join(parts) + compressor.flush()
    raise AssertionError(method)


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


METADATA_TEXT = (
    b"Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n"
    b'Requires-Dist: cffi>=1.12\nRequires-Dist: pytest; extra == "test"\n\n'
)
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


BOMB_CASES = {
    "bzip2-so": (BZIP2, b"pkg/bomb.so"),
    "lzma-so": (LZMA, b"pkg/bomb.so"),
    "bzip2-metadata": (BZIP2, b"pkg-1.0.dist-info/METADATA"),
    "lzma-metadata": (LZMA, b"pkg-1.0.dist-info/METADATA"),
    "deflate-metadata": (DEFLATED, b"pkg-1.0.dist-info/METADATA"),
}


def bomb_wheel(tmp: Path, case: str) -> Path:
    method, name = BOMB_CASES[case]
    head = b"\x7fELF"  # one bomb per method (built once), in a binary or a METADATA
    data = bomb(method, head)
    member = Member(name, data, method=method, true_size=(BOMB_MIB << 20) + len(head), crc=0)
    return _wheel(tmp, [member])


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


def zip64_claiming(entries: int, directory_size: int) -> bytes:
    """An archive whose zip64 end records claim a huge central directory."""
    eocd64 = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, entries, entries,
                         directory_size, 0)  # fmt: skip
    locator = struct.pack("<IIQI", 0x07064B50, 0, 0, 1)
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return eocd64 + locator + eocd


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
    from nuitka_archguard.metadata import MetadataReader

    reader = MetadataReader()
    started = time.perf_counter()
    assert reader.wheel_dist_info(str(wheel)) is None
    assert time.perf_counter() - started < 2
    assert any("lists 1,000,000 entries" in note for note in reader.notes), reader.notes


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


def _fifo_at(path: Path) -> None:
    path.unlink(missing_ok=True)
    os.mkfifo(path)


def _huge(path: Path, size: int) -> None:
    with open(path, "wb") as handle:
        handle.truncate(size)


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


_TOO_DEEP = r"invalid TOML: nested too deeply|invalid TOML: .*"
PYPROJECT_CASES: dict[str, tuple[Callable[[Path], object], str]] = {
    "fifo": (os.mkfifo, r"not a regular file \(FIFO, socket or device\), not read"),
    "directory": (lambda p: p.mkdir(), r"a directory, not read"),
    "too-big": (lambda p: _huge(p, FILE_LIMIT + 1), rf"larger than {FILE_LIMIT:,} bytes"),
    "deep-arrays": (lambda p: p.write_text("a = " + "[" * 50_000 + "]" * 50_000), _TOO_DEEP),
    "deep-tables": (
        lambda p: p.write_text("a = " + "{b = " * 50_000 + "1" + "}" * 50_000),
        _TOO_DEEP,
    ),
    "arabic-digits": (
        lambda p: p.write_text('[tool.archguard]\nmin-os = "\u0661\u0660.\u0661\u0663"\n'),
        "",
    ),
}


@pytest.mark.parametrize("case", sorted(PYPROJECT_CASES))
def test_pyproject_case_is_one_line_exit_2(case: str, tmp_path: Path) -> None:
    make, message = PYPROJECT_CASES[case]
    make(tmp_path / "pyproject.toml")
    if message:
        with pytest.raises(ConfigError, match=message):
            run_with_timeout(lambda: load_config(tmp_path), 10)
    result = subprocess.run(
        [sys.executable, "-m", "nuitka_archguard", "scan", str(tmp_path), "--target=macos-arm64"],
        cwd=tmp_path, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("nuitka-archguard: error: ")
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr


# -- allow rules ---------------------------------------------------------------------------------


def test_too_many_allow_rules_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ScanError, match=rf"too many allow rules: at most {MAX_ALLOW_RULES:,}"):
        scan([str(tmp_path)], "linux-x86_64", allow=[f"p{i}" for i in range(MAX_ALLOW_RULES + 1)])
    result = run_cli("scan", str(tmp_path), *[f"--allow=p{i}" for i in range(MAX_ALLOW_RULES + 1)])
    assert result.returncode == 2 and "too many allow rules" in result.stderr


def test_allow_rules_are_matched_in_one_pass(tmp_path: Path) -> None:
    folder = tmp_path / "app.dist"
    folder.mkdir()
    for i in range(300):
        (folder / f"m{i}.so").write_bytes(ELF_SO.data)
    rules = [f"*/nomatch{i}/*.so" for i in range(MAX_ALLOW_RULES - 1)] + ["m1*.so:ok"]
    started = time.perf_counter()
    report = scan([str(folder)], "linux-aarch64", allow=rules)
    assert time.perf_counter() - started < 5
    allowed = {f.path.rsplit("/", 1)[-1] for f in report.findings if f.allowed}
    assert allowed == {f"m{i}.so" for i in range(300) if str(i).startswith("1")}
    assert all(f.allow_reason == "ok" for f in report.findings if f.allowed)


# -- versions: ASCII digits only, bounded ------------------------------------------------------


VERSION_ARGS = {
    "arabic-min-os": ["--target", "macos-arm64", "--min-os", "\u0661\u0660.\u0661\u0663"],
    "fullwidth-min-os": ["--target", "macos-arm64", "--min-os", "\uff11\uff10.\uff11\uff13"],
    "long-min-os": ["--target", "macos-arm64", "--min-os", "1" * 5000],
    "many-parts": ["--target", "macos-arm64", "--min-os", "10." * 1000 + "1"],
    "arabic-tag": ["--target", "macosx_\u0661\u0660_\u0661\u0663_x86_64"],
    "long-tag": ["--target", "macosx_" + "1" * 5000 + "_0_x86_64"],
    "long-manylinux": ["--target", "manylinux_" + "2" * 5000 + "_17_x86_64"],
}


@pytest.mark.parametrize("case", sorted(VERSION_ARGS))
def test_version_strings_are_ascii_digits_with_limits(case: str, tmp_path: Path) -> None:
    result = run_cli("scan", str(tmp_path), *VERSION_ARGS[case])
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("nuitka-archguard: error: ") and result.stderr.count("\n") == 1
    assert "internal error" not in result.stderr and len(result.stderr) < 1000


# -- bad environments: stdout closed or full, cwd deleted, ascii ---------------------------------


def _shell(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PY": sys.executable}
    return subprocess.run(["/bin/sh", "-c", command], cwd=cwd, env=env, capture_output=True,
                          text=True, errors="backslashreplace", timeout=60)  # fmt: skip


_ARCHGUARD = '"$PY" -m nuitka_archguard'
_ODD_NAME = '"$(printf "caf\\303\\251\\033")"'
ENVIRONMENT_CASES = {
    # case: (shell command, exit status, what stderr says)
    "inspect-full": (f"{_ARCHGUARD} inspect /bin/sh > /dev/full", 2, "No space left on device"),
    "scan-full": (f"{_ARCHGUARD} scan /bin/sh > /dev/full", 2, "No space left on device"),
    "inspect-closed": (f"{_ARCHGUARD} inspect /bin/sh >&-", 2, "the output stream is closed"),
    "scan-closed": (f"{_ARCHGUARD} scan /bin/sh >&-", 2, "the output stream is closed"),
    "inspect-head-c0": (
        f"{_ARCHGUARD} inspect /bin/sh /bin/ls /bin/cat > fifo & head -c0 < fifo; wait $!",
        0,
        "",
    ),
    "scan-deleted-cwd": (
        f"mkdir gone && cd gone && rmdir ../gone && {_ARCHGUARD} scan /bin/sh",
        2,
        "cannot use the current directory",
    ),
    "scan-ascii": (
        f"PYTHONIOENCODING=ascii {_ARCHGUARD} scan --target linux-aarch64 {_ODD_NAME}",
        1,
        "",
    ),
    "inspect-ascii": (f"PYTHONIOENCODING=ascii {_ARCHGUARD} inspect {_ODD_NAME}", 0, ""),
}


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("case", sorted(ENVIRONMENT_CASES))
def test_bad_environment_case(case: str, tmp_path: Path) -> None:
    command, status, message = ENVIRONMENT_CASES[case]
    shutil.copy("/bin/sh", tmp_path / "caf\u00e9\x1b")
    os.mkfifo(tmp_path / "fifo")
    result = _shell(command, tmp_path)
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert message in result.stderr
    if message:
        assert result.stderr.count("\n") == 1
    assert "\x1b" not in result.stdout + result.stderr


def test_permission_denied_is_said_as_such() -> None:
    target = parse_target("linux-x86_64")
    fix = fix_for("unreadable-binary", None, target, path="/x/y.so",
                  reason="y.so cannot be checked: Permission denied")  # fmt: skip
    assert fix.startswith("y.so cannot be read (Permission denied)")
    assert "corrupt" not in fix


# -- Mach-O: a header's word size agrees with its CPU type --------------------------------------


_WIDTH = "corrupt: a {0}-bit mach header with a {1}-bit cputype {2}"
MACHO_WIDTH_CASES = {
    "x86_64-in-32-bit-header": ("x86_64", 32, _WIDTH.format(32, 64, "0x1000007")),
    "arm64-in-32-bit-header": ("arm64", 32, _WIDTH.format(32, 64, "0x100000c")),
    "i386-in-64-bit-header": ("i386", 64, _WIDTH.format(64, 32, "0x7")),
    "armv7-in-64-bit-header": ("armv7", 64, _WIDTH.format(64, 32, "0xc")),
}


@pytest.mark.parametrize("case", sorted(MACHO_WIDTH_CASES))
def test_macho_word_size_disagreeing_with_cputype_is_unreadable(case: str, tmp_path: Path) -> None:
    arch, bits, message = MACHO_WIDTH_CASES[case]
    data = synth_macho.thin(arch, bits=bits)
    with pytest.raises(BinaryReadError, match=re.escape(message)):
        read_binary(BytesSource(data), "x.so")
    path = tmp_path / "x.so"
    path.write_bytes(data)
    (finding,) = scan([str(tmp_path)], "macos-arm64").findings
    assert finding.code is Code.UNREADABLE_BINARY


def test_arm64_32_keeps_its_32_bit_header() -> None:
    data = synth_macho.thin("arm64_32", bits=32)
    assert read_binary(BytesSource(data), "x").archs == ("arm64_32",)


# -- control characters in names ----------------------------------------------------------------


def test_control_characters_never_reach_notes_raw(tmp_path: Path) -> None:
    for name in ("a\nb.so", "c\rd.so", "e\x1b[31mf.so", "g\x85h.so", "i\u202ej.so"):
        os.mkfifo(tmp_path / name)
    report = run_with_timeout(lambda: scan([str(tmp_path)], "linux-x86_64"), 10)
    assert len(report.notes) == 5
    for note in report.notes:
        assert note == shown(note)
        assert re.search(r"\\n|\\r|\\x1b|\\x85|\\u202e", note)


# -- resources: each hostile archive and metadata case under 300 MiB of address space ----------

from nuitka_archguard.metadata import JSON_LIST_LIMIT  # noqa: E402

ADDRESS_SPACE = 300 << 20
RESOURCE_SECONDS = 30
_CHILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from nuitka_archguard.scan import ScanError, scan
try:
    report = scan(sys.argv[1:], "linux-x86_64")
except ScanError as error:
    print("scan error:", error)
else:
    print(len(report.findings), "findings", len(report.notes), "notes")
"""


def _record_of(size: int) -> bytes:
    line = b"a/b.so,,\n"
    return line * (size // len(line))


def _resource_venv(tmp: Path, record: bytes) -> Path:
    venv, info = make_venv(tmp)
    (info / "RECORD").write_bytes(record)
    return venv


def _resource_conda(tmp: Path, size: int, count: int) -> Path:
    prefix = tmp / "env"
    (prefix / "conda-meta").mkdir(parents=True)
    (prefix / "lib").mkdir()
    (prefix / "lib" / "libx.so").write_bytes(ELF_SO.data)
    for number in range(count):
        names = size // 6
        files = ",".join(['"a/b"'] * names)  # the most strings per byte JSON allows
        text = f'{{"name": "x{number}", "version": "1", "files": [{files}]}}'
        (prefix / "conda-meta" / f"x{number}-1-0.json").write_text(text)
    return prefix


def _aliased_metadata_wheel(tmp: Path) -> Path:
    member = Member(b"pkg-1.0.dist-info/METADATA", bomb(BZIP2), method=BZIP2,
                    true_size=BOMB_MIB << 20, crc=0)  # fmt: skip
    raw = build_zip([member])
    body_end = raw.index(b"PK\x01\x02")
    entry = raw[body_end : raw.index(b"PK\x05\x06")]
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 600, 600, len(entry) * 600, body_end, 0)
    wheel = tmp / "pkg-1.0-py3-none-any.whl"
    wheel.write_bytes(raw[:body_end] + entry * 600 + end)
    return wheel


RESOURCE_CASES: dict[str, Callable[[Path], Path]] = {
    **{f"wheel-{c}": functools.partial(lambda c, t: bomb_wheel(t, c), c) for c in BOMB_CASES},
    "wheel-metadata-aliased-600-times": _aliased_metadata_wheel,
    "wheel-million-entries": lambda t: (
        t / "w-1.0-py3-none-any.whl",
        (t / "w-1.0-py3-none-any.whl").write_bytes(zip64_claiming(1_000_000, 60_000_000)),
    )[0],
    "record-63-mib": lambda t: _resource_venv(t, _record_of(63 << 20)),
    "conda-meta-3x63-mib": lambda t: _resource_conda(t, 63 << 20, 3),
    "conda-meta-just-under-the-limit": lambda t: _resource_conda(t, JSON_LIST_LIMIT - 100, 1),
}


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is enforced on Linux")
@pytest.mark.parametrize("case", sorted(RESOURCE_CASES))
def test_hostile_case_runs_in_300_mib_and_30_s(case: str, tmp_path: Path) -> None:
    path = RESOURCE_CASES[case](tmp_path)
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", _CHILD.format(limit=ADDRESS_SPACE), str(path)],
        capture_output=True, text=True, timeout=RESOURCE_SECONDS, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert time.perf_counter() - started < RESOURCE_SECONDS
    assert "findings" in result.stdout or "scan error" in result.stdout


# -- every character that is not printable, not only a list of them (redscan) ----------------

# Characters a list of C0/C1/bidi-override ranges missed: bidi *marks*, zero-width and tag
# characters, other spaces, vertical tab/form feed/separators (str.splitlines breaks on some).
INVISIBLE_CASES = {
    "rlm": ("\u200f", "\\u200f"),
    "lrm": ("\u200e", "\\u200e"),
    "arabic-letter-mark": ("\u061c", "\\u061c"),
    "zero-width-space": ("\u200b", "\\u200b"),
    "word-joiner": ("\u2060", "\\u2060"),
    "soft-hyphen": ("\u00ad", "\\xad"),
    "no-break-space": ("\u00a0", "\\xa0"),
    "tag-letter": ("\U000e0041", "\\U000e0041"),
    "private-use": ("\ue000", "\\ue000"),
    "vertical-tab": ("\x0b", "\\x0b"),
    "file-separator": ("\x1c", "\\x1c"),
    "paragraph-separator": ("\u2029", "\\u2029"),
    "interlinear-anchor": ("\ufff9", "\\ufff9"),
    "c1-csi": ("\x9b", "\\x9b"),  # JSON encoders leave C1 raw: a terminal's CSI
    "delete": ("\x7f", "\\x7f"),
}


@pytest.mark.parametrize("case", sorted(INVISIBLE_CASES))
def test_invisible_characters_are_escaped_everywhere(case: str, tmp_path: Path) -> None:
    from nuitka_archguard.text import is_printable, shell_quote

    char, escaped = INVISIBLE_CASES[case]
    assert shown(f"a{char}b") == f"a{escaped}b" and is_printable(shown(f"a{char}b"))
    assert shell_quote(f"a{char}b") == "'a?b'"
    folder = tmp_path / "app.dist"
    folder.mkdir()
    (folder / f"x{char}y.cpython-311-darwin.so").write_bytes(synth_macho.thin("arm64", "bundle"))
    scan_args = [sys.executable, "-m", "nuitka_archguard", "scan", str(folder),
                 "--target", "macos-x86_64"]  # fmt: skip
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    for fmt in ("text", "json", "github"):
        result = subprocess.run([*scan_args, "--format", fmt], capture_output=True, env=env)
        assert result.returncode == 1, result.stderr
        out = result.stdout.decode("utf-8")
        assert char not in out and f"x{escaped}y" in (json.loads(out)["findings"][0]["path"]
                                                       if fmt == "json" else out)  # fmt: skip
        if fmt == "github":
            assert len(out.splitlines()) == 1  # str.splitlines breaks on \x0b, \x1c, \u2029
    inspected = subprocess.run(
        [sys.executable, "-m", "nuitka_archguard", "inspect", str(next(folder.iterdir()))],
        capture_output=True, env=env,
    )  # fmt: skip
    assert inspected.returncode == 0 and char not in inspected.stdout.decode("utf-8")


# -- a wheel whose file name, dist-info directory and METADATA disagree (redscan) ------------

# (file name's project, dist-info directory, METADATA Name, METADATA Version) -> readable?
WHEEL_NAME_CASES = {
    "metadata-names-another-project": ("nice", "nice-1.0", "numpy", "1.0", False),
    "metadata-names-another-version": ("nice", "nice-1.0", "nice", "2.0", False),
    "dist-info-names-another-project": ("nice", "numpy-1.0", "nice", "1.0", False),
    "same-after-normalizing": ("Foo_Bar", "foo_bar-1.0.0", "foo.bar", "1.0.0", True),
    "same": ("nice", "nice-1.0", "nice", "1.0", True),
}


@pytest.mark.parametrize("case", sorted(WHEEL_NAME_CASES))
def test_wheel_whose_names_disagree_gets_no_command(case: str, tmp_path: Path) -> None:
    from nuitka_archguard import scan

    project, dist_info, name, version, readable = WHEEL_NAME_CASES[case]
    wheel = tmp_path / f"{project}-1.0-cp311-cp311-macosx_11_0_arm64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("nice/_x.cpython-311-darwin.so", synth_macho.thin("arm64", "bundle"))
        metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n"
        archive.writestr(f"{dist_info}.dist-info/METADATA", metadata)
        archive.writestr(f"{dist_info}.dist-info/WHEEL",
                         "Wheel-Version: 1.0\nTag: cp311-cp311-macosx_11_0_arm64\n")  # fmt: skip
    report = scan([str(wheel)], "macos-x86_64")
    (finding,) = report.errors
    assert finding.distribution is not None
    assert finding.distribution.metadata_ok is readable
    assert ("no command is given" in finding.fix) is not readable
    assert ("numpy" in finding.fix) is False  # never the project the METADATA claims
    if not readable:
        assert finding.distribution.name == project
        assert any("unreadable metadata" in note for note in report.notes), report.notes


def test_repeated_notes_are_counted_not_repeated(tmp_path: Path) -> None:
    for number in range(500):
        os.mkfifo(tmp_path / f"f{number}.so")
    report = run_with_timeout(lambda: scan([str(tmp_path)], "linux-x86_64"), 30)
    assert len(report.notes) == 21
    assert report.notes[-1] == "480 more like this: skipped: not a regular file"


@pytest.mark.parametrize("doubled", ["METADATA", "WHEEL"])
def test_wheel_with_two_copies_of_its_metadata_gets_no_command(
    doubled: str, tmp_path: Path
) -> None:
    """pip's zipfile reads the last of two same-named members, a first-wins reader the first:
    with two copies the culprit's name would depend on who reads, so neither is trusted."""
    import warnings

    from nuitka_archguard import scan

    wheel = tmp_path / "nice-1.0-cp311-cp311-macosx_11_0_arm64.whl"
    files = {
        "METADATA": "Metadata-Version: 2.1\nName: nice\nVersion: 1.0\n\n",
        "WHEEL": "Wheel-Version: 1.0\nTag: cp311-cp311-macosx_11_0_arm64\n",
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr("nice/_x.cpython-311-darwin.so", synth_macho.thin("arm64", "bundle"))
            for name, text in files.items():
                archive.writestr(f"nice-1.0.dist-info/{name}", text)
            other = files[doubled].replace("nice", "numpy").replace("1.0\n", "2.0\n")
            archive.writestr(f"nice-1.0.dist-info/{doubled}", other)
    report = scan([str(wheel)], "macos-x86_64")
    (finding,) = report.errors
    assert finding.distribution is not None and finding.distribution.metadata_ok is False
    assert "no command is given" in finding.fix and "numpy" not in finding.fix
    assert any(f"more than one {doubled} member" in note for note in report.notes), report.notes
