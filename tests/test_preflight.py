"""The plugin's preflight (``nuitka_plugin/preflight.py``) without Nuitka: the program's
imports read with ``ast``, the distributions they reach and require, and the promise that
the preflight stops only for what the full check reports as an error too (here: the same
file is an error for ``scan`` of the same folder; the real Nuitka builds check it against
the plugin's full check in tests/test_nuitka_builds.py and tests/test_macos_emulated.py)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

from nuitka_archguard.check.scan import scan
from nuitka_archguard.nuitka_plugin.preflight import (
    PreflightResult,
    marker_environments,
    preflight,
    preflight_summary,
)
from nuitka_archguard.nuitka_plugin.support import Level, Mode, Settings
from nuitka_archguard.target import parse_target
from tests import fixwheels
from tests.synth import elf, macho

LINUX = parse_target("linux-x86_64")
PY_TAG = "cp311-cp311"


def _dist(
    site: Path,
    name: str,
    files: dict[str, bytes],
    *,
    tag: str = "py3-none-any",
    requires: Sequence[str] = (),
    version: str = "1.0",
) -> None:
    wheel = fixwheels.make_wheel(site.parent / "wheels", name, version, tag, files,
                                 requires=tuple(requires))  # fmt: skip
    fixwheels.install(wheel, site)


def _bad_package(site: Path, name: str = "badpkg", *, init: str = "from . import _ext\n") -> str:
    """A package whose extension module is aarch64 only (abi3: the host would load it)."""
    path = f"{name}/_ext.abi3.so"
    _dist(site, name, {f"{name}/__init__.py": init.encode(), path: elf.elf("aarch64")},
          tag="cp311-abi3-manylinux_2_17_aarch64")  # fmt: skip
    return str(site / path)


def _run(
    tmp_path: Path,
    program: str,
    site: Path,
    *,
    target=LINUX,  # type: ignore[no-untyped-def]
    nofollow: Sequence[str] = (),
    settings: Optional[Settings] = None,
    macos_import_check: bool = False,
    files: Optional[dict[str, str]] = None,
) -> PreflightResult:
    app = tmp_path / "app"
    app.mkdir(exist_ok=True)
    (app / "prog.py").write_text(program)
    for rel, text in (files or {}).items():
        (app / rel).parent.mkdir(parents=True, exist_ok=True)
        (app / rel).write_text(text)
    return preflight(
        [str(app / "prog.py")],
        target,
        settings or Settings(),
        search_path=[str(site)],
        nofollow=nofollow,
        macos_import_check=macos_import_check,
    )


def _stop_text(result: PreflightResult) -> str:
    stops = [m.text for m in result.messages if m.level is Level.STOP]
    assert len(stops) == 1, result.messages
    return stops[0]


# -- stops ----------------------------------------------------------------------------------------


def test_foreign_extension_imported_through_package_stops(tmp_path: Path) -> None:
    site = tmp_path / "site"
    bad = _bad_package(site)
    start = time.monotonic()
    result = _run(tmp_path, "import badpkg\n", site)
    assert time.monotonic() - start < 5
    text = _stop_text(result)
    assert text.startswith("stopped before the C compilation, in the preflight: 1 binary")
    assert "badpkg 1.0" in text and "arch-missing" in text and "_ext.abi3.so" in text
    assert "Fix every offender at once:" in text
    assert "--archguard-preflight=no" in text
    assert [d.name for d in result.distributions] == ["badpkg"]
    assert bad in {f.path for f in scan([str(site)], LINUX).errors}


def test_local_module_of_the_program_folder_is_followed(tmp_path: Path) -> None:
    site = tmp_path / "site"
    _bad_package(site)
    result = _run(tmp_path, "import helper\n", site,
                  files={"helper.py": "def f():\n    from badpkg import _ext\n"})  # fmt: skip
    assert "badpkg 1.0" in _stop_text(result)


def _cffi(site: Path) -> None:
    """cffi as an aarch64-only wheel: its top-level ``_cffi_backend`` has no host file."""
    _dist(site, "cffi", {"_cffi_backend.cpython-311-aarch64-linux-gnu.so": elf.elf("aarch64")},
          tag=f"{PY_TAG}-manylinux_2_17_aarch64")  # fmt: skip


def _cffi_user(site: Path, name: str, requires: str, *, names_backend: bool = True) -> None:
    """A package whose host extension module is built with cffi (its file names
    ``_cffi_backend``, as cryptography's Rust core does) and that requires cffi."""
    ext = elf.elf("x86_64") + (b"\0_cffi_backend\0" if names_backend else b"")
    _dist(site, name, {f"{name}/__init__.py": b"from . import _rust\n",
                       f"{name}/_rust.abi3.so": ext},
          tag="cp311-abi3-manylinux_2_17_x86_64", requires=[requires])  # fmt: skip


def test_only_foreign_file_is_the_silent_drop_named_for_the_requiring_distribution(
    tmp_path: Path,
) -> None:
    """The seed's shape: the program imports a package whose extension module loads
    ``_cffi_backend`` from C, and cffi's exists only for aarch64."""
    site = tmp_path / "site"
    _cffi(site)
    _cffi_user(site, "app", "cffi>=0.5")
    text = _stop_text(_run(tmp_path, "import app\n", site))
    assert "foreign-extension-only" in text and "cffi 1.0" in text
    assert "needed by app" in text


def test_a_required_distribution_nothing_imports_does_not_stop(tmp_path: Path) -> None:
    """Nuitka includes a required distribution's modules only when something imports them:
    a pure requirer, or an extension module that never names ``_cffi_backend``, leaves the
    wrong-arch requirement out of the build, so the preflight must not stop (its promise)."""
    site = tmp_path / "site"
    _cffi(site)
    _dist(site, "backend", {"_backend.cpython-311-aarch64-linux-gnu.so": elf.elf("aarch64")},
          tag=f"{PY_TAG}-manylinux_2_17_aarch64")  # fmt: skip
    _dist(site, "pureapp", {"pureapp/__init__.py": b"X = 1\n"}, requires=["backend", "cffi"])
    _cffi_user(site, "quiet", "cffi", names_backend=False)
    assert not _run(tmp_path, "import pureapp\n", site).stopped
    assert not _run(tmp_path, "import quiet\n", site).stopped


def test_extra_requirement_counts_only_when_requested(tmp_path: Path) -> None:
    site = tmp_path / "site"
    _cffi(site)
    _cffi_user(site, "lib", 'cffi; extra == "fast"')
    _dist(site, "plain", {"plain/__init__.py": b"import lib\n"}, requires=["lib"])
    _dist(site, "fast", {"fast/__init__.py": b"import lib\n"}, requires=["lib[fast]"])
    assert not _run(tmp_path, "import plain\n", site).stopped
    assert "cffi 1.0" in _stop_text(_run(tmp_path, "import fast\n", site))


def test_markers_are_evaluated_for_the_target(tmp_path: Path) -> None:
    site = tmp_path / "site"
    _cffi(site)
    _cffi_user(site, "winapp", 'cffi; sys_platform == "win32"')
    _cffi_user(site, "linuxapp", 'cffi; sys_platform == "linux"')
    assert not _run(tmp_path, "import winapp\n", site).stopped
    assert "cffi 1.0" in _stop_text(_run(tmp_path, "import linuxapp\n", site))
    envs = marker_environments(parse_target("macos-universal2"))
    assert [e["platform_machine"] for e in envs] == ["arm64", "x86_64"]
    assert {e["sys_platform"] for e in envs} == {"darwin"}
    (windows,) = marker_environments(parse_target("windows-amd64"))
    assert (windows["sys_platform"], windows["platform_machine"]) == ("win32", "AMD64")
    assert windows["os_name"] == "nt" and windows["platform_system"] == "Windows"
    (arm,) = marker_environments(parse_target("linux-aarch64"))
    assert (arm["sys_platform"], arm["platform_machine"]) == ("linux", "aarch64")


# -- no false stops -------------------------------------------------------------------------------


def test_installed_but_not_imported_does_not_stop(tmp_path: Path) -> None:
    site = tmp_path / "site"
    bad = _bad_package(site)
    assert bad in {f.path for f in scan([str(site)], LINUX).errors}  # the premise
    result = _run(tmp_path, "import json\nprint(json.dumps(1))\n", site)
    assert result.messages == [] and not result.stopped


def test_package_imported_but_not_its_extension_does_not_stop(tmp_path: Path) -> None:
    site = tmp_path / "site"
    _bad_package(site, init="VERSION = 1\n")
    assert not _run(tmp_path, "import badpkg\n", site).stopped


def test_type_checking_and_other_platform_branches_are_not_followed(tmp_path: Path) -> None:
    site = tmp_path / "site"
    _bad_package(site)
    program = (
        "import sys, os\nfrom typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import badpkg\n"
        "if sys.platform == 'win32':\n    import badpkg\n"
        "if sys.platform.startswith('darwin'):\n    import badpkg\n"
        "if os.name != 'posix':\n    import badpkg\n"
        "else:\n    import json\n"
    )
    assert not _run(tmp_path, program, site).stopped
    assert _run(tmp_path, "import sys\nif sys.platform == 'linux':\n    import badpkg\n",
                site).stopped  # fmt: skip


def test_nofollow_import_to_is_respected(tmp_path: Path) -> None:
    site = tmp_path / "site"
    _bad_package(site)
    assert not _run(tmp_path, "import badpkg\n", site, nofollow=["badpkg"]).stopped


def test_allowed_finding_and_warning_mode_do_not_stop(tmp_path: Path) -> None:
    site = tmp_path / "site"
    _bad_package(site)
    allowed = Settings(allow=("badpkg:known",))
    assert not _run(tmp_path, "import badpkg\n", site, settings=allowed).stopped


def test_warnings_wait_for_the_full_check(tmp_path: Path) -> None:
    """A slice needing a newer macOS than the minimum is a warning: the preflight says
    nothing (the full check will)."""
    site = tmp_path / "site"
    binary = macho.thin("x86_64", "bundle", build_version=("macos", "10.15", "14.0"))
    _dist(site, "newos", {"newos/__init__.py": b"from . import _ext\n",
                          "newos/_ext.abi3.so": binary},
          tag="cp311-abi3-macosx_10_15_x86_64")  # fmt: skip
    target = parse_target("macos-x86_64", "10.9")
    assert [f.code.value for f in scan([str(site)], target).warnings] == ["min-os-too-new"]
    result = _run(tmp_path, "import newos\n", site, target=target)
    assert result.messages == [] and result.extensions == 1


def test_macos_import_check_makes_a_wrong_slice_the_silent_drop(tmp_path: Path) -> None:
    site = tmp_path / "site"
    binary = macho.thin("arm64", "bundle")
    _dist(site, "armonly", {"armonly/__init__.py": b"from . import _ext\n",
                            "armonly/_ext.abi3.so": binary},
          tag="cp311-abi3-macosx_11_0_arm64")  # fmt: skip
    target = parse_target("macos-x86_64", "10.9")
    dropped = _stop_text(_run(tmp_path, "import armonly\n", site, target=target,
                              macos_import_check=True))  # fmt: skip
    assert "foreign-extension-only" in dropped and "armonly 1.0" in dropped
    included = _stop_text(_run(tmp_path, "import armonly\n", site, target=target))
    assert "arch-missing" in included


def test_bad_sources_are_left_to_the_full_check(tmp_path: Path) -> None:
    site = tmp_path / "site"
    _bad_package(site)
    result = _run(tmp_path, "import badpkg\n", site,
                  files={"broken.py": "def (:\n"})  # fmt: skip
    assert result.stopped
    assert not _run(tmp_path, "import broken\nthis is not python\n", site).stopped


def test_summary_line(tmp_path: Path) -> None:
    site = tmp_path / "site"
    _bad_package(site, init="X = 1\n")
    result = _run(tmp_path, "import badpkg\n", site, settings=Settings(mode=Mode.ERROR))
    line = preflight_summary(result)
    assert line.startswith("preflight: 2 Python files read, 1 distribution, 0 extension")
    assert line.endswith(": no errors (the full check follows).")
