"""Write the fuzzer's seed corpus: valid Mach-O, ELF and PE headers from the test builders,
Java class files, and small wheels (zip archives) holding binaries.

    python fuzz/make_corpus.py [DIR]      # default: fuzz/corpus/seed

The corpus is generated, never committed (``fuzz/corpus/`` is git-ignored).
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.synth import elf, macho, pe  # noqa: E402

DEFAULT_DIR = ROOT / "fuzz" / "corpus" / "seed"


def macho_seeds() -> Iterator[bytes]:
    libs = ["/usr/lib/libSystem.B.dylib", "@rpath/libpython3.11.dylib"]
    x86 = macho.thin("x86_64", "bundle", build_version=("macos", "10.13", "14.0"), dylibs=libs)
    arm = macho.thin("arm64", "dylib", id_dylib="@rpath/libfoo.dylib", rpaths=["@loader_path"])
    yield x86
    yield arm
    yield macho.thin(
        "i386", version_min=("macos", "10.9", "10.13"), build_version=None, dylibs=libs
    )
    yield macho.thin("ppc", "executable", build_version=None, dylibs=libs[:1])
    yield macho.thin("arm64", build_version=("ios-simulator", "14.0", "17.0"), weak_dylibs=libs)
    yield macho.thin("x86_64", version_min=("macos", "10.7", "10.9"), build_version=None,
                     reexport_dylibs=libs[:1], upward_dylibs=libs[1:])  # fmt: skip
    yield macho.fat([x86, arm], align=4)
    yield macho.fat([x86, arm], align=4, fat64=True)
    yield macho.fat([x86])
    yield macho.fat([macho.thin("armv7"), macho.thin("arm64_32", bits=32)], align=2)


def elf_seeds() -> Iterator[bytes]:
    yield elf.elf("x86_64", needed=["libc.so.6", "libm.so.6"], soname="libfoo.so",
                  runpath=["$ORIGIN", "$ORIGIN/../lib"])  # fmt: skip
    yield elf.elf(
        "x86_64", etype="exec", interp="/lib64/ld-linux-x86-64.so.2", needed=["libc.so.6"]
    )
    yield elf.elf("aarch64", interp="/lib/ld-musl-aarch64.so.1", pie=True,
                  needed=["libc.musl-aarch64.so.1"])  # fmt: skip
    yield elf.elf("i686", needed=["libc.so.6"], load=False)
    yield elf.elf("ppc64", needed=["libc.so.6"], strsz=False, rpath=["/opt/lib"])
    yield elf.elf("armv7l", etype="rel")
    yield elf.elf("s390x", etype="core")
    yield elf.elf("riscv64", osabi=9, needed=["libc.so.7"], sections=False)


def pe_seeds() -> Iterator[bytes]:
    yield pe.pe("amd64", imports=["KERNEL32.dll", "python311.dll"], delay_imports=["USER32.dll"])
    yield pe.pe("x86", imports=["KERNEL32.dll"], dll=False)
    yield pe.pe("amd64", imports=["KERNEL32.dll"], chpe=True)
    yield pe.pe("arm64", imports=["KERNEL32.dll"], chpe=True, load_config=True)
    yield pe.pe("x86", delay_imports=["VCRUNTIME140.dll"], delay_rva_based=False)


def other_seeds() -> Iterator[bytes]:
    yield b"\xca\xfe\xba\xbe\x00\x00\x00\x34" + bytes(24)  # a Java class file
    yield b"\xca\xfe\xba\xbe\x00\x00\x00\x00"
    yield b"MZ" + bytes(62)


def wheel_seeds(binaries: list[bytes]) -> Iterator[bytes]:
    # every method the readers decompress themselves (metadata.py, binaries/source.py)
    for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", method) as archive:
            archive.writestr("pkg-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nTag: py3-none-any\n")
            archive.writestr(
                "pkg-1.0.dist-info/METADATA",
                "Name: pkg\x1b[2J\nVersion: 1.0\nRequires-Dist: cffi; extra == 'x'\n",
            )
            archive.writestr("pkg\n::error::x.so", binaries[0])
            archive.writestr("pkg/_ext.abi3.so", binaries[0])
            archive.writestr("pkg/lib.dylib", binaries[1])
            archive.writestr("pkg/__init__.py", "")
        yield buffer.getvalue()


def seeds() -> list[bytes]:
    found = [*macho_seeds(), *elf_seeds(), *pe_seeds(), *other_seeds()]
    return found + list(wheel_seeds([found[0], found[10]]))


def make_corpus(directory: Path = DEFAULT_DIR) -> int:
    """Write every seed as a file named by its hash; returns how many."""
    directory.mkdir(parents=True, exist_ok=True)
    items = seeds()
    for data in items:
        (directory / hashlib.sha1(data).hexdigest()).write_bytes(data)
    return len(items)


def main(argv: list[str]) -> int:
    directory = Path(argv[0]) if argv else DEFAULT_DIR
    count = make_corpus(directory)
    print(f"wrote {count} seeds to {os.path.relpath(directory)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
