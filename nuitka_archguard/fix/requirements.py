"""Requirements stay satisfied: a fix that changes a distribution's version must not break
what the environment's other distributions require (``Requires-Dist``, markers evaluated for
the *target*), nor leave the new version's own requirements unmet.

``--allow-version-change`` once installed cryptography 48.0.1 beside pyOpenSSL 26.4.0 (which
requires ``cryptography>=49``) and said ``ok``. Here every installed distribution's
requirements are checked against the environment as the plan leaves it; a version change
that breaks one is not done, and the plan names who requires what.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from packaging.markers import UndefinedComparison
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..check.discovery import PathError, open_wheel
from ..check.metadata import MetadataReader
from ..target import Target, marker_environments
from ..wheel import WheelFile
from .environment import dist_info_folders
from .wheels import DownloadError, PipOptions, PythonSpec

__all__ = [
    "Installed",
    "Unmet",
    "environment_constraints",
    "installed_distributions",
    "resolve_together",
    "target_markers",
    "unmet",
]


@dataclass(frozen=True)
class Installed:
    """One distribution as the requirement check sees it."""

    name: str
    version: str
    requires: tuple[str, ...]
    location: Optional[str] = None
    """Its ``.dist-info`` folder (installed ones)."""


@dataclass(frozen=True)
class Unmet:
    """``who`` (at ``who_version``) requires ``requirement``, which ``name`` at ``version``
    (``None``: not installed) does not satisfy."""

    who: str
    who_version: str
    requirement: str
    name: str
    version: Optional[str]

    def describe(self) -> str:
        has = f"{self.name} {self.version}" if self.version else f"no {self.name}"
        return f"{self.who} {self.who_version} requires {self.requirement}, the plan leaves {has}"


def target_markers(target: Target, python: PythonSpec) -> list[dict[str, str]]:
    """PEP 508 environments for the target, one per architecture, for the fix's Python."""
    environments = marker_environments(target)
    for env in environments:
        env["python_version"] = python.version
        env["python_full_version"] = f"{python.version}.0"
        env["implementation_name"] = "cpython"
        env["platform_python_implementation"] = "CPython"
    return environments


def installed_distributions(sites: Iterable[Path]) -> dict[str, Installed]:
    """Every ``.dist-info`` of the sites: canonical name -> name, version, Requires-Dist."""
    found: dict[str, Installed] = {}
    reader = MetadataReader()
    for dist_info in dist_info_folders(sites):
        headers = reader.headers(str(dist_info / "METADATA"), optional=True)
        dist = _installed(headers, str(dist_info))
        if dist is not None:
            found.setdefault(str(canonicalize_name(dist.name)), dist)
    return found


def _installed(
    headers: dict[str, list[str]], location: Optional[str] = None
) -> Optional[Installed]:
    name = (headers.get("Name") or [""])[0].strip()
    version = (headers.get("Version") or [""])[0].strip()
    if not name or not version:
        return None
    return Installed(name, version, tuple(headers.get("Requires-Dist", ())), location)


def wheel_requirements(wheel: Union[Path, WheelFile]) -> Optional[Installed]:
    """Name, version and Requires-Dist from a wheel's METADATA (read bounded, once per
    opened wheel: :meth:`..check.metadata.MetadataReader.wheel_meta` keeps what it read)."""
    reader = MetadataReader()
    if isinstance(wheel, WheelFile):
        return _from_meta(wheel, reader)
    try:
        opened = open_wheel(str(wheel))
    except PathError:
        return None
    with opened:
        return _from_meta(opened, reader)


def _from_meta(wheel: WheelFile, reader: MetadataReader) -> Optional[Installed]:
    for member in wheel.members():
        parts = member.filename.split("/")
        if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == "METADATA":
            where = f"{wheel.path}/{member.filename}"
            return _installed(reader.member_headers(wheel.archive, member, where))
    return None


