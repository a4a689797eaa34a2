"""Hostile Mach-O, Java class, ELF and PE files, each with its exact outcome."""

from __future__ import annotations

import struct
from typing import Callable

from nuitka_archguard.binaries import (
    HEADER_BUDGET,
    BinaryFormat,
)
from tests.hostile.common import NOT_A_BINARY, Fails, Outcome, Reads
from tests.synth import elf as synth_elf
from tests.synth import macho as synth_macho
from tests.synth import pe as synth_pe

# -- binaries: Mach-O, Java, ELF, PE -----------------------------------------------------------

X86_64_SLICE = dict(build_version=("macos", "10.13", "14.0"), dylibs=["/usr/lib/libSystem.B.dylib"])
ARM64_SLICE = dict(dylibs=["/usr/lib/libSystem.B.dylib"], rpaths=["@loader_path"])
X64 = synth_macho.form_for("x86_64")
LIBSYSTEM = "/usr/lib/libSystem.B.dylib"


def mx(**options: object) -> bytes:
    """A thin x86_64 bundle; ``options`` go to the builder (and may corrupt it)."""
    return synth_macho.thin("x86_64", "bundle", **{**X86_64_SLICE, **options})  # type: ignore[arg-type]


def ma(**options: object) -> bytes:
    return synth_macho.thin("arm64", "bundle", **{**ARM64_SLICE, **options})  # type: ignore[arg-type]


def with_command(command: bytes) -> bytes:
    """A thin x86_64 file whose only load command is ``command``."""
    return synth_macho.thin("x86_64", build_version=None, extra_commands=[command])


def fat_count(count: int, fat64: bool = False) -> bytes:
    data = bytearray(synth_macho.fat([mx(), ma()], fat64=fat64))
    struct.pack_into(">I", data, 4, count)
    return bytes(data)


def patch(data: bytes, fmt: str, offset: int, *values: object) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, *values)
    return bytes(out)


def universal(fat64: bool = False, **options: object) -> bytes:
    return synth_macho.fat([mx(), ma()], fat64=fat64, **options)  # type: ignore[arg-type]


