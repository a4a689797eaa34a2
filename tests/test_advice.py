"""Advice: one exact fix per situation."""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import Optional

import pytest

from nuitka_archguard.check.advice import fix_for
from nuitka_archguard.check.ownership import Distribution, owner_of_in_tree
from nuitka_archguard.target import Target, parse_target

MAC_ARM = parse_target("macos-arm64")
MAC_X86 = parse_target("macos-x86_64")
UNIVERSAL2 = parse_target("macos-universal2")
LINUX_X86 = parse_target("linux-x86_64")
ARM_TAG = ("cp311-cp311-macosx_11_0_arm64",)


def pip_dist(
    location: Optional[Path],
    *,
    tags: tuple[str, ...] = ARM_TAG,
    from_source: bool = False,
    name: str = "cffi",
) -> Distribution:
    return Distribution(
        name, "1.17.1", "pip", "pip", tags, from_source,
        location=str(location / f"{name}-1.17.1.dist-info") if location else None,
    )  # fmt: skip


@pytest.fixture
def venv_site(tmp_path: Path) -> Path:
    prefix = tmp_path / "venv"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "bin" / "python").write_text("")
    site = prefix / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    return site


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


def test_seed_case_target_dir_x86_64_on_arm64_mac(tmp_path: Path) -> None:
    folder = tmp_path / "deps"
    fix = fix_for("arch-missing", pip_dist(folder), MAC_X86, host=MAC_ARM)
    assert (
        f"python3 -m pip install --upgrade --no-deps --only-binary=:all: --platform "
        f"macosx_10_9_x86_64 --python-version 3.11 --target {folder} cffi==1.17.1"
    ) in lines(fix)
    assert "or build in a dedicated x86_64 environment (python3.11 must be" in fix
    assert "arch -x86_64 ~/venv-x86_64/bin/python -m pip install cffi==1.17.1" in lines(fix)


def test_venv_x86_64_on_arm64_mac_gets_rosetta_environment(venv_site: Path) -> None:
    fix = fix_for("arch-missing", pip_dist(venv_site), MAC_X86, host=MAC_ARM)
    assert lines(fix)[1:4] == [
        "arch -x86_64 python3.11 -m venv ~/venv-x86_64",
        "arch -x86_64 ~/venv-x86_64/bin/python -m pip install cffi==1.17.1",
        "arch -x86_64 ~/venv-x86_64/bin/python -m nuitka <your Nuitka options>",
    ]
    # the target's own wheel first (the arm64 wheel's 11.0 admits the 10.9 x86_64 one), then
    # universal2; --python-version always, or pip asks for this interpreter's version
    own = fix.index("--platform macosx_11_0_x86_64 --python-version 3.11 -d wheelhouse")
    assert own < fix.index("--platform macosx_10_9_universal2 --python-version 3.11")
    custom = fix_for(
        "arch-missing", pip_dist(venv_site), MAC_X86, host=MAC_ARM,
        nuitka_args="--mode=standalone app.py",
    )  # fmt: skip
    assert "-m nuitka --mode=standalone app.py" in custom


def test_universal2_target_in_venv(venv_site: Path) -> None:
    fix = fix_for(
        "arch-missing", pip_dist(venv_site), parse_target("macos-universal2", "10.13"), host=MAC_ARM
    )
    python = str(venv_site.parents[2] / "bin" / "python")
    assert (
        f"{python} -m pip download --no-deps --only-binary=:all: --platform "
        "macosx_10_13_universal2 --python-version 3.11 -d wheelhouse cffi==1.17.1"
    ) in lines(fix)
    assert (
        f"{python} -m pip install --force-reinstall --no-deps "
        "wheelhouse/cffi-1.17.1-*universal2.whl"
    ) in lines(fix)
    assert 'ARCHFLAGS="-arch arm64 -arch x86_64" MACOSX_DEPLOYMENT_TARGET=10.13' in fix


def test_arm64_target_on_intel_mac_needs_universal2(venv_site: Path) -> None:
    fix = fix_for("arch-missing", pip_dist(venv_site, tags=("cp311-cp311-macosx_10_9_x86_64",)),
                  MAC_ARM, host=MAC_X86)  # fmt: skip
    assert "universal2" in fix


