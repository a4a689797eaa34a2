"""No false stops on popular binary distributions (issue 21): every wheel of the pinned set
(tests/realwheels.py: the readers' PINS, the verdict, payload and budget pins, and the named
broken wheels), scanned against each target its own wheel tags name, has zero errors,
except the wheels that really are broken, each with why and the file that shows it.

Pure wheels (``-any``) name no target; their own test is test_real_payloads.py.
"""

from __future__ import annotations

import pytest

from nuitka_archguard.archs import wheel_archs
from nuitka_archguard.check.policy import Code
from nuitka_archguard.check.scan import scan
from nuitka_archguard.target import Target, parse_target
from tests import realwheels

pytestmark = pytest.mark.realwheels

BROKEN: dict[str, tuple[str, str, Code]] = {
    # wheel file -> (why, the file that shows it, the finding it gets for the universal2 target)
    "llvmlite-0.46.0b1-cp311-cp311-macosx_11_0_universal2.whl": (
        "libllvmlite.dylib holds one architecture; llvmlite loads it through ctypes, which no "
        "binary links, so it is a warning (and the tag's broken promise another)",
        "libllvmlite.dylib",
        Code.ARCH_MISSING,
    ),
    "tokenizers-0.13.3-cp311-cp311-macosx_10_11_universal2.whl": (
        "its only extension module holds one architecture",
        "tokenizers.cpython-311-darwin.so",
        Code.ARCH_MISSING,
    ),
    "safetensors-0.3.3-cp311-cp311-macosx_13_0_universal2.whl": (
        "its only extension module holds one architecture",
        "_safetensors_rust.cpython-311-darwin.so",
        Code.ARCH_MISSING,
    ),
    realwheels.BROKEN_PINS[3].filename: (
        "the libraries in psycopg2/.dylibs, which _psycopg links, are x86_64 only",
        "libpq.5.14.dylib",
        Code.ARCH_MISSING,
    ),
}

PINNED = [
    pin
    for pin in dict.fromkeys(
        (*realwheels.PINS, *realwheels.VERDICT_PINS, *realwheels.PAYLOAD_PINS,
         *realwheels.BUDGET_PINS, *realwheels.BROKEN_PINS)
    )
    if not pin.filename.endswith("-any.whl")
]  # fmt: skip


def own_targets(filename: str) -> list[Target]:
    """One target per platform and archs the wheel's tags name (orjson's three macOS tags
    are three targets; psycopg2's intel and x86_64 tags are one)."""
    platforms = filename[: -len(".whl")].split("-")[-1].split(".")
    found: dict[tuple[str, frozenset[str]], Target] = {}
    for tag in platforms:
        if wheel_archs(tag) is None:
            continue
        target = parse_target(tag)
        found.setdefault((target.platform, target.archs), target)
    return list(found.values())


@pytest.mark.parametrize("pin", PINNED, ids=[p.filename for p in PINNED])
def test_no_error_against_its_own_tags(pin: realwheels.Pin) -> None:
    try:
        whl = realwheels.wheels([pin])[0]
    except realwheels.NetworkUnavailable as error:
        pytest.skip(f"real wheel not cached and PyPI unreachable: {error}")
    targets = own_targets(pin.filename)
    assert targets, pin.filename
    broken = BROKEN.get(pin.filename)
    for target in targets:
        report = scan([whl], target)
        if broken is not None and target.is_universal2:
            why, culprit, code = broken
            hits = [f for f in report.findings if f.code is code and f.path.endswith(culprit)]
            assert hits, f"{pin.filename}: expected {code.value} on {culprit} ({why})"
            continue
        assert report.errors == [], (pin.filename, target.name, [f.message for f in report.errors])


def test_the_broken_list_is_pinned() -> None:
    assert set(BROKEN) == {pin.filename for pin in realwheels.BROKEN_PINS}
