"""The plugin's decisions without Nuitka: support.Session and Guard on synthesized binaries.

``archguard.py`` only turns Nuitka's objects into :class:`ModuleFacts` and
:class:`EntryPointFacts` and prints the :class:`Message` values the session returns, so
everything it decides is tested here: the two stops and what each says, error and warning
modes, allow rules, the JSON report, the ``--report`` items, who imports what, relative
imports, the silent drop and the folders a stopped build removes. The binaries are real
Mach-O and ELF files written by ``tests/synth``, installed with a pip-like ``.dist-info``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

import pytest

from nuitka_archguard.check.config import Config
from nuitka_archguard.check.policy import Code, Role, Severity
from nuitka_archguard.nuitka_plugin.support import (
    EntryPointFacts,
    Guard,
    ImportAttempt,
    Level,
    Message,
    Mode,
    ModuleFacts,
    OutputFolders,
    Session,
    Settings,
    entry_point_role,
    macos_archs,
    merge_settings,
    missing_imports,
    plugin_target,
    project_config,
    python_min_macos,
)
from nuitka_archguard.target import TargetError, parse_target
from tests.envbuild import install, seed_like
from tests.plugin_session import RUST, make_session, seed_modules
from tests.synth import elf, macho

ARM = macho.thin("arm64")
X86 = macho.thin("x86_64", build_version=None, version_min=("macos", "10.9", "10.9"))
UNIVERSAL = macho.fat([X86, ARM])
CFFI = "_cffi_backend.cpython-311-darwin.so"


def _levels(messages: Sequence[Message]) -> list[Level]:
    return [m.level for m in messages]


def test_seed_as_nuitka_2_asks_for_cffi_backend_from_the_cryptography_package(
    tmp_path: Path,
) -> None:
    """Nuitka 2.x's implicit-imports plugin adds ``_cffi_backend`` for ``cryptography``, a
    Python package, not for the Rust extension module (found by the macos_emulated tier on
    2.7.16): an implicit import of any module counts, not only of extension modules."""
    seed_like(tmp_path)
    session = make_session(tmp_path)
    session.check_modules(
        [
            ModuleFacts("__main__", str(tmp_path / "prog.py")),
            ModuleFacts(
                "cryptography",
                str(tmp_path / "cryptography"),
                is_package=True,
                implicit_imports=("_cffi_backend",),
            ),
            ModuleFacts(
                RUST,
                str(tmp_path / "cryptography/hazmat/bindings/_rust.abi3.so"),
                is_extension=True,
            ),
        ]
    )
    assert _levels(session.early(standalone=True)) == [Level.STOP]
    (finding,) = session.guard.report().errors
    assert finding.code is Code.FOREIGN_EXTENSION_ONLY
    assert finding.module == "_cffi_backend"
    assert "cryptography" in finding.needed_by


# -- the stops -------------------------------------------------------------------------------


def test_seed_stops_before_the_c_compilation_naming_the_dropped_cffi_backend(
    tmp_path: Path,
) -> None:
    seed_like(tmp_path)
    session = make_session(tmp_path)
    session.record_import(RUST, "cryptography.hazmat.bindings")
    session.check_modules(seed_modules(tmp_path))
    messages = session.early(standalone=True)
    assert _levels(messages) == [Level.STOP]
    text = messages[0].text
    target = session.guard.target.describe()
    assert text.startswith(f"stopped before the C compilation: 1 binary would fail on {target}.")
    assert "foreign-extension-only" in text and CFFI in text
    assert "cffi 1.17.1" in text and RUST in text
    assert "--archguard-mode=warning" in text and "--archguard-allow=NAME[:REASON]" in text
    (finding,) = session.guard.report().errors
    assert finding.code is Code.FOREIGN_EXTENSION_ONLY
    assert finding.module == "_cffi_backend"
    assert finding.needed_by[0] == RUST and "cryptography" in finding.needed_by


def test_each_stop_fires_once_and_the_late_one_never_skips_the_early_verdict(
    tmp_path: Path,
) -> None:
    seed_like(tmp_path)
    session = make_session(tmp_path)
    session.check_modules(seed_modules(tmp_path))
    late = session.late()
    assert _levels(late) == [Level.STOP]
    assert late[0].text.startswith("stopped before the C compilation")
    assert session.early(standalone=True) == []
    assert session.late() == []


def test_a_late_dll_stops_before_the_distribution_folder_is_finished(tmp_path: Path) -> None:
    install(
        tmp_path,
        "pillow",
        "10.4.0",
        {"PIL/_imaging.cpython-311-darwin.so": UNIVERSAL, "PIL/.dylibs/libjpeg.62.dylib": ARM},
    )
    session = make_session(tmp_path)
    session.check_entry_point(
        EntryPointFacts(
            "extension", str(tmp_path / "PIL/_imaging.cpython-311-darwin.so"), "PIL._imaging"
        )
    )
    assert session.early(standalone=True) == []  # clean so far, and no summary in standalone
    dylib = EntryPointFacts(
        "dll", str(tmp_path / "PIL/.dylibs/libjpeg.62.dylib"), "PIL._imaging", "used by"
    )
    late = session.late([dylib])
    assert _levels(late) == [Level.STOP]
    assert late[0].text.startswith("stopped before the distribution folder is finished: 1 binary")
    assert "libjpeg.62.dylib" in late[0].text and "pillow 10.4.0" in late[0].text
    (finding,) = session.guard.report().errors
    assert finding.code is Code.ARCH_MISSING and finding.needed_by[0] == "PIL._imaging"


def test_findings_already_shown_are_not_repeated_at_the_late_stop(tmp_path: Path) -> None:
    install(tmp_path, "tool", "1.0", {"tool/helper": ARM})
    session = make_session(tmp_path, mode="warning")
    session.check_entry_point(EntryPointFacts("exe", str(tmp_path / "tool/helper"), None))
    early = session.early(standalone=True)
    assert _levels(early) == [Level.WARNING]
    assert session.late() == []
    target = session.guard.target.describe()
    assert session.finish() == [
        Message(Level.INFO, f"1 binary checked for {target}: 1 error, 0 warnings.")
    ]
    assert session.finish() == []


def test_a_clean_build_prints_one_summary_line(tmp_path: Path) -> None:
    seed_like(tmp_path, cffi=X86, cffi_tag="cp311-cp311-macosx_10_9_x86_64")
    session = make_session(tmp_path)
    modules = [
        *seed_modules(tmp_path),
        ModuleFacts("_cffi_backend", str(tmp_path / CFFI), is_extension=True),
    ]
    session.check_modules(modules)
    (summary,) = session.early(standalone=False)
    assert summary.level is Level.INFO
    target = session.guard.target.describe()
    assert summary.text.startswith(f"2 binaries checked for {target}")
    assert summary.text.endswith(": all consistent.")
    assert session.finish() == []  # printed once


def test_the_standalone_summary_comes_when_the_folder_is_finished(tmp_path: Path) -> None:
    seed_like(tmp_path, cffi=UNIVERSAL)
    session = make_session(tmp_path, archs=("arm64", "x86_64"))
    session.check_modules(seed_modules(tmp_path))
    assert session.early(standalone=True) == []
    assert session.late() == []
    (summary,) = session.finish()
    assert summary.level is Level.INFO and "all consistent" in summary.text
    assert session.finish() == []


# -- modes and allow rules ----------------------------------------------------------------------


def test_warning_mode_reports_the_same_findings_and_goes_on(tmp_path: Path) -> None:
    seed_like(tmp_path)
    session = make_session(tmp_path, mode="warning")
    session.check_modules(seed_modules(tmp_path))
    messages = session.early(standalone=False)
    assert _levels(messages) == [Level.WARNING, Level.INFO]
    target = session.guard.target.describe()
    assert messages[0].text.startswith(f"1 error and 0 warnings for {target} ")
    assert "(mode warning, the build goes on)" in messages[0].text
    assert "foreign-extension-only" in messages[0].text
    assert messages[1].text.endswith("1 error, 0 warnings.")


def test_an_allowed_distribution_is_listed_with_the_plugins_option_and_does_not_stop(
    tmp_path: Path,
) -> None:
    seed_like(tmp_path)
    session = make_session(tmp_path, allow=["cffi:we ship our own"])
    session.check_modules(seed_modules(tmp_path))
    messages = session.early(standalone=False)
    assert _levels(messages) == [Level.WARNING, Level.INFO]
    assert "allowed[foreign-extension-only]" in messages[0].text
    assert "by --archguard-allow: we ship our own" in messages[0].text
    assert "by --allow" not in messages[0].text
    assert messages[1].text.endswith("all consistent (1 allowed finding).")
    (finding,) = session.guard.report().allowed
    assert finding.allow_reason == "we ship our own"


@pytest.mark.parametrize("pattern", ["_cffi_backend", "*/_cffi_backend.*.so"])
def test_allow_by_module_name_or_path_glob(tmp_path: Path, pattern: str) -> None:
    seed_like(tmp_path)
    session = make_session(tmp_path, allow=[pattern])
    session.check_modules(seed_modules(tmp_path))
    assert Level.STOP not in _levels(session.early(standalone=True))


def test_an_allow_rule_for_another_distribution_still_stops(tmp_path: Path) -> None:
    seed_like(tmp_path)
    session = make_session(tmp_path, allow=["cryptography"])
    session.check_modules(seed_modules(tmp_path))
    assert _levels(session.early(standalone=True)) == [Level.STOP]


def test_settings_merge_the_project_table_under_the_options() -> None:
    project = Config(allow=("a", "b"), min_os="10.13", strict_min_os=True)
    settings = merge_settings(
        mode="WARNING",
        allow=["b", "c"],
        min_os=None,
        strict_min_os=False,
        report_path="",
        project=project,
    )
    assert settings == Settings(
        Mode.WARNING, ("a", "b", "c"), "10.13", True, None, min_os_from="[tool.archguard]"
    )
    assert (
        merge_settings(
            mode=None,
            allow=(),
            min_os="11.0",
            strict_min_os=False,
            report_path="r.json",
            project=project,
        ).min_os
        == "11.0"
    )
    with pytest.raises(ValueError):
        merge_settings(mode="loud", allow=(), min_os=None, strict_min_os=False, report_path=None)


# -- reports ---------------------------------------------------------------------------------


def test_the_json_report_is_written_at_each_stop(tmp_path: Path) -> None:
    site, report = tmp_path / "site", tmp_path / "out" / "archguard.json"
    seed_like(site)
    session = make_session(site, report_path=report)
    session.check_modules(seed_modules(site))
    assert _levels(session.early(standalone=True)) == [Level.STOP]
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["exit_code"] == 1
    (finding,) = data["findings"]
    assert finding["code"] == "foreign-extension-only"
    assert finding["distribution"]["name"] == "cffi"
    assert data["findings"][0]["path"].endswith(CFFI)


def test_a_report_that_cannot_be_written_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    seed_like(tmp_path, cffi=X86, cffi_tag="cp311-cp311-macosx_10_9_x86_64")
    blocker = tmp_path / "file"
    blocker.write_text("")
    session = make_session(tmp_path, report_path=blocker / "report.json")
    messages = session.early(standalone=False)
    assert _levels(messages) == [Level.WARNING, Level.INFO]
    assert messages[0].text.startswith("cannot write the report")


def test_report_items_for_nuitkas_report_xml(tmp_path: Path) -> None:
    seed_like(tmp_path)
    session = make_session(tmp_path, mode="warning")
    assert session.report_items() == []  # nothing ran yet
    session.check_modules(seed_modules(tmp_path))
    items = dict(session.report_items(lambda path: "${site}/" + os.path.basename(path)))
    assert items["target"] == "macos-x86_64"
    assert items["mode"] == "warning"
    assert (items["binaries_checked"], items["errors"], items["warnings"]) == ("1", "1", "0")
    assert items["finding_1"].startswith(
        f"error foreign-extension-only ${{site}}/{CFFI} [cffi 1.17.1]: "
    )
    assert " Fix: " in items["finding_1"]
    assert all(isinstance(v, str) for v in items.values())


def test_report_items_mark_allowed_findings_and_survive_a_bad_path_maker(tmp_path: Path) -> None:
    seed_like(tmp_path)
    session = make_session(tmp_path, allow=["cffi"])
    session.check_modules(seed_modules(tmp_path))

    def broken(path: str) -> str:
        raise RuntimeError(path)

    items = dict(session.report_items(broken))
    assert items["finding_1"].startswith(f"allowed error foreign-extension-only {tmp_path / CFFI}")


# -- who imports what, relative imports, the silent drop --------------------------------------


def test_the_first_importer_is_named_unless_it_is_the_modules_own_package(tmp_path: Path) -> None:
    session = make_session(tmp_path)
    session.record_import("bcrypt._bcrypt", "bcrypt")
    session.record_import("_cffi_backend", "cryptography.hazmat.bindings._rust")
    session.record_import("_cffi_backend", "someone.else")
    session.record_import(None, "x")
    assert session.needers("bcrypt._bcrypt") == ()
    assert session.needers("_cffi_backend") == ("cryptography.hazmat.bindings._rust",)
    assert session.needers("never.imported") == ()


@pytest.mark.parametrize(
    ("module", "attempt", "expected"),
    [
        (
            ModuleFacts("bcrypt", "b/__init__.py", is_package=True),
            ImportAttempt("_bcrypt", 1),
            ["_bcrypt", "bcrypt._bcrypt"],
        ),
        (ModuleFacts("pkg.sub.mod", "m.py"), ImportAttempt("_ext", 1), ["_ext", "pkg.sub._ext"]),
        (ModuleFacts("pkg.sub.mod", "m.py"), ImportAttempt("_ext", 2), ["_ext", "pkg._ext"]),
        (ModuleFacts("pkg.sub.mod", "m.py"), ImportAttempt("_ext", 3), ["_ext"]),
        (ModuleFacts("pkg.mod", "m.py"), ImportAttempt("pkg._ext", 1), ["pkg._ext"]),
        (ModuleFacts("top", "top.py"), ImportAttempt("_ext", 1), ["_ext"]),
        (ModuleFacts("pkg.mod", "m.py"), ImportAttempt("numpy", 0), ["numpy"]),
    ],
)
def test_relative_imports_resolve_as_python_resolves_them(
    module: ModuleFacts, attempt: ImportAttempt, expected: list[str]
) -> None:
    facts = ModuleFacts(
        module.name, module.filename, is_package=module.is_package, not_found=(attempt,)
    )
    assert list(missing_imports(facts)) == expected


def test_a_relative_import_of_a_foreign_extension_is_the_silent_drop(tmp_path: Path) -> None:
    linux = tmp_path / "linux"
    install(
        linux,
        "bcrypt",
        "4.2.0",
        {
            "bcrypt/__init__.py": b"",
            "bcrypt/_bcrypt.cpython-311-aarch64-linux-gnu.so": elf.elf("aarch64"),
        },
        tag="cp39-abi3-manylinux2014_aarch64",
    )
    settings = Settings()
    guard_target = parse_target("linux-x86_64")
    session = Session(lambda: Guard(guard_target, settings, search_path=[str(linux)]))
    package = ModuleFacts(
        "bcrypt",
        str(linux / "bcrypt"),
        is_package=True,
        not_found=(ImportAttempt("_bcrypt", 1),),
    )
    session.check_modules([ModuleFacts("__main__", "prog.py"), package])
    (finding,) = session.guard.report().errors
    assert finding.code is Code.FOREIGN_EXTENSION_ONLY
    assert finding.module == "bcrypt._bcrypt"
    assert finding.archs == ("aarch64",)
    assert "exists only for aarch64," in finding.message and "[" not in finding.message
    assert finding.distribution is not None and finding.distribution.name == "bcrypt"
    assert _levels(session.early(standalone=True)) == [Level.STOP]


def test_a_module_nuitka_found_is_not_a_silent_drop(tmp_path: Path) -> None:
    seed_like(tmp_path)
    session = make_session(tmp_path)
    modules = [
        *seed_modules(tmp_path),
        ModuleFacts("_cffi_backend", str(tmp_path / CFFI), is_extension=True),
    ]
    session.check_modules(modules)
    (finding,) = session.guard.report().errors
    assert finding.code is Code.ARCH_MISSING  # the included file itself, not a drop


def test_a_missing_module_with_no_foreign_file_is_nuitkas_business(tmp_path: Path) -> None:
    session = make_session(tmp_path)
    module = ModuleFacts("__main__", "prog.py", not_found=(ImportAttempt("nowhere"),))
    session.check_modules([module])
    assert session.guard.report().findings == []


# -- data files and entry points ------------------------------------------------------------


def test_binary_data_files_are_checked_unless_inhibited_or_not_data(tmp_path: Path) -> None:
    install(
        tmp_path,
        "vendor",
        "1.0",
        {"vendor/lib.dylib": ARM, "vendor/other.dylib": ARM, "vendor/readme.txt": b"hello"},
    )
    session = make_session(tmp_path)
    session.check_data_file(str(tmp_path / "vendor/lib.dylib"), kind="data_file", tags=())
    session.check_data_file(
        str(tmp_path / "vendor/other.dylib"), kind="data_file", tags=["inhibit"]
    )
    session.check_data_file(str(tmp_path / "vendor/other.dylib"), kind="data_blob", tags=())
    session.check_data_file(str(tmp_path / "vendor/readme.txt"), kind="data_file", tags=())
    session.check_data_file(None, kind="data_file", tags=())
    # A library among data files that nothing links, with no copy for the target beside it:
    # the import works, only code that loads it on purpose fails (the payload rule).
    (finding,) = session.guard.report().findings
    assert finding.path.endswith("lib.dylib") and finding.severity is Severity.WARNING
    assert "no included binary links it" in finding.message


def test_entry_points_main_binary_and_ignored_kinds_are_skipped(tmp_path: Path) -> None:
    install(tmp_path, "tool", "1.0", {"tool/a.dylib": ARM})
    path = str(tmp_path / "tool/a.dylib")
    session = make_session(tmp_path)
    session.check_entry_point(EntryPointFacts("dll", path, None, "main binary"))
    session.check_entry_point(EntryPointFacts("dll_ignored", path, None))
    session.check_entry_point(EntryPointFacts("dll", "", None))
    assert session.guard.report().findings == []
    session.check_entry_point(EntryPointFacts("dll", path, "tool.mod"))
    session.check_entry_point(EntryPointFacts("dll", path, "tool.mod"))  # once per file
    (finding,) = session.guard.report().findings
    assert finding.needed_by[0] == "tool.mod"


@pytest.mark.parametrize(
    ("kind", "role"),
    [
        ("extension", Role.EXTENSION_MODULE),
        ("dll", Role.SHARED_LIBRARY),
        ("exe", Role.EXECUTABLE),
        ("executable", Role.EXECUTABLE),
        ("dll_ignored", None),
        ("extension_ignored", None),
        ("something", None),
    ],
)
def test_entry_point_roles(kind: str, role: Optional[Role]) -> None:
    assert entry_point_role(kind) is role


def test_an_internal_error_becomes_a_finding_naming_the_file(tmp_path: Path) -> None:
    session = make_session(tmp_path, mode="warning")

    def broken() -> None:
        raise RuntimeError("reader bug")

    session.check_safely(str(tmp_path / "lib.so"), broken)
    (finding,) = session.guard.report().findings
    assert finding.code is Code.UNREADABLE_BINARY
    assert (
        "lib.so could not be checked: internal error in archguard (RuntimeError: reader bug)"
        in finding.message
    )
    assert _levels(session.early(standalone=False)) == [Level.WARNING, Level.INFO]


# -- the folders a stopped build leaves behind ------------------------------------------------


def test_a_stop_removes_the_build_folders_the_build_created_and_nothing_else(
    tmp_path: Path,
) -> None:
    site, out = tmp_path / "site", tmp_path / "out"
    seed_like(site)
    (out / "old.build").mkdir(parents=True)
    (out / "prog.dist").mkdir()  # from an earlier build: Nuitka empties it, archguard keeps it
    (out / "notes").mkdir()
    session = make_session(site)
    session.folders = OutputFolders.snapshot(str(out))
    (out / "prog.build" / "static_src").mkdir(parents=True)
    (out / "prog.build" / ".gitignore").write_text("*")
    (out / "prog.onefile-build").mkdir()
    (out / "user-data").mkdir()
    session.check_modules(seed_modules(site))
    assert _levels(session.early(standalone=True)) == [Level.STOP]
    assert sorted(p.name for p in out.iterdir()) == ["notes", "old.build", "prog.dist", "user-data"]


def test_an_output_folder_the_build_created_goes_when_empty(tmp_path: Path) -> None:
    out = tmp_path / "out"
    folders = OutputFolders.snapshot(str(out))
    (out / "prog.build").mkdir(parents=True)
    (out / "prog.dist").mkdir()
    assert folders.remove_created() == [str(out / "prog.build"), str(out / "prog.dist"), str(out)]
    assert not out.exists()


def test_a_folder_holding_the_json_report_is_kept(tmp_path: Path) -> None:
    folders = OutputFolders.snapshot(str(tmp_path))
    (tmp_path / "prog.build").mkdir()
    (tmp_path / "prog.build" / "report.json").write_text("{}")
    (tmp_path / "prog.dist").mkdir()
    (tmp_path / "link.dist").symlink_to(tmp_path / "prog.build")
    assert folders.remove_created(keep=str(tmp_path / "prog.build" / "report.json")) == [
        str(tmp_path / "prog.dist")
    ]
    assert (tmp_path / "prog.build" / "report.json").exists()
    assert (tmp_path / "link.dist").is_symlink()


def test_no_stop_removes_nothing(tmp_path: Path) -> None:
    site, out = tmp_path / "site", tmp_path / "out"
    seed_like(site, cffi=X86, cffi_tag="cp311-cp311-macosx_10_9_x86_64")
    session = make_session(site)
    session.folders = OutputFolders.snapshot(str(out))
    (out / "prog.build").mkdir(parents=True)
    session.check_modules(seed_modules(site))
    assert _levels(session.early(standalone=False)) == [Level.INFO]
    assert (out / "prog.build").is_dir()


# -- the target --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "host", "expected"),
    [
        (None, "arm64", {"arm64"}),
        ("native", "x86_64", {"x86_64"}),
        ("arm64", "x86_64", {"arm64"}),
        ("universal", "arm64", {"arm64", "x86_64"}),
        ("x86_64", "arm64", {"x86_64"}),
    ],
)
def test_macos_target_arch(option: Optional[str], host: str, expected: set[str]) -> None:
    assert macos_archs(option, host) == frozenset(expected)


def test_an_unknown_macos_target_arch_is_a_target_error() -> None:
    with pytest.raises(TargetError):
        macos_archs("ppc", "arm64")


def test_the_plugin_target_off_macos_is_the_compiling_interpreter() -> None:
    target = plugin_target(platform="linux", macos_target_arch="arm64")
    assert target.platform != "macos"


def test_the_macos_minimum_comes_from_the_option_else_the_python_binary(tmp_path: Path) -> None:
    python = tmp_path / "python3"
    python.write_bytes(macho.fat([X86, ARM]))
    assert python_min_macos(str(python), {"x86_64", "arm64"}) == "10.9"
    assert python_min_macos(str(python), {"arm64"}) == "11.0"
    assert python_min_macos(str(tmp_path / "missing"), {"arm64"}) is None
    target = plugin_target(
        platform="darwin",
        macos_target_arch="x86_64",
        host_arch="arm64",
        python_executable=str(python),
    )
    assert target.archs == frozenset({"x86_64"}) and str(target.min_os) == "10.9"
    chosen = plugin_target(platform="darwin", host_arch="arm64", min_os="12.0")
    assert chosen.archs == frozenset({"arm64"}) and str(chosen.min_os) == "12.0"
    with pytest.raises(TargetError):
        plugin_target(platform="darwin", host_arch="arm64", min_os="nonsense")


def test_a_bad_min_os_from_pyproject_names_the_file(tmp_path: Path) -> None:
    """As the scanner and fix do: the error says which file holds the bad value; a bad
    ``--archguard-min-os`` is the user's own option and is named as such."""
    (tmp_path / "pyproject.toml").write_text('[tool.archguard]\nmin-os = "ten"\n')
    project = project_config(str(tmp_path))
    settings = merge_settings(
        mode=None, allow=(), min_os=None, strict_min_os=False, report_path=None,
        project=project,
    )  # fmt: skip
    with pytest.raises(TargetError) as bad:
        plugin_target(
            platform="darwin", host_arch="arm64",
            min_os=settings.min_os, min_os_from=settings.min_os_from,
        )  # fmt: skip
    message = str(bad.value)
    assert message.startswith(f"{tmp_path / 'pyproject.toml'}: [tool.archguard] min-os: ")
    assert "ten" in message
    # The command line wins and is not blamed on the file.
    option = merge_settings(
        mode=None, allow=(), min_os="eleven", strict_min_os=False, report_path=None,
        project=project,
    )  # fmt: skip
    assert option.min_os_from is None
    with pytest.raises(TargetError) as bad_option:
        plugin_target(
            platform="darwin", host_arch="arm64",
            min_os=option.min_os, min_os_from=option.min_os_from,
        )  # fmt: skip
    assert "pyproject.toml" not in str(bad_option.value)
    # Elsewhere Nuitka builds for the host and min-os is not used, as in the scanner.
    assert plugin_target(platform="linux", min_os=settings.min_os).platform != "macos"


def test_min_os_advice_names_the_plugins_option(tmp_path: Path) -> None:
    """Inside Nuitka the minimum macOS is raised with ``--archguard-min-os``; the scanner's
    ``--min-os`` would be an unknown Nuitka option."""
    newer = macho.thin("x86_64", build_version=("macos", "12.0", "14.0"))
    files = {"newer.cpython-311-darwin.so": newer}
    install(tmp_path, "newer", "1.0", files, tag="cp311-cp311-macosx_12_0_x86_64")
    session = make_session(tmp_path)
    session.check_modules(
        [ModuleFacts("newer", str(tmp_path / "newer.cpython-311-darwin.so"), is_extension=True)]
    )
    (finding,) = session.guard.report().warnings
    assert finding.code is Code.MIN_OS_TOO_NEW
    assert "--archguard-min-os 12.0" in finding.fix
    assert "--min-os 12.0" not in finding.fix.replace("--archguard-min-os", "")
