"""Findings -> one action per offending distribution.

Same version first, always: the target's wheel of the installed version (replace it, or fuse
it with the installed one into universal2); else a pure-Python wheel of that version; else the
newest earlier version with a target wheel (only with ``--allow-version-change``); else advice
to build from source, never attempted. pip answers every "which wheel" question: the planner
only chooses the platform tags it asks for (the minimum macOS, the installed flavour).
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

from packaging.version import Version

from ..archs import MACOS_ARM64_FIRST, parse_platform_tag, wheel_archs
from ..check import fixable
from ..check.ownership import Distribution, OwnerKind
from ..check.policy import Finding, Severity, display_path
from ..check.scan import ScanReport
from ..common import plural
from ..target import Target, format_version
from ..text import shell_quote
from ..wheel import WheelFile, parse_name, short_name
from .environment import Environment
from .requirements import Installed, Unmet
from .wheels import (
    DownloadError,
    PipOptions,
    PythonSpec,
    download,
    open_wheel_file,
    read_wheel_tags,
)

__all__ = ["Action", "ActionKind", "Plan", "make_plan", "request_platforms"]

_MACOS_DEFAULT = {"x86_64": Version("10.9"), "arm64": MACOS_ARM64_FIRST}
_MACOS_TAG = re.compile(r"^macosx_([0-9]{1,4})_([0-9]{1,4})_(.+)\Z")


class ActionKind(str, enum.Enum):
    REPLACE = "replace"
    """Uninstall the distribution, install the target's wheel of the same version."""
    FUSE = "fuse"
    """Merge the installed copy with the target's wheel into one universal2 copy."""
    PURE_PYTHON = "pure-python"
    """Replace by the same version's pure-Python wheel: slower, works everywhere."""
    OLDER_VERSION = "older-version"
    """Replace by the newest earlier version with a target wheel (--allow-version-change)."""
    BUILD_FROM_SOURCE = "build-from-source"
    """No wheel fits: advice only, never attempted."""
    UNOWNED = "unowned"
    """Files no distribution claims: nothing to reinstall."""
    UNSUPPORTED = "unsupported"
    """Installed by conda, Homebrew, or without a RECORD: fix it with its own tool."""

    @property
    def changes(self) -> bool:
        return self in (
            ActionKind.REPLACE, ActionKind.FUSE, ActionKind.PURE_PYTHON, ActionKind.OLDER_VERSION
        )  # fmt: skip


