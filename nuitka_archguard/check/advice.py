"""The exact fix for a finding, as commands a user can paste.

Why a module of its own: the right fix depends on *how* the file got there (a published
wheel, a local source build, conda, Homebrew, a bare folder), on where it lives (a
virtualenv or a ``pip --target`` directory) and on the machine doing the build (an arm64
Mac building for Intel needs a Rosetta environment; Nuitka does not cross-compile on Linux
or Windows). The policy decides *what* is wrong; this module only says what to type.

Every command is pasted, so every value in it that comes from outside is either validated
or quoted (:mod:`.text`): distribution names and versions must be valid (PEP 508 names,
PEP 440 versions for pip; plain tokens for conda and Homebrew) or no command is printed at
all; paths are quoted (``shlex.quote``, or PowerShell quoting for Windows commands); prose
shows names escaped (:func:`.text.shown`), so a fix stays one block of printable lines.
"""

from __future__ import annotations

import errno
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Optional, Union

from .. import archs
from ..target import Platform, Target, TargetError, format_version, host_target
from ..text import powershell_quote, shell_quote, shown
from .metadata import checked_name, checked_version
from .ownership import Distribution, OwnerKind
from .policy import Code, Finding

NUITKA_ARGS = "<your Nuitka options>"

_DOCKER_PLATFORMS = {
    "x86_64": "linux/amd64",
    "aarch64": "linux/arm64",
    "armv7l": "linux/arm/v7",
    "i686": "linux/386",
    "ppc64le": "linux/ppc64le",
    "s390x": "linux/s390x",
    "riscv64": "linux/riscv64",
}
_PY_LAUNCHER = {"amd64": "64", "x86": "32", "arm64": "arm64"}
_OS_ERRORS = tuple(
    os.strerror(code)
    for code in (errno.EACCES, errno.EPERM, errno.EIO, errno.ENOENT, errno.ELOOP, errno.ENXIO)
)
"""Errors of the system, not of the file's bytes: an unreadable file is not "corrupt"."""
_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9@+._!-]{0,199}\Z")
"""What a conda or Homebrew name, version, channel or subdir may be to go into a command."""


def fix_for(
    code: Union[Code, str],
    distribution: Optional[Distribution],
    target: Target,
    *,
    path: Optional[str] = None,
    archs: Iterable[str] = (),
    host: Optional[Target] = None,
    min_os: Optional[str] = None,
    python: Optional[str] = None,
    nuitka_args: str = NUITKA_ARGS,
    reason: Optional[str] = None,
    min_os_option: str = "--min-os",
    index: Optional[IndexAnswer] = None,
) -> str:
    """One short paragraph: a sentence, then commands indented by two spaces.

    ``code``: the finding's code (``policy.Code`` or its value). ``archs``: what the file
    has. ``host``: the building machine (default: this interpreter). ``min_os``: for
    ``min-os-too-new``, what the slice needs. ``python``: the interpreter to run pip with
    when it cannot be told from the environment. ``reason``: for ``unreadable-binary``, why
    (an OS error such as "Permission denied" is said as such). ``min_os_option``: how the
    user sets the minimum macOS where the advice is read (``--archguard-min-os`` in Nuitka).
    ``index``: what the package index answered for the distribution (``scan --resolve``),
    said instead of the ``resolve`` command. Never raises.
    """
    if host is None:
        try:
            host = host_target()
        except TargetError:
            host = None
    ctx = _Context(distribution, target, host, path, tuple(archs), python, nuitka_args)
    code = code.value if isinstance(code, Code) else code
    if index is not None and distribution is not None and asks_the_index(code, distribution):
        text = _answered_fix(ctx, distribution, index)
    else:
        text = _fix_text(code, ctx, min_os=min_os, reason=reason, min_os_option=min_os_option)
    # Whatever slipped through: every line printable, so a fix stays one block.
    return "\n".join(shown(line) for line in text.split("\n"))


