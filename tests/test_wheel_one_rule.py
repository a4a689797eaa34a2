"""Issue 20: one wheel-file-name parser and one member-path rule (nuitka_archguard/wheel.py)
for discovery, install, unpack and fuse; the copies used to treat drive letters and colons
differently (``^[A-Za-z]:``, a colon in the first part, the second character)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nuitka_archguard.fix.wheels import Scheme, UnsafePathError, install_wheel
from nuitka_archguard.wheel import leaves_root, member_refusal, parse_name
from tests import fixwheels

OUTSIDE = ["/etc/x", "\\x", "C:/x", "C:x", "c:\\x", "ab:c/x", "a/../../x", "a\\..\\x", ".."]


@pytest.mark.parametrize("path", OUTSIDE)
def test_every_way_out_is_refused_by_the_one_rule(path: str) -> None:
    assert leaves_root(path)
    assert member_refusal(path)


@pytest.mark.parametrize("path", ["fast/__init__.py", "fast-1.0.data/scripts/x", "a..b/c"])
def test_paths_inside_are_taken(path: str) -> None:
    assert not leaves_root(path) and member_refusal(path) == ""


def test_control_characters_are_refused() -> None:
    assert "control characters" in member_refusal("fast/a\nb.py")


@pytest.mark.parametrize("member", ["ab:c/evil.py", "C:evil.py"])
def test_install_refuses_a_colon_in_the_first_part_as_unpack_does(
    tmp_path: Path, member: str
) -> None:
    """install used to let ``ab:c/evil.py`` through (its check knew only one-letter drives)."""
    wheel = fixwheels.make_wheel(
        tmp_path / "w", "fast", "1.0", "py3-none-any", {"fast/__init__.py": b""},
        extra_members={member: b"x"},
    )  # fmt: skip
    site = tmp_path / "site"
    scheme = Scheme(site, site, site / "bin", site, site / "include")
    with pytest.raises(UnsafePathError):
        install_wheel(wheel, scheme, tmp_path / "stage")
    assert not list(tmp_path.rglob("evil*"))


def test_the_one_name_parser() -> None:
    parsed = parse_name("Fast_Lib-1.0-cp311-cp311-macosx_11_0_arm64.whl")
    assert parsed is not None
    assert (parsed.name, parsed.version, parsed.tags) == (
        "fast-lib", "1.0", ("cp311-cp311-macosx_11_0_arm64",),
    )  # fmt: skip
    assert parse_name("fast-1.0.tar.gz") is None
    assert parse_name("not a wheel.whl") is None
