"""The plugin through real Nuitka's own macOS code paths, on Linux x86_64, up to Scons.

Nuitka believes it runs on an arm64 Mac (``tests/macos_emulated``: what is emulated and what
is not is said there and in the README's Limitations); the Mach-O files it sees are real, from
real macOS wheels (cached like the realwheels tier). Each build stops right before Scons,
either by archguard or by the harness's probe, which records Nuitka's module set.

Every test first asserts the premise (Nuitka's ``isMacOS()`` and target arch), so a Nuitka
that stops taking its macOS paths under the harness fails here instead of passing vacuously.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.macos_emulated import EmulatedBuild, build, nuitka_major

pytestmark = [pytest.mark.macos_emulated, pytest.mark.nuitka, pytest.mark.realwheels]

CFFI = "cffi==1.17.1"
CRYPTOGRAPHY = "cryptography==43.0.3"
ARM = "macosx_11_0_arm64"
X86 = "macosx_10_9_x86_64"

SEED_PROGRAM = (
    "from cryptography.hazmat.bindings._rust import openssl\n"
    "from cryptography.fernet import Fernet\n"
    "print('fernet', len(Fernet.generate_key()))\n"
)


@pytest.fixture(autouse=True)
def _needs_linux_x86_64_and_nuitka() -> None:
    if nuitka_major() is None:
        pytest.skip("Nuitka is not installed")
    if not sys.platform.startswith("linux") or platform.machine() != "x86_64":
        pytest.skip("the emulation is written for a Linux x86_64 host")


def _tree(specs: Sequence[str], platform_tag: str) -> Path:
    from tests import realwheels

    try:
        return realwheels.installed_target(list(specs), platform_tag)
    except realwheels.NetworkUnavailable as error:
        pytest.skip(f"cannot download wheels: {error}")


def _assert_premise(result: EmulatedBuild, target_arch: str) -> None:
    """Nuitka ran its macOS paths for this arch (``build`` checks it too; said here first
    so that every test reads as: premise, then behaviour)."""
    assert result.premise["is_macos"] is True, result.describe()
    assert result.premise["sys_platform"] == "darwin", result.describe()
    assert result.premise["macos_target_arch"] == target_arch, result.describe()
    assert result.tools_called("otool"), "no early DLL detection ran:\n" + result.describe()
    for tool in ("lipo", "install_name_tool", "codesign", "xcrun"):
        assert not result.tools_called(tool), f"{tool} was called:\n{result.describe()}"
    assert "Traceback" not in result.output, result.describe()


def _assert_stopped(result: EmulatedBuild) -> None:
    assert result.stopped_by_archguard, result.describe()
    assert not result.reached_scons, result.describe()


# -- 1: the seed ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_site() -> Path:
    """cffi's arm64-only wheel and cryptography's universal2 wheel, as pip installs them
    for an arm64 Mac."""
    return _tree([CFFI, CRYPTOGRAPHY], ARM)


def test_seed_x86_64_stopped_before_scons_naming_cffi(tmp_path: Path, seed_site: Path) -> None:
    result = build(tmp_path, SEED_PROGRAM, [seed_site], target_arch="x86_64")
    _assert_premise(result, "x86_64")
    _assert_stopped(result)
    out = result.output
    assert "foreign-extension-only" in out
    assert "cffi 1.17.1" in out and "macosx_11_0_arm64" in out
    assert "_cffi_backend" in out
    assert "needed by cryptography" in out
    assert "fix:" in out and "--platform macosx_10_9_x86_64" in out and CFFI in out
    # The module set Nuitka had when archguard stopped it: the drop it reported is real.
    assert "cryptography.hazmat.bindings._rust" in result.modules
    assert "_cffi_backend" not in result.modules


def test_seed_without_plugin_drops_cffi_backend_silently(tmp_path: Path, seed_site: Path) -> None:
    """The bug the plugin exists for, reproduced by Nuitka's own macOS code: the file is
    there, Nuitka's ``file`` check rejects it, and the build goes on towards Scons."""
    result = build(tmp_path, SEED_PROGRAM, [seed_site], target_arch="x86_64", plugin=False)
    _assert_premise(result, "x86_64")
    assert result.reached_scons, result.describe()
    assert "archguard" not in result.output.replace("archguard-emul-probe", "")
    assert (seed_site / "_cffi_backend.cpython-311-darwin.so").is_file()
    assert "cryptography.hazmat.bindings._rust" in result.modules
    assert "_cffi_backend" not in result.modules, sorted(result.modules)
    checked = [args[-1] for args in result.tools_called("file")]
    assert any(path.endswith("_cffi_backend.cpython-311-darwin.so") for path in checked)


def test_seed_with_x86_64_cffi_passes(tmp_path: Path) -> None:
    site = _tree([CFFI, CRYPTOGRAPHY], X86)  # cffi's x86_64 wheel, cryptography's universal2
    result = build(tmp_path, SEED_PROGRAM, [site], target_arch="x86_64")
    _assert_premise(result, "x86_64")
    assert result.reached_scons, result.describe()
    assert "error[" not in result.output, result.describe()
    backend = result.modules.get("_cffi_backend")
    assert backend is not None, sorted(result.modules)
    assert backend["kind"] == "extension"
    assert Path(backend["file"]).parent == site
