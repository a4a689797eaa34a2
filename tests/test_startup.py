"""Start-up: a command imports only what it needs.

``nuitka-archguard inspect FILE`` reads one header; it must not pay for the scanner's
imports (ownership, metadata, packaging's requirement parser, the email package). Checked
in a fresh interpreter, since this test process has imported everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.synth import elf

NOT_FOR_INSPECT = (
    "email",
    "packaging.requirements",
    "packaging.specifiers",
    "packaging.tags",
    "nuitka_archguard.check.scan",
    "nuitka_archguard.check.ownership",
    "nuitka_archguard.check.metadata",
    "nuitka_archguard.check.policy",
    "nuitka_archguard.check.advice",
    "nuitka_archguard.target",
    "zipfile",
    "subprocess",
)
"""(bz2 and lzma are not listed: argparse's help formatter imports shutil, which loads them.)"""


def _modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``code``."""
    script = (
        f"{code}\nimport json, sys\nsys.stderr.write('MODULES=' + json.dumps(sorted(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert "MODULES=" in result.stderr, result.stderr
    return set(json.loads(result.stderr.rpartition("MODULES=")[2]))


def _loaded(modules: set[str], name: str) -> bool:
    return name in modules or any(m.startswith(name + ".") for m in modules)


def test_inspect_imports_no_scanner_email_or_packaging_requirements(tmp_path: Path) -> None:
    binary = tmp_path / "lib.so"
    binary.write_bytes(elf.elf("aarch64"))
    modules = _modules_after(
        "import contextlib, io\n"
        "from nuitka_archguard.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        f"    code = main(['inspect', {str(binary)!r}])\n"
        "assert code == 0 and 'aarch64' in out.getvalue(), out.getvalue()\n"
    )
    assert "nuitka_archguard.binaries.elf" in modules  # it did run
    assert [name for name in NOT_FOR_INSPECT if _loaded(modules, name)] == []


def test_importing_the_package_is_cheap_and_its_api_arrives_on_first_use() -> None:
    modules = _modules_after("import nuitka_archguard\nnuitka_archguard.plugin_path()")
    assert [name for name in NOT_FOR_INSPECT if _loaded(modules, name)] == []
    modules = _modules_after(
        "import nuitka_archguard as a\n"
        "import nuitka_archguard.check.scan\n"
        "assert callable(a.scan) and not isinstance(a.scan, type(a)), a.scan\n"
        "from nuitka_archguard import Checker, Target, inspect_file, scan\n"
        "assert scan.__module__ == 'nuitka_archguard.check.scan'\n"
    )
    assert "nuitka_archguard.check.scan" in modules


@pytest.mark.parametrize("name", ["scan", "Checker", "Distribution", "parse_target", "Slice"])
def test_every_public_name_resolves(name: str) -> None:
    import nuitka_archguard

    assert name in nuitka_archguard.__all__
    assert getattr(nuitka_archguard, name) is not None
    assert name in dir(nuitka_archguard)


def test_an_unknown_attribute_is_an_attribute_error() -> None:
    import nuitka_archguard

    with pytest.raises(AttributeError):
        nuitka_archguard.no_such_thing  # noqa: B018


def test_fix_is_listed_the_same_whether_or_not_its_module_is_loaded() -> None:
    from nuitka_archguard.cli import main as cli

    light, full = cli._build_parser(None), cli._build_parser("fix")
    assert light.format_help() == full.format_help()
    assert cli.FIX_HELP in " ".join(light.format_help().split())


# -- the binary model, written without dataclasses for start-up ----------------------------------


def test_the_binary_model_is_a_frozen_value() -> None:
    import inspect

    from nuitka_archguard.binaries import BinaryFormat, BinaryInfo, Slice

    for cls in (Slice, BinaryInfo):  # __init__ takes the fields in their order
        assert tuple(inspect.signature(cls).parameters) == cls._fields
    one = Slice("x86_64", "dylib", dependencies=("libc.so",))
    assert one == Slice(arch="x86_64", file_type="dylib", dependencies=("libc.so",))
    assert one != Slice("arm64", "dylib") and one != ("x86_64", "dylib")
    assert hash(one) == hash(Slice("x86_64", "dylib", dependencies=("libc.so",)))
    assert repr(one).startswith("Slice(arch='x86_64', file_type='dylib', platform=None,")
    info = BinaryInfo("/a.so", BinaryFormat.ELF, (one,), notes=("seen",))
    assert info == BinaryInfo("/a.so", BinaryFormat.ELF, (one,))  # notes are not compared
    assert len({info, BinaryInfo("/a.so", BinaryFormat.ELF, (one,))}) == 1
    assert info.archs == ("x86_64",) and info.notes == ("seen",)
    with pytest.raises(AttributeError):
        one.arch = "arm64"
    with pytest.raises(AttributeError):
        del info.path
    with pytest.raises(AttributeError):
        one.extra = 1


def test_inspect_does_not_import_dataclasses(tmp_path: Path) -> None:
    binary = tmp_path / "lib.so"
    binary.write_bytes(elf.elf("x86_64"))
    modules = _modules_after(
        "import contextlib, io\n"
        "from nuitka_archguard.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main(['inspect', {str(binary)!r}])\n"
    )
    assert "dataclasses" not in modules
