"""The plugin through real Nuitka's own macOS code paths, on Linux x86_64, up to Scons.

Runs on the Nuitka of the running interpreter (CI: 4.x, and 2.x in ``.venv-nuitka2``).

Nuitka believes it runs on an arm64 Mac (``tests/macos_emulated``: what is emulated and what
is not is said there and in the README's Limitations); the Mach-O files it sees are real, from
real macOS wheels (cached like the realwheels tier). Each build stops right before Scons,
either by archguard or by the harness's probe, which records Nuitka's module set.

Every test first asserts the premise (Nuitka's ``isMacOS()`` and target arch), so a Nuitka
that stops taking its macOS paths under the harness fails here instead of passing vacuously.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.macos_emulated import (
    EmulatedBuild,
    assert_built_with,
    assert_premise,
    assert_stopped_by_archguard,
    build,
    macos_site,
)
from tests.macos_emulated.seed import CFFI, CRYPTOGRAPHY, NUITKA_MAJOR, SEED_PROGRAM, finding_block
from tests.macos_emulated.seed import needs_linux_x86_64_and_nuitka as needs_linux_x86_64_and_nuitka
from tests.macos_emulated.seed import seed_site as seed_site
from tests.macos_emulated.synthetic import vendored_dylib_package

pytestmark = [pytest.mark.macos_emulated, pytest.mark.nuitka, pytest.mark.realwheels]

X86 = "macosx_10_9_x86_64"


EARLY_DLLS = (NUITKA_MAJOR or 0) >= 4
"""Nuitka 4.x detects DLLs before Scons (``onDllTags``); 2.x only after it."""


# -- 1: the seed ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def x86_site() -> Path:
    """cffi's x86_64 wheel and (pip's answer for x86_64) cryptography's universal2 wheel."""
    return macos_site([CFFI, CRYPTOGRAPHY], X86)


@pytest.fixture(scope="module")
def x86_build(tmp_path_factory: pytest.TempPathFactory, x86_site: Path) -> EmulatedBuild:
    """The seed fixed: shared by the passing seed test and the minimum-macOS warning test.
    The Python's deployment target is python.org's universal2 one, 10.9."""
    workdir = tmp_path_factory.mktemp("x86-build")
    return build(workdir, SEED_PROGRAM, [x86_site], target_arch="x86_64")


def test_seed_x86_64_stopped_before_scons_naming_cffi(tmp_path: Path, seed_site: Path) -> None:
    """The full check (the preflight, which stops the same build earlier, is
    tests/test_preflight_emulated.py)."""
    result = build(
        tmp_path, SEED_PROGRAM, [seed_site], target_arch="x86_64",
        extra=["--archguard-preflight=no"],
    )  # fmt: skip
    assert_premise(result, "x86_64")
    assert_stopped_by_archguard(result)
    finding = finding_block(result.output, "foreign-extension-only")
    assert finding.lstrip().startswith("error["), finding
    assert "_cffi_backend" in finding
    assert "has:        arm64" in finding and "needs:      x86_64" in finding
    assert "needed by cryptography" in finding
    assert "fix:" in finding and "--platform macosx_10_9_x86_64" in finding
    assert CFFI in finding
    assert "cffi 1.17.1 (wheel cp311-cp311-macosx_11_0_arm64" in result.output
    # The module set Nuitka had when archguard stopped it: the drop it reported is real.
    assert "cryptography.hazmat.bindings._rust" in result.modules
    assert "_cffi_backend" not in result.modules


def test_seed_without_plugin_drops_cffi_backend_silently(tmp_path: Path, seed_site: Path) -> None:
    """The bug the plugin exists for, reproduced by Nuitka's own macOS code: the file is
    there, Nuitka's ``file`` check rejects it, and the build goes on towards Scons."""
    result = build(tmp_path, SEED_PROGRAM, [seed_site], target_arch="x86_64", plugin=False)
    assert_premise(result, "x86_64")
    assert result.reached_scons, result.describe()
    assert "archguard" not in result.output.replace("archguard-emul-probe", "")
    assert (seed_site / "_cffi_backend.cpython-311-darwin.so").is_file()
    assert "cryptography.hazmat.bindings._rust" in result.modules
    assert "_cffi_backend" not in result.modules, sorted(result.modules)
    checked = [args[-1] for args in result.tools_called("file")]
    assert any(path.endswith("_cffi_backend.cpython-311-darwin.so") for path in checked)


def test_seed_with_x86_64_cffi_passes(x86_build: EmulatedBuild, x86_site: Path) -> None:
    result = x86_build
    assert_premise(result, "x86_64")
    assert_built_with(result, "_cffi_backend", x86_site)


# -- 2: universal -----------------------------------------------------------------------------


