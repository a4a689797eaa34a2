"""Real packages that ship one binary per platform and pick one at run time (issue 21):
scanned against every platform they support, no error, and the summary counts the copies
for other platforms that have a variant for the target.

Pinned in tests/realwheels.py (``PAYLOAD_PINS``), downloaded once into the cache.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nuitka_archguard.check.report import summary_line
from nuitka_archguard.check.scan import scan
from tests import realwheels

pytestmark = pytest.mark.realwheels


def pinned(project: str, version: str, platform: str) -> Path:
    try:
        return realwheels.wheel(project, version, platform)
    except realwheels.NetworkUnavailable as error:
        pytest.skip(f"real wheel not cached and PyPI unreachable: {error}")


ML = "manylinux2014_x86_64"
# (project, version, pip platform of the pin, target, variants counted, other-OS skipped)
CASES = [
    # selenium-manager: linux-x86_64, linux-arm64, macos, windows (.exe): one serves, 3 variants
    *(("selenium", "4.51.0", ML, t, 3, 0)
      for t in ("linux-x86_64", "linux-aarch64", "macos-arm64", "macos-x86_64",
                "windows-amd64")),
    # tkdnd: linux-x64, linux-arm64, osx-arm64, win-x64, win-x86, win-arm64 (+ tcl9 builds);
    # osx-x64 holds no tcl9 build, so macos-x86_64 counts fewer variants
    *(("tkinterdnd2", "0.7.0", ML, t, v, s)
      for t, v, s in (("linux-x86_64", 8, 2), ("linux-aarch64", 8, 2), ("macos-arm64", 8, 2),
                      ("macos-x86_64", 6, 4), ("windows-amd64", 7, 3),
                      ("windows-x86", 7, 3))),
    # WebView2Loader.dll per Windows arch; elsewhere nothing loads these DLLs
    *(("pywebview", "6.2.1", ML, t, 2, 0)
      for t in ("windows-amd64", "windows-x86", "windows-arm64")),
    ("pywebview", "6.2.1", ML, "linux-x86_64", 0, 7),
    ("pywebview", "6.2.1", ML, "macos-arm64", 0, 7),
    # ClrLoader.dll for x86 and amd64
    *(("clr-loader", "0.3.1", ML, t, 1, 0) for t in ("windows-amd64", "windows-x86")),
    ("clr-loader", "0.3.1", ML, "linux-x86_64", 0, 2),
    # attach_x86.dll and run_code_on_dllmain_x86.dll beside their amd64 copies
    ("debugpy", "1.8.22", "win_amd64", "windows-amd64", 2, 0),
    ("debugpy", "1.8.22", "manylinux_2_34_x86_64", "linux-x86_64", 0, 0),
    # the pure wheel: attach_linux_amd64.so, attach.dylib, the Windows helpers
    ("debugpy", "1.8.22", ML, "linux-x86_64", 2, 7),
    ("debugpy", "1.8.22", ML, "macos-arm64", 0, 9),
    ("debugpy", "1.8.22", ML, "macos-x86_64", 0, 9),
    ("debugpy", "1.8.22", ML, "windows-amd64", 3, 1),
]  # fmt: skip


@pytest.mark.parametrize(
    ("project", "version", "platform", "target", "variants", "skipped"),
    CASES,
    ids=[f"{c[0]}-{c[2]}-{c[3]}" for c in CASES],
)
def test_no_error_and_variants_counted(
    project: str, version: str, platform: str, target: str, variants: int, skipped: int
) -> None:
    whl = pinned(project, version, platform)
    report = scan([whl], target)
    assert report.errors == [], [f.message for f in report.errors]
    assert report.variants_for_target == variants
    assert report.skipped_other_os == skipped
    if variants:
        assert (
            f"{variants} binar{'y' if variants == 1 else 'ies'} for other platforms with a "
            "variant for the target" in summary_line(report)
        )
