"""The two ways to read a binary that every reader row compares: the floor and the reader.

Shared by ``run.py`` (time) and ``instructions.py`` (instructions). It changes no import
path: ``instructions.py``'s children put the checkout they measure first on ``PYTHONPATH``,
and the reader is imported from there, on first use.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Callable

Paths = Sequence[str]


def floor(paths: Paths) -> None:
    """stat + open + read(4096) + close, and nothing else."""
    stat = os.stat
    for path in paths:
        stat(path)
        with open(path, "rb", buffering=0) as handle:
            handle.read(4096)


def make_reader() -> Callable[[Paths], None]:
    """``inspect_file`` over the paths, a file that does not read counted like one that does."""
    from nuitka_archguard.binaries import BinaryReadError, inspect_file

    def reader(paths: Paths) -> None:
        for path in paths:
            try:  # noqa: SIM105 (contextlib.suppress costs ~0.4 µs a file, counted as the reader's)
                inspect_file(path)
            except BinaryReadError:
                pass

    return reader
