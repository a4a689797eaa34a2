"""The seed's situation, rebuilt from real PyPI wheels and caught by the scanner.

On an arm64 Mac, cryptography 43.0.3 (a universal2 wheel) and cffi 1.17.1 (an arm64-only
wheel) build fine for ``--macos-target-arch=x86_64`` and then die on an Intel Mac with
``ModuleNotFoundError: No module named '_cffi_backend'``. This script installs exactly those
wheels into a folder (``pip install --target --platform``: nothing of them runs, so it works
on any host) and scans it for an x86_64 macOS target; then it swaps cffi for its x86_64
wheel and scans again.

Run it with any Python 3.9+: ``python3 examples/seed-scenario/run.py``. Where the project is not
installed, it first creates ``.venv`` and installs it there (the quick start's setup).
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = Path(__file__).resolve().parent / "build"
PYTHON_TAGS = ["--python-version", "3.11", "--implementation", "cp", "--abi", "cp311"]
CRYPTOGRAPHY = ("cryptography==43.0.3", "macosx_10_9_universal2")
CFFI_ARM64 = ("cffi==1.17.1", "macosx_11_0_arm64")
CFFI_X86_64 = ("cffi==1.17.1", "macosx_10_9_x86_64")


BOOTSTRAPPED = "NUITKA_ARCHGUARD_BOOTSTRAPPED"
"""Set for the copy of this script re-run inside ``.venv``: it never re-runs itself again."""
QUIET_BACKEND = "ignore:Editable installation"
"""setuptools warns about every editable install (BuildBackendWarning); a newcomer who did
nothing wrong is not shown it (PYTHONWARNINGS reaches the build backend's process)."""


def venv_python() -> Path:
    scripts = "Scripts" if os.name == "nt" else "bin"
    return ROOT / ".venv" / scripts / ("python.exe" if os.name == "nt" else "python")


def ensure_project_venv() -> None:
    """Re-run this script inside ``.venv`` with the project and its test tools installed,
    creating or repairing ``.venv`` as needed; once at most."""
    if importlib.util.find_spec("nuitka_archguard") is not None:
        return  # already running where the project is installed
    if os.environ.get(BOOTSTRAPPED):
        # Re-run once already, and the project is still not importable: say so, never loop.
        stop(f"nuitka_archguard is not importable in {sys.executable} after installing it", [])
    python = venv_python()
    if not works(python, "import nuitka_archguard, pytest"):
        print("Setting up .venv with nuitka-archguard and its test tools...", flush=True)
        if not works(python, "import pip"):  # missing or broken: made anew
            venv.create(ROOT / ".venv", with_pip=True, clear=True)
        pip = [str(python), "-m", "pip", "install", "--quiet"]
        setup([*pip, "--upgrade", "pip"])
        setup([*pip, "-e", f"{ROOT}[test]"])
    env = {**os.environ, BOOTSTRAPPED: "1"}
    raise SystemExit(subprocess.call([str(python), __file__, *sys.argv[1:]], env=env))


def works(python: Path, code: str) -> bool:
    """Whether ``python`` exists, starts and runs ``code``."""
    if not python.exists():
        return False
    try:
        return subprocess.call([str(python), "-c", code], stderr=subprocess.DEVNULL) == 0
    except OSError:
        return False


def setup(command: list[str]) -> None:
    """One installation step; a failure ends the script with one line and the retry command."""
    env = {**os.environ, "PYTHONWARNINGS": QUIET_BACKEND}
    try:
        code = subprocess.call(command, env=env)
    except OSError as error:
        code = -1
        print(f"run.py: {error}", file=sys.stderr)
    if code != 0:
        stop(f"installing into .venv failed (exit {code}); retry with", command)


def stop(message: str, command: list[str]) -> None:
    retry = f": {shlex.join(command)}" if command else ""
    print(f"run.py: error: {message}{retry}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def run(command: list[str]) -> None:
    subprocess.run(command, check=True)


def install(target: Path, *wheels: tuple[str, str]) -> Path:
    """Install foreign-platform wheels into ``target`` without running any of their code."""
    if not (target / ".complete").exists():
        for requirement, platform in wheels:
            run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--no-deps",
                    "--only-binary=:all:",
                    *PYTHON_TAGS,
                    "--platform",
                    platform,
                    "--target",
                    str(target),
                    "--upgrade",
                    requirement,
                ]
            )
        (target / ".complete").write_text("")
    return target


def scan(folder: Path) -> int:
    command = [
        sys.executable,
        "-m",
        "nuitka_archguard",
        "scan",
        str(folder),
        "--target",
        "macos-x86_64",
    ]
    print("+ nuitka-archguard scan", folder.relative_to(ROOT), "--target macos-x86_64", flush=True)
    return subprocess.call(command)


def main() -> int:
    ensure_project_venv()
    broken = install(WORK / "arm64-cffi", CRYPTOGRAPHY, CFFI_ARM64)
    fixed = install(WORK / "x86_64-cffi", CRYPTOGRAPHY, CFFI_X86_64)
    print("== cryptography 43.0.3 (universal2) + cffi 1.17.1 (arm64 only)")
    broken_code = scan(broken)
    print(f"(exit code {broken_code})\n")
    print("== the same with cffi's x86_64 wheel")
    fixed_code = scan(fixed)
    print(f"(exit code {fixed_code})")
    if (broken_code, fixed_code) != (1, 0):
        print("unexpected: the arm64 cffi should fail (1) and the x86_64 one pass (0)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
