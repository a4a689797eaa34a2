"""Issue 17 §3: ``--allow-version-change`` never breaks what the environment requires.
Every installed distribution's ``Requires-Dist`` (markers evaluated for the *target*) is
checked against the environment the plan leaves; a change that breaks one is not done, and
the plan names who requires what."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nuitka_archguard.cli.main import main
from tests import fixwheels
from tests.fixwheels import ext_wheel, install, tree_hash

X86 = "macos-x86_64"


def _env(tmp_path: Path, requirement: str) -> tuple[Path, Path]:
    """fast 2.0 (arm64) and user 1.0 (pure, ``Requires-Dist: requirement``) installed; the
    index has fast only as 1.0 for x86_64."""
    env, index = tmp_path / "env", tmp_path / "index"
    install(ext_wheel(tmp_path / "w", "fast", "2.0", "arm64"), env)
    user = fixwheels.make_wheel(
        tmp_path / "w", "user", "1.0", "py3-none-any",
        {"user/__init__.py": b""}, requires=(requirement,),
    )  # fmt: skip
    install(user, env)
    ext_wheel(index, "fast", "1.0", "x86_64")
    return env, index


def _fix(env: Path, index: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(["fix", str(env), "--target", X86, "--no-index", "--find-links", str(index),
                 "--allow-version-change", "--format", "json"])  # fmt: skip
    return code, json.loads(capsys.readouterr().out)


def test_a_version_change_that_breaks_a_requirement_is_refused_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env, index = _env(tmp_path, "fast>=2")
    before = tree_hash(env)
    code, document = _fix(env, index, capsys)
    assert code == 1
    (action,) = document["results"][0]["plan"]["actions"]
    assert action["applies"] is False
    assert "user 1.0 requires fast>=2, the plan leaves fast 1.0" in action["refusal"]
    assert "fast is required by: user 1.0 (fast>=2)" in action["notes"]
    assert tree_hash(env) == before


def test_markers_are_evaluated_for_the_target_not_this_machine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A requirement only for Linux does not hold back a fix for macOS (the tests run on
    Linux, so this machine's markers would say it applies)."""
    env, index = _env(tmp_path, 'fast>=2; sys_platform == "linux"')
    code, document = _fix(env, index, capsys)
    assert code == 0, document
    (action,) = document["results"][0]["plan"]["actions"]
    assert action["applies"] is True and action["new_version"] == "1.0"
    assert "VERSION = '1.0'" in (env / "fast" / "__init__.py").read_text()


def test_a_requirement_the_change_keeps_is_listed_and_the_change_done(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env, index = _env(tmp_path, "fast>=1")
    code, document = _fix(env, index, capsys)
    assert code == 0, document
    (action,) = document["results"][0]["plan"]["actions"]
    assert "fast is required by: user 1.0 (fast>=1)" in action["notes"]


def test_older_versions_are_resolved_together_and_each_change_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """user 1.0 requires fast>=2, but fast 2.0 has no x86_64 wheel; user 0.9 accepts
    fast>=1: pip's resolver, for the target, changes both."""
    env, index = _env(tmp_path, "fast>=2")
    for version, needs in (("0.9", "fast>=1"), ("1.0", "fast>=2")):
        fixwheels.make_wheel(index, "user", version, "py3-none-any",
                             {"user/__init__.py": f"V = {version!r}\n".encode()},
                             requires=(needs,))  # fmt: skip
    code, document = _fix(env, index, capsys)
    assert code == 0, document
    actions = {a["distribution"]["name"]: a for a in document["results"][0]["plan"]["actions"]}
    assert actions["fast"]["new_version"] == "1.0" and actions["fast"]["applies"] is True
    assert actions["user"]["new_version"] == "0.9" and actions["user"]["applies"] is True
    assert "change version 1.0 -> 0.9" in actions["user"]["description"]
    assert (env / "user-0.9.dist-info").is_dir() and not (env / "user-1.0.dist-info").exists()
    assert "V = '0.9'" in (env / "user" / "__init__.py").read_text()
