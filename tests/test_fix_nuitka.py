"""Linux end to end: bcrypt 4.2.0's aarch64 wheel on PYTHONPATH stops an x86_64 Nuitka build;
the command the stop prints fixes the folder; the same build then succeeds and runs."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from nuitka_archguard.cli.main import main
from tests.nuitkabuild import (
    ARM,
    BCRYPT,
    BCRYPT_PROGRAM,
    assert_stopped_early,
    case,
    needs_linux_x86_64_and_nuitka,
    run_build,
    wheel_tree,
)

pytestmark = [pytest.mark.nuitka, pytest.mark.realwheels]
_ = needs_linux_x86_64_and_nuitka  # the autouse fixture, imported to apply here too


@case("fix")
def test_stop_then_fix_then_the_same_build_succeeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = tmp_path / "site"
    shutil.copytree(wheel_tree([BCRYPT], ARM), tree, symlinks=True)

    stopped = run_build(tmp_path / "first", BCRYPT_PROGRAM, [tree])
    assert_stopped_early(stopped)
    match = re.search(r"Fix every offender at once: (\S*nuitka-archguard fix .*)", stopped.output)
    assert match, stopped.output
    command = shlex.split(match.group(1))
    assert command[-1] == str(tree)

    assert main(command[1:]) == 0
    out = capsys.readouterr().out
    assert "replace by bcrypt-4.2.0-cp39-abi3-manylinux_2_17_x86_64" in out, out

    build = run_build(tmp_path / "second", BCRYPT_PROGRAM, [tree])
    assert build.returncode == 0, build.output
    result = build.run()
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("hashed b'$2b$"), result.stdout
