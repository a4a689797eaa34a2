"""Issue 17 §5: what pip would have done, done. After a fix, the console scripts of a
``pip install --target`` folder run as before (the replaced script's shebang is kept),
``REQUESTED`` stays (``pip inspect`` shows the same requested set), ``INSTALLER`` says who
installed the replacement; ``--dry-run`` predicts fuse conflicts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nuitka_archguard.cli.main import main
from tests import fixwheels
from tests.fixwheels import tree_hash
from tests.synth import macho


def _wheel(folder: Path, arch: str, config: bytes = b"ARCH = None\n") -> Path:
    minimum = "11.0" if arch == "arm64" else "10.9"
    files = {
        "fast/__init__.py": b"VERSION = '1.0'\n",
        "fast/cli.py": b"from fast import VERSION\ndef main():\n    print('fast', VERSION)\n",
        "fast/config.py": config,
        "fast/_speedups.cpython-311-darwin.so": macho.thin(
            arch, "bundle", build_version=("macos", minimum, "14.0")
        ),
        "fast-1.0.dist-info/entry_points.txt": b"[console_scripts]\nfasttool = fast.cli:main\n",
    }
    tag = f"cp311-cp311-macosx_{minimum.replace('.', '_')}_{arch}"
    return fixwheels.make_wheel(folder, "fast", "1.0", tag, files)


def _pip_install_target(wheel: Path, target: Path) -> None:
    """As ``pip install --target``: scripts in target/bin with this Python's absolute
    shebang, INSTALLER pip, REQUESTED (it was named on the command line)."""
    from installer import install
    from installer.destinations import SchemeDictionaryDestination
    from installer.sources import WheelFile

    scheme = {key: str(target) for key in ("purelib", "platlib", "data")}
    scheme.update(scripts=str(target / "bin"), headers=str(target / "include"))
    destination = SchemeDictionaryDestination(scheme, interpreter=sys.executable,
                                              script_kind="posix")  # fmt: skip
    with WheelFile.open(wheel) as source:
        install(source, destination, {"INSTALLER": b"pip\n", "REQUESTED": b""})


def _requested(folder: Path) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "inspect", "--path", str(folder)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    report = json.loads(result.stdout)
    return {i["metadata"]["name"] for i in report["installed"] if i.get("requested")}


def _run_script(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(folder / "bin" / "fasttool")], capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONPATH": str(folder)},
    )  # fmt: skip


@pytest.mark.skipif(os.name == "nt", reason="POSIX launchers")
def test_scripts_run_and_requested_and_installer_are_kept_after_a_replace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, index = tmp_path / "folder", tmp_path / "index"
    _pip_install_target(_wheel(tmp_path / "w", "arm64"), folder)
    _wheel(index, "x86_64")
    assert _run_script(folder).stdout == "fast 1.0\n"
    shebang = (folder / "bin" / "fasttool").read_text().split("\n", 1)[0]
    requested = _requested(folder)
    assert requested == {"fast"}
    code = main(["fix", str(folder), "--target", "macos-x86_64", "--no-index", "--find-links",
                 str(index)])  # fmt: skip
    assert code == 0, capsys.readouterr()
    ran = _run_script(folder)
    assert (ran.returncode, ran.stdout) == (0, "fast 1.0\n"), ran.stderr
    assert (folder / "bin" / "fasttool").read_text().split("\n", 1)[0] == shebang
    assert _requested(folder) == requested
    dist_info = folder / "fast-1.0.dist-info"
    assert (dist_info / "INSTALLER").read_text() == "nuitka-archguard\n"


def test_dry_run_predicts_a_fuse_conflict_and_stages_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, index = tmp_path / "folder", tmp_path / "index"
    _pip_install_target(_wheel(tmp_path / "w", "arm64", b"ARCH = 'arm64'\n"), folder)
    _wheel(index, "x86_64", b"ARCH = 'x86_64'\n")
    before = tree_hash(folder)
    code = main(["fix", str(folder), "--target", "macos-universal2", "--no-index",
                 "--find-links", str(index), "--dry-run", "--format", "json"])  # fmt: skip
    document = json.loads(capsys.readouterr().out)
    (action,) = document["results"][0]["plan"]["actions"]
    assert code == 1
    assert action["applies"] is False
    assert "fast/config.py" in action["description"]
    assert tree_hash(folder) == before
    assert not (folder / ".archguard").exists()


def test_headers_go_where_pip_puts_them_in_a_virtual_environment(tmp_path: Path) -> None:
    """pip's oracle: install the wheel into a venv with pip, then stage it with the fix's
    installer for that venv: the header lands at the same place."""
    from nuitka_archguard.fix.environment import Environment
    from nuitka_archguard.fix.wheels import install_wheel, mirrored

    wheel = fixwheels.make_wheel(
        tmp_path / "w", "fast", "1.0", "py3-none-any",
        {"fast/__init__.py": b"", "fast-1.0.data/headers/fast.h": b"int fast(void);\n"},
    )  # fmt: skip
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
           "--no-index", str(wheel)]  # fmt: skip
    subprocess.run(pip, check=True, capture_output=True)
    (by_pip,) = [p for p in venv.rglob("fast.h")]
    env = Environment.from_path(str(venv))
    site = env.sites[0]
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    staged = install_wheel(wheel, env.scheme_for(site, version), tmp_path / "stage")
    (ours,) = [p for p in staged if p.name == "fast.h"]
    assert ours == mirrored(by_pip, tmp_path / "stage")