def _fix_text(
    code: str, ctx: _Context, *, min_os: Optional[str], reason: Optional[str], min_os_option: str
) -> str:
    distribution = ctx.dist
    if distribution is not None and not _commandable(distribution):
        return _unreadable_metadata_fix(ctx, distribution)
    if code == Code.MIN_OS_TOO_NEW:
        return _min_os_fix(ctx, min_os, min_os_option)
    if code == Code.UNREADABLE_BINARY:
        return _unreadable_fix(ctx, reason)
    fix = _arch_fix(ctx)
    if code in _NO_FITTING_WHEEL and distribution is not None and "--platform " in fix:
        fix += _resolve_hint(ctx, distribution)  # the fix asks the index for a foreign wheel
    if code == Code.WHEEL_TAG_MISMATCH and distribution is not None and distribution.wheel_tag:
        return (
            f"the {shown(str(distribution))} wheel is tagged {shown(distribution.wheel_tag)}"
            " but this file "
            f"lacks {_needed(ctx)}: report it to the project; meanwhile {fix}"
        )
    return fix


_NO_FITTING_WHEEL = frozenset(
    {Code.ARCH_MISSING, Code.PLATFORM_MISMATCH, Code.FOREIGN_EXTENSION_ONLY, Code.EXECUTABLE_ARCH}
)


@dataclass(frozen=True)
class IndexAnswer:
    """The package index's answer for one distribution (``fix/resolve.py`` asks it):
    the newest version with a wheel for the target and that wheel, or none (``version``
    None: no release has one)."""

    version: Optional[str]
    wheel: Optional[str] = None


def asks_the_index(code: Union[Code, str], dist: Optional[Distribution]) -> bool:
    """Whether the advice for this finding depends on which releases have a wheel for the
    target (its fix installs the same release's target wheel, which may not exist)."""
    code = code.value if isinstance(code, Code) else code
    return (
        code in _NO_FITTING_WHEEL
        and dist is not None
        and dist.kind == OwnerKind.PIP
        and not dist.built_from_source
        and bool(dist.version)
        and _commandable(dist)
    )


def _answered_fix(ctx: _Context, dist: Distribution, index: IndexAnswer) -> str:
    """The fix once the index has answered: the release that has a target wheel in the
    commands (never one that has none), or how to build it when no release has one."""
    target, name = ctx.target, shown(dist.name)
    if index.version is None:
        command = (
            f"python -m pip install --no-binary {shell_quote(dist.name)} "
            f"{shell_quote(dist.requirement)}"
        )
        return (
            f"no release of {name} on the package index has a {target.name} wheel: build it "
            f"from source for the target (on the target machine or in a {target.name} "
            f"environment), if it has an sdist:\n  {command}"
        )
    wheel = f" ({shown(index.wheel)})" if index.wheel else ""
    if index.version == dist.version:
        head = f"the package index has a {target.name} wheel of {name} {shown(dist.version)}{wheel}"
        return head + ":\n" + _arch_fix(ctx)
    older = replace(dist, version=index.version)
    ctx = _Context(older, target, ctx.host, ctx.path, ctx.archs, ctx.python, ctx.nuitka_args)
    head = (
        f"{name} {shown(dist.version or '')} has no {target.name} wheel on the package index; "
        f"the newest release with one is {shown(index.version)}{wheel}, a version change "
        "(`fix --allow-version-change` makes it and keeps what the environment requires)"
    )
    return head + ":\n" + _arch_fix(ctx)


def _resolve_hint(ctx: _Context, dist: Distribution) -> str:
    """For an installed wheel that does not fit: the release may have no wheel for the
    target at all (cryptography 49.0.0-50.0.2 for an x86_64 Mac). Knowing needs the package
    index, and a scan stays offline: it names the command that asks (``resolve``)."""
    if dist.kind != OwnerKind.PIP or dist.built_from_source or not dist.version:
        return ""
    target = ctx.target
    minimum = f" --min-os {format_version(target.min_os)}" if target.min_os else ""
    command = (
        f"nuitka-archguard resolve {ctx.quote(dist.name)} --target {ctx.quote(target.name)}"
        f"{minimum} --python-version {ctx.py_version}"
    )
    return (
        f"\nif {dist.name} {dist.version} has no {target.name} wheel, this names the newest "
        f"version that has one:\n  {command}"
    )


