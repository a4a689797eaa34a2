"""OwnershipIndex resolves each folder once per index (a scan asks for hundreds of files in a
few folders): the answers stay those of ``os.path.realpath`` for every file, whether the
folder, the file or a ``..`` in the path is what a symlink changes."""

from __future__ import annotations

import os
from pathlib import Path

from nuitka_archguard.check.ownership import OwnershipIndex
from tests.envbuild import ARM, install


def test_files_in_a_symlinked_folder_and_symlinked_files_keep_their_owners(
    tmp_path: Path,
) -> None:
    site = tmp_path / "real" / "site-packages"
    install(site, "cffi", "1.17.1", {"_cffi_backend.so": ARM})
    install(site, "other", "1.0", {"other/_x.so": ARM})
    (site / "alias.so").symlink_to(site / "other" / "_x.so")
    link = tmp_path / "link"
    link.symlink_to(site, target_is_directory=True)
    index = OwnershipIndex.for_paths([link])

    for _ in range(2):  # the second round answers from the folder cache
        cffi = index.owner_of(link / "_cffi_backend.so")
        assert cffi is not None and cffi.name == "cffi"
        alias = index.owner_of(link / "alias.so")  # a symlinked file in a cached folder
        assert alias is not None and alias.name == "other"
    assert index.owner_of(link / "missing.so") is None


def test_resolved_paths_are_those_of_realpath(tmp_path: Path) -> None:
    (tmp_path / "elsewhere" / "inner").mkdir(parents=True)
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "jump").symlink_to(tmp_path / "elsewhere" / "inner")
    (tmp_path / "site" / "file").write_bytes(b"")
    (tmp_path / "site" / "to-file").symlink_to(tmp_path / "site" / "file")
    (tmp_path / "link").symlink_to(tmp_path / "site", target_is_directory=True)
    (tmp_path / "site" / "up").symlink_to("../elsewhere")  # relative, resolved from its folder
    (tmp_path / "site" / "loop").symlink_to("loop")
    index = OwnershipIndex()
    paths = [
        tmp_path / "link" / "up" / "inner" / "deeper" / "x.so",  # folders from their parents'
        tmp_path / "link" / "up" / "inner" / "x.so",
        tmp_path / "link" / "loop" / "sub" / "x.so",
        tmp_path / "link" / "file",
        tmp_path / "link" / "to-file",
        tmp_path / "link" / "jump" / "x.so",
        tmp_path / "link" / "jump" / ".." / "x.so",  # realpath: elsewhere/x.so, not site/x.so
        tmp_path / "link" / "missing" / "x.so",
        tmp_path / "link",
        tmp_path / "link" / "up" / "inner",  # a directory, told by its own lstat
    ]
    for _ in range(2):  # the second round answers from the folder cache
        for path in paths:
            real, is_dir = index._resolve(str(path))
            assert real == os.path.realpath(path), path
            assert is_dir in (None, os.path.isdir(path)), path  # told only when its lstat knew
