"""``fix --output DIR``: correct a folder of wheels into another folder.

Input wheels are never modified: each one that fits the target is copied, each one that
does not is replaced by the target's wheel of the same version (downloaded by pip) or, for
universal2, fused with it into a new wheel (unpacked, fused, zipped with its RECORD).
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

from .. import archs
from ..check.discovery import PathError, open_wheel
from ..check.metadata import MetadataReader
from ..check.ownership import Distribution, OwnerKind
from ..check.policy import display_path
from ..check.scan import ScanError, scan
from ..target import Target
from ..text import shown
from ..wheel import WheelFile, parse_name, short_name
from .fuse import FuseConflict, FuseError, fuse_trees
from .plan import (
    Action,
    ActionKind,
    offending,
    plan_lines,
    request_platforms,
    resolve_actions,
)
from .wheels import (
    AnyWheel,
    DownloadError,
    PipOptions,
    PythonSpec,
    UnsafePathError,
    check_members,
    opened_wheel,
)

__all__ = ["WheelhouseError", "fix_wheelhouse", "zip_tree"]


class WheelhouseError(Exception):
    """Bad input or output folder, or a download that failed; one line."""


def _inputs(paths: Sequence[str]) -> list[Path]:
    wheels: list[Path] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            wheels.extend(sorted(p for p in path.iterdir() if p.name.endswith(".whl")))
        elif path.is_file() and path.name.endswith(".whl"):
            wheels.append(path)
        else:
            raise WheelhouseError(f"{display_path(text)}: not a wheel or a folder of wheels")
    if not wheels:
        raise WheelhouseError("no wheels to fix: give .whl files or folders holding them")
    return wheels


def _checked_output(output: Path, paths: Sequence[str], wheels: Sequence[Path]) -> Path:
    """``--output`` resolved once (``realpath``): a folder, or one to make, that is no input
    folder (nor a link to one), holds no input wheel and lies inside no input folder.
    Anything else is one clear refusal, before anything is written."""
    shown_output = display_path(str(output))
    if os.path.lexists(output) and not os.path.isdir(output):
        raise WheelhouseError(
            f"--output {shown_output} is a file, not a folder: give a folder for the "
            "corrected wheels"
        )
    out = os.path.realpath(output)
    if out in {os.path.realpath(w.parent) for w in wheels}:
        raise WheelhouseError(
            f"--output {shown_output} holds input wheels: wheels are never modified in "
            "place; choose another folder"
        )
    for folder in dict.fromkeys(os.path.realpath(p) for p in paths if os.path.isdir(p)):
        if os.path.commonpath([out, folder]) == folder:
            raise WheelhouseError(
                f"--output {shown_output} is inside the input folder {display_path(folder)}: "
                "choose a folder outside the inputs"
            )
    return Path(out)


def fix_wheelhouse(
    paths: Sequence[str],
    output: Path,
    target: Target,
    options: PipOptions,
    *,
    python_version: Optional[str],
    accept_different: Sequence[str] = (),
    dry_run: bool = False,
    allow: Sequence[str] = (),
) -> tuple[list[str], int, dict[str, Any]]:
    """(text lines, exit code, JSON document) for a whole wheelhouse."""
    wheels = _inputs(paths)
    out = _checked_output(output, paths, wheels)
    noun = "wheel" if len(wheels) == 1 else "wheels"
    lines = [f"fix {len(wheels)} {noun} for {target.describe()} into {display_path(str(out))}"]
    results: list[dict[str, Any]] = []
    code = 0
    with tempfile.TemporaryDirectory(prefix="archguard-wheelhouse-") as tmp:
        work = Path(tmp)
        if not dry_run:
            out.mkdir(parents=True, exist_ok=True)
        for index, wheel in enumerate(wheels):
            result = _one(wheel, out, target, options, python_version, accept_different,
                          dry_run, allow, work / f"w{index}")  # fmt: skip
            results.append(result)
            name = display_path(wheel.name)
            lines.extend(plan_lines(name, short_name(name), result["description"]))
            if not result["fixed"]:
                code = 1
    return lines, code, {"output": display_path(str(out)), "wheels": results, "exit_code": code}


def _one(
    wheel: Path,
    out: Path,
    target: Target,
    options: PipOptions,
    python_version: Optional[str],
    accept_different: Sequence[str],
    dry_run: bool,
    allow: Sequence[str],
    work: Path,
) -> dict[str, Any]:
    """One input wheel, opened once: scanned, its metadata read, copied or unpacked from
    that open file (and the replacement pip brings, likewise, through its action)."""
    try:
        opened = open_wheel(str(wheel))
    except PathError as error:
        raise WheelhouseError(str(error)) from None
    with opened:
        return _one_opened(opened, out, target, options, python_version, accept_different,
                           dry_run, allow, work)  # fmt: skip


def _one_opened(
    opened: WheelFile,
    out: Path,
    target: Target,
    options: PipOptions,
    python_version: Optional[str],
    accept_different: Sequence[str],
    dry_run: bool,
    allow: Sequence[str],
    work: Path,
) -> dict[str, Any]:
    wheel = Path(opened.path)
    try:
        report = scan([opened], target, allow=allow)
    except ScanError as error:
        raise WheelhouseError(str(error)) from None
    groups = offending(report)
    result: dict[str, Any] = {"wheel": display_path(wheel.name), "output": None}
    if not groups:
        result.update(action="keep", fixed=True, description="fits; copied")
        if not dry_run:
            opened.copy_to(out / wheel.name)
            result["output"] = display_path(wheel.name)
        return result
    meta = MetadataReader().wheel_meta(opened)  # read by the scan: kept on the opened wheel
    dist = Distribution(meta.name, meta.version, OwnerKind.PIP.value, wheel_tags=meta.tags)
    findings = [f for _, fs in groups for f in fs]
    fuse = target.is_universal2
    action = Action(ActionKind.FUSE if fuse else ActionKind.REPLACE, dist, findings)
    try:
        return _fixed(opened, action, result, out, target, options, python_version,
                      accept_different, dry_run, allow, work)  # fmt: skip
    finally:
        action.close()


def _fixed(
    opened: WheelFile,
    action: Action,
    result: dict[str, Any],
    out: Path,
    target: Target,
    options: PipOptions,
    python_version: Optional[str],
    accept_different: Sequence[str],
    dry_run: bool,
    allow: Sequence[str],
    work: Path,
) -> dict[str, Any]:
    """The action planned for the input wheel, and what it writes."""
    wheel, dist, fuse = Path(opened.path), action.distribution, action.kind is ActionKind.FUSE
    assert dist is not None
    python = PythonSpec(python_version or _python_from_tags(dist.wheel_tags))
    try:
        resolve_actions([action], request_platforms(target, dist, fuse), python, options,
                        work / "download", allow_version_change=False, target=target,
                        allow=allow)  # fmt: skip
    except DownloadError as error:
        raise WheelhouseError(f"{display_path(wheel.name)}: {error}") from None
    result["action"] = action.kind.value
    result["description"] = action.describe()
    result["fixed"] = action.applies and action.kind.changes
    if not result["fixed"] or action.wheel is None:
        if action.manual and not result["fixed"]:
            result["manual"] = action.manual
        return result
    if action.kind is not ActionKind.FUSE:
        if dry_run:
            return result
        assert action.opened is not None
        action.opened.copy_to(out / action.wheel.name)  # the bytes that were checked
        result["output"] = display_path(action.wheel.name)
        return result
    try:
        made = _fuse_wheels(opened, action.source, work, accept_different)
    except _Conflict as conflict:
        result.update(fixed=False, description=f"cannot fuse: {conflict}")
        result["manual"] = "rerun with --accept-different GLOB for each differing file"
        return result
    failing = _still_failing(made, target, allow)
    if failing:  # the verdict is a scan of the result: a wheel that fails is not written
        result.update(fixed=False, description=f"not fixed: the fused wheel {failing}")
        result["manual"] = action.manual or _build_hint(dist)
        return result
    if dry_run:  # fused and scanned in a temporary folder: what the real run would write
        result["description"] = f"would fuse with {action.wheel.name} into {made.name}"
        return result
    os.replace(made, out / made.name)
    result["output"] = display_path(made.name)
    result["description"] = f"fused with {action.wheel.name} into {made.name}"
    return result


def _still_failing(wheel: Path, target: Target, allow: Sequence[str]) -> str:
    """Why a written wheel still does not fit (its first error), or ``""``."""
    try:
        report = scan([str(wheel)], target, allow=allow)
    except ScanError as error:
        return f"cannot be read back: {error}"
    if not report.errors:
        return ""
    first = report.errors[0]
    more = f" (and {len(report.errors) - 1} more)" if len(report.errors) > 1 else ""
    return f"still fails: {display_path(first.path)}: {first.message}{more}"


def _build_hint(dist: Distribution) -> str:
    return f"build {dist.requirement} from source for both architectures"


class _Conflict(Exception):
    pass


def _python_from_tags(tags: Sequence[str]) -> str:
    for tag in tags:
        version = archs.python_version_of(tag)
        if version is not None:
            return version
    import sys

    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def _unpack(wheel: AnyWheel, folder: Path) -> Path:
    """``wheel`` extracted into ``folder``, from the open file when its caller holds it."""
    with opened_wheel(wheel, WheelhouseError) as opened:
        reader = MetadataReader()  # its metadata read bounded first (a bomb is refused here)
        if reader.wheel_dist_info(opened) is None:
            raise WheelhouseError(
                reader.notes[0] if reader.notes else f"{shown(opened.filename)}: unreadable"
            )
        refusal = opened.path_refusal()
        if refusal:
            raise UnsafePathError(refusal)
        # The same budget as staging into an environment: the declared sizes bound what
        # extracting writes (zipfile stops each member there), checked before a byte is.
        folder.mkdir(parents=True, exist_ok=True)
        check_members(opened, folder)
        opened.archive.extractall(folder)
    return folder


def _fuse_wheels(
    first: AnyWheel, second: AnyWheel, work: Path, accept_different: Sequence[str]
) -> Path:
    """The fused wheel, written in ``work`` (moved to the output once a scan passes it)."""
    one = _unpack(first, work / "first")
    two = _unpack(second, work / "second")
    fused = work / "fused"
    try:
        fuse_trees(one, two, fused, accept_different=tuple(accept_different), wheel=second,
                   first_name="input wheel's")  # fmt: skip
    except FuseConflict as conflict:
        raise _Conflict(str(conflict)) from None
    except FuseError as error:
        name = first.filename if isinstance(first, WheelFile) else first.name
        raise WheelhouseError(f"{display_path(name)}: {error}") from None
    made = work / "made"
    made.mkdir()
    return zip_tree(fused, made)


def zip_tree(tree: Path, out: Path) -> Path:
    """Zip an unpacked wheel (its RECORD already right) as ``out/<name>-<ver>-<tags>.whl``,
    the ``.dist-info`` last and its RECORD last of all, as the wheel spec recommends."""
    dist_infos = [p for p in tree.iterdir() if p.name.endswith(".dist-info") and p.is_dir()]
    if len(dist_infos) != 1:
        raise WheelhouseError(f"{tree}: expected one .dist-info folder")
    dist_info = dist_infos[0]
    reader = MetadataReader()
    tags = reader.headers(str(dist_info / "WHEEL")).get("Tag", [])
    if reader.notes:
        raise WheelhouseError(reader.notes[0])
    parts: list[list[str]] = [[], [], []]
    for tag in tags:
        for index, part in enumerate(tag.split("-")):
            if part not in parts[index]:
                parts[index].append(part)
    name_version = dist_info.name[: -len(".dist-info")]
    filename = f"{name_version}-{'-'.join('.'.join(p) for p in parts)}.whl"
    if parse_name(filename) is None:
        raise WheelhouseError(f"cannot name the fused wheel: {filename!r}")
    files = sorted(
        (p for p in tree.rglob("*") if p.is_file()),
        key=lambda p: (
            dist_info in p.parents,
            p == dist_info / "RECORD",
            p.relative_to(tree).as_posix(),
        ),
    )
    target = out / filename
    tmp = target.with_name(target.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(tree).as_posix())
    os.replace(tmp, target)
    return target
