"""Which versions of the requirements exist for the target, before anything is installed.

pip is the resolver (its tag ordering and its resolver are the reference): ``pip install
--dry-run --ignore-installed --report - --only-binary=:all: --platform ...`` resolves for
another platform without installing or running code, once for the build machine and once
per architecture the target needs. pip's finder, at ``-vv``, names every file it looked at
and why it skipped it ("none of the wheel's tags (...) are compatible", "No sources
permitted"): that is how each distribution's newer releases are explained ("50.0.2:
macosx_11_0_arm64 only"). ``macos-universal2`` needs one version per distribution that fits
both architectures (a universal2 wheel, or two thin wheels ``fix`` can fuse): both are
resolved, and the one ahead is capped at the other's version until they agree.

pip also reads ``PIP_*`` variables and its config files for every option: the options
resolve decides (platform, Python, ABI, binary-only, target, constraints, requirements,
verbosity) are set in pip's environment too, so neither can change them.

Shared by ``nuitka-archguard resolve`` and ``fix --allow-version-change``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Optional
from urllib.parse import unquote, urlparse

from packaging.utils import (
    InvalidSdistFilename,
    canonicalize_name,
    parse_sdist_filename,
)
from packaging.version import InvalidVersion, Version

from .. import archs
from ..common import plural
from ..target import Target, TargetError, host_target
from ..text import shown, strict_json
from ..wheel import parse_name
from .wheels import NETWORK_MARKERS, PipOptions, PythonSpec, pip_command, pip_environment

__all__ = [
    "SCHEMA_VERSION",
    "DistributionFit",
    "Resolution",
    "ResolveError",
    "platforms_for",
    "resolve",
    "resolve_for_platforms",
]

SCHEMA_VERSION = 1
PIP_OUTPUT_LIMIT = 64 * 1024 * 1024
"""Bytes of pip's output read at most (its ``-vv`` log names every file it looked at)."""
MAX_ROUNDS = 8
"""Re-resolutions at most while the architectures of a universal2 target disagree."""

RESOLVE_DECIDES = {
    "PIP_ONLY_BINARY": ":all:",
    "PIP_NO_BINARY": ":none:",
    "PIP_REQUIREMENT": os.devnull,
    "PIP_USER": "0",
    "PIP_QUIET": "0",
    "PIP_NO_DEPS": "0",
}
"""``PIP_*`` values resolve decides beyond those :func:`.wheels.pip_environment` already
neutralises (platform, target, Python, ABI): an environment variable wins over every pip
config file, so a user's ``constraint =`` (which even changes pip's error message),
``requirement =`` or ``quiet =`` cannot change the question or hide the finder's log.
``PIP_CONSTRAINT`` and ``PIP_VERBOSE`` are set per run."""


class ResolveError(Exception):
    """pip could not run, or could not reach the index: exit code 2."""


# -- pip -----------------------------------------------------------------------------------------


def platforms_for(target: Target, arch: Optional[str] = None) -> tuple[str, ...]:
    """``--platform`` tags for one architecture of the target (all when ``arch`` is None);
    for macOS a thin-arch tag admits universal2 wheels too (pip's own compatibility)."""
    if arch is None:
        return target.pip_platforms()
    libc = archs.Libc(target.libc) if target.libc else None
    minimum = target.min_os_for(arch) if target.platform == "macos" else target.min_os
    return archs.platform_tags(archs.Platform(target.platform), frozenset({arch}), minimum, libc)


@dataclass
class _PipRun:
    returncode: int
    report: dict[str, Any]
    log: str


