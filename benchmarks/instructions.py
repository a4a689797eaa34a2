"""Instructions per binary, counted by valgrind: the reader's cost where time is too noisy.

On a shared machine a time ratio moves by a third from one run to the next (the floor is
mostly system-call time, the reader mostly interpreter time, and other tenants slow the two
differently). Valgrind's callgrind counts the user-mode instructions a process executes, the
same on every run: this script runs a child that reads the benchmark's corpus once and one
that reads it three times, under callgrind, and reports the difference per file, for the
floor (stat + open + read 4 KiB + close) and for ``inspect_file``, Mach-O and ELF apart.
Kernel time is not counted: it is most of the floor's cost and the same for both.

    python benchmarks/instructions.py          # about 45 s with valgrind installed
    python benchmarks/instructions.py --tree ../other-checkout   # the same, for other code

Two runs of the same code agree within 0.5 %: an A/B of two checkouts needs no repetition.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

ROUNDS = 3
_COLLECTED = re.compile(rb"Collected : (\d+)")


def child(kind: str, list_file: str, rounds: int) -> None:
    """Read the files listed in ``list_file`` ``rounds`` times, the way ``kind`` says."""
    from reading import floor, make_reader  # this script's folder, first on sys.path

    paths = Path(list_file).read_text(encoding="utf-8").splitlines()
    read = floor if kind == "floor" else make_reader()
    for _ in range(rounds):
        read(paths)


def count(valgrind: str, tree: Path, kind: str, list_file: str, rounds: int) -> int:
    """Instructions of a child run (interpreter start-up and imports included)."""
    command = [
        valgrind,
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        str(HERE / "instructions.py"),
        "--child",
        kind,
        list_file,
        str(rounds),
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), str(ROOT)])}
    done = subprocess.run(command, capture_output=True, env=env, check=True)
    found = _COLLECTED.search(done.stderr)
    if found is None:
        raise RuntimeError("callgrind printed no instruction count")
    return int(found.group(1))


def per_file(valgrind: str, tree: Path, kind: str, paths: Sequence[str]) -> float:
    """Instructions per file, start-up and imports taken out (a run of 3 rounds minus one
    of 1, divided by 2 rounds of the files)."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as listing:
        listing.write("\n".join(paths))
    try:
        one = count(valgrind, tree, kind, listing.name, 1)
        three = count(valgrind, tree, kind, listing.name, ROUNDS)
    finally:
        os.unlink(listing.name)
    return (three - one) / ((ROUNDS - 1) * len(paths))


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout to measure")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, list_file, rounds = args.child
        child(kind, list_file, int(rounds))
        return 0
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        print("valgrind is not installed: nothing measured", file=sys.stderr)
        return 1
    sys.path.append(str(ROOT))  # the corpus (children put the measured tree first)
    from tests import realwheels

    try:
        roots = realwheels.extracted_all(realwheels.PINS)
    except realwheels.RealWheelError as error:
        print(f"corpus unavailable, nothing measured: {error}", file=sys.stderr)
        return 1
    found = realwheels.binaries(roots)
    tree = args.tree.resolve()
    print(f"| instructions per file ({tree.name}) | floor | reader | reader / floor |")
    print("|---|---:|---:|---:|")
    for label, key in (("Mach-O", "mach-o"), ("ELF", "elf")):
        paths = [str(p) for p in found[key]]
        floor = per_file(valgrind, tree, "floor", paths)
        reader = per_file(valgrind, tree, "reader", paths)
        ratio = reader / floor
        print(f"| {label} ({len(paths)} files) | {floor:,.0f} | {reader:,.0f} | {ratio:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