def _commandable(dist: Distribution) -> bool:
    """Whether the distribution's names may go into a command (see the module docstring)."""
    if dist.kind == OwnerKind.DIRECTORY:
        return True  # its name is only ever shown in prose
    if not dist.metadata_ok:
        return False
    if dist.kind == OwnerKind.PIP:
        version_ok = dist.version is None or checked_version(dist.version) is not None
        return checked_name(dist.name) is not None and version_ok
    values = (dist.name, dist.version, dist.channel, dist.subdir)
    return all(v is None or _TOKEN.match(v.replace("/", "")) for v in values)


def _unreadable_metadata_fix(ctx: _Context, dist: Distribution) -> str:
    return (
        f"the metadata of {shown(dist.name)} is unreadable (its name or version is not valid),"
        " so no command is given: reinstall it from a source you trust and scan again"
    )


class _Context:
    """Everything the fixes need, worked out once."""

    def __init__(
        self,
        dist: Optional[Distribution],
        target: Target,
        host: Optional[Target],
        path: Optional[str],
        archs: tuple[str, ...],
        python: Optional[str],
        nuitka_args: str,
    ) -> None:
        self.dist = dist
        self.target = target
        self.host = host
        self.path = path
        self.archs = archs
        self.nuitka_args = nuitka_args
        self.site: Optional[str] = None  # the directory holding the .dist-info
        self.env_python: Optional[str] = None  # the environment's own interpreter
        if dist is not None and dist.kind == OwnerKind.PIP and dist.location:
            self.site = os.path.dirname(dist.location)
            self.env_python = _env_python(self.site)
        self.python = python or self.env_python or _default_python(target)
        self.py_version = _python_version(dist)

    @property
    def in_target_dir(self) -> bool:
        """Installed with ``pip --target`` (no interpreter of its own)."""
        return self.site is not None and self.env_python is None

    @property
    def host_arch(self) -> Optional[str]:
        if self.host is None or self.host.platform != self.target.platform:
            return None
        return next(iter(self.host.archs)) if len(self.host.archs) == 1 else None

    def file_name(self) -> str:
        """The file's name for prose, escaped."""
        return shown(os.path.basename(self.path)) if self.path else "this file"

    def quote(self, text: str) -> str:
        """One argument of a command for the target's shell."""
        return _quote(text, windows=self.target.platform == Platform.WINDOWS)


def _arch_fix(ctx: _Context) -> str:
    dist, target = ctx.dist, ctx.target
    if dist is None or dist.kind == OwnerKind.DIRECTORY:
        return _generic_fix(ctx)
    if dist.kind == OwnerKind.CONDA:
        return _conda_fix(ctx, dist)
    if dist.kind == OwnerKind.HOMEBREW:
        return _homebrew_fix(ctx, dist)
    return _PIP_FIXES[archs.spec(target.platform).advice](ctx, dist)


def _macos_pip_fix(ctx: _Context, dist: Distribution) -> str:
    target, name = ctx.target, dist.name
    if dist.built_from_source:
        return _archflags_fix(ctx, dist)
    arch = next(iter(target.archs)) if len(target.archs) == 1 else None
    wants_universal2 = target.is_universal2 or (arch == "arm64" and ctx.host_arch == "x86_64")
    if wants_universal2 and not ctx.in_target_dir:
        wheel = f"wheelhouse/{_wheel_stem(dist)}-*universal2.whl"
        return "\n".join(
            [
                f"install a universal2 wheel of {name}, where the project publishes one:",
                f"  {_universal2_download(ctx, dist)}",
                f"  {ctx.python} -m pip install --force-reinstall --no-deps {wheel}",
                "if there is none, build it for both architectures:",
                "  " + _archflags_command(ctx, dist, frozenset({"arm64", "x86_64"})),
            ]
        )
    if arch == "x86_64" and ctx.host_arch != "x86_64":
        # an arm64 Mac (or a scan from elsewhere, for a build on one): Rosetta 2 environment
        rosetta = _rosetta_lines(ctx, dist)
        if ctx.in_target_dir:
            return "\n".join([_pip_target_dir_fix(ctx, dist), "or " + rosetta[0], *rosetta[1:]])
        return "\n".join(
            [
                *rosetta,
                f"or use the {target.name} wheel of {name}; see that it exists with:",
                f"  {_download(ctx, dist, _own_tag(ctx, dist))}",
                f"or a universal2 wheel, where {name} publishes one:",
                f"  {_universal2_download(ctx, dist)}",
            ]
        )
    if ctx.host_arch is not None and ctx.host_arch == arch and not ctx.in_target_dir:
        return (
            f"reinstall {name} for this Mac's architecture:\n"
            f"  {ctx.python} -m pip install --force-reinstall --no-deps {dist.requirement}"
        )
    return _pip_target_dir_fix(ctx, dist, site=ctx.site or "DIR")


