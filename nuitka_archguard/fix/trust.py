"""Never trust a replacement wheel: before anything stages it, a downloaded wheel must be
the release the plan asked for (its file name *and* its ``METADATA``), carry tags that fit
the platforms pip was asked for, and hold binaries that fit the target.

pip is asked with the right options, but what comes back is read like any other input: a
wheel whose ``METADATA`` names another project, a file name that promises x86_64 over arm64
binaries, or a user's pip config that adds a platform would otherwise be installed in place
of the distribution and the fix would call it fixed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence

from packaging import tags as ptags
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..check.discovery import PathError, open_wheel
from ..check.metadata import MetadataReader
from ..check.policy import Finding, Severity, display_path
from ..check.scan import ScanError, scan
from ..target import Target
from ..text import shown
from ..wheel import WheelFile, parse_name
from .wheels import AnyWheel, PythonSpec

__all__ = ["accepted_tags", "binaries_refusals", "wheel_refusal"]

_MACOS = re.compile(r"macosx_([0-9]+)_([0-9]+)_(.+)\Z")
_MANYLINUX = re.compile(r"manylinux_([0-9]+)_([0-9]+)_(.+)\Z")
_LEGACY = {"manylinux2014": (2, 17), "manylinux2010": (2, 12), "manylinux1": (2, 5)}


def _expanded(platform: str) -> list[str]:
    """Every platform tag pip accepts when asked for ``platform`` (``macosx_10_12_x86_64``
    admits every older macOS and the fat formats holding x86_64)."""
    match = _MACOS.match(platform)
    if match:
        version = (int(match.group(1)), int(match.group(2)))
        return list(ptags.mac_platforms(version, match.group(3)))
    glibc = None
    match = _MANYLINUX.match(platform)
    if match:
        glibc, arch = (int(match.group(1)), int(match.group(2))), match.group(3)
    for legacy, version in _LEGACY.items():
        if platform.startswith(legacy + "_"):
            glibc, arch = version, platform[len(legacy) + 1 :]
    if glibc is None:
        return [platform]
    found = [f"manylinux_2_{minor}_{arch}" for minor in range(glibc[1], 4, -1)]
    found += [f"{name}_{arch}" for name, v in _LEGACY.items() if v <= glibc]
    return [platform, *found, f"linux_{arch}"]


def accepted_tags(platforms: Iterable[str], python: PythonSpec) -> frozenset[ptags.Tag]:
    """The wheel tags pip accepts for ``--platform P... --python-version X.Y --abi ...``."""
    return _accepted_tags(tuple(platforms), python)


@functools.lru_cache(maxsize=16)
def _accepted_tags(platforms: tuple[str, ...], python: PythonSpec) -> frozenset[ptags.Tag]:
    expanded = list(dict.fromkeys(p for platform in platforms for p in _expanded(platform)))
    version = tuple(int(part) for part in python.version.split("."))
    found = set(ptags.cpython_tags(version, [python.abi, "abi3", "none"], expanded))
    found.update(ptags.compatible_tags(version, python.abi, expanded))
    return frozenset(found)


def _tags(texts: Iterable[str]) -> set[ptags.Tag]:
    found: set[ptags.Tag] = set()
    for text in texts:
        try:
            found.update(ptags.parse_tag(text))
        except ValueError:
            continue
    return found


def wheel_refusal(
    wheel: AnyWheel,
    name: str,
    version: str,
    platforms: Sequence[str],
    python: PythonSpec,
    fits: Target,
    allow: Sequence[str] = (),
    *,
    check_binaries: bool = True,
) -> str:
    """Why ``wheel`` must not replace ``name`` ``version`` (``""`` when it may): it must be
    that release by file name and METADATA, its file name's and its ``WHEEL`` tags must fit
    ``platforms`` for ``python``, and its binaries must fit ``fits`` (for a fuse, the
    architectures the installed copy lacks). A wheel its caller holds open is read (and
    its binaries scanned) from that one open; a path is opened once here."""
    if not isinstance(wheel, WheelFile):
        if parse_name(wheel.name) is None:
            return f"{shown(wheel.name)} is not a wheel file name"
        try:
            opened = open_wheel(str(wheel))
        except PathError as error:
            return str(error)
        with opened:
            return wheel_refusal(opened, name, version, platforms, python, fits, allow,
                                 check_binaries=check_binaries)  # fmt: skip
    label = shown(wheel.filename)
    parsed = wheel.parsed
    if parsed is None:
        return f"{label} is not a wheel file name"
    reader = MetadataReader()
    meta = reader.wheel_meta(wheel)
    if not meta.metadata_ok or reader.notes:
        return reader.notes[0] if reader.notes else f"{label}: unreadable metadata"
    wanted = canonicalize_name(name)
    for where, (got_name, got_version) in (
        ("its file name", (parsed.name, parsed.version)),
        ("its METADATA", (meta.name, meta.version)),
    ):
        if canonicalize_name(got_name) != wanted or not _same_version(got_version, version):
            return (
                f"{label} is {shown(got_name)} {shown(got_version)} by {where}, "
                f"not {shown(name)} {shown(version)}"
            )
    accepted = accepted_tags(platforms, python)
    asked = ", ".join(platforms)
    for where, texts in (("its file name", parsed.tags), ("its WHEEL file", meta.tags)):
        if not _tags(texts) & accepted:
            listed = ", ".join(shown(t) for t in texts) or "none"
            return (
                f"{label}: the tags of {where} ({listed}) fit none of {asked} "
                f"for Python {python.version}"
            )
    if not check_binaries:
        return ""
    return binaries_refusals([wheel], fits, allow).get(wheel, "")


def binaries_refusals(
    wheels: Sequence[AnyWheel], fits: Target, allow: Sequence[str] = ()
) -> dict[AnyWheel, str]:
    """Why each wheel's binaries do not fit ``fits`` (wheels that fit are left out, the
    others keyed as given): one scan for all of them (a plan of 50 distributions pays the
    scan's set-up once); opened wheels are read from their open file."""
    if not wheels:
        return {}
    try:
        report = scan(list(wheels), fits, allow=allow)
    except ScanError as error:
        return dict.fromkeys(wheels, f"cannot be scanned: {error}")
    paths = [(w, w.path if isinstance(w, WheelFile) else str(w)) for w in wheels]
    errors: dict[AnyWheel, list[Finding]] = {}
    for finding in report.findings:
        if finding.severity is not Severity.ERROR or finding.allowed:
            continue
        owner = next((w for w, p in paths if finding.path.startswith(p + "/")), None)
        if owner is None:
            owner = next((w for w, p in paths if finding.path == p), wheels[0])
        errors.setdefault(owner, []).append(finding)
    refusals: dict[AnyWheel, str] = {}
    for wheel, found in errors.items():
        first = found[0]
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        name = wheel.filename if isinstance(wheel, WheelFile) else wheel.name
        refusals[wheel] = (
            f"{shown(name)}: its binaries do not fit {fits.describe()}: "
            f"{display_path(first.path)}: {first.message}{more}"
        )
    return refusals


def _same_version(got: str, wanted: str) -> bool:
    try:
        return Version(got) == Version(wanted)
    except InvalidVersion:
        return False
