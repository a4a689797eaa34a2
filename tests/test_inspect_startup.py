"""``nuitka-archguard inspect FILE`` starts within 3x ``python -c pass``: it loads neither
argparse (a third of its start-up once), typing, nor shutil/bz2/lzma/shlex. Checked by the
modules a fresh interpreter holds after the call; ``benchmarks/run.py`` has the timing row."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nuitka_archguard.cli.main import main
from tests.synth import elf

HEAVY = ("argparse", "typing", "shutil", "bz2", "lzma", "shlex", "gettext")
if sys.version_info < (3, 10):  # Python 3.9's own importlib.util -> importlib.abc imports typing
    HEAVY = tuple(m for m in HEAVY if m != "typing")


def _modules_after_inspect(*args: str) -> set[str]:
    script = (
        "import contextlib, io, json, sys\n"
        "from nuitka_archguard.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        f"    code = main({list(args)!r})\n"
        "assert code == 0, out.getvalue()\n"
        "sys.stderr.write('MODULES=' + json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert "MODULES=" in result.stderr, result.stderr
    return set(json.loads(result.stderr.rpartition("MODULES=")[2]))


def test_inspect_loads_no_argparse_typing_or_shutil(tmp_path: Path) -> None:
    binary = tmp_path / "lib.so"
    binary.write_bytes(elf.elf("aarch64"))
    for args in (["inspect", str(binary)], ["inspect", "--json", str(binary), str(binary)]):
        modules = _modules_after_inspect(*args)
        assert "nuitka_archguard.binaries.elf" in modules
        assert sorted(m for m in HEAVY if m in modules) == [], args


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_the_short_way_and_argparse_say_the_same(
    tmp_path: Path, extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = tmp_path / "lib.so", tmp_path / "cut.so"
    good.write_bytes(elf.elf("aarch64"))
    bad.write_bytes(elf.elf("aarch64")[:30])
    short = main(["inspect", *extra, str(good), str(bad)]), capsys.readouterr()
    parsed = main(["inspect", *extra, "--", str(good), str(bad)]), capsys.readouterr()
    assert short == parsed and short[0] == 2
    assert "aarch64" in short[1].out and "cut.so" in short[1].err
