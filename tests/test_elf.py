"""ELF reader: synthesized files for every field, real system files, and corrupt input."""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import struct
import subprocess
import sysconfig

import pytest

from nuitka_archguard.binaries import (
    BinaryFormat,
    BinaryReadError,
    BytesSource,
    detect_format,
    inspect_file,
)
from nuitka_archguard.binaries import elf as reader
from nuitka_archguard.binaries.model import Slice
from nuitka_archguard.binaries.source import FIRST_READ
from tests.synth.elf import ARCHS, build_elf, elf


def read(data: bytes) -> Slice:
    (only,) = reader.read_slices(BytesSource(data))
    return only


# --- architectures -------------------------------------------------------------------------


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_arch_names(arch: str) -> None:
    data = elf(arch, needed=["libc.so.6"])
    assert detect_format(data[:8]) is BinaryFormat.ELF
    assert read(data).arch == arch


@pytest.mark.parametrize(
    ("machine", "bits", "big_endian", "expected"),
    [
        (21, 64, False, "ppc64le"),
        (21, 64, True, "ppc64"),
        (183, 64, False, "aarch64"),
        (183, 64, True, "aarch64_be"),
        (40, 32, False, "armv7l"),
        (40, 32, True, "armv7b"),
        (8, 32, True, "mips"),
        (8, 32, False, "mipsel"),
        (8, 64, True, "mips64"),
        (8, 64, False, "mips64el"),
        (22, 64, True, "s390x"),
        (22, 32, True, "s390"),
        (243, 64, False, "riscv64"),
        (243, 32, False, "riscv32"),
        (258, 64, False, "loongarch64"),
        (62, 64, False, "x86_64"),
        (62, 32, False, "x32"),
        (3, 32, False, "i686"),
        (3, 32, True, "i686"),
        (20, 32, True, "ppc"),
        (999, 64, False, "em_999"),
        (0, 32, True, "em_0"),
    ],
)
def test_byte_orders_and_classes(machine: int, bits: int, big_endian: bool, expected: str) -> None:
    data = elf(
        "x",
        machine=machine,
        bits=bits,
        big_endian=big_endian,
        needed=["libz.so.1"],
        soname="libq.so",
    )
    info = read(data)
    assert info.arch == expected
    assert info.dependencies == ("libz.so.1",)
    assert info.install_name == "libq.so"


# --- file types, platforms -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"etype": "exec"}, "executable"),
        ({"etype": "exec", "interp": "/lib64/ld-linux-x86-64.so.2"}, "executable"),
        ({"etype": "dyn", "interp": "/lib64/ld-linux-x86-64.so.2"}, "executable"),
        ({"etype": "dyn", "pie": True}, "executable"),
        ({"etype": "dyn"}, "shared-library"),
        ({"etype": "dyn", "soname": "libx.so"}, "shared-library"),
        # glibc's libc.so.6 runs (PT_INTERP) but is a library: it has a soname.
        (
            {"etype": "dyn", "interp": "/lib64/ld-linux-x86-64.so.2", "soname": "libc.so.6"},
            "shared-library",
        ),
        ({"etype": "rel"}, "object"),
        ({"etype": "core"}, "core"),
    ],
)
def test_file_types(options: dict[str, object], expected: str) -> None:
    assert read(elf("x86_64", **options)).file_type == expected


@pytest.mark.parametrize(
    ("osabi", "platform"),
    [
        (0, "linux"),
        (3, "linux"),
        (9, "freebsd"),
        (12, "openbsd"),
        (2, "netbsd"),
        (6, "solaris"),
        (255, "standalone"),
        (200, "osabi_200"),
    ],
)
def test_platform_from_osabi(osabi: int, platform: str) -> None:
    assert read(elf("x86_64", osabi=osabi, needed=["libc.so.7"])).platform == platform


# --- dynamic section -----------------------------------------------------------------------


def test_dynamic_tags() -> None:
    info = read(
        elf(
            "aarch64",
            needed=["libfoo.so.1", "libbar.so", "libc.so.6"],
            runpath=["$ORIGIN/../lib", "/opt/x"],
            rpath=["/old"],
            soname="libme.so.2",
        )
    )
    assert info.dependencies == ("libfoo.so.1", "libbar.so", "libc.so.6")
    assert info.rpaths == ("$ORIGIN/../lib", "/opt/x", "/old")
    assert info.install_name == "libme.so.2"


