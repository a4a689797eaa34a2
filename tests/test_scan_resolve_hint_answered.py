"""Issue 18 §3: ``scan --resolve`` asks the package index (``resolve``'s resolver, pip, nothing
installed) which release of a distribution without a fitting wheel has one for the target,
and the advice names it, with commands that install that release, instead of an install
command that cannot succeed. Without ``--resolve`` the scan stays offline and the advice
names the ``resolve`` command (tests/test_scan_resolve_hint.py). Local ``--find-links``."""

from __future__ import annotations

import contextlib
import io
import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from nuitka_archguard.check.scan import scan
from nuitka_archguard.cli.main import main
from nuitka_archguard.target import parse_target
from tests import fixwheels

X86 = "macos-x86_64"


def _site(tmp_path: Path, *index: tuple[str, str]) -> tuple[Path, Path]:
    """alpha 2.0 (arm64 only) installed with ``pip --target``; the index holds it and
    ``index``'s (version, arch) wheels."""
    links, site = tmp_path / "links", tmp_path / "site"
    fixwheels.install(fixwheels.ext_wheel(links, "alpha", "2.0", "arm64"), site)
    for version, arch in index:
        fixwheels.ext_wheel(links, "alpha", version, arch)
    return site, links


def _scan(site: Path, *flags: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["scan", str(site), "--target", X86, "--resolve", *flags])
    return code, out.getvalue()


def _fix(code_and_json: tuple[int, str]) -> str:
    code, text = code_and_json
    assert code == 1
    document: Any = json.loads(text)
    (finding,) = document["findings"]
    return str(finding["fix"])


def test_the_advice_names_the_newest_release_with_a_wheel_and_its_command_succeeds(
    tmp_path: Path,
) -> None:
    site, links = _site(tmp_path, ("1.0", "x86_64"), ("1.5", "arm64"))
    fix = _fix(_scan(site, "--no-index", "--find-links", str(links), "--format", "json"))
    assert fix.startswith(
        "alpha 2.0 has no macos-x86_64 wheel on the package index; the newest release with "
        "one is 1.0 (alpha-1.0-cp311-cp311-macosx_10_9_x86_64.whl)"
    ), fix
    assert "alpha==2.0" not in fix and "nuitka-archguard resolve" not in fix
    # The install command, as printed (with this index and this Python), installs it.
    (line,) = [x for x in fix.splitlines() if "pip install" in x and "--platform" in x]
    command = shlex.split(line)
    assert command[1:4] == ["-m", "pip", "install"] and command[-1] == "alpha==1.0"
    subprocess.run([sys.executable, *command[1:], "--no-index", "--find-links", str(links)],
                   check=True, capture_output=True)  # fmt: skip
    assert not scan([str(site)], parse_target(X86, "10.9")).errors


def test_the_installed_release_with_a_wheel_on_the_index_is_said_so(tmp_path: Path) -> None:
    site, links = _site(tmp_path, ("2.0", "x86_64"))
    fix = _fix(_scan(site, "--no-index", "--find-links", str(links), "--format", "json"))
    assert fix.startswith(
        "the package index has a macos-x86_64 wheel of alpha 2.0 "
        "(alpha-2.0-cp311-cp311-macosx_10_9_x86_64.whl):"
    ), fix
    assert "alpha==2.0" in fix and "nuitka-archguard resolve" not in fix


def test_no_release_with_a_wheel_says_build_from_source(tmp_path: Path) -> None:
    site, links = _site(tmp_path, ("1.0", "arm64"))
    code, text = _scan(site, "--no-index", "--find-links", str(links))
    assert code == 1
    assert "no release of alpha on the package index has a macos-x86_64 wheel" in text
    assert "pip install --no-binary alpha alpha==2.0" in text
    assert "--platform macosx" not in text


def test_what_the_index_does_not_answer_keeps_the_resolve_command(tmp_path: Path) -> None:
    """An index that holds nothing of alpha: nothing is known, so nothing is claimed."""
    site, _ = _site(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    code, text = _scan(site, "--no-index", "--find-links", str(empty))
    assert code == 1
    assert "nuitka-archguard resolve alpha --target macos-x86_64" in text
    assert "package index" not in text