def _rosetta_lines(ctx: _Context, dist: Distribution) -> list[str]:
    py = f"python{ctx.py_version}"
    venv = "~/venv-x86_64"
    on = " on an arm64 Mac" if ctx.host_arch is None else ""
    return [
        f"build in a dedicated x86_64 environment{on} ({py} must be a universal2 or x86_64 "
        "build, e.g. from python.org):",
        f"  arch -x86_64 {py} -m venv {venv}",
        f"  arch -x86_64 {venv}/bin/python -m pip install {dist.requirement}",
        f"  arch -x86_64 {venv}/bin/python -m nuitka {ctx.nuitka_args}",
    ]


def _universal2_download(ctx: _Context, dist: Distribution) -> str:
    return _download(ctx, dist, _universal2_tag(ctx.target))


def _download(ctx: _Context, dist: Distribution, tag: str, requirement: str = "") -> str:
    """``pip download`` of one wheel for a foreign platform. ``--python-version`` always:
    without it pip asks for the running interpreter's version, which may have no wheel."""
    return (
        f"{ctx.python} -m pip download --no-deps --only-binary=:all: --platform {tag} "
        f"--python-version {ctx.py_version} -d wheelhouse {requirement or dist.requirement}"
    )


def _own_tag(ctx: _Context, dist: Distribution) -> str:
    """The target's own wheel platform tag (``macosx_11_0_x86_64``). Without a minimum macOS
    it takes the installed wheel's macOS version: ``--platform`` admits every older one, so
    an arm64 wheel's 11.0 finds the project's 10.9 x86_64 wheel, and never one for a newer
    macOS than the user already has."""
    target = ctx.target
    version = target.min_os
    if version is None:
        for tag in dist.wheel_tags:
            parsed = _platform_tag(tag)
            if parsed is not None and parsed.platform is Platform.MACOS and parsed.min_os:
                version = max(version or parsed.min_os, parsed.min_os)
    tags = archs.platform_tags(Platform.MACOS, target.archs, version)
    return _first(tags) or _first(target.pip_platforms()) or "macosx_10_9_x86_64"


def _platform_tag(tag: str) -> Optional[archs.PlatformTag]:
    try:
        return archs.parse_platform_tag(tag.rsplit("-", 1)[-1])
    except archs.UnknownArch:
        return None


def _linux_pip_fix(ctx: _Context, dist: Distribution) -> str:
    target = ctx.target
    if ctx.in_target_dir:
        return _pip_target_dir_fix(ctx, dist)
    same = ctx.host is not None and ctx.host.platform == target.platform
    same = same and ctx.host is not None and ctx.host.archs == target.archs
    same = same and ctx.host is not None and ctx.host.libc == target.libc
    no_cache = " --no-cache-dir" if dist.built_from_source else ""
    if same:
        return (
            f"reinstall {dist.name} with the target's interpreter:\n"
            f"  {ctx.python} -m pip install --force-reinstall --no-deps{no_cache} "
            f"{dist.requirement}"
        )
    arch = next(iter(target.archs))
    image = f"python:{ctx.py_version}" + ("-alpine" if target.libc == "musl" else "")
    docker = _DOCKER_PLATFORMS.get(arch, f"linux/{arch}")
    return "\n".join(
        [
            f"Nuitka builds for the Python it runs on: build with a {target.name} Python, "
            f"e.g. in a container, and install {dist.name} there:",
            f'  docker run --rm -it --platform {docker} -v "$PWD":/src -w /src {image} sh',
            f"  python -m pip install --force-reinstall --no-deps{no_cache} {dist.requirement}",
            f"  python -m nuitka {ctx.nuitka_args}",
        ]
    )


