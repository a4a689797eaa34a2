"""Fusing two arch trees of one distribution into one universal2 tree.

Synthesized trees first (an arm64 "installed" tree with its .dist-info and RECORD, an x86_64
"wheel" tree): every Mach-O file is found by its magic, fused byte for byte as the fat writer
(and so llvm-lipo) makes it; conflicts stop before anything is written; RECORD verifies. Then
real wheels: cffi 1.17.1 (every RECORD row verifies; pip lists and uninstalls the result) and
numpy 1.26.4 (stops naming its differing files; accepted, every Mach-O file is fat).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional

import pytest

from nuitka_archguard.binaries import FileSource
from nuitka_archguard.binaries.fat import fat_bytes
from nuitka_archguard.binaries.macho import read_slices
from nuitka_archguard.fix.fuse import (
    PROVENANCE,
    FuseConflict,
    FuseError,
    fuse_trees,
    universal2_tags,
)
from tests import realwheels
from tests.synth import macho as synth

DIST = "demo-1.0.dist-info"


def sha256_b64(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def make_tree(root: Path, files: dict[str, bytes], tag: str, *, version: str = "1.0",
              links: Optional[dict[str, str]] = None, installed: bool = True) -> Path:  # fmt: skip
    """A tree with ``files``, ``links`` (path -> target) and a .dist-info whose RECORD lists
    them as pip writes it (``installed``) or no RECORD rows beyond the wheel's own."""
    dist = f"demo-{version}.dist-info"
    everything = dict(files)
    metadata = f"Metadata-Version: 2.1\nName: demo\nVersion: {version}\n"
    everything[f"{dist}/METADATA"] = metadata.encode()
    everything[f"{dist}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: synth\nRoot-Is-Purelib: false\nTag: {tag}\n".encode()
    )
    if installed:
        everything[f"{dist}/INSTALLER"] = b"pip\n"
    for relative, data in everything.items():
        path = root.joinpath(*relative.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for relative, target in (links or {}).items():
        path = root.joinpath(*relative.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, path)
    rows = [[p, sha256_b64(d), str(len(d))] for p, d in everything.items()]
    rows += [[f"{dist}/RECORD", "", ""], ["../../../bin/demo-tool", "sha256=abc", "12"]]
    buffer = io.StringIO()
    csv.writer(buffer).writerows(sorted(rows))
    (root / dist / "RECORD").write_bytes(buffer.getvalue().encode())
    return root


ARM_SO = synth.thin("arm64", "bundle", body=b"\xaa" * 100)
X86_SO = synth.thin("x86_64", "bundle", body=b"\xbb" * 90)
ARM_FW = synth.thin("arm64", "dylib", id_dylib="@rpath/QtCore.framework/Versions/A/QtCore")
X86_FW = synth.thin("x86_64", "dylib", id_dylib="@rpath/QtCore.framework/Versions/A/QtCore")
ARM_EXE = synth.thin("arm64", "executable")
X86_EXE = synth.thin("x86_64", "executable")
ARM_DSYM = synth.thin("arm64", "dsym")
X86_DSYM = synth.thin("x86_64", "dsym")
ARM_A = synth.archive(
    [("a.o", synth.thin("arm64", "object")), ("b.o", synth.thin("arm64", "object"))]
)
X86_A = synth.archive([("a.o", synth.thin("x86_64", "object"))])

BINARIES = {
    "demo/_ext.cpython-311-darwin.so": (ARM_SO, X86_SO),
    "demo/Qt/lib/QtCore.framework/Versions/A/QtCore": (ARM_FW, X86_FW),
    "demo/bin/helper": (ARM_EXE, X86_EXE),
    "demo/_ext.dSYM/Contents/Resources/DWARF/_ext": (ARM_DSYM, X86_DSYM),
    "demo/lib/libdemo.a": (ARM_A, X86_A),
}
SHARED = {"demo/__init__.py": b"VERSION = 1\n", "demo/data.txt": b"same\n"}
LINKS = {
    "demo/Qt/lib/QtCore.framework/Versions/Current": "A",
    "demo/Qt/lib/QtCore.framework/QtCore": "Versions/Current/QtCore",
}


def pair(tmp_path: Path, first_extra: Optional[dict[str, bytes]] = None,
         second_extra: Optional[dict[str, bytes]] = None) -> tuple[Path, Path]:  # fmt: skip
    first_files = {
        **SHARED,
        **{p: a for p, (a, _) in BINARIES.items()},
        "demo/__pycache__/__init__.cpython-311.pyc": b"pyc",
        **(first_extra or {}),
    }
    second_files = {
        **SHARED,
        **{p: b for p, (_, b) in BINARIES.items()},
        "demo/x86_only.txt": b"x\n",
        **(second_extra or {}),
    }
    first = make_tree(tmp_path / "arm64", first_files, "cp311-cp311-macosx_11_0_arm64", links=LINKS)
    second = make_tree(
        tmp_path / "x86_64",
        second_files,
        "cp311-cp311-macosx_10_9_x86_64",
        links=LINKS,
        installed=False,
    )
    return first, second


def record_rows(output: Path, dist: str = DIST) -> list[list[str]]:
    data = (output / dist / "RECORD").read_bytes()
    assert data.endswith(b"\r\n") and b"\r\n" in data  # pip's csv dialect
    return list(csv.reader(io.StringIO(data.decode())))


def assert_record_verifies(output: Path, dist: str) -> None:
    """Every row's hash and size match; every file in the tree is listed; RECORD's own row
    is empty; rows outside the tree are kept from the installed RECORD."""
    rows = record_rows(output, dist)
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    listed = set()
    for path, digest, size in rows:
        listed.add(path)
        if path == f"{dist}/RECORD" or path.startswith("../"):
            continue
        file = output.joinpath(*path.split("/"))
        if file.is_symlink():
            assert (digest, size) == ("", "")
            continue
        data = file.read_bytes()
        assert (digest, size) == (sha256_b64(data), str(len(data))), path
    assert [r for r in rows if r[0] == f"{dist}/RECORD"] == [[f"{dist}/RECORD", "", ""]]
    on_disk = set()
    for directory, folders, files in os.walk(output):
        for name in files + [f for f in folders if os.path.islink(os.path.join(directory, f))]:
            on_disk.add(Path(directory, name).relative_to(output).as_posix())
    assert on_disk <= listed
    assert listed - on_disk <= {p for p in listed if p.startswith("../")}


# -- synthesized trees ------------------------------------------------------------------------


def test_every_macho_found_by_magic_is_fused(tmp_path: Path) -> None:
    first, second = pair(tmp_path)
    output = tmp_path / "out"
    result = fuse_trees(first, second, output)
    assert result.fused == tuple(sorted(BINARIES))
    for relative, (arm, x86) in BINARIES.items():
        data = (output / relative).read_bytes()
        assert data == fat_bytes([arm, x86]), relative
    with FileSource(output / "demo/bin/helper") as source:
        assert [s.arch for s in read_slices(source)] == ["x86_64", "arm64"]
    assert result.identical == tuple(sorted([*SHARED, *LINKS]))
    assert result.only_first == ("demo/__pycache__/__init__.cpython-311.pyc",)
    assert result.only_second == ("demo/x86_only.txt",)
    assert result.accepted_different == () and result.already_fat == ()
    assert result.dist_info == DIST
    assert result.tags == ("cp311-cp311-macosx_10_9_universal2",)
    for relative, target in LINKS.items():
        assert os.readlink(output / relative) == target
    assert (output / "demo/Qt/lib/QtCore.framework/QtCore").read_bytes() == fat_bytes(
        [ARM_FW, X86_FW]
    )


def test_dist_info_rewritten_for_pip(tmp_path: Path) -> None:
    first, second = pair(tmp_path)
    output = tmp_path / "out"
    fuse_trees(first, second, output)
    wheel = (output / DIST / "WHEEL").read_text()
    assert wheel == (
        "Wheel-Version: 1.0\nGenerator: synth\nRoot-Is-Purelib: false\n"
        "Tag: cp311-cp311-macosx_10_9_universal2\n"
    )
    assert (output / DIST / "INSTALLER").read_bytes() == b"pip\n"
    assert_record_verifies(output, DIST)
    rows = record_rows(output)
    assert ["../../../bin/demo-tool", "sha256=abc", "12"] in rows
    assert f"{DIST}/{PROVENANCE}" in [r[0] for r in rows]
    provenance = json.loads((output / DIST / PROVENANCE).read_text())
    assert provenance["distribution"] == "demo" and provenance["version"] == "1.0"
    assert provenance["installed_tags"] == ["cp311-cp311-macosx_11_0_arm64"]
    assert provenance["wheel_tags"] == ["cp311-cp311-macosx_10_9_x86_64"]
    fused = {entry["path"]: entry for entry in provenance["fused"]}
    assert set(fused) == set(BINARIES)
    arm, x86 = BINARIES["demo/bin/helper"]
    assert fused["demo/bin/helper"]["installed_sha256"] == hashlib.sha256(arm).hexdigest()
    assert fused["demo/bin/helper"]["wheel_sha256"] == hashlib.sha256(x86).hexdigest()
    assert fused["demo/bin/helper"]["archs"] == ["x86_64", "arm64"]


def test_wheel_file_recorded_with_its_hash(tmp_path: Path) -> None:
    first, second = pair(tmp_path)
    wheel = tmp_path / "demo-1.0-cp311-cp311-macosx_10_9_x86_64.whl"
    wheel.write_bytes(b"zip bytes")
    fuse_trees(first, second, tmp_path / "out", wheel=wheel)
    provenance = json.loads((tmp_path / "out" / DIST / PROVENANCE).read_text())
    assert provenance["wheel"] == {
        "file": wheel.name,
        "sha256": hashlib.sha256(b"zip bytes").hexdigest(),
    }


def test_differing_files_stop_before_anything_is_written(tmp_path: Path) -> None:
    first, second = pair(
        tmp_path,
        {"demo/config.py": b"ARCH = 'arm64'\n", "demo/include/cfg.h": b"#define A 1\n"},
        {"demo/config.py": b"ARCH = 'x86_64'\n", "demo/include/cfg.h": b"#define A 2\n"},
    )
    output = tmp_path / "out"
    with pytest.raises(FuseConflict) as caught:
        fuse_trees(first, second, output)
    assert caught.value.paths == ("demo/config.py", "demo/include/cfg.h")
    assert "demo/config.py, demo/include/cfg.h" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert list(output.iterdir()) == [] if output.exists() else True


def test_accepted_differences_keep_the_installed_file(tmp_path: Path) -> None:
    first, second = pair(
        tmp_path,
        {"demo/config.py": b"ARCH = 'arm64'\n", "demo/include/cfg.h": b"#define A 1\n"},
        {"demo/config.py": b"ARCH = 'x86_64'\n", "demo/include/cfg.h": b"#define A 2\n"},
    )
    output = tmp_path / "out"
    result = fuse_trees(first, second, output,
                        accept_different=["demo/config.py", "cfg.h"])  # fmt: skip
    assert result.accepted_different == ("demo/config.py", "demo/include/cfg.h")
    assert result.notes == (
        "kept the installed demo/config.py (differs from the wheel's; accepted)",
        "kept the installed demo/include/cfg.h (differs from the wheel's; accepted)",
    )
    assert (output / "demo/config.py").read_bytes() == b"ARCH = 'arm64'\n"
    provenance = json.loads((output / DIST / PROVENANCE).read_text())
    assert provenance["accepted_different"] == ["demo/config.py", "demo/include/cfg.h"]
    assert_record_verifies(output, DIST)


def test_a_file_already_fat_is_kept(tmp_path: Path) -> None:
    both = fat_bytes([ARM_SO, X86_SO])
    first, second = pair(tmp_path, {"demo/universal.so": both}, {"demo/universal.so": X86_SO})
    result = fuse_trees(first, second, tmp_path / "out")
    assert result.already_fat == ("demo/universal.so",)
    assert (tmp_path / "out/demo/universal.so").read_bytes() == both


def test_overlapping_archs_cannot_be_fused(tmp_path: Path) -> None:
    mixed = fat_bytes([ARM_SO, synth.thin("i386")])
    first, second = pair(
        tmp_path,
        {"demo/odd.so": mixed},
        {"demo/odd.so": fat_bytes([X86_SO, synth.thin("i386", body=b"2")])},
    )
    expected = r"demo/odd.so: the installed file holds i386, arm64 and the wheel's x86_64, i386"
    with pytest.raises(FuseError, match=expected):
        fuse_trees(first, second, tmp_path / "out")


def test_corrupt_macho_is_an_error_not_a_conflict(tmp_path: Path) -> None:
    first, second = pair(tmp_path, {"demo/bad.so": ARM_SO[:30]}, {"demo/bad.so": X86_SO})
    output = tmp_path / "out"
    with pytest.raises(FuseError, match=r"demo/bad.so: .*truncated") as caught:
        fuse_trees(first, second, output, accept_different=["*"])
    assert not isinstance(caught.value, FuseConflict)


def test_archive_of_elf_objects_is_just_a_differing_file(tmp_path: Path) -> None:
    elf_a = synth.archive([("a.o", b"\x7fELF" + bytes(60))])
    elf_b = synth.archive([("a.o", b"\x7fELF" + bytes(61))])
    first, second = pair(tmp_path, {"demo/libelf.a": elf_a}, {"demo/libelf.a": elf_b})
    with pytest.raises(FuseConflict) as caught:
        fuse_trees(first, second, tmp_path / "out")
    assert caught.value.paths == ("demo/libelf.a",)


def test_symlinks_are_never_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"outside\n")
    links = {"demo/escape": str(secret), "demo/up": "../../secret.txt"}
    first = make_tree(tmp_path / "a", {"demo/x.py": b""}, "cp311-cp311-macosx_11_0_arm64",
                      links=links)  # fmt: skip
    second = make_tree(tmp_path / "b", {"demo/x.py": b""}, "cp311-cp311-macosx_10_9_x86_64",
                       links={"demo/escape": "/elsewhere"}, installed=False)  # fmt: skip
    output = tmp_path / "out"
    with pytest.raises(FuseConflict) as caught:
        fuse_trees(first, second, output)
    assert caught.value.paths == ("demo/escape",)
    result = fuse_trees(first, second, output, accept_different=["demo/escape"])
    assert os.readlink(output / "demo/escape") == str(secret)
    assert os.readlink(output / "demo/up") == "../../secret.txt"
    assert result.only_first == ("demo/up",)
    assert [r for r in record_rows(output) if r[0] == "demo/escape"] == [["demo/escape", "", ""]]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": "2.0"}, "not one release: demo 1.0 is installed, the wheel is demo 2.0"),
        ({"tag": "cp311-cp311-manylinux_2_17_x86_64"}, "not a macOS wheel tag"),
    ],
)
def test_not_one_release_or_not_macos(tmp_path: Path, change: dict[str, str],
                                      message: str) -> None:  # fmt: skip
    first = make_tree(tmp_path / "a", {"demo/x.py": b""}, "cp311-cp311-macosx_11_0_arm64")
    second = make_tree(tmp_path / "b", {"demo/x.py": b""},
                       change.get("tag", "cp311-cp311-macosx_10_9_x86_64"),
                       version=change.get("version", "1.0"), installed=False)  # fmt: skip
    with pytest.raises(FuseError, match=message):
        fuse_trees(first, second, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_bad_folders(tmp_path: Path) -> None:
    first, second = pair(tmp_path)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_bytes(b"")
    with pytest.raises(FuseError, match="output folder is not empty"):
        fuse_trees(first, second, tmp_path / "full")
    shutil.rmtree(second / DIST)
    expected = r"wheel tree must hold one \.dist-info folder \(found: none\)"
    with pytest.raises(FuseError, match=expected):
        fuse_trees(first, second, tmp_path / "out")
    with pytest.raises(FuseError, match="not a folder"):
        fuse_trees(first, tmp_path / "missing", tmp_path / "out")


def test_wheel_data_purelib_lands_at_the_root(tmp_path: Path) -> None:
    first, second = pair(tmp_path, {"demo/extra.py": b"e\n"})
    extra = second / "demo-1.0.data" / "platlib" / "demo" / "extra.py"
    extra.parent.mkdir(parents=True)
    extra.write_bytes(b"e\n")
    result = fuse_trees(first, second, tmp_path / "out")
    assert "demo/extra.py" in result.identical
    assert not (tmp_path / "out" / "demo-1.0.data").exists()
    scripts = second / "demo-1.0.data" / "scripts" / "tool"
    scripts.parent.mkdir(parents=True)
    scripts.write_bytes(b"#!python\n")
    with pytest.raises(FuseError, match="outside site-packages"):
        fuse_trees(first, second, tmp_path / "out2")


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        (["cp311-cp311-macosx_11_0_arm64"], ["cp311-cp311-macosx_10_9_x86_64"],
         ("cp311-cp311-macosx_10_9_universal2",)),
        (["cp38-abi3-macosx_11_0_arm64"], ["cp36-abi3-macosx_10_9_x86_64"],
         ("cp38-abi3-macosx_10_9_universal2",)),
        (["cp312-cp312-macosx_14_0_arm64"], ["cp312-cp312-macosx_14_0_x86_64"],
         ("cp312-cp312-macosx_14_0_universal2",)),
        (["cp311-cp311-macosx_10_15_x86_64.macosx_11_0_arm64"],
         ["cp311-cp311-macosx_10_12_x86_64"], ("cp311-cp311-macosx_10_12_universal2",)),
    ],
)  # fmt: skip
def test_universal2_tags(first: list[str], second: list[str], expected: tuple[str, ...]) -> None:
    assert universal2_tags(first, second) == expected


