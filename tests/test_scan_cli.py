"""`nuitka-archguard scan`: exit codes, formats, pyproject settings, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nuitka_archguard.check.config import Config, ConfigError, load_config, resolve_target
from nuitka_archguard.cli.main import main
from tests.envbuild import ARM, X86, seed_like


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(["scan", *args])
    except SystemExit as exit:  # argparse usage errors
        code = int(exit.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def _empty_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)


def test_exit_1_with_an_error_and_0_when_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"
    seed_like(site)
    code, out, _ = run([str(site), "--target", "macos-x86_64"], capsys)
    assert code == 1
    assert "cffi 1.17.1 (wheel cp311-cp311-macosx_11_0_arm64, installed by pip)" in out
    code, out, _ = run([str(site), "--target", "macos-arm64"], capsys)
    assert code == 0, out


def test_json_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed_like(tmp_path / "site")
    code, out, _ = run([str(tmp_path / "site"), "--target=macos-x86_64", "--format=json"], capsys)
    data = json.loads(out)
    assert code == 1 and data["exit_code"] == 1
    assert data["summary"]["errors"] == 1
    assert data["findings"][0]["distribution"]["name"] == "cffi"


def test_github_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed_like(tmp_path / "site")
    code, out, _ = run([str(tmp_path / "site"), "--target", "macos-x86_64", "--format", "github"],
                       capsys)  # fmt: skip
    assert code == 1
    (line,) = out.splitlines()
    assert line.startswith("::error file=") and "_cffi_backend" in line


def test_allow_flag_and_min_os_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "site"
    seed_like(site)
    code, out, _ = run([str(site), "--target", "macos-x86_64", "--allow", "cffi:later"], capsys)
    assert code == 0 and "allowed[arch-missing]" in out
    late = tmp_path / "late"
    late.mkdir()
    (late / "_l.abi3.so").write_bytes(X86)  # needs 10.9
    assert run([str(late), "--target", "macos-x86_64", "--min-os", "10.6"], capsys)[0] == 0
    code, out, _ = run(
        [str(late), "--target", "macos-x86_64", "--min-os", "10.6", "--strict-min-os"], capsys
    )
    assert code == 1 and "min-os-too-new" in out


@pytest.mark.parametrize(
    "args",
    [
        ["--target", "amiga"],
        ["--target", "linux-x86_64", "--min-os", "10.13"],
        ["--format", "xml"],
        ["--bogus"],
        ["--target", "macos-x86_64", "--min-os", "banana"],
    ],
)
def test_usage_errors_exit_2_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, out, err = run([str(tmp_path), *args], capsys)
    assert code == 2
    assert "Traceback" not in out + err
    assert err.strip()


def test_unreadable_paths_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run([str(tmp_path / "missing"), "--target", "macos-x86_64"], capsys)
    assert code == 2 and "missing" in err and "No such file" in err
    bad = tmp_path / "bad-1.0-py3-none-any.whl"
    bad.write_bytes(b"garbage")
    code, _, err = run([str(bad), "--target", "macos-x86_64"], capsys)
    assert code == 2 and "not a readable wheel" in err


def test_pyproject_settings_and_flags_override_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"
    seed_like(site)
    Path("pyproject.toml").write_text(
        '[tool.archguard]\ntarget = "macos-x86_64"\nallow = ["cffi:own x86_64 venv"]\n'
    )
    code, out, _ = run([str(site)], capsys)
    assert code == 0 and "own x86_64 venv" in out and "target macos-x86_64" in out
    code, out, _ = run([str(site), "--target", "macos-arm64"], capsys)
    assert code == 0 and "target macos-arm64" in out


def test_a_broken_pyproject_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("pyproject.toml").write_text("[tool.archguard]\ntarget = \n")
    code, _, err = run([str(tmp_path)], capsys)
    assert code == 2 and "invalid TOML" in err


def test_config_reading(tmp_path: Path) -> None:
    assert load_config(tmp_path) == Config()
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert load_config(tmp_path) == Config()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.archguard]\nallow = ["a", "b:c"]\ntarget = "macos-universal2"\n'
        'min-os = "10.13"\nstrict-min-os = true\n'
    )
    config = load_config(tmp_path)
    assert config.allow == ("a", "b:c") and config.target == "macos-universal2"
    assert config.min_os == "10.13" and config.strict_min_os is True
    for bad in ("min-os = 10.10", "allow = [1]", "strict-min-os = 'yes'", "colour = 'red'"):
        (tmp_path / "pyproject.toml").write_text(f"[tool.archguard]\n{bad}\n")
        with pytest.raises(ConfigError):
            load_config(tmp_path)


def test_target_precedence() -> None:
    config = Config(target="macos-universal2", min_os="10.13")
    assert resolve_target(None, None, config).name == "macos-universal2"
    assert str(resolve_target(None, None, config).min_os) == "10.13"
    assert str(resolve_target("macos-x86_64", "10.15", config).min_os) == "10.15"
    # a wheel tag carries its own minimum: the file's min-os does not replace it
    assert str(resolve_target("macosx_10_9_x86_64", None, config).min_os) == "10.9"
    # the file's min-os is for macOS only: a Linux target from the command line ignores it
    assert resolve_target("linux-x86_64", None, config).min_os is None


def test_strict_min_os_from_pyproject(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    late = tmp_path / "late"
    late.mkdir()
    (late / "_l.abi3.so").write_bytes(X86)
    Path("pyproject.toml").write_text(
        '[tool.archguard]\ntarget = "macos-x86_64"\nmin-os = "10.6"\nstrict-min-os = true\n'
    )
    assert run([str(late)], capsys)[0] == 1


def test_notes_go_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if sys.platform == "win32":
        pytest.skip("symlinks")
    (tmp_path / "data.bin").symlink_to(tmp_path / "nowhere")
    (tmp_path / "x.so").write_bytes(ARM)
    code, _, err = run([str(tmp_path), "--target", "macos-arm64"], capsys)
    assert code == 0 and "note:" in err and "dangling symlink" in err


def test_the_installed_command_in_a_c_locale(tmp_path: Path) -> None:
    name = b"caf\xe9_\xc3\xa9.so"
    import os

    with open(os.path.join(os.fsencode(tmp_path), name), "wb") as handle:
        handle.write(ARM)
    result = subprocess.run(
        [sys.executable, "-m", "nuitka_archguard", "scan", str(tmp_path), "--target",
         "macos-x86_64"],
        capture_output=True,
        env={**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONIOENCODING": "ascii"},
    )  # fmt: skip
    assert result.returncode == 1
    assert b"Traceback" not in result.stdout + result.stderr
    assert b"caf\\xe9_" in result.stdout


@pytest.mark.parametrize(
    ("table", "what"),
    [('target = "macos-sparc"', "target"), ('target = "macos-x86_64"\nmin-os = "ten"', "min-os")],
)
def test_a_bad_target_in_pyproject_names_the_file(
    table: str, what: str, capsys: pytest.CaptureFixture[str]
) -> None:
    Path("pyproject.toml").write_text(f"[tool.archguard]\n{table}\n")
    code, out, err = run(["scan", "."], capsys)
    assert code == 2 and out == ""
    where = str(Path("pyproject.toml").resolve())
    assert err.startswith(f"nuitka-archguard: error: {where}: [tool.archguard] {what}: "), err
    assert err.count("\n") == 1
    # The same value typed on the command line is the option's error, not the file's.
    code, _, err = run(["scan", ".", "--target", "macos-sparc"], capsys)
    assert code == 2 and "pyproject.toml" not in err