def test_empty_rpath_entries_are_dropped() -> None:
    info = read(elf("x86_64", extra_dynamic=[], runpath=["", "/a", ""]))
    assert info.rpaths == ("/a",)


def test_no_dynamic_section() -> None:
    info = read(elf("x86_64", etype="exec"))
    assert info == Slice(arch="x86_64", file_type="executable", platform="linux")


def test_without_strsz() -> None:
    assert read(elf("x86_64", needed=["liba.so"], strsz=False)).dependencies == ("liba.so",)


def test_strtab_through_section_headers() -> None:
    """No PT_LOAD covers DT_STRTAB: the reader falls back to the section headers."""
    data = elf("ppc64le", needed=["libm.so.6"], soname="libs.so", load=False)
    info = read(data)
    assert info.dependencies == ("libm.so.6",)
    assert info.install_name == "libs.so"


def test_strtab_through_dynamic_sh_link() -> None:
    """No section sits at DT_STRTAB's address; SHT_DYNAMIC's sh_link names the table."""
    image = build_elf("x86_64", needed=["liba.so"], load=False)
    data = bytearray(image.data)
    entry = 64  # section 1 (.dynstr): zero its sh_addr
    struct.pack_into("<Q", data, image.shoff + entry + 16, 0)
    assert read(bytes(data)).dependencies == ("liba.so",)


def test_undecodable_name_stays_printable() -> None:
    image = build_elf("x86_64", needed=["lib\u00e9.so"])
    data = image.data.replace("lib\u00e9.so".encode(), b"lib\xff\xfe.so")
    name = read(data).dependencies[0]
    assert name == "lib\\xff\\xfe.so"
    name.encode("utf-8")


# --- libc ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "libc"),
    [
        ({"needed": ["libc.so.6"]}, "glibc"),
        ({"needed": ["libm.so.6", "libpthread.so.0"]}, "glibc"),
        ({"needed": ["libc.musl-x86_64.so.1"]}, "musl"),
        ({"needed": ["libgcc_s-a3a07607.so.1", "libc.musl-aarch64.so.1"]}, "musl"),
        ({"etype": "dyn", "interp": "/lib/ld-musl-x86_64.so.1"}, "musl"),
        ({"etype": "dyn", "interp": "/lib64/ld-linux-x86-64.so.2"}, "glibc"),
        ({"etype": "dyn", "interp": "/lib/ld-linux-aarch64.so.1"}, "glibc"),
        ({"etype": "dyn", "interp": "/lib64/ld64.so.2"}, "glibc"),
        ({"needed": ["ld-linux-x86-64.so.2"]}, "glibc"),
        ({"soname": "libc.so.6"}, "glibc"),
        ({"needed": ["libstdc++.so.6"]}, None),
        ({"needed": []}, None),
        ({"etype": "exec"}, None),
    ],
)
def test_libc(options: dict[str, object], libc: str) -> None:
    assert read(elf("x86_64", **options)).libc == libc


# --- cross-checks with LLVM and real files -------------------------------------------------

READELF = shutil.which("llvm-readelf-14") or shutil.which("llvm-readelf")


@pytest.mark.skipif(READELF is None, reason="llvm-readelf not installed")
@pytest.mark.parametrize(
    "arch", ["x86_64", "i686", "aarch64", "armv7l", "ppc64", "s390x", "riscv64", "mips64el"]
)
def test_synth_agrees_with_llvm_readelf(arch: str, tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "lib.so")
    with open(path, "wb") as file:
        file.write(
            elf(
                arch,
                interp="/lib/ld.so",
                needed=["libc.so.6", "libx.so"],
                runpath=["$ORIGIN"],
                rpath=["/r"],
                soname="libme.so",
            )
        )
    assert READELF is not None
    out = subprocess.run(
        [READELF, "-h", "-d", "-l", path], capture_output=True, text=True, check=True
    )
    assert "warning" not in out.stderr.lower()
    assert re.findall(r"\(NEEDED\)\s+Shared library: \[(.*)\]", out.stdout) == [
        "libc.so.6",
        "libx.so",
    ]
    assert "Library soname: [libme.so]" in out.stdout
    assert "Library runpath: [$ORIGIN]" in out.stdout
    assert "Library rpath: [/r]" in out.stdout
    assert "Requesting program interpreter: /lib/ld.so" in out.stdout
    info = inspect_file(path)
    assert info.archs == (arch,)
    assert info.dependencies == ("libc.so.6", "libx.so")


