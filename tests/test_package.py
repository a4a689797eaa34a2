"""The package people install: ``python -m build`` makes an sdist and a wheel that ``twine
check`` accepts (twine in a throwaway venv), carrying the licence, the typing marker, the
JSON schema and the plugin file; the wheel installed into a fresh virtualenv runs ``scan``.
In the ``realwheels`` tier: it installs the project's dependencies from the package index."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

from nuitka_archguard import __version__
from tests.synth import elf

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.realwheels,
    pytest.mark.skipif(
        importlib.util.find_spec("build") is None,
        reason="needs the dev extra (build)",
    ),
]


def _source_copy(dest: Path) -> Path:
    """What a source checkout holds for building (no .venv, no build/ left in the tree)."""
    for name in ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in"):
        shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(
        ROOT / "nuitka_archguard", dest / "nuitka_archguard",
        ignore=shutil.ignore_patterns("__pycache__"),
    )  # fmt: skip
    return dest


def test_build_twine_check_install_and_scan(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    source = _source_copy(tmp_path / "src")
    dist = tmp_path / "dist"
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    built = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(dist), str(source)],
        capture_output=True, text=True, timeout=900, env=env,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    wheels, sdists = list(dist.glob("*.whl")), list(dist.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, list(dist.iterdir())
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = set(wheel.namelist())
        metadata = wheel.read(f"nuitka_archguard-{__version__}.dist-info/METADATA").decode()
    for member in (
        "nuitka_archguard/py.typed",
        "nuitka_archguard/schema/report.schema.json",
        "nuitka_archguard/nuitka_plugin/archguard.py",
        f"nuitka_archguard-{__version__}.dist-info/licenses/LICENSE",
    ):
        assert member in names, member
    assert "License-Expression: MIT" in metadata and "Project-URL: Source, " in metadata
    assert "Classifier: Programming Language :: Python :: 3.9" in metadata
    with tarfile.open(sdists[0]) as sdist:
        members = sdist.getnames()
    assert f"nuitka_archguard-{__version__}/LICENSE" in members
    assert f"nuitka_archguard-{__version__}/nuitka_archguard/nuitka_plugin/archguard.py" in members
    assert not any("/tests/" in m for m in members)  # half a test tree helps nobody

    # the wheel, installed into a fresh virtualenv, scans
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / ("Scripts" if os.name == "nt" else "bin") / "python"
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(wheels[0])],
        capture_output=True, text=True, timeout=900, env=env,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-3000:]
    # twine in the throwaway venv, not in the dev extra: it pulls in cryptography and cffi
    # (keyring, SecretStorage), which would then sit in the test venv's site-packages and
    # make the Linux seed builds (an aarch64 cffi on PYTHONPATH) find a host cffi there.
    twine = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "twine"],
        capture_output=True, text=True, timeout=900, env=env,
    )  # fmt: skip
    assert twine.returncode == 0, twine.stderr[-3000:]
    checked = subprocess.run(
        [str(python), "-m", "twine", "check", "--strict", *map(str, [*wheels, *sdists])],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert checked.returncode == 0 and checked.stdout.count("PASSED") == 2, checked
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "_ext.cpython-311-aarch64-linux-gnu.so").write_bytes(elf.elf("aarch64"))
    command = python.parent / "nuitka-archguard"
    scanned = subprocess.run(
        [str(command), "scan", str(tree), "--target", "linux-x86_64"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert scanned.returncode == 1, scanned
    assert "error[arch-missing]" in scanned.stdout and "1 error" in scanned.stdout
    where = subprocess.run(
        [str(python), "-c", "import nuitka_archguard; print(nuitka_archguard.__file__)"],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert str(env_dir) in where.stdout  # the installed copy, not the source tree
