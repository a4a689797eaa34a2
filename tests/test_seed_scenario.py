"""The seed's situation from real PyPI wheels: cryptography 43.0.3 (universal2) with cffi
1.17.1 installed as its arm64-only wheel, scanned for an x86_64 macOS target."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nuitka_archguard.cli.main import main
from tests import realwheels

pytestmark = pytest.mark.realwheels

CRYPTOGRAPHY = "cryptography==43.0.3"
CFFI = "cffi==1.17.1"


def target_dir(platform: str) -> Path:
    """Both wheels in one ``pip install --target`` directory (cached). pip answers a
    ``macosx_*`` platform with cryptography's only macOS wheel, the universal2 one."""
    try:
        folder = realwheels.installed_target([CRYPTOGRAPHY, CFFI], platform)
    except realwheels.NetworkUnavailable as error:
        pytest.skip(f"PyPI unreachable and not cached: {error}")
    return folder


def wheel_tag(folder: Path, dist_info: str) -> str:
    text = (folder / dist_info / "WHEEL").read_text()
    return next(
        line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Tag:")
    )


def scan_json(folder: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object]]:
    code = main(["scan", str(folder), "--target", "macos-x86_64", "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_arm64_cffi_is_the_one_error(capsys: pytest.CaptureFixture[str]) -> None:
    folder = target_dir("macosx_11_0_arm64")
    assert wheel_tag(folder, "cffi-1.17.1.dist-info") == "cp311-cp311-macosx_11_0_arm64"
    assert wheel_tag(folder, "cryptography-43.0.3.dist-info") == "cp39-abi3-macosx_10_9_universal2"

    code, data = scan_json(folder, capsys)
    assert code == 1
    findings = data["findings"]
    assert isinstance(findings, list)
    errors = [f for f in findings if f["severity"] == "error"]
    assert len(errors) == 1, findings
    (error,) = errors
    assert error["code"] == "arch-missing"
    assert error["distribution"]["name"] == "cffi"
    assert error["distribution"]["version"] == "1.17.1"
    assert error["distribution"]["wheel_tags"] == ["cp311-cp311-macosx_11_0_arm64"]
    assert error["archs"] == ["arm64"] and error["required_archs"] == ["x86_64"]
    assert error["needed_by"] == ["cryptography"]
    assert error["path"].endswith("_cffi_backend.cpython-311-darwin.so")

    code = main(["scan", str(folder), "--target", "macos-x86_64"])
    text = capsys.readouterr().out
    assert code == 1
    assert "cffi 1.17.1" in text
    assert "macosx_11_0_arm64" in text
    assert "_cffi_backend" in text
    assert "needed by cryptography" in text
    assert "arch -x86_64" in text
    assert "1 error," in text


def test_x86_64_cffi_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    folder = target_dir("macosx_10_9_x86_64")
    assert wheel_tag(folder, "cffi-1.17.1.dist-info") == "cp311-cp311-macosx_10_9_x86_64"
    code, data = scan_json(folder, capsys)
    assert code == 0
    assert data["summary"]["errors"] == 0  # type: ignore[index]
    assert main(["scan", str(folder), "--target", "macos-x86_64"]) == 0