def _real(*patterns: str) -> str:
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)):
            if os.path.isfile(path):
                return path
    pytest.skip(f"no file matches {patterns}")


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="x86_64 host files")
def test_real_executable() -> None:
    info = inspect_file(_real("/bin/ls", "/usr/bin/ls"))
    (only,) = info.slices
    assert (only.arch, only.file_type, only.platform, only.libc) == (
        "x86_64",
        "executable",
        "linux",
        "glibc",
    )
    assert "libc.so.6" in only.dependencies


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="x86_64 host files")
def test_real_libc() -> None:
    info = inspect_file(_real("/lib/x86_64-linux-gnu/libc.so.6", "/lib64/libc.so.6"))
    (only,) = info.slices
    assert (only.arch, only.file_type, only.install_name, only.libc) == (
        "x86_64",
        "shared-library",
        "libc.so.6",
        "glibc",
    )


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="x86_64 host files")
def test_real_extension_module() -> None:
    dynload = sysconfig.get_config_var("DESTSHARED") or ""
    info = inspect_file(_real(f"{dynload}/_ctypes.*.so", f"{dynload}/*.so"))
    (only,) = info.slices
    assert (only.arch, only.file_type, only.platform) == ("x86_64", "shared-library", "linux")


# --- corrupt input -------------------------------------------------------------------------


def _patch(data: bytes, offset: int, fmt: str, *values: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, *values)
    return bytes(out)


FULL = build_elf(
    "x86_64",
    interp="/lib/ld-musl-x86_64.so.1",
    needed=["liba.so", "libb.so"],
    runpath=["/x"],
    soname="libs.so",
)
NO_SECTIONS = build_elf("x86_64", needed=["liba.so"], sections=False)
FULL32 = build_elf("armv7b", interp="/lib/ld-linux.so.3", needed=["liba.so"], rpath=["/y"])


def _corrupt_cases() -> list[tuple[str, bytes]]:
    d = FULL.data
    dyn = FULL.dynamic_offset
    return [
        ("empty after magic", d[:4]),
        ("identification only", d[:16]),
        ("half a header", d[:40]),
        ("bad class", d[:4] + b"\x03" + d[5:]),
        ("bad byte order", d[:5] + b"\x00" + d[6:]),
        ("phentsize wrong", _patch(d, 54, "<H", 55)),
        ("phnum lies", _patch(d, 56, "<H", 0xFFFF)),
        ("phnum past EOF", _patch(d, 56, "<H", 200)),
        ("phoff past EOF", _patch(d, 32, "<Q", 1 << 40)),
        ("phoff huge", _patch(d, 32, "<Q", (1 << 64) - 1)),
        ("unknown e_type", _patch(d, 16, "<H", 0xFE00)),
        ("interp past EOF", _patch(d, FULL.phoff + 8, "<Q", 1 << 33)),
        ("interp too long", _patch(d, FULL.phoff + 32, "<Q", 1 << 40)),
        ("dynamic past EOF", _patch(d, FULL.phoff + 56 * 2 + 8, "<Q", len(d) + 1)),
        ("dynamic huge", _patch(d, FULL.phoff + 56 * 2 + 32, "<Q", 1 << 50)),
        (
            "strtab maps nowhere",
            _patch(NO_SECTIONS.data, NO_SECTIONS.dynamic_offset + 8, "<Q", 0x10),
        ),
        ("needed offset past strsz", _patch(d, dyn + 16 * 3 + 8, "<Q", 10_000)),
        ("strsz cuts a name", _patch(d, dyn + 16 + 8, "<Q", 12)),
        ("file cut inside dynamic", d[: dyn + 20]),
    ]


