"""scan() and Checker: findings grouped by distribution, ownership, allow rules, JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import pytest

from nuitka_archguard.check.policy import Code, Role, Severity
from nuitka_archguard.check.scan import AllowRule, Checker, ScanError, ScanReport, scan
from nuitka_archguard.target import parse_target
from tests.envbuild import ARM, UNIVERSAL, X86, install, seed_like, wheel
from tests.synth import elf, macho

# -- scan ------------------------------------------------------------------------------------


def test_the_seed_case_names_the_distribution_and_who_needs_it(tmp_path: Path) -> None:
    seed_like(tmp_path)
    report = scan([tmp_path], "macos-x86_64")
    assert report.exit_code == 1
    (error,) = report.errors
    assert error.code is Code.ARCH_MISSING
    assert error.distribution is not None
    assert (error.distribution.name, error.distribution.version) == ("cffi", "1.17.1")
    assert error.distribution.wheel_tags == ("cp311-cp311-macosx_11_0_arm64",)
    assert error.needed_by == ("cryptography",)
    assert error.module == "_cffi_backend"
    assert error.fix
    assert report.binaries == 2
    assert report.files_scanned >= 3


def test_the_seed_case_with_the_x86_64_wheel_is_clean(tmp_path: Path) -> None:
    seed_like(tmp_path, cffi=X86, cffi_tag="cp311-cp311-macosx_10_9_x86_64")
    report = scan([tmp_path], parse_target("macos-x86_64"))
    assert report.exit_code == 0 and report.findings == []


def test_a_thin_binary_under_another_tag_is_a_wheel_tag_mismatch(tmp_path: Path) -> None:
    seed_like(tmp_path, cffi=X86)  # x86_64 code in a wheel tagged arm64
    report = scan([tmp_path], "macos-x86_64")
    assert report.exit_code == 0
    assert [f.code for f in report.warnings] == [Code.WHEEL_TAG_MISMATCH]


def test_report_json_schema(tmp_path: Path) -> None:
    seed_like(tmp_path)
    data = scan([str(tmp_path)], "macos-x86_64").to_json()
    json.dumps(data)
    assert data["schema_version"] == 1
    assert data["target"] == {
        "platform": "macos",
        "archs": ["x86_64"],
        "min_os": None,
        "libc": None,
        "name": "macos-x86_64",
    }
    assert data["summary"] == {"files_scanned": data["summary"]["files_scanned"], "binaries": 2,
                               "skipped_other_os": 0, "variants_for_target": 0, "too_large": 0,
                               "errors": 1, "warnings": 0}  # fmt: skip
    assert data["exit_code"] == 1
    (finding,) = data["findings"]
    assert finding["severity"] == "error" and finding["code"] == "arch-missing"
    assert finding["archs"] == ["arm64"] and finding["required_archs"] == ["x86_64"]
    assert finding["distribution"]["name"] == "cffi"
    assert finding["distribution"]["installer"] == "pip"
    assert finding["distribution"]["wheel_tags"] == ["cp311-cp311-macosx_11_0_arm64"]
    assert finding["distribution"]["built_from_source"] is False
    assert finding["needed_by"] == ["cryptography"]
    assert finding["allowed"] is False
    assert finding["path"].endswith("_cffi_backend.cpython-311-darwin.so")


def test_every_finding_is_reported_grouped_by_distribution(tmp_path: Path) -> None:
    install(tmp_path, "zeta", "1.0", {"zeta/_a.abi3.so": ARM, "zeta/_b.abi3.so": ARM})
    install(tmp_path, "alpha", "2.0", {"alpha/_c.abi3.so": ARM})
    (tmp_path / "loose.so").write_bytes(ARM)
    report = scan([tmp_path], "macos-x86_64")
    assert len(report.errors) == 4
    groups = [(d.name if d else None, len(fs)) for d, fs in report.by_distribution()]
    assert groups == [("alpha", 1), ("zeta", 2), (None, 1)]


def test_wheel_tag_mismatch_is_a_warning_per_distribution(tmp_path: Path) -> None:
    install(
        tmp_path, "liar", "1.0", {"liar/_a.abi3.so": ARM, "liar/_b.abi3.so": ARM},
        tag="cp311-cp311-macosx_10_9_universal2",
    )  # fmt: skip
    report = scan([tmp_path], "macos-arm64")
    assert report.exit_code == 0
    (warning,) = report.warnings
    assert warning.code is Code.WHEEL_TAG_MISMATCH
    assert "2 of its binaries lack x86_64" in warning.message


def test_min_os_and_strict(tmp_path: Path) -> None:
    late = macho.thin("x86_64", build_version=("macos", "10.15", "14.0"))
    install(
        tmp_path, "late", "1.0", {"late/_l.abi3.so": late}, tag="cp311-cp311-macosx_10_15_x86_64"
    )
    report = scan([tmp_path], "macos-x86_64", min_os="10.13")
    assert [f.code for f in report.warnings] == [Code.MIN_OS_TOO_NEW]
    assert report.exit_code == 0
    strict = scan([tmp_path], "macos-x86_64", min_os="10.13", strict_min_os=True)
    assert strict.exit_code == 1 and strict.errors[0].code is Code.MIN_OS_TOO_NEW
    assert "10.15" in strict.errors[0].fix


def test_unreadable_binary_is_a_warning_and_the_scan_goes_on(tmp_path: Path) -> None:
    install(tmp_path, "cut", "1.0", {"cut/_c.abi3.so": ARM[:20], "cut/_ok.abi3.so": ARM})
    report = scan([tmp_path], "macos-arm64")
    assert [(f.code, f.severity) for f in report.findings] == [
        (Code.UNREADABLE_BINARY, Severity.WARNING)
    ]
    assert report.findings[0].distribution is not None
    assert report.exit_code == 0


def test_dist_folder_falls_back_to_the_top_level_package(tmp_path: Path) -> None:
    dist = tmp_path / "main.dist"
    (dist / "numpy" / "core").mkdir(parents=True)
    (dist / "numpy" / "core" / "_multiarray_umath.so").write_bytes(ARM)
    report = scan([dist], "macos-x86_64")
    (error,) = report.errors
    assert error.distribution is not None
    assert error.distribution.name == "numpy" and error.distribution.kind == "directory"


def test_platform_mismatch_in_a_directory(tmp_path: Path) -> None:
    (tmp_path / "_x.cpython-311-x86_64-linux-gnu.so").write_bytes(elf.elf("x86_64"))
    report = scan([tmp_path], "macos-x86_64")
    assert [f.code for f in report.errors] == [Code.PLATFORM_MISMATCH]


# -- wheels ----------------------------------------------------------------------------------


@pytest.mark.parametrize("order", [1, -1])
def test_wheels_name_their_distribution_and_who_needs_it_in_any_order(
    tmp_path: Path, order: int
) -> None:
    cffi = wheel(tmp_path, "cffi", "1.17.1", "cp311-cp311-macosx_11_0_arm64",
                 {"_cffi_backend.cpython-311-darwin.so": ARM})  # fmt: skip
    crypto = wheel(tmp_path, "cryptography", "43.0.3", "cp39-abi3-macosx_10_9_universal2",
                   {"cryptography/_rust.abi3.so": UNIVERSAL}, ["cffi>=1.12"])  # fmt: skip
    report = scan([cffi, crypto][::order], "macos-x86_64")
    (error,) = report.errors
    assert error.distribution is not None and error.distribution.name == "cffi"
    assert error.distribution.wheel_tags == ("cp311-cp311-macosx_11_0_arm64",)
    assert error.needed_by == ("cryptography",)
    assert error.path == f"{cffi}/_cffi_backend.cpython-311-darwin.so"


def test_two_wheels_of_one_release_are_judged_each_by_its_own_tags(tmp_path: Path) -> None:
    """Scanning cffi's arm64 and x86_64 wheels side by side for universal2: two copies, each
    lacking one slice, and neither breaks the promise of its own tag."""
    so = "_cffi_backend.cpython-311-darwin.so"
    arm = wheel(tmp_path, "cffi", "1.17.1", "cp311-cp311-macosx_11_0_arm64", {so: ARM})
    x86 = wheel(tmp_path, "cffi", "1.17.1", "cp311-cp311-macosx_10_9_x86_64", {so: X86})
    report = scan([arm, x86], "macos-universal2")
    assert [f.code for f in report.findings] == [Code.ARCH_MISSING, Code.ARCH_MISSING]
    groups = report.by_distribution()
    assert sorted(d.wheel_tags for d, _ in groups if d is not None) == [
        ("cp311-cp311-macosx_10_9_x86_64",),
        ("cp311-cp311-macosx_11_0_arm64",),
    ]


def test_a_corrupt_wheel_is_a_scan_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad-1.0-py3-none-any.whl"
    bad.write_bytes(b"not a zip at all")
    with pytest.raises(ScanError, match=r"bad-1\.0-py3-none-any\.whl"):
        scan([bad], "macos-x86_64")


def test_a_missing_path_is_a_scan_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ScanError, match="nope"):
        scan([tmp_path, tmp_path / "nope"], "macos-x86_64")


def test_a_bad_target_is_a_scan_error(tmp_path: Path) -> None:
    with pytest.raises(ScanError, match="unknown target"):
        scan([tmp_path], "amiga-68k")
    with pytest.raises(ScanError, match="macOS targets only"):
        scan([tmp_path], "linux-x86_64", min_os="10.13")


def test_no_paths_scans_this_interpreter_for_this_host() -> None:
    report = scan()
    assert isinstance(report, ScanReport)
    assert report.files_scanned > 0
    assert report.exit_code in (0, 1)


# -- allow ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern",
    ["CFFI", "_cffi_backend", "*/_cffi_backend.*.so", "_cffi_backend.cpython-311-darwin.so"],
)
def test_allowed_findings_are_listed_but_do_not_count(tmp_path: Path, pattern: str) -> None:
    seed_like(tmp_path)
    report = scan([tmp_path], "macos-x86_64", allow=[f"{pattern}:Intel build uses its own venv"])
    assert report.exit_code == 0 and report.errors == []
    (allowed,) = report.allowed
    assert allowed.allowed and allowed.allow_reason == "Intel build uses its own venv"
    data = report.to_json()
    assert data["findings"][0]["allowed"] is True
    assert data["summary"]["errors"] == 0


def test_a_module_pattern_covers_submodules_only_at_dots(tmp_path: Path) -> None:
    install(tmp_path, "pkg", "1.0", {"pkg/sub/_m.abi3.so": ARM, "pkgx/_n.abi3.so": ARM})
    report = scan([tmp_path], "macos-x86_64", allow=["pkg.sub"])
    assert [f.module for f in report.allowed] == ["pkg.sub._m"]
    assert [f.module for f in report.errors] == ["pkgx._n"]


@pytest.mark.parametrize(
    ("text", "pattern", "reason"),
    [
        ("cffi", "cffi", None),
        ("cffi:why not", "cffi", "why not"),
        ("C:\\venv\\*.pyd:vendored", "C:\\venv\\*.pyd", "vendored"),
        ("C:/x/*.dll", "C:/x/*.dll", None),
        ("cffi:", "cffi", None),
    ],
)
def test_allow_rule_parsing(text: str, pattern: str, reason: Optional[str]) -> None:
    rule = AllowRule.parse(text)
    assert (rule.pattern, rule.reason) == (pattern, reason)


# -- the checker (plugin side) --------------------------------------------------------------------


def test_checker_checks_files_one_at_a_time(tmp_path: Path) -> None:
    seed_like(tmp_path)
    checker = Checker(parse_target("macos-x86_64"), search_paths=[str(tmp_path)])
    found = checker.check_file(
        tmp_path / "_cffi_backend.cpython-311-darwin.so",
        Role.EXTENSION_MODULE,
        module_name="_cffi_backend",
    )
    (error,) = found
    assert error.distribution is not None and error.distribution.name == "cffi"
    assert error.needed_by == ("cryptography",)
    assert error.fix
    assert checker.check_file(tmp_path / "cryptography/hazmat/bindings/_rust.abi3.so") == []
    report = checker.report()
    assert report.exit_code == 1 and report.binaries == 2 and report.files_scanned == 2


def test_checker_never_raises_for_a_bad_file(tmp_path: Path) -> None:
    checker = Checker("macos-x86_64", search_paths=[])
    (missing,) = checker.check_file(tmp_path / "gone.so", Role.SHARED_LIBRARY)
    assert missing.code is Code.UNREADABLE_BINARY
    (tmp_path / "text.so").write_text("not a binary")
    assert checker.check_file(tmp_path / "text.so", Role.EXTENSION_MODULE) == []


def test_checker_needed_by_given_by_the_plugin_wins(tmp_path: Path) -> None:
    (tmp_path / "_x.abi3.so").write_bytes(ARM)
    checker = Checker("macos-x86_64", search_paths=[])
    (error,) = checker.check_file(tmp_path / "_x.abi3.so", None, needed_by=["app.main"])
    assert error.needed_by == ("app.main",)


def test_foreign_extension_only(tmp_path: Path) -> None:
    seed_like(tmp_path)
    checker = Checker("macos-x86_64", search_paths=[str(tmp_path)])
    finding = checker.add_foreign_extension(
        "_cffi_backend", tmp_path / "_cffi_backend.cpython-311-darwin.so"
    )
    assert finding.code is Code.FOREIGN_EXTENSION_ONLY and finding.severity is Severity.ERROR
    assert finding.message.startswith(
        "extension module _cffi_backend exists only for arm64, so Nuitka leaves it out"
    )
    assert "needed by cryptography" in finding.message
    assert finding.distribution is not None and finding.distribution.name == "cffi"
    assert checker.report().errors == [finding]


def test_foreign_extension_with_explicit_needed_by_and_an_allow(tmp_path: Path) -> None:
    (tmp_path / "_y.cpython-311-aarch64-linux-gnu.so").write_bytes(elf.elf("aarch64"))
    checker = Checker("linux-x86_64", search_paths=[], allow=["_y:tested elsewhere"])
    finding = checker.add_foreign_extension(
        "_y", tmp_path / "_y.cpython-311-aarch64-linux-gnu.so", needed_by=["app"]
    )
    assert "only for aarch64," in finding.message and "needed by app" in finding.message
    assert finding.allowed and checker.report().exit_code == 0