# -- real wheels ------------------------------------------------------------------------------


def _wheel_tree(project: str, version: str, platform: str) -> Path:
    try:
        return realwheels.extracted(realwheels.wheel(project, version, platform))
    except realwheels.NetworkUnavailable as error:
        pytest.skip(f"real wheels not cached and PyPI unreachable: {error}")


def _installed(spec: str, platform: str) -> Path:
    try:
        return realwheels.installed_target([spec], platform)
    except realwheels.NetworkUnavailable as error:
        pytest.skip(f"real wheels not cached and PyPI unreachable: {error}")


def _all_fat(output: Path) -> list[str]:
    """Relative paths of Mach-O files (and Mach-O archives) in ``output`` that are not fat
    with both arm64 and x86_64, checked with llvm-lipo-14 when present, else our reader."""
    thin = []
    lipo = shutil.which("llvm-lipo-14")
    for path in realwheels.iter_files(output):
        head = path.read_bytes()[:8]
        if realwheels.magic_kind(path) != "mach-o" and not head.startswith(b"!<arch>\n"):
            continue
        if lipo:
            archs = subprocess.run([lipo, "-archs", str(path)], capture_output=True,
                                   text=True, check=True).stdout.split()  # fmt: skip
        else:
            with FileSource(path) as source:
                archs = [s.arch for s in read_slices(source)]
        if sorted(archs) != ["arm64", "x86_64"] or head[:4] != b"\xca\xfe\xba\xbe":
            thin.append(path.relative_to(output).as_posix())
    return thin