def _run_pip(
    requirements: Sequence[str],
    requirement_files: Sequence[str],
    options: PipOptions,
    *,
    platforms: Sequence[str] = (),
    python: Optional[PythonSpec] = None,
    constraints: Optional[str] = None,
    verbose: bool = True,
    no_deps: bool = False,
    user_constraints: bool = False,
) -> _PipRun:
    """One ``pip install --dry-run --report`` (nothing is installed, no code runs).
    ``user_constraints``: keep the user's pip constraints (``fix`` keeps them: they are the
    environment's policy); ``resolve`` sets its own."""
    with tempfile.TemporaryDirectory(prefix="archguard-resolve-") as tmp:
        report_path = os.path.join(tmp, "report.json")
        decided = dict(RESOLVE_DECIDES)
        decided["PIP_VERBOSE"] = "2" if verbose else "0"
        args = [
            "install", "--dry-run", "--ignore-installed", "--report", report_path,
            "--only-binary=:all:",
        ]  # fmt: skip
        if not user_constraints:
            decided["PIP_CONSTRAINT"] = constraints or os.devnull
        if constraints or not user_constraints:  # on the command line: added to the user's
            args += ["-c", constraints or os.devnull]
        if platforms:
            target_dir = os.path.join(tmp, "target")
            decided["PIP_TARGET"] = target_dir
            decided["PIP_PLATFORM"] = " ".join(platforms)
            args += ["--target", target_dir]
            for platform in platforms:
                args += ["--platform", platform]
        if python is not None:
            decided["PIP_PYTHON_VERSION"] = python.version
            decided["PIP_IMPLEMENTATION"] = python.implementation
            decided["PIP_ABI"] = f"{python.abi} abi3 none"
            args += python.pip_args()
        if no_deps:
            args.append("--no-deps")
        if verbose:
            args.append("-vv")
        args += options.args()
        for path in requirement_files:
            args += ["-r", path]
        args += ["--", *requirements] if requirements else []
        try:
            result = subprocess.run(
                pip_command(args),
                env={**dict(pip_environment()), **decided},
                stdin=subprocess.DEVNULL,
                capture_output=True,
                check=False,
            )
        except OSError as error:
            raise ResolveError(f"cannot run pip: {error}") from None
        log = (result.stdout[:PIP_OUTPUT_LIMIT] + b"\n" + result.stderr[:PIP_OUTPUT_LIMIT]).decode(
            "utf-8", "replace"
        )
        report: dict[str, Any] = {}
        if result.returncode == 0:
            try:
                with open(report_path, encoding="utf-8") as handle:
                    loaded = json.loads(handle.read(PIP_OUTPUT_LIMIT))
                report = loaded if isinstance(loaded, dict) else {}
            except (OSError, ValueError):
                report = {}
        return _PipRun(result.returncode, report, log)


# -- what pip's finder saw -----------------------------------------------------------------------


@dataclass(frozen=True)
class Release:
    """One file pip's finder saw for a project: its version, platform tags (none for an
    sdist) and whether it fits the platforms asked for."""

    version: str
    filename: str
    platforms: tuple[str, ...]
    fits: bool

    @property
    def sdist(self) -> bool:
        return not self.platforms


_URL = re.compile(r"(?:https?|file)://\S+")
_FOUND = re.compile(r"^\s*Found link (\S+?),?(?: .*)?, version: (\S+)\s*$")
_SKIPPED = re.compile(r"^\s*Skipping link: (.*)$")


def _filename(url: str) -> str:
    path = unquote(urlparse(url.rstrip(",")).path)
    return path.rsplit("/", 1)[-1].split("#", 1)[0]


def finder_files(log: str) -> dict[str, list[Release]]:
    """Every file pip's finder logged (``-vv``), by canonical project name."""
    files: dict[str, dict[str, Release]] = {}
    for line in log.splitlines():
        if " link" not in line:
            continue
        found = _FOUND.match(line)
        skipped = None if found else _SKIPPED.match(line)
        if not found and not skipped:
            continue
        if found:
            url, fits = found.group(1), True
        else:
            assert skipped is not None
            reason = skipped.group(1)
            if "wrong project name" in reason or "yanked" in reason.lower():
                continue
            urls = [
                u
                for u in _URL.findall(reason)
                if _filename(u).endswith((".whl", ".tar.gz", ".zip"))
            ]
            if not urls:
                continue
            url, fits = urls[-1], False
        release = _release(_filename(url), fits)
        if release is not None:
            name, item = release
            held = files.setdefault(name, {})
            if item.filename not in held or fits:
                held[item.filename] = item
    return {name: list(items.values()) for name, items in files.items()}


def _release(filename: str, fits: bool) -> Optional[tuple[str, Release]]:
    if filename.endswith(".whl"):
        wheel = parse_name(filename)  # the one wheel-name parser (..wheel)
        if wheel is None:
            return None
        platforms = tuple(sorted({tag.rsplit("-", 1)[-1] for tag in wheel.tags}))
        return wheel.name, Release(wheel.version, filename, platforms, fits)
    try:
        name, version = parse_sdist_filename(filename)
    except (InvalidSdistFilename, InvalidVersion, ValueError):
        return None
    return str(name), Release(str(version), filename, (), False)


