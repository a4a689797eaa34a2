"""``nuitka-archguard scan [PATH...]``: the scanner as a command.

Exit codes: 0 no error findings (warnings are fine), 1 error findings, 2 a usage error, a
bad ``pyproject.toml`` or a PATH that cannot be read. Never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from ..common import ExitCode
from ..text import OutputError, json_text, write
from . import SCAN_HELP, console, options

if TYPE_CHECKING:  # imported when a scan runs: `nuitka-archguard inspect` starts faster
    from ..check.scan import ScanReport
    from ..fix.wheels import PipOptions

__all__ = ["add_scan_parser", "run_scan"]

FORMATS = ("text", "json", "github")


def add_scan_parser(commands: Any) -> argparse.ArgumentParser:
    """Register ``scan`` on the CLI's subparsers; ``args.run(args)`` returns the exit code."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "scan",
        help=SCAN_HELP,
        description=(
            "Check every binary in virtualenvs, prefixes, site-packages, Nuitka .dist "
            "folders, .app bundles, directories or .whl files against a target platform. "
            "Reads [tool.archguard] from ./pyproject.toml; flags override it."
        ),
        epilog="exit status: 0 no errors, 1 error findings (or warnings, with --fail-on=warning), "
        "2 usage error or unreadable PATH",
    )
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="what to scan (default: the running interpreter's site-packages)",
    )
    options.add_target(parser)
    options.add_min_os(parser)
    options.add_strict_min_os(parser)
    options.add_allow(parser)
    options.add_format(parser, FORMATS)
    parser.add_argument(
        "--fail-on",
        choices=("error", "warning"),
        default="error",
        help="exit 1 on error findings (default), or on warnings too: what a pre-commit "
        "hook wants, where any wrong binary should stop the commit",
    )
    parser.add_argument(
        "--resolve",
        action="store_true",
        help="ask the package index (pip's resolver for the target: nothing is installed, no "
        "code runs) which release of each distribution without a fitting wheel has one, and "
        "name it in the advice; without it the scan stays offline and the advice names the "
        "'resolve' command that asks",
    )
    options.add_index_options(parser)
    parser.set_defaults(run=run_scan, parser=parser)
    return parser


def run_scan(args: argparse.Namespace) -> int:
    # A failed stdout is said by cli.main (quietly for a closed pipe).
    return console.guarded(_run, args, passed_on=(OutputError,))


def _run(args: argparse.Namespace) -> int:
    from ..check.scan import ScanError, scan

    try:
        chosen = options.settings(args)
        report = scan(
            args.paths or None,
            chosen.target,
            strict_min_os=chosen.strict_min_os,
            allow=chosen.allow_rules(),
        )
    except (options.OptionsError, ScanError) as error:
        console.error(str(error))
        return ExitCode.USAGE
    if args.resolve:
        with_index_answers(report, options.pip_options(args))
    _emit(report, args.format, fix_line(report, args.paths))
    if args.fail_on == "warning" and report.warnings:
        return int(ExitCode.FINDINGS)
    return report.exit_code


def with_index_answers(report: ScanReport, pip: PipOptions) -> None:
    """``--resolve``: ask the index, through ``resolve``'s resolver, which release of each
    distribution whose wheel does not fit has a wheel for the target, and say it in the
    advice of its findings (a release pip's finder did not look at keeps the ``resolve``
    command). An index that cannot be reached is a note; the findings stay as they are."""
    from dataclasses import replace

    from packaging.utils import canonicalize_name

    from ..check.advice import IndexAnswer, asks_the_index, fix_for, python_version_for
    from ..fix.resolve import ResolveError, resolve
    from ..fix.wheels import PythonSpec

    asking: dict[str, dict[str, str]] = {}  # Python version -> canonical name -> name
    for finding in report.findings:
        dist = finding.distribution
        if dist is not None and asks_the_index(finding.code, dist):
            names = asking.setdefault(python_version_for(dist), {})
            names[canonicalize_name(dist.name)] = dist.name
    answers: dict[tuple[str, str], IndexAnswer] = {}
    for python, names in sorted(asking.items()):
        try:
            resolution = resolve(
                sorted(names.values()), report.target, python=PythonSpec(python), options=pip
            )
        except ResolveError as error:
            report.notes.append(f"--resolve: {error}; the advice names the resolve command")
            return
        for fit in resolution.distributions:
            key = canonicalize_name(fit.name)
            if key in names and (fit.newest_fitting or fit.reasons):  # the finder saw it
                answers[python, key] = IndexAnswer(fit.newest_fitting, fit.newest_fitting_wheel)
    for index, finding in enumerate(report.findings):
        dist = finding.distribution
        if dist is None or not asks_the_index(finding.code, dist):
            continue
        answer = answers.get((python_version_for(dist), canonicalize_name(dist.name)))
        if answer is None:
            continue
        fix = fix_for(finding.code, dist, report.target, path=finding.path,
                      archs=finding.archs, min_os=finding.needs_min_os,
                      reason=finding.message, index=answer)  # fmt: skip
        report.findings[index] = replace(finding, fix=fix)


def fix_line(report: ScanReport, paths: list[str]) -> str:
    """``fix all: nuitka-archguard fix --target T PATH...`` when some error finding belongs
    to a distribution that ``fix`` can reinstall (installed by pip, with a version and
    readable metadata; not a wheel file, which ``fix`` leaves alone); empty otherwise."""
    from pathlib import Path

    from ..check.advice import fix_command
    from ..check.fixable import host_refusal, reinstall_refusal

    if not any(not reinstall_refusal(f.distribution) for f in report.errors):
        return ""
    # The environments fix would refuse (another OS's wheels into a venv that runs here)
    # are left out: the line must lead to a fix that changes something.
    kept = [p for p in paths if not host_refusal(Path(p), report.target)]
    if paths and not kept:
        return ""
    return "fix all: " + fix_command(report.target, kept)


def _emit(report: ScanReport, fmt: str, fix: str = "") -> None:
    from ..check.report import render_github, render_text

    if fmt == "json":
        text = json_text(report.to_json())
    elif fmt == "github":
        text = render_github(report)
    else:
        text = render_text(report)
        if fix:
            text = fix + "\n\n" + text
    if text:
        write(sys.stdout, text + "\n")
    for line in report.notes:
        console.note(line)
