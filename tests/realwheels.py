"""Real wheels from PyPI, pinned, downloaded once into a cache outside the repository.

Shared by the real-wheel test tier, the Nuitka build tests and ``benchmarks/run.py``. No
third-party binary is ever committed: everything lands in ``$ARCHGUARD_CACHE`` or
``~/.cache/nuitka-archguard-tests``.

Why exact file names are pinned and not just versions: ``pip download --platform`` happily
substitutes (a universal2 wheel for ``macosx_11_0_arm64``, an older release when the newest has
no wheel for the tag), so a pin is only a pin when the file name pip fetched is checked.

Safe for concurrent use (pytest-xdist, a benchmark next to a test run): downloads are
serialised by a lock file, and every extracted or installed directory appears by one atomic
rename of a finished temporary directory, so a reader never sees half a tree.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from nuitka_archguard.fix.wheels import NETWORK_MARKERS, pip_command

PYTHON_VERSION = "3.11"
# What pip prints when the index cannot be reached (as opposed to a wrong pin): fix's list,
# plus the retry summary pip prints after its last attempt.
_NETWORK_MARKERS = (*NETWORK_MARKERS, "Max retries exceeded")


class RealWheelError(RuntimeError):
    """A pinned wheel could not be had: the pin is wrong, or pip failed."""


class NetworkUnavailable(RealWheelError):
    """The index cannot be reached and the cache does not hold what was asked for; tests skip."""


@dataclass(frozen=True)
class Pin:
    """One wheel: what pip is asked for and the exact file it must answer with."""

    project: str
    version: str
    platform: str
    """The single tag passed to ``pip --platform``."""
    filename: str
    python: str = PYTHON_VERSION
    """``pip --python-version``: pyobjc-core's dSYM bundles appear only in its cp313 wheels."""

    @property
    def spec(self) -> str:
        return f"{self.project}=={self.version}"

    @property
    def os(self) -> str:
        if self.platform.startswith("macosx"):
            return "macos"
        return "windows" if self.platform.startswith("win") else "linux"

    @property
    def arch(self) -> str:
        """``arm64``, ``x86_64``, ``universal2``, ``aarch64``… as the platform tag says."""
        for arch in ("universal2", "x86_64", "arm64", "aarch64"):
            if self.platform.endswith(arch):
                return arch
        return self.platform.rsplit("_", 1)[-1]


def _pins(project: str, version: str, *entries: tuple[str, str]) -> tuple[Pin, ...]:
    return tuple(Pin(project, version, platform, filename) for platform, filename in entries)


_ARM = "macosx_14_0_arm64"
_X86 = "macosx_14_0_x86_64"
_U2 = "macosx_14_0_universal2"
_ML_X86 = "manylinux2014_x86_64"
_ML_ARM = "manylinux2014_aarch64"
_ML28_X86 = "manylinux_2_28_x86_64"
_ML28_ARM = "manylinux_2_28_aarch64"
_MUSL11 = "musllinux_1_1_x86_64"
_MUSL12 = "musllinux_1_2_x86_64"
_M17X = "manylinux_2_17_x86_64.manylinux2014_x86_64"
_M17A = "manylinux_2_17_aarch64.manylinux2014_aarch64"

