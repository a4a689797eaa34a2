"""Stand-ins for the macOS command-line tools Nuitka runs before Scons: ``file`` and ``otool``.

:func:`tests.macos_emulated.build` puts one shim per tool on ``PATH`` that runs
``python tools.py NAME ARGS...``. Every call is appended to ``ARCHGUARD_EMUL_TOOL_LOG`` (one
JSON object per line), so a test can see what Nuitka asked.

* ``file FILE``: a Mach-O file is described by the host's real ``file`` (which knows Mach-O,
  so Nuitka's "universal or names the arch" test sees the truth). An ELF file is one of the
  host Python's own (its executable, stdlib extension modules, ``libpython``): it is
  described as a universal2 Mach-O, the premise being a universal2 Python from python.org.
* ``otool [-arch A] -L|-l|-D FILE``: built on macholib (independent of the project's own
  readers, which are what is under test), in the format of Apple's and LLVM's ``otool``, for
  the load commands Nuitka reads: dylibs, ``LC_RPATH``, ``LC_VERSION_MIN_MACOSX``,
  ``LC_BUILD_VERSION``. For a host ELF file it prints what a Python extension module built
  for macOS would show: no libraries beyond ``/usr/lib/libSystem.B.dylib`` and the
  deployment target as its minimum.
* ``lipo``, ``install_name_tool``, ``codesign``, ``xcrun``: Nuitka runs them only from Scons
  on, which cannot be emulated; they fail loudly, naming themselves, if ever called.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any, Optional

ENV_TOOL_LOG = "ARCHGUARD_EMUL_TOOL_LOG"
ENV_BIN_DIR = "ARCHGUARD_EMUL_BIN"
ENV_DEPLOYMENT_TARGET = "ARCHGUARD_EMUL_DEPLOYMENT_TARGET"

EMULATED_TOOLS = ("file", "otool")
FAILING_TOOLS = ("lipo", "install_name_tool", "codesign", "xcrun")
TOOLS = EMULATED_TOOLS + FAILING_TOOLS

NOT_EMULATED_EXIT = 97
"""Exit status of a failing stand-in: distinctive, so that a test can tell it apart."""

ELF_MAGIC = b"\x7fELF"
LIBSYSTEM = "/usr/lib/libSystem.B.dylib (compatibility version 1.0.0, current version 1345.0.0)"


def _log(tool: str, args: Sequence[str], status: int) -> None:
    path = os.environ.get(ENV_TOOL_LOG)
    if not path:
        return
    record = {"tool": tool, "args": list(args), "status": status, "time": time.time()}
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def _is_elf(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == ELF_MAGIC
    except OSError:
        return False


def _real_tool(name: str) -> Optional[str]:
    """The host's own tool of that name, skipping the stand-ins' folder."""
    ours = os.path.realpath(os.environ.get(ENV_BIN_DIR, ""))
    parts = [
        p for p in os.environ.get("PATH", "").split(os.pathsep) if p and os.path.realpath(p) != ours
    ]
    return shutil.which(name, path=os.pathsep.join(parts))


# -- file -------------------------------------------------------------------------------------


def _elf_kind(path: str) -> str:
    """``executable`` or ``bundle`` (what a Python extension module or libpython is)."""
    with open(path, "rb") as handle:
        head = handle.read(18)
    e_type = int.from_bytes(head[16:18], "little") if len(head) == 18 else 0
    is_executable = e_type == 2 or os.path.basename(path).startswith("python")
    return "executable" if is_executable else "bundle"


def file_main(args: Sequence[str]) -> int:
    paths = [a for a in args if not a.startswith("-")]
    if len(paths) != 1 or len(args) != 1:
        print(f"file stand-in: expected exactly one FILE, got {list(args)!r}", file=sys.stderr)
        return 2
    (path,) = paths
    if _is_elf(path):
        kind = _elf_kind(path)
        print(
            f"{path}: Mach-O universal binary with 2 architectures: "
            f"[x86_64:Mach-O 64-bit {kind} x86_64] [arm64:Mach-O 64-bit {kind} arm64]"
        )
        return 0
    real = _real_tool("file")
    if real is None:
        print("file stand-in: the host has no 'file' tool", file=sys.stderr)
        return 2
    return subprocess.run([real, path], check=False).returncode


# -- otool ------------------------------------------------------------------------------------

_DYLIB_COMMANDS = (
    "LC_ID_DYLIB",
    "LC_LOAD_DYLIB",
    "LC_LOAD_WEAK_DYLIB",
    "LC_REEXPORT_DYLIB",
    "LC_LAZY_LOAD_DYLIB",
    "LC_LOAD_UPWARD_DYLIB",
)


_DYLIB_KIND_SUFFIX = {
    "LC_LOAD_WEAK_DYLIB": ", weak",
    "LC_REEXPORT_DYLIB": ", reexport",
    "LC_LAZY_LOAD_DYLIB": ", lazy",
    "LC_LOAD_UPWARD_DYLIB": ", upward",
}
"""What ``otool -L`` adds after the versions for dylibs not loaded the plain way."""


def _number(value: Any) -> int:
    """A macholib field as an int (versions of dylib commands are wrapped in a helper)."""
    return int(getattr(value, "_version", value))


def _version(value: Any) -> str:
    """``xxxx.yy.zz`` packed into 32 bits, as otool prints it (no zero patch dropped)."""
    value = _number(value)
    return f"{value >> 16}.{(value >> 8) & 0xFF}.{value & 0xFF}"


def _short_version(value: Any) -> str:
    """``LC_VERSION_MIN``/``LC_BUILD_VERSION`` style: the patch only when non-zero."""
    value = _number(value)
    major, minor, patch = value >> 16, (value >> 8) & 0xFF, value & 0xFF
    return f"{major}.{minor}.{patch}" if patch else f"{major}.{minor}"


def _c_string(data: Any) -> str:
    raw = bytes(data).split(b"\0", 1)[0]
    return raw.decode("utf-8", "replace")


def _arch_of(header: Any) -> str:
    from macholib.mach_o import CPU_TYPE_NAMES

    cputype = header.header.cputype
    names = {0x01000007: "x86_64", 0x0100000C: "arm64", 7: "i386", 12: "arm"}
    return names.get(cputype) or str(CPU_TYPE_NAMES.get(cputype, cputype))


def _pick_header(path: str, arch: Optional[str]) -> Any:
    """The slice ``-arch`` names; like LLVM's otool, a thin file's only slice either way."""
    from macholib.MachO import MachO

    headers = MachO(path).headers
    if arch is None or len(headers) == 1:
        return headers[0]
    for header in headers:
        if _arch_of(header) == arch:
            return header
    return None


def _listing_lines(header: Any) -> list[str]:
    """``otool -l``: every load command's name and size, and the fields Nuitka parses."""
    from macholib.mach_o import LC_NAMES

    lines: list[str] = []
    for index, (load_command, command, data) in enumerate(header.commands):
        name = LC_NAMES.get(load_command.cmd, f"0x{load_command.cmd:x}")
        lines += [f"Load command {index}", f"      cmd {name}", f"  cmdsize {load_command.cmdsize}"]
        if name == "LC_RPATH":
            lines.append(f"         path {_c_string(data)} (offset {_number(command.path)})")
        elif name in _DYLIB_COMMANDS:
            lines.append(f"         name {_c_string(data)} (offset {_number(command.name)})")
            lines.append(f"current version {_version(command.current_version)}")
            lines.append(f"compatibility version {_version(command.compatibility_version)}")
        elif name.startswith("LC_VERSION_MIN_"):
            lines.append(f"  version {_short_version(command.version)}")
            lines.append(f"      sdk {_short_version(command.sdk)}")
        elif name == "LC_BUILD_VERSION":
            lines.append(f" platform {command.platform}")
            lines.append(f"    minos {_short_version(command.minos)}")
            lines.append(f"      sdk {_short_version(command.sdk)}")
    return lines


