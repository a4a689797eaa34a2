"""The plugin file's translation of Nuitka's objects, without network: synthesized binaries.

``archguard.py`` turns Nuitka's module objects, entry points, data files and options into
:mod:`~nuitka_archguard.nuitka_plugin.support` facts and prints what the session says. The
hooks get the same stand-ins for Nuitka's objects as ``test_plugin_macos_hooks.py`` (only what
the plugin asks of them); the files are Mach-O binaries from ``tests/synth`` with pip-like
metadata. Real Nuitka builds are in ``test_nuitka_builds.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import pytest

pytest.importorskip("nuitka")

from nuitka_archguard.nuitka_plugin import archguard as plugin_module
from tests.envbuild import ARM, install, seed_like
from tests.nuitka_stand_ins import (
    Attempt,
    DataFile,
    EntryPoint,
    ImplicitImports,
    Module,
)

RUST = "cryptography.hazmat.bindings._rust"


class Options:
    """What the plugin reads of Nuitka's options module, with an output directory."""

    def __init__(self, target_arch: Optional[str], standalone: bool, output_dir: Path) -> None:
        self.options = type("Parsed", (), {"macos_target_arch": target_arch})()
        self._standalone, self._output_dir = standalone, output_dir

    def isStandaloneMode(self) -> bool:
        return self._standalone

    def getOutputDir(self) -> str:
        return str(self._output_dir)


def _plugin(
    monkeypatch: pytest.MonkeyPatch,
    site: Path,
    out: Path,
    *,
    target_arch: Optional[str] = "x86_64",
    standalone: bool = True,
    **options: Any,
) -> Any:
    monkeypatch.setattr(plugin_module, "_host", lambda: ("darwin", "arm64"))
    monkeypatch.setattr(plugin_module, "_options", lambda: Options(target_arch, standalone, out))
    monkeypatch.setattr(
        plugin_module.ArchguardPlugin,
        "_implicit_imports_plugin",
        staticmethod(lambda: ImplicitImports()),
    )
    monkeypatch.setattr(plugin_module, "project_config", lambda: None)
    monkeypatch.syspath_prepend(str(site))
    options.setdefault("archguard_min_os", "10.13")
    plugin = plugin_module.ArchguardPlugin(**options)
    plugin.onCompilationStartChecks()
    return plugin


def _seed_modules(site: Path) -> list[Module]:
    main = Module("__main__", site / "prog.py", used=[Attempt("cryptography.fernet", "found", 0)])
    rust = Module(RUST, site / "cryptography/hazmat/bindings/_rust.abi3.so", extension=True)
    return [main, rust]


def test_the_seed_stops_and_removes_the_folders_the_build_created(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    site, out = tmp_path / "site", tmp_path / "out"
    seed_like(site)
    (out / "kept.dist").mkdir(parents=True)
    plugin = _plugin(monkeypatch, site, out)
    (out / "prog.build").mkdir()  # what Nuitka makes after onCompilationStartChecks
    (out / "prog.build" / ".gitignore").write_text("*")
    (out / "prog.dist").mkdir()
    plugin.onModuleRecursion("_cffi_backend", None, None, RUST, None, None)
    plugin.onModuleCompleteSet(_seed_modules(site))
    with pytest.raises(SystemExit):
        plugin.getModuleIncludes(None)
    text = "".join(capfd.readouterr())
    assert "FATAL: archguard: stopped before the C compilation" in text
    assert "foreign-extension-only" in text and "cffi 1.17.1" in text and RUST in text
    assert "Traceback" not in text
    assert sorted(p.name for p in out.iterdir()) == ["kept.dist"]


def test_a_relative_import_nuitka_could_not_find_is_resolved_against_the_package(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    site = tmp_path / "site"
    install(site, "fastpkg", "1.0", {"fastpkg/__init__.py": b"", "fastpkg/_speed.abi3.so": ARM})
    plugin = _plugin(monkeypatch, site, tmp_path / "out")
    package = Module(
        "fastpkg",
        site / "fastpkg",
        package=True,
        used=[Attempt("_speed", "not-found", 1), Attempt("json", "found", 0)],
    )
    plugin.onModuleCompleteSet([package])
    with pytest.raises(SystemExit):
        plugin.onDataComposerRun()
    text = "".join(capfd.readouterr())
    assert "foreign-extension-only" in text and "fastpkg._speed" in text
    assert "fastpkg 1.0" in text


def test_warning_mode_goes_on_through_every_hook_and_reports(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    site, out, report = tmp_path / "site", tmp_path / "out", tmp_path / "report.json"
    seed_like(site)
    install(site, "vendor", "1.0", {"vendor/lib.dylib": ARM, "vendor/tool": ARM})
    plugin = _plugin(
        monkeypatch,
        site,
        out,
        archguard_mode="warning",
        archguard_allow=["vendor:we know"],
        archguard_report=str(report),
    )
    plugin.onModuleCompleteSet(_seed_modules(site))
    lib = str(site / "vendor/lib.dylib")
    plugin.onDataFileTags(DataFile("data_file", lib, "vendor/lib.dylib", "package data", ()))
    plugin.onDataFileTags(DataFile("data_file", None, "x", "package data", ()))
    plugin.onDllTags(
        EntryPoint("exe", str(site / "vendor/tool"), "tool", "vendor", "vendor", "used")
    )
    plugin.onDllTags(object())  # not an entry point: an internal-error finding, no crash
    assert plugin.getModuleIncludes(None) == ()
    plugin.onGeneratedSourceCode(str(out), False)  # the early verdict is given once
    plugin.onCopiedDLL("x")
    plugin.onStandaloneDistributionFinished(str(out))
    text = "".join(capfd.readouterr())
    assert "FATAL" not in text and "Traceback" not in text
    assert "(mode warning, the build goes on)" in text
    assert "by --archguard-allow: we know" in text
    assert text.count("foreign-extension-only") == 1
    assert "could not be checked: internal error in archguard" in text
    assert "binaries checked for macos-x86_64" in text
    data = json.loads(report.read_text(encoding="utf-8"))
    assert {f["code"] for f in data["findings"]} >= {"foreign-extension-only", "arch-missing"}
    items = dict(plugin.getReportData(lambda path: path))
    assert items["mode"] == "warning" and items["target"] == "macos-x86_64"


def test_a_module_object_that_breaks_becomes_a_finding(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    class Broken(Module):
        def isPythonExtensionModule(self) -> bool:
            raise RuntimeError("odd module object")

    plugin = _plugin(monkeypatch, tmp_path, tmp_path / "out", archguard_mode="warning")
    plugin.onModuleCompleteSet([Broken("odd", tmp_path / "odd.so")])
    plugin.onDataComposerRun()
    text = "".join(capfd.readouterr())
    assert "odd.so could not be checked: internal error in archguard (RuntimeError" in text
    assert "Traceback" not in text


def test_nothing_to_report_before_the_build_started(tmp_path: Path) -> None:
    plugin = plugin_module.ArchguardPlugin()
    assert plugin.getReportData() == ()


def test_a_bad_option_stops_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit):
        _plugin(monkeypatch, tmp_path, tmp_path / "out", archguard_mode="loud")
    text = "".join(capfd.readouterr())
    assert "FATAL: archguard:" in text and "Traceback" not in text
