"""report: the text reads like a compiler error; GitHub lines are escaped by GitHub's rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from nuitka_archguard.binaries import BinaryFormat
from nuitka_archguard.check.ownership import Distribution
from nuitka_archguard.check.policy import Code, Finding, Severity
from nuitka_archguard.check.report import (
    FILES_SHOWN,
    describe_distribution,
    render_github,
    render_text,
)
from nuitka_archguard.check.scan import ScanReport, scan
from nuitka_archguard.target import parse_target
from tests.envbuild import seed_like

CFFI = Distribution("cffi", "1.17.1", "pip", "pip", ("cp311-cp311-macosx_11_0_arm64",))


def finding(**changes: object) -> Finding:
    values: dict[str, object] = {
        "severity": Severity.ERROR,
        "code": Code.ARCH_MISSING,
        "path": "/env/site-packages/_cffi_backend.cpython-311-darwin.so",
        "format": BinaryFormat.MACHO,
        "archs": ("arm64",),
        "required_archs": ("x86_64",),
        "message": "extension module _cffi_backend.cpython-311-darwin.so has only arm64",
        "fix": "build in a dedicated x86_64 environment:\n  arch -x86_64 python3 -m venv v",
        "distribution": CFFI,
        "needed_by": ("cryptography",),
        "module": "_cffi_backend",
    }
    values.update(changes)
    return Finding(**values)  # type: ignore[arg-type]


def report_of(*findings: Finding) -> ScanReport:
    return ScanReport(
        target=parse_target("macos-x86_64"), findings=list(findings), files_scanned=10, binaries=3
    )


@pytest.mark.parametrize(
    ("dist", "text"),
    [
        (CFFI, "cffi 1.17.1 (wheel cp311-cp311-macosx_11_0_arm64, installed by pip)"),
        (
            Distribution("x", "1", "pip", "pip", ("cp311-cp311-linux_x86_64",), True),
            "x 1 (wheel cp311-cp311-linux_x86_64, built from source, installed by pip)",
        ),
        (
            Distribution(
                "numpy", "1.26.4", "conda", "conda", channel="conda-forge", subdir="osx-arm64"
            ),
            "numpy 1.26.4 (conda package from conda-forge/osx-arm64)",
        ),
        (Distribution("openssl@3", "3.3.2", "homebrew"), "openssl@3 3.3.2 (Homebrew formula)"),
        (Distribution("numpy", None, "directory"), "numpy (folder without package metadata)"),
        (None, "files that no installed package claims"),
        (
            Distribution("w", "1", "pip", None, ("cp311-cp311-macosx_11_0_arm64",)),
            "w 1 (wheel cp311-cp311-macosx_11_0_arm64, wheel file)",
        ),
        (  # installed, but its .dist-info has no INSTALLER: not a "wheel file"
            Distribution("i", "1", "pip", None, (), location="/venv/site/i-1.dist-info"),
            "i 1 (installed)",
        ),
    ],
)
def test_distribution_headers(dist: Distribution, text: str) -> None:
    assert describe_distribution(dist) == text


def test_text_has_the_package_the_file_what_it_has_needs_who_needs_it_and_the_fix() -> None:
    text = render_text(report_of(finding()))
    lines = text.splitlines()
    assert lines[0] == "cffi 1.17.1 (wheel cp311-cp311-macosx_11_0_arm64, installed by pip)"
    assert (
        lines[1] == "  error[arch-missing]: /env/site-packages/_cffi_backend.cpython-311-darwin.so"
    )
    assert "    has:        arm64" in lines
    assert "    needs:      x86_64 for macos-x86_64" in lines
    assert "    note:       needed by cryptography" in lines
    assert "    module:     _cffi_backend" in lines
    assert "    fix:        build in a dedicated x86_64 environment:" in lines
    assert "                  arch -x86_64 python3 -m venv v" in lines
    assert lines[-1].startswith("1 error, 0 warnings in 3 binaries among 10 files")


def test_allowed_findings_say_so_and_do_not_count() -> None:
    text = render_text(report_of(finding(allowed=True, allow_reason="own venv")))
    assert "  allowed[arch-missing]:" in text
    assert "allowed:    by --allow: own venv" in text
    assert "0 errors, 0 warnings (1 allowed)" in text


def test_a_clean_report() -> None:
    text = render_text(report_of())
    assert text.startswith("ok: every binary fits macos-x86_64")
    assert "0 errors, 0 warnings in 3 binaries" in text


def test_github_lines_one_per_finding() -> None:
    warning = finding(severity=Severity.WARNING, code=Code.MIN_OS_TOO_NEW, fix="")
    out = render_github(report_of(finding(), warning)).splitlines()
    assert len(out) == 2
    assert out[0].startswith(
        "::error file=/env/site-packages/_cffi_backend.cpython-311-darwin.so,"
        "title=arch-missing in cffi 1.17.1::"
    )
    assert "(needed by cryptography)%0AFix:%0Abuild in a dedicated" in out[0]
    assert out[1].startswith("::warning file=")


def test_github_escaping() -> None:
    tricky = finding(
        path="/a,b:c/100%.so",
        message="50% done\r\nnext",
        fix="",
        needed_by=(),
        distribution=None,
    )
    (line,) = render_github(report_of(tricky)).splitlines()
    # control characters are shown escaped first (text.shown), then GitHub-escaped
    assert line == "::error file=/a%2Cb%3Ac/100%25.so,title=arch-missing::50%25 done\\r%0Anext"


def test_allowed_findings_become_notices() -> None:
    (line,) = render_github(report_of(finding(allowed=True))).splitlines()
    assert line.startswith("::notice ") and "(allowed)" in line


def test_non_utf8_paths_render(tmp_path: Path) -> None:
    name = b"caf\xe9.so".decode("utf-8", "surrogateescape")
    text = render_text(report_of(finding(path=f"/x/{name}")))
    text.encode("utf-8")
    assert "caf\\xe9.so" in text


def test_real_scan_renders(tmp_path: Path) -> None:
    seed_like(tmp_path)
    report = scan([tmp_path], "macos-x86_64")
    text = render_text(report)
    assert text.splitlines()[0].startswith("cffi 1.17.1 (wheel cp311-cp311-macosx_11_0_arm64")
    assert "note:       needed by cryptography" in text
    (line,) = render_github(report).splitlines()
    assert line.startswith("::error file=")


def test_one_fix_block_per_distribution_with_files_capped() -> None:
    """An arm64 numpy for x86_64: one block with the files under it, not 23 copies of the
    same eight lines; JSON keeps every finding."""
    many = [
        finding(path=f"/env/site-packages/numpy/_m{i:02}.cpython-311-darwin.so", module=None)
        for i in range(23)
    ]
    report = report_of(*many)
    text = render_text(report)
    assert text.count("fix:") == 1 and text.count("error[arch-missing]") == 1
    assert "23 files, for example:" in text
    assert text.count("numpy/_m") == FILES_SHOWN and "and 18 more" in text
    assert len(text.splitlines()) < 20
    assert len(report.to_json()["findings"]) == 23


def test_different_fixes_stay_apart_and_a_single_finding_keeps_its_module() -> None:
    report = report_of(finding(), finding(path="/env/x.so", fix="another fix", module=None))
    text = render_text(report)
    assert text.count("fix:") == 2 and "module:" in text and "for example" not in text
