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


@pytest.mark.parametrize("case", sorted(INVISIBLE_CASES))
def test_invisible_characters_are_escaped_everywhere(case: str, tmp_path: Path) -> None:
    from nuitka_archguard.text import is_printable, shell_quote

    char, escaped = INVISIBLE_CASES[case]
    assert shown(f"a{char}b") == f"a{escaped}b" and is_printable(shown(f"a{char}b"))
    assert shell_quote(f"a{char}b") == "'a?b'"
    folder = tmp_path / "app.dist"
    folder.mkdir()
    (folder / f"x{char}y.cpython-311-darwin.so").write_bytes(synth_macho.thin("arm64", "bundle"))
    scan_args = [sys.executable, "-m", "nuitka_archguard", "scan", str(folder),
                 "--target", "macos-x86_64"]  # fmt: skip
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    for fmt in ("text", "json", "github"):
        result = subprocess.run([*scan_args, "--format", fmt], capture_output=True, env=env)
        assert result.returncode == 1, result.stderr
        out = result.stdout.decode("utf-8")
        assert char not in out and f"x{escaped}y" in (json.loads(out)["findings"][0]["path"]
                                                       if fmt == "json" else out)  # fmt: skip
        if fmt == "github":
            assert len(out.splitlines()) == 1  # str.splitlines breaks on \x0b, \x1c, \u2029
    inspected = subprocess.run(
        [sys.executable, "-m", "nuitka_archguard", "inspect", str(next(folder.iterdir()))],
        capture_output=True, env=env,
    )  # fmt: skip
    assert inspected.returncode == 0 and char not in inspected.stdout.decode("utf-8")