def test_same_arch_mac_reinstall(venv_site: Path) -> None:
    fix = fix_for("arch-missing", pip_dist(venv_site), MAC_X86, host=MAC_X86)
    assert lines(fix)[-1].endswith("-m pip install --force-reinstall --no-deps cffi==1.17.1")


def test_macos_target_scanned_from_linux(venv_site: Path, tmp_path: Path) -> None:
    fix = fix_for("arch-missing", pip_dist(venv_site), MAC_X86, host=LINUX_X86)
    assert fix.startswith("build in a dedicated x86_64 environment on an arm64 Mac")
    assert "arch -x86_64 python3.11 -m venv ~/venv-x86_64" in lines(fix)
    folder = tmp_path / "deps"
    in_dir = fix_for("arch-missing", pip_dist(folder), MAC_X86, host=LINUX_X86)
    assert f"--platform macosx_10_9_x86_64 --python-version 3.11 --target {folder}" in in_dir
    assert "or build in a dedicated x86_64 environment on an arm64 Mac" in in_dir
    x86 = pip_dist(venv_site, tags=("cp311-cp311-macosx_10_9_x86_64",))
    arm = fix_for("arch-missing", x86, MAC_ARM, host=LINUX_X86)
    assert f"--platform macosx_11_0_arm64 --python-version 3.11 --target {venv_site}" in arm


def test_built_from_source_archflags(venv_site: Path) -> None:
    fix = fix_for("arch-missing", pip_dist(venv_site, from_source=True), UNIVERSAL2, host=MAC_ARM)
    assert "built from source" in fix
    assert lines(fix)[1].startswith('ARCHFLAGS="-arch arm64 -arch x86_64" ')
    assert lines(fix)[1].endswith(
        "-m pip install --force-reinstall --no-deps --no-cache-dir --no-binary cffi cffi==1.17.1"
    )
    x86 = fix_for("arch-missing", pip_dist(venv_site, from_source=True), MAC_X86, host=MAC_ARM)
    assert 'ARCHFLAGS="-arch x86_64"' in x86


def test_conda(tmp_path: Path) -> None:
    dist = Distribution("cffi", "1.17.1", "conda", "conda", channel="conda-forge",
                        subdir="osx-arm64", location=str(tmp_path))  # fmt: skip
    fix = fix_for("arch-missing", dist, MAC_X86, host=MAC_ARM)
    python = "{}.{}".format(*sys.version_info[:2])
    create = f"CONDA_SUBDIR=osx-64 conda create -n build-osx-64 -c conda-forge python={python} "
    assert create + "cffi=1.17.1" in lines(fix)
    assert "conda config --env --set subdir osx-64" in lines(fix)
    assert "conda packages hold one architecture" in fix_for("arch-missing", dist, UNIVERSAL2)
    windows = fix_for("arch-missing", dist, parse_target("win32"))
    assert "set CONDA_SUBDIR=win-32" in lines(windows)
    linux = fix_for("arch-missing", dist, parse_target("linux-aarch64"))
    assert "CONDA_SUBDIR=linux-aarch64" in linux


def test_homebrew() -> None:
    dist = Distribution("libffi", "3.4.6", "homebrew", "homebrew", location="/opt/homebrew")
    path = "/opt/homebrew/Cellar/libffi/3.4.6/lib/libffi.8.dylib"
    fix = fix_for("arch-missing", dist, MAC_X86, host=MAC_ARM, path=path)
    assert lines(fix)[-1] == "arch -x86_64 /usr/local/bin/brew install libffi"
    arm = fix_for("arch-missing", dist, MAC_ARM, host=MAC_X86, path=path)
    assert lines(arm)[-1] == "/opt/homebrew/bin/brew install libffi"
    both = fix_for("arch-missing", dist, UNIVERSAL2, host=MAC_ARM, path=path)
    merge = (
        "lipo -create /opt/homebrew/opt/libffi/lib/libffi.8.dylib "
        "/usr/local/opt/libffi/lib/libffi.8.dylib -output libffi.8.dylib"
    )
    assert merge in lines(both)


