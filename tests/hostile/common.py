"""Outcomes (a result or the one exact error message), counted sources, timeouts, the CLI.

Each hostile case names the exact outcome: a result (format and archs) or the one-line
:class:`BinaryReadError` message. Whatever a file claims, a reader reads at most
``HEADER_BUDGET`` bytes of it, and no case may block, loop or raise anything else.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Union

import pytest

from nuitka_archguard.binaries import (
    BinaryFormat,
    BinaryInfo,
    BinaryReadError,
    FileSource,
    read_binary,
)
from nuitka_archguard.binaries.source import ZipMemberSource

GIB = 1024**3


# -- outcomes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reads:
    """The file reads as ``format`` with these archs (none for not-a-binary)."""

    format: BinaryFormat
    archs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fails:
    """Reading raises :class:`BinaryReadError` whose whole reason matches ``pattern``."""

    pattern: str


Outcome = Union[Reads, Fails]
NOT_A_BINARY = Reads(BinaryFormat.NOT_A_BINARY)


def check(outcome: Outcome, read: Callable[[], BinaryInfo]) -> None:
    if isinstance(outcome, Fails):
        with pytest.raises(BinaryReadError) as caught:
            read()
        message = caught.value.reason  # str() adds the path when inspect_file knows it
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
