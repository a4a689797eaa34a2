"""The readers against LLVM's tools, over every binary of real wheels from PyPI.

The pinned wheels (tests/realwheels.py) are downloaded once into a cache outside the repo. The
project's CLI runs once over all their Mach-O and ELF files; each file is then checked against
an independent oracle: ``llvm-lipo-14 -archs`` for Mach-O arch sets, ``llvm-otool-14 -h -l``
per slice (fat files split with ``llvm-lipo-14 -thin`` first, since ``otool -arch all`` shows
one slice only) for minimum OS, platform, SDK, file type and load commands, ``llvm-otool-14
-L`` for a sample, and ``llvm-readelf-14 -h -l -d`` for ELF. Every test collects all the
disagreements and names each one: file, slice, expected, got.

Skipped, with the reason, when the LLVM tools are missing or when the wheels are neither in
the cache nor downloadable.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, TypeVar

import pytest

from tests import realwheels

pytestmark = pytest.mark.realwheels

LIPO = realwheels.llvm_tool("llvm-lipo")
OTOOL = realwheels.llvm_tool("llvm-otool")
READELF = realwheels.llvm_tool("llvm-readelf")
WORKERS = max(4, 2 * (os.cpu_count() or 1))
CHUNK = 40
"""Files per otool/readelf process."""
SHOWN = 25
"""Disagreements listed in a failure message; the count says how many there were."""

T = TypeVar("T")
R = TypeVar("R")

# otool -h prints the numeric mach_header filetype.
MACHO_FILE_TYPES = {
    1: "object", 2: "executable", 3: "fvmlib", 4: "core", 5: "preload", 6: "dylib",
    7: "dylinker", 8: "bundle", 10: "dsym", 11: "kext", 12: "fileset",
}  # fmt: skip
VERSION_MIN_PLATFORMS = {
    "LC_VERSION_MIN_MACOSX": "macos",
    "LC_VERSION_MIN_IPHONEOS": "ios",
    "LC_VERSION_MIN_TVOS": "tvos",
    "LC_VERSION_MIN_WATCHOS": "watchos",
}
DYLIB_COMMANDS = frozenset(
    {"LC_LOAD_DYLIB", "LC_LOAD_WEAK_DYLIB", "LC_REEXPORT_DYLIB", "LC_LOAD_UPWARD_DYLIB"}
)
ELF_MACHINES = {
    "Advanced Micro Devices X86-64": "x86_64",
    "AArch64": "aarch64",
    "Intel 80386": "i686",
    "ARM": "armv7l",
    "IBM S/390": "s390x",
    "RISC-V": "riscv64",
}
GLIBC_SONAMES = frozenset({"libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1"})
ELF_TYPES = {"EXEC": "executable", "DYN": "shared-library", "REL": "object", "CORE": "core"}


def _need_tools(*tools: Optional[str]) -> None:
    if any(tool is None for tool in tools):
        have = {"llvm-lipo": LIPO, "llvm-otool": OTOOL, "llvm-readelf": READELF}
        missing = ", ".join(name for name, tool in have.items() if tool is None)
        pytest.skip(f"LLVM tools missing ({missing}): apt-get install llvm-14")


def _run(command: list[str]) -> str:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed: {result.stderr.strip()}")
    return result.stdout


def _parallel(function: Callable[[T], R], items: Iterable[T]) -> list[R]:
    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(function, items))


def _per_file(command: list[str], paths: list[str], header: Callable[[str], str]) -> list[str]:
    """Run a tool that takes many files (otool, readelf) on chunks of ``paths`` in parallel and
    cut its output at each file's header line: one process per file would dominate the run."""
    chunks = [paths[i : i + CHUNK] for i in range(0, len(paths), CHUNK)]

    def run(chunk: list[str]) -> list[str]:
        text = _run([*command, *chunk])
        marks = {header(path): path for path in chunk}
        parts: dict[str, list[str]] = {}
        current: Optional[list[str]] = None
        for line in text.splitlines():
            if line in marks and marks[line] not in parts:
                current = parts[marks[line]] = []
            elif current is not None:
                current.append(line)
        if not parts and len(chunk) == 1:  # readelf names the file only when given several
            return [text]
        assert set(parts) == set(chunk), f"{command[0]} output not split per file"
        return ["\n".join(parts[path]) for path in chunk]

    return [text for texts in _parallel(run, chunks) for text in texts]


