"""An allowed finding says where the rule that allows it was written: ``[tool.archguard]
allow in FILE`` or the option given (``--allow``, the plugin's ``--archguard-allow``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nuitka_archguard.check.config import Config, load_config
from nuitka_archguard.check.scan import allow_rules
from nuitka_archguard.cli.main import main
from nuitka_archguard.nuitka_plugin.support import merge_settings
from tests.synth import elf


def _project(tmp_path: Path) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "one.so").write_bytes(elf.elf("aarch64"))
    (tmp_path / "pkg" / "two.so").write_bytes(elf.elf("aarch64"))
    (tmp_path / "pyproject.toml").write_text(
        '[tool.archguard]\nallow = ["one.so:vendored, never loaded"]\n', encoding="utf-8"
    )
    return tmp_path


def test_scan_says_which_file_or_option_allowed_each_finding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path)
    monkeypatch.chdir(project)
    args = ["scan", "pkg", "--target", "linux-x86_64", "--allow", "two.so:a test"]
    assert main(args) == 0
    text = capsys.readouterr().out
    pyproject = project / "pyproject.toml"
    assert f"by [tool.archguard] allow in {pyproject}: vendored, never loaded" in text
    assert "by --allow: a test" in text
    assert main([*args, "--format", "json"]) == 0
    findings = json.loads(capsys.readouterr().out)["findings"]
    origins = {Path(f["path"]).name: f["allow_origin"] for f in findings}
    assert origins == {"one.so": f"[tool.archguard] allow in {pyproject}", "two.so": "--allow"}
    assert main([*args, "--format", "github"]) == 0
    notices = capsys.readouterr().out
    assert f"(allowed by [tool.archguard] allow in {pyproject}: vendored" in notices


def test_the_plugin_names_its_own_option_and_the_project_file(tmp_path: Path) -> None:
    project = load_config(_project(tmp_path))
    settings = merge_settings(
        mode=None, allow=["two.so", "one.so:vendored, never loaded"], min_os=None,
        strict_min_os=False, report_path=None, project=project,
    )  # fmt: skip
    where = f"[tool.archguard] allow in {tmp_path / 'pyproject.toml'}"
    assert [(r.pattern, r.origin) for r in settings.allow_rules] == [
        ("one.so", where),  # given twice: the file's rule, once
        ("two.so", "--archguard-allow"),
    ]


def test_rules_without_a_file_name_the_option() -> None:
    rules = allow_rules(Config(allow=("x",)), ["y"], "--allow")
    assert [r.origin for r in rules] == ["--allow", "--allow"]