def test_linux_same_host_reinstall(venv_site: Path) -> None:
    dist = pip_dist(venv_site, tags=("cp311-cp311-manylinux_2_17_aarch64",))
    fix = fix_for("arch-missing", dist, LINUX_X86, host=LINUX_X86)
    assert lines(fix)[-1].endswith("-m pip install --force-reinstall --no-deps cffi==1.17.1")
    assert str(venv_site.parents[2] / "bin" / "python") in fix


def test_linux_other_arch_builds_on_target(venv_site: Path) -> None:
    fix = fix_for("arch-missing", pip_dist(venv_site), parse_target("linux-aarch64"),
                  host=LINUX_X86)  # fmt: skip
    assert "Nuitka builds for the Python it runs on" in fix
    assert "--platform linux/arm64" in fix and "python:3.11 " in fix
    musl = fix_for("platform-mismatch", pip_dist(venv_site), parse_target("linux-musl-x86_64"),
                   host=LINUX_X86)  # fmt: skip
    assert "python:3.11-alpine" in musl


def test_linux_target_dir_uses_manylinux_platforms(tmp_path: Path) -> None:
    fix = fix_for("arch-missing", pip_dist(tmp_path / "deps"), parse_target("linux-aarch64"),
                  host=LINUX_X86)  # fmt: skip
    assert "--platform manylinux2014_aarch64 --platform manylinux_2_28_aarch64" in fix
    assert "--python-version 3.11" in fix


@pytest.mark.parametrize(
    ("target", "launcher"),
    [("windows-amd64", "py -3.11-64"), ("windows-x86", "py -3.11-32"),
     ("windows-arm64", "py -3.11-arm64")],
)  # fmt: skip
def test_windows_bitness(venv_site: Path, target: str, launcher: str) -> None:
    dist = pip_dist(venv_site, tags=("cp311-cp311-win32",))
    fix = fix_for("arch-missing", dist, parse_target(target), host=None)
    assert f"{launcher} -m pip install --force-reinstall --no-deps cffi==1.17.1" in lines(fix)
    assert f"{launcher} -m nuitka <your Nuitka options>" in lines(fix)


def test_windows_target_dir(tmp_path: Path) -> None:
    fix = fix_for("arch-missing", pip_dist(tmp_path / "deps"), parse_target("win_amd64"))
    assert "--platform win_amd64" in fix


def test_min_os_too_new() -> None:
    target = parse_target("macos-x86_64", "10.13")
    fix = fix_for("min-os-too-new", pip_dist(None), target, min_os="11.0")
    assert "--min-os 11.0" in fix and "MACOSX_DEPLOYMENT_TARGET=11.0" in fix
    assert "--platform macosx_10_13_x86_64 --python-version 3.11 -d wheelhouse cffi" in fix
    source = fix_for("min-os-too-new", pip_dist(None, from_source=True), target, min_os="11.0")
    assert "MACOSX_DEPLOYMENT_TARGET=10.13 python3 -m pip install" in source
    brew = Distribution("libffi", "3.4.6", "homebrew", "homebrew", location="/opt/homebrew")
    assert "--build-from-source libffi" in fix_for("min-os-too-new", brew, target, min_os="14.0")
    none = fix_for("min-os-too-new", None, target, path="/x/libfoo.dylib", min_os="12.0")
    assert none.endswith("or replace libfoo.dylib with a build for macOS 10.13")
    conda = Distribution("x", "1", "conda", "conda", subdir="osx-64")
    assert "--min-os 11.0" in fix_for("min-os-too-new", conda, target, min_os="11.0")
    assert "raise --min-os" in fix_for("min-os-too-new", None, target)


def test_no_distribution_names_the_file() -> None:
    fix = fix_for("arch-missing", None, MAC_X86, path="/x/lib/libfoo.dylib", archs=["arm64"])
    assert fix == "libfoo.dylib has arm64; replace it with a build for macos-x86_64"
    target = parse_target("macos-x86_64", "10.13")
    assert "macOS 10.13 or newer" in fix_for("platform-mismatch", None, target)


