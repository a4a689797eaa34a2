"""The JSON schema in the repository is the contract: it is itself valid, every JSON the
tests make passes it (conftest wraps ``to_json``), and it rejects what the README rules out."""

from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path

import jsonschema
import pytest

from nuitka_archguard.binaries import BinaryInfo
from nuitka_archguard.check.scan import ScanReport, scan
from nuitka_archguard.cli.main import main
from tests.conftest import SCHEMA, validate_binary, validate_report
from tests.envbuild import ARM, wheel
from tests.synth import elf, pe


def test_the_schema_is_a_valid_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_every_to_json_in_the_tests_is_validated() -> None:
    assert hasattr(ScanReport.to_json, "__wrapped__")
    assert hasattr(BinaryInfo.to_json, "__wrapped__")


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(argv))
    return code, out.getvalue()


@pytest.mark.parametrize(
    ("target", "libc", "name"),
    [
        ("musllinux_1_2_x86_64", "musl", "linux-musl-x86_64"),
        ("manylinux_2_28_x86_64", "glibc", "linux-x86_64"),
        ("android_24_x86_64", None, "android-x86_64"),
        ("macosx_10_13_x86_64", None, "macos-x86_64"),
    ],
)
def test_scan_json_target_carries_libc_and_name(
    tmp_path: Path, target: str, libc: str, name: str
) -> None:
    members = {"pkg/_a.cpython-311-darwin.so": ARM, "pkg/_b.cp311-win_amd64.pyd": pe.pe()}
    members["pkg/libc_user.so"] = elf.elf("x86_64", needed=["libc.musl-x86_64.so.1"])
    whl = wheel(tmp_path, "pkg", "1.0", "cp311-cp311-macosx_11_0_arm64", members)
    code, text = run("scan", str(whl), "--target", target, "--format", "json")
    data = json.loads(text)
    validate_report(data)
    assert (data["target"]["libc"], data["target"]["name"]) == (libc, name)
    assert code == data["exit_code"] == 1


def test_inspect_json_is_valid(tmp_path: Path) -> None:
    (tmp_path / "a.dll").write_bytes(pe.pe("x86", clr_flags=1))
    (tmp_path / "b.so").write_bytes(elf.elf("aarch64", android_api=24))
    code, text = run("inspect", "--json", str(tmp_path / "a.dll"), str(tmp_path / "b.so"))
    assert code == 0
    for item in json.loads(text):
        validate_binary(item)


def test_the_schema_rejects_a_target_without_libc_or_name(tmp_path: Path) -> None:
    whl = wheel(tmp_path, "pkg", "1.0", "cp311-cp311-macosx_11_0_arm64",
                {"pkg/_a.cpython-311-darwin.so": ARM})  # fmt: skip
    good = scan([whl], "macos-x86_64").to_json()
    for key in ("libc", "name"):
        bad = copy.deepcopy(good)
        del bad["target"][key]
        with pytest.raises(jsonschema.ValidationError):
            validate_report(bad)
    bad = copy.deepcopy(good)
    bad["findings"][0]["code"] = "made-up"
    with pytest.raises(jsonschema.ValidationError):
        validate_report(bad)
