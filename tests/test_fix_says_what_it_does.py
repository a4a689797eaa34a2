"""Issue 17 §8: ``fix`` prints what it is doing as it does it (the plan before the
downloads, each pip call, staging, apply), an undo lists what it restores, one wheel is
"1 wheel", and ``--output`` conflicts speak of the input wheel, not "the installed ones"."""

from __future__ import annotations

from pathlib import Path

import pytest

from nuitka_archguard.cli.main import main
from tests import fixwheels
from tests.fixwheels import ext_wheel, install
from tests.synth import macho

X86 = "macos-x86_64"


def _env(tmp_path: Path) -> tuple[Path, Path]:
    env, index = tmp_path / "env", tmp_path / "index"
    install(ext_wheel(tmp_path / "w", "fast", "1.0", "arm64"), env)
    ext_wheel(index, "fast", "1.0", "x86_64")
    return env, index


def test_progress_is_printed_as_it_happens_even_when_a_later_step_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env, _ = _env(tmp_path)
    code = main(["fix", str(env), "--target", X86, "--index-url", "http://127.0.0.1:9/simple"])
    captured = capsys.readouterr()
    assert code == 2
    assert "planning 1 distribution: asking pip for the target's wheels" in captured.out
    assert "  pip: 1 wheel: fast==1.0 for macosx_10_9_x86_64" in captured.out
    assert "nothing was changed" in captured.err


def test_a_fix_says_each_step_in_order_and_an_undo_what_it_restores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env, index = _env(tmp_path)
    assert main(["fix", str(env), "--target", X86, "--no-index", "--find-links", str(index)]) == 0
    lines = capsys.readouterr().out.splitlines()
    steps = ["fix ", "planning 1 distribution", "  pip: 1 wheel", "staging 1 change", "plan (",
             "applying 1 change", "applied: ", "verdict: ok"]  # fmt: skip
    found = [next(i for i, line in enumerate(lines) if line.startswith(s)) for s in steps]
    assert found == sorted(found), lines
    assert main(["fix", "--undo", str(env)]) == 0
    out = capsys.readouterr().out
    assert (
        "  restored fast 1.0 as it was before the fix (undoing: replace by "
        "fast-1.0-cp311-cp311-macosx_10_9_x86_64.whl)" in out
    ), out


def test_output_says_1_wheel_and_its_conflicts_name_the_input_wheel(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index, house = tmp_path / "index", tmp_path / "house"
    for arch, folder in (("arm64", house), ("x86_64", index)):
        minimum = "11.0" if arch == "arm64" else "10.9"
        files = {
            "fast/config.py": f"ARCH = {arch!r}\n".encode(),
            "fast/_s.cpython-311-darwin.so": macho.thin(
                arch, "bundle", build_version=("macos", minimum, "14.0")
            ),
        }
        tag = f"cp311-cp311-macosx_{minimum.replace('.', '_')}_{arch}"
        fixwheels.make_wheel(folder, "fast", "1.0", tag, files)
    code = main(["fix", str(house), "--output", str(tmp_path / "out"), "--target",
                 "macos-universal2", "--no-index", "--find-links", str(index)])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith("fix 1 wheel for macos-universal2"), out
    assert "keep the input wheel's copies with --accept-different GLOB" in out
    assert "installed" not in out
