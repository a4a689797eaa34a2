"""Move files in and out of an environment so that nothing is ever lost.

A change is a :class:`Transaction`: every file it replaces is first *moved* (renamed, same
filesystem) into ``<env>/.archguard/backup/<id>/``, then every new file is renamed in from
the staging folder. The whole list of moves is written to ``<env>/.archguard/journal.json``
(fsynced) before the first one, so an interrupted run (``kill -9``, power loss) is found by
the next one and rolled back: each move is a rename, so whether it happened is read off the
filesystem (source gone, destination present). A finished fix leaves its journal in its
backup folder, which is what ``fix --undo`` replays backwards.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import stat
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from ..binaries.source import open_regular
from ..check.metadata import MetadataError, read_regular
from ..state import JOURNAL_NAME, STATE_DIR
from ..text import shown
from . import safe

__all__ = [
    "JOURNAL_NAME",
    "ChangedSinceFix",
    "JournalError",
    "Transaction",
    "interrupted",
    "last_fix",
    "recover",
    "undo",
]

_FORMAT = 1
_KINDS = ("fix", "undo")
_IDENT = re.compile(r"^[0-9]{8}T[0-9]{6}-[0-9]{1,10}$")
"""What :func:`new_id` makes; a journal's ``id`` names folders, so nothing else is read."""


class JournalError(Exception):
    """A fix could not be applied or undone; the environment was rolled back."""


class ChangedSinceFix(JournalError):
    """``undo`` refused: files the fix wrote have changed since (an edit, a ``pip install``);
    undoing would discard them. Nothing was changed."""

    def __init__(self, ident: str, changed: list[str]) -> None:
        self.changed = changed
        listed = ", ".join(repr(rel) for rel in changed[:10])
        more = f" and {len(changed) - 10} more" if len(changed) > 10 else ""
        super().__init__(
            f"{len(changed)} file(s) changed since fix {ident} (edited or reinstalled): "
            f"{listed}{more}; nothing was changed. Undo anyway with --undo --keep-changed "
            "(the changed files are kept in .archguard/kept/)"
        )


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_json(root: Path, rel: str, data: dict[str, Any]) -> None:
    """``root/rel`` written atomically and fsynced, no folder on the way a symlink."""
    safe.write_file(root, rel, json.dumps(data, indent=1, ensure_ascii=True).encode("ascii"))


