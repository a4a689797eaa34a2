"""LLVM's lipo as the oracle of the fat writer: where it is, a run of it, and our writer run the
same way, for the fat tests."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Union

import pytest

from nuitka_archguard.binaries.fat import (
    FatWriteError,
    fat_bytes,
)
from tests.synth import macho as synth

LIPO = shutil.which("llvm-lipo-14")


needs_lipo = pytest.mark.skipif(LIPO is None, reason="llvm-lipo-14 missing (apt install llvm-14)")


ARM64 = synth.thin("arm64", body=b"\x01" * 40)


def lipo(inputs: Sequence[bytes], tmp_path: Path) -> Union[bytes, str]:
    """``llvm-lipo-14 -create`` of the inputs: the output, or ``"error: ..."``."""
    assert LIPO is not None
    names = []
    for index, data in enumerate(inputs):
        path = tmp_path / f"lipo-in-{index}"
        path.write_bytes(data)
        names.append(str(path))
    output = tmp_path / "lipo-out"
    result = subprocess.run(
        [LIPO, "-create", *names, "-output", str(output)], capture_output=True, text=True
    )
    if result.returncode:
        return "error: " + result.stderr.strip()
    return output.read_bytes()


def ours(inputs: Sequence[bytes]) -> Union[bytes, str]:
    try:
        return fat_bytes(inputs)
    except FatWriteError as error:
        return "error: " + str(error)
