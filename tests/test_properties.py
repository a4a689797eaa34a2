"""Property tests (issue 6): whatever bytes the three readers get, arbitrary or mutations of
valid headers, they return a result or raise ``BinaryReadError``, never anything else, and
read at most ``HEADER_BUDGET`` bytes doing it."""

from __future__ import annotations

import contextlib
import struct
from typing import Optional

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from nuitka_archguard.binaries import (
    HEADER_BUDGET,
    BinaryFormat,
    BinaryInfo,
    BinaryReadError,
    BytesSource,
    read_binary,
)
from nuitka_archguard.binaries import elf as elf_reader
from nuitka_archguard.binaries import macho as macho_reader
from nuitka_archguard.binaries import pe as pe_reader
from tests.synth import elf, macho, pe

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))


class CountingSource(BytesSource):
    """A buffer that counts the bytes its reader asks for, past the source's own checks."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0
        self.reads = 0

    def _read(self, offset: int, length: int) -> bytes:
        self.bytes_read += length
        self.reads += 1
        return super()._read(offset, length)


def read(data: bytes) -> Optional[BinaryInfo]:
    """The property itself: a result or BinaryReadError, within the budget."""
    source = CountingSource(data)
    try:
        info: Optional[BinaryInfo] = read_binary(source, "f")
    except BinaryReadError as error:
        message = str(error)
        assert message and "\n" not in message
        info = None
    assert source.bytes_read <= HEADER_BUDGET
    if info is not None:
        info.to_json()
        assert info.is_binary == bool(info.slices)
        for item in info.slices:
            for name in (*item.dependencies, *item.rpaths, item.install_name or ""):
                assert len(name) <= 4 * 4096, "names are bounded"
    return info


LIBS = ["/usr/lib/libSystem.B.dylib", "@rpath/libpython3.11.dylib"]
VALID: dict[str, bytes] = {
    "macho-thin64": macho.thin("x86_64", dylibs=LIBS, rpaths=["@loader_path"], id_dylib="libx"),
    "macho-thin32": macho.thin(
        "i386", build_version=None, version_min=("macos", "10.9", "10.13"), dylibs=LIBS
    ),
    "macho-ppc": macho.thin("ppc", dylibs=LIBS[:1]),
    "macho-fat": macho.fat([macho.thin("x86_64", dylibs=LIBS), macho.thin("arm64")], align=4),
    "macho-fat64": macho.fat(
        [macho.thin("x86_64"), macho.thin("arm64", dylibs=LIBS)], align=4, fat64=True
    ),
    "elf64": elf.elf("x86_64", needed=["libc.so.6"], soname="libx.so", runpath=["$ORIGIN"]),
    "elf64-pie": elf.elf(
        "aarch64", interp="/lib/ld-linux-aarch64.so.1", pie=True, needed=["libc.so.6"]
    ),
    "elf64-no-load": elf.elf("x86_64", needed=["libc.so.6"], load=False),
    "elf32-be": elf.elf("ppc", needed=["libc.so.6"], rpath=["/opt"]),
    "pe32+": pe.pe("amd64", imports=["KERNEL32.dll", "python311.dll"], delay_imports=["x.dll"]),
    "pe32": pe.pe("x86", imports=["KERNEL32.dll"], delay_imports=["y.dll"], delay_rva_based=False),
    "pe-arm64ec": pe.pe("amd64", imports=["KERNEL32.dll"], chpe=True),
}
MAGICS = [
    b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xfe\xed\xfa\xce",
    b"\xca\xfe\xba\xbe\x00\x00\x00\x02", b"\xca\xfe\xba\xbf\x00\x00\x00\x02",
    b"\x7fELF\x02\x01\x01\x00", b"\x7fELF\x01\x02\x01\x00", b"MZ",
]  # fmt: skip
INTERESTING = [0, 1, 2, 7, 8, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000,
               0xFFFFFFFF, HEADER_BUDGET, HEADER_BUDGET + 1]  # fmt: skip


def test_every_valid_sample_reads() -> None:
    for name, data in VALID.items():
        info = read(data)
        assert info is not None and info.is_binary, name


@SETTINGS
@given(st.binary(max_size=4096))
@example(b"")
@example(b"\xca\xfe\xba\xbe")
def test_arbitrary_bytes(data: bytes) -> None:
    read(data)


@SETTINGS
@given(st.sampled_from(MAGICS), st.binary(max_size=8192))
def test_arbitrary_bytes_behind_a_magic(magic: bytes, rest: bytes) -> None:
    read(magic + rest)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid sample with a few fields overwritten by boundary values, bytes flipped, or
    the file cut short."""
    data = bytearray(VALID[draw(st.sampled_from(sorted(VALID)))])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["u32", "u16", "u64", "byte", "cut"]))
        if kind == "cut":
            del data[draw(st.integers(0, len(data))) :]
            continue
        fmt = {"u32": "I", "u16": "H", "u64": "Q", "byte": "B"}[kind]
        width = struct.calcsize(fmt)
        if len(data) < width:
            continue
        at = draw(st.integers(0, len(data) - width))
        order = draw(st.sampled_from("<>"))
        value = draw(st.sampled_from(INTERESTING) | st.integers(0, (1 << (8 * width)) - 1))
        struct.pack_into(order + fmt, data, at, value & ((1 << (8 * width)) - 1))
    return bytes(data)


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutated())
def test_mutations_of_valid_headers(data: bytes) -> None:
    read(data)


@SETTINGS
@given(st.sampled_from(sorted(VALID)), st.data())
def test_every_prefix_fails_cleanly_or_reads(name: str, data: st.DataObject) -> None:
    whole = VALID[name]
    length = data.draw(st.integers(0, len(whole)))
    info = read(whole[:length])
    if info is not None and info.is_binary:
        assert info.format is read_binary(BytesSource(whole), "f").format


@SETTINGS
@given(st.binary(min_size=0, max_size=64))
def test_each_reader_directly(data: bytes) -> None:
    """Each reader on its own, even on bytes its magic check would refuse."""
    for reader in (macho_reader, elf_reader, pe_reader):
        source = CountingSource(data)
        with contextlib.suppress(BinaryReadError):
            reader.read_slices(source)
        assert source.bytes_read <= HEADER_BUDGET


@SETTINGS
@given(st.binary(max_size=16))
def test_detect_format_never_raises(head: bytes) -> None:
    from nuitka_archguard.binaries import detect_format

    assert isinstance(detect_format(head), BinaryFormat)
