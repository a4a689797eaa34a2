"""Control and invisible characters never reach the output raw."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nuitka_archguard.check.scan import scan
from nuitka_archguard.text import shown
from tests.hostile.common import run_with_timeout
from tests.synth import macho as synth_macho

# -- control characters in names ----------------------------------------------------------------


def test_control_characters_never_reach_notes_raw(tmp_path: Path) -> None:
    for name in ("a\nb.so", "c\rd.so", "e\x1b[31mf.so", "g\x85h.so", "i\u202ej.so"):
        os.mkfifo(tmp_path / name)
    report = run_with_timeout(lambda: scan([str(tmp_path)], "linux-x86_64"), 10)
    assert len(report.notes) == 5
    for note in report.notes:
        assert note == shown(note)
        assert re.search(r"\\n|\\r|\\x1b|\\x85|\\u202e", note)


# -- every character that is not printable, not only a list of them (redscan) ----------------

# Characters a list of C0/C1/bidi-override ranges missed: bidi *marks*, zero-width and tag
# characters, other spaces, vertical tab/form feed/separators (str.splitlines breaks on some).
INVISIBLE_CASES = {
    "rlm": ("\u200f", "\\u200f"),
    "lrm": ("\u200e", "\\u200e"),
    "arabic-letter-mark": ("\u061c", "\\u061c"),
    "zero-width-space": ("\u200b", "\\u200b"),
    "word-joiner": ("\u2060", "\\u2060"),
    "soft-hyphen": ("\u00ad", "\\xad"),
    "no-break-space": ("\u00a0", "\\xa0"),
    "tag-letter": ("\U000e0041", "\\U000e0041"),
    "private-use": ("\ue000", "\\ue000"),
    "vertical-tab": ("\x0b", "\\x0b"),
    "file-separator": ("\x1c", "\\x1c"),
    "paragraph-separator": ("\u2029", "\\u2029"),
    "interlinear-anchor": ("\ufff9", "\\ufff9"),
    "c1-csi": ("\x9b", "\\x9b"),  # JSON encoders leave C1 raw: a terminal's CSI
    "delete": ("\x7f", "\\x7f"),
}


def _invisible_name(char: str) -> str:
    return f"x{char}y.cpython-311-darwin.so"


@pytest.fixture(scope="module")
def invisible_outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """What the real command prints for one folder holding a file for every case: scanned once
    per format and inspected once, shared by the cases (a process per case and format cost
    ~11 s of the quick tier; each case still checks its own file in every output)."""
    folder = tmp_path_factory.mktemp("invisible") / "app.dist"
    folder.mkdir()
    for char, _ in INVISIBLE_CASES.values():
        (folder / _invisible_name(char)).write_bytes(synth_macho.thin("arm64", "bundle"))
    command = [sys.executable, "-m", "nuitka_archguard"]
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    outputs: dict[str, str] = {}
    for fmt in ("text", "json", "github"):
        result = subprocess.run(
            [*command, "scan", str(folder), "--target", "macos-x86_64", "--format", fmt],
            capture_output=True, env=env,
        )  # fmt: skip
        assert result.returncode == 1, result.stderr
        outputs[fmt] = result.stdout.decode("utf-8")
    files = [str(path) for path in sorted(folder.iterdir())]
    inspected = subprocess.run([*command, "inspect", *files], capture_output=True, env=env)
    assert inspected.returncode == 0, inspected.stderr
    outputs["inspect"] = inspected.stdout.decode("utf-8")
    return outputs


@pytest.mark.parametrize("case", sorted(INVISIBLE_CASES))
def test_invisible_characters_are_escaped_everywhere(
    case: str, invisible_outputs: dict[str, str]
) -> None:
    from nuitka_archguard.text import is_printable, shell_quote

    char, escaped = INVISIBLE_CASES[case]
    assert shown(f"a{char}b") == f"a{escaped}b" and is_printable(shown(f"a{char}b"))
    assert shell_quote(f"a{char}b") == "'a?b'"
    mine = f"x{escaped}y"
    for fmt, out in invisible_outputs.items():
        assert char not in out, fmt
        assert fmt == "json" or mine in out, (fmt, out)
    findings = json.loads(invisible_outputs["json"])["findings"]
    assert len(findings) == len(INVISIBLE_CASES)
    assert [finding["path"] for finding in findings if mine in finding["path"]], findings
    # One line per finding: str.splitlines breaks on \x0b, \x1c, \u2029 if one is left raw.
    lines = invisible_outputs["github"].splitlines()
    assert len(lines) == len(INVISIBLE_CASES) and all(line.startswith("::") for line in lines)
    assert len([line for line in lines if mine in line]) == 1
