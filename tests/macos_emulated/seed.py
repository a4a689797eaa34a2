"""The seed case of the macos_emulated tier, shared by its test files: the pinned macOS
wheels, a site folder of them, the premise and stop checks, and a finding's block in the
plugin's output."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import pytest

from tests.macos_emulated import (
    macos_site,
    nuitka_major,
)
from tests.realwheels import PYTHON_VERSION

CFFI = "cffi==1.17.1"


CRYPTOGRAPHY = "cryptography==43.0.3"


ARM = "macosx_11_0_arm64"


SEED_PROGRAM = (
    "from cryptography.hazmat.bindings._rust import openssl\n"
    "from cryptography.fernet import Fernet\n"
    "print('fernet', len(Fernet.generate_key()))\n"
)


NUITKA_MAJOR = nuitka_major()


@pytest.fixture(autouse=True)
def needs_linux_x86_64_and_nuitka() -> None:
    if NUITKA_MAJOR is None:
        pytest.skip("Nuitka is not installed")
    if not sys.platform.startswith("linux") or platform.machine() != "x86_64":
        pytest.skip("the emulation is written for a Linux x86_64 host")
    if "{}.{}".format(*sys.version_info[:2]) != PYTHON_VERSION:
        pytest.skip(f"the pinned macOS wheels are for CPython {PYTHON_VERSION}")


def finding_block(output: str, code: str) -> str:
    """The lines of the first ``error[code]``/``warning[code]`` finding in archguard's text."""
    lines = output.splitlines()
    for index, line in enumerate(lines):
        if f"[{code}]" in line and line.lstrip().startswith(("error[", "warning[")):
            block = [line]
            for more in lines[index + 1 :]:
                if not more.startswith("    "):
                    break
                block.append(more)
            return "\n".join(block)
    raise AssertionError(f"no {code} finding in:\n{output}")


@pytest.fixture(scope="module")
def seed_site() -> Path:
    """cffi's arm64-only wheel and cryptography's universal2 wheel, as pip installs them
    for an arm64 Mac."""
    return macos_site([CFFI, CRYPTOGRAPHY], ARM)