@dataclass
class Action:
    """What happens to one distribution (or to the files nobody owns)."""

    kind: ActionKind
    distribution: Optional[Distribution]
    findings: list[Finding]
    wheel: Optional[Path] = None
    """The downloaded wheel (in the staging folder)."""
    wheel_tags: tuple[str, ...] = ()
    new_version: Optional[str] = None
    applies: bool = True
    """False: listed, not done (needs a flag, or cannot be done)."""
    reason: str = ""
    manual: str = ""
    notes: list[str] = field(default_factory=list)
    platforms: tuple[str, ...] = ()
    """The ``pip --platform`` tags its wheel was asked for."""
    refusal: str = ""
    """Why the downloaded wheel was not taken (another release, tags or binaries that do
    not fit): the distribution is left as it was."""
    opened: Optional[WheelFile] = field(default=None, repr=False, compare=False)
    """``wheel``, opened once when it was taken (:meth:`take_wheel`): its tags, the trust
    check, the scan of its binaries, staging and unpacking all read this one open file.
    Closed by :meth:`close` (:meth:`Plan.close`)."""

    @property
    def source(self) -> Union[Path, WheelFile]:
        """The wheel to read: the opened one, else its path (an action made by hand)."""
        if self.opened is not None:
            return self.opened
        assert self.wheel is not None
        return self.wheel

    def take_wheel(self, wheel: Path) -> None:
        """Take ``wheel`` (pip's download), opened once, its tags read; raises
        :class:`~.wheels.DownloadError` for a wheel that cannot be read whole."""
        self.close()
        self.wheel, self.opened = wheel, open_wheel_file(wheel, DownloadError)
        self.wheel_tags = read_wheel_tags(self.opened)

    def close(self) -> None:
        if self.opened is not None:
            self.opened.close()
            self.opened = None

    @property
    def name(self) -> str:
        return self.distribution.name if self.distribution else "(no distribution)"

    @property
    def needed_by(self) -> tuple[str, ...]:
        names: dict[str, None] = {}
        for finding in self.findings:
            names.update(dict.fromkeys(finding.needed_by))
        return tuple(names)

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.path for f in self.findings))

    def describe(self) -> str:
        """One line: what will be done (or why not)."""
        dist = self.distribution
        wheel = self.wheel.name if self.wheel else ""
        if self.refusal:
            return f"not done, left as it was: {self.refusal}"
        if not self.applies and self.kind in (ActionKind.FUSE, ActionKind.REPLACE):
            return f"not done: {self.reason}"
        if self.kind is ActionKind.REPLACE:
            return f"replace by {wheel}"
        if self.kind is ActionKind.FUSE:
            return f"fuse with {wheel} into universal2"
        if self.kind is ActionKind.PURE_PYTHON:
            return f"replace by the pure-Python wheel {wheel} (slower, works on every platform)"
        if self.kind is ActionKind.OLDER_VERSION:
            assert dist is not None
            head = (
                f"change version {dist.version} -> {self.new_version} ({wheel})"
                if self.applies
                else f"not done: needs --allow-version-change to go from {dist.version} to "
                f"{self.new_version} ({wheel})"
            )
            who = ", ".join(self.needed_by)
            return head + (f"; needed by {who}" if who else "")
        return f"cannot fix: {self.reason}"

    def to_json(self) -> dict[str, Any]:
        dist = self.distribution
        return {
            "action": self.kind.value,
            "distribution": None if dist is None else dist.to_json(),
            "applies": self.applies,
            "wheel": None if self.wheel is None else display_path(self.wheel.name),
            "wheel_tags": list(self.wheel_tags),
            "new_version": self.new_version,
            "needed_by": list(self.needed_by),
            "paths": [display_path(p) for p in self.paths],
            "codes": sorted({f.code.value for f in self.findings}),
            "description": self.describe(),
            "manual": self.manual,
            "notes": list(self.notes),
            "refusal": self.refusal or None,
        }


@dataclass
class Plan:
    environment: Environment
    target: Target
    python: PythonSpec
    actions: list[Action] = field(default_factory=list)

    def close(self) -> None:
        """Close every action's opened wheel (once the plan is staged, or given up)."""
        for action in self.actions:
            action.close()

    @property
    def to_apply(self) -> list[Action]:
        return [a for a in self.actions if a.applies and a.kind.changes]

    @property
    def unfixable(self) -> list[Action]:
        return [a for a in self.actions if not (a.applies and a.kind.changes)]

    def to_json(self) -> dict[str, Any]:
        return {
            "environment": display_path(str(self.environment.root)),
            "target": self.target.name,
            "python": {"version": self.python.version, "abi": self.python.abi},
            "actions": [a.to_json() for a in self.actions],
        }


# -- whose environment is it? ----------------------------------------------------------------


PLAN_WIDTH = 100
"""Columns a plan line keeps within where the names allow (issue 17 §8): a terminal's."""


def plan_lines(head: str, short_head: str, what: str) -> list[str]:
    """``  head: what`` on one line when it fits :data:`PLAN_WIDTH` as printed (escaped);
    else ``short_head`` (its tags cut to the first and "and N more"), with the action when
    both fit, else the action on the next line, its wheel names cut by :func:`short_name`
    when even a line of its own is too short. JSON keeps the full text."""
    if _columns(f"  {head}: {what}") <= PLAN_WIDTH:
        return [f"  {head}: {what}"]
    if _columns(f"    {what}") > PLAN_WIDTH:
        what = re.sub(r"[^\s()]+\.whl\b", lambda match: short_name(match.group()), what)
    if _columns(f"  {short_head}: {what}") <= PLAN_WIDTH:
        return [f"  {short_head}: {what}"]
    return [f"  {short_head}:", f"    {what}"]