def _windows_pip_fix(ctx: _Context, dist: Distribution) -> str:
    target = ctx.target
    if ctx.in_target_dir:
        return _pip_target_dir_fix(ctx, dist)
    arch = next(iter(target.archs))
    launcher = f"py -{ctx.py_version}-{_PY_LAUNCHER.get(arch, arch)}"
    bits = {"x86": "a 32-bit", "amd64": "a 64-bit", "arm64": "an ARM64"}.get(arch, "a")
    no_cache = " --no-cache-dir" if dist.built_from_source else ""
    return "\n".join(
        [
            f"{target.name} needs {bits} Python: install {dist.name} into it and build with it:",
            f"  {launcher} -m pip install --force-reinstall --no-deps{no_cache} {dist.requirement}",
            f"  {launcher} -m nuitka {ctx.nuitka_args}",
        ]
    )


def _cross_pip_fix(ctx: _Context, dist: Distribution) -> str:
    """Android and iOS: Nuitka does not build for them here; the wheel for the target goes
    into the folder the build takes its packages from."""
    return _pip_target_dir_fix(ctx, dist, site=ctx.site or "DIR")


_PIP_FIXES: dict[str, Callable[[_Context, Distribution], str]] = {
    "macos": _macos_pip_fix,
    "linux": _linux_pip_fix,
    "windows": _windows_pip_fix,
    "cross": _cross_pip_fix,
}
"""One fix per ``PlatformSpec.advice``; a platform with another value fails loudly here."""


def _pip_target_dir_fix(
    ctx: _Context, dist: Distribution, *, site: Optional[str] = None, tag: Optional[str] = None
) -> str:
    """``pip --platform`` works for ``--target`` directories, whatever the host."""
    platforms = (tag,) if tag else ctx.target.pip_platforms()
    if not platforms:
        return _generic_fix(ctx)
    directory = site or ctx.site
    where = ctx.quote(directory) if directory else "DIR"
    flags = " ".join(f"--platform {p}" for p in platforms)
    command = (
        f"{ctx.python} -m pip install --upgrade --no-deps --only-binary=:all: {flags} "
        f"--python-version {ctx.py_version} --target {where} {dist.requirement}"
    )
    lines = [f"install the {ctx.target.name} wheel of {dist.name}:", f"  {command}"]
    if ctx.target.is_universal2:
        lines += [
            f"if {dist.name} publishes no universal2 wheel, build it for both architectures:",
            "  " + _archflags_command(ctx, dist, ctx.target.archs),
        ]
    return "\n".join(lines)


def _archflags_fix(ctx: _Context, dist: Distribution) -> str:
    return (
        f"{dist.name} was built from source: rebuild it for {_archs_text(ctx.target.archs)}:\n"
        f"  {_archflags_command(ctx, dist, ctx.target.archs)}"
    )


def _archflags_command(ctx: _Context, dist: Distribution, archs: Iterable[str]) -> str:
    flags = " ".join(f"-arch {a}" for a in sorted(archs))
    env = f'ARCHFLAGS="{flags}"'
    if ctx.target.min_os is not None:
        env += f" MACOSX_DEPLOYMENT_TARGET={format_version(ctx.target.min_os)}"
    where = f" --target {ctx.quote(ctx.site)} --upgrade" if ctx.in_target_dir and ctx.site else ""
    return (
        f"{env} {ctx.python} -m pip install --force-reinstall --no-deps --no-cache-dir "
        f"--no-binary {dist.name}{where} {dist.requirement}"
    )


def _conda_fix(ctx: _Context, dist: Distribution) -> str:
    target = ctx.target
    pin = f"{dist.name}={dist.version}" if dist.version else dist.name
    channel = f" -c {dist.channel}" if dist.channel else ""
    if target.is_universal2 or len(target.archs) != 1:
        return (
            f"conda packages hold one architecture ({dist.name} is from "
            f"{dist.subdir or 'one subdir'}): build once per architecture (CONDA_SUBDIR=osx-64 "
            "and CONDA_SUBDIR=osx-arm64 environments) or use pip's universal2 wheels"
        )
    arch = next(iter(target.archs))
    subdir = archs.spec(target.platform).conda.get(arch, f"{target.platform}-{arch}")
    env_name = f"build-{subdir}"
    create = f"conda create -n {env_name}{channel} python={ctx.py_version} {pin}"
    if target.platform == Platform.WINDOWS:
        create_lines = [f"  set CONDA_SUBDIR={subdir}", f"  {create}"]
    else:
        create_lines = [f"  CONDA_SUBDIR={subdir} {create}"]
    return "\n".join(
        [
            f"{dist} comes from conda subdir {dist.subdir or '(unknown)'}; build in a "
            f"conda environment for {subdir}:",
            *create_lines,
            f"  conda activate {env_name}",
            f"  conda config --env --set subdir {subdir}",
            f"  python -m nuitka {ctx.nuitka_args}",
        ]
    )