def test_directory_owner_points_back_to_the_environment() -> None:
    dist = owner_of_in_tree("/b/main.dist/cffi/x.so", "/b/main.dist")
    fix = fix_for("arch-missing", dist, MAC_X86, path="/b/main.dist/cffi/x.so", archs=["arm64"])
    assert "cffi was copied without metadata" in fix
    assert "nuitka-archguard scan --target macos-x86_64" in fix


def test_unreadable(venv_site: Path) -> None:
    fix = fix_for("unreadable-binary", pip_dist(venv_site), MAC_X86, path="/x/y.so")
    assert "--force-reinstall --no-deps cffi==1.17.1" in fix and "--allow /x/y.so" in fix
    assert "truncated or corrupt" in fix_for("unreadable-binary", None, MAC_X86)


def test_wheel_tag_mismatch_names_the_tag(tmp_path: Path) -> None:
    dist = pip_dist(tmp_path / "deps", tags=("cp39-abi3-macosx_10_9_universal2",))
    fix = fix_for("wheel-tag-mismatch", dist, UNIVERSAL2, archs=["arm64"], host=MAC_ARM)
    assert fix.startswith("the cffi 1.17.1 wheel is tagged cp39-abi3-macosx_10_9_universal2 "
                          "but this file lacks x86_64")  # fmt: skip
    assert "--platform macosx_10_9_universal2" in fix


def test_executable_and_foreign_extension_use_the_arch_fix(tmp_path: Path) -> None:
    dist = pip_dist(tmp_path / "deps")
    base = fix_for("arch-missing", dist, MAC_X86, host=MAC_ARM)
    assert fix_for("executable-arch", dist, MAC_X86, host=MAC_ARM) == base
    assert fix_for("foreign-extension-only", dist, MAC_X86, host=MAC_ARM) == base


def test_code_may_be_a_str_enum(tmp_path: Path) -> None:
    class Code(str, enum.Enum):
        MIN_OS_TOO_NEW = "min-os-too-new"

    target = parse_target("macos-x86_64", "10.13")
    assert "--min-os 12.0" in fix_for(Code.MIN_OS_TOO_NEW, None, target, min_os="12.0")


def test_default_host_and_odd_targets_never_raise() -> None:
    odd = Target("macos", frozenset({"i386", "ppc"}))
    for code in ("arch-missing", "min-os-too-new", "unreadable-binary", "wheel-tag-mismatch"):
        for dist in (pip_dist(None), None):
            assert fix_for(code, dist, odd)
            assert fix_for(code, dist, LINUX_X86)


def test_paths_with_spaces_are_quoted(tmp_path: Path) -> None:
    fix = fix_for("arch-missing", pip_dist(tmp_path / "my deps"), MAC_X86, host=MAC_ARM)
    assert f"--target '{tmp_path / 'my deps'}'" in fix


@pytest.mark.parametrize(
    ("tags", "target", "own"),
    [
        (("cp312-cp312-macosx_11_0_arm64",), "macos-x86_64", "macosx_11_0_x86_64"),
        (("cp312-cp312-macosx_14_0_arm64",), "macos-x86_64", "macosx_14_0_x86_64"),
        (("cp312-cp312-macosx_11_0_arm64",), "macosx_10_13_x86_64", "macosx_10_13_x86_64"),
    ],
)
def test_an_arm64_wheel_for_x86_64_offers_the_x86_64_wheel_first(
    venv_site: Path, tags: tuple[str, ...], target: str, own: str
) -> None:
    """numpy publishes no universal2 wheel: the x86_64 one must come first, for the same
    Python, from a Linux scan as from an arm64 Mac."""
    dist = Distribution("numpy", "2.1.0", "pip", "pip", tags,
                        location=str(venv_site / "numpy-2.1.0.dist-info"))  # fmt: skip
    for host in (MAC_ARM, parse_target("linux-x86_64")):
        fix = fix_for("arch-missing", dist, parse_target(target), host=host)
        downloads = [line for line in lines(fix) if " pip download " in line]
        assert downloads, fix
        assert f"--platform {own} --python-version 3.12 " in downloads[0]
        assert all("--python-version 3.12" in line for line in downloads)