MACHO_X86_64 = Reads(BinaryFormat.MACHO, ("x86_64",))
MACHO_CASES: dict[str, tuple[Callable[[], bytes], Outcome]] = {
    # nfat_arch
    "nfat_arch-0": (lambda: fat_count(0), Fails("fat header lists no architectures")),
    # 0xcafebabe with a count of 45 or more is a Java class file (or garbage), never Mach-O.
    "nfat_arch-2^32-1": (lambda: fat_count(0xFFFFFFFF), NOT_A_BINARY),
    "fat64-nfat_arch-2^32-1": (
        lambda: fat_count(0xFFFFFFFF, fat64=True),
        Fails(r"fat header lists 4294967295 architectures \(at most 44\)"),
    ),
    "nfat_arch-44-past-the-table": (
        lambda: fat_count(44),
        Fails(r"fat slice 2 \(cputype_0x0_subtype_0\) starts at 0, inside the fat header"),
    ),
    "nfat_arch-past-the-end": (
        lambda: synth_macho.fat([mx()], nfat_arch=40)[:100],
        Fails("truncated: fat table of 40 architectures needs 808 bytes, file has 100"),
    ),
    "fat-magic-only": (
        lambda: b"\xca\xfe\xba\xbe",
        Fails("truncated: 4-byte file has no complete fat header"),
    ),
    "fat-magic-and-2-bytes": (
        lambda: b"\xca\xfe\xba\xbe\0\0",
        Fails("truncated: 6-byte file has no complete fat header"),
    ),
    # slices
    "slices-overlap": (
        lambda: universal(overrides=[None, {"offset": 4096}]),
        Fails("fat slices 0 and 1 overlap"),
    ),
    "slice-runs-into-the-next": (
        lambda: universal(overrides=[{"size": 4097}, None]),
        Fails("fat slices 0 and 1 overlap"),
    ),
    "slice-offset-0": (
        lambda: universal(overrides=[{"offset": 0}, None]),
        Fails(r"fat slice 0 \(x86_64\) starts at 0, inside the fat header"),
    ),
    "slice-inside-the-fat-table": (
        lambda: universal(overrides=[{"offset": 20}, None]),
        Fails(r"fat slice 0 \(x86_64\) starts at 20, inside the fat header"),
    ),
    "slice-past-eof": (
        lambda: universal(overrides=[None, {"offset": 1 << 30}]),
        Fails(r"fat slice 1 \(arm64\) ends at \d+, past the end of the \d+-byte file"),
    ),
    "fat64-slice-offset-2^64-1": (
        lambda: universal(fat64=True, overrides=[None, {"offset": (1 << 64) - 1}]),
        Fails(r"fat slice 1 \(arm64\) ends at \d+, past the end of the \d+-byte file"),
    ),
    "fat64-slice-size-2^64-1": (
        lambda: universal(fat64=True, overrides=[None, {"size": (1 << 64) - 1}]),
        Fails(r"fat slice 1 \(arm64\) ends at \d+, past the end of the \d+-byte file"),
    ),
    "slice-size-0": (
        lambda: universal(overrides=[None, {"size": 0}]),
        Fails(r"fat slice 1 \(arm64\): truncated: 0-byte slice has no Mach-O magic"),
    ),
    "slice-smaller-than-its-header": (
        lambda: universal(overrides=[None, {"size": 20}]),
        Fails(r"fat slice 1 \(arm64\): truncated: mach header needs 32 bytes, has 20"),
    ),
    "two-slices-of-one-arch": (
        lambda: synth_macho.fat([mx(), mx()]),
        Fails(r"fat slices 0 and 1 are both x86_64"),
    ),
    "inner-cputype-disagrees": (
        lambda: synth_macho.fat([mx()], overrides=[{"cputype": 0x0100000C, "cpusubtype": 0}]),
        Fails(
            r"fat slice 0 \(arm64\): mach header says x86_64, the fat table says cputype 0x100000c"
        ),
    ),
    "slice-is-elf": (
        lambda: synth_macho.fat(
            [synth_elf.elf("x86_64")], overrides=[{"cputype": 0x01000007, "cpusubtype": 3}]
        ),
        Fails(r"fat slice 0 \(x86_64\): not a thin Mach-O header \(magic 0x7f454c46\)"),
    ),
    "fat-inside-fat": (
        lambda: synth_macho.fat(
            [synth_macho.fat([mx()])], overrides=[{"cputype": 0x01000007, "cpusubtype": 3}]
        ),
        Fails(r"fat slice 0 \(x86_64\): not a thin Mach-O header \(magic 0xcafebabe\)"),
    ),
    # ncmds / sizeofcmds
    "ncmds-100": (lambda: mx(ncmds=100), Fails("100 load commands cannot fit in 88 bytes")),
    "ncmds-2^32-1": (
        lambda: mx(ncmds=0xFFFFFFFF),
        Fails("4294967295 load commands cannot fit in 88 bytes"),
    ),
    "ncmds-one-too-many": (
        lambda: mx(ncmds=3, body=b""),
        Fails("load command 2 starts past sizeofcmds"),
    ),
    "ncmds-fewer-than-there-are": (lambda: mx(ncmds=1), MACHO_X86_64),
    "sizeofcmds-2^32-1": (
        lambda: mx(sizeofcmds=0xFFFFFFFF),
        Fails(
            r"truncated: load commands \(4294967295 bytes\) run past the end of the \d+-byte image"
        ),
    ),
    "sizeofcmds-too-small": (
        lambda: mx(sizeofcmds=30),
        Fails(r"load command 0 \(0x32\) of 32 bytes runs past sizeofcmds"),
    ),
    "sizeofcmds-0": (lambda: mx(sizeofcmds=0), Fails("2 load commands cannot fit in 0 bytes")),
    "sizeofcmds-over-budget-in-a-sparse-file": (
        lambda: mx(sizeofcmds=HEADER_BUDGET * 2, ncmds=2) + bytes(HEADER_BUDGET * 2),
        Fails(r"headers exceed the 1024 KiB header budget"),
    ),
    # cmdsize
    "cmdsize-0": (
        lambda: with_command(synth_macho.command(0x1B, bytes(16), X64, cmdsize=0)),
        Fails(r"load command 0 \(0x1b\) has cmdsize 0"),
    ),
    "cmdsize-4": (
        lambda: with_command(synth_macho.command(0x1B, bytes(16), X64, cmdsize=4)),
        Fails(r"load command 0 \(0x1b\) has cmdsize 4"),
    ),
    "cmdsize-0-after-a-good-command": (
        lambda: mx(extra_commands=[synth_macho.command(0x1B, bytes(16), X64, cmdsize=0)]),
        Fails(r"load command 2 \(0x1b\) has cmdsize 0"),
    ),
    "cmdsize-past-sizeofcmds": (
        lambda: with_command(synth_macho.dylib_command(LIBSYSTEM, "load", X64, cmdsize=4096)),
        Fails(r"load command 0 \(0xc\) of 4096 bytes runs past sizeofcmds"),
    ),
    "LC_BUILD_VERSION-smaller-than-its-struct": (
        lambda: with_command(
            synth_macho.build_version_command("macos", "10.13", "14.0", X64, cmdsize=16)
        ),
        Fails(r"load command 0 \(LC_BUILD_VERSION\) has cmdsize 16, below its 24-byte structure"),
    ),
    "LC_VERSION_MIN_MACOSX-smaller-than-its-struct": (
        lambda: with_command(
            synth_macho.version_min_command("macos", "10.13", "14.0", X64, cmdsize=8)
        ),
        Fails(
            r"load command 0 \(LC_VERSION_MIN_MACOSX\) has cmdsize 8, below its 16-byte structure"
        ),
    ),
    "LC_LOAD_DYLIB-smaller-than-its-struct": (
        lambda: with_command(synth_macho.dylib_command(LIBSYSTEM, "load", X64, cmdsize=16)),
        Fails(r"load command 0 \(LC_LOAD_DYLIB\) has cmdsize 16, below its 24-byte structure"),
    ),
    "LC_RPATH-smaller-than-its-struct": (
        lambda: with_command(synth_macho.rpath_command("@loader_path", X64, cmdsize=8)),
        Fails(r"load command 0 \(LC_RPATH\) has cmdsize 8, below its 12-byte structure"),
    ),
    # lc_str
    "dylib-name-without-terminator": (
        lambda: with_command(synth_macho.dylib_command(LIBSYSTEM, "load", X64, terminate=False)),
        Fails(r"load command 0 \(LC_LOAD_DYLIB\) string has no NUL terminator"),
    ),
    "rpath-without-terminator": (
        lambda: with_command(synth_macho.rpath_command("@loader_path", X64, terminate=False)),
        Fails(r"load command 0 \(LC_RPATH\) string has no NUL terminator"),
    ),
    "install-name-without-terminator": (
        lambda: with_command(synth_macho.dylib_command("libx.dylib", "id", X64, terminate=False)),
        Fails(r"load command 0 \(LC_ID_DYLIB\) string has no NUL terminator"),
    ),
    "dylib-name-offset-past-the-command": (
        lambda: with_command(synth_macho.dylib_command(LIBSYSTEM, "load", X64, offset=4000)),
        Fails(
            r"load command 0 \(LC_LOAD_DYLIB\) string offset 4000 lies outside its 24\.\.56 bytes"
        ),
    ),
    "dylib-name-offset-inside-the-struct": (
        lambda: with_command(synth_macho.dylib_command(LIBSYSTEM, "load", X64, offset=8)),
        Fails(r"load command 0 \(LC_LOAD_DYLIB\) string offset 8 lies outside its 24\.\.56 bytes"),
    ),
    "rpath-offset-2^32-1": (
        lambda: with_command(synth_macho.rpath_command("@loader_path", X64, offset=0xFFFFFFFF)),
        Fails(
            r"load command 0 \(LC_RPATH\) string offset 4294967295 lies outside its 12\.\.32 bytes"
        ),
    ),
    "non-utf8-dylib-name": (lambda: mx(dylibs=["/usr/lib/\udcff.dylib"]), MACHO_X86_64),
    "unknown-cputype": (
        lambda: mx(cputype=0x77, cpusubtype=5),
        Reads(BinaryFormat.MACHO, ("cputype_0x77_subtype_5",)),
    ),
    "unknown-platform": (lambda: mx(build_version=(99, "10.13", "14.0")), MACHO_X86_64),
    # Java class files share 0xcafebabe: minor and major version follow, major >= 45.
    "java-class-52.0": (lambda: b"\xca\xfe\xba\xbe\x00\x00\x00\x34" + bytes(200), NOT_A_BINARY),
    "java-class-45.3": (lambda: b"\xca\xfe\xba\xbe\x00\x03\x00\x2d" + bytes(200), NOT_A_BINARY),
    "java-class-65-preview": (
        lambda: b"\xca\xfe\xba\xbe\xff\xff\x00\x41" + bytes(200),
        NOT_A_BINARY,
    ),
    "java-class-header-only": (lambda: b"\xca\xfe\xba\xbe\x00\x00\x00\x3d", NOT_A_BINARY),
}

