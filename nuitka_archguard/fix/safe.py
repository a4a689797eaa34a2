"""File-system changes inside one environment that never follow a symlink out of it.

Every write, move, delete and chmod of a fix goes through here. A path is a ``rel`` string
under the resolved environment root; each of its folders is opened in turn with
``O_DIRECTORY | O_NOFOLLOW`` relative to the one before, and the change is made relative to
the last (``dir_fd=``): a folder that is, or is swapped for, a symlink stops the change with
:class:`LinkRefused` instead of sending it elsewhere. CPython's ``shutil._rmtree_safe_fd``
is the model (and :func:`rmtree` a small copy of it that also runs on Python 3.9).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Callable, Optional

__all__ = [
    "LinkRefused",
    "chmod",
    "makedirs",
    "mkdir",
    "move",
    "opened",
    "rmdir",
    "rmtree",
    "unlink",
    "write_file",
]

_DIR_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_DIRECTORY", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
)


SUPPORTED = {os.open, os.rename, os.mkdir, os.rmdir, os.unlink, os.stat} <= os.supports_dir_fd
"""Whether this platform changes files relative to folder descriptors (POSIX does; Windows
does not, and there ``fix`` refuses to write)."""


class LinkRefused(OSError):
    """A folder on the way is a symbolic link (or not a folder): nothing was changed there."""


def _parts(rel: str) -> list[str]:
    parts = [p for p in rel.replace(os.sep, "/").split("/") if p not in ("", ".")]
    if ".." in parts or os.path.isabs(rel):
        raise LinkRefused(errno.EPERM, "not a path inside the environment", rel)
    return parts


@contextlib.contextmanager
def opened(root: Path, rel: str, *, create: bool = False) -> Iterator[int]:
    """A descriptor of the folder ``root/rel``, reached without following a symlink below
    ``root`` (``create``: missing folders are made on the way)."""
    fd = os.open(root, _DIR_FLAGS)
    try:
        done: list[str] = []
        for part in _parts(rel):
            done.append(part)
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o777, dir_fd=fd)
            try:
                inner = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as error:
                if error.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                    raise LinkRefused(
                        errno.ELOOP,
                        "a symbolic link or not a folder; refusing to go through it",
                        str(root.joinpath(*done)),
                    ) from None
                raise
            os.close(fd)
            fd = inner
        yield fd
    finally:
        os.close(fd)


def _split(rel: str) -> tuple[str, str]:
    parts = _parts(rel)
    if not parts:
        raise LinkRefused(errno.EPERM, "the environment's root itself", rel)
    return "/".join(parts[:-1]), parts[-1]


def move(root: Path, src: str, dst: str, *, make_parents: bool = False) -> None:
    """Rename ``src`` to ``dst`` (same filesystem), neither reached through a symlink."""
    src_dir, src_name = _split(src)
    dst_dir, dst_name = _split(dst)
    with opened(root, src_dir) as src_fd, opened(root, dst_dir, create=make_parents) as dst_fd:
        try:
            os.rename(src_name, dst_name, src_dir_fd=src_fd, dst_dir_fd=dst_fd)
        except OSError as error:  # named by the whole path, not the name inside a dir fd
            raise _named(error, root / src, root / dst) from None


def _named(error: OSError, path: Path, other: Optional[Path] = None) -> OSError:
    """``error`` with the whole paths it concerns (the call named them relative to a fd)."""
    if other is None:
        return type(error)(error.errno, error.strerror, str(path))
    return type(error)(error.errno, error.strerror, str(path), None, str(other))


def makedirs(root: Path, rel: str) -> None:
    """``root/rel`` and its missing parents, none of them a symlink."""
    with opened(root, rel, create=True):
        pass


def mkdir(root: Path, rel: str, *, exist_ok: bool = True) -> None:
    parent, name = _split(rel)
    with opened(root, parent) as fd:
        try:
            os.mkdir(name, 0o777, dir_fd=fd)
        except FileExistsError:
            if not exist_ok:
                raise
            if not stat.S_ISDIR(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode):
                raise LinkRefused(
                    errno.ENOTDIR, "not a folder; refusing to go through it", str(root / rel)
                ) from None


def _at(root: Path, rel: str, action: Callable[..., None]) -> None:
    """``action(name, dir_fd=...)`` on the last part of ``rel``, inside its parent opened
    without following links; an error names the full path."""
    parent, name = _split(rel)
    with opened(root, parent) as fd:
        try:
            action(name, dir_fd=fd)
        except OSError as error:
            raise _named(error, root / rel) from None


def rmdir(root: Path, rel: str) -> None:
    _at(root, rel, os.rmdir)


def unlink(root: Path, rel: str) -> None:
    _at(root, rel, os.unlink)


def lstat(root: Path, rel: str) -> Optional[os.stat_result]:
    """``lstat`` of ``root/rel`` reached without following a link; ``None`` if it is not
    there (or a folder on the way is a link: then nothing there belongs to the environment)."""
    parent, name = _split(rel)
    try:
        with opened(root, parent) as fd:
            return os.stat(name, dir_fd=fd, follow_symlinks=False)
    except (FileNotFoundError, LinkRefused):
        return None


def chmod(root: Path, rel: str, mode: int) -> bool:
    """Give the real folder or file ``root/rel`` the permission bits ``mode``; a symlink, a
    missing path or a mode already right is left alone (no chmod that is not needed: an
    immutable or not-owned folder must not fail a rollback). Whether a chmod was made."""
    parent, name = _split(rel)
    with opened(root, parent) as fd:
        try:
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        kind = stat.S_IFMT(info.st_mode)
        if kind not in (stat.S_IFDIR, stat.S_IFREG) or stat.S_IMODE(info.st_mode) == mode:
            return False
        # The folder holding ``name`` is pinned by ``fd``; ``name`` itself was just seen to
        # be no symlink (Linux has no lchmod; swapping it now needs write access to the
        # environment while the fix runs, which is trusted).
        try:
            os.chmod(name, mode, dir_fd=fd)
        except OSError as error:
            raise _named(error, root / rel) from None
        return True


def write_file(root: Path, rel: str, data: bytes) -> None:
    """Write ``root/rel`` atomically (a temporary file, fsynced, renamed over it)."""
    parent, name = _split(rel)
    tmp = name + ".tmp"
    with opened(root, parent, create=True) as fd:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        out = os.open(tmp, flags, 0o644, dir_fd=fd)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(out, view) :]
            os.fsync(out)
        finally:
            os.close(out)
        os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
        with contextlib.suppress(OSError):
            os.fsync(fd)


def rmtree(root: Path, rel: str) -> None:
    """Remove ``root/rel`` and everything in it, never following a symlink (a link is
    removed, not its target); a missing path is nothing to do."""
    parent, name = _split(rel)
    try:
        with opened(root, parent) as fd:
            _rmtree_at(fd, name)
    except FileNotFoundError:
        return


def _rmtree_at(dir_fd: int, name: str) -> None:
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(info.st_mode):
        os.unlink(name, dir_fd=dir_fd)
        return
    fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    try:
        if not os.path.samestat(info, os.fstat(fd)):  # swapped between the stat and the open
            raise LinkRefused(errno.ELOOP, "changed while being removed", name)
        with os.scandir(fd) as entries:
            names = [entry.name for entry in entries]
        for inner in names:
            _rmtree_at(fd, inner)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=dir_fd)
