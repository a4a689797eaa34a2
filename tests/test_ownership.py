"""Ownership: pip (RECORD), conda (conda-meta), Homebrew (Cellar), and the directory
fallback; who needs what; robustness against broken metadata."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

import pytest

import nuitka_archguard.check.ownership as ownership
from nuitka_archguard.check.ownership import (
    Distribution,
    OwnershipIndex,
    homebrew_owner,
    owner_of_in_tree,
)

CFFI_SO = "_cffi_backend.cpython-311-darwin.so"


def write_dist(
    site: Path,
    name: str,
    version: str,
    files: list[str],
    *,
    tags: Optional[list[str]] = None,
    requires: tuple[str, ...] = (),
    installer: Optional[str] = "pip",
    direct_url: Optional[dict[str, object]] = None,
    metadata: Optional[str] = None,
    record_extra: str = "",
) -> Path:
    """A real-looking .dist-info, as pip writes it, plus the files it lists."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    if metadata is None:
        metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
        metadata += "\nA long description.\n\nRequires-Dist: not-a-header\n"
    (info / "METADATA").write_text(metadata)
    wheel = "Wheel-Version: 1.0\nGenerator: bdist_wheel (0.44.0)\nRoot-Is-Purelib: false\n"
    wheel += "".join(f"Tag: {t}\n" for t in (tags or []))
    if tags is not None:
        (info / "WHEEL").write_text(wheel)
    if installer is not None:
        (info / "INSTALLER").write_text(installer + "\n")
    if direct_url is not None:
        (info / "direct_url.json").write_text(json.dumps(direct_url))
    rows = []
    for rel in files:
        target = (site / rel).resolve()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"\xcf\xfa\xed\xfe" + b"\0" * 28)
        quoted = f'"{rel}"' if "," in rel else rel
        rows.append(f"{quoted},sha256=abc,32")
    dist_rel = info.name
    rows += [f"{dist_rel}/METADATA,,", f"{dist_rel}/RECORD,,"]
    (info / "RECORD").write_text("\n".join(rows) + "\n" + record_extra)
    return info


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    """A venv with cffi (arm64 wheel), cryptography (universal2, needs cffi) and friends."""
    prefix = tmp_path / "venv"
    site = prefix / "lib" / "python3.11" / "site-packages"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "bin" / "python").write_text("")
    (prefix / "pyvenv.cfg").write_text("home = /usr/bin\n")
    write_dist(
        site, "cffi", "1.17.1",
        [CFFI_SO, "cffi/__init__.py", "cffi/odd,name.py"],
        tags=["cp311-cp311-macosx_11_0_arm64"],
        requires=("pycparser",),
    )  # fmt: skip
    write_dist(
        site, "cryptography", "43.0.3",
        ["cryptography/hazmat/bindings/_rust.abi3.so", "../../../bin/crypto-tool"],
        tags=["cp39-abi3-macosx_10_9_universal2"],
        requires=(
            "cffi >=1.12 ; platform_python_implementation != 'PyPy'",
            "pytest >=6 ; extra == 'test'",
            "bcrypt >=3.1.5 ; (python_version >= '3.8') and extra == 'ssh'",
        ),
    )  # fmt: skip
    write_dist(
        site, "Other_Pkg", "1.0", ["other_pkg/x.py"],
        tags=["py3-none-any"], requires=("CFFI", "not a valid requirement ((("),
    )  # fmt: skip
    return prefix


def site_of(prefix: Path) -> Path:
    return prefix / "lib" / "python3.11" / "site-packages"


# -- pip -------------------------------------------------------------------------------------