# Checked against PyPI for cp311. Mach-O: 17 projects, thin arm64 and x86_64 and universal2
# (lxml, markupsafe, cryptography and bcrypt answer an arm64 request with universal2; orjson
# ships one wheel with three tags). ELF: manylinux2014 and manylinux_2_28, x86_64 and aarch64,
# and two musllinux wheels.
# fmt: off
PINS: tuple[Pin, ...] = (
    *_pins(
        "numpy", "1.26.4",
        (_ARM, "numpy-1.26.4-cp311-cp311-macosx_11_0_arm64.whl"),
        (_X86, "numpy-1.26.4-cp311-cp311-macosx_10_9_x86_64.whl"),
        (_ML_X86, f"numpy-1.26.4-cp311-cp311-{_M17X}.whl"),
        (_ML_ARM, f"numpy-1.26.4-cp311-cp311-{_M17A}.whl"),
        (_MUSL11, "numpy-1.26.4-cp311-cp311-musllinux_1_1_x86_64.whl"),
    ),
    *_pins(
        "numpy", "2.1.3",
        (_ARM, "numpy-2.1.3-cp311-cp311-macosx_14_0_arm64.whl"),
        (_X86, "numpy-2.1.3-cp311-cp311-macosx_14_0_x86_64.whl"),
    ),
    *_pins(
        "scipy", "1.13.1",
        (_ARM, "scipy-1.13.1-cp311-cp311-macosx_12_0_arm64.whl"),
        (_X86, "scipy-1.13.1-cp311-cp311-macosx_10_9_x86_64.whl"),
        (_ML_X86, f"scipy-1.13.1-cp311-cp311-{_M17X}.whl"),
        (_ML_ARM, f"scipy-1.13.1-cp311-cp311-{_M17A}.whl"),
    ),
    *_pins(
        "pillow", "10.4.0",
        (_ARM, "pillow-10.4.0-cp311-cp311-macosx_11_0_arm64.whl"),
        (_X86, "pillow-10.4.0-cp311-cp311-macosx_10_10_x86_64.whl"),
        (_ML28_X86, "pillow-10.4.0-cp311-cp311-manylinux_2_28_x86_64.whl"),
        (_ML28_ARM, "pillow-10.4.0-cp311-cp311-manylinux_2_28_aarch64.whl"),
    ),
    *_pins(
        "matplotlib", "3.9.2",
        (_ARM, "matplotlib-3.9.2-cp311-cp311-macosx_11_0_arm64.whl"),
        (_X86, "matplotlib-3.9.2-cp311-cp311-macosx_10_12_x86_64.whl"),
    ),
    *_pins(
        "lxml", "5.3.0",
        (_U2, "lxml-5.3.0-cp311-cp311-macosx_10_9_universal2.whl"),
        (_X86, "lxml-5.3.0-cp311-cp311-macosx_10_9_x86_64.whl"),
        (_ML28_X86, "lxml-5.3.0-cp311-cp311-manylinux_2_28_x86_64.whl"),
        (_ML28_ARM, "lxml-5.3.0-cp311-cp311-manylinux_2_28_aarch64.whl"),
    ),
    *_pins(
        "regex", "2024.9.11",
        (_ARM, "regex-2024.9.11-cp311-cp311-macosx_11_0_arm64.whl"),
        (_X86, "regex-2024.9.11-cp311-cp311-macosx_10_9_x86_64.whl"),
        (_U2, "regex-2024.9.11-cp311-cp311-macosx_10_9_universal2.whl"),
        (_ML_X86, f"regex-2024.9.11-cp311-cp311-{_M17X}.whl"),
        (_ML_ARM, f"regex-2024.9.11-cp311-cp311-{_M17A}.whl"),
        (_MUSL12, "regex-2024.9.11-cp311-cp311-musllinux_1_2_x86_64.whl"),
    ),
    *_pins(
        "orjson", "3.10.7",
        (
            _U2,
            "orjson-3.10.7-cp311-cp311-macosx_10_15_x86_64.macosx_11_0_arm64"
            ".macosx_10_15_universal2.whl",
        ),
        (_ML_X86, f"orjson-3.10.7-cp311-cp311-{_M17X}.whl"),
        (_ML_ARM, f"orjson-3.10.7-cp311-cp311-{_M17A}.whl"),
        (_MUSL12, "orjson-3.10.7-cp311-cp311-musllinux_1_2_x86_64.whl"),
    ),
    *_pins(
        "psutil", "6.0.0",
        (_ARM, "psutil-6.0.0-cp38-abi3-macosx_11_0_arm64.whl"),
        (_X86, "psutil-6.0.0-cp36-abi3-macosx_10_9_x86_64.whl"),
        (
            _ML_X86,
            "psutil-6.0.0-cp36-abi3-manylinux_2_12_x86_64.manylinux2010_x86_64"
            f".{_M17X}.whl",
        ),
        (_ML_ARM, f"psutil-6.0.0-cp36-abi3-{_M17A}.whl"),
    ),
    *_pins(
        "kiwisolver", "1.4.7",
        (_ARM, "kiwisolver-1.4.7-cp311-cp311-macosx_11_0_arm64.whl"),
        (_X86, "kiwisolver-1.4.7-cp311-cp311-macosx_10_9_x86_64.whl"),
        (_U2, "kiwisolver-1.4.7-cp311-cp311-macosx_10_9_universal2.whl"),
        (_ML_X86, f"kiwisolver-1.4.7-cp311-cp311-{_M17X}.whl"),
        (_ML_ARM, f"kiwisolver-1.4.7-cp311-cp311-{_M17A}.whl"),
    ),
    *_pins(
        "cffi", "1.17.1",
        (_ARM, "cffi-1.17.1-cp311-cp311-macosx_11_0_arm64.whl"),
        (_X86, "cffi-1.17.1-cp311-cp311-macosx_10_9_x86_64.whl"),
    ),
    *_pins(
        "pyyaml", "6.0.2",
        (_ARM, "PyYAML-6.0.2-cp311-cp311-macosx_11_0_arm64.whl"),
        (_X86, "PyYAML-6.0.2-cp311-cp311-macosx_10_9_x86_64.whl"),
    ),
    *_pins(
        "msgpack", "1.0.8",
        (_ARM, "msgpack-1.0.8-cp311-cp311-macosx_11_0_arm64.whl"),
        (_X86, "msgpack-1.0.8-cp311-cp311-macosx_10_9_x86_64.whl"),
        (_U2, "msgpack-1.0.8-cp311-cp311-macosx_10_9_universal2.whl"),
    ),
    *_pins(
        "charset-normalizer", "3.3.2",
        (_ARM, "charset_normalizer-3.3.2-cp311-cp311-macosx_11_0_arm64.whl"),
        (_X86, "charset_normalizer-3.3.2-cp311-cp311-macosx_10_9_x86_64.whl"),
        (_U2, "charset_normalizer-3.3.2-cp311-cp311-macosx_10_9_universal2.whl"),
    ),
    *_pins(
        "markupsafe", "2.1.5",
        (_U2, "MarkupSafe-2.1.5-cp311-cp311-macosx_10_9_universal2.whl"),
        (_X86, "MarkupSafe-2.1.5-cp311-cp311-macosx_10_9_x86_64.whl"),
    ),
    *_pins(
        "cryptography", "43.0.1",
        (_U2, "cryptography-43.0.1-cp39-abi3-macosx_10_9_universal2.whl"),
        (_ML28_X86, "cryptography-43.0.1-cp39-abi3-manylinux_2_28_x86_64.whl"),
        (_ML28_ARM, "cryptography-43.0.1-cp39-abi3-manylinux_2_28_aarch64.whl"),
    ),
    *_pins(
        "bcrypt", "4.2.0",
        (_U2, "bcrypt-4.2.0-cp39-abi3-macosx_10_12_universal2.whl"),
        (_ML_X86, f"bcrypt-4.2.0-cp39-abi3-{_M17X}.whl"),
        (_ML_ARM, f"bcrypt-4.2.0-cp39-abi3-{_M17A}.whl"),
    ),
)
# fmt: on