def _homebrew_fix(ctx: _Context, dist: Distribution) -> str:
    target, formula = ctx.target, dist.name
    if target.platform != Platform.MACOS:
        return _generic_fix(ctx)
    intel = f"arch -x86_64 /usr/local/bin/brew install {formula}"
    arm = f"/opt/homebrew/bin/brew install {formula}"
    if target.is_universal2:
        name = shell_quote(os.path.basename(ctx.path)) if ctx.path else "FILE"
        return "\n".join(
            [
                "Homebrew bottles hold one architecture: install both and merge them:",
                f"  {arm}",
                f"  {intel}",
                f"  lipo -create /opt/homebrew/opt/{formula}/lib/{name} "
                f"/usr/local/opt/{formula}/lib/{name} -output {name}",
            ]
        )
    if "x86_64" in target.archs:
        return f"install the Intel build of {formula} (Homebrew in /usr/local):\n  {intel}"
    return f"install the Apple silicon build of {formula} (Homebrew in /opt/homebrew):\n  {arm}"


def _generic_fix(ctx: _Context) -> str:
    """No package metadata: say what to replace, and where it probably came from."""
    what = ctx.file_name()
    has = _archs_text(ctx.archs) if ctx.archs else "other architectures"
    origin = ""
    if ctx.dist is not None and ctx.dist.kind == OwnerKind.DIRECTORY:
        origin = (
            f" ({shown(ctx.dist.name)} was copied without metadata: fix it in the "
            f"environment it came from, e.g. `nuitka-archguard scan --target "
            f"{ctx.target.name} <that venv>`, and rebuild)"
        )
    return f"{what} has {has}; replace it with a build for {ctx.target.describe()}{origin}"


def _min_os_fix(ctx: _Context, needed: Optional[str], option: str) -> str:
    target, dist = ctx.target, ctx.dist
    current = format_version(target.min_os) if target.min_os is not None else "the target's"
    raise_it = (
        f"raise the target to macOS {needed}: {option} {needed} "
        f"(and MACOSX_DEPLOYMENT_TARGET={needed} for the build)"
        if needed
        else f"raise {option} (and MACOSX_DEPLOYMENT_TARGET) to what the file needs"
    )
    if dist is None or dist.kind == OwnerKind.DIRECTORY:
        return f"{raise_it}, or replace {ctx.file_name()} with a build for macOS {current}"
    if dist.kind == OwnerKind.PIP:
        if dist.built_from_source:
            return (
                f"{raise_it}, or rebuild {dist.name} for macOS {current}:\n"
                f"  MACOSX_DEPLOYMENT_TARGET={current} {ctx.python} -m pip install "
                f"--force-reinstall --no-deps --no-cache-dir --no-binary {dist.name} "
                f"{dist.requirement}"
            )
        tag = _first(target.pip_platforms()) or f"macosx_10_9_{next(iter(target.archs))}"
        return (
            f"{raise_it}, or pin a {dist.name} release built for macOS {current}; find it "
            f"with:\n  {_download(ctx, dist, tag, dist.name)}"
        )
    if dist.kind == OwnerKind.HOMEBREW:
        return (
            f"{raise_it}; Homebrew bottles target the macOS they were built for, so "
            f"otherwise build {dist.name} on macOS {current} "
            f"(MACOSX_DEPLOYMENT_TARGET={current} brew install --build-from-source "
            f"{dist.name})"
        )
    return f"{raise_it}, or install a {dist.name} build for macOS {current}"