def _columns(line: str) -> int:
    from ..text import shown

    return len(shown(line))  # the faces escape each line as they print it


def host_refusal(environment: Environment, target: Target) -> str:
    """Why ``fix`` must not install ``target``'s wheels into ``environment`` (``""``: it
    may): :func:`..fixable.host_refusal` on its root."""
    return fixable.host_refusal(environment.root, target)


# -- which platform tags to ask pip for -----------------------------------------------------


def _macos_tag_version(tags: Sequence[str], arch: str) -> Optional[Version]:
    """The macOS version an installed wheel's tag for ``arch`` (or universal2) names."""
    for tag in tags:
        match = _MACOS_TAG.match(tag.rsplit("-", 1)[-1])
        if match and match.group(3) in (arch, "universal2", "intel"):
            return Version(f"{match.group(1)}.{match.group(2)}")
    return None


def installed_archs(dist: Distribution) -> set[str]:
    archs: set[str] = set()
    for tag in dist.wheel_tags:
        parsed = wheel_archs(tag)
        if parsed is not None:
            archs.update(parsed[1])
    return archs


def request_platforms(target: Target, dist: Distribution, fuse: bool) -> tuple[str, ...]:
    """The ``pip --platform`` tags that fetch the wheel this distribution needs.

    macOS: one tag per arch still missing, versioned by ``--min-os`` (pip then picks the
    newest wheel not newer than it: OpenBLAS ``10_9`` rather than Accelerate ``14_0`` for
    numpy). When fusing without ``--min-os``, the installed wheel's own version, so both
    halves are the same flavour. Elsewhere: the target's own tags.
    """
    if target.platform != "macos":
        return target.pip_platforms()
    missing = sorted(target.archs - installed_archs(dist)) if fuse else sorted(target.archs)
    if not fuse and len(target.archs) > 1:
        return target.pip_platforms()
    tags: list[str] = []
    for arch in missing or sorted(target.archs):
        default = _MACOS_DEFAULT.get(arch, Version("10.9"))
        wanted = target.min_os_for(arch)
        if wanted is None and fuse:
            other = next(iter(installed_archs(dist) - {arch}), arch)
            wanted = _macos_tag_version(dist.wheel_tags, other)
        version = max(wanted, default) if wanted is not None else default
        major, minor = (*version.release, 0)[:2]
        tags.append(f"macosx_{major}_{minor}_{arch}")
    return tuple(tags)


# -- planning ---------------------------------------------------------------------------------


def offending(report: ScanReport) -> list[tuple[Optional[Distribution], list[Finding]]]:
    """Distributions with error findings (allowed ones and warnings left out)."""
    groups = []
    for dist, findings in report.by_distribution():
        errors = [f for f in findings if f.severity is Severity.ERROR and not f.allowed]
        if errors:
            groups.append((dist, errors))
    return groups


def make_plan(
    report: ScanReport,
    environment: Environment,
    target: Target,
    python: PythonSpec,
    options: PipOptions,
    staging: Path,
    *,
    fuse: bool,
    allow_version_change: bool = False,
    allow: Sequence[str] = (),
    progress: Optional[Callable[[str], None]] = None,
) -> Plan:
    """One action per offending distribution; wheels land in ``staging``. Raises
    :class:`~.wheels.DownloadError` when pip cannot answer (network, bad index). The
    actions hold their wheels open: :meth:`Plan.close` closes them."""
    plan = Plan(environment, target, python)
    try:
        _plan_actions(plan, report, options, staging, fuse, allow_version_change, allow, progress)
    except BaseException:
        plan.close()
        raise
    return plan