def test_universal_target_is_refused_by_nuitka_itself(tmp_path: Path, seed_site: Path) -> None:
    """``--macos-target-arch=universal`` would need both slices of every binary, but Nuitka
    refuses it before any plugin runs: 4.x does not offer it (choices arm64, x86_64), 2.x
    stops on macOS with "Cannot create universal macOS binaries (yet)". Asserted, so the
    day Nuitka accepts it this test fails and becomes "stopped, needs both slices"."""
    result = build(
        tmp_path, SEED_PROGRAM, [seed_site], target_arch="universal", check_premise=False
    )
    assert result.returncode != 0, result.describe()
    assert not result.reached_scons and not result.modules, result.describe()
    assert "Traceback" not in result.output, result.describe()
    if EARLY_DLLS:
        assert "invalid choice: 'universal'" in result.output, result.describe()
    else:
        # Said only when Nuitka believes it runs on macOS: the premise, for this case.
        assert "Cannot create universal macOS binaries" in result.output, result.describe()


# -- 3: a vendored dylib without the target's slice -------------------------------------------


@pytest.mark.skipif(not EARLY_DLLS, reason="Nuitka 2.x finds DLLs only after Scons")
def test_vendored_dylib_without_target_slice_stopped_before_scons(tmp_path: Path) -> None:
    """The extension module is universal2, so Nuitka includes it; the dylib it links from
    ``.dylibs/`` (found by the early DLL detection, ``otool -L``) is arm64 only."""
    site = vendored_dylib_package(
        tmp_path / "site", extension_archs=("x86_64", "arm64"), dylib_archs=("arm64",)
    )
    dylib = site / "vendorpkg" / ".dylibs" / "libvendored.1.dylib"
    result = build(tmp_path / "b", "import vendorpkg\n", [site], target_arch="x86_64")
    assert_premise(result, "x86_64")
    assert_stopped_by_archguard(result)
    assert "vendorpkg._native" in result.modules
    assert str(dylib) in [d["source_path"] for d in result.dlls if d["kind"] == "dll"]
    finding = finding_block(result.output, "arch-missing")
    assert finding.lstrip().startswith("error[") and str(dylib) in finding, finding
    assert "has:        arm64" in finding and "needs:      x86_64" in finding
    assert "needed by vendorpkg._native" in finding
    assert "vendorpkg 1.0 (wheel cp311-cp311-macosx_11_0_universal2" in result.output
    assert "fix:" in finding and "vendorpkg==1.0" in finding


# -- 4: minimum macOS -------------------------------------------------------------------------


def test_min_os_newer_than_python_deployment_target_warns(x86_build: EmulatedBuild) -> None:
    """cryptography 43.0.3's x86_64 slice needs macOS 10.12; a python.org Python targets
    10.9: a warning, and the build goes on."""
    result = x86_build
    assert_premise(result, "x86_64")
    assert result.reached_scons, result.describe()
    finding = finding_block(result.output, "min-os-too-new")
    assert finding.lstrip().startswith("warning["), finding
    assert "_rust.abi3.so" in finding and "10.12" in finding and "10.9" in finding
    assert "cryptography 43.0.3" in result.output


def test_min_os_strict_is_an_error(tmp_path: Path, x86_site: Path) -> None:
    """``--archguard-min-os`` wins over the Python's deployment target (here 10.13, which
    alone would be enough), and ``--archguard-strict-min-os`` makes it an error."""
    result = build(
        tmp_path,
        SEED_PROGRAM,
        [x86_site],
        target_arch="x86_64",
        deployment_target="10.13",
        # The full check (the preflight stops this build as well, with the same error).
        extra=["--archguard-min-os=10.9", "--archguard-strict-min-os", "--archguard-preflight=no"],
    )
    assert_premise(result, "x86_64")
    assert_stopped_by_archguard(result)
    finding = finding_block(result.output, "min-os-too-new")
    assert finding.lstrip().startswith("error["), finding
    assert "_rust.abi3.so" in finding and "10.12" in finding


def test_min_os_python_deployment_target_new_enough_is_clean(
    tmp_path: Path, x86_site: Path
) -> None:
    result = build(
        tmp_path, SEED_PROGRAM, [x86_site], target_arch="x86_64", deployment_target="10.13"
    )
    assert_premise(result, "x86_64")
    assert result.reached_scons, result.describe()
    assert "min-os-too-new" not in result.output, result.describe()
    assert "macOS 10.13 or newer" in result.output


# -- 5: a native build ------------------------------------------------------------------------


def test_native_arm64_build_with_arm64_wheels_passes(tmp_path: Path, seed_site: Path) -> None:
    """No ``--macos-target-arch``: Nuitka's default, "native" (its parser offers no
    ``native`` choice), is the emulated Mac's arm64."""
    result = build(tmp_path, SEED_PROGRAM, [seed_site])
    assert_premise(result, "arm64")
    assert result.reached_scons, result.describe()
    assert "error[" not in result.output and "warning[" not in result.output
    assert "macos-arm64" in result.output
    backend = result.modules.get("_cffi_backend")
    assert backend is not None and backend["kind"] == "extension", sorted(result.modules)
