"""The fat writer fuses nothing ``llvm-lipo-14 -create`` refuses as malformed (issue 16 §4).

A property test: thin Mach-O files (synthesized ones always, cffi's real ``_cffi_backend``
slices when the real-wheel cache has them) mutated in their first 4 KiB or truncated, each
fused with a valid file of the other arch. Whenever ``llvm-lipo-14`` refuses, the writer
refuses (with one line); when both accept, their bytes are equal. The writer may refuse a
little more than LLVM (a 64-bit header with a 32-bit cputype), never less.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tests import realwheels
from tests.lipo import ARM64, LIPO, lipo, needs_lipo, ours
from tests.synth import macho as synth

SYNTH_BASES = {
    "bundle": synth.thin("x86_64", "bundle", build_version=("macos", "10.9", "14.0")),
    "dylib": synth.thin(
        "x86_64", "dylib", id_dylib="@rpath/libx.dylib", build_version=None,
        version_min=("macos", "10.9", "14.0"), dylibs=["/usr/lib/libSystem.B.dylib"],
        rpaths=["@loader_path"], extra_commands=[synth.segment_command(0, (4, 3))],
    ),
    "object": synth.thin("x86_64", "object", extra_commands=[synth.segment_command(0, (4,))]),
}  # fmt: skip


def _mutants(base: bytes, seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    found = []
    for _ in range(count):
        data = bytearray(base)
        if rng.random() < 0.3:
            data = data[: rng.randrange(4, len(data))]
        else:
            for _ in range(rng.randint(1, 3)):
                data[rng.randrange(4, min(len(data), 4096))] = rng.randrange(256)
        found.append(bytes(data))
    return found


def _agree(mutant: bytes, other: bytes, tmp_path: Path) -> str:
    expected, got = lipo([mutant, other], tmp_path), ours([mutant, other])
    if isinstance(expected, str):
        assert isinstance(got, str), f"llvm-lipo refuses ({expected}), the writer fused it"
        assert "\n" not in got
        return "both refuse"
    if isinstance(got, str):
        return "writer stricter"
    assert got == expected
    return "both fuse"


@needs_lipo
@pytest.mark.parametrize("base", sorted(SYNTH_BASES))
def test_mutated_thin_files_are_refused_whenever_llvm_lipo_refuses(
    base: str, tmp_path: Path
) -> None:
    outcomes: dict[str, int] = {}
    for mutant in _mutants(SYNTH_BASES[base], seed=sorted(SYNTH_BASES).index(base), count=120):
        outcome = _agree(mutant, ARM64, tmp_path)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    # Both kinds happen: the mutations are neither all harmless nor all fatal.
    assert outcomes.get("both refuse", 0) > 10 and outcomes.get("both fuse", 0) > 10, outcomes
    assert outcomes.get("writer stricter", 0) <= 12, outcomes


@needs_lipo
@pytest.mark.realwheels
def test_mutated_real_slices_are_refused_whenever_llvm_lipo_refuses(tmp_path: Path) -> None:
    try:
        arm = realwheels.extracted(realwheels.wheel("cffi", "1.17.1", "macosx_14_0_arm64"))
        x86 = realwheels.extracted(realwheels.wheel("cffi", "1.17.1", "macosx_14_0_x86_64"))
    except realwheels.NetworkUnavailable as error:
        pytest.skip(f"real wheels not cached and PyPI unreachable: {error}")
    name = "_cffi_backend.cpython-311-darwin.so"
    arm_bytes, x86_bytes = (arm / name).read_bytes(), (x86 / name).read_bytes()
    outcomes: dict[str, int] = {}
    for mutant in _mutants(x86_bytes, seed=3, count=60):
        outcome = _agree(mutant, arm_bytes, tmp_path)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert outcomes.get("both refuse", 0) > 5, outcomes


def test_the_writer_names_why_it_refuses_a_segment_beyond_the_file() -> None:
    segment = synth.segment_command(0, ())
    # fileoff 0, filesize far past the file: patch the filesize field of LC_SEGMENT_64.
    patched = bytearray(segment)
    patched[48:56] = (1 << 20).to_bytes(8, "little")  # filesize
    patched[32:40] = (1 << 21).to_bytes(8, "little")  # vmsize, so only the file is wrong
    data = synth.thin("x86_64", "bundle", extra_commands=[bytes(patched)])
    got = ours([data, ARM64])
    assert isinstance(got, str) and "extends past the end of the file" in got, got
    assert LIPO is None or isinstance(lipo([data, ARM64], Path("/tmp")), str)


def test_inspect_calls_a_file_llvm_refuses_unreadable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nuitka_archguard.cli.main import main

    patched = bytearray(synth.segment_command(0, ()))
    patched[48:56] = (1 << 20).to_bytes(8, "little")  # filesize far past the file
    patched[32:40] = (1 << 21).to_bytes(8, "little")  # vmsize
    for name, data in {
        "thin.so": synth.thin("x86_64", "bundle", extra_commands=[bytes(patched)]),
        "fat.so": synth.fat([synth.thin("x86_64", "bundle", extra_commands=[bytes(patched)]),
                             ARM64]),
    }.items():  # fmt: skip
        (tmp_path / name).write_bytes(data)
        assert main(["inspect", str(tmp_path / name), "--json"]) == 2
        (info,) = json.loads(capsys.readouterr().out)
        assert "extends past the end of the file" in info["error"], info
    (tmp_path / "good.so").write_bytes(ARM64)
    assert main(["inspect", str(tmp_path / "good.so")]) == 0
