"""Issue 17 §3 on the real case (NOTES.md): cryptography 50.0.2, pyOpenSSL 26.4.0 (requires
``cryptography>=49``) and cffi 2.1.1 installed for arm64; cryptography 49+ publishes macOS
arm64 wheels only and cffi 2's x86_64 wheels need macOS 10.15. ``fix --allow-version-change``
for macos-x86_64 (10.9) resolves the older versions together, as pip's resolver does for that
platform: cryptography 46.0.0, cffi 1.17.1, pyOpenSSL 26.2.0, every requirement satisfied."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nuitka_archguard.cli.main import main
from nuitka_archguard.fix.requirements import installed_distributions, target_markers, unmet
from nuitka_archguard.fix.wheels import PythonSpec
from nuitka_archguard.target import parse_target

pytestmark = pytest.mark.realwheels
X86 = "macos-x86_64"


def test_cryptography_pyopenssl_cffi_are_resolved_together(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = tmp_path / "env"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--only-binary=:all:",
         "--platform", "macosx_11_0_arm64", "--python-version", "3.11", "--implementation",
         "cp", "--abi", "cp311", "--abi", "abi3", "--abi", "none", "--target", str(env),
         "cryptography==50.0.2", "pyOpenSSL==26.4.0"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        pytest.skip(f"the wheels are not downloadable here: {result.stderr[-300:]}")
    code = main(["fix", str(env), "--target", X86, "--allow-version-change", "--format",
                 "json"])  # fmt: skip
    document = json.loads(capsys.readouterr().out)
    assert code == 0, document
    changes = {
        a["distribution"]["name"].lower(): a["new_version"]
        for a in document["results"][0]["plan"]["actions"]
        if a["applies"]
    }
    assert changes == {"cryptography": "46.0.0", "cffi": "1.17.1", "pyopenssl": "26.2.0"}
    planned = installed_distributions([env])
    markers = target_markers(parse_target(X86), PythonSpec("3.11"))
    assert unmet(planned, markers, planned) == []
    assert main(["scan", str(env), "--target", X86]) == 0
