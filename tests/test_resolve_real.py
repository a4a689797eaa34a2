"""``resolve`` on the real index: the seed's requirements for an x86_64 Mac (facts in
NOTES.md: cryptography 49.0.0-50.0.2 have macOS arm64 wheels only, 48.0.1 is the newest
with a universal2 wheel but needs cffi >= 2, whose x86_64 wheels need macOS 10.15)."""

from __future__ import annotations

import pytest
from packaging.version import Version

from nuitka_archguard.fix.resolve import ResolveError, render_resolution, resolve
from nuitka_archguard.fix.wheels import PythonSpec
from nuitka_archguard.target import parse_target

pytestmark = [pytest.mark.realwheels]


def test_the_seed_for_macos_x86_64_10_9() -> None:
    try:
        result = resolve(
            ["cryptography", "pyOpenSSL"],
            parse_target("macos-x86_64", "10.9"),
            python=PythonSpec("3.11"),
        )
    except ResolveError as error:
        pytest.skip(f"the index cannot be reached: {error}")
    fits = {d.name.lower(): d for d in result.distributions}
    crypto, cffi = fits["cryptography"], fits["cffi"]
    assert result.exit_code == 1 and not result.problems
    assert crypto.newest_fitting == "48.0.1"
    assert crypto.target_version is not None
    assert Version(crypto.target_version) < Version("48")
    assert "49.0.0: macosx_11_0_arm64 only" in crypto.reasons
    assert "50.0.2: macosx_11_0_arm64 only" in crypto.reasons
    assert cffi.target_version == "1.17.1" and cffi.min_os == "10.9"
    assert any(r.startswith("2.1.1: macosx_10_15_x86_64") for r in cffi.reasons)
    assert result.pins["cffi"] == "1.17.1"
    text = render_resolution(result)
    assert "newest with a wheel for the target: 48.0.1, held back" in text
