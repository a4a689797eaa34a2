"""Render a :class:`~nuitka_archguard.check.scan.ScanReport` for people (text) and for CI
(GitHub workflow commands). JSON is ``ScanReport.to_json()``.

The text reads like a good compiler error: the distribution first (what to fix is a
package, not a file), then each file with what it has, what the target needs, who needs
it, and the fix to paste.

Every line goes through :func:`.text.shown`, so control characters in names are escaped and
one finding stays one block; GitHub output escapes as the workflow-command docs say.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Optional

from ..common import plural
from ..text import github_data, github_property, shown
from .policy import Code, Finding, Severity, display_path

if TYPE_CHECKING:
    from .ownership import Distribution
    from .scan import ScanReport

__all__ = ["describe_distribution", "render_github", "render_text", "summary_line"]

_INDENT = "    "
_LABEL_WIDTH = 11


def describe_distribution(dist: Optional[Distribution], tags_shown: int = 2) -> str:
    """``cffi 1.17.1 (wheel cp311-cp311-macosx_11_0_arm64, installed by pip)``; of a wheel's
    tags (manylinux wheels carry up to six) the first ``tags_shown`` and "and N more"."""
    if dist is None:
        return "files that no installed package claims"
    head = f"{dist.name} {dist.version}" if dist.version else dist.name
    details: list[str] = []
    if dist.kind == "pip":
        tags = [t for t in dist.wheel_tags if not t.endswith("-any")] or list(dist.wheel_tags)
        if tags:
            more = len(tags) - tags_shown
            shown = ", ".join(tags[:tags_shown]) + (f" and {more} more" if more > 0 else "")
            details.append(f"wheel {shown}")
        if dist.built_from_source:
            details.append("built from source")
        if dist.installer:
            details.append(f"installed by {dist.installer}")
        else:  # a .dist-info without INSTALLER is installed all the same
            details.append("wheel file" if dist.location is None else "installed")
    elif dist.kind == "conda":
        where = "/".join(x for x in (dist.channel, dist.subdir) if x)
        details.append(f"conda package{' from ' + where if where else ''}")
    elif dist.kind == "homebrew":
        details.append("Homebrew formula")
        if dist.built_from_source:
            details.append("built from source")
    else:
        details.append("folder without package metadata")
    return f"{head} ({', '.join(details)})"


def summary_line(report: ScanReport) -> str:
    errors, warnings, allowed = len(report.errors), len(report.warnings), len(report.allowed)
    counts = f"{plural(errors, 'error')}, {plural(warnings, 'warning')}"
    if allowed:
        counts += f" ({allowed} allowed)"
    skipped = (
        f"; {plural(report.skipped_other_os, 'binary')} for other OSes skipped"
        if report.skipped_other_os
        else ""
    )
    if report.too_large:
        skipped += f"; {plural(report.too_large, 'binary')} not checked: too large to inspect"
    if report.variants_for_target:
        skipped += (
            f"; {plural(report.variants_for_target, 'binary')} for other platforms "
            "with a variant for the target"
        )
    return (
        f"{counts} in {plural(report.binaries, 'binary')} among "
        f"{plural(report.files_scanned, 'file')}{skipped}; target {_target_text(report)}"
    )


def render_text(report: ScanReport, *, allow_option: str = "--allow") -> str:
    """The human report: one block per distribution, one entry per finding, a summary.
    ``allow_option`` is the option the user typed to accept findings (the plugin's differs)."""
    lines: list[str] = []
    for dist, findings in report.by_distribution():
        lines.append(describe_distribution(dist))
        for group in _same_fix(findings):
            if len(group) == 1:
                lines.extend(_finding_lines(group[0], report, allow_option))
            else:
                lines.extend(_group_lines(group, report, allow_option))
        lines.append("")
    if not report.findings:
        lines.append(
            f"ok: every binary fits {_target_text(report)}"
            if report.binaries
            else f"ok: no binaries for {_target_text(report)} found to check"
            if report.skipped_other_os or report.variants_for_target
            else f"ok: no binaries found to check against {_target_text(report)}"
        )
    lines.append(summary_line(report))
    return "\n".join(shown(line) for line in lines)


FILES_SHOWN = 5
"""Files listed under one fix in text; the rest are counted ("and 18 more"). JSON keeps all."""


def _same_fix(findings: list[Finding]) -> list[list[Finding]]:
    """A distribution's findings that share a code, a verdict and a fix, in report order:
    one fix block for the 23 binaries of an arm64 numpy, not 23 copies of it."""
    groups: dict[tuple[object, ...], list[Finding]] = {}
    for finding in findings:
        key = (finding.allowed, finding.allow_reason, finding.allow_origin, finding.severity,
               finding.code, finding.fix, finding.needed_by)  # fmt: skip
        groups.setdefault(key, []).append(finding)
    return list(groups.values())


def _group_lines(group: list[Finding], report: ScanReport, allow_option: str) -> list[str]:
    first = group[0]
    kind = "allowed" if first.allowed else first.severity.value
    lines = [f"  {kind}[{first.code.value}]: {plural(len(group), 'file')}, for example:"]
    lines.extend(_INDENT + line for line in first.message.split("\n"))
    paths = [shown_path(f.path) for f in group]
    lines.append(_field("files", paths[0]))
    pad = _INDENT + " " * (_LABEL_WIDTH + 1)
    lines.extend(pad + path for path in paths[1:FILES_SHOWN])
    if len(paths) > FILES_SHOWN:
        lines.append(pad + f"and {len(paths) - FILES_SHOWN} more")
    merged = replace(first, archs=_union(f.archs for f in group), module=None)
    rest = _finding_lines(merged, report, allow_option)
    return lines + rest[1 + len(first.message.split("\n")) :]


def _union(values: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a for archs in values for a in archs))