def new_id() -> str:
    """A sortable, unique name for one fix: ``20261130T131500-12345``."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"-{os.getpid()}"


@dataclass
class Transaction:
    """The moves of one fix (or one undo), relative to the environment's root.

    ``out``: (file in the environment, where it is kept); ``into``: (prepared file, its place
    in the environment). ``new_dirs``: folders the new files need that do not exist yet;
    ``old_dirs``: folders that held replaced files (removed when left empty, made again on
    rollback).
    """

    root: Path
    ident: str
    kind: str = "fix"
    out: list[tuple[str, str]] = field(default_factory=list)
    into: list[tuple[str, str]] = field(default_factory=list)
    new_dirs: list[str] = field(default_factory=list)
    old_dirs: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    undoing: Optional[str] = None
    dir_modes: dict[str, int] = field(default_factory=dict)
    """Permission bits of every folder a move may leave empty (and its parents): a folder
    removed and made again (rollback, undo) gets them back."""
    """For an undo: the fix it reverts (its record's removal is the undo's commit point)."""
    written: Optional[dict[str, list[Any]]] = None
    """For a fix: what it put in the environment (``[size, sha256]``, ``["link", target]``
    for a symlink), so that ``undo`` sees later changes; ``None`` when not recorded."""
    backed: Optional[dict[str, list[Any]]] = None
    """What each file moved out is (same form as ``written``), keyed by where it is kept,
    recorded before the first move: a backup is believed only when it still matches."""
    sequence: int = 0
    """A fix's place among the fixes of its environment (1, 2, ...): ``--undo`` reverts the
    highest, whatever the folder names or the clock say."""

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @property
    def journal(self) -> Path:
        return self.state_dir / JOURNAL_NAME

    @property
    def backup(self) -> Path:
        return self.state_dir / "backup" / self.ident

    @property
    def staging(self) -> Path:
        return self.state_dir / f"staging-{self.ident}"

    def path(self, rel: str) -> Path:
        return self.root / rel

    def rel(self, path: Path) -> str:
        return os.path.relpath(os.path.abspath(path), self.root)

    def to_json(self, state: str) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "state": state,
            "kind": self.kind,
            "id": self.ident,
            "out": self.out,
            "into": self.into,
            "new_dirs": self.new_dirs,
            "old_dirs": self.old_dirs,
            "summary": self.summary,
            "undoing": self.undoing,
            "written": self.written,
            "backed": self.backed,
            "sequence": self.sequence,
            "dir_modes": self.dir_modes,
        }

    @classmethod
    def from_json(cls, root: Path, data: dict[str, Any]) -> Transaction:
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise JournalError("unknown journal format")

        def pairs(key: str) -> list[tuple[str, str]]:
            return [(str(a), str(b)) for a, b in data.get(key, [])]

        ident, kind = data["id"], data.get("kind", "fix")
        if not isinstance(ident, str) or not _IDENT.match(ident):
            raise JournalError(f"the journal's id is not one fix makes: {ident!r}")
        if kind not in _KINDS:
            raise JournalError(f"the journal's kind is not one fix makes: {kind!r}")
        transaction = cls(
            root,
            ident,
            kind,
            pairs("out"),
            pairs("into"),
            [str(d) for d in data.get("new_dirs", [])],
            [str(d) for d in data.get("old_dirs", [])],
            [str(s) for s in data.get("summary", [])],
        )
        undoing = data.get("undoing")
        if undoing is not None:
            if kind != "undo" or not isinstance(undoing, str) or not _IDENT.match(undoing):
                raise JournalError(f"the journal undoes a fix it cannot name: {undoing!r}")
            transaction.undoing = undoing
        transaction.written = _checked_written(data.get("written"), transaction)
        transaction.backed = _checked_prints(
            data.get("backed"), {kept for _, kept in transaction.out}, "moved out"
        )
        sequence = data.get("sequence", 0)
        if (
            not isinstance(sequence, int)
            or isinstance(sequence, bool)
            or not (0 <= sequence < 2**53)
        ):
            raise JournalError(f"the journal's sequence number is damaged: {sequence!r}")
        transaction.sequence = sequence
        modes = data.get("dir_modes", {})
        if not isinstance(modes, dict) or not all(
            isinstance(m, int) and 0 <= m <= 0o7777 for m in modes.values()
        ):
            raise JournalError("the journal's folder modes are damaged")
        transaction.dir_modes = {str(k): int(v) for k, v in modes.items()}
        for rel in transaction._all_paths():
            _check_rel(rel)
        # The environment's side of every move lies outside .archguard, the kept/staged
        # side inside it: a journal cannot move the fix's own state, nor files between
        # two places of the environment.
        for env_rel, state_rel in (*transaction.out, *((b, a) for a, b in transaction.into)):
            if _in_state(env_rel) or not _in_state(state_rel):
                raise JournalError(
                    f"the journal moves {env_rel!r} to {state_rel!r}: not a move fix makes"
                )
        return transaction

    def _all_paths(self) -> Iterable[str]:
        for a, b in (*self.out, *self.into):
            yield a
            yield b
        yield from self.new_dirs
        yield from self.old_dirs
        yield from self.dir_modes

    # -- applying ----------------------------------------------------------------------------

    def plan_dirs(self) -> None:
        """Work out ``new_dirs`` and ``old_dirs`` from the moves (before anything moves)."""
        old_dirs: dict[str, None] = {}
        for rel, _ in self.out:
            old_dirs[os.path.dirname(rel)] = None
        new_dirs: dict[str, None] = {}
        for _, rel in self.into:
            parent = os.path.dirname(rel)
            missing: list[str] = []
            while parent and not self.path(parent).is_dir():
                missing.append(parent)
                parent = os.path.dirname(parent)
            new_dirs.update(dict.fromkeys(reversed(missing)))
        self.old_dirs = sorted(d for d in old_dirs if d)
        self.new_dirs = list(new_dirs)
        for rel in self.old_dirs:
            while rel and rel not in self.dir_modes:
                info = safe.lstat(self.root, rel)
                if info is not None and stat.S_ISDIR(info.st_mode):  # a real folder's only
                    self.dir_modes[rel] = stat.S_IMODE(info.st_mode)
                rel = os.path.dirname(rel)

    def _restore_modes(self, rels: Iterable[str]) -> None:
        """Folder modes back, on real folders only, and only where they differ."""
        for rel in rels:
            mode = self.dir_modes.get(rel)
            if mode is not None:
                safe.chmod(self.root, rel, mode)

    def apply(self, *, undoing: Optional[Transaction] = None) -> None:
        """Journal, move out, move in, commit. Any failure up to the commit point (the
        fix's record filed; for an undo, the undone fix's record removed) rolls back and
        raises :class:`JournalError`; the environment is then exactly as before.
        ``undoing``: the fix this transaction reverts (its backup goes once this is done)."""
        self.plan_dirs()
        self.undoing = undoing.ident if undoing is not None else None
        try:
            safe.makedirs(self.root, STATE_DIR)
            if undoing is None:
                safe.makedirs(self.root, self.rel(self.backup))
            self.backed = {kept: _fingerprint(self.path(rel)) for rel, kept in self.out}
            if undoing is None:
                self.sequence = _next_sequence(self.root)
            _write_json(self.root, self.rel(self.journal), self.to_json("applying"))
            self._forward()
            if undoing is None:
                self.written = {rel: _fingerprint(self.path(rel)) for _, rel in self.into}
                _write_json(self.root, self.rel(self.backup / JOURNAL_NAME), self.to_json("done"))
            else:
                safe.unlink(self.root, self.rel(undoing.backup / JOURNAL_NAME))
                _fsync_dir(undoing.backup)
        except BaseException as error:
            try:
                rollback(self)
            except Exception as second:
                raise JournalError(
                    f"{_text(error)}; rolling back failed too ({_text(second)}): run "
                    f"'nuitka-archguard fix' on {self.root} again to finish it"
                ) from None
            if isinstance(error, Exception):
                raise JournalError(f"{_text(error)}; nothing was changed") from None
            raise
        # Committed: what is left only tidies up, and the next run finishes it if it fails.
        try:
            safe.unlink(self.root, self.rel(self.journal))
        except OSError as error:
            raise JournalError(
                f"the {self.kind} is done but its journal could not be removed "
                f"({_text(error)}): run 'nuitka-archguard fix' on {self.root} to finish it"
            ) from None
        _fsync_dir(self.state_dir)
        _finish(self)

    def _forward(self) -> None:
        for rel, kept in self.out:
            safe.move(self.root, rel, kept, make_parents=True)
        for rel in self.new_dirs:
            safe.mkdir(self.root, rel)
        for staged, rel in self.into:
            if safe.lstat(self.root, rel) is not None:  # appeared after staging: kept
                raise FileExistsError(errno.EEXIST, "appeared while fixing", str(self.path(rel)))
            safe.move(self.root, staged, rel)
        self._restore_modes(self.new_dirs)  # an undo making again what its fix removed
        for rel in sorted(self.old_dirs, key=len, reverse=True):
            _remove_empty_dirs(self.root, rel)


def _fingerprint(path: Path) -> list[Any]:
    """What a file is, to tell later whether it changed: size and SHA-256 of a regular file
    (read without following a symlink), the target of a symlink."""
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        return ["link", os.readlink(path)]
    if not stat.S_ISREG(info.st_mode):
        return ["other", stat.S_IFMT(info.st_mode)]
    digest = hashlib.sha256()
    fd, _ = open_regular(path, nofollow=True)
    with open(fd, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return [info.st_size, digest.hexdigest()]


def _checked_written(value: Any, transaction: Transaction) -> Optional[dict[str, list[Any]]]:
    """``written`` of a journal read as hostile: only the files the fix moved in, each a
    fingerprint :func:`_fingerprint` makes."""
    return _checked_prints(value, {rel for _, rel in transaction.into}, "wrote")


def _checked_prints(value: Any, allowed: set[str], did: str) -> Optional[dict[str, list[Any]]]:
    if value is None:
        return None
    if not isinstance(value, dict) or not set(value) <= allowed:
        raise JournalError(f"the journal records files the fix never {did}")
    for print_ in value.values():
        if not (isinstance(print_, list) and len(print_) == 2):
            raise JournalError("the journal records a file in a form fix does not write")
    return {str(rel): list(print_) for rel, print_ in value.items()}


def check_backup(transaction: Transaction, *, complete: bool) -> None:
    """Every kept file of ``transaction`` is what it recorded before moving it (size and
    SHA-256, or a link's target); ``complete``: each must be there (an undo restores them
    all). Raises :class:`JournalError` naming the first that is not, before anything moves."""
    if transaction.backed is None:
        return  # recorded before backups were fingerprinted: nothing to compare with
    for rel, kept in transaction.out:
        recorded = transaction.backed.get(kept)
        info = safe.lstat(transaction.root, kept)
        if info is None:
            if complete:
                raise JournalError(
                    f"the backup of {rel!r} is missing ({shown(kept)}); nothing was changed"
                )
            continue
        try:
            current = _fingerprint(transaction.path(kept))
        except OSError as error:
            current = ["unreadable", _text(error)]
        if recorded is None or current != recorded:
            raise JournalError(
                f"the backup of {rel!r} ({shown(kept)}) is not what the fix kept (size or "
                "SHA-256 differ: tampered or truncated); refusing to restore it, nothing "
                "was changed"
            )


def _next_sequence(root: Path) -> int:
    """One more than the highest sequence number among the fixes recorded in ``root``."""
    return 1 + max((t.sequence for t in _records(root)), default=0)


def changed_since(done: Transaction) -> list[str]:
    """The files ``done`` put in the environment that are no longer what it wrote (a later
    edit or ``pip install``). A file since removed has nothing to lose; a fix recorded
    without fingerprints cannot be checked, so every file it wrote counts as changed."""
    changed = []
    for _, rel in done.into:
        path = done.path(rel)
        if not os.path.lexists(path):
            continue
        recorded = (done.written or {}).get(rel)
        try:
            current = _fingerprint(path)
        except OSError:
            current = None
        if recorded is None or current != recorded:
            changed.append(rel)
    return changed


def _finish(transaction: Transaction) -> None:
    """Leftovers of a committed fix or undo (its journal already gone)."""
    _rmtree_quietly(transaction.root, transaction.rel(transaction.staging))
    if transaction.undoing is not None:
        _rmtree_quietly(transaction.root, f"{STATE_DIR}/backup/{transaction.undoing}")
    tidy(transaction.root)


def discard_staging(transaction: Transaction) -> None:
    """A staging folder no journal needs (planning or staging stopped): removed."""
    _rmtree_quietly(transaction.root, transaction.rel(transaction.staging))
    tidy(transaction.root)


def _rmtree_quietly(root: Path, rel: str) -> None:
    """Leftovers of the fix's own state: removed without following a link; what cannot
    be removed stays (the next run tries again)."""
    with contextlib.suppress(OSError):
        safe.rmtree(root, rel)


def _remove_empty_dirs(root: Path, rel: str) -> None:
    """Remove ``root/rel`` and its parents while they are empty, never ``root`` itself."""
    while rel and rel != ".":
        try:
            safe.rmdir(root, rel)
        except OSError:
            return
        rel = os.path.dirname(rel)


def _check_rel(rel: str) -> None:
    parts = Path(rel).parts
    if not parts or os.path.isabs(rel) or ".." in parts:
        raise JournalError(f"the journal names a path outside the environment: {rel!r}")


def _in_state(rel: str) -> bool:
    return Path(rel).parts[:1] == (STATE_DIR,)


def _check_real(root: Path, rel: str) -> None:
    """``rel``'s folder, symlinks resolved, is inside ``root`` (a journal read back from
    disk may name ``link/x`` where ``link`` leads out of the environment)."""
    real_root = os.path.realpath(root)
    parent = os.path.realpath(os.path.dirname(os.path.join(root, rel)))
    if os.path.commonpath([real_root, parent]) != real_root:
        raise JournalError(f"the journal's path {rel!r} leads out of the environment")


def _text(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        where = f": {error.filename}" if error.filename else ""
        return f"{error.strerror}{where}"
    return str(error) or type(error).__name__


def rollback(transaction: Transaction) -> None:
    """Undo whatever part of ``transaction`` happened (idempotent: safe to run again)."""
    t = transaction
    # The environment's side is checked before anything moves (a planted journal is refused
    # whole); the state side needs no check: a link there reads as "nothing moved there".
    for rel in t._all_paths():
        if not _in_state(rel):
            _check_real(t.root, rel)

    check_backup(t, complete=False)

    def there(rel: str) -> bool:
        return safe.lstat(t.root, rel) is not None

    for staged, rel in reversed(t.into):
        if there(rel) and not there(staged):
            safe.move(t.root, rel, staged, make_parents=True)
    for rel in reversed(t.new_dirs):
        with contextlib.suppress(OSError):
            safe.rmdir(t.root, rel)
    for rel in t.old_dirs:
        safe.makedirs(t.root, rel)
    for rel, kept in reversed(t.out):
        if there(kept) and not there(rel):
            _check_real(t.root, rel)
            safe.move(t.root, kept, rel)
    t._restore_modes(sorted(t.dir_modes, key=len, reverse=True))
    for leftover in (JOURNAL_NAME, JOURNAL_NAME + ".tmp"):
        with contextlib.suppress(FileNotFoundError):
            safe.unlink(t.root, f"{STATE_DIR}/{leftover}")
    _fsync_dir(t.state_dir)
    if t.kind == "fix":
        _rmtree_quietly(t.root, t.rel(t.backup))
    _rmtree_quietly(t.root, t.rel(t.staging))
    tidy(t.root)


def tidy(root: Path) -> None:
    """Remove ``.archguard`` folders left empty (an environment looks untouched again)."""
    for rel in (f"{STATE_DIR}/backup", STATE_DIR):
        with contextlib.suppress(OSError):
            safe.rmdir(root, rel)


def interrupted(root: Path) -> Optional[Path]:
    """The journal of a fix that did not finish, if there is one (read-only check)."""
    journal = root / STATE_DIR / JOURNAL_NAME
    return journal if os.path.lexists(journal) else None


def _load(root: Path, path: Path) -> Transaction:
    try:  # regular files only, bounded (a FIFO named journal.json never blocks)
        data = json.loads(read_regular(str(path), limit=64 * 1024 * 1024).decode("utf-8"))
    except (MetadataError, ValueError, RecursionError) as error:
        raise JournalError(f"cannot read the journal {shown(str(path))}: {error}") from None
    try:
        return Transaction.from_json(root, data)
    except (KeyError, TypeError, ValueError) as error:
        raise JournalError(f"the journal {path} is damaged: {error}") from None


def recover(root: Path) -> Optional[str]:
    """Roll back an interrupted fix or undo (forward, when it had filed its record and only
    the last step was missing); returns what was done, ``None`` if nothing."""
    journal = interrupted(root)
    if journal is None:
        _remove_stale_staging(root)
        return None
    transaction = _load(root, journal)
    if _committed(transaction):
        safe.unlink(root, f"{STATE_DIR}/{JOURNAL_NAME}")
        _finish(transaction)
        _remove_stale_staging(root)
        return f"finished the interrupted {transaction.kind} {transaction.ident}"
    rollback(transaction)
    _remove_stale_staging(root)
    return f"rolled back the interrupted {transaction.kind} {transaction.ident}"


def _committed(transaction: Transaction) -> bool:
    """Whether an interrupted transaction had passed its commit point (see ``apply``)."""
    if transaction.kind == "fix":
        return (transaction.backup / JOURNAL_NAME).is_file()
    if transaction.undoing is None:  # an undo journal from before the commit point existed
        return False
    undone = transaction.state_dir / "backup" / transaction.undoing / JOURNAL_NAME
    return not os.path.lexists(undone)


def _remove_stale_staging(root: Path) -> None:
    """Staging folders of runs killed before their journal existed: nothing of the
    environment moved yet, so they are only leftovers (the caller holds the lock)."""
    state = root / STATE_DIR
    try:
        names = os.listdir(state)
    except OSError:
        return
    for name in names:
        if name.startswith("staging-"):
            _rmtree_quietly(root, f"{STATE_DIR}/{name}")
        elif name == JOURNAL_NAME + ".tmp":  # killed while writing the journal
            with contextlib.suppress(OSError):
                safe.unlink(root, f"{STATE_DIR}/{name}")
    # Backup folders without a record: made just before a journal that was never written,
    # or left by a finished undo that could not remove them. Only empty folders go.
    with contextlib.suppress(OSError):
        for name in os.listdir(state / "backup"):
            if safe.lstat(root, f"{STATE_DIR}/backup/{name}/{JOURNAL_NAME}") is None:
                with contextlib.suppress(OSError):
                    _remove_empty_tree(root, f"{STATE_DIR}/backup/{name}")
    tidy(root)


def _remove_empty_tree(root: Path, rel: str) -> None:
    """Remove the folders under ``root/rel`` (and it) that hold no file; files stay, and
    a symlink is neither followed nor removed."""
    with safe.opened(root, rel) as fd:
        names = os.listdir(fd)
        for name in names:
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode):
                with contextlib.suppress(OSError):
                    _remove_empty_tree(root, f"{rel}/{name}")
    safe.rmdir(root, rel)


@contextlib.contextmanager
def locked(root: Path) -> Iterator[None]:
    """One fix (or undo) at a time per environment: an exclusive lock on
    ``.archguard/lock``, removed (with ``.archguard`` if left empty) at the end."""
    state = root / STATE_DIR
    if not safe.SUPPORTED:
        raise JournalError(
            "fix writes only where it can work relative to folder descriptors (dir_fd, "
            "POSIX); this platform has none: nothing was changed"
        )
    if os.path.islink(state):
        raise JournalError(f"{state} is a symbolic link; refusing to write through it")
    if os.path.lexists(state) and not os.path.isdir(state):
        raise JournalError(
            f"{state} is not a folder: fix keeps its backups there; move that file away first"
        )
    fd = _acquire(root, state / "lock")
    try:
        yield
    finally:
        # Removed while still held: a run that opened this file before and locks it after
        # the close sees that the path no longer names it and starts over (_acquire).
        with contextlib.suppress(OSError):
            safe.unlink(root, f"{STATE_DIR}/lock")
        os.close(fd)
        tidy(root)


def _acquire(root: Path, lock: Path) -> int:
    """An open, exclusively locked descriptor of ``lock`` that the path still names.

    A run that does not get the lock leaves the file alone: removing it would let a third
    run create a new one and lock that while the first still works.
    """
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; one user per environment
        fcntl = None  # type: ignore[assignment]
    for _ in range(100):
        safe.makedirs(root, STATE_DIR)
        with safe.opened(root, STATE_DIR) as state_fd:
            fd = os.open(
                lock.name, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644,
                dir_fd=state_fd,
            )  # fmt: skip
        if fcntl is None:
            return fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise JournalError(f"another nuitka-archguard fix is running on {root}") from None
        except BaseException:
            os.close(fd)
            raise
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock, follow_symlinks=False))
        except OSError:
            same = False
        if same:
            return fd
        os.close(fd)  # the holder removed it as we opened it: lock the new one
    raise JournalError(f"cannot lock {lock}")


def _records(root: Path) -> list[Transaction]:
    """The finished fixes recorded in ``root`` (each record checked)."""
    backups = root / STATE_DIR / "backup"
    try:
        names = sorted(os.listdir(backups))
    except OSError:
        return []
    found = []
    for name in names:
        record = backups / name / JOURNAL_NAME
        if safe.lstat(root, f"{STATE_DIR}/backup/{name}/{JOURNAL_NAME}") is not None:
            transaction = _load(root, record)
            if transaction.ident != name:
                raise JournalError(f"the fix record {record} names another fix")
            if transaction.kind == "fix":
                found.append(transaction)
    return found


def last_fix(root: Path) -> Optional[Transaction]:
    """The most recent finished fix (what ``--undo`` reverts): the highest sequence number
    (records from before sequence numbers count as 0, then by name)."""
    records = _records(root)
    return max(records, key=lambda t: (t.sequence, t.ident)) if records else None


def undo(root: Path, *, keep_changed: bool = False) -> Optional[Transaction]:
    """Restore the environment as it was before the last fix, byte for byte; ``None`` when
    there is no fix to undo. The undo is itself journaled (and rolled back on failure).

    Files the fix wrote that changed since would be lost: undo raises
    :class:`ChangedSinceFix` and changes nothing, unless ``keep_changed``, which moves them
    to ``.archguard/kept/<undo id>/`` (named in the returned fix's ``summary``)."""
    done = last_fix(root)
    if done is None:
        return None
    check_backup(done, complete=True)
    changed = changed_since(done)
    written = {rel for _, rel in done.into}
    # A file that appeared since where the backup restores one: undoing would overwrite it.
    appeared = [
        rel for rel, _ in done.out if rel not in written and safe.lstat(root, rel) is not None
    ]
    changed += appeared
    if changed and not keep_changed:
        raise ChangedSinceFix(done.ident, changed)
    reverse = Transaction(root, new_id(), kind="undo")
    trash, kept = reverse.staging, reverse.state_dir / "kept" / reverse.ident
    for rel in [*(rel for _, rel in done.into), *appeared]:
        if safe.lstat(root, rel) is not None:
            folder = kept if rel in changed else trash
            reverse.out.append((rel, os.path.relpath(folder / rel, root)))
    for rel, backup in done.out:
        reverse.into.append((backup, rel))
    reverse.summary = [f"undo of fix {done.ident}", *done.summary]
    reverse.dir_modes = dict(done.dir_modes)
    reverse.apply(undoing=done)
    done.summary += [f"kept (changed since the fix): {kept / rel}" for rel in changed]
    return done
