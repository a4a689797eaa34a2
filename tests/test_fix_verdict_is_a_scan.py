"""Issue 17 §1 and §2: a fix is ``ok`` only if a scan of the result is clean. A changed
distribution that still fails after apply is rolled back with its reason (the others stay
fixed); fusing works by module, the file CPython loads first, for every path and --output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nuitka_archguard.cli import main
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