def _plan_actions(
    plan: Plan,
    report: ScanReport,
    options: PipOptions,
    staging: Path,
    fuse: bool,
    allow_version_change: bool,
    allow: Sequence[str],
    progress: Optional[Callable[[str], None]],
) -> None:
    environment, target, python = plan.environment, plan.target, plan.python
    wanted: dict[tuple[str, ...], list[Action]] = {}
    for dist, findings in offending(report):
        action = Action(ActionKind.REPLACE, dist, findings)
        plan.actions.append(action)
        refusal = fixable.reinstall_refusal(dist)
        if refusal:
            action.kind = ActionKind.UNOWNED if dist is None else ActionKind.UNSUPPORTED
            action.reason = refusal
            action.manual = (
                "replace or remove them by hand, or --allow them"
                if dist is None
                else next((f.fix for f in findings if f.fix), "")
            )
            continue
        assert dist is not None
        action.kind = ActionKind.FUSE if fuse else ActionKind.REPLACE
        wanted.setdefault(request_platforms(target, dist, fuse), []).append(action)

    from .requirements import installed_distributions, target_markers

    known: list[dict[str, Installed]] = []

    def installed() -> dict[str, Installed]:
        """Read once, and only when an earlier version is needed."""
        if not known:
            known.append(installed_distributions(environment.sites))
        return known[0]

    markers = target_markers(target, python)
    for index, (platforms, actions) in enumerate(sorted(wanted.items())):
        companions = resolve_actions(
            actions, platforms, python, options, staging / f"p{index}",
            allow_version_change=allow_version_change, target=target, allow=allow,
            progress=progress, installed=installed, markers=markers,
        )  # fmt: skip
        planned = {_dist(a).canonical_name for a in plan.actions if a.distribution}
        for companion in companions:
            if _dist(companion).canonical_name in planned:
                companion.close()
            else:
                plan.actions.append(companion)
    conflicts = keep_requirements(plan)
    if conflicts and allow_version_change:
        resolve_conflicts(plan, conflicts, options, staging / "resolved")


BREAKS = "the version change would break a requirement: "


def keep_requirements(plan: Plan) -> dict[str, list[Unmet]]:
    """Version changes must leave every requirement of the environment satisfied (markers
    evaluated for the target): each change says who requires the distribution, and one that
    would break a requirement, or whose own requirements the environment does not meet, is
    not done, with the conflict named. Repeated until no refusal changes the picture.
    Returns the unmet requirements by the canonical name of each refused change."""
    from .requirements import (
        Installed,
        installed_distributions,
        target_markers,
        unmet,
        wheel_requirements,
    )

    changes = [a for a in plan.actions if a.kind is ActionKind.OLDER_VERSION and a.wheel]
    conflicts: dict[str, list[Unmet]] = {}
    if not changes:
        return conflicts
    installed = installed_distributions(plan.environment.sites)
    markers = target_markers(plan.target, plan.python)
    new: dict[str, Installed] = {}
    for action in changes:
        dist = _dist(action)
        found = wheel_requirements(action.source)
        new[dist.canonical_name] = found or Installed(dist.name, action.new_version or "", ())
        who = _requirers(installed, dist.canonical_name, markers)
        if who and not any(n.startswith(f"{dist.name} is required by") for n in action.notes):
            action.notes.append(f"{dist.name} is required by: {who}")
    while True:
        live = [a for a in changes if not a.refusal]
        planned = dict(installed)
        planned.update({_dist(a).canonical_name: new[_dist(a).canonical_name] for a in live})
        names = {_dist(a).canonical_name for a in live}
        problems = unmet(planned, markers, names)
        refused = False
        for action in live:
            key = _dist(action).canonical_name
            mine = [p for p in problems if key in (_canon(p.who), _canon(p.name))]
            if mine:
                action.refusal = BREAKS + "; ".join(p.describe() for p in mine)
                action.applies = False
                conflicts[key] = mine
                refused = True
        if not refused:
            return conflicts


