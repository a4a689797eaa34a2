"""Hostile files on disk: links, FIFOs, sparse and unreadable files; the inspect CLI."""

from __future__ import annotations

import errno
import os
import re
import time
from pathlib import Path

import pytest

from nuitka_archguard.binaries import (
    HEADER_BUDGET,
    inspect_file,
)
from tests.hostile.common import Fails, check, read_counted, run_cli, run_with_timeout, sparse_file
from tests.hostile.files import FILE_CASES, _non_utf8_name


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


def test_sparse_10_gib_file_is_not_read_whole(tmp_path: Path) -> None:
    path = sparse_file(tmp_path, "sparse.so", b"")
    started = time.perf_counter()
    info, error, spent = read_counted(path)
    assert time.perf_counter() - started < 1
    assert error is None and info is not None and not info.is_binary
    assert spent <= HEADER_BUDGET


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
