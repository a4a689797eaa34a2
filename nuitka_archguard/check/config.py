"""``[tool.archguard]`` in the ``pyproject.toml`` of the current directory.

A project writes its accepted exceptions and its target once, next to its build settings,
instead of in every CI step::

    [tool.archguard]
    target = "macos-universal2"
    min-os = "10.13"
    strict-min-os = false
    allow = ["pyobjc-core:ships its own loader", "vendor/*.dylib"]
    accept-different = ["numpy/__config__.py"]  # fix: keep the installed copy when fusing

Command-line flags override ``target``, ``min-os`` and ``strict-min-os``; ``--allow``
patterns are added to the file's. TOML is read with :mod:`tomllib` on Python 3.11+ and the
``tomli`` package before that.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from ..text import shown
from .metadata import FILE_LIMIT, MetadataError, read_regular

if TYPE_CHECKING:
    from ..target import Target

__all__ = ["Config", "ConfigError", "load_config", "resolve_target", "table_name"]

KEYS = ("allow", "target", "min-os", "strict-min-os", "accept-different")


class ConfigError(Exception):
    """``pyproject.toml`` exists but its ``[tool.archguard]`` cannot be used; one line."""


@dataclass(frozen=True)
class Config:
    allow: tuple[str, ...] = ()
    accept_different: tuple[str, ...] = ()
    """Globs of non-binary files ``fix`` may keep from the installed copy when fusing."""
    target: Optional[str] = None
    min_os: Optional[str] = None
    strict_min_os: Optional[bool] = None
    source: Optional[str] = None
    """The file the settings came from, None when there was none."""


def _toml_loads() -> Callable[[str], dict[str, Any]]:
    name = "tomllib" if sys.version_info >= (3, 11) else "tomli"
    try:
        module = importlib.import_module(name)
    except ImportError:
        raise ConfigError(
            "reading pyproject.toml needs the 'tomli' package on Python < 3.11"
        ) from None
    loads: Callable[[str], dict[str, Any]] = module.loads
    return loads


def load_config(directory: Union[str, os.PathLike[str], None] = None) -> Config:
    """Settings from ``directory``/pyproject.toml (default: the current directory); empty
    settings when the file or the table is absent. Raises :class:`ConfigError`."""
    try:
        base = os.fspath(directory) if directory is not None else os.getcwd()
    except OSError as error:  # the working directory was deleted
        raise ConfigError(f"cannot use the current directory: {error.strerror}") from None
    path = os.path.join(base, "pyproject.toml")
    try:
        # Regular files only, never blocking, at most FILE_LIMIT bytes (metadata.py).
        data = read_regular(path, FILE_LIMIT)
    except MetadataError as error:
        if error.missing:
            return Config()
        raise ConfigError(f"{shown(path)}: {error}") from None
    try:
        document = _toml_loads()(data.decode("utf-8"))
    except ConfigError:
        raise
    except (UnicodeDecodeError, ValueError) as error:  # TOMLDecodeError is a ValueError
        raise ConfigError(f"{shown(path)}: invalid TOML: {shown(str(error))}") from None
    except RecursionError:
        raise ConfigError(f"{shown(path)}: invalid TOML: nested too deeply") from None
    tool = document.get("tool")
    table = tool.get("archguard") if isinstance(tool, dict) else None
    if table is None:
        return Config(source=None)
    where = f"{shown(path)}: [tool.archguard]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {shown(', '.join(unknown))}; known keys: {', '.join(KEYS)}"
        )
    allow = _string_list(table, "allow", where, "strings")
    accept = _string_list(table, "accept-different", where, "globs")
    target = table.get("target")
    if target is not None and not isinstance(target, str):
        raise ConfigError(f'{where}: target must be a string such as "macos-x86_64"')
    min_os = table.get("min-os")
    if isinstance(min_os, bool) or (min_os is not None and not isinstance(min_os, (str, int))):
        # A TOML float would turn 10.10 into 10.1: insist on a string.
        raise ConfigError(f'{where}: min-os must be a string such as "10.13"')
    strict = table.get("strict-min-os")
    if strict is not None and not isinstance(strict, bool):
        raise ConfigError(f"{where}: strict-min-os must be true or false")
    return Config(
        allow=tuple(allow),
        accept_different=tuple(accept),
        target=target,
        min_os=str(min_os) if min_os is not None else None,
        strict_min_os=strict,
        source=path,
    )


def _string_list(table: dict[str, Any], key: str, where: str, what: str) -> list[str]:
    """A key that takes one string or a list of them (``allow``, ``accept-different``)."""
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where}: {key} must be a list of {what}")
    return value


def resolve_target(text: Optional[str], min_os: Optional[str], config: Config) -> Target:
    """``--target``/``--min-os`` over ``[tool.archguard]`` over this interpreter.

    The file's ``min-os`` applies to macOS targets only, and not when the command line
    names a target that carries its own minimum (``macosx_10_13_x86_64``)."""
    from ..archs import Platform  # packaging: only when used
    from ..target import TargetError, host_target, parse_target

    from_cli = text is not None
    text = text if text is not None else config.target
    try:
        target = parse_target(text) if text is not None else host_target()
    except TargetError as error:
        if from_cli:
            raise
        raise TargetError(f"{table_name(config)} target: {error}") from None
    if min_os is not None:
        return parse_target(text, min_os) if text is not None else _with_min_os(target, min_os)
    own_minimum = from_cli and target.min_os is not None
    if config.min_os is not None and target.platform == Platform.MACOS and not own_minimum:
        try:
            return _with_min_os(target, config.min_os)
        except TargetError as error:
            raise TargetError(f"{table_name(config)} min-os: {error}") from None
    return target


def table_name(config: Config) -> str:
    """Where a setting from ``pyproject.toml`` came from, for its error message."""
    return f"{config.source}: [tool.archguard]" if config.source else "[tool.archguard]"


def _with_min_os(target: Target, min_os: str) -> Target:
    from ..archs import Platform
    from ..target import TargetError, parse_target

    if target.platform != Platform.MACOS:
        raise TargetError(f"--min-os applies to macOS targets only, not to {target.name!r}")
    return parse_target(target.name, min_os)
