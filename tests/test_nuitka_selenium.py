"""A real Nuitka standalone build of a program that imports ``selenium.webdriver`` (issue 21).

Nuitka's package configuration copies selenium's whole folder as data files, with
``selenium-manager`` for linux-x86_64, linux-arm64, macos and windows. The plugin stopped this
good build on this very Linux x86_64 host; under the rule for binaries nothing loads, the
copies for other platforms have a variant for the target beside them, the build goes through,
the summary counts them, and the program finds and runs the manager for this machine.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.nuitkabuild import case, run_build, wheel_tree

pytestmark = [pytest.mark.nuitka, pytest.mark.realwheels]

# selenium 4.51 and the closure pip resolved for it here (all pure Python); 4.53 needs a
# certifi the index here does not serve.
SELENIUM = [
    "selenium==4.51.0", "certifi==2026.10.19.post1", "urllib3==2.8.0", "PySocks==1.7.1",
    "trio==0.35.0", "trio-websocket==0.12.2", "typing_extensions==4.16.0",
    "websocket-client==1.9.2", "attrs==26.1.0", "idna==3.20", "outcome==1.3.0.post0",
    "sniffio==1.3.1", "sortedcontainers==2.4.0", "wsproto==1.3.2", "h11==0.16.0",
]  # fmt: skip
X86 = "manylinux2014_x86_64"

PROGRAM = """\
import subprocess
import selenium.webdriver
from selenium.webdriver.common.selenium_manager import SeleniumManager

manager = SeleniumManager._get_binary()
print("manager:", manager.parent.name + "/" + manager.name)
done = subprocess.run([str(manager), "--version"], capture_output=True, text=True)
print("manager runs:", done.returncode, done.stdout.strip())
"""


@case("selenium")
def test_selenium_webdriver_builds_with_the_plugin_and_runs(tmp_path: Path) -> None:
    tree = wheel_tree(SELENIUM, X86)
    build = run_build(tmp_path / "selenium", PROGRAM, [tree])
    assert build.returncode == 0, build.output
    assert "FATAL" not in build.output and "Traceback" not in build.output, build.output
    summary = re.search(r"archguard: (\d+ binar\w+ checked for linux-x86_64[^\n]*)", build.output)
    assert summary is not None, build.output
    assert "all consistent" in summary.group(1), summary.group(1)
    # linux-arm64's and macos' managers (Nuitka 4.3.5 hands over no windows .exe on Linux)
    variants = re.search(r"(\d+) binaries for other platforms with a variant", summary.group(1))
    assert variants is not None and int(variants.group(1)) >= 2, summary.group(1)
    done = build.run()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "manager: linux-x86_64/selenium-manager" in done.stdout, done.stdout
    assert re.search(r"manager runs: 0 selenium-manager \d", done.stdout), done.stdout
