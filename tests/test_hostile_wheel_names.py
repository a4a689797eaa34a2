"""Wheels whose file name, dist-info and METADATA disagree, or hold their metadata twice."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from nuitka_archguard.check.scan import scan
from tests.hostile.common import run_with_timeout
from tests.synth import macho as synth_macho

# -- a wheel whose file name, dist-info directory and METADATA disagree (redscan) ------------

# (file name's project, dist-info directory, METADATA Name, METADATA Version) -> readable?
WHEEL_NAME_CASES = {
    "metadata-names-another-project": ("nice", "nice-1.0", "numpy", "1.0", False),
    "metadata-names-another-version": ("nice", "nice-1.0", "nice", "2.0", False),
    "dist-info-names-another-project": ("nice", "numpy-1.0", "nice", "1.0", False),
    "same-after-normalizing": ("Foo_Bar", "foo_bar-1.0.0", "foo.bar", "1.0.0", True),
    "same": ("nice", "nice-1.0", "nice", "1.0", True),
}


@pytest.mark.parametrize("case", sorted(WHEEL_NAME_CASES))
def test_wheel_whose_names_disagree_gets_no_command(case: str, tmp_path: Path) -> None:
    from nuitka_archguard import scan

    project, dist_info, name, version, readable = WHEEL_NAME_CASES[case]
    wheel = tmp_path / f"{project}-1.0-cp311-cp311-macosx_11_0_arm64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("nice/_x.cpython-311-darwin.so", synth_macho.thin("arm64", "bundle"))
        metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n"
        archive.writestr(f"{dist_info}.dist-info/METADATA", metadata)
        archive.writestr(f"{dist_info}.dist-info/WHEEL",
                         "Wheel-Version: 1.0\nTag: cp311-cp311-macosx_11_0_arm64\n")  # fmt: skip
    report = scan([str(wheel)], "macos-x86_64")
    (finding,) = report.errors
    assert finding.distribution is not None
    assert finding.distribution.metadata_ok is readable
    assert ("no command is given" in finding.fix) is not readable
    assert ("numpy" in finding.fix) is False  # never the project the METADATA claims
    if not readable:
        assert finding.distribution.name == project
        assert any("unreadable metadata" in note for note in report.notes), report.notes


def test_repeated_notes_are_counted_not_repeated(tmp_path: Path) -> None:
    for number in range(500):
        os.mkfifo(tmp_path / f"f{number}.so")
    report = run_with_timeout(lambda: scan([str(tmp_path)], "linux-x86_64"), 30)
    assert len(report.notes) == 21
    assert report.notes[-1] == "480 more like this: skipped: not a regular file"


@pytest.mark.parametrize("doubled", ["METADATA", "WHEEL"])
def test_wheel_with_two_copies_of_its_metadata_gets_no_command(
    doubled: str, tmp_path: Path
) -> None:
    """pip's zipfile reads the last of two same-named members, a first-wins reader the first:
    with two copies the culprit's name would depend on who reads, so neither is trusted."""
    import warnings

    from nuitka_archguard import scan

    wheel = tmp_path / "nice-1.0-cp311-cp311-macosx_11_0_arm64.whl"
    files = {
        "METADATA": "Metadata-Version: 2.1\nName: nice\nVersion: 1.0\n\n",
        "WHEEL": "Wheel-Version: 1.0\nTag: cp311-cp311-macosx_11_0_arm64\n",
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr("nice/_x.cpython-311-darwin.so", synth_macho.thin("arm64", "bundle"))
            for name, text in files.items():
                archive.writestr(f"nice-1.0.dist-info/{name}", text)
            other = files[doubled].replace("nice", "numpy").replace("1.0\n", "2.0\n")
            archive.writestr(f"nice-1.0.dist-info/{doubled}", other)
    report = scan([str(wheel)], "macos-x86_64")
    (finding,) = report.errors
    assert finding.distribution is not None and finding.distribution.metadata_ok is False
    assert "no command is given" in finding.fix and "numpy" not in finding.fix
    assert any(f"more than one {doubled} member" in note for note in report.notes), report.notes
