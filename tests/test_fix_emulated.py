"""The seed through Nuitka's own macOS code paths (the emulated tier, tests/macos_emulated):
the build stops, the command the stop prints fixes the folder, the same build then passes the
plugin with ``_cffi_backend`` in Nuitka's module set."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from nuitka_archguard.cli.main import main
from tests.macos_emulated import (
    assert_built_with,
    assert_premise,
    assert_stopped_by_archguard,
    build,
    macos_site,
)
from tests.macos_emulated.seed import (
    ARM,
    CFFI,
    CRYPTOGRAPHY,
    SEED_PROGRAM,
    needs_linux_x86_64_and_nuitka,
)

pytestmark = [pytest.mark.macos_emulated, pytest.mark.nuitka, pytest.mark.realwheels]
_ = needs_linux_x86_64_and_nuitka  # the autouse fixture, imported to apply here too


def test_seed_stops_fix_runs_then_the_same_build_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"
    shutil.copytree(macos_site([CFFI, CRYPTOGRAPHY], ARM), site, symlinks=True)

    stopped = build(tmp_path / "first", SEED_PROGRAM, [site], target_arch="x86_64")
    assert_premise(stopped, "x86_64")
    assert_stopped_by_archguard(stopped)
    match = re.search(r"Fix every offender at once: (\S*nuitka-archguard fix .*)", stopped.output)
    assert match, stopped.describe()
    command = shlex.split(match.group(1))
    assert command[0].endswith("nuitka-archguard")  # runs as printed: its full path if need be
    assert command[1:5] == ["fix", "--target", "macos-x86_64", "--min-os"]
    assert command[-1] == str(site)

    assert main(command[1:]) == 0
    out = capsys.readouterr().out
    assert "replace by cffi-1.17.1-cp311-cp311-macosx_10_9_x86_64.whl" in out, out

    passed = build(tmp_path / "second", SEED_PROGRAM, [site], target_arch="x86_64")
    assert_premise(passed, "x86_64")
    assert_built_with(passed, "_cffi_backend", site)
