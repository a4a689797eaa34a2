"""The plugin's macOS paths, driven through its Nuitka hooks on any machine.

macOS cannot run here, so the hooks get stand-ins for Nuitka's *module and entry-point
objects* (name, file, kind), while the files they point at are real Mach-O binaries from
real PyPI wheels, read by the real readers: cffi 1.17.1 (thin arm64 and thin x86_64),
cryptography 43.0.3 (universal2), pillow 10.4.0 (arm64 dylibs) and ninja 1.10.0.post2 (an
x86_64-only helper executable). Nothing about what the readers see is faked.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

import pytest

pytest.importorskip("nuitka")

from nuitka_archguard.nuitka_plugin import archguard as plugin_module
from nuitka_archguard.nuitka_plugin.support import (
    macos_archs,
    plugin_target,
    python_min_macos,
)
from nuitka_archguard.target import TargetError
from tests.nuitka_stand_ins import Attempt, DataFile, EntryPoint, ImplicitImports, Module

pytestmark = pytest.mark.realwheels

ARM = "macosx_11_0_arm64"
X86 = "macosx_10_9_x86_64"


# -- real trees -----------------------------------------------------------------------------------


def _tree(specs: Sequence[str], platform: str) -> Path:
    from tests import realwheels

    try:
        return realwheels.installed_target(list(specs), platform)
    except realwheels.NetworkUnavailable as error:
        pytest.skip(f"cannot download wheels: {error}")


@pytest.fixture(scope="module")
def seed() -> Path:
    """The seed's environment: cffi's arm64 wheel and cryptography's universal2 wheel."""
    return _tree(["cffi==1.17.1", "cryptography==43.0.3"], ARM)


@pytest.fixture(scope="module")
def cffi_x86() -> Path:
    return _tree(["cffi==1.17.1"], X86)


def _one(root: Path, pattern: str) -> Path:
    found = sorted(root.glob(pattern))
    assert found, f"{pattern} not in {root}"
    return found[0]


def _cffi_backend(root: Path) -> Path:
    return _one(root, "_cffi_backend.cpython-311-darwin.so")


def _rust(root: Path) -> Path:
    return _one(root, "cryptography/hazmat/bindings/_rust.abi3.so")


# -- driving the plugin -------------------------------------------------------------------------


class Options:
    """What the plugin reads from Nuitka's options module."""

    def __init__(self, macos_target_arch: Optional[str], standalone: bool) -> None:
        self.options = type("Parsed", (), {"macos_target_arch": macos_target_arch})()
        self._standalone = standalone

    def isStandaloneMode(self) -> bool:
        return self._standalone


def _plugin(
    monkeypatch: pytest.MonkeyPatch,
    tree: Sequence[Path],
    *,
    target_arch: Optional[str],
    host_arch: str = "arm64",
    standalone: bool = False,
    **options: Any,
) -> Any:
    monkeypatch.setattr(plugin_module, "_host", lambda: ("darwin", host_arch))
    monkeypatch.setattr(plugin_module, "_options", lambda: Options(target_arch, standalone))
    monkeypatch.setattr(
        plugin_module.ArchguardPlugin,
        "_implicit_imports_plugin",
        staticmethod(lambda: ImplicitImports()),
    )
    monkeypatch.setattr(plugin_module, "project_config", lambda: None)
    for path in reversed(tree):
        monkeypatch.syspath_prepend(str(path))
    options.setdefault("archguard_min_os", "11.0")
    plugin = plugin_module.ArchguardPlugin(**options)
    plugin.onCompilationStartChecks()
    return plugin


def _stop(plugin: Any, capfd: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as stopped:
        plugin.onDataComposerRun()
    assert stopped.value.code == 1
    out, err = capfd.readouterr()
    text = out + err
    assert "FATAL: archguard: stopped before the C compilation" in text
    assert "Traceback" not in text
    return text


def _seed_modules(root: Path) -> list[Module]:
    main = Module("__main__", root / "prog.py", used=[Attempt("cryptography.fernet", "found", 0)])
    rust = Module("cryptography.hazmat.bindings._rust", _rust(root), extension=True)
    return [main, rust]


# -- target resolution ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "host", "expected"),
    [
        (None, "arm64", {"arm64"}),
        ("native", "x86_64", {"x86_64"}),  # an x86_64 Python under Rosetta 2
        ("universal", "arm64", {"arm64", "x86_64"}),
        ("x86_64", "arm64", {"x86_64"}),
        ("arm64", "x86_64", {"arm64"}),
    ],
)
def test_macos_target_arch_option_gives_required_archs(
    option: Optional[str], host: str, expected: set[str]
) -> None:
    assert macos_archs(option, host) == expected
    target = plugin_target(platform="darwin", macos_target_arch=option, host_arch=host)
    assert target.platform == "macos"
    assert target.archs == expected