def test_pip_owner_from_record(venv: Path) -> None:
    index = OwnershipIndex.for_paths([venv])
    dist = index.owner_of(site_of(venv) / CFFI_SO)
    assert dist is not None
    assert (dist.name, dist.version, dist.kind, dist.installer) == ("cffi", "1.17.1", "pip", "pip")
    assert dist.wheel_tags == ("cp311-cp311-macosx_11_0_arm64",)
    assert dist.wheel_tag == "cp311-cp311-macosx_11_0_arm64"
    assert dist.platform_tags == ("macosx_11_0_arm64",)
    assert dist.built_from_source is False
    assert dist.requires == ("pycparser",)
    assert dist.requirement == "cffi==1.17.1"
    assert str(dist) == "cffi 1.17.1"
    assert dist.describe() == "cffi 1.17.1 (wheel cp311-cp311-macosx_11_0_arm64)"
    assert dist.to_json() == {
        "name": "cffi",
        "version": "1.17.1",
        "installer": "pip",
        "wheel_tags": ["cp311-cp311-macosx_11_0_arm64"],
        "built_from_source": False,
        "kind": "pip",
    }
    assert dist.location == str(site_of(venv) / "cffi-1.17.1.dist-info")
    # a RECORD path with a comma (csv-quoted) and one that leaves site-packages
    assert index.owner_of(site_of(venv) / "cffi" / "odd,name.py") == dist
    tool = index.owner_of(venv / "bin" / "crypto-tool")
    assert tool is not None and tool.name == "cryptography"
    assert index.owner_of(site_of(venv) / "cffi-1.17.1.dist-info" / "RECORD") == dist


def test_pip_roots_found_from_every_kind_of_path(venv: Path) -> None:
    site = site_of(venv)
    so = site / CFFI_SO
    for given in ([venv], [site], [site / "cffi"], [so], [], [str(venv)]):
        index = OwnershipIndex.for_paths(given)
        found = index.owner_of(str(so))
        assert found is not None and found.name == "cffi", given


def test_pip_target_dir(tmp_path: Path) -> None:
    target = tmp_path / "target"
    write_dist(target, "cffi", "1.17.1", [CFFI_SO], tags=["cp311-cp311-macosx_11_0_arm64"])
    index = OwnershipIndex.for_paths([target])
    dist = index.owner_of(target / CFFI_SO)
    assert dist is not None and dist.name == "cffi"
    # a --target dir is found only when given: nothing tells it apart from any folder
    assert OwnershipIndex().owner_of(target / CFFI_SO) is None


def test_windows_style_lib_site_packages(tmp_path: Path) -> None:
    prefix = tmp_path / "winvenv"
    site = prefix / "Lib" / "site-packages"
    write_dist(site, "cffi", "1.17.1", ["_cffi_backend.cp311-win_amd64.pyd", "../../Scripts/x.exe"],
               tags=["cp311-cp311-win_amd64"])  # fmt: skip
    index = OwnershipIndex.for_paths([prefix])
    assert index.owner_of(site / "_cffi_backend.cp311-win_amd64.pyd") is not None
    exe = index.owner_of(prefix / "Scripts" / "x.exe")
    assert exe is not None and exe.name == "cffi"


def test_symlinked_paths_resolve(venv: Path, tmp_path: Path) -> None:
    link = tmp_path / "link-to-venv"
    link.symlink_to(venv, target_is_directory=True)
    index = OwnershipIndex.for_paths([link])
    dist = index.owner_of(link / "lib" / "python3.11" / "site-packages" / CFFI_SO)
    assert dist is not None and dist.name == "cffi"


def test_unknown_file_has_no_owner(venv: Path, tmp_path: Path) -> None:
    index = OwnershipIndex.for_paths([venv])
    assert index.owner_of(site_of(venv) / "stray.so") is None
    assert index.owner_of(tmp_path / "elsewhere" / "x.so") is None
    assert index.owner_of("") is None


def test_needed_by(venv: Path) -> None:
    index = OwnershipIndex.for_paths([venv])
    assert index.needed_by("cffi") == ("Other_Pkg", "cryptography")
    assert index.needed_by("CFFI") == index.needed_by("cffi")
    assert index.needed_by("pytest") == ()  # only an extra needs it
    assert index.needed_by("bcrypt") == ()
    assert index.needed_by("pycparser") == ("cffi",)
    assert index.needed_by("nothing") == ()
    crypto = index.get("Cryptography")
    assert crypto is not None and crypto.requires == ("cffi",)
    assert {d.name for d in index.distributions()} == {"cffi", "cryptography", "Other_Pkg"}
    assert index.get("absent") is None


