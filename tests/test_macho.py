"""The Mach-O reader against files synthesized byte by byte (tests/synth/macho.py), LLVM's
tools where installed, and every corruption the reader must turn into BinaryReadError."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path
from typing import Optional

import pytest

from nuitka_archguard.binaries import (
    BinaryFormat,
    BinaryReadError,
    ByteSource,
    BytesSource,
    Slice,
    detect_format,
    inspect_file,
    macho,
)
from tests.synth import macho as synth

LIPO = shutil.which("llvm-lipo-14") or shutil.which("llvm-lipo")
JAVAC = shutil.which("javac")


def read(data: bytes) -> tuple[Slice, ...]:
    assert macho.is_macho(data[:8])
    return macho.read_slices(BytesSource(data))


def only(data: bytes) -> Slice:
    (result,) = read(data)
    return result


# -- architectures ---------------------------------------------------------------------------


@pytest.mark.parametrize("arch", sorted(synth.ARCHS))
def test_every_arch_round_trips(arch: str) -> None:
    assert only(synth.thin(arch)).arch == arch
    assert [s.arch for s in read(synth.fat([synth.thin(arch)]))] == [arch]


@pytest.mark.parametrize(
    ("cputype", "cpusubtype", "name"),
    [
        (0x0100000C, 0x80000002, "arm64e"),  # pointer-auth ABI bit is a capability bit
        (0x01000007, 0x80000003, "x86_64"),  # CPU_SUBTYPE_LIB64
        (12, 0, "arm"),
        (12, 13, "armv8"),
        (18, 100, "ppc970"),
        (0x01000007, 4, "cputype_0x1000007_subtype_4"),
        (99, 7, "cputype_0x63_subtype_7"),
    ],
)
def test_arch_names_of_subtypes(cputype: int, cpusubtype: int, name: str) -> None:
    bits = 64 if cputype & synth.ABI64 else 32
    data = synth.thin("custom", cputype=cputype, cpusubtype=cpusubtype, bits=bits)
    assert only(data).arch == name


@pytest.mark.skipif(LIPO is None, reason="llvm-lipo not installed")
@pytest.mark.parametrize("fat64", [False, True])
def test_fat_files_agree_with_llvm_lipo(tmp_path: Path, fat64: bool) -> None:
    # llvm-lipo calls armv7m/armv7em "thumbv7m"/"thumbv7em" and does not know arm64v8;
    # Apple's lipo says armv7m/armv7em/arm64v8, as we do.
    archs = [a for a in synth.ARCHS if a not in ("armv7m", "armv7em", "arm64v8")]
    path = tmp_path / "universal"
    path.write_bytes(synth.fat([synth.thin(a) for a in archs], fat64=fat64))
    assert LIPO is not None
    lipo = subprocess.run([LIPO, "-archs", str(path)], capture_output=True, text=True, check=True)
    assert lipo.stdout.split() == archs
    assert list(inspect_file(path).archs) == archs


# -- header forms ----------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [32, 64])
@pytest.mark.parametrize("big_endian", [False, True])
def test_both_byte_orders_and_word_sizes(bits: int, big_endian: bool) -> None:
    arch = "x86_64" if bits == 64 else "i386"  # a header's word size matches its CPU type
    data = synth.thin(
        arch, "dylib", bits=bits, big_endian=big_endian, dylibs=["/usr/lib/libz.1.dylib"],
        id_dylib="@rpath/libme.dylib", rpaths=["@loader_path"],
    )  # fmt: skip
    assert only(data) == Slice(
        arch=arch, file_type="dylib", platform="macos", min_os="11.0", sdk="14.0",
        dependencies=("/usr/lib/libz.1.dylib",), rpaths=("@loader_path",),
        install_name="@rpath/libme.dylib",
    )  # fmt: skip


@pytest.mark.parametrize("fat64", [False, True])
def test_fat_slices_keep_table_order_and_their_own_min_os(fat64: bool) -> None:
    x86 = synth.thin("x86_64", build_version=None, version_min=("macos", "10.9", "10.15"))
    arm = synth.thin("arm64", build_version=("macos", "11.0", "13.1"))
    ppc = synth.thin("ppc", build_version=None)  # big-endian inside a fat file
    slices = read(synth.fat([x86, arm, ppc], fat64=fat64, align=14))
    assert [(s.arch, s.min_os, s.sdk) for s in slices] == [
        ("x86_64", "10.9", "10.15"), ("arm64", "11.0", "13.1"), ("ppc", None, None),
    ]  # fmt: skip


def test_fat_table_order_differs_from_file_order() -> None:
    x86, arm = synth.thin("x86_64"), synth.thin("arm64")
    plain = synth.fat([x86, arm])
    data = plain[:8] + plain[28:48] + plain[8:28] + plain[48:]  # swap the two table entries
    assert [s.arch for s in read(data)] == ["arm64", "x86_64"]


def test_fat_with_one_slice_is_not_universal() -> None:
    assert [s.arch for s in read(synth.fat([synth.thin("arm64")]))] == ["arm64"]


@pytest.mark.parametrize("filetype", sorted(synth.FILETYPES))
def test_file_types(filetype: str) -> None:
    assert only(synth.thin("arm64", filetype)).file_type == filetype


def test_unknown_file_type_is_described() -> None:
    assert only(synth.thin("arm64", 77)).file_type == "filetype_77"


# -- load commands ---------------------------------------------------------------------------


@pytest.mark.parametrize("platform", sorted(synth.PLATFORMS))
def test_build_version_platforms(platform: str) -> None:
    result = only(synth.thin(build_version=(platform, "10.15.4", "14.2")))
    assert (result.platform, result.min_os, result.sdk) == (platform, "10.15.4", "14.2")


def test_build_version_unknown_platform_and_sdk_zero() -> None:
    form = synth.form_for("arm64")
    command = synth.build_version_command(99, "1.2", "0", form)
    result = only(synth.thin(build_version=None, extra_commands=[command]))
    assert (result.platform, result.min_os, result.sdk) == ("platform_99", "1.2", None)


@pytest.mark.parametrize("platform", sorted(synth.VERSION_MIN_COMMANDS))
def test_version_min_commands(platform: str) -> None:
    result = only(synth.thin("arm64", build_version=None, version_min=(platform, "10.13", "0")))
    assert (result.platform, result.min_os, result.sdk) == (platform, "10.13", None)


def test_build_version_wins_over_version_min_and_macos_over_catalyst() -> None:
    form = synth.form_for("x86_64")
    zippered = synth.build_version_command("macos", "10.15", "14.0", form)
    result = only(
        synth.thin(
            "x86_64", version_min=("macos", "10.9", "10.15"),
            build_version=("maccatalyst", "13.1", "17.0"), extra_commands=[zippered],
        )
    )  # fmt: skip
    assert (result.platform, result.min_os) == ("macos", "10.15")


def test_no_version_command() -> None:
    result = only(synth.thin(build_version=None))
    assert (result.platform, result.min_os, result.sdk) == (None, None, None)


def test_dependencies_in_load_command_order_from_all_four_kinds() -> None:
    form = synth.form_for("arm64")
    commands = [
        synth.dylib_command("upward.dylib", "upward", form),
        synth.dylib_command("load.dylib", "load", form),
        synth.command(synth.LC_UUID, b"\1" * 16, form),
        synth.dylib_command("reexport.dylib", "reexport", form),
        synth.dylib_command("weak.dylib", "weak", form),
        synth.rpath_command("@executable_path/../Frameworks", form),
        synth.rpath_command("@loader_path", form),
        synth.dylib_command("@rpath/libself.dylib", "id", form),
    ]
    result = only(synth.thin(extra_commands=commands))
    assert result.dependencies == ("upward.dylib", "load.dylib", "reexport.dylib", "weak.dylib")
    assert result.rpaths == ("@executable_path/../Frameworks", "@loader_path")
    assert result.install_name == "@rpath/libself.dylib"


def test_undecodable_names_are_replaced() -> None:
    name = b"/opt/caf\xe9.dylib".decode("utf-8", "surrogateescape")
    (dependency,) = only(synth.thin(dylibs=[name])).dependencies
    assert dependency == "/opt/caf\ufffd.dylib"


def test_commands_beyond_the_first_read_are_read() -> None:
    rpaths = [f"/very/long/rpath/number/{i:04d}" + "x" * 64 for i in range(100)]
    data = synth.thin(rpaths=rpaths)
    assert len(data) > 4096
    assert only(data).rpaths == tuple(rpaths)
    assert read(synth.fat([data, synth.thin("x86_64")]))[0].rpaths == tuple(rpaths)


# -- Java class files and detection ----------------------------------------------------------


def test_java_class_header_is_not_a_binary(tmp_path: Path) -> None:
    path = tmp_path / "Hello.class"
    path.write_bytes(bytes.fromhex("cafebabe00000034") + b"\0" * 64)
    assert not macho.is_macho(path.read_bytes())
    assert inspect_file(path).format is BinaryFormat.NOT_A_BINARY


@pytest.mark.skipif(JAVAC is None, reason="javac not installed")
def test_real_java_class_is_not_a_binary(tmp_path: Path) -> None:
    (tmp_path / "Hello.java").write_text("class Hello { public static void main(String[] a) {} }")
    assert JAVAC is not None
    subprocess.run([JAVAC, "Hello.java"], cwd=tmp_path, check=True, capture_output=True)
    info = inspect_file(tmp_path / "Hello.class")
    assert info.format is BinaryFormat.NOT_A_BINARY
    assert info.slices == ()


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (bytes.fromhex("cafebabe0000002c"), True),  # 44 architectures: still Mach-O
        (bytes.fromhex("cafebabe0000002d"), False),  # JDK 1.0.2 class file
        (bytes.fromhex("cafebabeffff0041"), False),  # preview-feature class file
        (bytes.fromhex("cafebabe00000000"), True),  # corrupt Mach-O, read_slices says why
        (bytes.fromhex("cafebabf000000ff"), True),  # fat64 has no Java twin
        (bytes.fromhex("cafeba"), False),
        (bytes.fromhex("cafebabe"), True),  # too short to be Java: a truncated Mach-O
        (bytes.fromhex("feedfacf"), True),
        (bytes.fromhex("cffaedfe"), True),
        (bytes.fromhex("feedface"), True),
        (bytes.fromhex("cefaedfe"), True),
        (bytes.fromhex("bebafeca00000001"), False),  # fat headers are big-endian only
        (b"\x7fELF\x02\x01\x01\x00", False),
        (b"", False),
    ],
)
def test_is_macho(head: bytes, expected: bool) -> None:
    assert macho.is_macho(head) is expected
    assert (detect_format(head) is BinaryFormat.MACHO) is expected


def test_inspect_file_reads_a_fat_file(tmp_path: Path) -> None:
    path = tmp_path / "_speedups.so"
    path.write_bytes(synth.fat([synth.thin("x86_64"), synth.thin("arm64")]))
    info = inspect_file(path)
    assert info.format is BinaryFormat.MACHO
    assert info.archs == ("x86_64", "arm64")


# -- corrupt files ---------------------------------------------------------------------------

X86 = synth.thin("x86_64")
ARM = synth.thin("arm64")
FORM = synth.form_for("arm64")
FAT = synth.fat([X86, ARM])
FAT_SLICE_SIZE = len(X86)


def _commands(*commands: bytes) -> bytes:
    return synth.thin(build_version=None, extra_commands=commands)


def _corrupt_cases() -> list[tuple[str, bytes, str]]:
    cmd, rpath, uuid = synth.dylib_command, synth.rpath_command, synth.LC_UUID
    arm64 = {"cputype": 0x0100000C, "cpusubtype": 0}
    return [
        ("empty fat", bytes.fromhex("cafebabe00000000"), r"^fat header lists no architectures$"),
        ("fat too short", bytes.fromhex("cafebabe0000"), r"^truncated: 6-byte file has no"),
        ("fat 44 archs", bytes.fromhex("cafebabe0000002c") + b"\0" * 40,
         r"^truncated: fat table of 44 architectures needs 888 bytes, file has 48$"),
        ("fat huge", bytes.fromhex("cafebabf7fffffff") + b"\0" * 64,
         r"^fat header lists 2147483647 architectures \(at most 44\)$"),
        ("slice at 0", synth.fat([X86], overrides=[{"offset": 0}]),
         r"^fat slice 0 \(x86_64\) starts at 0, inside the fat header$"),
        ("slice past EOF", synth.fat([X86], overrides=[{"size": 1 << 20}]),
         r"^fat slice 0 \(x86_64\) ends at .*, past the end of the .*-byte file$"),
        ("slice offset past EOF", synth.fat([X86], fat64=True, overrides=[{"offset": 1 << 40}]),
         r"^fat slice 0 \(x86_64\) ends at .*, past the end"),
        ("overlap", synth.fat([X86, ARM], overrides=[{}, {"offset": 4096 + 8}]),
         r"^fat slices 0 and 1 overlap$"),
        ("duplicate", synth.fat([X86, synth.thin("x86_64", cpusubtype=0x80000003)]),
         r"^fat slices 0 and 1 are both x86_64$"),
        ("cputype disagrees", synth.fat([X86], overrides=[arm64]),
         r"^fat slice 0 \(arm64\): mach header says x86_64, the fat table says cputype 0x100000c$"),
        ("slice not Mach-O", synth.fat([b"\x7fELF" + X86[4:]]),
         r"^fat slice 0 \(.*\): not a thin Mach-O header \(magic 0x7f454c46\)$"),
        ("nested fat", synth.fat([FAT], overrides=[{"cputype": 7, "cpusubtype": 3}]),
         r"^fat slice 0 \(i386\): not a thin Mach-O header \(magic 0xcafebabe\)$"),
        ("tiny slice", synth.fat([X86], overrides=[{"size": 2}]),
         r"^fat slice 0 \(x86_64\): truncated: 2-byte slice has no Mach-O magic$"),
        ("short slice", synth.fat([X86], overrides=[{"size": 20}]),
         r"^fat slice 0 \(x86_64\): truncated: mach header needs 32 bytes, has 20$"),
        ("slice cmds past slice", synth.fat([X86, ARM], overrides=[{"size": 60}]),
         r"^fat slice 0 \(x86_64\): truncated: load commands \(\d+ bytes\) run past the end"
         r" of the 60-byte image$"),
        ("thin header cut", X86[:20], r"^truncated: mach header needs 32 bytes, has 20$"),
        ("sizeofcmds > file", synth.thin(sizeofcmds=1 << 30),
         r"^truncated: load commands \(1073741824 bytes\) run past the end of the \d+-byte"),
        ("ncmds lying", synth.thin(ncmds=1000), r"^1000 load commands cannot fit in 32 bytes$"),
        ("ncmds one too many", synth.thin(ncmds=2, body=b""),
         r"^load command 1 starts past sizeofcmds$"),
        ("cmdsize 0", _commands(synth.command(uuid, b"\0" * 16, FORM, cmdsize=0)),
         r"^load command 0 \(0x1b\) has cmdsize 0$"),
        ("cmdsize 4", _commands(synth.command(uuid, b"\0" * 16, FORM, cmdsize=4)),
         r"^load command 0 \(0x1b\) has cmdsize 4$"),
        ("cmdsize past sizeofcmds", _commands(synth.command(uuid, b"\0" * 16, FORM, cmdsize=4096)),
         r"^load command 0 \(0x1b\) of 4096 bytes runs past sizeofcmds$"),
        ("build version too small",
         _commands(synth.build_version_command("macos", "11.0", "0", FORM, cmdsize=16)),
         r"^load command 0 \(LC_BUILD_VERSION\) has cmdsize 16, below its 24-byte structure$"),
        ("version min too small",
         _commands(synth.version_min_command("macos", "10.9", "0", FORM, cmdsize=8)),
         r"^load command 0 \(LC_VERSION_MIN_MACOSX\) has cmdsize 8, below its 16-byte"),
        ("dylib too small", _commands(cmd("libz", "load", FORM, cmdsize=16)),
         r"^load command 0 \(LC_LOAD_DYLIB\) has cmdsize 16, below its 24-byte structure$"),
        ("dylib offset outside", _commands(cmd("libz", "weak", FORM, offset=500)),
         r"^load command 0 \(LC_LOAD_WEAK_DYLIB\) string offset 500 lies outside its 24\.\.32"),
        ("dylib offset inside struct", _commands(cmd("libz", "id", FORM, offset=8)),
         r"^load command 0 \(LC_ID_DYLIB\) string offset 8 lies outside its 24\.\.32 bytes$"),
        ("dylib unterminated", _commands(cmd("libz.dylib", "reexport", FORM, terminate=False)),
         r"^load command 0 \(LC_REEXPORT_DYLIB\) string has no NUL terminator$"),
        ("upward unterminated", _commands(cmd("u.dylib", "upward", FORM, terminate=False)),
         r"^load command 0 \(LC_LOAD_UPWARD_DYLIB\) string has no NUL terminator$"),
        ("rpath unterminated", _commands(rpath("@loader_path", FORM, terminate=False)),
         r"^load command 0 \(LC_RPATH\) string has no NUL terminator$"),
        ("rpath offset outside", _commands(rpath("/x", FORM, offset=0xFFFFFFFF)),
         r"^load command 0 \(LC_RPATH\) string offset 4294967295 lies outside its 12\.\.16"),
        ("rpath too small", _commands(synth.command(synth.LC_RPATH, b"", FORM)),
         r"^load command 0 \(LC_RPATH\) has cmdsize 8, below its 12-byte structure$"),
        ("fat slice command error", synth.fat([X86, _commands(rpath("/x", FORM, terminate=False))]),
         r"^fat slice 1 \(arm64\): load command 0 \(LC_RPATH\) string has no NUL terminator$"),
        ("not Mach-O", b"\x7fELF" + X86[4:], r"^not a Mach-O file \(magic 0x7f454c46\)$"),
        ("3 bytes", b"\xcf\xfa\xed", r"^truncated: 3-byte file has no Mach-O magic$"),
    ]  # fmt: skip


@pytest.mark.parametrize(("data", "message"), [c[1:] for c in _corrupt_cases()],
                         ids=[c[0] for c in _corrupt_cases()])  # fmt: skip
def test_corrupt_files_raise_binary_read_error(data: bytes, message: str) -> None:
    with pytest.raises(BinaryReadError, match=message) as caught:
        macho.read_slices(BytesSource(data))
    assert "\n" not in str(caught.value)


class _HugeSource(ByteSource):
    """A 1 TiB file that repeats a header: reads must stay within the budget."""

    def __init__(self, head: bytes) -> None:
        super().__init__(1 << 40)
        self._head = head

    def _read(self, offset: int, length: int) -> bytes:
        if offset >= len(self._head):
            return b"\0" * length
        return (self._head + b"\0" * length)[offset : offset + length]


def test_sizeofcmds_beyond_the_header_budget() -> None:
    source = _HugeSource(synth.thin(ncmds=1, sizeofcmds=1 << 30))
    with pytest.raises(BinaryReadError, match="header budget"):
        macho.read_slices(source)


@pytest.mark.parametrize(
    "data",
    [
        synth.thin("x86_64", id_dylib="@rpath/a", dylibs=["/b"], rpaths=["/c"], body=b""),
        synth.thin("i386", big_endian=True, dylibs=["/b"], body=b""),
        synth.fat([synth.thin("x86_64", body=b""), synth.thin("arm64", dylibs=["/x"], body=b"")]),
        synth.fat([synth.thin("arm64", body=b"")], fat64=True),
    ],
    ids=["thin64", "thin32-big-endian", "fat", "fat64"],
)
def test_truncation_at_every_offset(data: bytes) -> None:
    for cut in range(len(data)):
        with pytest.raises(BinaryReadError):
            macho.read_slices(BytesSource(data[:cut]))


def _checked(data: bytes) -> Optional[tuple[Slice, ...]]:
    try:
        return macho.read_slices(BytesSource(data))
    except BinaryReadError as error:
        assert "\n" not in str(error)
        return None


def test_every_byte_flipped_raises_only_binary_read_error() -> None:
    form = synth.form_for("x86_64")
    base = synth.fat(
        [
            synth.thin("x86_64", id_dylib="@rpath/a", dylibs=["/b"], weak_dylibs=["/w"],
                       rpaths=["/c"], version_min=("macos", "10.9", "0"), body=b""),
            synth.thin("arm64", extra_commands=[synth.rpath_command("/r", form)], body=b""),
        ],
        align=6,
    )  # fmt: skip
    for index in range(len(base)):
        for value in (0x00, 0x01, 0x7F, 0x80, 0xFF):
            _checked(base[:index] + bytes([value]) + base[index + 1 :])


def test_a_misfit_is_named_even_when_the_command_after_it_is_read() -> None:
    """A command that is only stepped over runs past sizeofcmds; the next one, read from
    beyond it, is a dylib command too short for its structure: the error is the first one."""
    header = struct.pack("<IIIIIIII", 0xFEEDFACF, 0x01000007, 3, 8, 2, 16, 0, 0)
    uuid_past_the_end = struct.pack("<II", 0x1B, 24) + bytes(16)
    short_dylib = struct.pack("<II", 0xC, 8)
    data = header + uuid_past_the_end + short_dylib + bytes(64)
    with pytest.raises(BinaryReadError, match=r"^load command 0 \(0x1b\) of 24 bytes runs past"):
        read(data)
