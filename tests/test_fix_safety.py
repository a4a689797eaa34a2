"""``fix`` trusted with a real environment (issue 16): it works on the environment as
resolved once (a symlinked ancestor, a name that is not UTF-8), never writes, moves, deletes
or chmods through a symlink out of it, believes a journal or a backup only once checked, and
reports each environment's own outcome."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nuitka_archguard.cli import main
from tests.fixwheels import ext_wheel, install, tree_hash
from tests.synth import macho

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


# -- the state folder: at an environment's root only, known without the fixer --------------

STATE_PLACES = {
    # where a folder named .archguard holds an arm64 binary: (is it the state folder?)
    ".archguard": True,
    "fast/.archguard": False,
    "fast/sub/.archguard/deeper": False,
}


@pytest.mark.parametrize("where", sorted(STATE_PLACES))
def test_only_the_root_archguard_folder_is_the_state_folder(
    where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = _env(tmp_path / "env", tmp_path)
    (env / "fast" / "_speedups.cpython-311-darwin.so").unlink()  # only the planted binary
    folder = env / where
    folder.mkdir(parents=True)
    (folder / "hidden.so").write_bytes(macho.thin("arm64", "bundle"))
    code = main(["scan", str(env), "--target", X86, "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    if STATE_PLACES[where]:
        assert code == 0 and findings == []
    else:
        assert code == 1
        assert [f["path"].endswith(f"{where}/hidden.so") for f in findings] == [True]


def test_the_diagnosis_does_not_import_the_fixer(tmp_path: Path) -> None:
    env = _env(tmp_path / "env", tmp_path)
    (env / ".archguard").mkdir()
    (env / ".archguard" / "journal.json").write_text("{}")
    program = (
        "import sys\n"
        "from nuitka_archguard.scan import scan, ScanError\n"
        "from nuitka_archguard.nuitka_plugin import support\n"
        "try:\n"
        f"    scan([{str(env)!r}], 'macos-x86_64')\n"
        "except ScanError as error:\n"
        "    assert 'half-fixed' in str(error), error\n"
        "else:\n"
        "    raise SystemExit('not refused')\n"
        f"assert support._half_fixed([{str(env)!r}])\n"
        "fixer = sorted(m for m in sys.modules if m.startswith('nuitka_archguard.fix'))\n"
        "assert not fixer, fixer\n"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