def resolve_conflicts(
    plan: Plan, conflicts: dict[str, list[Unmet]], options: PipOptions, dest: Path
) -> None:
    """Resolve the conflicting version changes together with what requires them (pip's
    resolver, the target's platform options, nothing newer than installed): when pip finds
    a consistent set of installed distributions, every version it changes becomes an
    action (who requires what listed) and the plan is checked again; else the refusals
    stay, with pip's reason."""
    from .requirements import installed_distributions, resolve_together

    installed = installed_distributions(plan.environment.sites)
    names = set(conflicts)
    for problems in conflicts.values():
        names.update(_canon(p.who) for p in problems)
        names.update(_canon(p.name) for p in problems)
    requirements = sorted(
        f"{installed[n].name}<={installed[n].version}" for n in names if n in installed
    )
    by_name = {_dist(a).canonical_name: a for a in plan.actions if a.distribution}
    first = by_name[sorted(conflicts)[0]]
    platforms = first.platforms or plan.target.pip_platforms()
    picked, why = resolve_together(requirements, platforms, plan.python, options)
    if not picked:
        for key in conflicts:
            by_name[key].refusal += f"; pip's resolver finds no versions that fit together: {why}"
        return
    changed = {k: v for k, v in picked.items() if k in installed and installed[k].version != v[1]}
    new = sorted(set(picked) - set(installed))
    if new:
        for key in conflicts:
            by_name[key].refusal += (
                "; resolving them together needs "
                + ", ".join(f"{picked[n][0]} {picked[n][1]}" for n in new)
                + ", which is not installed"
            )
        return
    wheels = download(
        [f"{name}=={version}" for name, version in changed.values()], platforms, plan.python,
        options, dest,
    )  # fmt: skip
    for key, (name, version) in sorted(changed.items()):
        wheel = wheels.get(key)
        action = by_name.get(key)
        if action is None:
            action = _companion(installed[key])
            plan.actions.append(action)
            by_name[key] = action
        if wheel is None:
            action.refusal = action.refusal or f"pip resolved {name} {version} but has no wheel"
            action.applies = False
            continue
        action.kind = ActionKind.OLDER_VERSION
        action.take_wheel(wheel)
        action.new_version = version
        action.refusal, action.applies = "", True
        _check(action, platforms, plan.python, plan.target, ())
    keep_requirements(plan)


def _companion(have: Installed) -> Action:
    """An installed distribution without findings that must change with the others so that
    every requirement holds."""
    dist = Distribution(have.name, have.version, OwnerKind.PIP.value, location=have.location)
    action = Action(ActionKind.OLDER_VERSION, dist, [])
    action.notes.append("changed with the others so that every requirement holds")
    return action


def _canon(name: str) -> str:
    from packaging.utils import canonicalize_name

    return str(canonicalize_name(name))


def _requirers(installed: dict[str, Any], name: str, markers: list[dict[str, str]]) -> str:
    """``user 1.0 (fast>=2)``, for every installed distribution requiring ``name``."""
    from .requirements import requirement_on

    found = []
    for dist in installed.values():
        for text in requirement_on(dist, name, markers):
            found.append(f"{dist.name} {dist.version} ({text})")
    return ", ".join(found)


