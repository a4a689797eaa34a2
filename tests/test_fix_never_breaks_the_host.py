"""Issue 17 §6: ``fix`` never installs another OS's wheels into an environment whose own
interpreter runs here: such a target is refused for that environment with the alternatives
(--output, a --target folder, the right machine). Folders no interpreter runs from (a
``pip install --target`` folder) stay fixable for any OS."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from nuitka_archguard.cli.main import main
from nuitka_archguard.fix.environment import Environment
from nuitka_archguard.fix.plan import host_refusal
from nuitka_archguard.target import parse_target
from tests.fixwheels import ext_wheel, install, tree_hash

X86 = "macos-x86_64"


def _venv(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A virtual environment whose bin/python is this machine's (Linux) interpreter, with
    fast 1.0 installed as its arm64 macOS wheel; returns (venv, site, index)."""
    venv, index = tmp_path / "venv", tmp_path / "index"
    site = venv / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    (venv / "bin").mkdir(parents=True)
    os.symlink(os.path.realpath(sys.executable), venv / "bin" / "python")
    (venv / "pyvenv.cfg").write_text(f"home = {Path(sys.executable).parent}\nversion = 3.11.0\n")
    install(ext_wheel(tmp_path / "w", "fast", "1.0", "arm64"), site)
    ext_wheel(index, "fast", "1.0", "x86_64")
    return venv, site, index


@pytest.mark.skipif(sys.platform != "linux", reason="needs an ELF interpreter (a Linux host)")
@pytest.mark.parametrize("which", ["venv", "its site-packages"])
def test_a_macos_target_on_a_linux_venv_is_refused_with_the_alternatives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], which: str
) -> None:
    venv, site, index = _venv(tmp_path)
    path = venv if which == "venv" else site
    before = tree_hash(venv)
    code = main(["fix", str(path), "--target", X86, "--no-index", "--find-links", str(index),
                 "--format", "json"])  # fmt: skip
    document = json.loads(capsys.readouterr().out)
    assert code == 2
    refused = document["results"][0]["refused"]
    assert "runs on linux" in refused
    assert "--output DIR" in refused and "pip install --target DIR" in refused
    assert tree_hash(venv) == before


@pytest.mark.skipif(sys.platform != "linux", reason="needs an ELF interpreter (a Linux host)")
def test_a_target_folder_and_a_same_os_target_stay_fixable(tmp_path: Path) -> None:
    venv, _, _ = _venv(tmp_path)
    assert host_refusal(Environment.from_path(str(venv)), parse_target("linux-x86_64")) == ""
    folder = tmp_path / "folder"
    install(ext_wheel(tmp_path / "w2", "fast", "1.0", "arm64"), folder)
    assert host_refusal(Environment.from_path(str(folder)), parse_target(X86)) == ""