VERDICT_PINS: tuple[Pin, ...] = (
    # a Windows wheel scanned for Linux: one platform-mismatch, not "ok"
    Pin("numpy", "1.26.4", "win_amd64", "numpy-1.26.4-cp311-cp311-win_amd64.whl"),
    # Python.Runtime.dll: a .NET IL-only assembly (PE32, i386, CLR ILONLY): runs anywhere
    Pin("pythonnet", "3.0.5", "win_amd64", "pythonnet-3.0.5-py3-none-any.whl"),
    # 2 loaded Mach-O files beside hundreds of files in .dSYM bundles (MH_DSYM)
    Pin(
        "pyobjc-core",
        "13.0",
        "macosx_11_0_arm64",
        "pyobjc_core-13.0-cp313-cp313-macosx_10_13_universal2.whl",
        python="3.13",
    ),
)
"""Wheels for the verdict tests (tests/test_real_verdicts.py), kept out of :data:`PINS`:
the readers' tiers iterate PINS by OS."""

PAYLOAD_PINS: tuple[Pin, ...] = (
    # selenium-manager per platform under webdriver/common/<platform>/ (4.53 needs a certifi
    # the index here does not serve)
    Pin("selenium", "4.51.0", _ML_X86, "selenium-4.51.0-py3-none-any.whl"),
    # tkdnd/<os>-<arch>[-tcl9]/ libraries
    Pin("tkinterdnd2", "0.7.0", _ML_X86, "tkinterdnd2-0.7.0-py3-none-any.whl"),
    # lib/runtimes/win-{x64,x86,arm64}/native/WebView2Loader.dll
    Pin("pywebview", "6.2.1", _ML_X86, "pywebview-6.2.1-py3-none-any.whl"),
    # ffi/dlls/{x86,amd64}/ClrLoader.dll
    Pin("clr-loader", "0.3.1", _ML_X86, "clr_loader-0.3.1-py3-none-any.whl"),
    # attach_x86.dll beside attach_amd64.dll; the pure wheel (used on macOS and older glibc)
    # holds attach_linux_amd64.so, attach.dylib and the Windows helpers
    Pin("debugpy", "1.8.22", "win_amd64", "debugpy-1.8.22-cp311-cp311-win_amd64.whl"),
    Pin(
        "debugpy",
        "1.8.22",
        "manylinux_2_34_x86_64",
        "debugpy-1.8.22-cp311-cp311-manylinux_2_34_x86_64.whl",
    ),
    Pin("debugpy", "1.8.22", _ML_X86, "debugpy-1.8.22-py2.py3-none-any.whl"),
)
"""Packages that ship a binary per platform and pick one at run time (issue 21), for
tests/test_real_payloads.py."""

