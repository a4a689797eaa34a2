"""Issue 17 §8: plan lines fit a terminal. A manylinux wheel carries up to six tags, and the
plan printed them all twice (the installed wheel's and the replacement's file name): a line of
~290 columns. Now each plan line keeps within 100 columns where the names allow, the tags cut
to the first and "and N more"; ``--format json`` keeps every tag and the full file name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nuitka_archguard.check.ownership import Distribution
from nuitka_archguard.check.report import describe_distribution
from nuitka_archguard.cli.main import main
from nuitka_archguard.fix.plan import PLAN_WIDTH
from nuitka_archguard.wheel import short_name
from tests.fixwheels import install, make_wheel
from tests.synth.elf import elf

MANYLINUX = ("manylinux_2_5", "manylinux1", "manylinux_2_12", "manylinux2010", "manylinux_2_17",
             "manylinux2014")  # fmt: skip


def _six_tags(arch: str) -> str:
    return "cp311-cp311-" + ".".join(f"{policy}_{arch}" for policy in MANYLINUX)


def _env(tmp_path: Path) -> tuple[Path, Path]:
    """``fast`` installed from its aarch64 wheel, its x86_64 wheel in a find-links folder:
    both wheels with six manylinux tags, as numpy's and psutil's older wheels have."""
    env, index = tmp_path / "env", tmp_path / "index"
    for arch, folder in (("aarch64", tmp_path / "w"), ("x86_64", index)):
        files = {"fast/__init__.py": b"", f"fast/_s.cpython-311-{arch}-linux-gnu.so": elf(arch)}
        wheel = make_wheel(folder, "fast", "1.0", _six_tags(arch), files)
        if arch == "aarch64":
            install(wheel, env)
    return env, index


def test_a_plan_of_six_tag_wheels_fits_100_columns_and_json_keeps_every_tag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env, index = _env(tmp_path)
    fix = ["fix", str(env), "--target", "linux-x86_64", "--dry-run", "--no-index",
           "--find-links", str(index)]  # fmt: skip
    assert main(fix) == 0
    lines = capsys.readouterr().out.splitlines()
    start = lines.index("plan (Python 3.11, cp311):") + 1
    end = next(i for i, line in enumerate(lines) if line.startswith("      fixes "))
    plan = lines[start:end]
    assert plan == [
        "  fast 1.0 (wheel cp311-cp311-manylinux_2_5_aarch64 and 5 more, installed by pip):",
        "    replace by fast-1.0-cp311-cp311-manylinux_2_5_x86_64.whl and 5 more tags",
    ], lines
    assert all(len(line) <= PLAN_WIDTH for line in plan)

    assert main([*fix, "--format", "json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)["results"]
    (action,) = result["plan"]["actions"]
    assert action["wheel"] == f"fast-1.0-{_six_tags('x86_64')}.whl"
    assert action["wheel_tags"] == [f"cp311-cp311-{p}_x86_64" for p in MANYLINUX]
    assert sorted(action["distribution"]["wheel_tags"]) == sorted(
        f"cp311-cp311-{p}_aarch64" for p in MANYLINUX
    )
    assert action["description"] == f"replace by {action['wheel']}"


def test_a_wheel_name_keeps_its_first_tag_and_says_how_many_more() -> None:
    assert short_name(f"fast-1.0-{_six_tags('x86_64')}.whl") == (
        "fast-1.0-cp311-cp311-manylinux_2_5_x86_64.whl and 5 more tags"
    )
    assert short_name("a-1-1-cp36.cp37-abi3-manylinux2014_x86_64.whl") == (
        "a-1-1-cp36-abi3-manylinux2014_x86_64.whl and 1 more tag"  # a build tag, two Pythons
    )
    one = "cffi-1.17.1-cp311-cp311-macosx_10_9_x86_64.whl"
    assert short_name(one) == one
    assert short_name("not a wheel.zip") == "not a wheel.zip"


def test_the_installed_wheel_shows_as_many_tags_as_asked() -> None:
    tags = tuple(f"cp311-cp311-{p}_aarch64" for p in MANYLINUX)
    dist = Distribution(name="fast", version="1.0", kind="pip", installer="pip", wheel_tags=tags)
    assert describe_distribution(dist) == (
        "fast 1.0 (wheel cp311-cp311-manylinux_2_5_aarch64, cp311-cp311-manylinux1_aarch64 "
        "and 4 more, installed by pip)"
    )
    assert describe_distribution(dist, tags_shown=1) == (
        "fast 1.0 (wheel cp311-cp311-manylinux_2_5_aarch64 and 5 more, installed by pip)"
    )


def test_fix_output_lines_fit_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``fix --output`` names each input wheel and what happens to it: the same width."""
    _, index = _env(tmp_path)
    fix = ["fix", str(tmp_path / "w"), "--output", str(tmp_path / "out"), "--target",
           "linux-x86_64", "--dry-run", "--no-index", "--find-links", str(index)]  # fmt: skip
    assert main(fix) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:] == [
        "  fast-1.0-cp311-cp311-manylinux_2_5_aarch64.whl and 5 more tags:",
        "    replace by fast-1.0-cp311-cp311-manylinux_2_5_x86_64.whl and 5 more tags",
    ], lines
    assert main([*fix, "--format", "json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)["wheels"]
    assert result["description"] == f"replace by fast-1.0-{_six_tags('x86_64')}.whl"
