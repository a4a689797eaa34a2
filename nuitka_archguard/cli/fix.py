"""``nuitka-archguard fix [PATH...]``: scan, plan, apply, scan again, print the verdict.

Exit codes: 0 everything now fits (or nothing to do); 1 some findings could not be fixed,
each listed with why and the manual way (a changed distribution that still fails the scan
is rolled back and listed so); 2 usage, unreadable input, an environment whose own
interpreter runs on another OS than the target, or a download, staging or apply step that
failed, with the environment as it was. Never a traceback.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from ..check.policy import Severity, display_path
from ..check.report import describe_distribution, summary_line
from ..check.scan import ScanError, ScanReport, scan
from ..common import ExitCode
from ..target import Target
from ..text import OutputError, json_text, shell_quote, shown, write
from . import FIX_HELP, options
from .console import error, guarded

if TYPE_CHECKING:
    from ..fix.environment import Environment
    from ..fix.plan import Action, Plan

__all__ = ["add_fix_parser", "run_fix"]

SCHEMA_VERSION = 1


def add_fix_parser(commands: Any) -> argparse.ArgumentParser:
    """Register ``fix`` on the CLI's subparsers; ``args.run(args)`` returns the exit code."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "fix",
        help=FIX_HELP,
        description=(
            "Scan environments (a virtualenv, a prefix, a site-packages or pip --target "
            "folder), plan one action per offending distribution (the target's wheel of the "
            "same version; fused into universal2 when needed), apply it with a backup and a "
            "journal, scan again. Index options are passed to pip."
        ),
        epilog="exit status: 0 everything fits, 1 findings left that could not be fixed, "
        "2 usage error, unreadable input or failed download (nothing changed)",
    )
    parser.add_argument(
        "paths", nargs="*", metavar="PATH",
        help="environments to fix (default: the running interpreter's); with --output, "
        "wheels or wheelhouse folders",
    )  # fmt: skip
    options.add_target(parser)
    options.add_min_os(parser)
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    options.add_format(parser, ("text", "json"))
    options.add_allow(parser)
    options.add_accept_different(parser)
    parser.add_argument(
        "--allow-version-change", action="store_true",
        help="install an earlier version when the installed one has no wheel for the target",
    )  # fmt: skip
    parser.add_argument(
        "--output", metavar="DIR",
        help="write corrected wheels to DIR (the input wheels are never modified)",
    )  # fmt: skip
    options.add_python_version(parser)
    options.add_index_options(parser)
    parser.add_argument(
        "--undo", action="store_true", help="restore the environment as it was before the last fix"
    )
    parser.add_argument(
        "--keep-changed", action="store_true",
        help="with --undo: undo even when files the fix wrote changed since, keeping those "
        "files in .archguard/kept/ (without it such an undo is refused)",
    )  # fmt: skip
    parser.set_defaults(run=run_fix, parser=parser)
    return parser


class _Failure(Exception):
    """One line for stderr; exit 2."""


@dataclass
class _Outcome:
    code: int
    document: dict[str, Any] = field(default_factory=dict)


def run_fix(args: argparse.Namespace) -> int:
    # A failed stdout is one line on stderr and exit 2 here: a fix's output is its record.
    return guarded(_run, args, said=(_Failure, OutputError))


def _run(args: argparse.Namespace) -> int:
    try:
        config = options.project_config()
        bad_python = options.python_version_error(args.python_version)
        if bad_python:
            raise _Failure(bad_python)
        if args.undo:
            return _undo_all(args)
        chosen = options.settings(args, config)
    except options.OptionsError as error:
        raise _Failure(str(error)) from None
    target, accept = chosen.target, list(chosen.accept_different)
    if args.output is not None:
        from ..fix.wheelhouse import WheelhouseError, fix_wheelhouse

        try:
            house_lines, house_code, document = fix_wheelhouse(
                args.paths, Path(args.output), target, options.pip_options(args),
                python_version=args.python_version, accept_different=accept,
                dry_run=args.dry_run, allow=chosen.allow,
            )  # fmt: skip
        except WheelhouseError as error:
            raise _Failure(str(error)) from None
        _emit(args.format, house_lines, {"schema_version": SCHEMA_VERSION, **document})
        return house_code
    lines = _Lines(live=args.format == "text")
    job = _Job(target, args, accept, list(chosen.allow), lines)
    return _each(args, lines, lambda path: _fix_one(path, job))


