"""Prepare every action of a plan in the staging folder, then hand the moves to the journal.

Nothing in the environment changes here: installed files are only read (and copied, for
fusing), new files are written under ``<env>/.archguard/staging-<id>/``. The result is one
:class:`~.journal.Transaction` listing what moves out and what moves in, every path checked
to stay inside the environment.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Sequence
from pathlib import Path

from .environment import Environment
from .fuse import FuseConflict, FuseError, fuse_trees
from .journal import Transaction
from .plan import Action, ActionKind, Plan
from .wheels import UnsafePathError, install_wheel, mirrored, record_paths

__all__ = ["StageError", "stage"]


class StageError(Exception):
    """An action cannot be prepared (an unsafe path, a file in the way); nothing changed."""


def stage(plan: Plan, transaction: Transaction, accept_different: Sequence[str] = ()) -> None:
    """Fill ``transaction`` with the moves of every applicable action of ``plan``.

    A fuse that meets differing non-binary files is not done: its action gets
    ``applies = False`` and the conflict as its reason; the other actions go on.
    """
    env = plan.environment
    taken: dict[Path, str] = {}
    outgoing: dict[Path, None] = {}
    incoming: list[tuple[Path, Path]] = []
    for index, action in enumerate(plan.to_apply):
        dist = action.distribution
        assert dist is not None and dist.location is not None and action.wheel is not None
        dist_info = Path(dist.location)
        site = dist_info.parent
        scheme = env.scheme_for(site, plan.python.version)
        try:
            old, notes = record_paths(dist_info, env.root)
        except UnsafePathError as error:
            raise StageError(str(error)) from None
        action.notes.extend(notes)
        work = transaction.staging / f"a{index}"
        try:
            if action.kind is ActionKind.FUSE:
                # Scripts and data outside the site folder stay as installed (the fused
                # RECORD keeps their lines); only the site's files are fused and replaced.
                old = [p for p in old if site in p.parents]
                pairs = _fuse(action, old, site, scheme_env=env, work=work,
                              accept_different=accept_different)  # fmt: skip
                if pairs is None:
                    continue
            else:
                written = install_wheel(action.source, scheme, work, action.notes)
                pairs = [(path, _real(path, work)) for path in written]
        except (UnsafePathError, FuseError) as error:
            raise StageError(f"{dist.name}: {error}") from None
        for staged, real in pairs:
            _check_inside(real, env)
            _check_regular(staged)
            if real in taken:
                raise StageError(
                    f"{dist.name} and {taken[real]} both install {real}: fix one at a time"
                )
            taken[real] = dist.name
            incoming.append((staged, real))
        outgoing.update(dict.fromkeys(old))
        transaction.summary.append(f"{dist.name} {dist.version}: {action.describe()}")
    for _, real in incoming:
        if os.path.lexists(real) and real not in outgoing:
            if os.path.isdir(real) and not os.path.islink(real):
                raise StageError(f"a new file would replace the folder {real}")
            outgoing[real] = None  # another owner's file or a leftover: kept in the backup
    files = transaction.backup / "files"
    for real in outgoing:
        rel = transaction.rel(real)
        transaction.out.append((rel, transaction.rel(files / rel)))
    for staged, real in incoming:
        transaction.into.append((transaction.rel(staged), transaction.rel(real)))


def _real(staged: Path, destdir: Path) -> Path:
    """The environment path a file mirrored under ``destdir`` belongs at."""
    rel = staged.relative_to(destdir)
    return Path(os.path.abspath(os.sep + str(rel)))


def _fuse(
    action: Action,
    old: list[Path],
    site: Path,
    *,
    scheme_env: Environment,
    work: Path,
    accept_different: Sequence[str],
) -> list[tuple[Path, Path]] | None:
    assert action.wheel is not None
    installed = work / "installed"
    for path in old:
        try:
            rel = path.relative_to(site)
        except ValueError:
            continue  # scripts and data outside the site folder stay as they are
        copy = installed / rel
        copy.parent.mkdir(parents=True, exist_ok=True)
        if os.path.islink(path):
            raise UnsafePathError(f"{path} is a symbolic link; fusing copies only files")
        shutil.copy2(path, copy)
    mirror = work / "wheel"
    scheme = scheme_env.scheme_for(site, "")
    install_wheel(action.source, scheme, mirror, action.notes)
    output = work / "fused"
    try:
        result = fuse_trees(
            installed, mirrored(site, mirror), output,
            accept_different=tuple(accept_different), wheel=action.source,
        )  # fmt: skip
    except FuseConflict as conflict:
        action.applies = False
        action.reason = str(conflict)
        action.manual = (
            "rerun with --accept-different GLOB for each file to keep the installed copy"
        )
        return None
    if result.accepted_different:
        kept = ", ".join(result.accepted_different)
        action.notes.append(f"kept the installed copy of differing files: {kept}")
    return [(path, site / path.relative_to(output)) for path in _files(output)]


def _files(root: Path) -> list[Path]:
    found: list[Path] = []
    for directory, subdirs, names in os.walk(root):
        subdirs.sort()
        found.extend(Path(directory, name) for name in sorted(names))
    return found


def _check_inside(real: Path, env: Environment) -> None:
    root = os.path.abspath(env.root)
    path = os.path.abspath(real)
    if os.path.commonpath([root, path]) != root or path == root:
        raise StageError(f"refusing to write outside the environment: {path}")
    if Path(path).parts[len(Path(root).parts)] == ".archguard":
        raise StageError(f"refusing to write into the fix's own folder: {path}")
    parent = Path(path).parent
    while not parent.exists() and parent != Path(root):
        parent = parent.parent
    real_root = os.path.realpath(root)
    real_parent = os.path.realpath(parent)
    if os.path.commonpath([real_root, real_parent]) != real_root:
        raise StageError(f"refusing to write through a link that leaves the environment: {path}")


def _check_regular(staged: Path) -> None:
    mode = os.lstat(staged).st_mode
    if not stat.S_ISREG(mode):
        raise StageError(f"staged file is not a regular file: {staged}")
