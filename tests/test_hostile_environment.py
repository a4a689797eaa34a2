"""Bad environments: stdout closed or full, cwd deleted, ASCII locale, permissions."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nuitka_archguard.check.advice import fix_for
from nuitka_archguard.target import parse_target

# -- bad environments: stdout closed or full, cwd deleted, ascii ---------------------------------


def _shell(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PY": sys.executable}
    return subprocess.run(["/bin/sh", "-c", command], cwd=cwd, env=env, capture_output=True,
                          text=True, errors="backslashreplace", timeout=60)  # fmt: skip


_ARCHGUARD = '"$PY" -m nuitka_archguard'
_ODD_NAME = '"$(printf "caf\\303\\251\\033")"'
ENVIRONMENT_CASES = {
    # case: (shell command, exit status, what stderr says)
    "inspect-full": (f"{_ARCHGUARD} inspect /bin/sh > /dev/full", 2, "No space left on device"),
    "scan-full": (f"{_ARCHGUARD} scan /bin/sh > /dev/full", 2, "No space left on device"),
    "inspect-closed": (f"{_ARCHGUARD} inspect /bin/sh >&-", 2, "the output stream is closed"),
    "scan-closed": (f"{_ARCHGUARD} scan /bin/sh >&-", 2, "the output stream is closed"),
    "inspect-head-c0": (
        f"{_ARCHGUARD} inspect /bin/sh /bin/ls /bin/cat > fifo & head -c0 < fifo; wait $!",
        0,
        "",
    ),
    "scan-deleted-cwd": (
        f"mkdir gone && cd gone && rmdir ../gone && {_ARCHGUARD} scan /bin/sh",
        2,
        "cannot use the current directory",
    ),
    "scan-ascii": (
        f"PYTHONIOENCODING=ascii {_ARCHGUARD} scan --target linux-aarch64 {_ODD_NAME}",
        1,
        "",
    ),
    "inspect-ascii": (f"PYTHONIOENCODING=ascii {_ARCHGUARD} inspect {_ODD_NAME}", 0, ""),
}


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("case", sorted(ENVIRONMENT_CASES))
def test_bad_environment_case(case: str, tmp_path: Path) -> None:
    command, status, message = ENVIRONMENT_CASES[case]
    shutil.copy("/bin/sh", tmp_path / "caf\u00e9\x1b")
    os.mkfifo(tmp_path / "fifo")
    result = _shell(command, tmp_path)
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert message in result.stderr
    if message:
        assert result.stderr.count("\n") == 1
    assert "\x1b" not in result.stdout + result.stderr


def test_permission_denied_is_said_as_such() -> None:
    target = parse_target("linux-x86_64")
    fix = fix_for("unreadable-binary", None, target, path="/x/y.so",
                  reason="y.so cannot be checked: Permission denied")  # fmt: skip
    assert fix.startswith("y.so cannot be read (Permission denied)")
    assert "corrupt" not in fix
