"""The fat Mach-O writer: byte for byte what ``llvm-lipo-14 -create`` writes, on any host.

Three tiers. Properties that hold without LLVM: the project's reader reads the result back,
every slice sits at an offset aligned as LLVM aligns it and holds exactly its input's bytes.
Synthesized inputs (thin files of many CPUs, both byte orders and word sizes, fat files,
BSD and GNU archives, and seeded random mixes of them) compared with ``llvm-lipo-14 -create``
when it is installed. And real wheels: cffi's ``_cffi_backend`` and numpy's dylibs and static
archives from the arm64 and x86_64 wheels of one release.
"""

from __future__ import annotations

import os
import random
import stat
import struct
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

import pytest

from nuitka_archguard.binaries import BytesSource, FileSource
from nuitka_archguard.binaries.fat import (
    FatWriteError,
    _Input,
    _plan,
    fat_bytes,
    is_fat_input,
    write_fat,
)
from nuitka_archguard.binaries.macho import read_slices
from tests import realwheels
from tests.lipo import ARM64, LIPO, lipo, needs_lipo, ours
from tests.synth import macho as synth

X86_64 = synth.thin("x86_64", version_min=("macos", "10.9", "14.0"), build_version=None)


def fat_table(data: bytes) -> list[tuple[int, int, int, int, int]]:
    """(cputype, cpusubtype, offset, size, align) of each entry, read independently."""
    magic, count = struct.unpack_from(">II", data)
    wide = magic == synth.FAT_MAGIC_64
    entry = struct.Struct(">IIQQII" if wide else ">IIIII")
    return [entry.unpack_from(data, 8 + i * entry.size)[:5] for i in range(count)]


def same_as_lipo(inputs: Sequence[bytes], tmp_path: Path) -> None:
    expected, got = lipo(inputs, tmp_path), ours(inputs)
    if isinstance(expected, str) or isinstance(got, str):
        # Both refuse (messages differ), or one refuses: show both.
        assert isinstance(expected, str) == isinstance(got, str), (expected, got)
        return
    assert got == expected, (fat_table(expected), fat_table(got))


# -- properties (no LLVM needed) -------------------------------------------------------------


def test_two_thin_files_read_back_with_lipo_alignment() -> None:
    data = fat_bytes([ARM64, X86_64])
    slices = read_slices(BytesSource(data))
    assert [s.arch for s in slices] == ["x86_64", "arm64"]  # arm64 last, as lipo orders
    table = fat_table(data)
    assert [(offset, align) for _, _, offset, _, align in table] == [(0x1000, 12), (0x4000, 14)]
    for (_, _, offset, size, _), original in zip(table, [X86_64, ARM64]):
        assert data[offset : offset + size] == original
    assert len(data) == 0x4000 + len(ARM64)  # ends with the last slice
    assert data[8 + 2 * 20 : 0x1000] == bytes(0x1000 - 48)  # gaps are zeros


def test_arm64_last_and_equals_in_input_order() -> None:
    """lipo's sort is stable: i386 and x86_64 (both 2^12) keep their input order."""
    i386 = synth.thin("i386")
    for inputs, archs in (
        ([ARM64, X86_64, i386], ["x86_64", "i386", "arm64"]),
        ([i386, ARM64, X86_64], ["i386", "x86_64", "arm64"]),
    ):
        assert [s.arch for s in read_slices(BytesSource(fat_bytes(inputs)))] == archs


def test_every_byte_order_and_word_size() -> None:
    inputs = [synth.thin("ppc"), synth.thin("ppc64"), synth.thin("i386"), X86_64, ARM64,
              synth.thin("armv7"), synth.thin("arm64_32", bits=32)]  # fmt: skip
    data = fat_bytes(inputs)
    archs = {s.arch for s in read_slices(BytesSource(data))}
    assert archs == {"ppc", "ppc64", "i386", "x86_64", "arm64", "armv7", "arm64_32"}
    for _, _, offset, size, align in fat_table(data):
        assert offset % (1 << align) == 0
        assert data[offset : offset + size] in inputs


