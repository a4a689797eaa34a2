"""The rule for binaries nothing loads (issue 21): packages that carry one copy of a helper or
library per platform must not stop a good build, and a real problem must still be found.

Every layout is synthesized byte by byte (tests/synth); each test names the branch of
:func:`nuitka_archguard.check.policy.judge_unloaded` it holds to. The real wheels behind the rule
(selenium, tkinterdnd2, pywebview, clr_loader, debugpy) are in test_real_payloads.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nuitka_archguard import archs, scan
from nuitka_archguard.check.policy import Code, Severity, role_for, variant_key
from nuitka_archguard.check.report import render_text, summary_line
from nuitka_archguard.cli.main import main
from nuitka_archguard.nuitka_plugin.support import (
    EntryPointFacts,
    Guard,
    Session,
    merge_settings,
)
from nuitka_archguard.target import parse_target
from tests import fixwheels
from tests.envbuild import install, wheel
from tests.synth import elf, macho, pe

X86_EXE = elf.elf("x86_64", etype="exec")
ARM_EXE = elf.elf("aarch64", etype="exec")
MAC_EXE = macho.thin("arm64", "executable")
WIN_EXE = pe.pe("amd64", dll=False)

SELENIUM_LIKE = {
    "sel/webdriver/common/linux-x86_64/selenium-manager": X86_EXE,
    "sel/webdriver/common/linux-arm64/selenium-manager": ARM_EXE,
    "sel/webdriver/common/macos/selenium-manager": MAC_EXE,
    "sel/webdriver/common/windows/selenium-manager.exe": WIN_EXE,
    "sel/__init__.py": b"",
}


def test_variant_by_folder_is_no_finding_and_is_counted(tmp_path: Path) -> None:
    install(tmp_path, "sel", "4.51.0", SELENIUM_LIKE, tag="py3-none-any")
    for target, variants in (("linux-x86_64", 3), ("linux-aarch64", 3), ("macos-arm64", 3)):
        report = scan([tmp_path], target)
        assert report.findings == [], target
        assert report.variants_for_target == variants and report.binaries == 1
        assert (
            f"{variants} binaries for other platforms with a variant for the target"
            in summary_line(report)
        )
        assert report.to_json()["summary"]["variants_for_target"] == variants


def test_variant_by_file_name_in_a_platform_wheel(tmp_path: Path) -> None:
    """debugpy's win_amd64 wheel: attach_x86.dll beside attach_amd64.dll, no finding, and the
    x86 copy does not make the wheel's tag a lie (it is not loaded)."""
    base = "dbg/attach/"
    members = {
        "dbg/_cython.cp311-win_amd64.pyd": pe.pe("amd64"),
        base + "attach_amd64.dll": pe.pe("amd64"),
        base + "attach_x86.dll": pe.pe("x86"),
        base + "inject_dll_amd64.exe": pe.pe("amd64", dll=False),
        base + "inject_dll_x86.exe": pe.pe("x86", dll=False),
    }
    whl = wheel(tmp_path, "dbg", "1.8.22", "cp311-cp311-win_amd64", members)
    report = scan([whl], "windows-amd64")
    assert report.findings == []
    assert report.variants_for_target == 1  # attach_x86.dll; an x86 .exe runs under WOW64


def test_other_os_binary_nothing_loads_is_skipped_and_counted(tmp_path: Path) -> None:
    install(tmp_path, "tool", "1.0", {"tool/bin/macos/helper": MAC_EXE}, tag="py3-none-any")
    report = scan([tmp_path], "linux-x86_64")
    assert report.findings == [] and report.skipped_other_os == 1 and report.binaries == 0


def test_helper_executable_for_the_target_os_without_variant_is_an_error(
    tmp_path: Path,
) -> None:
    install(tmp_path, "tool", "1.0", {"tool/bin/helper": ARM_EXE}, tag="py3-none-any")
    report = scan([tmp_path], "linux-x86_64")
    (error,) = report.errors
    assert error.code is Code.EXECUTABLE_ARCH and report.variants_for_target == 0


