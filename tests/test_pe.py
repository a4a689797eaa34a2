"""PE reader: synthesized images for every field, real launchers, and corrupt input."""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import struct
import subprocess

import pytest

from nuitka_archguard.binaries import (
    BinaryFormat,
    BinaryReadError,
    BytesSource,
    detect_format,
    inspect_file,
)
from nuitka_archguard.binaries import pe as reader
from nuitka_archguard.binaries.model import Slice
from tests.synth.pe import MACHINES, build_pe, pe


def read(data: bytes) -> Slice:
    (only,) = reader.read_slices(BytesSource(data))
    return only


@pytest.mark.parametrize("machine", sorted(MACHINES))
@pytest.mark.parametrize("pe32plus", [True, False])
def test_machines(machine: str, pe32plus: bool) -> None:
    data = pe(machine, pe32plus=pe32plus, imports=["KERNEL32.dll"])
    assert detect_format(data[:8]) is BinaryFormat.PE
    info = read(data)
    assert (info.arch, info.platform, info.dependencies) == (machine, "windows", ("KERNEL32.dll",))


def test_unknown_machine() -> None:
    assert read(pe("amd64", machine_value=0x1234)).arch == "machine_0x1234"


@pytest.mark.parametrize(("dll", "file_type"), [(True, "dll"), (False, "executable")])
def test_file_type(dll: bool, file_type: str) -> None:
    assert read(pe("amd64", dll=dll)).file_type == file_type


@pytest.mark.parametrize(
    ("machine", "chpe", "load_config", "arch"),
    [
        ("amd64", True, True, "arm64ec"),
        ("arm64", True, True, "arm64x"),
        ("amd64", False, True, "amd64"),
        ("arm64", False, True, "arm64"),
        ("x86", True, True, "x86"),  # x86 CHPE (Windows on ARM system DLLs) is still x86
    ],
)
def test_hybrids(machine: str, chpe: bool, load_config: bool, arch: str) -> None:
    assert read(pe(machine, chpe=chpe, load_config=load_config)).arch == arch


def test_short_load_config_has_no_chpe_pointer() -> None:
    image = build_pe("arm64", chpe=True)
    assert image.load_config_offset is not None
    data = bytearray(image.data)
    struct.pack_into("<I", data, image.load_config_offset, 0x94)  # a Windows 8 sized struct
    assert read(bytes(data)).arch == "arm64"


@pytest.mark.parametrize("pe32plus", [True, False])
def test_imports_and_delay_imports(pe32plus: bool) -> None:
    data = pe(
        "amd64",
        pe32plus=pe32plus,
        imports=["KERNEL32.dll", "python311.dll", "VCRUNTIME140.dll"],
        delay_imports=["USER32.dll", "KERNEL32.dll"],
    )
    assert read(data).dependencies == (
        "KERNEL32.dll",
        "python311.dll",
        "VCRUNTIME140.dll",
        "USER32.dll",
    )


def test_old_style_delay_imports_hold_vas() -> None:
    data = pe("x86", delay_imports=["old.dll"], delay_rva_based=False)
    assert read(data).dependencies == ("old.dll",)


def test_no_imports() -> None:
    assert read(pe("arm64")).dependencies == ()


READOBJ = shutil.which("llvm-readobj-14") or shutil.which("llvm-readobj")