def test_fat_input_slices_keep_their_alignment() -> None:
    both = synth.fat([synth.thin("i386"), X86_64], align=5)
    data = fat_bytes([both, ARM64])
    table = fat_table(data)
    assert [(align) for *_, align in table] == [5, 5, 14]
    assert [s.arch for s in read_slices(BytesSource(data))] == ["i386", "x86_64", "arm64"]


def test_archive_takes_its_objects_arch_and_aligns_to_8_or_4() -> None:
    objects64 = synth.archive([("a.o", synth.thin("x86_64", "object")),
                               ("b.o", synth.thin("x86_64", "object"))])  # fmt: skip
    objects32 = synth.archive([("a.o", synth.thin("i386", "object"))], gnu=True)
    data = fat_bytes([objects64, objects32])
    table = fat_table(data)
    assert [(cputype, align) for cputype, _, _, _, align in table] == [(7, 2), (0x01000007, 3)]
    assert data[table[1][2] : table[1][2] + table[1][3]] == objects64


def test_unknown_cpu_aligns_by_segments_and_objects_by_sections() -> None:
    vax = synth.thin("x", cputype=1, cpusubtype=0, bits=64,
                     extra_commands=[synth.segment_command(0x3000),
                                     synth.segment_command(0x100000, name="__DATA")])  # fmt: skip
    obj = synth.thin(
        "x",
        "object",
        cputype=6,
        cpusubtype=0,
        bits=32,
        extra_commands=[synth.segment_command(0, [3, 6], synth.Form(False, 32))],
    )
    table = fat_table(fat_bytes([vax, obj]))
    assert sorted((cputype, align) for cputype, *_, align in table) == [(1, 12), (6, 6)]


def test_write_fat_streams_the_same_bytes_and_modes(tmp_path: Path) -> None:
    paths = []
    for name, data in (("arm64.so", ARM64), ("x86_64.so", X86_64)):
        path = tmp_path / name
        path.write_bytes(data)
        path.chmod(0o644)
        paths.append(path)
    output = tmp_path / "fat.so"
    write_fat(paths, output)
    assert output.read_bytes() == fat_bytes([ARM64, X86_64])
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(output.stat().st_mode) == 0o666 & ~umask
    paths[1].chmod(0o755)
    write_fat(paths, output)  # replaces the output
    assert stat.S_IMODE(output.stat().st_mode) == 0o777 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arm64.so", "fat.so", "x86_64.so"]