def resolve_actions(
    actions: list[Action],
    platforms: tuple[str, ...],
    python: PythonSpec,
    options: PipOptions,
    dest: Path,
    *,
    allow_version_change: bool,
    target: Target,
    allow: Sequence[str] = (),
    progress: Optional[Callable[[str], None]] = None,
    installed: Optional[Callable[[], dict[str, Installed]]] = None,
    markers: Sequence[dict[str, str]] = (),
) -> list[Action]:
    """Ask pip, in as few calls as it takes, which wheel each action gets (same version,
    else an earlier one) and set the actions' kinds accordingly. Each wheel pip brings is
    checked (:func:`.trust.wheel_refusal`) before the action may take it.

    The earlier versions of an environment's distributions (``installed()``) are resolved
    together by pip's resolver for the target, constrained by what the environment's other
    distributions require: returns the installed distributions that must change with them
    (new actions)."""
    if not platforms:
        for action in actions:
            action.kind = ActionKind.BUILD_FROM_SOURCE
            action.reason = "pip has no platform tag for this target"
            action.manual = _build_advice(action)
        return []
    for action in actions:
        action.platforms = platforms
    same = download(
        [_dist(a).requirement for a in actions], platforms, python, options, dest / "same",
        progress=progress,
    )  # fmt: skip
    missing: list[Action] = []
    for action in actions:
        dist = _dist(action)
        wheel = same.get(dist.canonical_name)
        if wheel is None:
            missing.append(action)
            continue
        _take(action, wheel, dist.version)
    waiting = {id(a) for a in missing}
    _check_all([a for a in actions if id(a) not in waiting], platforms, python, target, allow)
    if not missing:
        return []
    newer_os = _newer_macos(missing, platforms, python, options, dest / "newer-os")
    older, companions = _older_together(
        missing, platforms, python, options, dest / "together", installed, markers, progress
    )
    if older is None:  # no consistent set (or no environment): each on its own, then checked
        older = download(
            [f"{_dist(a).name}<{_dist(a).version}" for a in missing],
            platforms, python, options, dest / "older", progress=progress,
        )  # fmt: skip
    for action in missing:
        dist = _dist(action)
        wheel = older.get(dist.canonical_name)
        shown = ", ".join(platforms)
        needs = newer_os.get(dist.canonical_name)
        if wheel is None:
            action.kind = ActionKind.BUILD_FROM_SOURCE
            action.reason = (
                f"no wheel of {dist.name} {dist.version} or of an earlier version fits {shown}"
            )
            action.manual = _build_advice(action)
            if needs:
                action.notes.append(f"{dist.name} {dist.version} needs macOS {needs}")
                action.manual = f"{dist.name} {dist.version} needs macOS {needs}: --min-os {needs}"
            continue
        info = parse_name(wheel.name)
        action.kind = ActionKind.OLDER_VERSION
        action.take_wheel(wheel)
        action.new_version = info.version if info else None
        action.applies = allow_version_change
        action.reason = f"no wheel of {dist.name} {dist.version} fits {shown}"
        action.notes.append(action.reason)
        action.manual = (
            "rerun with --allow-version-change to accept "
            f"{dist.name} {action.new_version}, or " + _build_advice(action)
        )
        if needs:
            # The same version exists for a newer macOS: often the better choice.
            oldest = _asked_macos(platforms)
            offer = (
                f"{dist.name} {dist.version} needs macOS {needs}: --min-os {needs}; or "
                f"{action.new_version} for {oldest}: --allow-version-change"
            )
            action.notes.append(offer)
            action.manual = offer
    for action in companions:
        assert action.wheel is not None
        action.platforms = platforms
        action.take_wheel(action.wheel)
        action.applies = allow_version_change
    taken = [a for a in missing + companions if a.kind is ActionKind.OLDER_VERSION]
    _check_all(taken, platforms, python, target, allow)
    return companions


