"""``fix`` on the seed, from real PyPI wheels: cryptography 43.0.3 (universal2) with cffi
1.17.1 installed as its arm64-only wheel in a ``pip install --target`` folder."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nuitka_archguard.cli.main import main
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


def test_universal2_fuses_cffi_like_lipo_and_every_record_line_verifies(
    seed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.fixwheels import verify_record

    before = tree_hash(seed)
    assert main(["fix", str(seed), "--target", "macos-universal2"]) == 0
    out = capsys.readouterr().out
    assert "fuse with cffi-1.17.1-cp311-cp311-macosx_10_9_x86_64.whl into universal2" in out
    fused = seed / "_cffi_backend.cpython-311-darwin.so"
    assert main(["inspect", "--json", str(fused)]) == 0
    (info,) = json.loads(capsys.readouterr().out)
    assert sorted(s["arch"] for s in info["slices"]) == ["arm64", "x86_64"]
    dist_info = seed / "cffi-1.17.1.dist-info"
    assert "Tag: cp311-cp311-macosx_10_9_universal2" in (dist_info / "WHEEL").read_text()
    assert (dist_info / "ARCHGUARD_FUSED.json").is_file()
    assert verify_record(dist_info) == []
    assert main(["scan", str(seed), "--target", "macos-universal2"]) == 0
    capsys.readouterr()

    lipo = realwheels.llvm_tool("llvm-lipo")
    if lipo is not None:
        name = "_cffi_backend.cpython-311-darwin.so"
        arm = realwheels.extracted(realwheels.wheel("cffi", "1.17.1", "arm64")) / name
        x86 = realwheels.extracted(realwheels.wheel("cffi", "1.17.1", "x86_64")) / name
        reference = tmp_path / "lipo.so"
        subprocess.run([lipo, "-create", str(arm), str(x86), "-output", str(reference)],
                       check=True)  # fmt: skip
        assert fused.read_bytes() == reference.read_bytes()

    assert main(["fix", "--undo", str(seed)]) == 0
    assert tree_hash(seed) == before


def test_pip_uninstall_removes_every_file_of_a_fused_distribution(
    seed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
    )  # fmt: skip
    before = {p.relative_to(site) for p in site.rglob("*")}
    # Fused in a --target folder (a Linux venv's own interpreter is never given macOS
    # wheels), then laid into the venv's site-packages as pip would have put them.
    folder = tmp_path / "folder"
    folder.mkdir()
    for item in seed.iterdir():  # a --target folder is laid out as site-packages
        if item.name.startswith(("cffi", "_cffi")):
            if item.is_dir():
                shutil.copytree(item, folder / item.name)
            else:
                shutil.copy2(item, folder / item.name)
    assert main(["fix", str(folder), "--target", "macos-universal2"]) == 0
    capsys.readouterr()
    for item in folder.iterdir():
        if item.name != ".archguard":
            (shutil.copytree if item.is_dir() else shutil.copy2)(item, site / item.name)
    assert (site / "cffi-1.17.1.dist-info" / "ARCHGUARD_FUSED.json").is_file()
    result = subprocess.run(
        [str(python), "-m", "pip", "uninstall", "-y", "cffi"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    after = {p.relative_to(site) for p in site.rglob("*")}
    assert after == before


def test_numpy_arm64_to_universal2_stops_on_differing_files_then_fuses_everything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """numpy 2.1.3's OpenBLAS flavour (``macosx_11_0_arm64``): the x86_64 half must be the
    same flavour (``macosx_10_9_x86_64``, not Accelerate's ``14_0``); its ``.a`` archives and
    ``.dylibs/`` become fat too."""
    from nuitka_archguard.binaries import inspect_file
    from tests.fixwheels import verify_record

    try:
        cached = realwheels.installed_target(["numpy==2.1.3"], "macosx_11_0_arm64")
    except realwheels.NetworkUnavailable as error:
        pytest.skip(f"PyPI unreachable and not cached: {error}")
    env = tmp_path / "np"
    shutil.copytree(cached, env, symlinks=True)
    before = tree_hash(env)
    differing = ["numpy/__config__.py", "numpy/_core/include/numpy/_numpyconfig.h"]

    assert main(["fix", str(env), "--target", "macos-universal2"]) == 1
    out = capsys.readouterr().out
    assert all(name in out for name in differing), out
    assert "--accept-different" in out
    assert tree_hash(env) == before

    accept = [arg for name in differing for arg in ("--accept-different", name)]
    assert main(["fix", str(env), "--target", "macos-universal2", *accept]) == 0
    out = capsys.readouterr().out
    assert "fuse with numpy-2.1.3-cp311-cp311-macosx_10_9_x86_64.whl" in out, out
    machos = realwheels.binaries([env / "numpy"])["mach-o"]
    archives = [p for p in env.rglob("*.a") if ".archguard" not in p.parts]
    assert archives and any(".dylibs" in p.parts for p in machos)
    for path in [*machos, *archives]:
        data = path.read_bytes()[:4]
        assert data == bytes.fromhex("cafebabe"), path
    for path in machos:
        if path.suffix != ".a":  # fat archives: checked by their magic above
            assert sorted(inspect_file(str(path)).archs) == ["arm64", "x86_64"], path
    # pip --target itself leaves the scripts' lines (../../bin/f2py) pointing nowhere.
    problems = verify_record(env / "numpy-2.1.3.dist-info")
    assert [p for p in problems if not p.startswith("../../bin/")] == []
    assert main(["scan", str(env), "--target", "macos-universal2"]) == 0
    capsys.readouterr()
    assert main(["fix", "--undo", str(env)]) == 0
    assert tree_hash(env) == before


def test_output_turns_cffi_arm64_wheel_into_a_universal2_wheel(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import zipfile

    try:
        arm = realwheels.wheel("cffi", "1.17.1", "arm64")
        x86 = realwheels.wheel("cffi", "1.17.1", "x86_64")
    except realwheels.NetworkUnavailable as error:
        pytest.skip(f"PyPI unreachable and not cached: {error}")
    house, out = tmp_path / "house", tmp_path / "out"
    house.mkdir()
    shutil.copy2(arm, house / arm.name)
    before = tree_hash(house)
    assert main(["fix", str(house), "--output", str(out), "--target", "macos-universal2"]) == 0
    capsys.readouterr()
    assert tree_hash(house) == before
    (made,) = out.iterdir()
    assert made.name == "cffi-1.17.1-cp311-cp311-macosx_10_9_universal2.whl"
    assert main(["scan", str(made), "--target", "macos-universal2"]) == 0
    lipo = realwheels.llvm_tool("llvm-lipo")
    if lipo is not None:
        name = "_cffi_backend.cpython-311-darwin.so"
        reference = tmp_path / "lipo.so"
        subprocess.run(
            [lipo, "-create", str(realwheels.extracted(arm) / name),
             str(realwheels.extracted(x86) / name), "-output", str(reference)],
            check=True,
        )  # fmt: skip
        with zipfile.ZipFile(made) as archive:
            assert archive.read(name) == reference.read_bytes()