@pytest.mark.skipif(READOBJ is None, reason="llvm-readobj not installed")
@pytest.mark.parametrize("machine", ["amd64", "x86", "arm64", "arm"])
def test_synth_agrees_with_llvm_readobj(machine: str, tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "x.dll")
    with open(path, "wb") as file:
        file.write(
            pe(
                machine,
                imports=["KERNEL32.dll", "a.dll"],
                delay_imports=["b.dll"],
                chpe=machine == "arm64",
            )
        )
    assert READOBJ is not None
    out = subprocess.run(
        [READOBJ, "--file-headers", "--coff-imports", "--coff-load-config", path],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert re.findall(r"^\s+Name: (\S+)", out, re.M) == ["KERNEL32.dll", "a.dll", "b.dll"]
    assert "IMAGE_FILE_DLL" in out
    info = inspect_file(path)
    assert info.dependencies == ("KERNEL32.dll", "a.dll", "b.dll")
    if machine == "arm64":
        assert re.search(r"CHPEMetadataPointer: 0x[1-9a-f]", out)
        assert info.archs == ("arm64x",)


REAL = sorted(
    glob.glob(
        os.path.join(
            os.path.dirname(shutil.__file__), "site-packages", "pip", "_vendor", "distlib", "*.exe"
        )
    )
    + glob.glob(
        os.path.join(os.path.dirname(os.path.dirname(pytest.__file__)), "setuptools", "*.exe")
    )
)


@pytest.mark.skipif(not REAL or READOBJ is None, reason="no Windows launchers or llvm-readobj")
@pytest.mark.parametrize("path", REAL, ids=os.path.basename)
def test_real_launchers(path: str) -> None:
    assert READOBJ is not None
    out = subprocess.run(
        [READOBJ, "--file-headers", "--coff-imports", path],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    machine = re.search(r"Machine: IMAGE_FILE_MACHINE_(\w+)", out)
    assert machine is not None
    expected = {"AMD64": "amd64", "I386": "x86", "ARM64": "arm64", "ARMNT": "arm"}
    (only,) = inspect_file(path).slices
    assert only.arch == expected[machine.group(1)]
    assert only.file_type == "executable"
    names = re.findall(r"^\s+Name: (\S+)", out, re.M)
    assert list(only.dependencies) == list(dict.fromkeys(names))


# --- corrupt input -------------------------------------------------------------------------


def _patch(data: bytes, offset: int, fmt: str, *values: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, *values)
    return bytes(out)


FULL = build_pe("amd64", imports=["KERNEL32.dll", "a.dll"], delay_imports=["b.dll"], chpe=True)
FULL32 = build_pe(
    "x86", imports=["KERNEL32.dll"], delay_imports=["old.dll"], delay_rva_based=False, dll=False
)


def _corrupt_cases() -> list[tuple[str, bytes]]:
    d = FULL.data
    imports = FULL.import_offset
    assert imports is not None
    section = FULL.section_table_offset
    return [
        ("MZ only", b"MZ"),
        ("DOS stub without PE", b"MZ" + b"\0" * 200),
        ("e_lfanew past EOF", _patch(d, 0x3C, "<I", len(d) + 10)),
        ("e_lfanew huge", _patch(d, 0x3C, "<I", 0xFFFFFFFF)),
        ("wrong signature", _patch(d, FULL.pe_offset, "<4s", b"PE\0\1")),
        ("cut in COFF header", d[: FULL.coff_offset + 10]),
        ("no optional header", _patch(d, FULL.coff_offset + 16, "<H", 0)),
        ("optional header too small", _patch(d, FULL.coff_offset + 16, "<H", 100)),
        ("optional header past EOF", _patch(d, FULL.coff_offset + 16, "<H", 0xFFFF)),
        ("bad optional magic", _patch(d, FULL.optional_offset, "<H", 0x107)),
        ("section table past EOF", _patch(d, FULL.coff_offset + 2, "<H", 2000)),
        ("too many sections", _patch(d, FULL.coff_offset + 2, "<H", 0xFFFF)),
        ("import RVA maps nowhere", _patch(d, FULL.directories_offset + 8, "<I", 0x90000)),
        ("section raw data past EOF", _patch(d, section + 20, "<I", 0x7FFFFFF0)),
        ("name RVA maps nowhere", _patch(d, imports + 12, "<I", 0x50000)),
        ("no terminator", d[:imports] + b"\x01" * (len(d) - imports)),
        ("load config maps nowhere", _patch(d, FULL.directories_offset + 80, "<I", 0x77777)),
        ("file cut in section", d[: FULL.section_offset + 30]),
    ]


@pytest.mark.parametrize(("name", "data"), _corrupt_cases(), ids=[n for n, _ in _corrupt_cases()])
def test_corrupt_raises_binary_read_error(name: str, data: bytes) -> None:
    with pytest.raises(BinaryReadError) as caught:
        read(data)
    assert "\n" not in str(caught.value)


def test_dos_executable_message() -> None:
    with pytest.raises(BinaryReadError, match="MZ executable without a PE header"):
        read(b"MZ" + b"\0" * 100)


def test_unterminated_name() -> None:
    image = build_pe("amd64", imports=["a.dll"])
    data = image.data.rstrip(b"\0")
    data = data[:-1] + b"x" * 300  # the last name runs past MAX_NAME without a NUL
    data += b"\0" * (-len(data) % 512)
    patched = _patch(data, image.section_table_offset + 16, "<I", len(data) - 512)
    with pytest.raises(BinaryReadError):
        read(patched)


def test_descriptor_chain_is_bounded() -> None:
    """A directory of 10k descriptors (all naming one DLL) stops at MAX_DESCRIPTORS."""
    image = build_pe("amd64", imports=["a.dll"])
    assert image.import_offset is not None
    descriptor = image.data[image.import_offset : image.import_offset + 20]
    body = descriptor * 10_000
    data = bytearray(image.data[: image.section_offset] + body)
    data += b"\0" * (-len(data) % 512)
    struct.pack_into("<II", data, image.section_table_offset + 8, len(body), 0x1000)
    struct.pack_into("<I", data, image.section_table_offset + 16, len(data) - 0x200)
    with pytest.raises(BinaryReadError, match="no terminator"):
        read(bytes(data))


@pytest.mark.parametrize("image", [FULL, FULL32], ids=["PE32+", "PE32"])
def test_every_truncation(image: object) -> None:
    data = image.data  # type: ignore[attr-defined]
    for length in range(0, len(data), 3):
        with contextlib.suppress(BinaryReadError):
            read(data[:length])


@pytest.mark.parametrize("image", [FULL, FULL32], ids=["PE32+", "PE32"])
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
    assert source._reads <= 8