def _each(
    args: argparse.Namespace, lines: list[str], one: Callable[[Optional[str]], _Outcome]
) -> int:
    """``one`` for every PATH, each reporting its own outcome: a PATH that fails after
    another was changed never hides that change (its plan, backup and undo command are
    printed, and its JSON result kept); the failure is its own line on stderr, exit 2."""
    paths: list[Optional[str]] = list(args.paths) or [None]
    results: list[dict[str, Any]] = []
    failures: list[str] = []
    code: int = ExitCode.OK
    for path in paths:
        try:
            outcome = one(path)
        except _Failure as failure:
            if len(paths) == 1:
                raise
            where = display_path(path if path is not None else sys.prefix)
            outcome = _Outcome(
                ExitCode.USAGE,
                {"environment": where, "error": str(failure), "exit_code": ExitCode.USAGE},
            )
            lines.append(f"{where}: failed: see the error below")
            failures.append(str(failure))
        results.append(outcome.document)
        code = max(code, outcome.code)
    _emit(
        args.format, lines,
        {"schema_version": SCHEMA_VERSION, "results": results, "exit_code": code},
    )  # fmt: skip
    for message in failures:
        error(message)
    return code


class _Lines(list[str]):
    """The text of a fix. ``live``: each line is printed as it is added (progress as it
    happens: the plan before the downloads, each pip call, staging, apply), not at the end;
    a run that fails midway has shown how far it got."""

    def __init__(self, live: bool = False) -> None:
        super().__init__()
        self.live = live

    def append(self, line: str) -> None:
        super().append(line)
        if self.live:
            write(sys.stdout, shown(line) + "\n")
            sys.stdout.flush()

    def extend(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.append(line)


@dataclass
class _Job:
    """What every environment of one ``fix`` run is fixed with; ``lines`` collects the text."""

    target: Target
    args: argparse.Namespace
    accept: list[str]
    allow: list[str]
    lines: list[str]


def _environment(path: Optional[str]) -> Environment:
    from ..fix.environment import Environment, EnvironmentError_

    try:
        return Environment.from_path(path)
    except EnvironmentError_ as error:
        raise _Failure(str(error)) from None


def _fix_one(path: Optional[str], job: _Job) -> _Outcome:
    from ..fix import journal

    env = _environment(path)
    if job.args.dry_run:
        return _fix_env(env, job)
    try:
        with journal.locked(env.root):
            return _fix_env(env, job)
    except (journal.JournalError, OSError) as error:
        raise _Failure(f"{display_path(str(env.root))}: {error}") from None


def _fix_env(env: Environment, job: _Job, refused: Optional[dict[str, str]] = None) -> _Outcome:
    """One environment: recover, scan, plan, stage, apply, scan again. ``refused``: the
    distributions a first attempt rolled back (name -> why), left as they are this time."""
    from ..check.fixable import fix_program
    from ..fix import journal
    from ..fix.plan import host_refusal, make_plan, offending, predict_fuses
    from ..fix.stage import StageError, stage
    from ..fix.wheels import DownloadError, PythonSpec

    target, args, accept, allow, lines = job.target, job.args, job.accept, job.allow, job.lines
    shown = display_path(str(env.root))
    document: dict[str, Any] = {"environment": shown, "target": target.name}
    if not args.dry_run:
        try:
            recovered = journal.recover(env.root)
        except (journal.JournalError, OSError) as error:
            raise _Failure(f"{shown}: cannot recover the interrupted fix: {error}") from None
        if recovered:
            lines.append(f"{shown}: {recovered}")
            document["recovered"] = recovered
    elif journal.interrupted(env.root):
        raise _Failure(
            f"{shown}: a fix was interrupted here; run "
            f"nuitka-archguard fix {shell_quote(str(env.root))} to recover it first"
        )
    refusal = host_refusal(env, target)
    if refusal:
        lines.append(f"fix {shown} for {target.describe()}: refused: {refusal}")
        document.update(refused=refusal, plan=None, applied=False, exit_code=ExitCode.USAGE)
        return _Outcome(ExitCode.USAGE, document)
    before = _scan(env.root, target, allow)
    lines.append(f"fix {shown} for {target.describe()}")
    if not before.errors:
        lines.append("nothing to fix: " + summary_line(before))
        document.update(plan=None, applied=False, verdict=before.to_json(), exit_code=ExitCode.OK)
        return _Outcome(ExitCode.OK, document)
    count = len(offending(before))
    lines.append(f"planning {_plural(count, 'distribution')}: asking pip for the target's wheels")
    version = args.python_version or env.python_version() or _running_python()
    python = PythonSpec(version)
    fuse = target.platform == "macos" and (target.is_universal2 or env.runs_macos_python())
    ident = journal.new_id()
    transaction = journal.Transaction(env.root, ident)
    if args.dry_run:
        holder = tempfile.TemporaryDirectory(prefix="archguard-fix-")
        downloads = Path(holder.name)
    else:
        holder = None
        downloads = transaction.staging / "downloads"
    plan: Optional[Plan] = None
    try:
        with _nothing_changed(shown, "cannot download", DownloadError):
            plan = make_plan(
                before, env, target, python, options.pip_options(args), downloads,
                fuse=fuse, allow_version_change=args.allow_version_change, allow=allow,
                progress=lines.append,
            )  # fmt: skip
        _refuse(plan, refused or {})
        if args.dry_run:
            predict_fuses(plan, accept, downloads / "predicted", allow)
            lines.extend(_plan_lines(plan))
            code = ExitCode.FINDINGS if plan.unfixable else ExitCode.OK
            lines.append("dry run: nothing was changed")
            document.update(plan=plan.to_json(), applied=False, exit_code=code)
            return _Outcome(code, document)
        if plan.to_apply:
            lines.append(f"staging {_plural(len(plan.to_apply), 'change')} (nothing moves yet)")
        with _nothing_changed(shown, "cannot prepare the fix", StageError):
            stage(plan, transaction, accept)
        lines.extend(_plan_lines(plan))
        if transaction.into or transaction.out:
            lines.append(f"applying {_plural(len(plan.to_apply), 'change')}")
            try:
                transaction.apply()
            except journal.JournalError as error:
                raise _Failure(f"{shown}: {error}") from None
            except OSError as error:
                raise _Failure(f"{shown}: {_os_text(error)}") from None
            backup = display_path(str(transaction.backup))
            undo = f"{fix_program()} fix --undo {shell_quote(str(env.root))}"
            lines.append(f"applied: {len(plan.to_apply)} changed; backup in {backup}; undo: {undo}")
            document["backup"] = backup
    finally:
        if plan is not None:
            plan.close()  # the downloaded wheels, each held open since it was taken
        if holder is not None:
            holder.cleanup()
        elif transaction.staging.exists() and not journal.interrupted(env.root):
            journal.discard_staging(transaction)
    after = _scan(env.root, target, allow)
    failing = _still_failing(plan, after) if plan.to_apply and not args.dry_run else {}
    if failing and refused is None:
        # The verdict is a scan of the result: a changed distribution that still fails is
        # rolled back (the whole fix, exactly), and the others are fixed again without it.
        try:
            journal.undo(env.root)
        except (journal.JournalError, OSError) as error:
            raise _Failure(f"{shown}: cannot roll back: {error}") from None
        for name, why in failing.items():
            lines.append(f"rolled back {name}: {why}")
        outcome = _fix_env(env, job, failing)
        outcome.document["rolled_back"] = dict(failing)
        return outcome
    code = ExitCode.FINDINGS if after.errors else ExitCode.OK
    verdict = "ok: " if code == ExitCode.OK else "not fixed: "
    lines.append("verdict: " + verdict + summary_line(after))
    document.update(
        plan=plan.to_json(), applied=bool(plan.to_apply), verdict=after.to_json(), exit_code=code
    )
    return _Outcome(code, document)


def _refuse(plan: Plan, refused: dict[str, str]) -> None:
    for action in plan.actions:
        dist = action.distribution
        if dist is not None and dist.canonical_name in refused and action.applies:
            action.applies = False
            action.refusal = refused[dist.canonical_name]


def _still_failing(plan: Plan, after: ScanReport) -> dict[str, str]:
    """Changed distributions that a scan of the result still finds errors in, with the
    first one as the reason."""
    changed = {a.distribution.canonical_name for a in plan.to_apply if a.distribution}
    failing: dict[str, str] = {}
    for dist, findings in after.by_distribution():
        if dist is None or dist.canonical_name not in changed:
            continue
        errors = [f for f in findings if f.severity is Severity.ERROR and not f.allowed]
        if errors:
            first = errors[0]
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            failing[dist.canonical_name] = (
                f"still fails after the fix: {display_path(first.path)}: {first.message}{more}"
            )
    return failing


def _plan_lines(plan: Plan) -> list[str]:
    lines = [f"plan (Python {plan.python.version}, {plan.python.abi}):"]
    for action in plan.actions:
        lines.extend(_action_lines(action))
        for finding in action.findings[:5]:
            lines.append(f"      fixes {finding.code.value}: {display_path(finding.path)}")
        if len(action.findings) > 5:
            lines.append(f"      and {len(action.findings) - 5} more files")
        if action.needed_by:
            lines.append(f"      needed by: {', '.join(action.needed_by)}")
        for note in action.notes:
            lines.extend(_labelled("note", note))
        if action.manual and not (action.applies and action.kind.changes):
            lines.extend(_labelled("manual", action.manual))
    return lines


def _action_lines(action: Action) -> list[str]:
    """The distribution and what happens to it, within the plan's width (issue 17 §8)."""
    from ..fix.plan import plan_lines

    dist = action.distribution
    short = describe_distribution(dist, tags_shown=1)
    return plan_lines(describe_distribution(dist), short, action.describe())


def _labelled(label: str, text: str) -> list[str]:
    """A paragraph of advice under its label: each of its lines escaped on its own, so a
    command stays on a line of its own (pasteable) and nothing read can add a line."""
    first, *rest = text.split("\n")
    return [f"      {label}: {shown(first)}"] + [f"        {shown(line)}" for line in rest]


def _scan(root: Path, target: Target, allow: list[str]) -> ScanReport:
    try:
        return scan([str(root)], target, allow=allow)
    except ScanError as error:
        raise _Failure(str(error)) from None


def _running_python() -> str:
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


@contextmanager
def _nothing_changed(where: str, doing: str, expected: type[Exception]) -> Iterator[None]:
    """Failures before anything moves (planning, staging): one line that says so."""
    try:
        yield
    except expected as error:
        raise _Failure(f"{where}: {error}; nothing was changed") from None
    except OSError as error:
        raise _Failure(f"{where}: {doing}: {_os_text(error)}; nothing was changed") from None


def _os_text(error: OSError) -> str:
    where = f": {display_path(str(error.filename))}" if error.filename else ""
    return f"{error.strerror or error}{where}"


def _undo_all(args: argparse.Namespace) -> int:
    lines: list[str] = []
    return _each(args, lines, lambda path: _undo_one(path, args, lines))


def _undo_one(path: Optional[str], args: argparse.Namespace, lines: list[str]) -> _Outcome:
    from ..fix import journal

    env = _environment(path)
    shown = display_path(str(env.root))
    try:
        if args.dry_run:
            done = journal.last_fix(env.root)
        else:
            with journal.locked(env.root):
                recovered = journal.recover(env.root)
                if recovered:
                    lines.append(f"{shown}: {recovered}")
                done = journal.undo(env.root, keep_changed=args.keep_changed)
    except (journal.JournalError, OSError) as failure:
        raise _Failure(f"{shown}: cannot undo: {failure}") from None
    if done is None:
        lines.append(f"{shown}: no fix to undo")
        return _Outcome(ExitCode.OK, {"environment": shown, "undone": None})
    verb = "would undo" if args.dry_run else "undone"
    lines.append(f"{shown}: {verb} fix {done.ident}")
    lines.extend(_restored(s, args.dry_run) for s in done.summary)
    if args.dry_run and not args.keep_changed:
        lines.extend(
            f"  changed since the fix (the undo refuses without --keep-changed): "
            f"{display_path(rel)}"
            for rel in journal.changed_since(done)
        )  # fmt: skip
    undone = {"environment": shown, "undone": done.ident, "summary": done.summary}
    return _Outcome(ExitCode.OK, undone)


def _restored(summary: str, dry_run: bool) -> str:
    """An undo says what it restores (``cffi 1.17.1: replace by X`` -> ``restored cffi
    1.17.1 as it was before the fix (undoing: replace by X)``)."""
    head, sep, done = summary.partition(": ")
    if not sep or summary.startswith(("kept ", "undo of ")):
        return f"  {display_path(summary)}"
    verb = "would restore" if dry_run else "restored"
    return f"  {verb} {head} as it was before the fix (undoing: {display_path(done)})"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _emit(fmt: str, lines: list[str], document: dict[str, Any]) -> None:
    if isinstance(lines, _Lines) and lines.live:
        return  # printed as it happened
    if fmt == "json":
        text = json_text(document) + "\n"
    else:
        text = "\n".join(shown(line) for line in lines) + "\n"
    write(sys.stdout, text)