def _short(path: str | Path) -> str:
    """A path relative to the cache, which is what a reader of a failure needs."""
    root = str(realwheels.cache_dir() / "extracted") + os.sep
    text = str(path)
    return text[len(root) :] if text.startswith(root) else text


def _report(what: str, problems: list[str], checked: int) -> None:
    if problems:
        lines = "\n  ".join(problems[:SHOWN])
        more = f"\n  ... and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""
        pytest.fail(f"{len(problems)} of {checked} {what} disagree:\n  {lines}{more}")


# -- corpus and the project's view of it ---------------------------------------------------------


@dataclass
class Corpus:
    roots: list[Path]
    macho: list[Path]
    elf: list[Path]


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    try:
        roots = realwheels.extracted_all()
    except realwheels.NetworkUnavailable as error:
        pytest.skip(f"real wheels not cached and PyPI unreachable: {error}")
    found = realwheels.binaries(roots)
    return Corpus(roots, found["mach-o"], found["elf"])


@pytest.fixture(scope="module")
def inspected(corpus: Corpus) -> dict[str, dict[str, Any]]:
    """``nuitka-archguard inspect --json`` run once over every binary of the corpus."""
    files = [str(path) for path in corpus.macho + corpus.elf]
    command = [sys.executable, "-m", "nuitka_archguard", "inspect", "--json", *files]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, (
        f"inspect exited {result.returncode}; stderr: {result.stderr.strip()[:3000]}"
    )
    entries = json.loads(result.stdout)
    by_path = {entry["path"]: entry for entry in entries}
    assert set(by_path) == set(files), "inspect --json did not report every file once"
    return by_path


def _slices(entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["arch"]: item for item in entry["slices"]}


# -- oracles ---------------------------------------------------------------------------------


@dataclass
class OtoolSlice:
    file_type: Optional[str] = None
    platform: Optional[str] = None
    min_os: Optional[str] = None
    sdk: Optional[str] = None
    install_name: Optional[str] = None
    dependencies: list[str] = field(default_factory=list)
    rpaths: list[str] = field(default_factory=list)
    version_commands: int = 0


def parse_otool(text: str) -> OtoolSlice:
    """``llvm-otool -h -l`` of one thin file."""
    info = OtoolSlice()
    header = re.search(r"^\s*0x[0-9a-f]+\s+-?\d+\s+-?\d+\s+\S+\s+(\d+)\s", text, re.M)
    if header:
        info.file_type = MACHO_FILE_TYPES.get(int(header.group(1)), header.group(1))
    for block in re.split(r"^Load command \d+$", text, flags=re.M)[1:]:
        fields: dict[str, str] = {}
        for line in block.splitlines():
            parts = line.strip().split(None, 1)
            if len(parts) == 2 and parts[0] not in fields:
                fields[parts[0]] = parts[1]
        cmd = fields.get("cmd", "")
        if cmd == "LC_BUILD_VERSION":
            info.version_commands += 1
            info.platform = fields.get("platform")
            info.min_os = fields.get("minos")
            info.sdk = fields.get("sdk")
        elif cmd in VERSION_MIN_PLATFORMS:
            info.version_commands += 1
            info.platform = VERSION_MIN_PLATFORMS[cmd]
            info.min_os = fields.get("version")
            info.sdk = fields.get("sdk")
        elif cmd in DYLIB_COMMANDS:
            info.dependencies.append(_strip_offset(fields["name"]))
        elif cmd == "LC_ID_DYLIB":
            info.install_name = _strip_offset(fields["name"])
        elif cmd == "LC_RPATH":
            info.rpaths.append(_strip_offset(fields["path"]))
    return info


def _strip_offset(value: str) -> str:
    return re.sub(r" \(offset \d+\)$", "", value)


@pytest.fixture(scope="module")
def lipo_archs(corpus: Corpus) -> dict[Path, list[str]]:
    _need_tools(LIPO)
    assert LIPO is not None
    tool = LIPO

    def archs(path: Path) -> list[str]:
        return _run([tool, "-archs", str(path)]).split()

    return dict(zip(corpus.macho, _parallel(archs, corpus.macho)))


