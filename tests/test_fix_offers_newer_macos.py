"""Issue 17 §4: when the installed version has a wheel for the target on a newer macOS than
the minimum, the plan says so and offers both: ``--min-os`` for that macOS, or the older
version with ``--allow-version-change``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nuitka_archguard.cli.main import main
from tests import fixwheels
from tests.fixwheels import ext_wheel, install
from tests.synth import macho


def _setup(tmp_path: Path) -> tuple[Path, Path]:
    """fast 2.0 installed for arm64; the index has fast 2.0 for x86_64 only on macOS 10.12
    and fast 1.0 for x86_64 on 10.9 (bcrypt 5.0.0 / 3.2.0)."""
    env, index = tmp_path / "env", tmp_path / "index"
    install(ext_wheel(tmp_path / "w", "fast", "2.0", "arm64"), env)
    binary = macho.thin("x86_64", "bundle", build_version=("macos", "10.12", "14.0"))
    files = {"fast/__init__.py": b"", "fast/_speedups.cpython-311-darwin.so": binary}
    fixwheels.make_wheel(index, "fast", "2.0", "cp311-cp311-macosx_10_12_x86_64", files)
    ext_wheel(index, "fast", "1.0", "x86_64")
    return env, index


def _plan(env: Path, index: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict:  # type: ignore[type-arg]
    code = main(["fix", str(env), "--target", "macos-x86_64", "--min-os", "10.9", "--no-index",
                 "--find-links", str(index), "--dry-run", "--format", "json", *extra])  # fmt: skip
    document = json.loads(capsys.readouterr().out)
    (action,) = document["results"][0]["plan"]["actions"]
    return {"code": code, **action}


def test_the_plan_offers_a_newer_macos_and_the_older_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env, index = _setup(tmp_path)
    action = _plan(env, index, capsys)
    offer = "fast 2.0 needs macOS 10.12: --min-os 10.12; or 1.0 for 10.9: --allow-version-change"
    assert offer in action["notes"]
    assert action["manual"] == offer
    assert action["applies"] is False


def test_with_that_min_os_the_same_version_is_taken(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env, index = _setup(tmp_path)
    code = main(["fix", str(env), "--target", "macos-x86_64", "--min-os", "10.12", "--no-index",
                 "--find-links", str(index), "--dry-run", "--format", "json"])  # fmt: skip
    document = json.loads(capsys.readouterr().out)
    (action,) = document["results"][0]["plan"]["actions"]
    assert code == 0
    assert action["action"] == "replace"
    assert action["wheel"] == "fast-2.0-cp311-cp311-macosx_10_12_x86_64.whl"