def test_unknown_macos_target_arch_is_a_target_error() -> None:
    with pytest.raises(TargetError):
        macos_archs("ppc", "arm64")


def test_min_os_defaults_to_the_python_binarys_own(seed: Path, cffi_x86: Path) -> None:
    # Nuitka compiles for the minimum macOS of sys.executable; read it the same way.
    assert python_min_macos(str(_cffi_backend(seed)), {"arm64"}) == "11.0"
    x86_min = python_min_macos(str(_cffi_backend(cffi_x86)), {"x86_64"})
    assert x86_min is not None and x86_min.startswith("10.")
    target = plugin_target(
        platform="darwin",
        macos_target_arch="x86_64",
        host_arch="arm64",
        python_executable=str(_cffi_backend(cffi_x86)),
    )
    assert str(target.min_os) == x86_min
    explicit = plugin_target(
        platform="darwin", macos_target_arch="x86_64", host_arch="arm64", min_os="10.15"
    )
    assert str(explicit.min_os) == "10.15"


# -- the seed: x86_64 target, arm64-only cffi, universal2 cryptography ---------------------------


def test_seed_x86_64_build_names_the_dropped_cffi_backend(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], seed: Path
) -> None:
    plugin = _plugin(monkeypatch, [seed], target_arch="x86_64", archguard_min_os="10.13")
    # Nuitka on macOS drops _cffi_backend (no x86_64 slice): it is not in the module set.
    plugin.onModuleCompleteSet(_seed_modules(seed))
    text = _stop(plugin, capfd)
    assert "foreign-extension-only" in text
    assert "cffi 1.17.1" in text
    assert "macosx_11_0_arm64" in text
    assert "_cffi_backend" in text
    assert "cryptography.hazmat.bindings._rust" in text
    assert "arm64" in text and "x86_64" in text
    assert "arch -x86_64" in text  # the fix: a dedicated x86_64 environment
    # cryptography's universal2 extension has the x86_64 slice: not a finding.
    assert "_rust.abi3.so" not in text.split("fix:")[0].split("cffi 1.17.1")[0]


def test_seed_not_found_import_is_caught_too(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], seed: Path
) -> None:
    """The same drop seen from Python source: cffi's own ``import _cffi_backend``."""
    plugin = _plugin(monkeypatch, [seed], target_arch="x86_64", archguard_min_os="10.13")
    api = Module(
        "cffi.api", seed / "cffi" / "api.py", used=[Attempt("_cffi_backend", "not-found", 0)]
    )
    plugin.onModuleCompleteSet([api])
    text = _stop(plugin, capfd)
    assert "foreign-extension-only" in text and "needed by cffi.api" in text


def test_universal_target_needs_both_slices(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], seed: Path
) -> None:
    plugin = _plugin(monkeypatch, [seed], target_arch="universal", host_arch="arm64")
    backend = Module("_cffi_backend", _cffi_backend(seed), extension=True)
    plugin.onModuleCompleteSet([*_seed_modules(seed), backend])
    text = _stop(plugin, capfd)
    assert "arch-missing" in text
    assert "cffi 1.17.1" in text
    assert "x86_64" in text
    assert "macos-universal2" in text


def test_arm64_build_of_the_same_environment_is_clean(
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    seed: Path,
    tmp_path: Path,
) -> None:
    report = tmp_path / "report.json"
    plugin = _plugin(monkeypatch, [seed], target_arch=None, archguard_report=str(report))
    backend = Module("_cffi_backend", _cffi_backend(seed), extension=True)
    plugin.onModuleCompleteSet([*_seed_modules(seed), backend])
    plugin.onDataComposerRun()  # no stop
    text = "".join(capfd.readouterr())
    assert "2 binaries checked for macos-arm64" in text and "all consistent" in text
    data = json.loads(report.read_text())
    assert data["findings"] == [] and data["target"]["archs"] == ["arm64"]
    assert dict(plugin.getReportData())["errors"] == "0"


