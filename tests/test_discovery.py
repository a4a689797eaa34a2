"""discovery: what is walked, what is skipped, and hostile trees and wheels."""

from __future__ import annotations

import os
import sys
import time
import zipfile
from pathlib import Path

import pytest

from nuitka_archguard.binaries import BinaryFormat
from nuitka_archguard.check.discovery import (
    Discovery,
    Found,
    PathError,
    RootKind,
    module_name,
    read_wheel_meta,
    resolve,
)
from tests.synth import elf, macho

ARM = macho.thin("arm64")
X86 = macho.thin("x86_64")

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file system features")


def found_in(path: Path | str) -> tuple[list[Found], Discovery]:
    discovery = Discovery()
    return list(discovery.binaries(resolve(str(path)))), discovery


def names(found: list[Found]) -> list[str]:
    return sorted(f.rel for f in found)


# -- roots ------------------------------------------------------------------------------------


def test_a_virtualenv_is_walked_through_its_site_packages(tmp_path: Path) -> None:
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    (site / "pkg").mkdir(parents=True)
    (site / "pkg" / "_m.abi3.so").write_bytes(ARM)
    (tmp_path / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "tool").write_bytes(ARM)  # not part of a build: not walked
    root = resolve(str(tmp_path))
    assert root.kind is RootKind.PREFIX and root.walk == (str(site),)
    found, _ = found_in(tmp_path)
    assert names(found) == ["pkg/_m.abi3.so"]


def test_a_conda_prefix_is_walked_through_lib(tmp_path: Path) -> None:
    (tmp_path / "conda-meta").mkdir()
    (tmp_path / "lib" / "python3.11" / "lib-dynload").mkdir(parents=True)
    (tmp_path / "lib" / "libffi.8.dylib").write_bytes(ARM)
    (tmp_path / "lib" / "python3.11" / "lib-dynload" / "_ctypes.cpython-311-darwin.so").write_bytes(
        ARM
    )
    root = resolve(str(tmp_path))
    assert root.kind is RootKind.PREFIX
    found, _ = found_in(tmp_path)
    assert names(found) == [
        "libffi.8.dylib",
        "python3.11/lib-dynload/_ctypes.cpython-311-darwin.so",
    ]
    ext = next(f for f in found if f.rel.endswith(".so"))
    assert module_name(ext.rel) == "_ctypes"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("app.dist", RootKind.DIST),
        ("My.app", RootKind.APP),
        ("site-packages", RootKind.SITE_PACKAGES),
        ("anything", RootKind.DIRECTORY),
    ],
)
def test_root_kinds(tmp_path: Path, name: str, kind: RootKind) -> None:
    (tmp_path / name).mkdir()
    assert resolve(str(tmp_path / name)).kind is kind


def test_a_pip_target_dir_counts_as_site_packages(tmp_path: Path) -> None:
    (tmp_path / "cffi-1.17.1.dist-info").mkdir()
    assert resolve(str(tmp_path)).kind is RootKind.SITE_PACKAGES


def test_missing_and_unreadable_paths_raise_path_error(tmp_path: Path) -> None:
    with pytest.raises(PathError, match="No such file"):
        resolve(str(tmp_path / "nope"))
    bad = tmp_path / "bad.whl"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(PathError, match="not a readable wheel"):
        resolve(str(bad))


def test_a_single_file_is_a_root(tmp_path: Path) -> None:
    one = tmp_path / "_x.abi3.so"
    one.write_bytes(X86)
    found, discovery = found_in(one)
    assert [f.info.archs for f in found] == [("x86_64",)]
    assert discovery.files_seen == 1


@pytest.mark.parametrize(
    ("rel", "module"),
    [
        ("cryptography/hazmat/bindings/_rust.abi3.so", "cryptography.hazmat.bindings._rust"),
        ("_cffi_backend.cpython-311-darwin.so", "_cffi_backend"),
        ("lib/python3.11/site-packages/pkg/_m.cp311-win_amd64.pyd", "pkg._m"),
        ("Contents/MacOS/pkg/_m.so", "pkg._m"),
    ],
)
def test_module_names(rel: str, module: str) -> None:
    assert module_name(rel) == module


# -- what is skipped --------------------------------------------------------------------------


def test_text_suffixes_metadata_and_pycache_are_not_opened(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "__pycache__").mkdir(parents=True)
    (tmp_path / "pkg-1.0.dist-info").mkdir()
    (tmp_path / "pkg" / "fake.py").write_bytes(ARM)  # a binary in disguise is never loaded
    (tmp_path / "pkg" / "__pycache__" / "x.so").write_bytes(ARM)
    (tmp_path / "pkg-1.0.dist-info" / "x.so").write_bytes(ARM)
    (tmp_path / "pkg" / "data.bin").write_bytes(b"\0" * 100)
    (tmp_path / "pkg" / "empty.so").write_bytes(b"")
    (tmp_path / "pkg" / "real.so").write_bytes(ARM)
    found, discovery = found_in(tmp_path)
    assert names(found) == ["pkg/real.so"]
    assert discovery.files_seen == 4  # fake.py, data.bin, empty.so, real.so