@pytest.mark.realwheels
def test_real_cffi_fused_verifies_and_pip_uninstalls(tmp_path: Path) -> None:
    first = _installed("cffi==1.17.1", "macosx_11_0_arm64")
    second = _wheel_tree("cffi", "1.17.1", "macosx_14_0_x86_64")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    where = "import sysconfig; print(sysconfig.get_paths()['platlib'])"
    site = Path(subprocess.run([str(python), "-c", where], capture_output=True, text=True,
                               check=True).stdout.strip())  # fmt: skip
    staged = tmp_path / "staged"
    result = fuse_trees(first, second, staged)
    assert result.fused == ("_cffi_backend.cpython-311-darwin.so",)
    assert result.tags == ("cp311-cp311-macosx_10_9_universal2",)
    name = "_cffi_backend.cpython-311-darwin.so"
    assert (staged / name).read_bytes() == fat_bytes(
        [(first / name).read_bytes(), (second / name).read_bytes()]
    )
    lipo = shutil.which("llvm-lipo-14")
    if lipo:
        subprocess.run([lipo, "-create", str(first / name), str(second / name), "-output",
                        str(tmp_path / "lipo.so")], check=True)  # fmt: skip
        assert (staged / name).read_bytes() == (tmp_path / "lipo.so").read_bytes()
    assert_record_verifies(staged, "cffi-1.17.1.dist-info")
    # pip lists it, and uninstalls every file it holds.
    shutil.copytree(staged, site, symlinks=True, dirs_exist_ok=True)
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    listed = subprocess.run([*pip, "list", "--format=json"], capture_output=True, text=True,
                            check=True).stdout  # fmt: skip
    assert {"name": "cffi", "version": "1.17.1"} in json.loads(listed)
    subprocess.run([*pip, "uninstall", "-y", "cffi"], capture_output=True, check=True)
    left = sorted(p.name for p in site.iterdir()) if site.exists() else []
    assert left == []  # (pip even removes site-packages once it is empty)