@pytest.mark.parametrize(("name", "data"), _corrupt_cases(), ids=[n for n, _ in _corrupt_cases()])
def test_corrupt_raises_binary_read_error(name: str, data: bytes) -> None:
    with pytest.raises(BinaryReadError) as caught:
        read(data)
    assert "\n" not in str(caught.value)


def test_no_strtab_tag() -> None:
    data = _patch(FULL.data, FULL.dynamic_offset, "<Q", 0x7FFFFFFF)  # DT_STRTAB -> unknown
    with pytest.raises(BinaryReadError, match="DT_STRTAB"):
        read(data)


def test_unterminated_string() -> None:
    """The last name runs to the end of DT_STRSZ without a NUL."""
    image = build_elf("x86_64", needed=["liba.so"])
    data = bytearray(image.data)
    data[image.dynstr_offset + image.dynstr_size - 1] = ord("x")
    with pytest.raises(BinaryReadError, match="unterminated"):
        read(bytes(data))


def test_fallback_with_bad_section_headers() -> None:
    image = build_elf("x86_64", needed=["liba.so"], load=False)
    with pytest.raises(BinaryReadError, match="section header size"):
        read(_patch(image.data, 58, "<H", 63))
    with pytest.raises(BinaryReadError, match="too many section headers"):
        read(_patch(image.data, 60, "<H", 60000))
    no_sections = build_elf("x86_64", needed=["liba.so"], load=False, sections=False)
    with pytest.raises(BinaryReadError, match="maps to no segment"):
        read(no_sections.data)


@pytest.mark.parametrize("image", [FULL, FULL32], ids=["64-bit LSB", "32-bit MSB"])
def test_every_truncation(image: object) -> None:
    data = image.data  # type: ignore[attr-defined]
    for length in range(len(data)):
        with contextlib.suppress(BinaryReadError):
            read(data[:length])


@pytest.mark.parametrize("image", [FULL, FULL32], ids=["64-bit LSB", "32-bit MSB"])
def test_every_byte_damaged(image: object) -> None:
    data = image.data  # type: ignore[attr-defined]
    for offset in range(len(data)):
        for value in (0x00, 0x7F, 0x80, 0xFF):
            damaged = bytearray(data)
            damaged[offset] = value
            with contextlib.suppress(BinaryReadError):
                read(bytes(damaged))


def test_reads_are_few() -> None:
    source = BytesSource(FULL.data)
    reader.read_slices(source)
    assert source._reads <= 6


def _notes_past_the_first_read(image: object) -> bytes:
    """``image`` (64-bit, little-endian, its PT_NOTE last) with its notes moved past the
    first 4 KiB, where auditwheel's patchelf leaves them."""
    data = bytearray(image.data)  # type: ignore[attr-defined]
    header = image.phoff + (image.phnum - 1) * image.phentsize  # type: ignore[attr-defined]
    p_type, _, offset, _, _, size = struct.unpack_from("<IIQQQQ", data, header)
    assert p_type == 4  # PT_NOTE
    moved = FIRST_READ + 512
    data.extend(bytes(moved + size - len(data)))
    data[moved : moved + size] = data[offset : offset + size]
    struct.pack_into("<Q", data, header + 8, moved)
    return bytes(data)


@pytest.mark.parametrize(
    ("needed", "reads", "platform"),
    [
        (["libc.so.6"], 1, "linux"),  # glibc: no Android can load it, its notes are not read
        (["libc.musl-aarch64.so.1"], 1, "linux"),  # musl: the same
        (["libc.so"], 2, "android"),  # bionic's libc: the note is read, past the first read
    ],
)
def test_notes_are_read_only_when_the_libraries_leave_the_os_open(
    needed: list[str], reads: int, platform: str
) -> None:
    source = BytesSource(
        _notes_past_the_first_read(build_elf("aarch64", android_api=24, needed=needed))
    )
    (item,) = reader.read_slices(source)
    assert (source._reads, item.platform) == (reads, platform)


def test_overlong_name_is_refused() -> None:
    """Names are cut at MAX_STRING, whatever DT_STRSZ allows."""
    with pytest.raises(BinaryReadError, match="overlong"):
        read(elf("x86_64", needed=["a" * (reader.MAX_STRING + 10)]))
    assert read(elf("x86_64", needed=["a" * 4000])).dependencies == ("a" * 4000,)
