"""Issue 17 §1: ``fix`` never trusts the replacement wheel pip brings. A wheel that is
another release, whose tags or binaries do not fit, is named with why, and that
distribution is left as it was; a user's pip settings for the options ``fix`` decides
(``PIP_PLATFORM``, ``platform =`` in a pip config) never reach pip."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from nuitka_archguard.cli.main import main
from nuitka_archguard.fix import wheels
from tests import fixwheels
from tests.fixwheels import ext_wheel, install, tree_hash
from tests.synth import macho

X86 = "macos-x86_64"


def _odd_wheel(
    folder: Path,
    *,
    file_tag: str,
    wheel_tag: str,
    arch: str,
    name: str = "fast",
    file_name: str = "fast",
    version: str = "1.0",
) -> Path:
    """A wheel whose file name, WHEEL tag, METADATA name and binary may disagree."""
    minimum = "11.0" if arch == "arm64" else "10.9"
    files = {
        "fast/__init__.py": b"VERSION = '1.0'\n",
        "fast/_speedups.cpython-311-darwin.so": macho.thin(
            arch, "bundle", build_version=("macos", minimum, "14.0")
        ),
    }
    made = fixwheels.make_wheel(folder / "build", name, version, wheel_tag, files)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{file_name}-{version}-{file_tag}.whl"
    shutil.move(str(made), path)
    shutil.rmtree(folder / "build")
    return path


def _env(tmp_path: Path) -> Path:
    env = tmp_path / "env"
    install(ext_wheel(tmp_path / "installed", "fast", "1.0", "arm64"), env)
    return env


def _fix(
    env: Path, index: Path, *extra: str, capsys: pytest.CaptureFixture[str]
) -> tuple[
    int, dict  # type: ignore[type-arg]
]:
    code = main(["fix", str(env), "--no-index", "--find-links", str(index),
                 "--format", "json", *extra])  # fmt: skip
    out = capsys.readouterr().out
    return code, json.loads(out)


def _action(document: dict) -> dict:  # type: ignore[type-arg]
    (action,) = document["results"][0]["plan"]["actions"]
    return dict(action)


def test_a_wheel_named_x86_64_holding_arm64_is_refused_and_the_env_left_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env, index = _env(tmp_path), tmp_path / "index"
    _odd_wheel(index, file_tag="cp311-cp311-macosx_10_9_x86_64",
               wheel_tag="cp311-cp311-macosx_10_9_x86_64", arch="arm64")  # fmt: skip
    before = tree_hash(env)
    code, document = _fix(env, index, "--target", X86, capsys=capsys)
    assert code == 1
    action = _action(document)
    assert action["applies"] is False
    assert "its binaries do not fit macos-x86_64" in action["refusal"]
    assert "fast/_speedups.cpython-311-darwin.so" in action["refusal"]
    assert tree_hash(env) == before


def test_a_wheel_whose_wheel_file_tags_do_not_fit_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env, index = _env(tmp_path), tmp_path / "index"
    _odd_wheel(index, file_tag="cp311-cp311-macosx_10_9_x86_64",
               wheel_tag="cp311-cp311-macosx_11_0_arm64", arch="x86_64")  # fmt: skip
    before = tree_hash(env)
    code, document = _fix(env, index, "--target", X86, capsys=capsys)
    assert code == 1
    refusal = _action(document)["refusal"]
    assert "the tags of its WHEEL file (cp311-cp311-macosx_11_0_arm64)" in refusal
    assert "macosx_10_9_x86_64" in refusal
    assert tree_hash(env) == before


def test_a_wheel_whose_metadata_names_another_release_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The file name says fast 1.0; the dist-info and METADATA say evil 1.0."""
    env, index = _env(tmp_path), tmp_path / "index"
    _odd_wheel(index, file_tag="cp311-cp311-macosx_10_9_x86_64",
               wheel_tag="cp311-cp311-macosx_10_9_x86_64", arch="x86_64", name="evil")  # fmt: skip
    before = tree_hash(env)
    code = main(["fix", str(env), "--no-index", "--find-links", str(index), "--target", X86])
    captured = capsys.readouterr()
    assert code != 0, captured.out
    assert "evil" in captured.out + captured.err
    assert tree_hash(env) == before
    assert not list(env.glob("evil*"))


def test_a_fuse_partner_that_is_arm64_again_is_refused_not_retagged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The installed arm64 files and the wheel's are the same bytes: fusing would keep them
    and retag the WHEEL universal2 over thin binaries."""
    env, index = _env(tmp_path), tmp_path / "index"
    source = tmp_path / "installed" / "fast-1.0-cp311-cp311-macosx_11_0_arm64.whl"
    index.mkdir()
    shutil.copy(source, index / "fast-1.0-cp311-cp311-macosx_10_9_x86_64.whl")
    before = tree_hash(env)
    code, document = _fix(env, index, "--target", "macos-universal2", capsys=capsys)
    assert code == 1
    action = _action(document)
    assert action["applies"] is False
    assert action["refusal"]
    assert tree_hash(env) == before
    wheel = (env / "fast-1.0.dist-info" / "WHEEL").read_text()
    assert "universal2" not in wheel


@pytest.mark.parametrize("how", ["variable", "config file"])
def test_a_users_pip_platform_setting_never_brings_the_wrong_wheel(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    env, index = _env(tmp_path), tmp_path / "index"
    ext_wheel(index, "fast", "1.0", "x86_64")
    ext_wheel(index, "fast", "1.0", "arm64")
    if how == "variable":
        monkeypatch.setenv("PIP_PLATFORM", "macosx_11_0_arm64")
        monkeypatch.setenv("PIP_NO_DEPS", "0")
    else:
        config = tmp_path / "pip.conf"
        config.write_text("[global]\nplatform = macosx_11_0_arm64\n[download]\n"
                          "platform = macosx_11_0_arm64\n")  # fmt: skip
        monkeypatch.setenv("PIP_CONFIG_FILE", str(config))
    code, document = _fix(env, index, "--target", X86, capsys=capsys)
    assert code == 0, document
    assert _action(document)["wheel"] == "fast-1.0-cp311-cp311-macosx_10_9_x86_64.whl"
    assert main(["scan", str(env), "--target", X86]) == 0


def test_the_pip_child_keeps_the_users_index_options_and_drops_the_fixs_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "pip.conf"
    config.write_text(
        "[global]\nindex-url = https://mirror.example/simple\nonly-binary = :none:\n"
        "platform = win32\n[install]\ntarget = /tmp/elsewhere\ntrusted-host = mirror.example\n"
    )
    monkeypatch.setenv("PIP_CONFIG_FILE", str(config))
    monkeypatch.setenv("PIP_TARGET", "/tmp/elsewhere")
    monkeypatch.setenv("PIP_PROXY", "http://proxy.example:3128")
    child = dict(wheels.pip_environment())
    assert "PIP_TARGET" not in child
    assert child["PIP_PROXY"] == "http://proxy.example:3128"
    text = Path(child["PIP_CONFIG_FILE"]).read_text()
    assert "index-url = https://mirror.example/simple" in text
    assert "trusted-host = mirror.example" in text
    assert "win32" not in text and "/tmp/elsewhere" not in text and ":none:" not in text
    assert os.path.isfile(child["PIP_CONFIG_FILE"])
