"""The scanner and the scan CLI on a hostile tree, hostile wheels and unreadable paths."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Callable

import pytest

from nuitka_archguard.check.policy import Code
from nuitka_archguard.check.scan import ScanError, ScanReport, scan
from tests.hostile.binaries import ELF_SO, READER_CASES, mx
from tests.hostile.common import GIB, Fails, Outcome, run_cli, run_with_timeout
from tests.hostile.files import (
    FILE_CASES,
    _dangling_symlink,
    _directory,
    _fifo,
    _looping_symlink,
    _missing,
    _symlink_to_directory,
    _symlink_to_fifo,
    _zero_bytes,
)
from tests.hostile.zips import (
    DEFLATED,
    EVIL_NAMES,
    Member,
    _listing,
    _wheel,
    build_zip,
    deflate_bomb,
)
from tests.synth import macho as synth_macho


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