def _unreadable_fix(ctx: _Context, reason: Optional[str]) -> str:
    dist = ctx.dist
    allow = f"--allow {ctx.quote(ctx.path)}" if ctx.path else "--allow PATH"
    os_error = next((e for e in _OS_ERRORS if reason and reason.endswith(e)), None)
    if os_error is not None:
        return (
            f"{ctx.file_name()} cannot be read ({os_error}): check its permissions and the"
            f" disk, or skip it with {allow}"
        )
    if dist is not None and dist.kind == OwnerKind.PIP:
        return (
            f"reinstall {dist.name} (the file looks truncated or corrupt):\n"
            f"  {ctx.python} -m pip install --force-reinstall --no-deps {dist.requirement}\n"
            f"if it is not a binary after all, skip it with {allow}"
        )
    return f"check {ctx.file_name()}: it looks truncated or corrupt; skip it with {allow}"


# -- small helpers ----------------------------------------------------------------------------


def _needed(ctx: _Context) -> str:
    missing = sorted(set(ctx.target.archs) - set(ctx.archs)) or sorted(ctx.target.archs)
    return _archs_text(missing)


def _archs_text(archs: Iterable[str]) -> str:
    return " + ".join(sorted(archs))


def _first(items: tuple[str, ...]) -> Optional[str]:
    return items[0] if items else None


def _universal2_tag(target: Target) -> str:
    return archs.platform_tags(Platform.MACOS, archs.UNIVERSAL2, target.min_os)[0]


def _wheel_stem(dist: Distribution) -> str:
    name = re.sub(r"[-_.]+", "_", dist.name).lower()
    return f"{name}-{dist.version}" if dist.version else name


def python_version_for(dist: Optional[Distribution]) -> str:
    """The Python version the advice's commands name for ``dist`` (what the index is asked
    for, too)."""
    return _python_version(dist)


def _python_version(dist: Optional[Distribution]) -> str:
    """``3.11`` from a ``cp311-cp311-…`` tag (abi3 tags only give a minimum), else ours."""
    for tag in dist.wheel_tags if dist is not None else ():
        version = archs.python_version_of(tag)
        if version is not None:
            return version
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def _env_python(site: str) -> Optional[str]:
    """The interpreter of the environment a site directory belongs to, if it has one."""
    if os.path.basename(site) not in {"site-packages", "dist-packages"}:
        return None
    parts = site.split(os.sep)
    up = 3 if len(parts) >= 2 and parts[-2].lower().startswith("python") else 2
    prefix = os.sep.join(parts[:-up]) or os.sep
    for candidate in (
        os.path.join(prefix, "bin", "python"),
        os.path.join(prefix, "bin", "python3"),
        os.path.join(prefix, "Scripts", "python.exe"),
        os.path.join(prefix, "python.exe"),
    ):
        if os.path.isfile(candidate):
            return _quote(candidate, windows=os.name == "nt")
    return "python"


def _default_python(target: Target) -> str:
    return "python" if target.platform == Platform.WINDOWS else "python3"


def _quote(text: str, *, windows: bool) -> str:
    """``text`` as one shell word: PowerShell quoting for Windows, ``shlex.quote`` else."""
    if windows:
        safe = re.fullmatch(r"[A-Za-z0-9_:./\\-]+", text, re.ASCII)
        return text if safe else powershell_quote(text)
    return shell_quote(text)  # shlex leaves plain words as they are


# -- the one command for all offenders: printed by ``scan`` and by the Nuitka plugin ------------


def fix_command(target: Target, paths: Sequence[str]) -> str:
    """The one command that fixes every offender of a scan, ready to paste."""
    from .fixable import fix_program

    words = ["fix", "--target", target.name]
    if target.min_os is not None:
        words += ["--min-os", format_version(target.min_os)]
    words += paths
    return " ".join([fix_program(), *(shell_quote(w) for w in words)])


def fix_command_for(target: Target, findings: Sequence[Finding]) -> str:
    """:func:`fix_command` for the environments the offending distributions live in (a
    folder on ``PYTHONPATH``, or the running interpreter's prefix); empty when no finding
    belongs to a distribution ``fix`` can reinstall."""
    from .fixable import reinstall_refusal

    roots: dict[str, None] = {}
    prefix = os.path.abspath(sys.prefix)
    for finding in findings:
        dist = finding.distribution
        if dist is None or reinstall_refusal(dist) or not dist.location:
            continue
        site = os.path.dirname(os.path.abspath(dist.location))
        inside = site.startswith(prefix.rstrip(os.sep) + os.sep)
        roots[prefix if inside else site] = None
    return fix_command(target, list(roots)) if roots else ""