def test_a_variant_that_does_not_serve_the_target_is_no_variant(tmp_path: Path) -> None:
    """A hostile or broken layout: the "x86_64" folder holds an aarch64 file too."""
    files = {"tool/linux-x86_64/helper": ARM_EXE, "tool/linux-arm64/helper": ARM_EXE}
    install(tmp_path, "tool", "1.0", files, tag="py3-none-any")
    report = scan([tmp_path], "linux-x86_64")
    assert [f.code for f in report.errors] == [Code.EXECUTABLE_ARCH] * 2
    assert report.variants_for_target == 0


def test_shared_library_nothing_links_without_variant_is_a_warning(tmp_path: Path) -> None:
    install(tmp_path, "plug", "1.0", {"plug/libhelper.so": elf.elf("aarch64")},
            tag="py3-none-any")  # fmt: skip
    report = scan([tmp_path], "linux-x86_64")
    assert report.errors == [] and report.exit_code == 0
    (warning,) = report.warnings
    assert warning.code is Code.ARCH_MISSING and warning.severity is Severity.WARNING
    assert "no included binary links it" in warning.message


def test_shared_library_an_extension_module_links_is_an_error(tmp_path: Path) -> None:
    files = {
        "plug/_core.cpython-311-x86_64-linux-gnu.so": elf.elf("x86_64", needed=["libhelper.so"]),
        "plug/libhelper.so": elf.elf("aarch64"),
    }
    install(tmp_path, "plug", "1.0", files, tag="cp311-cp311-manylinux_2_17_x86_64")
    report = scan([tmp_path], "linux-x86_64")
    (error,) = report.errors
    assert error.code is Code.ARCH_MISSING and error.path.endswith("libhelper.so")


def test_extension_modules_stay_loaded_whatever_their_folder(tmp_path: Path) -> None:
    files = {
        "pkg/linux-x86_64/_m.cpython-311-x86_64-linux-gnu.so": elf.elf("x86_64"),
        "pkg/linux-arm64/_m.cpython-311-aarch64-linux-gnu.so": elf.elf("aarch64"),
    }
    install(tmp_path, "pkg", "1.0", files, tag="py3-none-any")
    report = scan([tmp_path], "linux-x86_64")
    assert [f.code for f in report.errors] == [Code.ARCH_MISSING]


@pytest.mark.parametrize(
    ("left", "right", "variants"),
    [
        ("a/linux-x86_64/tool", "a/windows/tool.exe", True),
        ("a/win-x64/native/L.dll", "a/win-arm64/native/L.dll", True),
        ("a/attach_x86.dll", "a/attach_linux_amd64.so", True),
        ("t/osx-x64/libtkdnd2.9.4.dylib", "t/win-x64/libtkdnd2.10.3.dll", True),
        ("t/linux-x64/libtkdnd2.10.3.so", "t/linux-x64-tcl9/libtcl9tkdnd2.10.3.so", False),
        ("a/linux-x86_64/tool", "a/linux-x86_64/other", False),
        ("a/x86/winx86.dll", "a/arm64/winarm64.dll", False),
    ],
)
def test_variant_keys(left: str, right: str, variants: bool) -> None:
    one, two = variant_key(left), variant_key(right)
    assert one is not None and two is not None
    assert (one[0] == two[0] and one[1] != two[1]) is variants


def test_a_plain_so_naming_a_platform_is_a_library_not_a_module() -> None:
    assert role_for("p/attach_linux_amd64.so").value == "shared-library"
    assert role_for("p/_speedups.so").value == "extension-module"


# -- the plugin: the same rule for the data files and DLLs Nuitka hands it --------------------


def _session(site: Path, target: str = "linux-x86_64") -> Session:
    settings = merge_settings(
        mode="error", allow=(), min_os=None, strict_min_os=False, report_path=None
    )
    return Session(lambda: Guard(parse_target(target), settings, search_path=[str(site)]))