NUMPY_OPENBLAS = {
    # numpy publishes two flavours per arch: OpenBLAS (these, with .dylibs) and Accelerate
    # (macosx_14_0, pinned in realwheels.py). 1.26.4's pinned pair is OpenBLAS already.
    "2.1.3": (
        realwheels.Pin("numpy", "2.1.3", "macosx_11_0_arm64",
                       "numpy-2.1.3-cp311-cp311-macosx_11_0_arm64.whl"),
        realwheels.Pin("numpy", "2.1.3", "macosx_10_9_x86_64",
                       "numpy-2.1.3-cp311-cp311-macosx_10_9_x86_64.whl"),
    ),
}  # fmt: skip


@pytest.mark.realwheels
@pytest.mark.parametrize(("version", "core"), [("1.26.4", "core"), ("2.1.3", "_core")])
def test_real_numpy_stops_on_differing_files_then_fuses_everything(
    version: str, core: str, tmp_path: Path
) -> None:
    if version in NUMPY_OPENBLAS:
        try:
            first, second = realwheels.extracted_all(NUMPY_OPENBLAS[version])
        except realwheels.NetworkUnavailable as error:
            pytest.skip(f"real wheels not cached and PyPI unreachable: {error}")
    else:
        first = _wheel_tree("numpy", version, "macosx_14_0_arm64")
        second = _wheel_tree("numpy", version, "macosx_14_0_x86_64")
    with pytest.raises(FuseConflict) as caught:
        fuse_trees(first, second, tmp_path / "out")
    paths = caught.value.paths
    # The two files NOTES.md names, and a .pyc numpy ships compiled on each build machine.
    assert paths == (
        "numpy/__config__.py",
        f"numpy/{core}/include/numpy/_numpyconfig.h",
        "numpy/distutils/__pycache__/conv_template.cpython-311.pyc",
    )
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    result = fuse_trees(first, second, tmp_path / "out", accept_different=paths)
    assert result.accepted_different == paths
    assert f"numpy/{core}/lib/libnpymath.a" in result.fused
    assert "numpy/random/lib/libnpyrandom.a" in result.fused
    assert len([p for p in result.fused if p.startswith("numpy/.dylibs/")]) == 4
    assert _all_fat(tmp_path / "out") == []
    assert_record_verifies(tmp_path / "out", f"numpy-{version}.dist-info")
    assert result.tags == ("cp311-cp311-macosx_10_9_universal2",)
    # LICENSE.txt and METADATA differ (the bundled libraries' licenses): the installed kept.
    assert f"numpy-{version}.dist-info/METADATA" in result.metadata_differs


def test_hostile_names_are_escaped_and_special_files_refused(tmp_path: Path) -> None:
    evil = "demo/\x1b[31mred\n.txt"
    first, second = pair(tmp_path, {evil: b"a"}, {evil: b"b"})
    with pytest.raises(FuseConflict) as caught:
        fuse_trees(first, second, tmp_path / "out")
    assert caught.value.paths == (evil,)  # the real name, for the caller
    message = str(caught.value)
    assert "\x1b" not in message and "\n" not in message and "red" in message
    os.mkfifo(first / "demo" / "pipe")
    with pytest.raises(FuseError, match="demo/pipe in the installed tree is not a file"):
        fuse_trees(first, second, tmp_path / "out")
    os.unlink(first / "demo" / "pipe")
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(FuseError, match="file: File exists"):
        fuse_trees(first, second, tmp_path / "file", accept_different=["*"])