def test_an_input_may_be_the_output(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.write_bytes(ARM64)
    second.write_bytes(X86_64)
    write_fat([first, second], first)
    assert first.read_bytes() == fat_bytes([ARM64, X86_64])


def test_fat64_when_an_offset_passes_4_gib() -> None:
    """A 5 GiB slice, described but never allocated: the planner reads headers only."""
    huge_size = 5 << 30

    def huge_read(offset: int, length: int) -> bytes:
        return (X86_64 + bytes(FIRST)).ljust(FIRST, b"\0")[offset : offset + length]

    inputs = [_Input(0, "huge", huge_size, huge_read),
              _Input(1, "arm64", len(ARM64), lambda o, n: ARM64[o : o + n])]  # fmt: skip
    header, placed = _plan(inputs)
    assert struct.unpack_from(">I", header)[0] == synth.FAT_MAGIC_64
    table = fat_table(header)
    assert table[0][2:] == (0x1000, huge_size, 12)
    assert table[1][2] == -(-(0x1000 + huge_size) // 0x4000) * 0x4000 > 0xFFFFFFFF
    assert [offset for _, offset in placed] == [table[0][2], table[1][2]]


FIRST = 4096


# -- errors ----------------------------------------------------------------------------------


JAVA_CLASS = bytes.fromhex("cafebabe00000034") + b"\0" * 32


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ([b"hello, world\n", ARM64], "input 1: not a Mach-O file or static archive"),
        ([JAVA_CLASS, ARM64], "input 1: a Java class file"),
        ([ARM64, synth.thin("arm64")], "input 1 and input 2 both hold arm64"),
        ([synth.fat([X86_64, ARM64]), ARM64], "input 1 and input 2 both hold arm64"),
        ([X86_64, synth.thin("x86_64", cpusubtype=0x80000003)], "both hold x86_64"),
        ([ARM64[:20]], "input 1: truncated"),
        ([synth.thin("arm64", sizeofcmds=4000)], "input 1: truncated"),
        ([b"\xcf\xfa"], "input 1: 2-byte file is not Mach-O"),
        ([synth.fat([X86_64, ARM64], nfat_arch=3)], "input 1: fat slice 2"),
        ([synth.fat([X86_64], overrides=[{"align": 16}])], "alignment 2^16 is above"),
        ([synth.fat([X86_64], overrides=[{"offset": 0x1004}])], "input 1: fat slice 0"),
        ([synth.archive([])], "archive holds no Mach-O object"),
        (
            [
                synth.archive(
                    [
                        ("a.o", synth.thin("x86_64", "object")),
                        ("b.o", synth.thin("arm64", "object")),
                    ]
                )
            ],
            "archive members 'a.o' (x86_64) and 'b.o' (arm64) differ",
        ),
        ([synth.archive([("notes.txt", b"text\n")])], "archive member 'notes.txt': not a Mach-O"),
        ([synth.archive([("f.o", synth.fat([X86_64]))])], "'f.o': a fat file"),
        ([synth.archive([("f.o", b"BC\xc0\xde" + bytes(8))])], "LLVM bitcode"),
        ([synth.archive([("a.o", X86_64)])[:-8]], "runs past the end"),
        ([synth.fat([synth.archive([("a.o", X86_64)])])], "fat slice 0 is a static archive"),
        ([b"!<thin>\n"], "thin archive"),
        ([], "no inputs"),
    ],
)
def test_clear_one_line_errors(inputs: list[bytes], message: str) -> None:
    with pytest.raises(FatWriteError) as caught:
        fat_bytes(inputs)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_write_fat_errors_name_the_file_and_leave_nothing(tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.write_bytes(ARM64)
    text = tmp_path / "README"
    text.write_bytes(b"hello\n")
    for bad, message in (
        (text, f"{text}: not a Mach-O file"),
        (tmp_path / "missing", f"{tmp_path / 'missing'}: No such file"),
        (tmp_path, f"{tmp_path}: a directory"),
    ):
        with pytest.raises(FatWriteError, match=message.replace("(", r"\(")):
            write_fat([good, bad], tmp_path / "out")
    with pytest.raises(FatWriteError, match="good holds arm64 twice"):
        write_fat([good, good], tmp_path / "out")
    with pytest.raises(FatWriteError, match="No such file"):
        write_fat([good], tmp_path / "no" / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README", "good"]


def test_is_fat_input() -> None:
    assert is_fat_input(ARM64[:8]) and is_fat_input(synth.fat([ARM64])[:8])
    assert is_fat_input(synth.archive([])[:8])
    assert not is_fat_input(JAVA_CLASS[:8]) and not is_fat_input(b"\x7fELF\x02\x01\x01\x00")


# -- byte for byte against llvm-lipo-14 ------------------------------------------------------


def unknown_cpu(cputype: int, bits: int, rng: random.Random) -> bytes:
    """A thin file of a CPU without a page-size rule: LLVM aligns it by its segments."""
    form = synth.Form(rng.random() < 0.3, bits)
    if rng.random() < 0.5:
        aligns = [rng.randrange(0, 16) for _ in range(rng.randrange(0, 3))]
        commands = [synth.segment_command(0, aligns, form)]
        filetype = "object"
    else:
        commands = [
            synth.segment_command(rng.choice([0, 1 << rng.randrange(0, bits - 2)])
                                  * rng.choice([1, 3]), form=form, name=f"__SEG{n}")
            for n in range(rng.randrange(0, 3))
        ]  # fmt: skip
        filetype = rng.choice(["bundle", "dylib", "executable"])
    return synth.thin("x", filetype, cputype=cputype, cpusubtype=rng.randrange(0, 4),
                      bits=bits, big_endian=form.big_endian, extra_commands=commands,
                      build_version=None,
                      id_dylib="@rpath/x.dylib" if filetype == "dylib" else None)  # fmt: skip


KNOWN = ["i386", "x86_64", "x86_64h", "arm64", "arm64e", "arm64_32", "armv7", "armv7s",
         "armv6", "ppc", "ppc64"]  # fmt: skip


@needs_lipo
@pytest.mark.parametrize(
    "inputs",
    [
        pytest.param([ARM64, X86_64], id="arm64+x86_64"),
        pytest.param([X86_64, ARM64], id="x86_64+arm64"),
        pytest.param([synth.thin(a) for a in KNOWN], id="eleven-archs"),
        pytest.param(
            [synth.fat([synth.thin("i386"), X86_64], align=3), ARM64, synth.thin("arm64e")],
            id="fat+thin",
        ),
        pytest.param(
            [
                synth.archive([("a.o", synth.thin("x86_64", "object"))]),
                synth.archive([("b.o", synth.thin("arm64", "object"))], gnu=True),
                synth.archive([("c.o", synth.thin("i386", "object"))]),
            ],
            id="archives",
        ),
        pytest.param(
            [
                synth.thin(
                    "x",
                    cputype=1,
                    cpusubtype=0,
                    bits=64,
                    extra_commands=[synth.segment_command(0x3000)],
                ),
                ARM64,
            ],
            id="segment-alignment",
        ),
        pytest.param(
            [
                synth.thin(
                    "x",
                    "object",
                    cputype=6,
                    cpusubtype=0,
                    bits=32,
                    extra_commands=[synth.segment_command(0, [4, 7], synth.Form(False, 32))],
                ),
                X86_64,
            ],
            id="section-alignment",
        ),
        pytest.param([ARM64, synth.thin("arm64")], id="duplicate"),
        pytest.param([b"plain text\n", ARM64], id="not-macho"),
    ],
)
def test_same_bytes_as_llvm_lipo(inputs: list[bytes], tmp_path: Path) -> None:
    same_as_lipo(inputs, tmp_path)


def test_non_transitive_order_as_llvm_lipo(tmp_path: Path) -> None:
    """x86_64 (2^15) < x86_64h (2^10) by subtype, x86_64h < i386 (2^12) < x86_64 by
    alignment: a cycle, which only a step-by-step copy of libstdc++'s stable_sort (here: its
    backward merge of the halves) orders as LLVM does."""
    inputs = [synth.fat([synth.thin("x86_64h")], align=10), synth.thin("i386"),
              synth.fat([X86_64], align=15)]  # fmt: skip
    if LIPO is not None:
        same_as_lipo(inputs, tmp_path)
    order = [(cputype, subtype) for cputype, subtype, *_ in fat_table(fat_bytes(inputs))]
    # A forward merge or one insertion sort would put x86_64 first.
    assert order == [(0x01000007, 8), (7, 3), (0x01000007, 3)]


def random_inputs(rng: random.Random, every: bool = False) -> list[bytes]:
    """Thin, fat and archive inputs of distinct archs, in random order; some alignments come
    from fat tables at random, so ``operator<`` is not always a strict ordering."""
    pool = [synth.thin(a, body=os.urandom(rng.randrange(1, 300))) for a in KNOWN]
    pool += [unknown_cpu(cputype, rng.choice([32, 64]), rng) for cputype in (1, 6, 13, 14, 15)]
    rng.shuffle(pool)
    inputs: list[bytes] = []
    while pool and (every or len(inputs) < rng.randrange(1, 7)):
        kind = rng.random()
        if kind < 0.25 and len(pool) >= 2:
            count = rng.randrange(1, min(4, len(pool)) + 1)
            inputs.append(synth.fat([pool.pop() for _ in range(count)],
                                    align=rng.randrange(2, 16)))  # fmt: skip
        elif kind < 0.35:
            obj = pool.pop()
            inputs.append(synth.archive([("m.o", obj), ("n.o", obj)], gnu=rng.random() < 0.5))
        else:
            inputs.append(pool.pop())
    return inputs


@needs_lipo
@pytest.mark.parametrize("seed", range(40))
def test_random_mixes_same_bytes_as_llvm_lipo(seed: int, tmp_path: Path) -> None:
    same_as_lipo(random_inputs(random.Random(seed)), tmp_path)


@needs_lipo
@pytest.mark.parametrize("seed", range(10))
def test_sixteen_slices_same_bytes_as_llvm_lipo(seed: int, tmp_path: Path) -> None:
    """Halves of 8: libstdc++ sorts runs of 7, then merges, then merges the halves."""
    same_as_lipo(random_inputs(random.Random(seed), every=True), tmp_path)


@needs_lipo
def test_write_fat_file_and_mode_as_llvm_lipo(tmp_path: Path) -> None:
    assert LIPO is not None
    inputs = []
    for name, data, mode in (("a", ARM64, 0o755), ("x", X86_64, 0o644)):
        path = tmp_path / name
        path.write_bytes(data)
        path.chmod(mode)
        inputs.append(str(path))
    subprocess.run([LIPO, "-create", *inputs, "-output", str(tmp_path / "lipo")], check=True)
    write_fat(inputs, tmp_path / "ours")
    assert (tmp_path / "ours").read_bytes() == (tmp_path / "lipo").read_bytes()
    assert (tmp_path / "ours").stat().st_mode == (tmp_path / "lipo").stat().st_mode


# -- real wheels -----------------------------------------------------------------------------


def _pair(project: str, version: str) -> tuple[Path, Path]:
    try:
        arm = realwheels.extracted(realwheels.wheel(project, version, "macosx_14_0_arm64"))
        x86 = realwheels.extracted(realwheels.wheel(project, version, "macosx_14_0_x86_64"))
    except realwheels.NetworkUnavailable as error:
        pytest.skip(f"real wheels not cached and PyPI unreachable: {error}")
    return arm, x86


def _lipo_files(inputs: Sequence[Path], output: Path) -> Optional[bytes]:
    if LIPO is None:
        return None
    subprocess.run([LIPO, "-create", *map(str, inputs), "-output", str(output)], check=True)
    return output.read_bytes()


@pytest.mark.realwheels
def test_real_cffi_backend_as_llvm_lipo(tmp_path: Path) -> None:
    arm, x86 = _pair("cffi", "1.17.1")
    name = "_cffi_backend.cpython-311-darwin.so"
    inputs = [arm / name, x86 / name]
    write_fat(inputs, tmp_path / "ours.so")
    with FileSource(tmp_path / "ours.so") as source:
        assert [s.arch for s in read_slices(source)] == ["x86_64", "arm64"]
    table = fat_table((tmp_path / "ours.so").read_bytes()[:4096])
    assert [(offset, align) for *_, offset, _, align in table] == [(0x1000, 12), (0x34000, 14)]
    expected = _lipo_files(inputs, tmp_path / "lipo.so")
    if expected is not None:
        assert (tmp_path / "ours.so").read_bytes() == expected


@pytest.mark.realwheels
def test_real_numpy_archives_and_dylibs_as_llvm_lipo(tmp_path: Path) -> None:
    arm, x86 = _pair("numpy", "1.26.4")
    members = sorted(
        path.relative_to(arm)
        for path in arm.rglob("*")
        if path.suffix == ".a" or path.parent.name == ".dylibs"
    )
    assert len(members) == 6  # libnpymath.a, libnpyrandom.a and four bundled dylibs
    for relative in members:
        inputs = [arm / relative, x86 / relative]
        write_fat(inputs, tmp_path / "ours")
        data = (tmp_path / "ours").read_bytes()
        table = fat_table(data)
        assert [arch for arch, *_ in table] == [0x01000007, 0x0100000C], relative
        if relative.suffix == ".a":
            assert [align for *_, align in table] == [3, 3]
        # x86_64's libgcc_s is a fat file of one slice aligned 2^14: that alignment stays.
        for (_, _, offset, size, align), path in zip(table, reversed(inputs)):
            assert offset % (1 << align) == 0
            with FileSource(path) as source:
                thin = source.size == size
            assert thin or relative.name == "libgcc_s.1.1.dylib", relative
        expected = _lipo_files(inputs, tmp_path / "lipo")
        if expected is not None:
            assert data == expected, relative


def test_input_archs(tmp_path: Path) -> None:
    from nuitka_archguard.binaries.fat import input_archs

    cases = {
        "thin": (ARM64, ("arm64",)),
        "fat": (synth.fat([X86_64, synth.thin("i386")]), ("x86_64", "i386")),
        "archive": (synth.archive([("a.o", synth.thin("x86_64", "object"))]), ("x86_64",)),
    }
    for name, (data, archs) in cases.items():
        (tmp_path / name).write_bytes(data)
        assert input_archs(tmp_path / name) == archs
    (tmp_path / "java").write_bytes(JAVA_CLASS)
    with pytest.raises(FatWriteError, match="Java class"):
        input_archs(tmp_path / "java")


def test_input_archs_reads_fat_archives_write_fat_refuses(tmp_path: Path) -> None:
    from nuitka_archguard.binaries.fat import input_archs

    x86 = synth.archive([("a.o", synth.thin("x86_64", "object"))])
    arm = synth.archive([("a.o", synth.thin("arm64", "object"))])
    (tmp_path / "fat.a").write_bytes(fat_bytes([x86, arm]))
    assert input_archs(tmp_path / "fat.a") == ("x86_64", "arm64")
    with pytest.raises(FatWriteError, match="fat slice 0 is a static archive"):
        write_fat([tmp_path / "fat.a"], tmp_path / "out")
    wrong = synth.fat([x86], overrides=[{"cputype": 0x0100000C, "cpusubtype": 0}])
    (tmp_path / "wrong.a").write_bytes(wrong)
    with pytest.raises(FatWriteError, match=r"fat slice 0 \(arm64\) holds x86_64 objects"):
        input_archs(tmp_path / "wrong.a")


@pytest.mark.realwheels
@needs_lipo
def test_every_real_arm64_x86_64_pair_as_llvm_lipo(tmp_path: Path) -> None:
    """Every file that is Mach-O or an archive in both the arm64 and the x86_64 wheel of a
    pinned release (extension modules, dylibs, .a archives, fat files of one slice): our
    output is llvm-lipo-14's byte for byte, and where llvm-lipo refuses, we refuse too."""
    assert LIPO is not None
    releases: dict[tuple[str, str], dict[str, realwheels.Pin]] = {}
    for pin in realwheels.MACOS_PINS:
        if pin.arch in ("arm64", "x86_64"):
            releases.setdefault((pin.project, pin.version), {})[pin.arch] = pin
    pins = [pin for both in releases.values() if len(both) == 2 for pin in both.values()]
    try:
        trees = dict(zip(pins, realwheels.extracted_all(pins)))
    except realwheels.NetworkUnavailable as error:
        pytest.skip(f"real wheels not cached and PyPI unreachable: {error}")

    def fusable(path: Path) -> bool:
        with open(path, "rb") as handle:
            head = handle.read(8)
        return realwheels.magic_kind(path) == "mach-o" or head == b"!<arch>\n"

    compared, refused, wrong = 0, 0, []
    for both in releases.values():
        if len(both) != 2:
            continue
        arm, x86 = trees[both["arm64"]], trees[both["x86_64"]]
        for path in realwheels.iter_files(arm):
            other = x86 / path.relative_to(arm)
            if not (other.is_file() and fusable(path) and fusable(other)):
                continue
            result = subprocess.run(
                [LIPO, "-create", str(path), str(other), "-output", str(tmp_path / "lipo")],
                capture_output=True,
            )
            try:
                write_fat([path, other], tmp_path / "ours")
            except FatWriteError as error:
                if result.returncode == 0:
                    wrong.append(f"{path.relative_to(arm)}: we refused ({error})")
                refused += 1
                continue
            if result.returncode != 0:
                wrong.append(f"{path.relative_to(arm)}: llvm-lipo refused, we wrote")
            elif (tmp_path / "ours").read_bytes() != (tmp_path / "lipo").read_bytes():
                wrong.append(f"{path.relative_to(arm)}: bytes differ")
            compared += 1
    assert not wrong, wrong[:20]
    assert compared >= 200, (compared, refused)  # 213 here, none refused
