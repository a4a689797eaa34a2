"""Hostile binaries: every reader case, cuts at every offset, bounded time and memory."""

from __future__ import annotations

import contextlib
import re
import struct
import time
from pathlib import Path
from typing import Callable, Optional

import pytest

from nuitka_archguard.binaries import (
    HEADER_BUDGET,
    BinaryInfo,
    BinaryReadError,
    BytesSource,
    inspect_file,
    read_binary,
)
from nuitka_archguard.check.policy import Code
from nuitka_archguard.check.scan import scan
from tests.hostile.binaries import (
    E_PHOFF,
    ELF_I686,
    ELF_NO_LOAD,
    ELF_PIE,
    ELF_SO,
    ELF_X86_64,
    LIBSYSTEM,
    MACHO_X86_64,
    PE_DLL,
    READER_CASES,
    ma,
    mx,
    patch,
)
from tests.hostile.common import GIB, Fails, Outcome, check, read_counted, sparse_file
from tests.synth import macho as synth_macho
from tests.synth import pe as synth_pe


@pytest.mark.parametrize("case", sorted(READER_CASES))
def test_reader_case(case: str, tmp_path: Path) -> None:
    make, outcome = READER_CASES[case]
    path = tmp_path / "case.so"
    path.write_bytes(make())
    check(outcome, lambda: inspect_file(path))
    started = time.perf_counter()
    _, _, spent = read_counted(path)
    assert time.perf_counter() - started < 0.5
    assert spent <= HEADER_BUDGET


# -- cut at every byte offset ------------------------------------------------------------------

CUT_MESSAGE = re.compile(
    r"(fat slice \d+ \(\w+\): )?truncated: .*"
    r"|truncated ELF (identification|header)"
    r"|fat slice \d+ \(\w+\) ends at \d+, past the end of the \d+-byte file"
    r"|MZ executable without a PE header"
    r"|unterminated DLL name in the import directory"
)