# -- the answer ----------------------------------------------------------------------------------


@dataclass
class DistributionFit:
    """One distribution: what the build machine would get, what the target gets, and why."""

    name: str
    host_version: Optional[str] = None
    """What the build machine gets (``on_build_machine``), else the newest release with a
    wheel for any platform (the build machine runs another OS than the target)."""
    on_build_machine: bool = True
    target_version: Optional[str] = None
    """In the newest consistent set for the target (every architecture)."""
    target_wheel: Optional[str] = None
    newest_fitting: Optional[str] = None
    """The newest version with a wheel for the target, consistent or not."""
    newest_fitting_wheel: Optional[str] = None
    reasons: list[str] = field(default_factory=list)
    """Why the newer releases do not fit: ``"50.0.2: macosx_11_0_arm64 only"``."""
    per_arch: dict[str, Optional[str]] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return self.target_version is not None and self.host_version != self.target_version

    @property
    def min_os(self) -> Optional[str]:
        return _min_os(self.target_wheel)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "host_version": self.host_version,
            "host_version_from": "build-machine" if self.on_build_machine else "newest-release",
            "target_version": self.target_version,
            "target_wheel": self.target_wheel,
            "target_min_os": self.min_os,
            "newest_fitting_version": self.newest_fitting,
            "newest_fitting_wheel": self.newest_fitting_wheel,
            "per_arch": dict(self.per_arch),
            "not_fitting": list(self.reasons),
            "changed": self.changed,
        }


def _min_os(wheel: Optional[str]) -> Optional[str]:
    name = parse_name(wheel) if wheel else None
    if name is None:
        return None
    versions = []
    for tag in name.tags:
        try:
            parsed = archs.parse_platform_tag(tag.rsplit("-", 1)[-1])
        except archs.UnknownArch:
            continue
        if parsed is not None and parsed.min_os is not None:
            versions.append(parsed.min_os)
    return str(min(versions)) if versions else None


@dataclass
class Resolution:
    """The whole answer; :attr:`exit_code` 0 when the requirements install for the target as
    they are (the same versions as on the build machine), 1 when only with :attr:`pins`
    (or not at all: :attr:`problems`)."""

    target: Target
    python: PythonSpec
    requirements: list[str]
    distributions: list[DistributionFit]
    problems: list[str] = field(default_factory=list)
    pins: dict[str, str] = field(default_factory=dict)
    rounds: int = 1

    @property
    def ok(self) -> bool:
        return not self.problems and not any(d.changed for d in self.distributions)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def constraints_text(self) -> str:
        """Pins that make ``pip install -r REQS -c FILE`` install the consistent set."""
        lines = [
            f"# nuitka-archguard resolve --target {self.target.name} "
            f"--python-version {self.python.version}: the newest set that installs for the target",
        ]
        lines += [f"{name}=={version}" for name, version in sorted(self.pins.items())]
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = strict_json(
            {
                "schema_version": SCHEMA_VERSION,
                "target": self.target.to_json(),
                "python_version": self.python.version,
                "requirements": list(self.requirements),
                "distributions": [d.to_json() for d in self.distributions],
                "constraints": {name: self.pins[name] for name in sorted(self.pins)},
                "problems": list(self.problems),
                "exit_code": self.exit_code,
            }
        )
        return document