def test_java_class_files_are_not_binaries(tmp_path: Path) -> None:
    (tmp_path / "A.class").write_bytes(bytes.fromhex("cafebabe00000034") + b"\0" * 64)
    found, _ = found_in(tmp_path)
    assert found == []


def test_a_directory_named_like_a_library_is_walked(tmp_path: Path) -> None:
    (tmp_path / "x.so").mkdir()
    (tmp_path / "x.so" / "inner.so").write_bytes(ARM)
    found, _ = found_in(tmp_path)
    assert names(found) == ["x.so/inner.so"]


# -- hostile trees ------------------------------------------------------------------------------


@posix_only
def test_symlink_loops_end_and_aliases_are_seen_once(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "libreal.1.dylib").write_bytes(ARM)
    (tmp_path / "pkg" / "libreal.dylib").symlink_to("libreal.1.dylib")
    (tmp_path / "pkg" / "loop").symlink_to("..")
    (tmp_path / "pkg" / "self").symlink_to(".")
    found, _ = found_in(tmp_path)
    assert names(found) == ["pkg/libreal.1.dylib"]


@posix_only
def test_a_symlinked_directory_outside_the_tree_is_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "_o.abi3.so").write_bytes(ARM)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "linked").symlink_to(outside)
    found, _ = found_in(tree)
    assert names(found) == ["linked/_o.abi3.so"]


@posix_only
def test_dangling_symlinks(tmp_path: Path) -> None:
    (tmp_path / "_gone.abi3.so").symlink_to(tmp_path / "missing.so")
    (tmp_path / "notes.dat").symlink_to(tmp_path / "missing.dat")
    found, discovery = found_in(tmp_path)
    (gone,) = found
    assert gone.info.error == "dangling symlink"
    assert any("notes.dat: skipped: dangling symlink" in n for n in discovery.notes)


@posix_only
def test_a_fifo_is_never_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.so")
    (tmp_path / "ok.so").write_bytes(ARM)
    started = time.monotonic()
    found, discovery = found_in(tmp_path)
    assert time.monotonic() - started < 5
    assert names(found) == ["ok.so"]
    assert any("pipe.so: skipped: not a regular file" in n for n in discovery.notes)


@posix_only
def test_a_symlink_to_a_fifo_is_never_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "link.so").symlink_to(tmp_path / "pipe")
    found, discovery = found_in(tmp_path)
    assert found == []
    assert any("link.so: skipped: not a regular file" in n for n in discovery.notes)


@posix_only
@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads anything")
def test_unreadable_files_and_directories(tmp_path: Path) -> None:
    lib = tmp_path / "_locked.abi3.so"
    lib.write_bytes(ARM)
    lib.chmod(0)
    other = tmp_path / "locked.dat"
    other.write_bytes(b"x")
    other.chmod(0)
    sub = tmp_path / "closed"
    sub.mkdir()
    sub.chmod(0)
    try:
        found, discovery = found_in(tmp_path)
    finally:
        sub.chmod(0o755)
    (locked,) = found
    assert locked.info.error and "ermission" in locked.info.error
    assert any("locked.dat: skipped" in n for n in discovery.notes)
    assert any("closed: not scanned" in n for n in discovery.notes)


@posix_only
def test_names_that_are_not_utf8(tmp_path: Path) -> None:
    raw = os.path.join(os.fsencode(tmp_path), b"caf\xe9.so")
    with open(raw, "wb") as handle:
        handle.write(ARM)
    found, _ = found_in(tmp_path)
    (one,) = found
    assert one.info.archs == ("arm64",)
    assert one.rel == b"caf\xe9.so".decode("utf-8", "surrogateescape")


def test_a_truncated_binary_is_unreadable_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "_cut.abi3.so").write_bytes(ARM[:20])
    (tmp_path / "ok.so").write_bytes(ARM)
    found, _ = found_in(tmp_path)
    by = {f.rel: f for f in found}
    assert by["_cut.abi3.so"].info.error
    assert by["_cut.abi3.so"].info.format is BinaryFormat.MACHO
    assert by["ok.so"].info.error is None


def test_a_sparse_huge_file_costs_only_its_headers(tmp_path: Path) -> None:
    big = tmp_path / "huge.so"
    with open(big, "wb") as handle:
        handle.write(elf.elf("x86_64"))
        handle.truncate(10 * 1024**3)
    started = time.monotonic()
    found, _ = found_in(tmp_path)
    assert time.monotonic() - started < 5
    assert found[0].info.archs == ("x86_64",)


# -- wheels --------------------------------------------------------------------------------------


