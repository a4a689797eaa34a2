"""scan's advice for a wheel that does not fit, when it asks the index for the target's
wheel of the same release: that release may have none (cryptography 49.0.0-50.0.2 for an
x86_64 Mac). The scan stays offline, so the advice names the ``resolve`` command that asks
the index for the newest version that has one; that command, run, answers it."""

from __future__ import annotations

import contextlib
import io
import shlex
from pathlib import Path

from nuitka_archguard.check.scan import scan
from nuitka_archguard.cli.main import main
from nuitka_archguard.target import parse_target
from tests import fixwheels


def test_the_advice_names_resolve_and_resolve_names_the_newest_fitting_version(
    tmp_path: Path,
) -> None:
    links = tmp_path / "links"
    fixwheels.ext_wheel(links, "alpha", "1.0", "x86_64")
    installed = fixwheels.ext_wheel(links, "alpha", "2.0", "arm64")  # the index has both
    site = tmp_path / "site"
    fixwheels.install(installed, site)
    target = parse_target("macos-x86_64", "10.9")
    (finding,) = scan([str(site)], target).errors
    assert "--platform macosx_10_9_x86_64" in finding.fix
    hint = finding.fix.splitlines()[-2:]
    assert hint[0] == (
        "if alpha 2.0 has no macos-x86_64 wheel, this names the newest version that has one:"
    )
    command = shlex.split(hint[1])
    assert command[:3] == ["nuitka-archguard", "resolve", "alpha"]
    assert command[3:] == ["--target", "macos-x86_64", "--min-os", "10.9", "--python-version",
                           "3.11"]  # fmt: skip
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([*command[1:], "--no-index", "--find-links", str(links)])
    assert code == 1
    text = out.getvalue()
    assert "alpha  newest release 2.0 -> target 1.0" in text
    assert "not for the target: 2.0: macosx_11_0_arm64 only" in text