def _older_together(
    actions: Sequence[Action],
    platforms: tuple[str, ...],
    python: PythonSpec,
    options: PipOptions,
    dest: Path,
    read_installed: Optional[Callable[[], dict[str, Installed]]],
    markers: Sequence[dict[str, str]],
    progress: Optional[Callable[[str], None]],
) -> tuple[Optional[dict[str, Path]], list[Action]]:
    """The earlier versions of ``actions`` as pip's resolver picks them together for the
    target, with what the environment's other distributions require as constraints (and
    nothing newer than installed): ``({canonical name: wheel}, companions)``; the
    companions are the other installed distributions the set changes. ``(None, [])`` when
    pip finds no such set, or the set needs a distribution that is not installed: each
    action is then asked for on its own and the requirement check names the conflict
    (pip's reason is noted)."""
    from .requirements import environment_constraints, resolve_together

    if read_installed is None:
        return None, []
    installed = read_installed()
    names = {_dist(a).canonical_name for a in actions}
    requirements = [f"{_dist(a).name}<{_dist(a).version}" for a in actions]
    constraints = environment_constraints(installed, markers, names)
    if progress is not None:
        shown = ", ".join(platforms)
        progress(f"  pip: the earlier versions of {plural(len(requirements), 'distribution')}, "
                 f"resolved together for {shown}")  # fmt: skip
    picked, why = resolve_together(requirements, platforms, python, options, constraints)
    new = sorted(set(picked) - set(installed))
    if new:
        why = "it needs " + ", ".join(f"{picked[n][0]} {picked[n][1]}" for n in new)
        why += ", which is not installed"
    if not picked or new:
        for action in actions:
            action.notes.append(
                f"pip's resolver finds no earlier versions that fit together: {why}"
            )
        return None, []
    changed = {k: v for k, v in picked.items() if installed[k].version != v[1]}
    wheels = download(
        [f"{name}=={version}" for name, version in changed.values()],
        platforms, python, options, dest, progress=progress,
    )  # fmt: skip
    companions = []
    for key in sorted(set(changed) - names):
        if key not in wheels:
            continue
        action = _companion(installed[key])
        action.wheel, action.new_version = wheels[key], changed[key][1]
        companions.append(action)
    return {k: v for k, v in wheels.items() if k in names}, companions


_NEWEST_MACOS = "30_0"
"""Asked for when looking for the installed version on a newer macOS (pip takes the newest
wheel not newer than it)."""


def _asked_macos(platforms: Sequence[str]) -> str:
    for platform in platforms:
        match = _MACOS_TAG.match(platform)
        if match:
            return f"{match.group(1)}.{match.group(2)}"
    return ""


def _newer_macos(
    actions: Sequence[Action],
    platforms: tuple[str, ...],
    python: PythonSpec,
    options: PipOptions,
    dest: Path,
) -> dict[str, str]:
    """For macOS: which of these installed versions have a wheel for the same archs on a
    newer macOS than asked (canonical name -> that macOS, ``10.12``)."""
    newer = tuple(
        f"macosx_{_NEWEST_MACOS}_{m.group(3)}" for m in map(_MACOS_TAG.match, platforms) if m
    )
    if not newer or len(newer) != len(platforms):
        return {}
    found = download([_dist(a).requirement for a in actions], newer, python, options, dest)
    needs: dict[str, str] = {}
    for name, wheel in found.items():
        versions = []
        parsed_name = parse_name(wheel.name)
        for tag in parsed_name.tags if parsed_name else ():
            parsed = parse_platform_tag(tag.rsplit("-", 1)[-1])
            if parsed is not None and parsed.min_os is not None:
                versions.append(parsed.min_os)
        if versions:
            needs[name] = format_version(min(versions))
    return needs


def fits_target(target: Target, action: Action) -> Target:
    """What the action's wheel must fit: the whole target, or for a fuse the architectures
    the installed copy lacks (the wheel brings only those)."""
    if action.kind is not ActionKind.FUSE or action.distribution is None:
        return target
    missing = target.archs - installed_archs(action.distribution)
    return Target(target.platform, missing or target.archs, target.min_os)


def _check(
    action: Action,
    platforms: tuple[str, ...],
    python: PythonSpec,
    target: Target,
    allow: Sequence[str],
) -> None:
    """Refuse the action's wheel unless it is the asked release and fits (see trust.py)."""
    from .trust import wheel_refusal

    dist = _dist(action)
    version = action.new_version or dist.version
    if action.wheel is None or version is None:
        return
    fits = fits_target(target, action)
    refusal = wheel_refusal(action.source, dist.name, version, platforms, python, fits, allow)
    if refusal:
        action.refusal = refusal
        action.applies = False
        action.manual = _build_advice(action)