def render_resolution(resolution: Resolution) -> str:
    """The text report: one block per distribution, changed ones first."""
    target = resolution.target
    lines = [
        f"Resolved for {target.describe()}, CPython {resolution.python.version} "
        f"({plural(len(resolution.distributions), 'distribution')}):"
    ]
    ordered = sorted(resolution.distributions, key=lambda d: (not d.changed, d.name))
    width = max((len(d.name) for d in ordered), default=0)
    for dist in ordered:
        host = dist.host_version or "-"
        where = "build machine" if dist.on_build_machine else "newest release"
        name = shown(dist.name).ljust(width)
        if dist.target_version is None:
            lines.append(f"  {name}  {where} {host}; no version installs for the target")
        elif not dist.changed:
            lines.append(f"  {name}  {host} (the same for the target)")
        else:
            lines.append(f"  {name}  {where} {host} -> target {dist.target_version}")
        if dist.target_wheel and dist.changed:
            minimum = f", macOS {dist.min_os}" if dist.min_os and target.platform == "macos" else ""
            lines.append(f"      wheel: {shown(dist.target_wheel)}{minimum}")
        if dist.target_version and dist.newest_fitting not in (None, dist.target_version):
            lines.append(
                f"      newest with a wheel for the target: {dist.newest_fitting}, held back "
                "by what the other distributions require"
                + (" or by the other architecture" if target.is_universal2 else "")
            )
        if dist.reasons and (dist.changed or dist.target_version is None):
            named = "; ".join(shown(r) for r in dist.reasons[:MAX_REASONS])
            more = len(dist.reasons) - MAX_REASONS
            named += f"; and {plural(more, 'older release')}" if more > 0 else ""
            lines.append(f"      not for the target: {named}")
    for problem in resolution.problems:
        lines.append(f"error: {shown(problem)}")
    if resolution.ok:
        lines.append("The requirements install for the target as they are.")
    elif not resolution.problems:
        pins = " ".join(f"{n}=={v}" for n, v in sorted(resolution.pins.items()) if _changed(
            resolution, n))  # fmt: skip
        lines.append(
            f"They install for the target only with these versions: {pins} "
            "(--write-constraints FILE writes the whole set)."
        )
    return "\n".join(lines)


def _changed(resolution: Resolution, name: str) -> bool:
    return any(d.name == name and d.changed for d in resolution.distributions)


# -- resolving -----------------------------------------------------------------------------------


_NO_MATCH = re.compile(r"No matching distribution found for (\S+)")