@pytest.fixture(scope="module")
def thin_files(
    corpus: Corpus, lipo_archs: dict[Path, list[str]]
) -> Iterator[dict[tuple[Path, str], Path]]:
    """Every slice as a thin file: the file itself when thin, a ``lipo -thin`` copy when fat."""
    assert LIPO is not None
    tool = LIPO
    with tempfile.TemporaryDirectory(prefix="archguard-thin-") as tmp:
        jobs: list[tuple[Path, str, Path]] = []
        thin: dict[tuple[Path, str], Path] = {}
        for number, path in enumerate(corpus.macho):
            with open(path, "rb") as handle:
                fat = handle.read(4) in realwheels.MACHO_FAT_MAGICS
            for arch in lipo_archs[path]:
                if fat:
                    jobs.append((path, arch, Path(tmp, f"{number}-{arch}")))
                else:
                    thin[(path, arch)] = path

        def split(job: tuple[Path, str, Path]) -> None:
            path, arch, output = job
            _run([tool, "-thin", arch, "-output", str(output), str(path)])

        _parallel(split, jobs)
        thin.update({(path, arch): output for path, arch, output in jobs})
        yield thin


@pytest.fixture(scope="module")
def otool_slices(thin_files: dict[tuple[Path, str], Path]) -> dict[tuple[Path, str], OtoolSlice]:
    _need_tools(OTOOL)
    assert OTOOL is not None
    tool = OTOOL
    keys = list(thin_files)
    paths = [str(thin_files[key]) for key in keys]
    texts = _per_file([tool, "-h", "-l"], paths, lambda path: f"{path}:")
    return {key: parse_otool(text) for key, text in zip(keys, texts)}


@dataclass
class ReadelfInfo:
    arch: Optional[str] = None
    file_type: Optional[str] = None
    interpreter: Optional[str] = None
    needed: list[str] = field(default_factory=list)
    soname: Optional[str] = None
    rpaths: list[str] = field(default_factory=list)

    @property
    def libc(self) -> tuple[Optional[str], bool]:
        """(libc, certain): glibc's sonames (``libc.so.6``, ``libm.so.6``…) or ld-linux mean
        glibc, ``libc.musl-*`` or ld-musl mean musl (musl ships one ``libc.so`` for all of
        them); a bare ``libc.so`` is only musl's by convention."""
        names = [*self.needed, os.path.basename(self.interpreter or "")]
        if any(n.startswith(("libc.musl-", "ld-musl-")) for n in names):
            return "musl", True
        if any(n in GLIBC_SONAMES or n.startswith("ld-linux") for n in names):
            return "glibc", True
        if "libc.so" in names:
            return "musl", False
        return None, False


def parse_readelf(text: str) -> ReadelfInfo:
    info = ReadelfInfo()
    machine = re.search(r"^\s*Machine:\s*(.+?)\s*$", text, re.M)
    data = re.search(r"^\s*Data:.*(little|big) endian", text, re.M)
    if machine:
        name = machine.group(1)
        if name == "PowerPC64":
            info.arch = "ppc64le" if data and data.group(1) == "little" else "ppc64"
        else:
            info.arch = ELF_MACHINES.get(name, name)
    kind = re.search(r"^\s*Type:\s*(\w+)", text, re.M)
    interp = re.search(r"\[Requesting program interpreter: (.+)\]", text)
    info.interpreter = interp.group(1) if interp else None
    if kind:
        info.file_type = ELF_TYPES.get(kind.group(1), kind.group(1))
        if kind.group(1) == "DYN" and info.interpreter:
            info.file_type = "executable"
    for tag, value in re.findall(r"\((NEEDED|SONAME|RUNPATH|RPATH)\)\s+[^[]*\[(.*)\]", text):
        if tag == "NEEDED":
            info.needed.append(value)
        elif tag == "SONAME":
            info.soname = value
        else:
            info.rpaths.extend(value.split(":"))
    return info


@pytest.fixture(scope="module")
def readelf(corpus: Corpus) -> dict[Path, ReadelfInfo]:
    _need_tools(READELF)
    assert READELF is not None
    tool = READELF
    paths = [str(path) for path in corpus.elf]
    texts = _per_file([tool, "-h", "-l", "-d"], paths, lambda path: f"File: {path}")
    return {path: parse_readelf(text) for path, text in zip(corpus.elf, texts)}


