"""The preflight through real Nuitka's macOS code paths (the ``macos_emulated`` tier): the
seed, cffi 1.17.1's arm64-only wheel beside cryptography's universal2 one in an x86_64
build, stops in the preflight, before Nuitka's module set exists, naming cffi 1.17.1 and
cryptography; and every error it reports is one the full check of the same build reports
(``--archguard-preflight=no``), compared through both builds' JSON reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.macos_emulated import assert_premise, assert_stopped_by_archguard, build
from tests.macos_emulated.seed import CFFI, SEED_PROGRAM, finding_block
from tests.macos_emulated.seed import needs_linux_x86_64_and_nuitka as needs_linux_x86_64_and_nuitka
from tests.macos_emulated.seed import seed_site as seed_site

pytestmark = [pytest.mark.macos_emulated, pytest.mark.nuitka, pytest.mark.realwheels]

PREFLIGHT_STOP = "FATAL: archguard: stopped before the C compilation, in the preflight"


def _errors(report: Path) -> set[tuple[str, str]]:
    data = json.loads(report.read_text())
    return {
        ((f["distribution"] or {}).get("name", ""), f["path"])
        for f in data["findings"]
        if f["severity"] == "error" and not f["allowed"]
    }


def test_seed_stops_in_the_preflight_naming_cffi_and_cryptography(
    tmp_path: Path, seed_site: Path
) -> None:
    reports = {}
    results = {}
    for preflight in ("yes", "no"):
        reports[preflight] = tmp_path / f"{preflight}.json"
        results[preflight] = build(
            tmp_path / preflight,
            SEED_PROGRAM,
            [seed_site],
            target_arch="x86_64",
            extra=[
                f"--archguard-preflight={preflight}",
                f"--archguard-report={reports[preflight]}",
            ],
        )
    early, full = results["yes"], results["no"]
    # The premise (Nuitka ran as on an arm64 Mac, for x86_64), recorded as the build ended:
    # no early DLL detection ran, the build stopped before it.
    premise = early.premise
    assert premise.get("is_macos") is True and premise.get("sys_platform") == "darwin"
    assert premise.get("architecture") == "arm64", early.describe()
    assert premise.get("macos_target_arch") == "x86_64", early.describe()
    assert early.probe.get("stage") == "stopped-as-plugins-loaded", early.probe
    assert "Traceback" not in early.output, early.describe()
    assert_premise(full, "x86_64")
    assert_stopped_by_archguard(early)
    assert PREFLIGHT_STOP in early.output, early.describe()
    assert not early.modules, "stopped before Nuitka's module set existed"
    finding = finding_block(early.output, "foreign-extension-only")
    assert finding.lstrip().startswith("error["), finding
    assert "_cffi_backend" in finding and "needed by cryptography" in finding
    assert "has:        arm64" in finding and "needs:      x86_64" in finding
    assert CFFI in finding and "--platform macosx_10_9_x86_64" in finding
    assert "cffi 1.17.1 (wheel cp311-cp311-macosx_11_0_arm64" in early.output
    # The promise: the full check of the same build reports the same error.
    assert_stopped_by_archguard(full)
    assert PREFLIGHT_STOP not in full.output, full.describe()
    assert "cryptography.hazmat.bindings._rust" in full.modules
    ours, theirs = _errors(reports["yes"]), _errors(reports["no"])
    assert ours and ours <= theirs, (ours, theirs)
    print(f"[seed: preflight stop {early.seconds:.1f} s, full check stop {full.seconds:.1f} s]")
