"""The README's library snippet runs as printed, from the repository root, once the quick
start has left the seed's wheels in ``examples/seed-scenario/build/``; every ``# value``
comment in it is what the line evaluates to. (``realwheels``: the seed's wheels come from
PyPI; the quick start's script is run first when they are missing.)"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "examples" / "seed-scenario" / "build" / "arm64-cffi"


def _snippet() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### The library") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "no python block under 'The library'"
    return match.group(1)


@pytest.mark.realwheels
def test_the_library_snippet_runs_from_the_repository_root(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not (SEED / ".complete").exists():
        subprocess.run(
            [sys.executable, str(ROOT / "examples" / "seed-scenario" / "run.py")],
            check=True, capture_output=True, timeout=900,
        )  # fmt: skip
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {}
    checked = 0
    for line in _snippet().splitlines():
        code, _, comment = line.partition("  # ")
        if not code.strip():
            continue
        try:
            expected = ast.literal_eval(f"({comment})") if comment else None
        except (ValueError, SyntaxError):
            expected = None  # a comment in words, not a value
        if expected is None:
            exec(code, namespace)  # the README's own code
            continue
        value = eval(code, namespace)
        assert value == expected, (line, value)
        checked += 1
    assert checked == 3, checked  # the three lines with a value in their comment
    assert os.path.isfile(str(namespace["ag"].plugin_path()))  # type: ignore[attr-defined]
