"""``fix`` trusted with a real environment (issue 16): it works on the environment as
resolved once (a symlinked ancestor, a name that is not UTF-8), never writes, moves, deletes
or chmods through a symlink out of it, believes a journal or a backup only once checked, and
reports each environment's own outcome."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from nuitka_archguard.cli import main
from tests.fixwheels import ext_wheel, install, tree_hash

X86 = "macos-x86_64"


@pytest.fixture
def index(tmp_path: Path) -> Path:
    folder = tmp_path / "index"
    ext_wheel(folder, "fast", "1.0", "x86_64")
    return folder


def _env(where: Path, tmp_path: Path) -> Path:
    install(ext_wheel(tmp_path / "installed", "fast", "1.0", "arm64"), where)
    return where


def _fix(env: Path | str, index: Path, *extra: str) -> int:
    return main(["fix", os.fsdecode(env), "--target", X86, "--no-index", "--find-links",
                 str(index), *extra])  # fmt: skip


# -- 1. the environment is resolved once ------------------------------------------------------

# How an environment is reached: (folder created, the PATH given to fix), relative to tmp_path.
REACHED = {
    "symlinked ancestor (macOS /tmp)": ("private/tmp/env", "tmp/env"),
    "symlink to the environment": ("real-env", "env-link"),
    "name not UTF-8": ("caf\udce9/env", "caf\udce9/env"),
    "not UTF-8 behind a link": ("private/\udcff/env", "tmp/\udcff/env"),
}


def _reach(case: str, tmp_path: Path) -> tuple[Path, Path]:
    real_rel, given_rel = REACHED[case]
    real = tmp_path / real_rel
    given = tmp_path / given_rel
    if "ancestor" in case or "behind" in case:
        (tmp_path / "tmp").symlink_to(tmp_path / "private" / "tmp"
                                      if "ancestor" in case else tmp_path / "private")  # fmt: skip
    elif real != given:
        given.symlink_to(real)
    return real, given


@pytest.mark.parametrize("case", sorted(REACHED))
@pytest.mark.parametrize("dry_run", [False, True], ids=["apply", "dry-run"])
def test_an_environment_reached_through_a_link_or_an_odd_name_is_fixed(
    case: str, dry_run: bool, tmp_path: Path, index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real, given = _reach(case, tmp_path)
    _env(real, tmp_path)
    before = tree_hash(real)
    extra = ("--dry-run",) if dry_run else ()
    code = _fix(given, index, *extra, "--format", "json")
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "internal error" not in err and err == "", err
    document = json.loads(out)
    (result,) = document["results"]
    if dry_run:
        assert tree_hash(real) == before
        assert result["plan"]["actions"], result
    else:
        assert result["applied"] is True, result
        assert tree_hash(real) != before
        assert main(["fix", "--undo", os.fsdecode(given)]) == 0
        capsys.readouterr()
        assert tree_hash(real) == before
