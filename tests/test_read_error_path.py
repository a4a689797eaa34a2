"""``BinaryReadError`` from :func:`inspect_file` names the file: a library user who prints
the error learns which of their files it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from nuitka_archguard import BinaryReadError, inspect_file
from nuitka_archguard.cli.main import main
from tests.synth import elf


def test_the_error_names_the_path_and_keeps_the_reason(tmp_path: Path) -> None:
    broken = tmp_path / "lib.so"
    broken.write_bytes(elf.elf("aarch64")[:30])  # an ELF header cut short
    with pytest.raises(BinaryReadError) as caught:
        inspect_file(broken)
    assert caught.value.path == str(broken)
    assert str(caught.value) == f"{broken}: {caught.value.reason}"
    assert caught.value.reason and str(broken) not in caught.value.reason
    with pytest.raises(BinaryReadError, match=r"missing\.so: "):
        inspect_file(tmp_path / "missing.so")


def test_inspect_names_the_path_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "lib.so"
    broken.write_bytes(elf.elf("aarch64")[:30])
    assert main(["inspect", str(broken)]) == 2
    err = capsys.readouterr().err
    assert err.count(str(broken)) == 1 and err.count("\n") == 1, err
