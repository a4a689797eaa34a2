"""The package's imports run one way, as its folders read: binaries -> vocabulary -> check ->
fix -> faces. A module may import its own layer and the layers below it, never one above
(the diagnosis never imports the fixer; a reader never imports a judge)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "nuitka_archguard"

#: the layer of each top-level part of the package, lowest first
LAYERS = {
    "binaries": 0,
    **dict.fromkeys(("archs", "target", "text", "common", "wheel", "state"), 1),
    "check": 2,
    "fix": 3,
    **dict.fromkeys(("cli", "nuitka_plugin", "__init__", "__main__"), 4),
}


def _module_parts(path: Path) -> list[str]:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    return parts


def _layer(parts: list[str]) -> int:
    """The layer of a module; the package itself (``from .. import __version__``) is below
    everything: it loads nothing eagerly (its API is imported on first use, PEP 562)."""
    return LAYERS[parts[0]] if parts else -1


def _imports(source: str, own: list[str]) -> list[tuple[int, list[str]]]:
    """Every import of the package that a module (``own``: its parts) makes, at any depth
    (lazy and TYPE_CHECKING ones too), as (line, the imported module's parts)."""
    package = own[:-1]
    found: list[tuple[int, list[str]]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
            elif (node.module or "").split(".")[0] == "nuitka_archguard":
                base = []
            else:
                continue
            module = (node.module or "").split(".")
            if node.level == 0:
                module = module[1:]
            target = base + [part for part in module if part]
            if node.module is None or not target:
                # ``from . import x``: each name may be a module of its own
                for alias in node.names:
                    candidate = [*target, alias.name]
                    is_module = (PACKAGE.joinpath(*candidate).with_suffix(".py").is_file()
                                 or PACKAGE.joinpath(*candidate).is_dir())  # fmt: skip
                    found.append((node.lineno, candidate if is_module else target))
            else:
                found.append((node.lineno, target))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "nuitka_archguard":
                    found.append((node.lineno, parts[1:]))
    return found


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_every_top_level_part_has_a_layer() -> None:
    parts = {path.relative_to(PACKAGE).with_suffix("").parts[0] for path in SOURCES}
    assert parts <= set(LAYERS), f"no layer for {sorted(parts - set(LAYERS))}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_one_way(path: Path) -> None:
    parts = _module_parts(path)
    upward = [
        f"line {line}: {'.'.join(target) or 'nuitka_archguard'}"
        for line, target in _imports(path.read_text(encoding="utf-8"), parts)
        if _layer(target) > _layer(parts)
    ]
    assert not upward, f"{path.relative_to(PACKAGE)} imports a layer above its own: {upward}"


def test_the_rule_sees_upward_imports() -> None:
    """The check itself can fail: the arrow that used to run back up (the scanner importing
    the fixer's journal), lazily inside a function, and a reader importing a judge."""
    lazy = "def f():\n    from ..fix import journal\n"
    assert _imports(lazy, ["check", "scan"]) == [(2, ["fix"])]
    assert _layer(["fix"]) > _layer(["check", "scan"])
    found = _imports("import nuitka_archguard.check.policy\n", ["binaries", "macho"])
    assert found == [(1, ["check", "policy"])] and _layer(found[0][1]) > _layer(["binaries"])


def test_test_files_import_helpers_never_each_other() -> None:
    """Shared builders live in helper modules (``tests/synth/``, ``tests/nuitkabuild.py``, ...):
    a test file that imports another runs that file's tests' fixtures and hides where the
    helper lives."""
    tests = Path(__file__).resolve().parent
    offenders = [
        f"{path.name}: {target}"
        for path in sorted(tests.glob("test_*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom)
        for target in [node.module or ""]
        if target.startswith("tests.test_") or (node.level and target.startswith("test_"))
    ]
    assert not offenders
