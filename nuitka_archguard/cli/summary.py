"""A scan report (the JSON of ``scan --format json`` or the plugin's ``--archguard-report``)
as a Markdown job summary: one table per distribution. The GitHub Action appends it to
``$GITHUB_STEP_SUMMARY``::

    python -m nuitka_archguard.cli.summary REPORT.json [--title TITLE] >> "$GITHUB_STEP_SUMMARY"

It reads the JSON document, not a live report, so that a report written during a Nuitka
build is summarised the same way as a scan. Every name in it is outside text: escaped for
Markdown and HTML, one line per cell.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, Optional

from ..common import ExitCode
from ..text import shown, write

__all__ = ["main", "markdown"]

MAX_REPORT_BYTES = 64 * 1024 * 1024
"""A report larger than this is not a report this project wrote."""
_MARK = {"error": "❌ error", "warning": "⚠️ warning", "allowed": "✅ allowed"}
_SPECIAL = {c: f"&#{ord(c)};" for c in "\\`*_[]<>|&#!~"}


def cell(text: object) -> str:
    """One table cell: printable, one line, no Markdown or HTML meaning."""
    return "".join(_SPECIAL.get(c, c) for c in shown(str(text))) or " "


def markdown(document: dict[str, Any], title: str = "nuitka-archguard") -> str:
    """The summary: a heading with the target and the counts, then per distribution a
    table of its findings (severity, file, code and message, has, needs, fix)."""
    target = document.get("target") or {}
    summary = document.get("summary") or {}
    findings = [f for f in document.get("findings") or [] if isinstance(f, dict)]
    lines = [f"## {cell(title)}: target {cell(target.get('name', '?'))}", ""]
    errors, warnings = summary.get("errors", 0), summary.get("warnings", 0)
    lines.append(
        f"{cell(errors)} error(s), {cell(warnings)} warning(s) in "
        f"{cell(summary.get('binaries', 0))} binaries among "
        f"{cell(summary.get('files_scanned', 0))} files"
    )
    if not findings:
        lines += ["", f"✅ every binary fits {cell(target.get('name', 'the target'))}"]
        return "\n".join(lines) + "\n"
    groups: dict[str, list[dict[str, Any]]] = {}
    for finding in findings:
        groups.setdefault(_distribution(finding.get("distribution")), []).append(finding)
    for name, group in groups.items():
        lines += ["", f"### {cell(name)}", ""]
        lines.append("| | file | finding | has | needs | fix |")
        lines.append("|---|---|---|---|---|---|")
        for finding in group:
            kind = "allowed" if finding.get("allowed") else str(finding.get("severity"))
            fix = str(finding.get("fix") or "")
            lines.append(
                "| "
                + " | ".join(
                    [
                        _MARK.get(kind, cell(kind)),
                        cell(finding.get("path", "")),
                        f"{cell(finding.get('code', ''))}: {cell(finding.get('message', ''))}",
                        cell(" ".join(map(str, finding.get("archs") or []))),
                        cell(" ".join(map(str, finding.get("required_archs") or []))),
                        "<br>".join(cell(line) for line in fix.splitlines()) or " ",
                    ]
                )
                + " |"
            )
    return "\n".join(lines) + "\n"


def _distribution(value: Any) -> str:
    if not isinstance(value, dict) or not value.get("name"):
        return "files that no installed package claims"
    name = f"{value['name']} {value.get('version') or ''}".strip()
    tags = value.get("wheel_tags") or []
    return f"{name} (wheel {', '.join(map(str, tags))})" if tags else name


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    title = "nuitka-archguard"
    if len(args) == 3 and args[1] == "--title":
        title = args[2]
    elif len(args) != 1:
        write(sys.stderr, "usage: python -m nuitka_archguard.cli.summary REPORT.json [--title T]\n")
        return int(ExitCode.USAGE)
    try:
        with open(args[0], "rb") as stream:
            data = stream.read(MAX_REPORT_BYTES + 1)
        if len(data) > MAX_REPORT_BYTES:
            raise ValueError(f"larger than {MAX_REPORT_BYTES:,} bytes")
        document = json.loads(data.decode("utf-8"))
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError, RecursionError) as error:
        write(
            sys.stderr, f"nuitka-archguard: {shown(args[0])}: not a report: {shown(str(error))}\n"
        )
        return int(ExitCode.USAGE)
    write(sys.stdout, markdown(document, title))
    return int(ExitCode.OK)


if __name__ == "__main__":
    sys.exit(main())