BUDGET_PINS: tuple[Pin, ...] = (
    # libarrow.so.2600: 61.7 MB, a 2.5 MB dynamic string table (DT_STRSZ)
    Pin(
        "pyarrow",
        "26.0.1",
        "musllinux_1_2_x86_64",
        "pyarrow-26.0.1-cp311-cp311-musllinux_1_2_x86_64.whl",
    ),
    # arrow.dll (19 MB) and llvmlite.dll (120 MB): PE directories deep in deflated members
    Pin("pyarrow", "26.0.1", "win_amd64", "pyarrow-26.0.1-cp311-cp311-win_amd64.whl"),
    Pin("llvmlite", "0.50.0", "win_amd64", "llvmlite-0.50.0-cp311-cp311-win_amd64.whl"),
)
"""Big honest binaries that once were "unreadable" (issue 21), for test_real_budgets.py."""

_U2_NEW = "macosx_14_0_universal2"  # pip takes any older universal2 tag for it
BROKEN_PINS: tuple[Pin, ...] = (
    # universal2 by name, one architecture inside: really broken, for test_pinned_set.py
    Pin("llvmlite", "0.46.0b1", _U2_NEW,
        "llvmlite-0.46.0b1-cp311-cp311-macosx_11_0_universal2.whl"),
    Pin("tokenizers", "0.13.3", _U2_NEW,
        "tokenizers-0.13.3-cp311-cp311-macosx_10_11_universal2.whl"),
    Pin("safetensors", "0.3.3", _U2_NEW,
        "safetensors-0.3.3-cp311-cp311-macosx_13_0_universal2.whl"),
    Pin("psycopg2-binary", "2.9.5", "macosx_10_9_universal2",
        "psycopg2_binary-2.9.5-cp311-cp311-macosx_10_9_universal2.macosx_10_9_intel"
        ".macosx_10_9_x86_64.macosx_10_10_intel.macosx_10_10_x86_64.whl"),
)  # fmt: skip
"""Wheels whose tag promises more than they hold (issue 21's named list)."""

MACOS_PINS = tuple(pin for pin in PINS if pin.os == "macos")
LINUX_PINS = tuple(pin for pin in PINS if pin.os == "linux")

# Mach-O and ELF magic numbers, as the first four bytes on disk. Kept apart from the project's
# readers on purpose: the tests must find binaries even when a reader does not.
MACHO_THIN_MAGICS = frozenset(
    bytes.fromhex(m) for m in ("feedface", "feedfacf", "cefaedfe", "cffaedfe")
)
MACHO_FAT_MAGICS = frozenset(bytes.fromhex(m) for m in ("cafebabe", "cafebabf"))
ELF_MAGIC = b"\x7fELF"