def make_wheel(path: Path, members: list[tuple[str, bytes]], **meta: str) -> Path:
    name = meta.get("name", "thing")
    version = meta.get("version", "1.0")
    tag = meta.get("tag", "cp311-cp311-macosx_11_0_arm64")
    info = f"{name}-{version}.dist-info"
    requires = "".join(f"Requires-Dist: {r}\n" for r in meta.get("requires", "").split(",") if r)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members:
            archive.writestr(member, data)
        archive.writestr(f"{info}/WHEEL", f"Wheel-Version: 1.0\nTag: {tag}\n")
        archive.writestr(
            f"{info}/METADATA",
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{requires}",
        )
    return path


def test_wheels_are_read_in_place(tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path / "thing-1.0-cp311-cp311-macosx_11_0_arm64.whl",
        [("thing/_t.cpython-311-darwin.so", ARM), ("thing/__init__.py", b"")],
        requires="cffi>=1.12",
    )
    before = sorted(os.listdir(tmp_path))
    found, _ = found_in(wheel)
    assert sorted(os.listdir(tmp_path)) == before
    (one,) = found
    assert one.path == f"{wheel}/thing/_t.cpython-311-darwin.so"
    assert one.wheel == str(wheel)
    assert one.info.archs == ("arm64",)
    meta = read_wheel_meta(str(wheel))
    assert (meta.name, meta.version, meta.tags) == (
        "thing",
        "1.0",
        ("cp311-cp311-macosx_11_0_arm64",),
    )
    assert meta.requires == ("cffi",)  # canonical names (metadata.required_names)


def test_wheel_member_names_are_only_names(tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path / "evil-1.0-py3-none-any.whl",
        [("../escape.so", ARM), ("/abs/olute.so", ARM), ("ok.so", ARM)],
        name="evil",
    )
    found, _ = found_in(wheel)
    assert names(found) == ["../escape.so", "/abs/olute.so", "ok.so"]
    assert not (tmp_path.parent / "escape.so").exists()
    assert not Path("/abs/olute.so").exists()


def test_duplicate_member_names_are_each_checked(tmp_path: Path) -> None:
    wheel = tmp_path / "dup-1.0-py3-none-any.whl"
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("dup.so", ARM)
        archive.writestr("dup.so", X86)
    found, discovery = found_in(wheel)
    assert sorted(f.info.archs for f in found) == [("arm64",), ("x86_64",)]
    assert any("duplicate member name" in n for n in discovery.notes)


def test_a_zip_bomb_costs_a_bounded_read(tmp_path: Path) -> None:
    wheel = tmp_path / "bomb-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.so", ARM[:32] + b"\0" * (64 * 1024 * 1024))
    started = time.monotonic()
    found, _ = found_in(wheel)
    assert time.monotonic() - started < 5
    (bomb,) = found
    assert bomb.info.format is BinaryFormat.MACHO  # headers read; nothing decompressed whole


def test_a_member_claiming_a_huge_size(tmp_path: Path) -> None:
    wheel = tmp_path / "liar-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("liar.so", ARM)
    data = bytearray(wheel.read_bytes())
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (0xFFFFFFF0).to_bytes(4, "little")  # uncompressed size
    wheel.write_bytes(bytes(data))
    found, _ = found_in(wheel)
    (liar,) = found
    assert liar.info.format is BinaryFormat.MACHO  # read or unreadable, never unbounded


def test_a_corrupt_member_is_unreadable_and_the_rest_is_scanned(tmp_path: Path) -> None:
    wheel = tmp_path / "broken-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a_broken.so", ARM + b"\0" * 4096)
        archive.writestr("b_fine.so", X86)
    data = bytearray(wheel.read_bytes())
    local = data.find(b"PK\x03\x04")
    start = local + 30 + len("a_broken.so")
    data[start : start + 16] = b"\xff" * 16  # garbage deflate stream
    wheel.write_bytes(bytes(data))
    found, _ = found_in(wheel)
    by = {f.rel: f for f in found}
    assert by["a_broken.so"].info.error
    assert by["b_fine.so"].info.archs == ("x86_64",)


def test_a_corrupt_central_directory_is_a_path_error(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "cd-1.0-py3-none-any.whl", [("x.so", ARM)], name="cd")
    data = bytearray(wheel.read_bytes())
    central = data.find(b"PK\x01\x02")
    data[central : central + 4] = b"JUNK"  # the central directory's first entry
    wheel.write_bytes(bytes(data))
    with pytest.raises(PathError, match="not a readable wheel"):
        resolve(str(wheel))


def test_files_that_cannot_be_opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Permission errors, simulated so the test also means something when run as root."""
    (tmp_path / "_locked.abi3.so").write_bytes(ARM)
    (tmp_path / "locked.dat").write_bytes(b"x")
    (tmp_path / "fine.so").write_bytes(ARM)
    real_open = os.open

    def fake_open(path: str, flags: int, *args: int) -> int:
        if "locked" in os.fspath(path):
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", fake_open)
    found, discovery = found_in(tmp_path)
    by = {f.rel: f for f in found}
    assert by["_locked.abi3.so"].info.error == "Permission denied"
    assert by["fine.so"].info.error is None
    assert any("locked.dat: skipped: Permission denied" in n for n in discovery.notes)