def _applies(requirement: Requirement, environments: Sequence[dict[str, str]]) -> bool:
    """Whether a requirement holds on any of the target's architectures (not one under an
    extra: which extras were installed is not recorded)."""
    if requirement.marker is None:
        return True
    for env in environments:
        try:
            if requirement.marker.evaluate({**env, "extra": ""}):
                return True
        except (UndefinedComparison, ValueError, TypeError):
            return True
    return False


def unmet(
    planned: dict[str, Installed],
    environments: Sequence[dict[str, str]],
    changed: Iterable[str],
) -> list[Unmet]:
    """Requirements the planned environment leaves unmet that involve a ``changed``
    distribution (as the requirer or as the required): what the plan itself would break."""
    changed = {str(canonicalize_name(name)) for name in changed}
    found: list[Unmet] = []
    for key, dist in sorted(planned.items()):
        for text in dist.requires:
            try:
                requirement = Requirement(text)
            except InvalidRequirement:
                continue
            needed = str(canonicalize_name(requirement.name))
            if key not in changed and needed not in changed:
                continue
            if not _applies(requirement, environments):
                continue
            have = planned.get(needed)
            if have is not None and _satisfies(requirement, have.version):
                continue
            if have is None and key not in changed:
                continue  # missing before the fix too: not the plan's doing
            found.append(
                Unmet(dist.name, dist.version, _shown(requirement), requirement.name,
                      have.version if have else None)
            )  # fmt: skip
    return found


def requirement_on(dist: Installed, name: str, environments: Sequence[dict[str, str]]) -> list[str]:
    """``dist``'s requirements on ``name`` that apply to the target, as text."""
    found = []
    for text in dist.requires:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        if canonicalize_name(requirement.name) == name and _applies(requirement, environments):
            found.append(_shown(requirement))
    return found


def _satisfies(requirement: Requirement, version: str) -> bool:
    try:
        return requirement.specifier.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return True  # a version pip itself would not compare: not ours to judge


def _shown(requirement: Requirement) -> str:
    text = f"{requirement.name}{requirement.specifier}"
    return text if requirement.marker is None else f"{text}; {requirement.marker}"


def environment_constraints(
    installed: dict[str, Installed],
    environments: Sequence[dict[str, str]],
    changing: Iterable[str],
) -> list[str]:
    """pip constraint lines that keep the environment's requirements while ``changing``
    distributions get older versions: what every other installed distribution requires
    (markers evaluated for the target, extras and URLs left out), and nothing newer than
    installed for any distribution the resolution pulls in."""
    changing = {str(canonicalize_name(name)) for name in changing}
    lines: dict[str, None] = {}
    for key, dist in sorted(installed.items()):
        if key in changing:
            continue
        try:
            Version(dist.version)
        except InvalidVersion:
            continue
        lines[f"{dist.name}<={dist.version}"] = None
        for text in dist.requires:
            try:
                requirement = Requirement(text)
            except InvalidRequirement:
                continue
            if requirement.url or not requirement.specifier:
                continue
            if _applies(requirement, environments):
                lines[f"{requirement.name}{requirement.specifier}"] = None
    return list(lines)


def resolve_together(
    requirements: Sequence[str],
    platforms: Sequence[str],
    python: PythonSpec,
    options: PipOptions,
    constraints: Sequence[str] = (),
) -> tuple[dict[str, tuple[str, str]], str]:
    """pip's resolver for the target: the versions that satisfy ``requirements`` together,
    wheels only, for ``platforms`` and ``python`` (nothing is installed, no code runs).
    Returns ``({canonical name: (name, version)}, "")``, or ``({}, why)`` when pip finds no
    such set. ``constraints``: see :func:`environment_constraints`. Raises
    :class:`~.wheels.DownloadError` when pip cannot reach the index.

    The one resolver: ``resolve``'s (:func:`.resolve.resolve_for_platforms`)."""
    from .resolve import ResolveError, resolve_for_platforms

    try:
        return resolve_for_platforms(requirements, platforms, python, options, constraints)
    except ResolveError as error:
        raise DownloadError(str(error)) from None