def _elf_listing_lines() -> list[str]:
    target = os.environ.get(ENV_DEPLOYMENT_TARGET, "11.0")
    return [
        "Load command 0",
        "      cmd LC_VERSION_MIN_MACOSX",
        "  cmdsize 16",
        f"  version {target}",
        f"      sdk {target}",
        "Load command 1",
        "          cmd LC_LOAD_DYLIB",
        "      cmdsize 56",
        "         name /usr/lib/libSystem.B.dylib (offset 24)",
    ]


def otool_main(args: Sequence[str]) -> int:
    args = list(args)
    arch: Optional[str] = None
    if "-arch" in args:
        at = args.index("-arch")
        arch = args[at + 1] if at + 1 < len(args) else None
        del args[at : at + 2]
    options = [a for a in args if a.startswith("-")]
    paths = [a for a in args if not a.startswith("-")]
    if len(options) != 1 or options[0] not in ("-L", "-l", "-D") or len(paths) != 1:
        print(f"otool stand-in: unsupported arguments {list(args)!r}", file=sys.stderr)
        return 2
    (option,), (path,) = options, paths
    if arch == "universal":  # Nuitka passes its target arch through, "universal" included
        arch = None
    if _is_elf(path):
        if option == "-L":
            body = [f"\t{LIBSYSTEM}"]
        elif option == "-l":
            body = _elf_listing_lines()
        else:
            body = []
        print("\n".join([f"{path}:", *body]))
        return 0
    try:
        header = _pick_header(path, arch)
    except Exception as error:  # macholib on a broken file: what otool does, an error
        print(f"otool stand-in: {path}: {error}", file=sys.stderr)
        return 1
    if header is None:
        # Apple's otool prints nothing for a fat file without the requested slice.
        print(f"{path}:")
        return 0
    from macholib.mach_o import LC_NAMES

    if option == "-l":
        body = _listing_lines(header)
    else:
        body = []
        for load_command, command, data in header.commands:
            name = LC_NAMES.get(load_command.cmd)
            if option == "-D" and name == "LC_ID_DYLIB":
                body.append(_c_string(data))
            elif option == "-L" and name in _DYLIB_COMMANDS:
                body.append(
                    f"\t{_c_string(data)} (compatibility version "
                    f"{_version(command.compatibility_version)}, current version "
                    f"{_version(command.current_version)}{_DYLIB_KIND_SUFFIX.get(name, '')})"
                )
    print("\n".join([f"{path}:", *body]))
    return 0


# -- the ones that must not be reached ----------------------------------------------------------


def not_emulated_main(tool: str, args: Sequence[str]) -> int:
    print(
        f"macos_emulated: '{tool}' is not emulated (called as {tool} {' '.join(args)}): "
        "Nuitka went past the point the harness supports (Scons and later need a real Mac)",
        file=sys.stderr,
    )
    return NOT_EMULATED_EXIT


def main(argv: Sequence[str]) -> int:
    if not argv or argv[0] not in TOOLS:
        print(f"usage: tools.py {{{','.join(TOOLS)}}} ARGS...", file=sys.stderr)
        return 2
    tool, args = argv[0], list(argv[1:])
    if tool == "file":
        status = file_main(args)
    elif tool == "otool":
        status = otool_main(args)
    else:
        status = not_emulated_main(tool, args)
    _log(tool, args, status)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