ELF_SO = synth_elf.build_elf("x86_64", needed=["libc.so.6"], soname="libx.so", runpath=["$ORIGIN"])
ELF_PIE = synth_elf.build_elf(
    "x86_64", needed=["libc.so.6"], interp="/lib64/ld-linux-x86-64.so.2", pie=True
)
ELF_NO_LOAD = synth_elf.build_elf("x86_64", needed=["libc.so.6"], load=False)
ELF_I686 = synth_elf.build_elf("i686", needed=["libc.so.6"], soname="libx.so")
E_PHOFF, E_SHOFF, E_PHENTSIZE, E_PHNUM, E_SHENTSIZE, E_SHNUM = 32, 40, 54, 56, 58, 60
ELF_X86_64 = Reads(BinaryFormat.ELF, ("x86_64",))
TRUNCATED_READ = r"truncated: needs bytes \d+\.\.\d+ of a \d+-byte file"

ELF_CASES: dict[str, tuple[Callable[[], bytes], Outcome]] = {
    "e_phnum-65535": (
        lambda: patch(ELF_SO.data, "<H", E_PHNUM, 0xFFFF),
        Fails(r"too many program headers \(65535\)"),
    ),
    "e_phnum-past-the-end": (lambda: patch(ELF_SO.data, "<H", E_PHNUM, 200), Fails(TRUNCATED_READ)),
    "e_phnum-0": (lambda: patch(ELF_SO.data, "<H", E_PHNUM, 0), ELF_X86_64),
    "elf32-e_phnum-65535": (
        lambda: patch(ELF_I686.data, "<H", 44, 0xFFFF),
        Fails(r"too many program headers \(65535\)"),
    ),
    "e_phentsize-0": (
        lambda: patch(ELF_SO.data, "<H", E_PHENTSIZE, 0),
        Fails("bad program header size 0"),
    ),
    "e_phentsize-of-elf32": (
        lambda: patch(ELF_SO.data, "<H", E_PHENTSIZE, 32),
        Fails("bad program header size 32"),
    ),
    "e_phoff-past-eof": (lambda: patch(ELF_SO.data, "<Q", E_PHOFF, 1 << 40), Fails(TRUNCATED_READ)),
    "e_phoff-2^64-1": (
        lambda: patch(ELF_SO.data, "<Q", E_PHOFF, (1 << 64) - 1),
        Fails(TRUNCATED_READ),
    ),
    # Section headers matter only when DT_STRTAB maps to no PT_LOAD segment.
    "e_shnum-65535": (
        lambda: patch(ELF_NO_LOAD.data, "<H", E_SHNUM, 0xFFFF),
        Fails(r"too many section headers \(65535\)"),
    ),
    "e_shnum-past-the-end": (
        lambda: patch(ELF_NO_LOAD.data, "<H", E_SHNUM, 200),
        Fails(TRUNCATED_READ),
    ),
    "e_shoff-past-eof": (
        lambda: patch(ELF_NO_LOAD.data, "<Q", E_SHOFF, 1 << 40),
        Fails(TRUNCATED_READ),
    ),
    "e_shentsize-12": (
        lambda: patch(ELF_NO_LOAD.data, "<H", E_SHENTSIZE, 12),
        Fails("bad section header size 12"),
    ),
    "e_shoff-past-eof-unused": (lambda: patch(ELF_SO.data, "<Q", E_SHOFF, 1 << 40), ELF_X86_64),
    "e_shnum-65535-unused": (lambda: patch(ELF_SO.data, "<H", E_SHNUM, 0xFFFF), ELF_X86_64),
    "sections-link-out-of-range": (
        # .dynstr's address erased, .dynamic's sh_link past the table
        lambda: patch(
            patch(ELF_NO_LOAD.data, "<Q", ELF_NO_LOAD.shoff + 64 + 16, 0),
            "<I",
            ELF_NO_LOAD.shoff + 2 * 64 + 40,
            0xFFFF,
        ),
        Fails("DT_STRTAB address maps to no segment or section"),
    ),
    "PT_DYNAMIC-past-eof": (
        lambda: patch(ELF_SO.data, "<Q", ELF_SO.phoff + 56 + 8, 1 << 40),
        Fails(TRUNCATED_READ),
    ),
    "PT_DYNAMIC-size-2^40": (
        lambda: patch(ELF_SO.data, "<Q", ELF_SO.phoff + 56 + 32, 1 << 40),
        Fails(TRUNCATED_READ),
    ),
    "DT_NEEDED-outside-the-strtab": (
        lambda: patch(ELF_SO.data, "<Q", ELF_SO.dynamic_offset + 16 * 3 + 8, 1 << 20),
        Fails(r"string offset 1048576 outside the \d+-byte strtab"),
    ),
    "DT_STRSZ-0": (
        lambda: patch(ELF_SO.data, "<Q", ELF_SO.dynamic_offset + 16 + 8, 0),
        Fails(r"string offset \d+ outside the 0-byte strtab"),
    ),
    "PT_INTERP-1-MiB": (
        lambda: patch(ELF_PIE.data, "<Q", ELF_PIE.phoff + 32, 1 << 20),
        Fails(r"PT_INTERP too long \(1048576 bytes\)"),
    ),
    "PT_INTERP-past-eof": (
        lambda: patch(ELF_PIE.data, "<Q", ELF_PIE.phoff + 8, 1 << 40),
        Fails(TRUNCATED_READ),
    ),
    "EI_CLASS-0": (
        lambda: patch(ELF_SO.data, "B", 4, 0),
        Fails(r"bad ELF class \(0\) or byte order \(1\)"),
    ),
    "EI_DATA-3": (
        lambda: patch(ELF_SO.data, "B", 5, 3),
        Fails(r"bad ELF class \(2\) or byte order \(3\)"),
    ),
    "e_type-0": (lambda: patch(ELF_SO.data, "<H", 16, 0), Fails("unknown ELF file type 0")),
    "core-with-65535-segments": (
        lambda: patch(patch(ELF_SO.data, "<H", 16, 4), "<H", E_PHNUM, 0xFFFF),
        ELF_X86_64,
    ),
    "magic-only": (lambda: b"\x7fELF", Fails("truncated ELF identification")),
    "identification-only": (lambda: ELF_SO.data[:16], Fails("truncated ELF header")),
}