def test_plugin_data_files_with_variants_pass(tmp_path: Path) -> None:
    install(tmp_path, "sel", "4.51.0", SELENIUM_LIKE, tag="py3-none-any")
    session = _session(tmp_path)
    for rel in SELENIUM_LIKE:
        session.check_data_file(str(tmp_path / rel), kind="data_file", tags=())
    report = session.guard.report()
    assert report.findings == [] and report.variants_for_target == 3
    assert session.guard.summary().endswith(
        ": all consistent; 3 binaries for other platforms with a variant for the target."
    )
    assert not [m for m in session.early(standalone=True) if m.level.value == "stop"]


def test_plugin_dll_nuitka_includes_is_loaded_and_an_error(tmp_path: Path) -> None:
    """A DLL Nuitka includes as a DLL (a dependency, or its package configuration's copy for
    this arch) is loaded: wrong arch stops, variants beside it or not."""
    files = {"w/win-x64/L.dll": pe.pe("amd64"), "w/win-arm64/L.dll": pe.pe("arm64")}
    install(tmp_path, "w", "1.0", files, tag="py3-none-any")
    session = _session(tmp_path, "windows-amd64")
    session.check_entry_point(EntryPointFacts("dll", str(tmp_path / "w/win-arm64/L.dll"), "w"))
    (error,) = session.guard.report().errors
    assert error.code is Code.ARCH_MISSING


# -- fix: nothing to plan when the rule leaves no finding -------------------------------------


def test_fix_plans_nothing_for_a_multi_platform_payload(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env, index = tmp_path / "env", tmp_path / "index"
    index.mkdir()
    built = fixwheels.make_wheel(tmp_path / "w", "sel", "4.51.0", "py3-none-any", SELENIUM_LIKE)
    fixwheels.install(built, env)
    code = main(["fix", str(env), "--target", "linux-x86_64", "--no-index",
                 "--find-links", str(index)])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and "nothing to fix" in out
    assert not (env / ".archguard").exists()
    assert "ok: every binary fits" in render_text(scan([env], "linux-x86_64"))


# -- bounded for hostile trees ------------------------------------------------------------------


def test_thousands_of_copies_in_one_folder_cost_linear_time() -> None:
    """Every copy asks "is there a variant?": one pass per folder of copies, not one per
    copy (8,000 aarch64 helpers under distinct platform-word folders; quadratic took minutes).
    """
    import itertools
    import time

    from nuitka_archguard.binaries import BytesSource, read_binary
    from nuitka_archguard.check.scan import Checker

    words = sorted(archs.PATH_WORDS - {"x86_64", "amd64", "x64", "linux"})
    checker = Checker("linux-x86_64", search_paths=[])
    combos = itertools.islice(itertools.permutations(words, 3), 8000)
    for a, b, c in combos:
        info = read_binary(BytesSource(ARM_EXE), f"/t/{a}-{b}-{c}/tool")
        checker.check_info(info, lookup_owner=False)
    started = time.perf_counter()
    report = checker.report()
    assert time.perf_counter() - started < 10
    assert len(report.errors) == 8000 and report.variants_for_target == 0


@pytest.mark.parametrize(
    "name",
    ["1." * 32000 + "x", "a" + ".so.1" * 16000 + ".so.x", "x86-" * 16000 + "a", "1." * 32000],
)
def test_a_hostile_name_costs_linear_time(name: str) -> None:
    """A zip member may be named with 64 KiB: an end-anchored regex searched over it was
    quadratic (8,000 "1." took 2.5 s)."""
    import time

    started = time.perf_counter()
    variant_key(f"pkg/linux/{name}")
    role_for(name + ".so")
    assert time.perf_counter() - started < 1


def test_the_version_scan_matches_the_regex_it_replaces() -> None:
    import random
    import re

    from nuitka_archguard.check.policy import _without_version

    regex = re.compile(r"[-_.]?[0-9]+(?:\.[0-9]+)*\Z")
    chance = random.Random(21)
    for _ in range(20000):
        name = "".join(chance.choice("ab1.-_9") for _ in range(chance.randint(0, 9)))
        assert _without_version(name) == regex.sub("", name, count=1), name
