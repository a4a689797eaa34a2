"""``nuitka-archguard resolve [REQ...] [-r FILE]... --target T``: which versions of the
requirements install for the target, before anything is installed (:mod:`.fix.resolve`).

Exit codes: 0 the requirements install for the target as they are (the versions the build
machine gets); 1 they do only with other versions (each named; ``--write-constraints``
writes the pins) or not at all; 2 usage or index errors. Never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ..common import ExitCode
from ..target import TargetError, parse_target
from ..text import OutputError, json_text, shown, write
from . import RESOLVE_HELP
from .console import guarded
from .options import (
    add_format,
    add_index_options,
    add_min_os,
    pip_options,
    python_version_error,
    target_help,
)

__all__ = ["add_resolve_parser", "run_resolve"]


class _Failure(Exception):
    """One line for stderr; exit 2."""


def add_resolve_parser(commands: Any) -> argparse.ArgumentParser:
    """Register ``resolve`` on the CLI's subparsers."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "resolve",
        help=RESOLVE_HELP,
        description=(
            "Resolve the requirements with pip's resolver for the build machine and for every "
            "architecture of the target (pip install --dry-run --report, binary wheels only: "
            "nothing is installed, no code runs); name, per distribution, the newest version "
            "with a wheel for the target and why newer ones do not fit, and the newest "
            "consistent set (for macos-universal2: common to both architectures). Index "
            "options are passed to pip."
        ),
        epilog="exit status: 0 the requirements install for the target as they are, 1 only "
        "with other versions (or not at all), 2 usage or index error",
    )
    parser.add_argument("requirements", nargs="*", metavar="REQ", help="requirement specifiers")
    parser.add_argument(
        "-r", "--requirement", action="append", default=[], metavar="FILE",
        help="a requirements file (repeatable)",
    )  # fmt: skip
    parser.add_argument("--target", metavar="T", help=target_help("none, it is required"))
    parser.add_argument(
        "--python-version", metavar="X.Y",
        help="the target's Python (default: the running one's)",
    )  # fmt: skip
    add_min_os(parser)
    parser.add_argument(
        "--write-constraints", metavar="FILE",
        help="write the consistent set as pins for 'pip install -r REQS -c FILE'",
    )  # fmt: skip
    add_format(parser, ("text", "json"))
    add_index_options(parser)
    parser.set_defaults(run=run_resolve, parser=parser)
    return parser


def run_resolve(args: argparse.Namespace) -> int:
    return guarded(_run, args, said=(_Failure, OutputError))


def _run(args: argparse.Namespace) -> int:
    from ..fix.resolve import ResolveError, render_resolution, resolve
    from ..fix.wheels import PythonSpec

    if not args.requirements and not args.requirement:
        raise _Failure("resolve needs requirements: REQ... or -r FILE")
    if not args.target:
        raise _Failure("resolve needs --target: the platform the build must run on")
    try:
        target = parse_target(args.target, args.min_os)
    except TargetError as error:
        raise _Failure(str(error)) from None
    problem = python_version_error(args.python_version)
    if problem:
        raise _Failure(shown(problem))
    version = args.python_version or "{}.{}".format(*sys.version_info[:2])
    for path in args.requirement:
        if not os.path.isfile(path):
            raise _Failure(f"cannot read the requirements file {shown(path)}")
    for requirement in args.requirements:
        if requirement.startswith("-"):
            raise _Failure(f"not a requirement: {shown(requirement)}")
    options = pip_options(args)
    try:
        resolution = resolve(
            args.requirements,
            target,
            requirement_files=args.requirement,
            python=PythonSpec(version),
            options=options,
        )
    except ResolveError as error:
        raise _Failure(str(error)) from None
    if args.write_constraints:
        if resolution.problems:
            raise _Failure(
                "no constraints written: " + "; ".join(shown(p) for p in resolution.problems)
            )
        try:
            with open(args.write_constraints, "w", encoding="utf-8") as handle:
                handle.write(resolution.constraints_text())
        except OSError as error:
            raise _Failure(f"cannot write {shown(args.write_constraints)}: {error}") from None
    if args.format == "json":
        write(sys.stdout, json_text(resolution.to_json()) + "\n")
    else:
        write(sys.stdout, render_resolution(resolution) + "\n")
    return int(ExitCode.OK if resolution.ok else ExitCode.FINDINGS)