def whole_headers(data: bytes) -> int:
    """Bytes a thin Mach-O file needs: its header and load commands."""
    order = "<" if data[:4] in (b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe") else ">"
    (sizeofcmds,) = struct.unpack_from(order + "I", data, 20)
    is64 = data[:4] in (b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa\xcf")
    return (32 if is64 else 28) + sizeofcmds


CUT_SAMPLES: dict[str, tuple[Callable[[], bytes], Optional[Callable[[bytes], int]]]] = {
    # name: (file, where reading must start to succeed; None: the whole file)
    "macho-thin64": (lambda: mx(id_dylib="libx.dylib", rpaths=["@loader_path/.."]), whole_headers),
    "macho-thin32": (
        lambda: synth_macho.thin(
            "i386", version_min=("macos", "10.9", "10.13"), build_version=None, dylibs=[LIBSYSTEM]
        ),
        whole_headers,
    ),
    "macho-thin32-big-endian": (lambda: synth_macho.thin("ppc", dylibs=[LIBSYSTEM]), whole_headers),
    "macho-fat": (lambda: synth_macho.fat([mx(), ma()], align=4), None),
    "macho-fat64": (lambda: synth_macho.fat([mx(), ma()], align=4, fat64=True), None),
    "macho-fat-page-aligned": (lambda: synth_macho.fat([mx(), ma()]), None),
    "elf64": (lambda: ELF_SO.data, lambda data: -1),
    "elf64-pie": (lambda: ELF_PIE.data, lambda data: -1),
    "elf64-without-load": (lambda: ELF_NO_LOAD.data, lambda data: -1),
    "elf32": (lambda: ELF_I686.data, lambda data: -1),
    "pe32+": (lambda: PE_DLL.data, lambda data: -1),
    "pe32": (lambda: synth_pe.pe("x86", imports=["KERNEL32.dll"]), lambda data: -1),
}


@pytest.mark.parametrize("sample", sorted(CUT_SAMPLES))
def test_cut_at_every_offset(sample: str) -> None:
    """Every prefix either fails with a truncation message or, from one length on, reads
    exactly as the whole file does (for Mach-O: from the end of its headers on)."""
    make, needed = CUT_SAMPLES[sample]
    data = make()
    whole = read_binary(BytesSource(data), "f")
    assert whole.is_binary
    magic = 2 if data[:2] == b"MZ" else 4
    first_good = None
    for length in range(len(data) + 1):
        source = BytesSource(data[:length])
        if length < magic:
            assert not read_binary(source, "f").is_binary
            continue
        try:
            info = read_binary(source, "f")
        except BinaryReadError as error:
            assert first_good is None, f"{length}: fails after {first_good} read: {error}"
            assert CUT_MESSAGE.fullmatch(str(error)), f"{length}: {error}"
            continue
        assert info == whole, length
        if first_good is None:
            first_good = length
    expected = len(data) if needed is None else needed(data)
    if expected >= 0:
        assert first_good == expected
    assert first_good is not None


# -- bounded time and memory whatever the headers say ------------------------------------------


def pe_with_many_sections_and_imports(sections: int = 8192, imports: int = 4095) -> bytes:
    """A 0.5 MB PE image: ``sections`` section headers (the import data in the last one) and
    ``imports`` import plus as many delay-import descriptors. Every header is in budget."""
    optional_size = 240
    table_at = 0x40 + 24 + optional_size
    data_at = (table_at + sections * 40 + 0x1FF) & ~0x1FF
    rva = 0x100000
    imports_size, delays_size = (imports + 1) * 20, (imports + 1) * 32
    name_at = imports_size + delays_size
    blob = bytearray(name_at + 16)
    for i in range(imports):
        struct.pack_into("<IIIII", blob, i * 20, 0, 0, 0, rva + name_at, 0)
        struct.pack_into("<8I", blob, imports_size + i * 32, 1, rva + name_at, 0, 0, 0, 0, 0, 0)
    blob[name_at : name_at + 8] = b"evil.dll"
    out = bytearray(data_at) + blob
    out[0:2] = b"MZ"
    struct.pack_into("<I", out, 0x3C, 0x40)
    out[0x40:0x44] = b"PE\0\0"
    struct.pack_into("<HHIIIHH", out, 0x44, 0x8664, sections, 0, 0, 0, optional_size, 0x2022)
    optional = 0x40 + 24
    struct.pack_into("<H", out, optional, 0x20B)
    struct.pack_into("<Q", out, optional + 24, 0x180000000)
    struct.pack_into("<I", out, optional + 60, data_at)
    struct.pack_into("<I", out, optional + 108, 16)
    struct.pack_into("<II", out, optional + 112 + 8 * 1, rva, imports_size)
    struct.pack_into("<II", out, optional + 112 + 8 * 13, rva + imports_size, delays_size)
    struct.pack_into(
        "<8sIIII",
        out,
        table_at + (sections - 1) * 40,
        b".rdata",
        len(blob),
        rva,
        len(blob),
        data_at,
    )
    return bytes(out)


def elf_with_one_long_name_needed_often(entries: int = 64, length: int = 900_000) -> bytes:
    """An ELF file whose ``entries`` DT_NEEDED entries all point at one ``length``-byte
    string: 1 MB of headers that would become ``entries`` MB of names."""
    phdrs_at, dynamic_at = 64, 64 + 2 * 56
    dynamic = [(5, 0), (10, 0)] + [(1, 1)] * (entries - 1) + [(1, length)] + [(0, 0)]
    strings_at = dynamic_at + len(dynamic) * 16
    strings = b"\0" + b"A" * (length - 1) + b"\0\0"
    size = strings_at + len(strings)
    dynamic[0], dynamic[1] = (5, strings_at), (10, len(strings))
    out = bytearray(size)
    out[:16] = b"\x7fELF\x02\x01\x01".ljust(16, b"\0")
    struct.pack_into("<HHIQQQIHHHHHH", out, 16, 3, 62, 1, 0, phdrs_at, 0, 0, 64, 56, 2, 64, 0, 0)
    struct.pack_into("<IIQQQQQQ", out, phdrs_at, 1, 4, 0, 0, 0, size, size, 8)
    struct.pack_into(
        "<IIQQQQQQ",
        out,
        phdrs_at + 56,
        2,
        4,
        dynamic_at,
        dynamic_at,
        dynamic_at,
        len(dynamic) * 16,
        len(dynamic) * 16,
        8,
    )
    for index, (tag, value) in enumerate(dynamic):
        struct.pack_into("<QQ", out, dynamic_at + 16 * index, tag, value)
    out[strings_at:] = strings
    return bytes(out)


def test_pe_time_does_not_grow_with_sections_times_imports() -> None:
    """Regression (pe.py ``_Image.map`` is a linear scan called once per imported name):
    8192 sections x 8190 names took 5.6 s for one 0.5 MB file."""
    data = pe_with_many_sections_and_imports()
    started = time.perf_counter()
    with contextlib.suppress(BinaryReadError):
        read_binary(BytesSource(data), "f")
    assert time.perf_counter() - started < 0.5


def test_elf_names_are_bounded_whatever_the_table_says() -> None:
    """Regression (elf.py ``_File._names``: a name is not cut at MAX_STRING): 64 DT_NEEDED
    entries at one 900 KB string made 57 MB of names from 1 MB of headers; 4096 would make
    3.6 GB."""
    import tracemalloc

    data = elf_with_one_long_name_needed_often()
    tracemalloc.start()
    try:
        info: Optional[BinaryInfo] = read_binary(BytesSource(data), "f")
    except BinaryReadError:
        info = None
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < 4 * HEADER_BUDGET
    if info is not None:
        assert all(len(name) <= 4096 for name in info.dependencies)


def test_sparse_10_gib_binaries_read_only_their_headers(tmp_path: Path) -> None:
    slice_ = mx()
    at_the_end = 10 * GIB - len(slice_)
    phdrs = ELF_SO.data[ELF_SO.phoff : ELF_SO.phoff + ELF_SO.phnum * ELF_SO.phentsize]
    cases: dict[str, tuple[bytes, bytes, Outcome]] = {
        # A thin Mach-O whose load commands claim 4 GiB of the file: a big file's budget
        # grows with its size, but never past the cap, and then it is "too large".
        "macho-sizeofcmds-4GiB": (
            mx(sizeofcmds=0xFFFFFFF0, ncmds=2),
            b"",
            Fails(r"too large to inspect: headers exceed the 16384 KiB header budget"),
        ),
        # A fat64 file whose only slice lies at the end of 10 GiB of holes.
        "macho-fat64-slice-at-the-end": (
            synth_macho.fat([slice_], fat64=True, overrides=[{"offset": at_the_end}])[:40],
            slice_,
            MACHO_X86_64,
        ),
        # An ELF file whose program headers lie at the end.
        "elf-phdrs-at-the-end": (
            patch(ELF_SO.data, "<Q", E_PHOFF, 10 * GIB - 4096),
            phdrs.ljust(4096, b"\0"),
            ELF_X86_64,
        ),
    }
    for name, (head, tail, outcome) in cases.items():
        path = sparse_file(tmp_path, name, head, tail)
        started = time.perf_counter()
        check(outcome, lambda: inspect_file(path))  # noqa: B023
        _, _, spent = read_counted(path)
        assert time.perf_counter() - started < 1, name
        assert spent <= HEADER_BUDGET, name


# -- Mach-O: a header's word size agrees with its CPU type --------------------------------------


_WIDTH = "corrupt: a {0}-bit mach header with a {1}-bit cputype {2}"
MACHO_WIDTH_CASES = {
    "x86_64-in-32-bit-header": ("x86_64", 32, _WIDTH.format(32, 64, "0x1000007")),
    "arm64-in-32-bit-header": ("arm64", 32, _WIDTH.format(32, 64, "0x100000c")),
    "i386-in-64-bit-header": ("i386", 64, _WIDTH.format(64, 32, "0x7")),
    "armv7-in-64-bit-header": ("armv7", 64, _WIDTH.format(64, 32, "0xc")),
}


@pytest.mark.parametrize("case", sorted(MACHO_WIDTH_CASES))
def test_macho_word_size_disagreeing_with_cputype_is_unreadable(case: str, tmp_path: Path) -> None:
    arch, bits, message = MACHO_WIDTH_CASES[case]
    data = synth_macho.thin(arch, bits=bits)
    with pytest.raises(BinaryReadError, match=re.escape(message)):
        read_binary(BytesSource(data), "x.so")
    path = tmp_path / "x.so"
    path.write_bytes(data)
    (finding,) = scan([str(tmp_path)], "macos-arm64").findings
    assert finding.code is Code.UNREADABLE_BINARY


def test_arm64_32_keeps_its_32_bit_header() -> None:
    data = synth_macho.thin("arm64_32", bits=32)
    assert read_binary(BytesSource(data), "x").archs == ("arm64_32",)
