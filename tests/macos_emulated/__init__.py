"""Real Nuitka through its own macOS code paths, on Linux x86_64, up to the moment it would
start Scons: the ``macos_emulated`` test tier's harness.

Nuitka is made to believe it runs on an arm64 (or x86_64) Mac: ``launcher.py`` patches
``os.uname``, ``platform``, ``sys.platform``, the deployment target and the extension-module
suffixes in both of Nuitka's processes (it survives Nuitka's re-execution); ``tools.py``
provides ``file`` and ``otool`` on ``PATH``; ``probe.py``, a Nuitka user plugin, records
Nuitka's module set and premise and stops the build right before Scons, since from there
on (Apple clang, the linker, the SDK, ``lipo``, ``install_name_tool``, ``codesign``) a Mac
is really needed. The Mach-O files the build sees are real, from real macOS wheels.

Use from any test (the only public entry point)::

    from tests.macos_emulated import build

    result = build(tmp_path / "b", "import cffi\\n", [site_dir], target_arch="x86_64")
    result.returncode, result.output          # Nuitka's exit status and output
    result.modules                            # {"cffi": {"file": ..., "kind": "python"}, ...}
    result.stopped_by_archguard               # archguard stopped it before the C compilation
    result.reached_scons                      # nothing stopped it before Scons
    assert_premise(result, "x86_64")          # first, in every test
    assert_stopped_by_archguard(result)
    macos_site(["cffi==1.17.1"], "macosx_11_0_arm64")   # real wheels, cached (tests/realwheels)

:func:`build` itself fails (``EmulationBroken``) if Nuitka does not report ``isMacOS()``
and the expected target arch, so a Nuitka upgrade that breaks the emulation cannot make a
test pass vacuously. Needs Linux, Nuitka in the running interpreter (4.x or 2.x), a
shared-libpython CPython (pyenv's is; ``--static-libpython=no`` is passed) and ``file``.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from . import launcher, tools

HERE = Path(__file__).resolve().parent
LAUNCHER = HERE / "launcher.py"
TOOLS = HERE / "tools.py"
PROBE = HERE / "probe.py"

PROBE_STOP_EXIT = 42
"""``probe.STOP_EXIT`` (not imported: ``probe`` imports Nuitka)."""
PROBE_STOP_MESSAGE = "archguard-emul-probe: stopped before Scons"
ARCHGUARD_STOP_MESSAGE = "FATAL: archguard: stopped before the C compilation"
BUILD_TIMEOUT = 900
HOST_STDLIB_REASON = "the Linux host's own stdlib (macos_emulated: the Python is the host's)"


class EmulationBroken(AssertionError):
    """Nuitka did not run as on macOS with the requested arch: the harness's premise is gone
    (a Nuitka change, most likely), so no test result would mean anything."""


def nuitka_major(python: str = sys.executable) -> Optional[int]:
    """Nuitka's major version in ``python``, or ``None`` when it has no Nuitka."""
    if python == sys.executable:
        try:
            from nuitka.Version import (  # type: ignore[import-untyped,unused-ignore]
                getNuitkaVersion,
            )
        except ImportError:
            return None
        text = str(getNuitkaVersion())
    else:
        result = subprocess.run(
            [python, "-c", "from nuitka.Version import getNuitkaVersion as v; print(v())"],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            return None
        text = result.stdout.strip()
    try:
        return int(text.split(".")[0])
    except ValueError:
        return None


def host_stdlib_allow(python_base_prefix: str = sys.base_prefix) -> str:
    """The ``--archguard-allow`` that accepts the host Python's own ELF files (stdlib
    extension modules, ``libpython``): in an emulated build they are rightly flagged as
    Linux binaries in a macOS build; the harness says so explicitly instead of hiding it."""
    return f"--archguard-allow={python_base_prefix.rstrip('/')}/*:{HOST_STDLIB_REASON}"


@dataclass
class EmulatedBuild:
    """One emulated Nuitka run."""

    returncode: int
    output: str
    """stdout and stderr together."""
    seconds: float
    command: list[str]
    probe: dict[str, Any]
    """What ``probe.py`` recorded (see its docstring); ``{}`` if it never ran."""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    """Every ``file``/``otool``/... call: ``{"tool", "args", "status"}``."""

    @property
    def premise(self) -> dict[str, Any]:
        return dict(self.probe.get("premise") or {})

    @property
    def modules(self) -> dict[str, dict[str, Any]]:
        """Nuitka's complete module set: name -> ``{"file", "kind"}``."""
        return dict(self.probe.get("modules") or {})

    @property
    def dlls(self) -> list[dict[str, Any]]:
        """The early DLL detection's entry points (Nuitka 4.x), as ``onDllTags`` saw them."""
        return list(self.probe.get("dlls") or [])

    @property
    def reached_scons(self) -> bool:
        """Nothing stopped the build before Scons: the probe did, as the last step."""
        return (
            self.returncode == PROBE_STOP_EXIT
            and self.probe.get("stage") == "before-scons"
            and PROBE_STOP_MESSAGE in self.output
        )

    @property
    def stopped_by_archguard(self) -> bool:
        return (
            self.returncode not in (0, PROBE_STOP_EXIT)
            and ARCHGUARD_STOP_MESSAGE in self.output
            and self.probe.get("stage") != "before-scons"
        )

    def tools_called(self, tool: str) -> list[list[str]]:
        return [call["args"] for call in self.tool_calls if call["tool"] == tool]

    def describe(self) -> str:
        """The command and the output, for assertion messages."""
        return f"$ {shlex.join(self.command)}\n(exit {self.returncode})\n{self.output}"


def assert_premise(result: EmulatedBuild, target_arch: str, host_arch: str = "arm64") -> None:
    """Nuitka ran its macOS paths for ``target_arch`` on a ``host_arch`` Mac, ran the early
    DLL detection (4.x), called no tool the harness cannot emulate and printed no traceback.
    Say it first in a test, so the test reads: premise, then behaviour."""
    premise = result.premise
    assert premise.get("is_macos") is True, result.describe()
    assert premise.get("sys_platform") == "darwin", result.describe()
    assert premise.get("architecture") == host_arch, result.describe()
    assert premise.get("macos_target_arch") == target_arch, result.describe()
    # The early DLL detection runs on Nuitka 4.x unless the preflight stopped the build as
    # the plugins loaded, before it (the probe then records the premise at exit).
    preflight_stop = result.probe.get("stage") == "stopped-as-plugins-loaded"
    if int(str(premise.get("nuitka_version") or "0").split(".")[0]) >= 4 and not preflight_stop:
        assert result.tools_called("otool"), "no early DLL detection:\n" + result.describe()
    for tool in tools.FAILING_TOOLS:
        assert not result.tools_called(tool), f"{tool} was called:\n{result.describe()}"
    assert "Traceback" not in result.output, result.describe()


def assert_stopped_by_archguard(result: EmulatedBuild) -> None:
    """archguard stopped the build before the C compilation (so the probe never did)."""
    assert result.stopped_by_archguard, result.describe()
    assert not result.reached_scons, result.describe()


def assert_built_with(result: EmulatedBuild, module: str, site: Path) -> None:
    """The build went on to the C compilation without an archguard error, with ``module``
    as an extension module taken from ``site``."""
    assert result.reached_scons, result.describe()
    assert "error[" not in result.output, result.describe()
    found = result.modules.get(module)
    assert found is not None, sorted(result.modules)
    assert found["kind"] == "extension"
    assert Path(found["file"]).parent == site


def macos_site(specs: Sequence[str], platform_tag: str) -> Path:
    """A cached ``pip install --target`` folder of real macOS wheels (``tests/realwheels``),
    e.g. ``macos_site(["cffi==1.17.1"], "macosx_11_0_arm64")``; skips the test when PyPI
    cannot be reached and the cache does not have them."""
    import pytest

    from tests import realwheels

    try:
        return realwheels.installed_target(list(specs), platform_tag)
    except realwheels.NetworkUnavailable as error:
        pytest.skip(f"cannot download wheels: {error}")


def _write_shims(folder: Path, python: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for tool in tools.TOOLS:
        shim = folder / tool
        shim.write_text(
            f'#!/bin/sh\nexec {shlex.quote(python)} {shlex.quote(str(TOOLS))} {tool} "$@"\n'
        )
        shim.chmod(0o755)


def _read_json_lines(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def build(
    workdir: Path,
    program: str,
    site: Sequence[Path],
    *,
    target_arch: Optional[str] = None,
    host_arch: str = "arm64",
    plugin: bool = True,
    extra: Sequence[str] = (),
    deployment_target: str = "10.9",
    allow_host_stdlib: bool = True,
    python: str = sys.executable,
    timeout: float = BUILD_TIMEOUT,
    check_premise: bool = True,
) -> EmulatedBuild:
    """Run ``python -m nuitka`` (standalone) on ``program`` as on a Mac, up to Scons.

    ``site``: folders put on ``PYTHONPATH`` (e.g. ``pip install --target`` trees of macOS
    wheels). ``target_arch``: ``--macos-target-arch`` (``None``: not passed, i.e. native).
    ``host_arch``: the Mac's arch, ``arm64`` or ``x86_64``. ``plugin``: add the archguard
    plugin, allowing the host's own stdlib ELF files (``allow_host_stdlib``, see
    :func:`host_stdlib_allow`). ``deployment_target``: the Python's
    ``MACOSX_DEPLOYMENT_TARGET`` (python.org's universal2 3.11 has 10.9). ``extra``: more
    Nuitka options. ``python``: the interpreter with Nuitka (another venv's, e.g. Nuitka 2.x).

    Raises :class:`EmulationBroken` if Nuitka did not see macOS and the expected arch
    (``check_premise=False``: not checked, for a build Nuitka refuses before any plugin).
    """
    from nuitka_archguard import plugin_path

    python = os.path.abspath(python)  # the build runs in workdir; a venv's symlink is kept
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "prog.py").write_text(program)
    bin_dir = workdir / "emulated-bin"
    _write_shims(bin_dir, python)
    probe_file = workdir / "probe.json"
    tool_log = workdir / "tools.jsonl"
    for stale in (probe_file, tool_log):
        stale.unlink(missing_ok=True)

    major = nuitka_major(python)
    if major is None:
        raise EmulationBroken(f"{python} has no Nuitka")
    standalone = "--mode=standalone" if major >= 4 else "--standalone"
    base_prefix = sys.base_prefix if python == sys.executable else _base_prefix(python)
    options = [
        standalone,
        "--static-libpython=no",
        f"--output-dir={workdir / 'out'}",
        "--assume-yes-for-downloads",
    ]
    if plugin:
        options.append(f"--user-plugin={plugin_path()}")
        if allow_host_stdlib:
            options.append(host_stdlib_allow(base_prefix))
    options.append(f"--user-plugin={PROBE}")
    if target_arch is not None:
        options.append(f"--macos-target-arch={target_arch}")
    command = [python, str(LAUNCHER), "-m", "nuitka", *options, *extra, "prog.py"]

    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHGUARD_EMUL_")}
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(str(p) for p in site),
            "PATH": os.pathsep.join([str(bin_dir), os.path.dirname(python), env.get("PATH", "")]),
            launcher.ENV_ARCH: host_arch,
            launcher.ENV_DEPLOYMENT_TARGET: deployment_target,
            tools.ENV_BIN_DIR: str(bin_dir),
            tools.ENV_TOOL_LOG: str(tool_log),
            "ARCHGUARD_EMUL_PROBE": str(probe_file),
        }
    )
    start = time.monotonic()
    result = subprocess.run(
        command,
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    seconds = time.monotonic() - start
    probe = json.loads(probe_file.read_text()) if probe_file.is_file() else {}
    done = EmulatedBuild(
        returncode=result.returncode,
        output=result.stdout + result.stderr,
        seconds=seconds,
        command=command,
        probe=probe,
        tool_calls=_read_json_lines(tool_log),
    )
    if check_premise:
        _check_premise(done, host_arch if target_arch is None else target_arch)
    return done


def _base_prefix(python: str) -> str:
    result = subprocess.run(
        [python, "-c", "import sys; print(sys.base_prefix)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def _check_premise(done: EmulatedBuild, target_arch: str) -> None:
    premise = done.premise
    wanted = {"is_macos": True, "sys_platform": "darwin", "macos_target_arch": target_arch}
    wrong = {k: premise.get(k) for k, v in wanted.items() if premise.get(k) != v}
    if not premise or wrong:
        raise EmulationBroken(
            f"Nuitka did not run as on macOS for {target_arch} (wanted {wanted}, got "
            f"{wrong or premise or 'no probe output'}):\n{done.describe()}"
        )
