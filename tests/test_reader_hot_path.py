"""The reader's hot path reads what a verdict needs; LLVM's stricter checks run only where
asked (issue 20, "the reader at the floor again").

``inspect_file`` (the scanner's and the plugin's reader) judges a Mach-O file by its headers;
``inspect_file(strict=True)`` (the ``inspect`` command) and the fat writer also refuse what
LLVM's Mach-O reader refuses. The refusals keep their exact words: each part of the file LLVM
places (symbol and string tables, dyld info, linkedit data) must lie inside the file and
overlap no part placed before, whatever the order the load commands list them in.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Optional

import pytest

from nuitka_archguard.binaries import BinaryReadError, inspect_file, macho
from tests.synth import macho as synth

LC_SYMTAB, LC_FUNCTION_STARTS, LC_DYLD_INFO_ONLY = 0x2, 0x26, 0x80000022


def _segment_past_the_end() -> bytes:
    patched = bytearray(synth.segment_command(0, ()))
    patched[48:56] = (1 << 20).to_bytes(8, "little")  # filesize far past the file
    patched[32:40] = (1 << 21).to_bytes(8, "little")  # vmsize, so only the file is wrong
    return bytes(patched)


def test_inspect_file_reads_leanly_and_strictly_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "refused.so"
    path.write_bytes(synth.thin("x86_64", "bundle", extra_commands=[_segment_past_the_end()]))
    info = inspect_file(path)  # what scan and the plugin see: the header's word
    assert info.archs == ("x86_64",) and info.slices[0].min_os == "11.0"
    with pytest.raises(BinaryReadError, match="extends past the end of the file"):
        inspect_file(path, strict=True)
    good = tmp_path / "good.so"
    good.write_bytes(synth.thin("arm64", "bundle"))
    assert inspect_file(good, strict=True) == inspect_file(good)


def _refusal(*commands: bytes, body: int = 4096) -> Optional[str]:
    """llvm_refusal of a little-endian 64-bit bundle with these load commands."""
    data = synth.thin("x86_64", "bundle", build_version=None, extra_commands=commands)
    data += b"\0" * body
    order, bits = "<", 64
    _, _, filetype, ncmds, sizeofcmds = struct.unpack_from("<IIIII", data, 4)
    return macho.llvm_refusal(data[32 : 32 + sizeofcmds], order, bits, filetype, ncmds, len(data))


def _linkedit(cmd: int, offset: int, size: int) -> bytes:
    return synth.command(cmd, struct.pack("<II", offset, size))


def _symtab(symoff: int, nsyms: int, stroff: int, strsize: int) -> bytes:
    return synth.command(LC_SYMTAB, struct.pack("<IIII", symoff, nsyms, stroff, strsize))


def test_parts_of_the_file_that_fit_are_accepted() -> None:
    assert _refusal(_linkedit(LC_FUNCTION_STARTS, 3000, 100), _symtab(1000, 10, 2000, 100)) is None
    # Touching is not overlapping; empty parts are no parts.
    assert _refusal(_symtab(1000, 10, 1160, 100), _linkedit(LC_FUNCTION_STARTS, 1260, 0)) is None


def test_a_part_overlapping_one_placed_earlier_is_refused_in_llvms_words() -> None:
    # The string table overlaps the function starts, listed first and far from the symbols.
    got = _refusal(_linkedit(LC_FUNCTION_STARTS, 3000, 100), _symtab(1000, 10, 2950, 100))
    assert got == "load command 1 (0x2) string table overlaps another part of the file"
    # A part that swallows an earlier one whole, and one inside the headers.
    got = _refusal(_linkedit(LC_FUNCTION_STARTS, 3000, 100), _symtab(2900, 20, 4000, 10))
    assert got == "load command 1 (0x2) symbol table overlaps another part of the file"
    got = _refusal(_linkedit(LC_FUNCTION_STARTS, 8, 100))
    assert got == "load command 0 (0x26) data (8+100) overlaps another part of the file"


def test_a_part_past_the_end_is_refused_before_any_overlap() -> None:
    got = _refusal(_symtab(1000, 10, 1000, 1 << 20))
    assert got == "load command 0 (0x2) string table extends past the end of the file"
    info = synth.command(
        LC_DYLD_INFO_ONLY, struct.pack("<10I", 0, 0, 1000, 50, 1 << 30, 8, 0, 0, 0, 0)
    )
    assert _refusal(info) == (
        f"load command 0 ({LC_DYLD_INFO_ONLY:#x}) info ({1 << 30}+8) extends past the end of"
        " the file"
    )


def test_slices_and_infos_built_fast_are_still_frozen_values() -> None:
    from nuitka_archguard.binaries import BinaryFormat, BinaryInfo, Slice

    one = Slice("arm64", "bundle", "macos", "11.0", dependencies=("/usr/lib/libSystem.B.dylib",))
    same = Slice(arch="arm64", file_type="bundle", platform="macos", min_os="11.0",
                 dependencies=("/usr/lib/libSystem.B.dylib",))  # fmt: skip
    assert type(one) is Slice and one == same and hash(one) == hash(same) and one.libc is None
    info = BinaryInfo("x.so", BinaryFormat.MACHO, (one,))
    assert type(info) is BinaryInfo and info.archs == ("arm64",) and info.error is None
    for value, name in ((one, "arch"), (info, "path")):
        with pytest.raises(AttributeError, match="frozen"):
            setattr(value, name, "changed")
        with pytest.raises(AttributeError, match="frozen"):
            delattr(value, name)
    assert one != Slice("x86_64", "bundle", "macos", "11.0")