def _check_all(
    actions: Sequence[Action],
    platforms: tuple[str, ...],
    python: PythonSpec,
    target: Target,
    allow: Sequence[str],
) -> None:
    """:func:`_check` for many actions, their binaries scanned together per target."""
    from .trust import binaries_refusals, wheel_refusal

    groups: dict[Target, list[Action]] = {}
    for action in actions:
        dist = _dist(action)
        version = action.new_version or dist.version
        if action.wheel is None or version is None:
            continue
        refusal = wheel_refusal(
            action.source, dist.name, version, platforms, python, target, allow,
            check_binaries=False,
        )  # fmt: skip
        if refusal:
            _refuse_wheel(action, refusal)
        else:
            groups.setdefault(fits_target(target, action), []).append(action)
    for fits, group in groups.items():
        refusals = binaries_refusals([a.source for a in group], fits, allow)
        for action in group:
            if action.source in refusals:
                _refuse_wheel(action, refusals[action.source])


def _refuse_wheel(action: Action, refusal: str) -> None:
    action.refusal = refusal
    action.applies = False
    action.manual = _build_advice(action)


def _take(action: Action, wheel: Path, version: Optional[str]) -> None:
    action.take_wheel(wheel)
    action.new_version = version
    platforms = {t.rsplit("-", 1)[-1] for t in action.wheel_tags}
    if platforms == {"any"}:
        action.kind = ActionKind.PURE_PYTHON
        action.notes.append("no binary wheel of this version fits the target")
    elif action.kind is ActionKind.FUSE and any(p.endswith("_universal2") for p in platforms):
        action.kind = ActionKind.REPLACE  # a universal2 wheel holds both halves already


def _dist(action: Action) -> Distribution:
    assert action.distribution is not None
    return action.distribution


def _build_advice(action: Action) -> str:
    dist = _dist(action)
    return (
        f"build {dist.requirement} from source on the target machine (if its sdist exists): "
        f"python -m pip install --no-binary {shell_quote(dist.name)} "
        f"{shell_quote(dist.requirement)}; on an arm64 Mac "
        "for an x86_64 build, do it in a dedicated environment created under 'arch -x86_64'"
    )


# -- --dry-run: what the real run will do ----------------------------------------------------


def predict_fuses(plan: Plan, accept: Sequence[str], work: Path, allow: Sequence[str] = ()) -> None:
    """``--dry-run`` fuses each distribution in ``work`` (installed files copied, the wheel
    unpacked; the environment only read), so the plan says what the real run will: a
    conflict of differing files, or a result that would still fail the scan."""
    import shutil

    from ..check.scan import ScanError, scan
    from .fuse import FuseConflict, FuseError, fuse_trees
    from .wheels import UnsafePathError, install_wheel, mirrored, record_paths

    env = plan.environment
    for index, action in enumerate(plan.to_apply):
        if action.kind is not ActionKind.FUSE or action.wheel is None:
            continue
        dist = _dist(action)
        assert dist.location is not None
        dist_info = Path(dist.location)
        site = dist_info.parent
        folder = work / f"a{index}"
        try:
            old, _ = record_paths(dist_info, env.root)
            installed = folder / "installed"
            for path in old:
                if site not in path.parents:
                    continue
                if os.path.islink(path):
                    raise UnsafePathError(f"{path} is a symbolic link; fusing copies only files")
                copy = installed / path.relative_to(site)
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, copy)
            mirror = folder / "wheel"
            install_wheel(action.source, env.scheme_for(site, ""), mirror, [])
            output = folder / "fused"
            fuse_trees(installed, mirrored(site, mirror), output,
                       accept_different=tuple(accept), wheel=action.source)  # fmt: skip
            report = scan([str(output)], plan.target, allow=allow)
        except FuseConflict as conflict:
            action.applies, action.reason = False, str(conflict)
            action.manual = (
                "rerun with --accept-different GLOB for each file to keep the installed copy"
            )
            continue
        except (FuseError, UnsafePathError, ScanError, OSError) as error:
            action.applies, action.reason = False, str(error)
            continue
        if report.errors:
            first = report.errors[0]
            action.applies = False
            action.refusal = (
                f"the fused result would still fail: {display_path(first.path)}: {first.message}"
            )
