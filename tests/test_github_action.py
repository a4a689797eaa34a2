"""The GitHub Action (``action.yml``), its steps run as a runner's shell would: each ``run:``
with ``bash -e``, the ``env:`` GitHub would set (``${{ inputs.x }}`` filled in from the
INPUT_* values), ``GITHUB_ACTION_PATH`` at this checkout, and ``GITHUB_ENV`` /
``GITHUB_STEP_SUMMARY`` files. The install step installs this checkout with its dependencies
from the package index, so the end-to-end test is in the ``realwheels`` tier."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nuitka_archguard.cli.summary import markdown
from tests.synth import elf

ROOT = Path(__file__).resolve().parents[1]
yaml = pytest.importorskip("yaml")


def _action() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    return data


def _run_steps(inputs: dict[str, str], runner: Path, cwd: Path) -> tuple[int, str, str]:
    """Run the action's shell steps in order; (exit code of the last, stdout, summary)."""
    action = _action()
    defaults = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    values = {**defaults, **inputs}
    github_env, summary = runner / "github_env", runner / "summary.md"
    github_env.touch()
    summary.touch()
    out, code = "", 0
    for step in action["runs"]["steps"]:
        if "run" not in step:
            continue  # `uses:` steps (setup-python) are GitHub's
        env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        for name, value in (step.get("env") or {}).items():
            env[name] = re.sub(
                r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: values[m.group(1)], str(value)
            )
        for line in github_env.read_text().splitlines():
            key, _, value = line.partition("=")
            env[key] = value
        env.update(
            GITHUB_ACTION_PATH=str(ROOT), RUNNER_TEMP=str(runner), GITHUB_ENV=str(github_env),
            GITHUB_STEP_SUMMARY=str(summary), GITHUB_WORKSPACE=str(cwd),
        )  # fmt: skip
        result = subprocess.run(
            ["bash", "-e", "-c", step["run"]], cwd=cwd, env=env,
            capture_output=True, text=True, timeout=1200,
        )  # fmt: skip
        out += result.stdout
        code = result.returncode
        if code != 0 and "Install" in step.get("name", ""):
            raise AssertionError(result.stderr[-3000:])
    return code, out, summary.read_text(encoding="utf-8")


def test_the_inputs_are_the_documented_ones() -> None:
    action = _action()
    assert set(action["inputs"]) == {"target", "paths", "python-version", "mode", "nuitka-report"}
    assert action["runs"]["using"] == "composite"
    for step in action["runs"]["steps"]:
        if "run" in step:
            assert "${{" not in step["run"], step["name"]  # inputs reach scripts as env only


@pytest.mark.realwheels
def test_the_action_annotates_and_summarises(tmp_path: Path) -> None:
    work = tmp_path / "workspace"
    tree = work / "site"
    tree.mkdir(parents=True)
    (tree / "_fast.cpython-311-aarch64-linux-gnu.so").write_bytes(elf.elf("aarch64"))
    (tree / "libok.so").write_bytes(elf.elf("x86_64"))
    runner = tmp_path / "runner"
    runner.mkdir()
    report = tmp_path / "build-report.json"
    report.write_text(
        json.dumps(
            {"target": {"name": "linux-x86_64"}, "summary": {"errors": 0, "binaries": 3},
             "findings": []}
        )
    )  # fmt: skip

    code, out, summary = _run_steps(
        {"target": "linux-x86_64", "paths": "site\n", "nuitka-report": str(report)}, runner, work
    )
    assert code == 1, out  # an error finding fails the step
    annotations = [line for line in out.splitlines() if line.startswith("::")]
    assert len(annotations) == 1, out
    assert annotations[0].startswith("::error file=site/_fast.cpython-311-aarch64-linux-gnu.so,")
    assert "title=arch-missing" in annotations[0]
    assert "## nuitka-archguard scan: target linux-x86&#95;64" in summary
    assert (
        "| ❌ error | site/&#95;fast.cpython-311-aarch64-linux-gnu.so | arch-missing: " in summary
    )
    assert "## Nuitka build (archguard plugin): target linux-x86&#95;64" in summary

    (runner / "summary.md").unlink()
    code, out, summary = _run_steps(
        {"target": "linux-x86_64", "paths": "site", "mode": "fix-dry-run"}, runner, work
    )
    assert "## nuitka-archguard fix --dry-run" in summary and "````text" in summary


def test_the_summary_escapes_names_from_files() -> None:
    document = {
        "target": {"name": "macos-x86_64"},
        "summary": {"errors": 1, "warnings": 0, "binaries": 1, "files_scanned": 1},
        "findings": [
            {
                "severity": "error", "code": "arch-missing", "path": "a|b<script>`x`\n::error::",
                "archs": ["arm64"], "required_archs": ["x86_64"], "message": "m *bold* [l](u)",
                "fix": "pip install x\nor y", "allowed": False,
                "distribution": {"name": "evil|name", "version": "1.0", "wheel_tags": ["t"]},
            }
        ],
    }  # fmt: skip
    text = markdown(document, "t")
    rows = [line for line in text.splitlines() if line.startswith("| ❌")]
    assert len(rows) == 1 and rows[0].count(" | ") == 5, text
    assert "<script>" not in text and "`x`" not in text and "*bold*" not in text
    assert "\n::" not in text  # a name cannot start a workflow command line
    assert "### evil&#124;name 1.0 (wheel t)" in text
    assert "pip install x<br>or y" in text
