"""``wheel.WheelFile``, the one opener of wheels: bounded before :mod:`zipfile` parses
anything, a regular file only, and what it hands on (copy, hash, members) is the file it
opened, whatever the path holds by then."""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import pytest

from nuitka_archguard.check.metadata import MetadataReader
from nuitka_archguard.wheel import WheelError, WheelFile
from tests.fixwheels import ext_wheel, make_wheel
from tests.hostile.zips import zip64_claiming


def test_it_names_its_parts(tmp_path: Path) -> None:
    wheel = ext_wheel(tmp_path, "fast", "1.0", "arm64")
    with WheelFile.open(str(wheel)) as opened:
        assert opened.filename == wheel.name and opened.size == wheel.stat().st_size
        assert opened.parsed is not None and opened.parsed.name == "fast"
        assert opened.dist_info() == "fast-1.0.dist-info"
        assert sorted(i.filename for i in opened.dist_info_files()) == [
            "fast-1.0.dist-info/METADATA",
            "fast-1.0.dist-info/RECORD",
            "fast-1.0.dist-info/WHEEL",
        ]
        assert opened.path_refusal() == ""
        assert opened.unpacked_size() == sum(i.file_size for i in opened.members())
        meta = MetadataReader().wheel_meta(opened)
        assert (meta.name, meta.version, meta.tags) == (
            "fast", "1.0", ("cp311-cp311-macosx_11_0_arm64",)
        )  # fmt: skip
        assert MetadataReader().wheel_meta(opened) is meta  # read once per opened wheel


def test_a_member_leaving_the_folder_is_named_by_the_one_rule(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "fast", "1.0", "py3-none-any", {},
                       extra_members={"C:evil.py": b""})  # fmt: skip
    with WheelFile.open(str(wheel)) as opened:
        assert opened.path_refusal() == (
            f"{wheel.name}: the wheel names a path outside the environment: 'C:evil.py'"
        )


def test_a_huge_central_directory_is_refused_before_zipfile_parses_it(tmp_path: Path) -> None:
    wheel = tmp_path / "pkg-1.0-py3-none-any.whl"
    wheel.write_bytes(zip64_claiming(1_000_000, 50_000_000))
    with pytest.raises(WheelError, match="lists 1,000,000 entries") as caught:
        WheelFile.open(str(wheel))
    assert caught.value.refused


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_named_like_a_wheel_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pkg-1.0-py3-none-any.whl"
    os.mkfifo(fifo)
    with pytest.raises(WheelError, match="not a regular file") as caught:
        WheelFile.open(str(fifo))
    assert not caught.value.refused


def test_what_it_hands_on_is_the_file_it_opened(tmp_path: Path) -> None:
    """A wheel swapped at its path after it was opened (and checked) is not what gets
    copied or hashed: ``fix --output`` writes the bytes it judged."""
    wheel = ext_wheel(tmp_path, "fast", "1.0", "arm64")
    judged = wheel.read_bytes()
    with WheelFile.open(str(wheel)) as opened:
        other = ext_wheel(tmp_path / "other", "fast", "1.0", "x86_64")
        os.replace(other, wheel)  # the path now holds another file
        opened.copy_to(tmp_path / "copy.whl")
        assert opened.sha256() == hashlib.sha256(judged).hexdigest()
        names = [i.filename for i in opened.members()]
    assert (tmp_path / "copy.whl").read_bytes() == judged
    with zipfile.ZipFile(tmp_path / "copy.whl") as archive:
        assert archive.namelist() == names


def test_closing_it_closes_the_descriptor(tmp_path: Path) -> None:
    wheel = ext_wheel(tmp_path, "fast", "1.0", "arm64")
    opened = WheelFile.open(str(wheel))
    assert opened.archive.fp is not None
    fd = opened.archive.fp.fileno()
    opened.close()
    with pytest.raises(OSError):
        os.fstat(fd)


def test_its_members_share_one_decompression_budget_however_many_walks(
    tmp_path: Path,
) -> None:
    """The archive's budget (``ARCHIVE_INFLATE_BUDGET``) belongs to the opened wheel, not to
    one walk: a reader handed the wheel after the budget is spent reads no member."""
    from nuitka_archguard import scan

    wheel = ext_wheel(tmp_path, "fast", "1.0", "arm64")
    with WheelFile.open(str(wheel)) as opened:
        first = scan([opened], "macos-arm64")
        assert (first.exit_code, first.too_large) == (0, 0)
        spent = opened.inflate.remaining
        assert 0 < spent < 1024**3  # the walk spent what it read from this wheel's budget
        opened.inflate.remaining = 0
        second = scan([opened], "macos-arm64")
    assert second.too_large == 1
    assert "exceed the 1024 MiB decompression budget" in second.notes[0]