# -- the corpus itself ---------------------------------------------------------------------------


def test_corpus_covers_the_pinned_variety(corpus: Corpus) -> None:
    macos_projects = {pin.project for pin in realwheels.MACOS_PINS}
    assert len(macos_projects) >= 8
    assert {pin.arch for pin in realwheels.MACOS_PINS} >= {"arm64", "x86_64", "universal2"}
    assert {pin.arch for pin in realwheels.LINUX_PINS} >= {"x86_64", "aarch64"}
    assert any(pin.platform.startswith("musllinux") for pin in realwheels.LINUX_PINS)
    assert len(corpus.macho) >= 300, len(corpus.macho)
    assert len(corpus.elf) >= 300, len(corpus.elf)


def test_every_binary_is_recognised(corpus: Corpus, inspected: dict[str, dict[str, Any]]) -> None:
    problems = []
    for kind, paths in (("mach-o", corpus.macho), ("elf", corpus.elf)):
        for path in paths:
            entry = inspected[str(path)]
            if entry["format"] != kind or entry["error"] or not entry["slices"]:
                problems.append(
                    f"{_short(path)}: expected {kind} with slices, got format "
                    f"{entry['format']!r}, {len(entry['slices'])} slices, error {entry['error']!r}"
                )
    _report("binaries", problems, len(corpus.macho) + len(corpus.elf))


# -- Mach-O ------------------------------------------------------------------------------------


def test_macho_arch_sets_match_lipo(
    corpus: Corpus, inspected: dict[str, dict[str, Any]], lipo_archs: dict[Path, list[str]]
) -> None:
    problems = []
    for path in corpus.macho:
        got = sorted(item["arch"] for item in inspected[str(path)]["slices"])
        expected = sorted(lipo_archs[path])
        if got != expected:
            problems.append(f"{_short(path)}: lipo -archs {expected}, inspect {got}")
    _report("Mach-O arch sets", problems, len(corpus.macho))
    # The corpus must exercise fat files with two slices, and fat files with only one.
    counts = [len(archs) for archs in lipo_archs.values()]
    assert counts.count(2) >= 10


def _compare_slices(
    inspected: dict[str, dict[str, Any]],
    otool: dict[tuple[Path, str], OtoolSlice],
    fields: Callable[[OtoolSlice, dict[str, Any]], Iterable[tuple[str, object, object]]],
) -> list[str]:
    problems = []
    for (path, arch), expected in otool.items():
        item = _slices(inspected[str(path)]).get(arch)
        if item is None:
            problems.append(f"{_short(path)} [{arch}]: slice missing from inspect")
            continue
        for name, want, got in fields(expected, item):
            if want != got:
                problems.append(f"{_short(path)} [{arch}] {name}: otool {want!r}, got {got!r}")
    return problems


def test_macho_min_os_matches_otool(
    inspected: dict[str, dict[str, Any]], otool_slices: dict[tuple[Path, str], OtoolSlice]
) -> None:
    problems = _compare_slices(
        inspected, otool_slices, lambda want, got: [("min_os", want.min_os, got["min_os"])]
    )
    _report("Mach-O slices' minimum macOS", problems, len(otool_slices))
    kinds = {o.version_commands for o in otool_slices.values()}
    assert kinds == {1}, f"a slice has {kinds} version load commands"
    # Both LC_VERSION_MIN_MACOSX and LC_BUILD_VERSION are exercised (see NOTES.md).
    assert len({o.min_os for o in otool_slices.values()}) >= 4


def test_macho_platform_and_sdk_match_otool(
    inspected: dict[str, dict[str, Any]], otool_slices: dict[tuple[Path, str], OtoolSlice]
) -> None:
    problems = _compare_slices(
        inspected,
        otool_slices,
        lambda want, got: [
            ("platform", want.platform, got["platform"]),
            ("sdk", want.sdk, got["sdk"]),
        ],
    )
    _report("Mach-O slices' platform and SDK", problems, len(otool_slices))