def test_records_are_read_once_and_lazily(venv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = ownership._record_files

    def counting(meta_dir: str, root: str, notes: list[str]):  # type: ignore[no-untyped-def]
        calls.append(meta_dir)
        return real(meta_dir, root, notes)

    monkeypatch.setattr(ownership, "_record_files", counting)
    index = OwnershipIndex.for_paths([venv])
    assert calls == []  # building the index reads nothing
    for _ in range(3):
        index.owner_of(site_of(venv) / CFFI_SO)
        index.owner_of(site_of(venv) / "missing.so")
    assert len(calls) == 3  # one per dist-info, once


@pytest.mark.parametrize(
    ("direct_url", "tags", "expected"),
    [
        (None, ["cp311-cp311-macosx_11_0_arm64"], False),
        (None, ["cp311-cp311-manylinux_2_17_x86_64", "cp311-cp311-manylinux2014_x86_64"], False),
        (None, ["cp311-cp311-linux_x86_64"], True),  # PyPI refuses these: built here
        (None, [], True),  # WHEEL without a Tag line
        (None, None, True),  # no WHEEL at all
        ({"url": "file:///src/cffi", "dir_info": {}}, ["cp311-cp311-macosx_14_0_arm64"], True),
        ({"url": "file:///src", "dir_info": {"editable": True}}, ["cp311-cp311-any"], True),
        ({"url": "git+https://x/y", "vcs_info": {"vcs": "git"}}, ["cp311-cp311-macosx_14_0_arm64"],
         True),
        ({"url": "https://x/cffi-1.17.1.tar.gz", "archive_info": {}},
         ["cp311-cp311-macosx_14_0_arm64"], True),
        ({"url": "https://x/cffi-1.17.1-cp311-cp311-macosx_11_0_arm64.whl", "archive_info": {}},
         ["cp311-cp311-macosx_11_0_arm64"], False),
    ],
)  # fmt: skip
def test_built_from_source_rule(
    tmp_path: Path,
    direct_url: Optional[dict[str, object]],
    tags: Optional[list[str]],
    expected: bool,
) -> None:
    site = tmp_path / "site-packages"
    write_dist(site, "cffi", "1.17.1", [CFFI_SO], tags=tags, direct_url=direct_url)
    dist = OwnershipIndex.for_paths([site]).owner_of(site / CFFI_SO)
    assert dist is not None and dist.built_from_source is expected


def test_compressed_wheel_tags_are_expanded(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    write_dist(site, "cffi", "1.17.1", [CFFI_SO],
               tags=["cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"])  # fmt: skip
    dist = OwnershipIndex.for_paths([site]).owner_of(site / CFFI_SO)
    assert dist is not None
    assert set(dist.wheel_tags) == {
        "cp311-cp311-manylinux_2_17_x86_64",
        "cp311-cp311-manylinux2014_x86_64",
    }


def test_broken_metadata_is_survived(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    write_dist(site, "cffi", "1.17.1", [CFFI_SO], tags=["garbage tag", "a-b-c"],
               metadata="\x00\xff not headers at all \n\n", installer=None,
               record_extra='"unterminated,quote\n')  # fmt: skip
    (site / "cffi-1.17.1.dist-info" / "direct_url.json").write_text("{not json")
    # a dist-info whose RECORD is unreadable (a directory) and one with no files at all
    bad = site / "broken-2.0.dist-info"
    (bad / "RECORD").mkdir(parents=True)
    (bad / "METADATA").mkdir()
    (site / "empty-1.0.dist-info").mkdir()
    index = OwnershipIndex.for_paths([site])
    dist = index.owner_of(site / CFFI_SO)
    assert dist is not None
    assert (dist.name, dist.version) == ("cffi", "1.17.1")  # from the directory name
    assert dist.installer is None
    assert dist.wheel_tags == ("a-b-c",)
    assert index.needed_by("cffi") == ()
    names = {d.name for d in index.distributions()}
    assert names == {"cffi", "broken", "empty"}
    assert any("RECORD" in note for note in index.notes)


def test_huge_metadata_description_is_not_parsed(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    body = "Requires-Dist: fake\n" * 200_000
    write_dist(site, "big", "1.0", ["big.so"], tags=["py3-none-any"],
               metadata=f"Name: big\nVersion: 1.0\nRequires-Dist: cffi\n\n{body}")  # fmt: skip
    index = OwnershipIndex.for_paths([site])
    big = index.get("big")
    assert big is not None and big.requires == ("cffi",)


def test_egg_info(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    egg = site / "legacy-0.5-py3.11.egg-info"
    egg.mkdir(parents=True)
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: legacy\nVersion: 0.5\n")
    (egg / "requires.txt").write_text("cffi>=1.0\n\n[test]\npytest\n")
    (egg / "installed-files.txt").write_text("../legacy/_speedups.so\n../legacy/__init__.py\n")
    (site / "legacy").mkdir()
    (site / "legacy" / "_speedups.so").write_bytes(b"\x7fELF")
    index = OwnershipIndex.for_paths([site])
    dist = index.owner_of(site / "legacy" / "_speedups.so")
    assert dist is not None
    assert (dist.name, dist.version, dist.built_from_source) == ("legacy", "0.5", True)
    assert index.needed_by("cffi") == ("legacy",)
    assert index.needed_by("pytest") == ()


def make_conda_env(tmp_path: Path) -> Path:
    prefix = tmp_path / "miniforge" / "envs" / "build"
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True)
    site = "lib/python3.11/site-packages"
    records = {
        "cffi-1.17.1-py311h3a79f62_0.json": {
            "name": "cffi",
            "version": "1.17.1",
            "build": "py311h3a79f62_0",
            "channel": "https://conda.anaconda.org/conda-forge/osx-arm64",
            "subdir": "osx-arm64",
            "depends": ["libffi >=3.4,<4.0a0", "python >=3.11,<3.12.0a0", "pycparser"],
            "files": [f"{site}/{CFFI_SO}", f"{site}/cffi/__init__.py"],
        },
        "cryptography-43.0.3-py311h.json": {
            "name": "cryptography",
            "version": "43.0.3",
            "channel": "conda-forge",
            "url": "https://conda.anaconda.org/conda-forge/osx-arm64/cryptography-43.0.3.conda",
            "depends": ["cffi >=1.12", "openssl >=3.3"],
            "files": [f"{site}/cryptography/hazmat/bindings/_rust.abi3.so"],
        },
        "libffi-3.4.6.json": {
            "name": "libffi",
            "version": "3.4.6",
            "channel": "https://repo.anaconda.com/pkgs/main",
            "subdir": "osx-arm64",
            "files": ["lib/libffi.8.dylib"],
        },
        "broken.json": "{not json",
        "list.json": [1, 2, 3],
    }
    for file_name, data in records.items():
        text = data if isinstance(data, str) else json.dumps(data)
        (meta / file_name).write_text(text)
    (prefix / "conda-meta" / "history").write_text("")
    # conda installs pip-style metadata too; conda must win
    write_dist(prefix / site, "cffi", "1.17.1", [CFFI_SO], tags=["cp311-cp311-macosx_11_0_arm64"],
               installer="conda")  # fmt: skip
    (prefix / "lib" / "libffi.8.dylib").write_bytes(b"\xcf\xfa\xed\xfe")
    return prefix


def test_conda_owner(tmp_path: Path) -> None:
    prefix = make_conda_env(tmp_path)
    so = prefix / "lib" / "python3.11" / "site-packages" / CFFI_SO
    for given in ([prefix], [so.parent], []):
        index = OwnershipIndex.for_paths(given)
        dist = index.owner_of(so)
        assert dist is not None, given
        assert (dist.name, dist.version, dist.kind, dist.installer) == (
            "cffi", "1.17.1", "conda", "conda",
        )  # fmt: skip
        assert (dist.channel, dist.subdir) == ("conda-forge", "osx-arm64")
        assert dist.to_json()["channel"] == "conda-forge"
        assert dist.to_json()["subdir"] == "osx-arm64"
        assert "conda, conda-forge/osx-arm64" in dist.describe()
    index = OwnershipIndex.for_paths([prefix])
    libffi = index.owner_of(prefix / "lib" / "libffi.8.dylib")
    assert libffi is not None and (libffi.name, libffi.channel) == ("libffi", "main")
    crypto = index.get("cryptography")
    assert crypto is not None and crypto.subdir == "osx-arm64"  # from the package URL
    assert index.needed_by("cffi") == ("cryptography",)
    assert index.needed_by("libffi") == ("cffi",)
    assert any("broken.json" in note for note in index.notes)


# -- Homebrew --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "name", "version", "prefix"),
    [
        ("/opt/homebrew/Cellar/openssl@3/3.3.1/lib/libssl.3.dylib", "openssl@3", "3.3.1",
         "/opt/homebrew"),
        ("/usr/local/Cellar/libffi/3.4.6_1/lib/libffi.8.dylib", "libffi", "3.4.6_1",
         "/usr/local"),
        ("/home/linuxbrew/.linuxbrew/Cellar/zlib/1.3.1/lib/libz.so.1", "zlib", "1.3.1",
         "/home/linuxbrew/.linuxbrew"),
    ],
)  # fmt: skip
def test_homebrew_known_prefixes(path: str, name: str, version: str, prefix: str) -> None:
    for dist in (homebrew_owner(path), OwnershipIndex().owner_of(path)):
        assert dist is not None
        assert (dist.name, dist.version, dist.kind, dist.installer) == (
            name, version, "homebrew", "homebrew",
        )  # fmt: skip
        assert dist.location == prefix
        assert dist.describe() == f"{name} {version} (Homebrew formula)"


def test_homebrew_custom_prefix_symlink_and_receipt(tmp_path: Path) -> None:
    prefix = tmp_path / "brew"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "bin" / "brew").write_text("#!/bin/sh\n")
    keg = prefix / "Cellar" / "libffi" / "3.4.6"
    (keg / "lib").mkdir(parents=True)
    (keg / "lib" / "libffi.8.dylib").write_bytes(b"\xcf\xfa\xed\xfe")
    (keg / "INSTALL_RECEIPT.json").write_text(json.dumps({
        "poured_from_bottle": False,
        "runtime_dependencies": [{"full_name": "zlib", "version": "1.3"}, "junk"],
    }))  # fmt: skip
    (prefix / "lib").mkdir()
    (prefix / "lib" / "libffi.dylib").symlink_to(keg / "lib" / "libffi.8.dylib")
    dist = OwnershipIndex.for_paths([prefix]).owner_of(prefix / "lib" / "libffi.dylib")
    assert dist is not None and (dist.name, dist.version) == ("libffi", "3.4.6")
    # a custom prefix outside the given paths could be planted: not trusted
    assert OwnershipIndex().owner_of(prefix / "lib" / "libffi.dylib") is None
    assert OwnershipIndex.for_paths([tmp_path / "elsewhere"]).owner_of(keg / "lib") is None
    assert dist.built_from_source is True and dist.requires == ("zlib",)
    # a "Cellar" folder elsewhere is not Homebrew
    other = tmp_path / "x" / "Cellar" / "a" / "1" / "lib.so"
    assert homebrew_owner(other) is None
    assert homebrew_owner("/opt/homebrew/Cellar/short") is None


# -- no metadata: .dist folders and .app bundles ---------------------------------------------


@pytest.mark.parametrize(
    ("path", "root", "name", "location"),
    [
        ("/b/main.dist/cryptography/hazmat/bindings/_rust.abi3.so", "/b/main.dist",
         "cryptography", "/b/main.dist/cryptography"),
        ("/b/main.dist/_cffi_backend.cpython-311-darwin.so", "/b/main.dist", "_cffi_backend",
         "/b/main.dist/_cffi_backend.cpython-311-darwin.so"),
        ("/b/main.dist/_cffi_backend.so", "/b/main.dist", "_cffi_backend", None),
        ("/b/main.dist/_cffi_backend.cp311-win_amd64.pyd", "/b/main.dist", "_cffi_backend", None),
        ("/b/main.dist/libffi.so.8", "/b/main.dist", "libffi.so.8", None),
        ("/b/main.dist/numpy.libs/libopenblas.so", "/b/main.dist", "numpy", None),
        ("/b/A.app/Contents/MacOS/cffi/x.so", "/b/A.app", "cffi", "/b/A.app/Contents/MacOS/cffi"),
        ("/b/A.app/Contents/MacOS/_cffi_backend.so", "/b/A.app", "_cffi_backend", None),
        ("/b/A.app/Contents/Frameworks/Python.framework/Python", "/b/A.app", "Python.framework",
         None),
        ("/b/A.app/Contents/Resources/PIL/.dylibs/libjpeg.dylib", "/b/A.app", "PIL", None),
        ("/b/dist/A.app/Contents/MacOS/cffi/x.so", "/b/dist", "cffi",
         "/b/dist/A.app/Contents/MacOS/cffi"),
    ],
)  # fmt: skip
def test_owner_of_in_tree(path: str, root: str, name: str, location: Optional[str]) -> None:
    dist = owner_of_in_tree(path, root)
    assert dist is not None
    assert (dist.name, dist.version, dist.kind) == (name, None, "directory")
    if location is not None:
        assert dist.location == os.path.abspath(location)
    assert dist.to_json()["version"] is None
    assert "no package metadata" in dist.describe()


def test_owner_of_in_tree_outside_root() -> None:
    assert owner_of_in_tree("/elsewhere/x.so", "/b/main.dist") is None
    assert owner_of_in_tree("/b/main.dist", "/b/main.dist") is None
    assert owner_of_in_tree("/b/A.app/Contents", "/b/A.app") is None


def test_plain_directory_has_no_pip_owner(tmp_path: Path) -> None:
    dist_dir = tmp_path / "main.dist"
    (dist_dir / "cffi").mkdir(parents=True)
    (dist_dir / "cffi" / "x.so").write_bytes(b"\x7fELF")
    assert OwnershipIndex.for_paths([dist_dir]).owner_of(dist_dir / "cffi" / "x.so") is None


def test_distribution_defaults_and_tag_choice() -> None:
    dist = Distribution("x", "1", wheel_tags=("py3-none-any", "cp311-cp311-win_amd64"))
    assert dist.kind == "pip" and dist.wheel_tag == "cp311-cp311-win_amd64"
    assert Distribution("x", "1", wheel_tags=("py3-none-any",)).wheel_tag == "py3-none-any"
    assert Distribution("x", None).wheel_tag is None
    assert Distribution("x", None).requirement == "x"
    assert (
        Distribution("x", "1", built_from_source=True).describe() == "x 1 (pip, built from source)"
    )


# -- real wheels -----------------------------------------------------------------------------

_REAL = ("cffi==1.17.1", "cryptography==43.0.3")


def real_target_dir(platform: str, requirements: tuple[str, ...]) -> Path:
    """``pip install --target`` of real PyPI wheels for a foreign platform, cached outside
    the repository (``$ARCHGUARD_CACHE`` or ``~/.cache/nuitka-archguard-tests``)."""
    cache = (
        Path(os.environ.get("ARCHGUARD_CACHE") or Path.home() / ".cache" / "nuitka-archguard-tests")
        / "ownership"
    )
    dest = cache / f"{platform}-{'-'.join(r.replace('==', '-') for r in requirements)}"
    if (dest / ".complete").exists():
        return dest
    cache.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=cache, prefix=".tmp-"))
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--only-binary=:all:",
        "--python-version", "3.11", "--platform", platform, "--target", str(work),
        *requirements,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        shutil.rmtree(work, ignore_errors=True)
        pytest.skip(f"cannot download real wheels: {result.stderr.strip()[-300:]}")
    (work / ".complete").write_text("")
    try:
        os.replace(work, dest)
    except OSError:  # another run finished first
        shutil.rmtree(work, ignore_errors=True)
    return dest


@pytest.mark.realwheels
def test_real_cffi_and_cryptography() -> None:
    folder = real_target_dir("macosx_11_0_arm64", _REAL)
    index = OwnershipIndex.for_paths([folder])
    dist = index.owner_of(folder / CFFI_SO)
    assert dist is not None
    assert (dist.name, dist.version, dist.installer) == ("cffi", "1.17.1", "pip")
    assert dist.wheel_tag == "cp311-cp311-macosx_11_0_arm64"
    assert dist.built_from_source is False
    assert "cryptography" in index.needed_by("cffi")
    rust = index.owner_of(folder / "cryptography" / "hazmat" / "bindings" / "_rust.abi3.so")
    assert rust is not None and rust.wheel_tag == "cp39-abi3-macosx_10_9_universal2"
