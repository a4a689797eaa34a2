"""Wheels in and out: pip as the resolver and downloader, PyPA ``installer`` to install.

pip decides which wheel fits a platform (its tag ordering is the reference; reimplementing
it would drift), so planning is ``pip download --no-deps --only-binary=:all: --platform ...``
with the user's index options. Installing goes through ``installer`` into a staging copy of
the environment's scheme; nothing here touches the environment itself (journal.py does).
"""

from __future__ import annotations

import ast
import atexit
import contextlib
import functools
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Optional, Union

from packaging.utils import (
    canonicalize_name,
)
from packaging.version import Version

from ..check.metadata import MetadataError, MetadataReader, parse_headers, read_regular
from ..state import STATE_DIR
from ..text import shell_quote, shown
from ..wheel import WheelFile, member_refusal, parse_name

__all__ = [
    "NETWORK_MARKERS",
    "DownloadError",
    "PipOptions",
    "PythonSpec",
    "Scheme",
    "UnsafePathError",
    "download",
    "install_wheel",
    "opened_wheel",
    "pip_command",
    "record_paths",
]

PIP_TIMEOUT = "30"
PIP_RETRIES = "2"
_NO_MATCH = re.compile(r"No matching distribution found for (\S+)")
NETWORK_MARKERS = (
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "ConnectTimeout",
    "ReadTimeout",
    "Network is unreachable",
    "ProxyError",
    "Connection refused",
    "SSLError",
)
"""Errors pip prints when the index cannot be reached (as opposed to "no such wheel")."""


class DownloadError(Exception):
    """pip could not run or could not reach the index: the fix stops with nothing changed."""


class UnsafePathError(Exception):
    """A wheel or a RECORD names a path outside the environment (``../``, absolute, links)."""


@dataclass(frozen=True)
class PipOptions:
    """The user's index options, passed through to pip unchanged."""

    index_url: Optional[str] = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False

    def args(self) -> list[str]:
        args: list[str] = []
        if self.index_url:
            args += ["--index-url", self.index_url]
        for url in self.extra_index_urls:
            args += ["--extra-index-url", url]
        for link in self.find_links:
            args += ["--find-links", link]
        if self.no_index:
            args.append("--no-index")
        return args


@dataclass(frozen=True)
class PythonSpec:
    """The interpreter the wheels are for: ``3.11``, ``cp``, ``cp311``."""

    version: str
    implementation: str = "cp"

    @property
    def abi(self) -> str:
        return f"{self.implementation}{self.version.replace('.', '')}"

    def pip_args(self) -> list[str]:
        return [
            "--python-version", self.version, "--implementation", self.implementation,
            "--abi", self.abi, "--abi", "abi3", "--abi", "none",
        ]  # fmt: skip


def pip_command(args: Sequence[str]) -> list[str]:
    return [
        sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input",
        "--timeout", PIP_TIMEOUT, "--retries", PIP_RETRIES, *args,
    ]  # fmt: skip


FIX_DECIDES = (
    "platform", "target", "only-binary", "python-version", "implementation", "abi",
    "no-deps", "require-virtualenv",
)  # fmt: skip
"""pip options ``fix`` decides itself: a user's value for them (``PIP_PLATFORM``, a
``platform =`` line in a pip config) would make pip bring back the wrong wheel. Every other
option (index, trust, proxy, certificates, cache, constraints) stays the user's."""
_NEUTRAL = {"no-deps": "no", "require-virtualenv": "no"}
"""The value that means "not set" for a key of :data:`FIX_DECIDES` (others: empty)."""
_COMMAND_SECTIONS = ("global", "download", "install")


def _env_key(key: str) -> str:
    return "PIP_" + key.upper().replace("-", "_")


def pip_environment() -> tuple[tuple[str, str], ...]:
    """The environment of every pip child: the user's own, minus the ``PIP_*`` variables of
    :data:`FIX_DECIDES`, and with ``PIP_CONFIG_FILE`` naming one config file that holds the
    user's merged pip configuration with those keys neutralised in every section (pip then
    skips the user's file and lets this one override the global and site files). Computed
    once per distinct environment of this process."""
    return _pip_environment(tuple(sorted(os.environ.items())))


