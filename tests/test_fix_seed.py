"""``fix`` on the seed, from real PyPI wheels: cryptography 43.0.3 (universal2) with cffi
1.17.1 installed as its arm64-only wheel in a ``pip install --target`` folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from nuitka_archguard.cli import main
from tests import realwheels
from tests.fixwheels import tree_hash

pytestmark = pytest.mark.realwheels

CFFI_X86 = "cffi-1.17.1-cp311-cp311-macosx_10_9_x86_64.whl"


@pytest.fixture
def seed(tmp_path: Path) -> Path:
    try:
        cached = realwheels.installed_target(
            ["cryptography==43.0.3", "cffi==1.17.1"], "macosx_11_0_arm64"
        )
    except realwheels.NetworkUnavailable as error:
        pytest.skip(f"PyPI unreachable and not cached: {error}")
    folder = tmp_path / "seed"
    shutil.copytree(cached, folder, symlinks=True)
    return folder


def test_dry_run_plans_cffi_x86_64_and_changes_nothing(
    seed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree_hash(seed)
    code = main(["fix", str(seed), "--target", "macos-x86_64", "--dry-run", "--format", "json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 0
    (action,) = document["results"][0]["plan"]["actions"]
    assert action["action"] == "replace"
    assert action["distribution"]["name"] == "cffi"
    assert action["wheel"] == CFFI_X86
    assert action["needed_by"] == ["cryptography"]
    assert tree_hash(seed) == before


def test_fix_then_scan_passes_and_undo_restores_byte_for_byte(
    seed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree_hash(seed)
    assert main(["scan", str(seed), "--target", "macos-x86_64"]) == 1
    capsys.readouterr()
    assert main(["fix", str(seed), "--target", "macos-x86_64"]) == 0
    out = capsys.readouterr().out
    assert f"replace by {CFFI_X86}" in out and "verdict: ok" in out
    wheel = (seed / "cffi-1.17.1.dist-info" / "WHEEL").read_text()
    assert "Tag: cp311-cp311-macosx_10_9_x86_64" in wheel
    assert main(["scan", str(seed), "--target", "macos-x86_64"]) == 0
    capsys.readouterr()
    assert main(["fix", "--undo", str(seed)]) == 0
    assert tree_hash(seed) == before