PE_DLL = synth_pe.build_pe(
    "amd64", imports=["KERNEL32.dll", "python311.dll"], delay_imports=["x.dll"]
)
PE_AMD64 = Reads(BinaryFormat.PE, ("amd64",))
NO_PE_HEADER = Fails("MZ executable without a PE header")

PE_CASES: dict[str, tuple[Callable[[], bytes], Outcome]] = {
    "e_lfanew-past-eof": (lambda: patch(PE_DLL.data, "<I", 0x3C, 1 << 30), NO_PE_HEADER),
    "e_lfanew-2^32-1": (lambda: patch(PE_DLL.data, "<I", 0x3C, 0xFFFFFFFF), NO_PE_HEADER),
    "e_lfanew-0": (lambda: patch(PE_DLL.data, "<I", 0x3C, 0), NO_PE_HEADER),
    "e_lfanew-near-the-end": (
        lambda: patch(PE_DLL.data, "<I", 0x3C, len(PE_DLL.data) - 10),
        NO_PE_HEADER,
    ),
    "no-PE-signature": (lambda: patch(PE_DLL.data, "4s", 0x40, b"NE\0\0"), NO_PE_HEADER),
    "dos-header-only": (lambda: b"MZ" + bytes(62), NO_PE_HEADER),
    "mz-only": (lambda: b"MZ", NO_PE_HEADER),
    "optional-header-size-0": (
        lambda: patch(PE_DLL.data, "<H", PE_DLL.coff_offset + 16, 0),
        Fails("PE image without an optional header"),
    ),
    "optional-header-size-64": (
        lambda: patch(PE_DLL.data, "<H", PE_DLL.coff_offset + 16, 64),
        Fails(r"PE optional header too small \(64 bytes\)"),
    ),
    "optional-header-size-65535": (
        lambda: patch(PE_DLL.data, "<H", PE_DLL.coff_offset + 16, 0xFFFF),
        Fails(TRUNCATED_READ),
    ),
    "optional-header-magic": (
        lambda: patch(PE_DLL.data, "<H", PE_DLL.optional_offset, 0x107),
        Fails("unknown PE optional header magic 0x107"),
    ),
    "NumberOfSections-65535": (
        lambda: patch(PE_DLL.data, "<H", PE_DLL.coff_offset + 2, 0xFFFF),
        Fails(r"too many PE sections \(65535\)"),
    ),
    "section-table-past-the-end": (
        lambda: patch(PE_DLL.data, "<H", PE_DLL.coff_offset + 2, 200),
        Fails(TRUNCATED_READ),
    ),
    "no-sections": (
        lambda: patch(PE_DLL.data, "<H", PE_DLL.coff_offset + 2, 0),
        Fails("RVA 0x1000 maps to no section"),
    ),
    "section-data-past-eof": (
        lambda: patch(PE_DLL.data, "<I", PE_DLL.section_table_offset + 20, 1 << 30),
        Fails(TRUNCATED_READ),
    ),
    "import-directory-maps-nowhere": (
        lambda: patch(PE_DLL.data, "<I", PE_DLL.directories_offset + 8, 0x7FFFFFF0),
        Fails("RVA 0x7ffffff0 maps to no section"),
    ),
    "import-name-maps-nowhere": (
        lambda: patch(PE_DLL.data, "<I", (PE_DLL.import_offset or 0) + 12, 0x7FFFFFF0),
        Fails("RVA 0x7ffffff0 maps to no section"),
    ),
    "delay-import-name-maps-nowhere": (
        lambda: patch(PE_DLL.data, "<I", (PE_DLL.delay_import_offset or 0) + 4, 0x7FFFFFF0),
        Fails("RVA 0x7ffffff0 maps to no section"),
    ),
    "NumberOfRvaAndSizes-2^32-1": (
        lambda: patch(PE_DLL.data, "<I", PE_DLL.optional_offset + 108, 0xFFFFFFFF),
        PE_AMD64,
    ),
}

READER_CASES = {
    **{f"macho-{k}": v for k, v in MACHO_CASES.items()},
    **{f"elf-{k}": v for k, v in ELF_CASES.items()},
    **{f"pe-{k}": v for k, v in PE_CASES.items()},
}