@functools.lru_cache(maxsize=4)
def _pip_environment(ours: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    env = dict(ours)
    for key in FIX_DECIDES:
        env.pop(_env_key(key), None)
        env.pop(_env_key(key.replace("-", "_")), None)
    if env.get("PIP_CONFIG_FILE") == os.devnull or not _configs_set_ours(env):
        return tuple(sorted(env.items()))  # no config file sets a key of FIX_DECIDES
    try:
        listed = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True,
            errors="replace",
            check=False, stdin=subprocess.DEVNULL, env=env, timeout=60,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return tuple(sorted(env.items()))  # pip cannot run: download() says so
    sections = _config_sections(listed.stdout if listed.returncode == 0 else "")
    folder = tempfile.mkdtemp(prefix="archguard-pip-")
    atexit.register(shutil.rmtree, folder, True)
    path = os.path.join(folder, "pip.conf")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(_config_text(sections))
    env["PIP_CONFIG_FILE"] = path
    return tuple(sorted(env.items()))


def _config_files(env: dict[str, str]) -> list[str]:
    """Every file pip may read its configuration from (pip's own list: global, user, site,
    ``PIP_CONFIG_FILE``), existing or not."""
    home = os.path.expanduser("~")
    xdg_dirs = env.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    xdg_home = env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    files = [os.path.join(d, "pip", "pip.conf") for d in xdg_dirs.split(os.pathsep) if d]
    files += ["/etc/pip.conf", os.path.join(home, ".pip", "pip.conf")]
    files += [os.path.join(xdg_home, "pip", "pip.conf")]
    files += [os.path.join(home, "Library", "Application Support", "pip", "pip.conf")]
    appdata = env.get("APPDATA")
    if appdata:
        files += [os.path.join(appdata, "pip", "pip.ini")]
    files += [os.path.join(env.get("ProgramData", "C:\\ProgramData"), "pip", "pip.ini")]
    files += [os.path.join(sys.prefix, "pip.conf"), os.path.join(sys.prefix, "pip.ini")]
    if env.get("PIP_CONFIG_FILE"):
        files.append(env["PIP_CONFIG_FILE"])
    return files


def _configs_set_ours(env: dict[str, str]) -> bool:
    """Whether a pip config file sets a key of :data:`FIX_DECIDES` (read here, bounded: the
    common case, none does, costs no pip start-up). Unreadable files count as "maybe"."""
    import configparser

    for path in _config_files(env):
        if not os.path.isfile(path):
            continue
        parser = configparser.RawConfigParser()
        try:
            parser.read_string(read_regular(path, 1024 * 1024).decode("utf-8", "replace"))
        except (MetadataError, configparser.Error):
            return True
        for section in parser.sections():
            for key in parser.options(section):
                if key.lower().replace("_", "-").lstrip("-") in FIX_DECIDES:
                    return True
    return False


def _config_sections(listing: str) -> dict[str, dict[str, str]]:
    """``pip config list`` (``section.key='value'``, one a line) as sections of the config
    files only (``:env:`` lines are the variables, which pip reads anyway)."""
    sections: dict[str, dict[str, str]] = {}
    for line in listing.splitlines():
        name, sep, value = line.partition("=")
        section, dot, key = name.partition(".")
        if not (sep and dot) or section.startswith(":"):
            continue
        try:
            text = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            continue
        if isinstance(text, str):
            sections.setdefault(section, {})[key.strip()] = text
    return sections


def _config_text(sections: dict[str, dict[str, str]]) -> str:
    lines: list[str] = []
    for section in sorted({*sections, *_COMMAND_SECTIONS}):
        lines.append(f"[{section}]")
        for key, value in sorted(sections.get(section, {}).items()):
            normal = key.lower().replace("_", "-").lstrip("-")
            if normal not in FIX_DECIDES and "\n" not in key:
                lines.append(f"{key} = " + value.replace("\n", "\n    "))
        lines.extend(f"{key} = {_NEUTRAL.get(key, '')}".rstrip() for key in FIX_DECIDES)
    return "\n".join(lines) + "\n"


def run_pip(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """pip with :func:`pip_environment`; raises :class:`DownloadError` if it cannot start."""
    try:
        return subprocess.run(
            pip_command(args), capture_output=True, text=True, errors="replace",
            check=False, stdin=subprocess.DEVNULL, env=dict(pip_environment()),
        )  # fmt: skip
    except OSError as error:
        raise DownloadError(f"cannot run pip: {error}") from None


def download(
    requirements: Sequence[str],
    platforms: Sequence[str],
    python: PythonSpec,
    options: PipOptions,
    dest: Path,
    *,
    progress: Optional[Callable[[str], None]] = None,
) -> dict[str, Path]:
    """Download one wheel per requirement (``NAME==VER`` or ``NAME<=VER``) that fits the
    platforms; returns ``{canonical name: wheel}`` for those pip found.

    One pip call for the whole batch (pip's start-up dominates planning); pip stops at the
    first requirement without a wheel, which is then left out and the rest asked again.
    Raises :class:`DownloadError` when pip fails for another reason (network, bad index).
    """
    dest.mkdir(parents=True, exist_ok=True)
    pending = list(dict.fromkeys(requirements))
    found: dict[str, Path] = {}
    while pending:
        args = ["download", "--no-deps", "--only-binary=:all:", "--dest", str(dest)]
        for platform in platforms:
            args += ["--platform", platform]
        args += python.pip_args() + options.args() + ["--", *pending]
        if progress is not None:
            progress(f"  pip: {_count_text(pending)} for {', '.join(platforms)}")
        result = run_pip(args)
        output = (result.stdout or "") + (result.stderr or "")
        if result.returncode == 0:
            _collect(dest, pending, found)
            return found
        known = pip_failure(output, options)
        if known is not None:
            raise DownloadError(known)
        if any(marker in output for marker in NETWORK_MARKERS):
            raise DownloadError(f"pip could not reach the index: {tail(output)}")
        match = _NO_MATCH.search(output)
        missing = match.group(1) if match else None
        if missing is None or missing not in pending:
            raise DownloadError(f"pip download failed (exit {result.returncode}): {tail(output)}")
        pending.remove(missing)
    return found


def _count_text(requirements: Sequence[str], shown_at_most: int = 3) -> str:
    """``3 wheels: a==1, b==2, c==3`` or ``40 wheels: a==1, b==2, c==3 and 37 more``."""
    head = ", ".join(requirements[:shown_at_most])
    more = len(requirements) - shown_at_most
    noun = "wheel" if len(requirements) == 1 else "wheels"
    return f"{len(requirements)} {noun}: {head}" + (f" and {more} more" if more > 0 else "")


def _collect(dest: Path, pending: list[str], found: dict[str, Path]) -> None:
    """Map the wheels in ``dest`` to the requirements (the newest one for ``NAME<VER``)."""
    best: dict[str, tuple[Version, Path]] = {}
    for name in sorted(os.listdir(dest)):
        info = parse_name(name)
        if info is None:
            continue
        for requirement in pending:
            if _requirement_name(requirement) == info.name and _pins(requirement, info.version):
                version = Version(info.version)
                if info.name not in best or best[info.name][0] < version:
                    best[info.name] = (version, dest / name)
    found.update({name: path for name, (_, path) in best.items()})


def _requirement_name(requirement: str) -> str:
    return str(canonicalize_name(re.split(r"[<>=!~ ;\[]", requirement, maxsplit=1)[0]))


def _pins(requirement: str, version: str) -> bool:
    return "==" not in requirement or requirement.split("==", 1)[1].strip() == version


_IGNORED_LOCATION = re.compile(
    r"Location '([^'\n]+)' is ignored: it is either a non-existing path or lacks a specific scheme"
)
_UNTRUSTED = re.compile(r"The repository located at (\S+) is not a trusted or secure host")
_CONSTRAINT = re.compile(r"The user requested \(constraint\) ([^\n]+)")


def pip_failure(output: str, options: PipOptions) -> Optional[str]:
    """What a failed pip run means when it is not "no such wheel": one clear line for a
    ``--find-links`` folder that does not exist, an index URL without a scheme, a plain-http
    index pip ignores as untrusted, or a constraint from the user's pip configuration that
    excludes every candidate; ``None`` otherwise. The one classifier of pip's output (pip
    says these only as warnings, then "No matching distribution", which would read as
    "no wheel: build from source")."""
    indexes = [*([options.index_url] if options.index_url else []), *options.extra_index_urls]
    for url in indexes:
        if "://" not in url and not os.path.isdir(url):
            return f"{shown(url)}: not a URL pip can use (no scheme): write it as https://HOST/PATH"
    mine = {*options.find_links, *indexes}
    for location in _IGNORED_LOCATION.findall(output):
        if location in mine or location.rstrip("/") in {m.rstrip("/") for m in mine}:
            if location in options.find_links:
                return (
                    f"--find-links {shown(location)}: no such folder (pip ignored it); give an "
                    "existing folder of wheels or a URL"
                )
            return (
                f"{shown(location)}: not a URL pip can use (no scheme): write it as "
                "https://HOST/PATH"
            )
    untrusted = _UNTRUSTED.search(output)
    if untrusted:
        host = untrusted.group(1)
        return (
            f"pip ignored the index at {shown(host)}: plain http from a host it does not trust; "
            f"use https, or trust it explicitly (PIP_TRUSTED_HOST={shell_quote(host)}, pip's "
            f"--trusted-host {shell_quote(host)})"
        )
    constraint = _CONSTRAINT.search(output)
    if constraint:
        return (
            f"a constraint from your pip configuration excludes every candidate "
            f"({shown(constraint.group(1).strip())}; set by PIP_CONSTRAINT or a 'constraint' "
            "line in pip.conf): relax it or run fix without it"
        )
    return None


def tail(output: str) -> str:
    """The last lines of pip's output, on one line (for a message)."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    return " | ".join(lines[-3:])[:600]


# -- installing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scheme:
    """Where a wheel's parts go, as real paths of the environment (installer's scheme)."""

    purelib: Path
    platlib: Path
    scripts: Path
    data: Path
    headers: Path
    interpreter: str = field(default="python")

    def as_dict(self) -> dict[str, str]:
        return {
            "purelib": str(self.purelib),
            "platlib": str(self.platlib),
            "scripts": str(self.scripts),
            "data": str(self.data),
            "headers": str(self.headers),
        }


def _safe_member(path: str) -> str:
    """A wheel member path that stays inside its scheme folder (:func:`..wheel.member_refusal`,
    the one rule), with forward slashes; else :class:`UnsafePathError`."""
    refusal = member_refusal(path)
    if refusal:
        raise UnsafePathError(refusal)
    return path.replace("\\", "/")


AnyWheel = Union[Path, WheelFile]
"""A wheel by path (opened, read and closed by the callee) or one its caller holds open
(read from that one open: :class:`..wheel.WheelFile`)."""


def open_wheel_file(wheel: Path, error: type[Exception]) -> WheelFile:
    """``wheel`` opened once (bounded: :meth:`..wheel.WheelFile.open`), else ``error`` with
    the one line :mod:`..check.metadata` says."""
    reader = MetadataReader()
    opened = reader.open_wheel(str(wheel))
    if opened is None:
        raise error(_refusal(reader, wheel))
    return opened


@contextlib.contextmanager
def opened_wheel(wheel: AnyWheel, error: type[Exception]) -> Iterator[WheelFile]:
    """``wheel`` if its caller holds it open (left open), else opened here once and closed
    after (:func:`open_wheel_file`)."""
    if isinstance(wheel, WheelFile):
        yield wheel
        return
    with open_wheel_file(wheel, error) as opened:
        yield opened


def install_wheel(
    wheel: AnyWheel, scheme: Scheme, destdir: Path, notes: Optional[list[str]] = None
) -> list[Path]:
    """Install ``wheel`` as if into ``scheme`` but under ``destdir`` (the real paths mirrored
    there, RECORD written for the real ones); returns the staged files. Runs no code.
    ``installer``'s warnings (a ``__pycache__`` member it skips) are added to ``notes``.
    ``installer`` reads the same open file (its ``WheelFile(zipfile)``)."""
    with opened_wheel(wheel, UnsafePathError) as opened:
        return _install(opened, scheme, destdir, notes)


def _install(
    wheel: WheelFile, scheme: Scheme, destdir: Path, notes: Optional[list[str]]
) -> list[Path]:
    from installer import install
    from installer.destinations import SchemeDictionaryDestination
    from installer.exceptions import InstallerError
    from installer.records import RecordEntry
    from installer.sources import WheelFile as InstallerWheel
    from installer.utils import Scheme as SchemeName

    reader = MetadataReader()  # installer reads RECORD/WHEEL whole: only what was counted here
    files = reader.wheel_dist_info(wheel)
    if files is None:
        raise UnsafePathError(_refusal(reader, Path(wheel.path)))
    check_members(wheel, destdir)
    name = wheel.filename
    paths = scheme.as_dict()
    paths["headers"] = _headers_folder(scheme, files)
    written: list[Path] = []

    class _Destination(SchemeDictionaryDestination):
        def write_to_fs(
            self, scheme: SchemeName, path: str, stream: BinaryIO, is_executable: bool
        ) -> RecordEntry:
            safe = _safe_member(path)
            entry = super().write_to_fs(scheme, safe, stream, is_executable)
            written.append(_mirrored(Path(self.scheme_dict[scheme]) / safe, destdir))
            return entry

        def write_script(self, name: str, module: str, attr: str, section: Any) -> RecordEntry:
            """A POSIX launcher with the shebang the replaced script had (pip wrote it), else
            the environment's Python; never installer's ``/bin/sh`` trick, which quotes an
            interpreter with a space (``/usr/bin/env python3``) as one word (exit 127)."""
            if self.script_kind != "posix":
                return super().write_script(name, module, attr, section)
            _safe_member(name)
            shebang = _kept_shebang(scheme.scripts / name) or f"#!{scheme.interpreter}"
            code = _LAUNCHER.format(module=module, import_name=attr.split(".")[0], func_path=attr)
            data = (shebang + "\n" + code).encode("utf-8")
            return self.write_to_fs(SchemeName("scripts"), name, io.BytesIO(data), True)

    destination = _Destination(
        paths,
        interpreter=scheme.interpreter,
        script_kind="posix" if os.name != "nt" else "win-amd64",
        destdir=str(destdir),
    )
    extra = {"INSTALLER": b"nuitka-archguard\n"}
    if _was_requested(name, scheme):  # pip inspect's "requested" stays as it was
        extra["REQUESTED"] = b""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            install(InstallerWheel(wheel.archive), destination, additional_metadata=extra)
        except (InstallerError, ValueError, KeyError, zipfile.BadZipFile) as error:
            # installer's own refusals (a .data folder of no scheme, an absolute member):
            # bad input, said in one line, never "internal error".
            raise UnsafePathError(f"{name} is not a valid wheel: {error}") from None
    if notes is not None:
        notes.extend(f"{name}: {warning.message}" for warning in caught)
    return written


_LAUNCHER = """\
# -*- coding: utf-8 -*-
import re
import sys
from {module} import {import_name}
if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])
    sys.exit({func_path}())