# -- cache -----------------------------------------------------------------------------------


def cache_dir() -> Path:
    """The cache root, created on first use."""
    root = os.environ.get("ARCHGUARD_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "nuitka-archguard-tests"
    )
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def _locked(name: str) -> Iterator[None]:
    """An exclusive lock on ``<cache>/.<name>.lock`` (no-op where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # Windows: atomic renames alone keep the cache consistent
        yield
        return
    with open(cache_dir() / f".{name}.lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _publish(tmp: Path, final: Path) -> Path:
    """Move a finished temporary directory into place; if another process won, keep theirs."""
    try:
        os.rename(tmp, final)
    except OSError:
        if not final.is_dir():
            raise
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def _pip(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(pip_command(args), capture_output=True, text=True, check=False)


def _pip_failed(what: str, result: subprocess.CompletedProcess[str]) -> RealWheelError:
    output = (result.stdout or "") + (result.stderr or "")
    tail = " | ".join(line.strip() for line in output.strip().splitlines()[-4:])
    error_type = (
        NetworkUnavailable
        if any(marker in output for marker in _NETWORK_MARKERS)
        else RealWheelError
    )
    return error_type(f"{what} failed (pip exit {result.returncode}): {tail}")


# -- wheels ----------------------------------------------------------------------------------


def find_pin(project: str, version: str, platform: str) -> Pin:
    """The pinned wheel for ``project==version`` on ``platform`` (a pip ``--platform`` tag or
    a short arch name: ``arm64``, ``x86_64``, ``universal2``, ``aarch64``…)."""
    wanted = project.lower().replace("_", "-")
    matches = [
        pin
        for pin in (*PINS, *VERDICT_PINS, *PAYLOAD_PINS, *BUDGET_PINS, *BROKEN_PINS)
        if pin.project == wanted and pin.version == version
        and platform in (pin.platform, pin.arch)
    ]  # fmt: skip
    if len(matches) != 1:
        raise KeyError(f"no single pinned wheel for {project}=={version} on {platform}")
    return matches[0]


def wheel(project: str, version: str, platform: str) -> Path:
    """Path of one pinned wheel in the cache, downloading it if needed."""
    return wheels([find_pin(project, version, platform)])[0]


def wheels(pins: Iterable[Pin] = PINS) -> list[Path]:
    """Paths of the pinned wheels, downloading the missing ones with few pip calls per platform.

    Raises :class:`NetworkUnavailable` if some are missing and the index is unreachable, and
    :class:`RealWheelError` if pip answers with another file than the pinned one.
    """
    pins = list(pins)
    folder = cache_dir() / "wheels"
    folder.mkdir(exist_ok=True)
    missing = [pin for pin in pins if not (folder / pin.filename).is_file()]
    if missing:
        with _locked("download"):
            missing = [pin for pin in missing if not (folder / pin.filename).is_file()]
            for platform, group in _download_batches(missing):
                _download(platform, group, folder)
    return [folder / pin.filename for pin in pins]


def _download_batches(pins: Iterable[Pin]) -> list[tuple[str, list[Pin]]]:
    """One pip call per platform and Python version, except that a project pinned at two
    versions (numpy 1 and 2) must go into separate calls: pip resolves ``a==1 a==2`` as a
    conflict."""
    batches: list[tuple[str, list[Pin]]] = []
    for pin in pins:
        for platform, group in batches:
            if (
                platform == pin.platform
                and group[0].python == pin.python
                and all(p.project != pin.project for p in group)
            ):
                group.append(pin)
                break
        else:
            batches.append((pin.platform, [pin]))
    return batches


def _download(platform: str, group: Sequence[Pin], folder: Path) -> None:
    with tempfile.TemporaryDirectory(dir=folder, prefix=".download-") as tmp:
        result = _pip(
            [
                "download", "--no-deps", "--only-binary=:all:",
                "--python-version", group[0].python, "--platform", platform,
                "--dest", tmp, *(pin.spec for pin in group),
            ]
        )  # fmt: skip
        if result.returncode != 0:
            specs = " ".join(pin.spec for pin in group)
            raise _pip_failed(f"pip download --platform {platform} {specs}", result)
        got = set(os.listdir(tmp))
        for pin in group:
            if pin.filename not in got:
                raise RealWheelError(
                    f"pip download {pin.spec} --platform {platform} gave {sorted(got)}, "
                    f"not the pinned {pin.filename}"
                )
            os.replace(os.path.join(tmp, pin.filename), folder / pin.filename)


def extracted(wheel_path: str | os.PathLike[str]) -> Path:
    """The wheel unpacked under ``<cache>/extracted/<wheel name>/`` (once, atomically)."""
    wheel_path = Path(wheel_path)
    root = cache_dir() / "extracted"
    root.mkdir(exist_ok=True)
    final = root / wheel_path.name[: -len(".whl")]
    if final.is_dir():
        return final
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=".extract-"))
    try:
        with zipfile.ZipFile(wheel_path) as archive:
            archive.extractall(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return _publish(tmp, final)


def extracted_all(pins: Iterable[Pin] = PINS) -> list[Path]:
    """Download and unpack the given pins; one directory per wheel."""
    return [extracted(path) for path in wheels(pins)]


def installed_target(
    specs: Sequence[str], platform: str, python_version: str = PYTHON_VERSION
) -> Path:
    """A ``pip install --target`` directory holding foreign wheels with their ``.dist-info``
    (RECORD, WHEEL tags): installs nothing into the running environment and runs no code.

    ``installed_target(["bcrypt==4.2.0"], "manylinux2014_aarch64")`` is the seed's case: put it
    on ``PYTHONPATH`` of an x86_64 build.
    """
    key = "\n".join([platform, python_version, *sorted(specs)])
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    root = cache_dir() / "targets"
    root.mkdir(exist_ok=True)
    final = root / f"{platform}-{digest}"
    if final.is_dir():
        return final
    with _locked("download"):
        if final.is_dir():
            return final
        tmp = Path(tempfile.mkdtemp(dir=root, prefix=".install-"))
        result = _pip(
            [
                "install", "--no-deps", "--only-binary=:all:", "--no-compile",
                "--python-version", python_version, "--platform", platform,
                "--target", str(tmp), *specs,
            ]
        )  # fmt: skip
        if result.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            raise _pip_failed(f"pip install --target --platform {platform} {specs}", result)
        return _publish(tmp, final)


# -- finding binaries without the project's readers --------------------------------------------


def magic_kind(path: str | os.PathLike[str]) -> Optional[str]:
    """``"mach-o"``, ``"elf"`` or ``None`` from the first bytes alone (Java class files,
    which share ``0xcafebabe`` with fat Mach-O, are told apart by their arch count)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError:
        return None
    magic = head[:4]
    if magic == ELF_MAGIC:
        return "elf"
    if magic in MACHO_THIN_MAGICS:
        return "mach-o"
    if magic in MACHO_FAT_MAGICS and len(head) == 8:
        # nfat_arch is small; a Java class file has its version (>= 45) there.
        return "mach-o" if int.from_bytes(head[4:8], "big") < 45 else None
    return None


def iter_files(root: str | os.PathLike[str]) -> Iterator[Path]:
    """Every regular file under ``root``, in a stable order."""
    for directory, subdirs, files in os.walk(root):
        subdirs.sort()
        for name in sorted(files):
            path = Path(directory, name)
            if path.is_file() and not path.is_symlink():
                yield path


def binaries(roots: Iterable[str | os.PathLike[str]]) -> dict[str, list[Path]]:
    """``{"mach-o": [...], "elf": [...]}``: the binaries under the given roots."""
    found: dict[str, list[Path]] = {"mach-o": [], "elf": []}
    for root in roots:
        for path in iter_files(root):
            kind = magic_kind(path)
            if kind:
                found[kind].append(path)
    return found


def llvm_tool(name: str) -> Optional[str]:
    """``llvm-lipo``/``llvm-otool``/``llvm-readelf``: the ``-14`` build if present, else any."""
    return shutil.which(f"{name}-14") or shutil.which(name)
