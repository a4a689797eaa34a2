"""Issue 17 §1 and §2: a fix is ``ok`` only if a scan of the result is clean. A changed
distribution that still fails after apply is rolled back with its reason (the others stay
fixed); fusing works by module, the file CPython loads first, for every path and --output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nuitka_archguard.cli.main import main
from tests import fixwheels
from tests.fixwheels import install, tree_hash
from tests.synth import macho

U2 = "macos-universal2"


def _thin(arch: str, filetype: str = "bundle") -> bytes:
    minimum = "11.0" if arch == "arm64" else "10.9"
    return macho.thin(arch, filetype, build_version=("macos", minimum, "14.0"))


def _tag(arch: str, py: str = "cp311-cp311") -> str:
    return f"{py}-macosx_{'11_0' if arch == 'arm64' else '10_9'}_{arch}"


def test_a_changed_distribution_that_still_fails_is_rolled_back_with_its_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """fast's arm64 wheel has a module its x86_64 wheel lacks: after the fuse it is still
    arm64 only, so fast is rolled back; slow, fused cleanly, stays fixed."""
    env, index = tmp_path / "env", tmp_path / "index"
    for arch, folder in (("arm64", tmp_path / "w"), ("x86_64", index)):
        fast = {"fast/__init__.py": b"", "fast/_speedups.cpython-311-darwin.so": _thin(arch)}
        if arch == "arm64":
            fast["fast/_neon.cpython-311-darwin.so"] = _thin(arch)
        slow = {"slow/__init__.py": b"", "slow/_core.cpython-311-darwin.so": _thin(arch)}
        wheels = [
            fixwheels.make_wheel(folder, "fast", "1.0", _tag(arch), fast),
            fixwheels.make_wheel(folder, "slow", "2.0", _tag(arch), slow),
        ]
        if arch == "arm64":
            for wheel in wheels:
                install(wheel, env)
    fast_before = {k: v for k, v in tree_hash(env).items() if "fast" in k}
    code = main(["fix", str(env), "--target", U2, "--no-index", "--find-links", str(index),
                 "--format", "json"])  # fmt: skip
    document = json.loads(capsys.readouterr().out)
    assert code == 1
    result = document["results"][0]
    assert list(result["rolled_back"]) == ["fast"]
    assert "still fails after the fix" in result["rolled_back"]["fast"]
    assert "fast/_neon.cpython-311-darwin.so" in result["rolled_back"]["fast"]
    by_name = {a["distribution"]["name"]: a for a in result["plan"]["actions"]}
    assert by_name["fast"]["applies"] is False
    assert "still fails after the fix" in by_name["fast"]["refusal"]
    assert by_name["slow"]["applies"] is True
    assert {k: v for k, v in tree_hash(env).items() if "fast" in k} == fast_before
    assert (env / "slow" / "_core.cpython-311-darwin.so").read_bytes()[:4] == bytes.fromhex(
        "cafebabe"
    )
    assert "universal2" in (env / "slow-2.0.dist-info" / "WHEEL").read_text()


def _cython_like(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Cython 3.3.1's layout: the arm64 wheel only as cp311-cp311 (``.cpython-311-darwin.so``),
    the x86_64 wheel only as cp39-abi3 (``.abi3.so``). Returns (env, index, arm64 wheel)."""
    env, index = tmp_path / "env", tmp_path / "index"
    arm = fixwheels.make_wheel(
        tmp_path / "w", "fast", "1.0", _tag("arm64"),
        {"fast/__init__.py": b"", "fast/_speedups.cpython-311-darwin.so": _thin("arm64")},
    )  # fmt: skip
    fixwheels.make_wheel(
        index, "fast", "1.0", _tag("x86_64", "cp39-abi3"),
        {"fast/__init__.py": b"", "fast/_speedups.abi3.so": _thin("x86_64")},
    )  # fmt: skip
    install(arm, env)
    return env, index, arm


def test_one_module_under_two_abi_names_is_fused_into_the_name_cpython_loads_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.fixwheels import verify_record

    env, index, _ = _cython_like(tmp_path)
    code = main(["fix", str(env), "--target", U2, "--no-index", "--find-links", str(index)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "verdict: ok" in out
    fused = env / "fast" / "_speedups.cpython-311-darwin.so"
    assert fused.read_bytes()[:4] == bytes.fromhex("cafebabe")
    assert not (env / "fast" / "_speedups.abi3.so").exists()
    assert verify_record(env / "fast-1.0.dist-info") == []
    assert (
        "Tag: cp311-cp311-macosx_10_9_universal2"
        in (env / "fast-1.0.dist-info" / "WHEEL").read_text()
    )
    assert main(["scan", str(env), "--target", U2]) == 0


def test_output_fuses_by_module_and_its_verdict_is_a_scan_of_the_written_wheel(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import zipfile

    _, index, arm = _cython_like(tmp_path)
    out = tmp_path / "out"
    code = main(["fix", str(arm), "--output", str(out), "--target", U2, "--no-index",
                 "--find-links", str(index)])  # fmt: skip
    assert code == 0, capsys.readouterr()
    capsys.readouterr()
    (made,) = out.iterdir()
    names = zipfile.ZipFile(made).namelist()
    assert "fast/_speedups.cpython-311-darwin.so" in names
    assert "fast/_speedups.abi3.so" not in names
    assert main(["scan", str(made), "--target", U2]) == 0


def test_output_never_writes_a_fused_wheel_that_still_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A module only the arm64 wheel has stays arm64-only: exit 1, the reason, no wheel."""
    index = tmp_path / "index"
    arm = fixwheels.make_wheel(
        tmp_path / "w", "fast", "1.0", _tag("arm64"),
        {"fast/_speedups.cpython-311-darwin.so": _thin("arm64"),
         "fast/_neon.cpython-311-darwin.so": _thin("arm64")},
    )  # fmt: skip
    fixwheels.make_wheel(index, "fast", "1.0", _tag("x86_64"),
                         {"fast/_speedups.cpython-311-darwin.so": _thin("x86_64")})  # fmt: skip
    out = tmp_path / "out"
    code = main(["fix", str(arm), "--output", str(out), "--target", U2, "--no-index",
                 "--find-links", str(index), "--format", "json"])  # fmt: skip
    document = json.loads(capsys.readouterr().out)
    assert code == 1
    (result,) = document["wheels"]
    assert result["fixed"] is False
    assert "fast/_neon.cpython-311-darwin.so" in result["description"]
    assert list(out.iterdir()) == []