"""
"""The launcher pip and installer write (after the shebang line)."""


_VENV_HEADERS = re.compile(r"python[0-9]+\.[0-9]+\Z")


def _headers_folder(scheme: Scheme, files: dict[str, bytes]) -> str:
    """Where pip puts a wheel's headers: in a virtual environment or prefix
    ``include/site/pythonX.Y/<distribution name>`` (pip's scheme, "for compatibility"), so a
    replaced distribution's headers land where the original ones were."""
    headers = scheme.headers
    if not (_VENV_HEADERS.match(headers.name) and headers.parent.name == "site"):
        return str(headers)
    for member, data in sorted(files.items()):
        if member.endswith(".dist-info/METADATA"):
            name = (parse_headers(data.decode("utf-8", "replace")).get("Name") or [""])[0]
            if name.strip() and not member_refusal(name.strip()) and "/" not in name:
                return str(headers / name.strip())
    return str(headers)


def _kept_shebang(script: Path) -> str:
    """The ``#!`` line of the script a replaced distribution had at ``script``, if it is a
    plain one (no space-quoting trick, printable)."""
    try:
        text = read_regular(str(script), 4096).split(b"\n", 1)[0].decode("utf-8")
    except (MetadataError, UnicodeDecodeError):
        return ""
    if not text.startswith("#!/") or any(ord(c) < 32 for c in text) or "'" in text:
        return ""
    return text


def _was_requested(filename: str, scheme: Scheme) -> bool:
    """Whether the installed distribution the wheel ``filename`` replaces has a
    ``REQUESTED`` file (pip writes one for what was named on its command line)."""
    parsed = parse_name(filename)
    if parsed is None:
        return False
    for site in dict.fromkeys((scheme.purelib, scheme.platlib)):
        try:
            names = os.listdir(site)
        except OSError:
            continue
        for name in names:
            stem = name[: -len(".dist-info")]
            if (
                name.endswith(".dist-info")
                and stem.count("-") == 1
                and canonicalize_name(stem.split("-", 1)[0]) == parsed.name
                and os.path.isfile(os.path.join(site, name, "REQUESTED"))
            ):
                return True
    return False


# The most a replacement wheel may unpack to. zipfile stops every member at its declared
# size, so the central directory's sizes bound what staging can write: checked before a byte
# is written, a zip bomb is refused instead of filling the disk and then rolling back.
UNPACK_LIMIT = 4 * 1024**3
_FREE_MARGIN = 64 * 1024**2


def check_members(wheel: AnyWheel, destdir: Path) -> None:
    """Every member's path and the total size, checked before ``installer`` writes a byte:
    what is safe must not depend on which ``installer`` release refuses what."""
    limit = UNPACK_LIMIT
    with opened_wheel(wheel, UnsafePathError) as opened:
        name = opened.filename
        for member in opened.members():
            _safe_member(member.filename)
        total = opened.unpacked_size()
    try:
        free = shutil.disk_usage(destdir if destdir.exists() else destdir.parent).free
    except (OSError, ValueError) as error:
        raise UnsafePathError(f"{name} is not a valid wheel: {error}") from None
    if total > limit:
        raise UnsafePathError(
            f"{name} would unpack to {total:,} bytes, more than the {limit:,} a "
            "wheel may unpack to (staging or fusing); nothing was installed"
        )
    if total + _FREE_MARGIN > free:
        raise UnsafePathError(
            f"{name} would unpack to {total:,} bytes but only {free:,} are free on the "
            "environment's disk; nothing was installed"
        )


def _mirrored(real: Path, destdir: Path) -> Path:
    absolute = Path(os.path.abspath(real))
    return destdir / absolute.relative_to(absolute.anchor)


def mirrored(real: Path, destdir: Path) -> Path:
    """Where ``install_wheel(..., destdir)`` put the file that belongs at ``real``."""
    return _mirrored(real, destdir)


# -- uninstalling -----------------------------------------------------------------------------


def record_paths(dist_info: Path, root: Path) -> tuple[list[Path], list[str]]:
    """The files a distribution owns, from its RECORD, that a fix may move out; plus notes
    for entries left alone. RECORD is not trusted to delete: a line naming a file outside
    ``root`` or reached through a symlinked folder, the fix's own folder, another
    distribution's file (by that one's RECORD), the environment's interpreter or
    ``pyvenv.cfg``, or anything outside the distribution's folders (its site folder and the
    prefix's ``bin``, ``Scripts``, ``include``, ``share``, ``etc``) stays where it is. The
    ``.pyc`` files of its ``.py`` files come along, as pip uninstall takes them."""
    site = dist_info.parent
    real_root = os.path.realpath(root)
    notes: list[str] = []
    files: list[Path] = []
    reader = MetadataReader()
    seen: set[Path] = set()
    others: Optional[set[Path]] = None
    for entry in reader.record_paths(str(dist_info / "RECORD")):
        if os.path.isabs(entry) or any(ord(c) < 32 for c in entry):
            notes.append(f"RECORD entry {entry!r} left alone: not a relative path")
            continue
        path = Path(os.path.normpath(site / entry))
        parent = os.path.realpath(path.parent)
        if not _inside(parent, real_root) or not _inside(os.path.abspath(path), root):
            if os.path.lexists(path):  # pip --target leaves lines for scripts it never put
                notes.append(f"RECORD entry {entry!r} left alone: outside {root}")
            continue
        if _inside(os.path.abspath(path), os.path.join(root, STATE_DIR)):
            notes.append(f"RECORD entry {entry!r} left alone: the fix's own folder")
            continue
        if not os.path.lexists(path):
            continue
        why = _not_the_distributions(path, site, root)
        if why is None:
            if others is None:
                others = _owned_by_others(dist_info)
            if path in others:
                why = "another distribution's file (by its RECORD)"
        if why is not None:
            notes.append(f"RECORD entry {entry!r} left alone: {why}")
            continue
        for candidate in (path, *_pyc_files(path)):
            if candidate not in seen and os.path.lexists(candidate):
                if os.path.isdir(candidate) and not os.path.islink(candidate):
                    continue
                if os.path.realpath(candidate.parent) != str(candidate.parent):
                    notes.append(
                        f"{shown(str(candidate))} left alone: reached through a symbolic link"
                    )
                    continue
                seen.add(candidate)
                files.append(candidate)
    if reader.notes:  # a RECORD not read whole: removing part of a distribution is worse
        raise UnsafePathError(reader.notes[0])
    return files, notes


_PREFIX_FOLDERS = frozenset({"bin", "Scripts", "include", "share", "etc"})
"""Folders of a prefix, besides the site folder, where a wheel's scripts, headers and data go."""
_INTERPRETER = re.compile(r"^(python|pypy)[0-9.]*w?(\.exe)?$", re.IGNORECASE)


def _not_the_distributions(path: Path, site: Path, root: Path) -> Optional[str]:
    """Why ``path`` (inside ``root``) is no file a distribution of ``site`` may own."""
    rel = Path(os.path.relpath(path, root)).parts
    if rel == ("pyvenv.cfg",):
        return "the environment's pyvenv.cfg"
    if _INTERPRETER.match(path.name) and rel[:1] in (("bin",), ("Scripts",), (path.name,)):
        return "the environment's interpreter"
    if _inside(str(path), site) or (rel[:1] and rel[0] in _PREFIX_FOLDERS and len(rel) > 1):
        return None
    return "outside the distribution's folders"


def _owned_by_others(dist_info: Path) -> set[Path]:
    """Every file the other distributions of ``dist_info``'s site folder list in RECORD."""
    site = dist_info.parent
    owned: set[Path] = set()
    try:
        names = sorted(os.listdir(site))
    except OSError:
        return owned
    reader = MetadataReader()
    for name in names:
        if name.endswith(".dist-info") and name != dist_info.name:
            for entry in reader.record_paths(str(site / name / "RECORD")):
                if not os.path.isabs(entry):
                    owned.add(Path(os.path.normpath(site / entry)))
    return owned


def _pyc_files(path: Path) -> Iterator[Path]:
    if path.suffix != ".py":
        return
    cache = path.parent / "__pycache__"
    try:
        names = os.listdir(cache)
    except OSError:
        return
    for name in sorted(names):
        if name.startswith(path.stem + ".") and name.endswith(".pyc"):
            yield cache / name


def _inside(path: str, root: os.PathLike[str] | str) -> bool:
    root_text = os.path.abspath(root)
    try:
        return os.path.commonpath([os.path.abspath(path), root_text]) == root_text
    except ValueError:
        return False


def read_wheel_tags(wheel: AnyWheel) -> tuple[str, ...]:
    """The ``Tag:`` lines of a wheel's WHEEL file (the file name's tags as a fallback).

    Every metadata file of the wheel is read here first, bounded (:mod:`..metadata`): a
    wheel whose RECORD, METADATA or WHEEL cannot be read whole is refused before anything
    installs it. Raises :class:`DownloadError` (the fix stops with nothing changed)."""
    reader = MetadataReader()
    with opened_wheel(wheel, DownloadError) as opened:
        tags = reader.wheel_tags(opened)
        if tags is None:
            raise DownloadError(_refusal(reader, Path(opened.path)))
        if tags:
            return tags
        info = opened.parsed
        return info.tags if info else ()


def _refusal(reader: MetadataReader, wheel: Path) -> str:
    """One line saying why a wheel's metadata was not read whole."""
    return reader.notes[0] if reader.notes else f"{shown(wheel.name)}: unreadable metadata"
