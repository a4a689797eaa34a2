"""Each hostile archive and metadata case runs in 300 MiB of address space and 30 s."""

from __future__ import annotations

import functools
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest

from nuitka_archguard.check.metadata import (
    JSON_LIST_LIMIT,
)
from tests.hostile.binaries import ELF_SO
from tests.hostile.files import make_venv
from tests.hostile.zips import (
    BOMB_CASES,
    BOMB_MIB,
    BZIP2,
    Member,
    bomb,
    bomb_wheel,
    build_zip,
    zip64_claiming,
)

ADDRESS_SPACE = 300 << 20
RESOURCE_SECONDS = 30
_CHILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from nuitka_archguard.check.scan import ScanError, scan
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