def test_macho_file_type_matches_otool(
    inspected: dict[str, dict[str, Any]], otool_slices: dict[tuple[Path, str], OtoolSlice]
) -> None:
    problems = _compare_slices(
        inspected,
        otool_slices,
        lambda want, got: [("file_type", want.file_type, got["file_type"])],
    )
    _report("Mach-O slices' file types", problems, len(otool_slices))


def test_macho_load_commands_match_otool(
    inspected: dict[str, dict[str, Any]], otool_slices: dict[tuple[Path, str], OtoolSlice]
) -> None:
    problems = _compare_slices(
        inspected,
        otool_slices,
        lambda want, got: [
            ("dependencies", want.dependencies, got["dependencies"]),
            ("install_name", want.install_name, got["install_name"]),
            ("rpaths", want.rpaths, got["rpaths"]),
        ],
    )
    what = "Mach-O slices' linked libraries, install names and rpaths"
    _report(what, problems, len(otool_slices))


def test_macho_dependencies_match_otool_L_sample(
    inspected: dict[str, dict[str, Any]], thin_files: dict[tuple[Path, str], Path]
) -> None:
    """``otool -L`` (install name first for a dylib, then every linked library), for every
    fifth slice: an oracle that does not go through this file's ``otool -l`` parser."""
    _need_tools(OTOOL)
    assert OTOOL is not None
    tool = OTOOL
    sample = sorted(thin_files.items(), key=lambda kv: (str(kv[0][0]), kv[0][1]))[::5]
    texts = _per_file([tool, "-L"], [str(thin) for _, thin in sample], lambda path: f"{path}:")
    problems = []
    for ((path, arch), _), text in zip(sample, texts):
        listed = [
            re.sub(r" \(compatibility version .*\)$", "", line.strip())
            for line in text.splitlines()
            if line.startswith("\t")
        ]
        item = _slices(inspected[str(path)]).get(arch)
        if item is None:
            problems.append(f"{_short(path)} [{arch}]: slice missing from inspect")
            continue
        got = ([item["install_name"]] if item["install_name"] else []) + item["dependencies"]
        if sorted(listed) != sorted(got):
            problems.append(f"{_short(path)} [{arch}]: otool -L {listed}, got {got}")
    _report("sampled Mach-O slices' otool -L lists", problems, len(sample))


# -- ELF ---------------------------------------------------------------------------------------


def test_elf_matches_readelf(
    corpus: Corpus, inspected: dict[str, dict[str, Any]], readelf: dict[Path, ReadelfInfo]
) -> None:
    problems = []
    for path in corpus.elf:
        want = readelf[path]
        entry = inspected[str(path)]
        if len(entry["slices"]) != 1:
            problems.append(f"{_short(path)}: expected 1 slice, got {len(entry['slices'])}")
            continue
        got = entry["slices"][0]
        got_rpaths = [part for rpath in got["rpaths"] for part in rpath.split(":")]
        for name, expected, actual in (
            ("arch", want.arch, got["arch"]),
            ("file_type", want.file_type, got["file_type"]),
            ("platform", "linux", got["platform"]),
            ("dependencies (NEEDED)", want.needed, got["dependencies"]),
            ("install_name (SONAME)", want.soname, got["install_name"]),
            ("rpaths (RUNPATH/RPATH)", want.rpaths, got_rpaths),
        ):
            if expected != actual:
                problems.append(f"{_short(path)} {name}: readelf {expected!r}, got {actual!r}")
    _report("ELF files", problems, len(corpus.elf))
    assert {info.arch for info in readelf.values()} >= {"x86_64", "aarch64"}


def test_elf_libc_where_the_file_tells(
    corpus: Corpus, inspected: dict[str, dict[str, Any]], readelf: dict[Path, ReadelfInfo]
) -> None:
    problems = []
    for path in corpus.elf:
        libc, certain = readelf[path].libc
        got = inspected[str(path)]["slices"][0]["libc"] if inspected[str(path)]["slices"] else None
        if (certain and got != libc) or (not certain and got not in (libc, None)):
            problems.append(f"{_short(path)} libc: readelf says {libc!r}, got {got!r}")
    _report("ELF files' C library", problems, len(corpus.elf))
    assert any(readelf[path].libc == ("musl", True) for path in corpus.elf)
