"""Command-line options shared by ``scan``, ``fix`` and ``resolve``, declared once, and
the parser class every subcommand's parser is made of.

In the style of auditwheel's ``options.py``: one function per shared option, called by every
subcommand that takes it, so that an option is spelled, explained and validated in one
place. :func:`settings` then merges the command line over ``[tool.archguard]`` over this
interpreter once, for every command.

Imported only when a subcommand that takes these options is run (``inspect`` stays light):
the ``--target`` help is generated from the platform registry (:mod:`.target`), so it lists
exactly the spellings the parser accepts.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn, Optional

from ..text import shown

if TYPE_CHECKING:
    from ..check.config import Config
    from ..check.scan import AllowRule
    from ..fix.wheels import PipOptions
    from ..target import Target

__all__ = [
    "Formatter",
    "OptionsError",
    "Parser",
    "Settings",
    "add_accept_different",
    "add_allow",
    "add_format",
    "add_index_options",
    "add_min_os",
    "add_python_version",
    "add_strict_min_os",
    "add_target",
    "columns",
    "pip_options",
    "project_config",
    "python_version_error",
    "settings",
    "target_help",
]


def columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` finds it ($COLUMNS, then the
    terminal of stdout, else 80), without importing shutil (which loads bz2 and lzma)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class Formatter(argparse.HelpFormatter):
    """argparse's help formatter, sized by :func:`columns`: argparse makes one for every
    ``add_argument`` and imports shutil in it only to ask the width, which cost ``inspect``
    a few milliseconds of start-up."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: Optional[int] = None,
        **kwargs: Any,
    ) -> None:
        width = width if width is not None else columns() - 2  # as argparse does
        super().__init__(prog, indent_increment, max_help_position, width, **kwargs)


class Parser(argparse.ArgumentParser):
    """argparse quotes some values it complains about (``invalid choice: '...'``) but not
    others (``unrecognized arguments: ...``, an argument such as a hostile file name
    starting with ``-``): every usage error is one line shown escaped, so no argument can
    begin a ``::command::`` line on stderr, which GitHub reads too. Subcommand parsers
    are of this class as well (``add_subparsers`` uses the parent's class)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        super().error(shown(message))


class OptionsError(Exception):
    """Options (or ``[tool.archguard]``) that cannot be used; the message is one line."""


def target_help(default: str = "this interpreter") -> str:
    """``--target``'s help: every accepted spelling, from the registry the parser uses."""
    from ..target import accepted_targets

    return f"the platform the build must run on: {accepted_targets()} (default: {default})"


def add_target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        metavar="T",
        help=target_help("[tool.archguard] target, else this interpreter"),
    )


def add_min_os(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--min-os",
        metavar="V",
        help="oldest macOS the build must run on, e.g. 10.13 (macOS targets only; "
        "default: [tool.archguard] min-os, else the wheel tag's or the interpreter's)",
    )


def add_strict_min_os(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--strict-min-os",
        action="store_true",
        default=None,
        help="a binary needing a newer macOS than --min-os is an error, not a warning",
    )


def add_allow(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="PATTERN[:REASON]",
        help="accept findings of a distribution, module or path glob (repeatable; added "
        "to [tool.archguard] allow)",
    )


def add_accept_different(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--accept-different",
        action="append",
        default=[],
        metavar="GLOB",
        help="when fusing, keep the installed copy of differing non-binary files matching "
        "GLOB (repeatable; added to [tool.archguard] accept-different)",
    )


def add_format(parser: argparse.ArgumentParser, choices: tuple[str, ...]) -> None:
    parser.add_argument(
        "--format",
        choices=choices,
        default=choices[0],
        help=f"output format (default: {choices[0]})",
    )


def add_python_version(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--python-version",
        metavar="X.Y",
        help="Python version of the wheels (default: the environment's)",
    )


def python_version_error(text: Optional[str]) -> Optional[str]:
    """The one line to print for a bad ``--python-version``, None when it is fine (or
    absent). Checked after parsing: an argparse error would print the usage too."""
    if text is None:
        return None
    parts = text.split(".")
    if len(parts) == 2 and all(p.isascii() and p.isdigit() and len(p) <= 3 for p in parts):
        return None
    return f"--python-version {text!r}: expected X.Y, e.g. 3.11"


def add_index_options(parser: argparse.ArgumentParser) -> None:
    """pip's index options, passed through to pip unchanged (:func:`pip_options`)."""
    group = parser.add_argument_group("package index (passed to pip)")
    group.add_argument("--index-url", metavar="URL", help="base URL of the package index")
    group.add_argument(
        "--extra-index-url",
        action="append",
        default=[],
        metavar="URL",
        help="another index to use as well (repeatable)",
    )
    group.add_argument(
        "--find-links",
        action="append",
        default=[],
        metavar="DIR",
        help="a folder or page of wheels to look in (repeatable)",
    )
    group.add_argument("--no-index", action="store_true", help="use no index, only --find-links")


def pip_options(args: argparse.Namespace) -> PipOptions:
    from ..fix.wheels import PipOptions

    return PipOptions(
        index_url=args.index_url,
        extra_index_urls=tuple(args.extra_index_url),
        find_links=tuple(args.find_links),
        no_index=bool(args.no_index),
    )


class Settings(NamedTuple):
    """The command line merged over ``[tool.archguard]`` over this interpreter."""

    config: Config
    target: Target
    strict_min_os: bool
    allow: tuple[str, ...]
    """The file's rules first, then ``--allow``'s."""
    accept_different: tuple[str, ...]

    def allow_rules(self, option: str = "--allow") -> tuple[AllowRule, ...]:
        """:attr:`allow` as rules that say where each was written (the file or ``option``)."""
        from ..check.scan import allow_rules

        return allow_rules(self.config, self.allow[len(self.config.allow) :], option)


def project_config() -> Config:
    """``[tool.archguard]`` of the current directory; :class:`OptionsError` if unusable."""
    from ..check.config import ConfigError, load_config

    try:
        return load_config()
    except ConfigError as error:
        raise OptionsError(str(error)) from None


def settings(args: argparse.Namespace, config: Optional[Config] = None) -> Settings:
    """Merge the options a command has over ``[tool.archguard]`` (read now unless given).

    ``--target``/``--min-os``/``--strict-min-os`` override the file; ``--allow`` and
    ``--accept-different`` add to it. Raises :class:`OptionsError` with one line.
    """
    from ..check.config import resolve_target
    from ..target import TargetError

    config = config if config is not None else project_config()
    try:
        target = resolve_target(
            getattr(args, "target", None), getattr(args, "min_os", None), config
        )
    except TargetError as error:
        raise OptionsError(str(error)) from None
    strict = getattr(args, "strict_min_os", None)
    return Settings(
        config=config,
        target=target,
        strict_min_os=bool(strict if strict is not None else config.strict_min_os),
        allow=(*config.allow, *getattr(args, "allow", ())),
        accept_different=(*config.accept_different, *getattr(args, "accept_different", ())),
    )
