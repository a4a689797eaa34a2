"""Big honest binaries are checked, not "unreadable" (issue 21): pyarrow's musllinux
``libarrow.so`` (a 2.5 MB dynamic string table), ``arrow.dll`` and ``llvmlite.dll`` (PE
directories deep inside large deflated members), each wheel scanned against its own tag,
in place (zip members) and unpacked (files).

Pinned in tests/realwheels.py (``BUDGET_PINS``), downloaded once into the cache.
"""

from __future__ import annotations

import pytest

from nuitka_archguard.check.policy import Code
from nuitka_archguard.check.scan import scan
from tests import realwheels

pytestmark = pytest.mark.realwheels

CASES = [
    ("pyarrow", "26.0.1", "musllinux_1_2_x86_64", "linux-musl-x86_64", "libarrow.so.2600"),
    ("pyarrow", "26.0.1", "win_amd64", "windows-amd64", "arrow.dll"),
    ("llvmlite", "0.50.0", "win_amd64", "windows-amd64", "llvmlite.dll"),
]


@pytest.mark.parametrize(("project", "version", "platform", "target", "big"), CASES)
@pytest.mark.parametrize("unpacked", [False, True], ids=["in-place", "unpacked"])
def test_big_binaries_are_checked(
    project: str, version: str, platform: str, target: str, big: str, unpacked: bool
) -> None:
    try:
        whl = realwheels.wheel(project, version, platform)
    except realwheels.NetworkUnavailable as error:
        pytest.skip(f"real wheel not cached and PyPI unreachable: {error}")
    root = realwheels.extracted(whl) if unpacked else whl
    report = scan([root], target)
    assert [f for f in report.findings if f.code is Code.UNREADABLE_BINARY] == []
    assert report.errors == [] and report.too_large == 0
    assert not [n for n in report.notes if big in n]