def _finding_lines(finding: Finding, report: ScanReport, allow_option: str) -> list[str]:
    kind = "allowed" if finding.allowed else finding.severity.value
    lines = [f"  {kind}[{finding.code.value}]: {shown_path(finding.path)}"]
    lines.extend(_INDENT + line for line in finding.message.split("\n"))
    if finding.allowed:
        reason = f": {finding.allow_reason}" if finding.allow_reason else ""
        lines.append(_field("allowed", f"by {finding.allow_origin or allow_option}{reason}"))
    if finding.code is not Code.MIN_OS_TOO_NEW and finding.code is not Code.UNREADABLE_BINARY:
        lines.append(_field("has", ", ".join(finding.archs) or "nothing for this target"))
        needs = f"{', '.join(finding.required_archs)} for {_target_text(report)}"
        lines.append(_field("needs", needs))
    if finding.module:
        lines.append(_field("module", finding.module))
    if finding.needed_by:
        lines.append(_field("note", f"needed by {', '.join(finding.needed_by)}"))
    if finding.fix:
        fix_lines = finding.fix.split("\n")
        lines.append(_field("fix", fix_lines[0]))
        pad = _INDENT + " " * (_LABEL_WIDTH + 1)
        lines.extend(pad + line if line else "" for line in fix_lines[1:])
    return lines


def shown_path(path: str) -> str:
    """Relative to the current directory when inside it, as compilers print paths (and as
    GitHub needs them to attach annotations to files); otherwise as it is."""
    if os.path.isabs(path):
        try:
            relative = os.path.relpath(path)
        except ValueError:  # another drive on Windows
            relative = path
        if not relative.startswith(os.pardir):
            path = relative
    return display_path(path)


def _field(label: str, value: str) -> str:
    return f"{_INDENT}{(label + ':').ljust(_LABEL_WIDTH)} {value}"


def _target_text(report: ScanReport) -> str:
    return report.target.describe()


# -- GitHub workflow commands --------------------------------------------------------------


def render_github(report: ScanReport) -> str:
    """One ``::error file=…,title=…::message`` / ``::warning …`` line per finding that
    counts; allowed findings become ``::notice`` lines. The fix follows the message."""
    lines = [_github_line(f) for f in report.findings]
    return "\n".join(lines)


def _github_line(finding: Finding) -> str:
    if finding.allowed:
        level = "notice"
    else:
        level = "error" if finding.severity is Severity.ERROR else "warning"
    dist = finding.distribution
    title = finding.code.value + (f" in {dist}" if dist is not None else "")
    if finding.allowed:
        title += " (allowed)"
    body = finding.message
    if finding.allowed and finding.allow_origin:
        reason = f": {finding.allow_reason}" if finding.allow_reason else ""
        body += f" (allowed by {finding.allow_origin}{reason})"
    if finding.needed_by:
        body += f" (needed by {', '.join(finding.needed_by)})"
    if finding.fix:
        body += "\nFix:\n" + finding.fix
    path = shown_path(finding.path)
    if os.path.isabs(path):
        workspace = os.environ.get("GITHUB_WORKSPACE")
        if workspace and path.startswith(workspace.rstrip("/\\") + os.sep):
            path = os.path.relpath(path, workspace)
    body = "\n".join(shown(line) for line in body.split("\n"))
    properties = f"file={github_property(path)},title={github_property(shown(title))}"
    return f"::{level} {properties}::{github_data(body)}"
