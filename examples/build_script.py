"""Using the archguard plugin from a Python build script.

Many projects drive Nuitka from a script (``build.py``) rather than a shell line. The
plugin is a file: pass its path with ``--user-plugin=``, add its options after it, and
read ``--archguard-report`` afterwards to act on the findings (annotate CI, upload, fail
with your own message). Usage::

    python examples/build_script.py path/to/program.py [--warning]

Exit code: Nuitka's (non-zero when archguard stopped the build), after printing a short
summary of the JSON report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import nuitka_archguard


def nuitka_standalone_flag() -> str:
    """``--mode=standalone`` on Nuitka 4.x, ``--standalone`` before."""
    from nuitka.Version import getNuitkaVersion

    return "--mode=standalone" if int(getNuitkaVersion().split(".")[0]) >= 4 else "--standalone"


def build(program: Path, *, warning_only: bool = False) -> int:
    report = Path(tempfile.gettempdir()) / f"archguard-{program.stem}.json"
    command = [
        sys.executable, "-m", "nuitka",
        f"--user-plugin={nuitka_archguard.plugin_path()}",
        f"--archguard-mode={'warning' if warning_only else 'error'}",
        f"--archguard-report={report}",
        # Accept a known exception, with the reason kept in the report:
        # "--archguard-allow=somepackage:only used on x86_64 hosts",
        nuitka_standalone_flag(),
        f"--output-dir={program.parent / 'build'}",
        str(program),
    ]  # fmt: skip
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    code = subprocess.call(command, env=env)
    if report.exists():
        data = json.loads(report.read_text())
        target = data["target"]
        print(
            f"archguard report: target {target['platform']} {'+'.join(target['archs'])}, "
            f"{data['summary']['errors']} error(s), {data['summary']['warnings']} warning(s)"
        )
        for finding in data["findings"]:
            dist = finding["distribution"] or {}
            owner = f"{dist.get('name')} {dist.get('version')}" if dist else "unowned file"
            print(f"  {finding['severity']}: {finding['code']} {owner}: {finding['path']}")
            if finding["fix"]:
                print(f"    fix: {finding['fix'].splitlines()[0]}")
    return code


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    return build(Path(argv[0]).resolve(), warning_only="--warning" in argv[1:])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
