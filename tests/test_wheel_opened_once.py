"""A wheel is opened once (issue 20, "Wheels"): the scan reads a wheel's metadata and its
members from one open file, and ``fix --output`` opens each wheel it reads (the input, the
downloaded replacement, the fused result) once, handing the opened
:class:`nuitka_archguard.wheel.WheelFile` to the trust check, the scan and the unpacking.

Before, a scan of one wheel opened it three times (``resolve``, the metadata pass, the member
walk) and ``fix --output`` opened the input wheel seven times and the replacement six: each
open is a chance for the file to be another one than the last read judged.

Counted in this process: :class:`zipfile.ZipFile` constructions and opens of the wheel's path
(``os.open``, ``io.open``); pip runs in its own process and opens what it downloads there."""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import io
import os
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from nuitka_archguard import scan
from nuitka_archguard.cli.main import main
from nuitka_archguard.wheel import WheelFile
from tests.fixwheels import ext_wheel, make_wheel, pure_wheel

X86 = "macos-x86_64"


class Opens:
    """Zip parses (:class:`zipfile.ZipFile` for reading, by path or on an open file) and
    opens for reading of ``.whl`` paths, by file name (a downloaded copy of a wheel counts
    under its name)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.zips: Counter[str] = Counter()
        self.paths: Counter[str] = Counter()
        self._names: dict[tuple[int, int], str] = {}
        real_init, real_os_open, real_io_open = zipfile.ZipFile.__init__, os.open, io.open

        def init(archive: zipfile.ZipFile, file: Any, mode: str = "r", *a: Any, **k: Any) -> None:
            real_init(archive, file, mode, *a, **k)
            if mode == "r":
                assert archive.fp is not None
                st = os.fstat(archive.fp.fileno())
                self.zips[self._names.get((st.st_dev, st.st_ino), "unknown")] += 1

        def os_open(path: Any, flags: int, *a: Any, **k: Any) -> int:
            if not flags & (os.O_WRONLY | os.O_RDWR):
                self._path(path)
            return real_os_open(path, flags, *a, **k)

        def io_open(path: Any, mode: str = "r", *a: Any, **k: Any) -> Any:
            if mode in ("r", "rb"):
                self._path(path)
            return real_io_open(path, mode, *a, **k)

        monkeypatch.setattr(zipfile.ZipFile, "__init__", init)
        monkeypatch.setattr(os, "open", os_open)
        for name in ("supports_dir_fd", "supports_fd", "supports_follow_symlinks"):
            supported = getattr(os, name)
            if real_os_open in supported:  # the journal asks for dir_fd support
                monkeypatch.setattr(os, name, supported | {os_open})
        monkeypatch.setattr(io, "open", io_open)
        monkeypatch.setattr(builtins, "open", io_open)

    def _path(self, path: Any) -> None:
        if isinstance(path, (str, os.PathLike)) and os.fspath(path).endswith(".whl"):
            name = os.path.basename(os.fspath(path))
            with contextlib.suppress(OSError):
                st = os.stat(path)
                self._names[(st.st_dev, st.st_ino)] = name
            self.paths[name] += 1

    def counted(self) -> tuple[dict[str, int], dict[str, int]]:
        """(zip parses, path opens), by wheel file name."""
        return dict(self.zips), dict(self.paths)


def test_a_scan_of_a_wheel_opens_it_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wheel = ext_wheel(tmp_path, "fast", "1.0", "arm64", requires=("plain",))
    other = pure_wheel(tmp_path / "more", "plain", "3.0")
    opens = Opens(monkeypatch)
    report = scan([str(wheel), str(other)], X86)
    assert [f.code.value for f in report.errors] == ["arch-missing"]
    assert report.errors[0].needed_by == ()  # fast requires plain, not the other way round
    once = {wheel.name: 1, other.name: 1}
    assert opens.counted() == (once, once)


def test_needed_by_is_complete_when_each_wheel_is_read_in_one_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scan reads each wheel whole while it is open, and checks the binaries once
    every wheel's requirements are known: a wheel named first is "needed by" a later one."""
    needed = ext_wheel(tmp_path, "fast", "1.0", "arm64")
    user = make_wheel(tmp_path / "v", "user", "1.0", "py3-none-any", {}, requires=("fast",))
    opens = Opens(monkeypatch)
    report = scan([str(needed), str(user)], X86)
    assert report.errors[0].needed_by == ("user",)
    once = {needed.name: 1, user.name: 1}
    assert opens.counted() == (once, once)


def test_a_wheel_its_caller_holds_open_is_scanned_without_opening_it_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = ext_wheel(tmp_path, "fast", "1.0", "arm64")
    with WheelFile.open(str(wheel)) as opened:
        opens = Opens(monkeypatch)
        report = scan([opened], X86)
        assert opens.counted() == ({}, {})
        assert opened.archive.fp is not None  # still the caller's
    assert [f.code.value for f in report.errors] == ["arch-missing"]


def test_fix_output_opens_each_wheel_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Replace: the input (scanned, its metadata read) and the downloaded wheel (its tags,
    its trust check, the scan of its binaries) are each opened once."""
    house, index, out = tmp_path / "house", tmp_path / "index", tmp_path / "out"
    arm = ext_wheel(house, "fast", "1.0", "arm64")
    x86 = ext_wheel(index, "fast", "1.0", "x86_64")
    opens = Opens(monkeypatch)
    code = main(["fix", str(house), "--output", str(out), "--target", X86, "--no-index",
                 "--find-links", str(index)])  # fmt: skip
    assert code == 0, capsys.readouterr()
    assert [p.name for p in out.iterdir()] == [x86.name]
    once = {arm.name: 1, x86.name: 1}
    assert opens.counted() == (once, once)


def test_fix_output_fusing_opens_each_wheel_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Fuse: the input and the downloaded wheel are each opened once (scanned, checked,
    unpacked from that open, the downloaded one hashed for the provenance from it), and
    the fused wheel once, by the scan that is the verdict on it."""
    house, index, out = tmp_path / "house", tmp_path / "index", tmp_path / "out"
    arm = ext_wheel(house, "fast", "1.0", "arm64")
    x86 = ext_wheel(index, "fast", "1.0", "x86_64")
    opens = Opens(monkeypatch)
    code = main(["fix", str(house), "--output", str(out), "--target", "macos-universal2",
                 "--no-index", "--find-links", str(index)])  # fmt: skip
    assert code == 0, capsys.readouterr()
    (made,) = out.iterdir()
    assert made.name == "fast-1.0-cp311-cp311-macosx_10_9_universal2.whl"
    once = {arm.name: 1, x86.name: 1, made.name: 1}
    assert opens.counted() == (once, once)
    with zipfile.ZipFile(made) as archive:
        provenance = next(n for n in archive.namelist() if n.endswith("ARCHGUARD_FUSED.json"))
        assert hashlib.sha256(x86.read_bytes()).hexdigest() in archive.read(provenance).decode()


def test_fix_of_an_environment_opens_the_downloaded_wheel_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The downloaded wheel is opened when the plan takes it; its tags, the trust check,
    the scan of its binaries and the install read that open (and it is closed after)."""
    from tests.fixwheels import install

    env, index = tmp_path / "env", tmp_path / "index"
    install(ext_wheel(tmp_path / "installed", "fast", "1.0", "arm64"), env)
    x86 = ext_wheel(index, "fast", "1.0", "x86_64")
    opens = Opens(monkeypatch)
    code = main(["fix", str(env), "--target", X86, "--no-index", "--find-links", str(index)])
    assert code == 0, capsys.readouterr()
    assert opens.counted() == ({x86.name: 1}, {x86.name: 1})
