"""Issue 17 §3 / issue 18 §3: when ``fix`` needs earlier versions, pip's resolver picks them
together for the target, constrained by what the environment's other distributions require,
so the planned set is consistent; the version offered without ``--allow-version-change`` is
the one the flag installs, and ``--dry-run`` plans what the real run does. Synthesized
wheels served from a local ``--find-links`` folder; pip's real resolver."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nuitka_archguard.cli.main import main
from tests import fixwheels
from tests.fixwheels import ext_wheel, install, tree_hash

X86 = "macos-x86_64"


def _fix(
    env: Path, index: Path, capsys: pytest.CaptureFixture[str], *flags: str
) -> tuple[int, Any]:
    code = main(["fix", str(env), "--target", X86, "--no-index", "--find-links", str(index),
                 "--format", "json", *flags])  # fmt: skip
    return code, json.loads(capsys.readouterr().out)


def _actions(document: Any) -> dict[str, Any]:
    return {a["distribution"]["name"]: a for a in document["results"][0]["plan"]["actions"]}


def _user_not_on_the_index(tmp_path: Path) -> tuple[Path, Path]:
    """fast 2.0 (arm64 only) and the user's own project (pure, not on any index) requiring
    ``fast!=1.5``; the index has fast 1.5 and 1.0 for x86_64. Alone, the newest earlier
    fast is 1.5, which the user's project excludes."""
    env, index = tmp_path / "env", tmp_path / "index"
    install(ext_wheel(tmp_path / "w", "fast", "2.0", "arm64"), env)
    user = fixwheels.make_wheel(
        tmp_path / "w", "user", "1.0", "py3-none-any",
        {"user/__init__.py": b""}, requires=("fast!=1.5",),
    )  # fmt: skip
    install(user, env)
    ext_wheel(index, "fast", "1.5", "x86_64")
    ext_wheel(index, "fast", "1.0", "x86_64")
    return env, index


def test_the_environments_requirements_choose_the_earlier_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The requirer is not on the index (the user's own project): resolving the requirer
    again cannot help, its requirement must constrain the first pick. Before, fix picked
    fast 1.5 alone and then refused it (exit 1)."""
    env, index = _user_not_on_the_index(tmp_path)
    code, document = _fix(env, index, capsys, "--allow-version-change")
    assert code == 0, document
    (action,) = document["results"][0]["plan"]["actions"]
    assert action["new_version"] == "1.0" and action["applies"] is True, action
    assert "fast is required by: user 1.0 (fast!=1.5)" in action["notes"]
    assert "VERSION = '1.0'" in (env / "fast" / "__init__.py").read_text()


def test_the_version_offered_without_the_flag_is_the_one_the_flag_installs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env, index = _user_not_on_the_index(tmp_path)
    before = tree_hash(env)
    code, document = _fix(env, index, capsys)
    assert code == 1
    (action,) = document["results"][0]["plan"]["actions"]
    assert action["applies"] is False and action["new_version"] == "1.0", action
    assert "needs --allow-version-change to go from 2.0 to 1.0" in action["description"]
    assert tree_hash(env) == before


def _pair(tmp_path: Path) -> tuple[Path, Path]:
    """alpha 2.0 and beta 2.0 installed (arm64 only, alpha requires beta>=2). For x86_64:
    alpha 1.5 (requires beta>=1.5) and 1.0 (beta>=1.0); beta 1.5 is arm64 only, 1.0 has
    x86_64. Each alone: alpha 1.5 + beta 1.0, which do not fit together; together: both 1.0."""
    env, index = tmp_path / "env", tmp_path / "index"
    install(ext_wheel(tmp_path / "w", "alpha", "2.0", "arm64", requires=("beta>=2",)), env)
    install(ext_wheel(tmp_path / "w", "beta", "2.0", "arm64"), env)
    ext_wheel(index, "alpha", "1.5", "x86_64", requires=("beta>=1.5",))
    ext_wheel(index, "alpha", "1.0", "x86_64", requires=("beta>=1.0",))
    ext_wheel(index, "beta", "1.5", "arm64")
    ext_wheel(index, "beta", "1.0", "x86_64")
    return env, index


def test_earlier_versions_that_depend_on_each_other_are_resolved_together(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without the flag the plan already names the consistent set (before: alpha 1.5, which
    the real run with the flag then replaced by 1.0)."""
    env, index = _pair(tmp_path)
    code, document = _fix(env, index, capsys)
    assert code == 1
    offered = {name: a["new_version"] for name, a in _actions(document).items()}
    assert offered == {"alpha": "1.0", "beta": "1.0"}


def test_dry_run_plans_the_set_the_real_run_installs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env, index = _pair(tmp_path)
    before = tree_hash(env)
    code, planned = _fix(env, index, capsys, "--allow-version-change", "--dry-run")
    assert code == 0, planned
    assert tree_hash(env) == before
    code, done = _fix(env, index, capsys, "--allow-version-change")
    assert code == 0, done
    for document in (planned, done):
        actions = _actions(document)
        assert {n: a["new_version"] for n, a in actions.items()} == {"alpha": "1.0", "beta": "1.0"}
        assert all(a["applies"] and not a["refusal"] for a in actions.values()), actions
    assert (env / "alpha-1.0.dist-info").is_dir() and (env / "beta-1.0.dist-info").is_dir()


def test_a_distribution_the_set_needs_changes_with_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """fast's earlier version requires ``helper<2`` while helper 2.0 (pure, no finding) is
    installed: the resolved set changes helper too, listed as such."""
    env, index = tmp_path / "env", tmp_path / "index"
    install(ext_wheel(tmp_path / "w", "fast", "2.0", "arm64", requires=("helper",)), env)
    install(fixwheels.pure_wheel(tmp_path / "w", "helper", "2.0"), env)
    ext_wheel(index, "fast", "1.0", "x86_64", requires=("helper<2",))
    fixwheels.pure_wheel(index, "helper", "2.0")
    fixwheels.pure_wheel(index, "helper", "1.9")
    code, document = _fix(env, index, capsys, "--allow-version-change")
    assert code == 0, document
    actions = _actions(document)
    assert actions["fast"]["new_version"] == "1.0"
    assert actions["helper"]["new_version"] == "1.9" and actions["helper"]["applies"] is True
    assert "changed with the others so that every requirement holds" in actions["helper"]["notes"]
    assert (env / "helper-1.9.dist-info").is_dir()


def test_no_consistent_set_is_refused_with_the_conflict_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The user's project requires fast>=2, which has no x86_64 wheel: refused, naming who
    requires what and pip's reason; nothing changes."""
    env, index = tmp_path / "env", tmp_path / "index"
    install(ext_wheel(tmp_path / "w", "fast", "2.0", "arm64"), env)
    user = fixwheels.make_wheel(tmp_path / "w", "user", "1.0", "py3-none-any",
                                {"user/__init__.py": b""}, requires=("fast>=2",))  # fmt: skip
    install(user, env)
    ext_wheel(index, "fast", "1.0", "x86_64")
    before = tree_hash(env)
    code, document = _fix(env, index, capsys, "--allow-version-change")
    assert code == 1
    (action,) = document["results"][0]["plan"]["actions"]
    assert action["applies"] is False
    assert "user 1.0 requires fast>=2, the plan leaves fast 1.0" in action["refusal"]
    assert any("finds no earlier versions that fit together" in n for n in action["notes"])
    assert tree_hash(env) == before