def test_dylib_found_by_early_dll_detection_stops_the_build(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    pillow = _tree(["pillow==10.4.0"], ARM)
    dylib = _one(pillow, "PIL/.dylibs/libjpeg*.dylib")
    plugin = _plugin(monkeypatch, [pillow], target_arch="x86_64", archguard_min_os="10.13")
    plugin.onDllTags(
        EntryPoint("dll", str(dylib), dylib.name, "PIL._imaging", "PIL", "used extension module")
    )
    text = _stop(plugin, capfd)
    assert "pillow 10.4.0" in text and dylib.name in text and "shared library" in text


def test_late_dylib_stops_before_the_distribution_is_finished(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """Nuitka 2.x finds DLLs only after Scons: they are judged at the first copied DLL."""
    pillow = _tree(["pillow==10.4.0"], ARM)
    dylib = _one(pillow, "PIL/.dylibs/libjpeg*.dylib")
    plugin = _plugin(monkeypatch, [pillow], target_arch="x86_64", standalone=True)
    plugin.onModuleCompleteSet([])
    plugin.onDataComposerRun()  # nothing yet: passes the early point
    capfd.readouterr()
    import nuitka.freezer.IncludedEntryPoints as entry_points

    late = EntryPoint("dll", str(dylib), dylib.name, "PIL._imaging", "PIL", "used DLL")
    main = EntryPoint("executable", "/build/prog", "prog", None, None, "main binary")
    monkeypatch.setattr(entry_points, "getStandaloneEntryPoints", lambda: (main, late))
    with pytest.raises(SystemExit):
        plugin.onCopiedDLL("/dist/" + dylib.name)
    text = "".join(capfd.readouterr())
    assert "stopped before the distribution folder is finished" in text
    assert "pillow 10.4.0" in text


# -- helper executables: the Rosetta 2 nuance ----------------------------------------------------


def _ninja(tree: Path) -> Path:
    return _one(tree, "ninja/data/bin/ninja")


def test_x86_64_helper_executable_on_arm64_target_warns_about_rosetta(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    tree = _tree(["ninja==1.10.0.post2"], X86)
    plugin = _plugin(monkeypatch, [tree], target_arch="arm64")
    ninja = _ninja(tree)
    plugin.onDataFileTags(DataFile("data_file", str(ninja), "ninja/data/bin/ninja", "pkg", set()))
    plugin.onDataComposerRun()  # a warning, not a stop
    text = "".join(capfd.readouterr())
    assert "executable-arch" in text and "Rosetta 2" in text and "ninja" in text
    assert "FATAL" not in text


def test_x86_64_helper_executable_on_x86_64_target_is_fine(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    tree = _tree(["ninja==1.10.0.post2"], X86)
    plugin = _plugin(monkeypatch, [tree], target_arch="x86_64", host_arch="x86_64")
    ninja = _ninja(tree)
    plugin.onDataFileTags(DataFile("data_file", str(ninja), "ninja/data/bin/ninja", "pkg", set()))
    plugin.onDataComposerRun()
    text = "".join(capfd.readouterr())
    assert "1 binary checked for macos-x86_64" in text and "all consistent" in text


# -- modes, allow rules, reports, internal errors ------------------------------------------------


def test_warning_mode_reports_and_goes_on(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], seed: Path
) -> None:
    plugin = _plugin(
        monkeypatch,
        [seed],
        target_arch="x86_64",
        archguard_mode="warning",
        archguard_min_os="10.13",
    )
    backend = Module("_cffi_backend", _cffi_backend(seed), extension=True)
    plugin.onModuleCompleteSet([backend])
    plugin.onDataComposerRun()
    text = "".join(capfd.readouterr())
    assert "FATAL" not in text
    assert "mode warning, the build goes on" in text and "cffi 1.17.1" in text
    items = dict(plugin.getReportData(make_report_path=lambda path: "REDACTED"))
    assert items["target"] == "macos-x86_64" and items["errors"] == "1"
    assert "arch-missing REDACTED [cffi 1.17.1]" in items["finding_1"]


def test_allowed_distribution_does_not_stop(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], seed: Path
) -> None:
    plugin = _plugin(
        monkeypatch,
        [seed],
        target_arch="x86_64",
        archguard_allow=["cffi:rebuilt later"],
        archguard_min_os="10.13",
    )
    plugin.onModuleCompleteSet([Module("_cffi_backend", _cffi_backend(seed), extension=True)])
    plugin.onDataComposerRun()
    text = "".join(capfd.readouterr())
    assert "FATAL" not in text and "1 allowed finding" in text


def test_internal_error_names_the_file_and_never_shows_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], seed: Path
) -> None:
    plugin = _plugin(monkeypatch, [seed], target_arch="arm64")

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("reader bug")

    monkeypatch.setattr(plugin.guard.checker, "check_file", broken)
    plugin.onModuleCompleteSet([Module("_cffi_backend", _cffi_backend(seed), extension=True)])
    plugin.onDataComposerRun()
    text = "".join(capfd.readouterr())
    assert "unreadable-binary" in text
    assert "_cffi_backend.cpython-311-darwin.so could not be checked" in text
    assert "Traceback" not in text and "FATAL" not in text


def test_bad_min_os_option_stops_cleanly(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], seed: Path
) -> None:
    with pytest.raises(SystemExit):
        _plugin(monkeypatch, [seed], target_arch="x86_64", archguard_min_os="banana")
    text = "".join(capfd.readouterr())
    assert "FATAL: archguard: invalid minimum macOS version 'banana'" in text
    assert "Traceback" not in text
