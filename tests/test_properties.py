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


# -- round 2 (issue 10): zip compression methods, metadata files, names with control bytes -----

import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import zipfile  # noqa: E402

from nuitka_archguard.binaries.source import MemberStream, ZipMemberSource  # noqa: E402
from nuitka_archguard.check.metadata import (  # noqa: E402
    MetadataReader,
    parse_headers,
    required_names,
)
from nuitka_archguard.text import is_printable, shell_quote, shown, strict_json  # noqa: E402

METHODS = [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]


@SETTINGS
@given(
    st.sampled_from(METHODS),
    st.binary(max_size=20_000)
    | st.builds(lambda n, b: b * n, st.integers(1, 50_000), st.binary(min_size=1, max_size=8)),
    st.lists(st.integers(0, 4096), max_size=6),
)
def test_member_streams_match_zipfile_for_every_method(
    method: int, data: bytes, steps: list[int]
) -> None:
    """Whatever the method, the bounded decompressor yields zipfile's bytes, in any steps."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        archive.writestr("m.so", data)
    with zipfile.ZipFile(buffer) as archive:
        (member,) = archive.infolist()
        stream = MemberStream(archive, member)
        got = b"".join(stream.read(step) for step in steps)
        got += stream.read(len(data) + 1)
        assert got == data
        source = ZipMemberSource(archive, member)
        if data:
            assert source.head() == data[:4096]
            offset = len(data) // 2
            assert source.read_at(offset, min(16, len(data) - offset)) == data[offset : offset + 16]


@SETTINGS
@given(st.sampled_from(METHODS), st.binary(max_size=4096))
def test_corrupt_compressed_data_is_a_binary_read_error(method: int, junk: bytes) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        archive.writestr("m.so", b"\x7fELF" + bytes(50_000))
    raw = bytearray(buffer.getvalue())
    start = 30 + len("m.so")
    raw[start : start + len(junk)] = junk[: len(raw) - start - 100]
    with zipfile.ZipFile(io.BytesIO(bytes(raw))) as archive:
        (member,) = archive.infolist()
        source = ZipMemberSource(archive, member)
        with contextlib.suppress(BinaryReadError):
            source.head()
            source.read_at(40_000, 16)


METADATA_KEYS = st.sampled_from(
    ["Name", "Version", "Requires-Dist", "Tag", "Metadata-Version", "X", "", " ", "Name:"]
)
TEXT = st.text(st.characters(codec="utf-8") | st.sampled_from("\x00\r\n\x1b\x85\u2028\udcff:;$`"))


@SETTINGS
@given(st.lists(st.tuples(METADATA_KEYS, TEXT), max_size=20), st.binary(max_size=2000))
def test_metadata_files_never_raise(pairs: list[tuple[str, str]], tail: bytes) -> None:
    """A METADATA/WHEEL/RECORD/JSON of any content: values or notes, never an exception."""
    text = "".join(f"{k}: {v}\n" for k, v in pairs).encode("utf-8", "surrogateescape") + tail
    with tempfile.TemporaryDirectory() as folder:
        reader = MetadataReader()
        for name in ("METADATA", "RECORD", "x.json"):
            path = os.path.join(folder, name)
            with open(path, "wb") as handle:
                handle.write(text)
            headers = reader.headers(path)
            required_names(headers.get("Requires-Dist", ()))
            list(reader.record_paths(path))
            reader.json(path, conda=True)
        assert all("\n" not in note and is_printable(note) for note in reader.notes)
    parse_headers(text.decode("utf-8", "replace"))


NAMES = st.text(
    st.characters(codec="utf-8")
    | st.sampled_from("\x00\x07\t\n\r\x1b\x7f\x85\x9b\u2028\u2029\u202e\u2066\ufeff")
    | st.sampled_from("\x0b\x1c\xa0\xad\u061c\u200b\u200e\u200f\u2060\ue000\ufff9\U000e0041")
    | st.sampled_from([chr(c) for c in range(0xDC80, 0xDD00)]),  # undecodable bytes
    max_size=60,
)


@SETTINGS
@given(NAMES)
def test_names_with_control_bytes_are_shown_on_one_printable_line(name: str) -> None:
    text = shown(name)
    assert is_printable(text) and "\n" not in text and "\r" not in text
    text.encode("utf-8")  # never a lone surrogate
    assert shown(text) == text  # idempotent: escaping an escaped name changes nothing
    if is_printable(name):
        assert text == name


@SETTINGS
@given(st.dictionaries(NAMES, st.lists(NAMES, max_size=3) | NAMES, max_size=5))
def test_json_of_any_names_round_trips_through_a_strict_decoder(document: dict) -> None:  # type: ignore[type-arg]
    encoded = json.dumps(strict_json(document), ensure_ascii=False).encode("utf-8")
    decoded = json.loads(encoded.decode("utf-8", "strict"))
    assert json.dumps(decoded, ensure_ascii=False).encode("utf-8") == encoded


@SETTINGS
@given(st.dictionaries(NAMES, st.lists(NAMES, max_size=3) | NAMES, max_size=5))
def test_json_text_shows_nothing_raw_and_decodes_to_the_same_strings(document: dict) -> None:  # type: ignore[type-arg]
    from nuitka_archguard.text import json_text

    encoded = json_text(document)
    assert all(line.isprintable() for line in encoded.split("\n"))
    assert json.loads(encoded.encode("utf-8").decode("utf-8", "strict")) == strict_json(document)


@SETTINGS
@given(NAMES)
def test_shell_quote_is_one_printable_word(name: str) -> None:
    import shlex

    quoted = shell_quote(name)
    assert is_printable(quoted)
    (word,) = shlex.split(quoted) if quoted != "''" else [""]
    assert len(word) == len(name)