def _names(report: Mapping[str, Any]) -> dict[str, tuple[str, str, Optional[str]]]:
    """``{canonical name: (name, version, wheel filename)}`` from a pip report."""
    chosen: dict[str, tuple[str, str, Optional[str]]] = {}
    for item in report.get("install", []) if isinstance(report.get("install"), list) else []:
        if not isinstance(item, dict):
            continue
        metadata = item.get("metadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        name, version = str(metadata.get("name", "")), str(metadata.get("version", ""))
        info = item.get("download_info")
        url = str(info.get("url", "")) if isinstance(info, dict) else ""
        if name and version:
            chosen[canonicalize_name(name)] = (name, version, _filename(url) if url else None)
    return chosen


def _failure(run: _PipRun, where: str) -> str:
    if any(marker in run.log for marker in NETWORK_MARKERS):
        raise ResolveError(f"pip could not reach the package index ({where})")
    missing = _NO_MATCH.findall(run.log)
    if missing:
        return f"{missing[-1]} has no version with a wheel for {where}"
    if "ResolutionImpossible" in run.log or "conflict" in run.log.lower():
        detail = "; ".join(_conflict_lines(run.log)[:6])
        return f"the requirements have no consistent set of versions for {where}" + (
            f" ({detail})" if detail else ""
        )
    tail = [line.strip() for line in run.log.strip().splitlines() if line.strip()][-3:]
    raise ResolveError(f"pip failed for {where}: {' | '.join(tail)}")


def _conflict_lines(log: str) -> list[str]:
    """What pip names under "The conflict is caused by:" (``The user requested fast<2.0``,
    ``user 1.0 depends on fast>=2``), each once."""
    found: dict[str, None] = {}
    inside = False
    for line in log.splitlines():
        text = line.strip()
        if text.startswith("The conflict is caused by"):
            inside = True
        elif inside and text:
            found[text] = None
        elif inside:
            inside = False
        elif " depends on " in line:
            found[text] = None
    return list(found)


MAX_REASONS = 6
"""Newer releases named at most per distribution (the newest first); the JSON has them all."""


def _reasons(files: Sequence[Release], above: Optional[str], target: Target) -> list[str]:
    """Final releases newer than ``above`` without a wheel for every architecture of the
    target, newest first, each with what it has for the target's OS instead."""
    by_version: dict[Version, list[Release]] = {}
    for item in files:
        version = _version(item.version)
        if version is not None and not version.is_prerelease:
            by_version.setdefault(version, []).append(item)
    low = _version(above)
    reasons = []
    for version in sorted(by_version, reverse=True):
        if low is not None and version <= low:
            continue
        items = by_version[version]
        if _fits(files, items[0].version, target):
            continue
        reasons.append(f"{version}: {_has(items, target)}")
    return reasons


def _has(items: Sequence[Release], target: Target) -> str:
    """What a release offers for the target's OS: its wheel tags there, else none."""
    platforms = sorted({p for i in items for p in i.platforms})
    same_os = [p for p in platforms if _tag_os(p) == target.platform]
    if same_os:
        return f"{', '.join(same_os)} only"
    if any(p == "any" for p in platforms):
        return "no wheel for this Python"
    if platforms:
        name = archs.PLATFORM_NAMES.get(target.platform, target.platform)
        return f"no {name} wheel"
    return "sdist only"


def _tag_os(platform: str) -> Optional[str]:
    try:
        parsed = archs.parse_platform_tag(platform)
    except archs.UnknownArch:
        return None
    return None if parsed is None else parsed.platform.value


def _version(text: Optional[str]) -> Optional[Version]:
    try:
        return Version(text) if text else None
    except InvalidVersion:
        return None


def resolve(
    requirements: Sequence[str],
    target: Target,
    *,
    requirement_files: Sequence[str] = (),
    python: Optional[PythonSpec] = None,
    options: Optional[PipOptions] = None,
) -> Resolution:
    """Resolve ``requirements`` (and ``-r`` files) for the build machine and for every
    architecture of ``target``; see the module's docstring. Raises :class:`ResolveError`
    when pip cannot run or reach the index."""

    python = python or PythonSpec("{}.{}".format(*sys.version_info[:2]))
    options = options or PipOptions()
    arch_list = sorted(target.archs)
    pip_environment()  # once, before the runs share it (it asks pip for its config)
    pins: dict[str, str] = {}
    files: dict[str, list[Release]] = {}
    chosen: dict[str, dict[str, tuple[str, str, Optional[str]]]] = {}
    problems: list[str] = []
    rounds = 0
    host_set: Optional[dict[str, tuple[str, str, Optional[str]]]] = None
    with (
        tempfile.TemporaryDirectory(prefix="archguard-pins-") as tmp,
        ThreadPoolExecutor(max_workers=len(arch_list) + 1) as pool,
    ):
        constraints = os.path.join(tmp, "constraints.txt")
        # The build machine, when it runs the target's OS (another OS's answer means
        # nothing here), resolved at the same time as the target's architectures.
        host = (
            pool.submit(_run_pip, requirements, requirement_files, options, verbose=False)
            if _same_os(target)
            else None
        )
        while True:
            rounds += 1
            with open(constraints, "w", encoding="utf-8") as handle:
                handle.write("".join(f"{n}<={v}\n" for n, v in sorted(pins.items())))
            futures = {
                arch: pool.submit(
                    _run_pip,
                    requirements,
                    requirement_files,
                    options,
                    platforms=platforms_for(target, arch),
                    python=python,
                    constraints=constraints,
                )
                for arch in arch_list
            }
            failed = False
            for arch, future in futures.items():
                run = future.result()
                for name, seen in finder_files(run.log).items():
                    known = files.setdefault(canonicalize_name(name), [])
                    known.extend(s for s in seen if s not in known)
                if run.returncode != 0:
                    where = f"{target.name} ({arch})" if len(arch_list) > 1 else target.name
                    problem = _failure(run, where)
                    if pins:
                        capped = ", ".join(f"{n}<={v}" for n, v in sorted(pins.items()))
                        problem += f" with the versions common to both architectures ({capped})"
                    if not failed:
                        problems.append(problem)
                    failed = True
                    continue
                chosen[arch] = _names(run.report)
            if failed or len(arch_list) == 1 or rounds >= MAX_ROUNDS:
                break
            lower = _disagreements(chosen)
            if not lower:
                break
            pins.update(lower)
        if host is not None:
            host_run = host.result()
            if host_run.returncode == 0:
                host_set = _names(host_run.report)
    return _answer(target, python, requirements, host_set, chosen, files, problems, rounds)


def resolve_for_platforms(
    requirements: Sequence[str],
    platforms: Sequence[str],
    python: PythonSpec,
    options: PipOptions,
    constraints: Sequence[str] = (),
) -> tuple[dict[str, tuple[str, str]], str]:
    """pip's resolver for one set of platforms, as ``fix`` asks it:
    ``({canonical name: (name, version)}, "")``, or ``({}, why)`` when pip finds no set
    that fits. ``constraints`` (requirement lines: what the environment's other
    distributions require) are added to the user's pip constraints, which are kept.
    Raises :class:`ResolveError` when pip cannot run or reach the index."""
    with tempfile.TemporaryDirectory(prefix="archguard-constraints-") as tmp:
        path = None
        if constraints:
            path = os.path.join(tmp, "constraints.txt")
            with open(path, "w", encoding="utf-8") as handle:
                handle.write("".join(f"{line}\n" for line in constraints))
        run = _run_pip(
            requirements, (), options, platforms=platforms, python=python, verbose=False,
            constraints=path, user_constraints=True,
        )  # fmt: skip
    if run.returncode != 0:
        try:
            return {}, _failure(run, ", ".join(platforms) or "the build machine")
        except ResolveError as error:
            if any(marker in run.log for marker in NETWORK_MARKERS):
                raise
            return {}, str(error)
    return {k: (v[0], v[1]) for k, v in _names(run.report).items()}, ""


def _same_os(target: Target) -> bool:
    try:
        return host_target().platform == target.platform
    except TargetError:
        return False


def _disagreements(
    chosen: Mapping[str, Mapping[str, tuple[str, str, Optional[str]]]],
) -> dict[str, str]:
    """Distributions whose version differs between architectures: each capped at the
    lowest one chosen."""
    caps: dict[str, str] = {}
    names = set().union(*(set(c) for c in chosen.values()))
    for name in names:
        versions = {c[name][1] for c in chosen.values() if name in c}
        if len(versions) > 1:
            caps[name] = str(min(Version(v) for v in versions))
    return caps


def _answer(
    target: Target,
    python: PythonSpec,
    requirements: Sequence[str],
    host_set: Optional[Mapping[str, tuple[str, str, Optional[str]]]],
    chosen: Mapping[str, Mapping[str, tuple[str, str, Optional[str]]]],
    files: Mapping[str, list[Release]],
    problems: list[str],
    rounds: int,
) -> Resolution:
    host = host_set or {}
    names = set(host).union(*(set(c) for c in chosen.values()))
    if problems:  # what pip's finder looked at before it gave up: the culprit among them
        names |= set(files)
    fits: list[DistributionFit] = []
    pins: dict[str, str] = {}
    complete = len(chosen) == len(target.archs) and not problems
    for key in sorted(names):
        known = host.get(key) or next((c[key] for c in chosen.values() if key in c), None)
        display = known[0] if known else key
        fit = DistributionFit(name=display, on_build_machine=host_set is not None)
        seen = files.get(key, [])
        if key in host:
            fit.host_version = host[key][1]
        elif host_set is None:  # another OS builds: compare with the newest release
            released = [_version(r.version) for r in seen if r.platforms]
            newest = max((v for v in released if v is not None), default=None)
            fit.host_version = str(newest) if newest is not None else None
        fit.per_arch = {arch: c[key][1] if key in c else None for arch, c in chosen.items()}
        versions = {v for v in fit.per_arch.values() if v}
        if complete and len(versions) == 1:
            fit.target_version = versions.pop()
            wheels = [c[key][2] for c in chosen.values() if key in c and c[key][2]]
            fit.target_wheel = " + ".join(dict.fromkeys(w for w in wheels if w)) or None
            pins[display] = fit.target_version
        fitting = sorted({Version(r.version) for r in seen if _fits(seen, r.version, target)})
        if fitting:
            fit.newest_fitting = str(fitting[-1])
            fit.newest_fitting_wheel = next(
                (r.filename for r in seen if r.fits and Version(r.version) == fitting[-1]), None
            )
        fit.reasons = _reasons(seen, fit.newest_fitting, target)
        fits.append(fit)
    return Resolution(
        target=target,
        python=python,
        requirements=list(requirements),
        distributions=fits,
        problems=problems,
        pins=pins,
        rounds=rounds,
    )


def _fits(files: Sequence[Release], version: str, target: Target) -> bool:
    """Whether a version has a wheel pip's finder accepted for every architecture of the
    target (for universal2: one universal2 wheel, or the two thin ones ``fix`` fuses)."""
    fitting = [i for i in files if i.version == version and i.fits]
    if len(target.archs) == 1 or not fitting:
        return bool(fitting)
    covered: set[str] = set()
    for item in fitting:
        for platform in item.platforms:
            try:
                parsed = archs.parse_platform_tag(platform)
            except archs.UnknownArch:
                continue
            if parsed is not None:
                covered |= set(parsed.archs)
    return target.archs <= covered
