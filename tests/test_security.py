"""Printed text is data, never a command: every fix the advice module can print is pasted
into ``sh -c`` with hostile names and must never run anything extra (a canary file is never
created); ``--format github`` yields exactly one workflow command per finding."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional

import pytest

from nuitka_archguard.check.advice import fix_for
from nuitka_archguard.check.ownership import Distribution
from nuitka_archguard.check.policy import Code
from nuitka_archguard.target import parse_target
from nuitka_archguard.text import powershell_quote, shell_quote

pytestmark = pytest.mark.skipif(os.name == "nt", reason="pastes into a POSIX shell")

CANARY = "canary"
INJECTIONS = (
    "$(touch canary)",
    "`touch canary`",
    ";touch canary;",
    "';touch canary;'",
    '";touch canary;"',
    "|touch canary",
    "&&touch canary",
    "\ntouch canary\n",
    "\rtouch canary",
    "$'\\ntouch canary'",
    "!touch canary",
    "\x1b]0;touch canary\x07",
    "\udcff;touch canary",
)
TARGETS = [
    parse_target(t)
    for t in (
        "macos-x86_64", "macos-arm64", "macos-universal2", "linux-x86_64", "linux-aarch64",
        "linux-musl-x86_64", "windows-amd64", "windows-arm64",
    )
]  # fmt: skip
HOSTS = [parse_target("macos-arm64"), parse_target("macos-x86_64"), parse_target("linux-x86_64")]
KINDS = ("pip", "pip-target", "pip-source", "conda", "homebrew", "directory", None)


def hostile_distributions(tmp: Path, bad: str) -> list[Optional[Distribution]]:
    """Every kind of owner, with ``bad`` in each value that metadata or a path could carry."""
    venv = tmp / f"venv{bad}"
    site = venv / "lib" / "python3.11" / "site-packages"
    target_dir = tmp / f"deps{bad}"
    for path in (venv / "bin", site, target_dir):
        path.mkdir(parents=True, exist_ok=True)
    (venv / "bin" / "python").write_text("")
    tags = ("cp311-cp311-macosx_11_0_arm64" + bad,)
    found: list[Optional[Distribution]] = [None]
    for name, version in ((f"cffi{bad}", "1.0"), ("cffi", f"1.0{bad}"), ("cffi", "1.0")):
        for kind in KINDS[:-1]:
            location = {
                "pip": str(site / "cffi-1.0.dist-info"),
                "pip-target": str(target_dir / "cffi-1.0.dist-info"),
                "pip-source": str(site / "cffi-1.0.dist-info"),
            }.get(kind or "", str(venv))
            found.append(
                Distribution(
                    name=name,
                    version=version,
                    kind=(kind or "pip").split("-")[0],
                    installer="pip",
                    wheel_tags=tags,
                    built_from_source=kind == "pip-source",
                    channel=f"conda-forge{bad}",
                    subdir=f"osx-arm64{bad}",
                    location=location,
                )
            )
    return found


def pasted_commands(fix: str) -> list[str]:
    """What a user would paste: every command line (indented) and every inline
    ``--allow`` suggestion."""
    commands = [line.strip() for line in fix.split("\n") if line.startswith("  ")]
    for line in fix.split("\n"):
        at = line.find("--allow ")
        if at >= 0:
            commands.append("nuitka-archguard scan " + line[at:])
    return commands


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A directory to paste in and a PATH of do-nothing stand-ins (pip, conda, brew... must
    not really run) plus the real ``touch``, so an injection would leave the canary."""
    root = tmp_path_factory.mktemp("paste")
    stubs = root / "bin"
    stubs.mkdir()
    for tool in ("python", "python3", "python3.11", "py", "pip", "conda", "brew", "arch",
                 "docker", "lipo", "nuitka-archguard", "set"):  # fmt: skip
        stub = stubs / tool
        stub.write_text("#!/bin/sh\nexit 0\n")
        stub.chmod(0o755)
    touch = shutil.which("touch")
    assert touch is not None
    (stubs / "touch").symlink_to(touch)
    env = {"PATH": str(stubs), "HOME": str(root), "LC_ALL": "C"}
    return root, env


def paste(command: str, where: Path, env: dict[str, str]) -> None:
    data = command.encode("utf-8", "surrogateescape")
    subprocess.run(["/bin/sh", "-c", data], cwd=where, env=env, capture_output=True, timeout=20)


def test_the_canary_works(sandbox: tuple[Path, dict[str, str]]) -> None:
    root, env = sandbox
    paste("echo $(touch canary)", root, env)
    assert (root / CANARY).exists()
    (root / CANARY).unlink()


@pytest.mark.parametrize("bad", INJECTIONS, ids=[repr(i) for i in INJECTIONS])
def test_no_printed_fix_runs_anything(
    bad: str, tmp_path: Path, sandbox: tuple[Path, dict[str, str]]
) -> None:
    root, env = sandbox
    paths = [str(tmp_path / f"x{bad}.so"), f"/opt/app/x{bad}y.dylib", f"rel/{bad}.so"]
    commands: dict[str, str] = {}
    for dist, target, host, code, path in itertools.product(
        hostile_distributions(tmp_path, bad), TARGETS, HOSTS, list(Code), paths
    ):
        fix = fix_for(code, dist, target, path=path, archs=["arm64"], host=host, min_os="14.0")
        assert "\x1b" not in fix and "\r" not in fix, fix
        for command in pasted_commands(fix):
            commands.setdefault(command, fix)
    assert len(commands) > 30  # the matrix really printed commands
    for command, fix in commands.items():
        paste(command, root, env)
        assert not (root / CANARY).exists(), (command, fix)


@pytest.mark.parametrize("bad", INJECTIONS, ids=[repr(i) for i in INJECTIONS])
def test_quoting_round_trips_through_the_shell(
    bad: str, sandbox: tuple[Path, dict[str, str]]
) -> None:
    root, env = sandbox
    value = f"a b{bad}c"
    out = subprocess.run(
        ["/bin/sh", "-c", f"printf %s {shell_quote(value)}".encode("utf-8", "surrogateescape")],
        cwd=root, env=env, capture_output=True, check=True,
    ).stdout  # fmt: skip
    assert not (root / CANARY).exists()
    printable = re.sub("[\x00-\x1f\x7f-\x9f\ud800-\udfff]", "?", value)
    assert out.decode("utf-8") == printable
    ps = powershell_quote(value + "'\u2019")
    assert ps.startswith("'") and ps.endswith("'")
    assert "''" in ps and "\u2019\u2019" in ps


# -- end to end: hostile metadata and file names through the scanner -------------------------


def hostile_site(root: Path, names: list[str]) -> Path:
    """A virtualenv with one distribution per name: a hostile ``Name:`` in its METADATA and
    the name in its binary's file name."""
    site = root / "venv" / "lib" / "python3.11" / "site-packages"
    (root / "venv" / "bin").mkdir(parents=True)
    (root / "venv" / "bin" / "python").write_text("")
    for number, bad in enumerate(names):
        info = site / f"evil{number}-1.0.dist-info"
        info.mkdir(parents=True)
        so = f"evil{bad}{number}.cpython-311-darwin.so".replace("/", "_").replace("\x00", "")
        (site / so).write_bytes(_thin_arm64())
        name = bad.replace("\n", "").replace("\r", "")
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: evil{name}\nVersion: 1.0\n\n")
        (info / "WHEEL").write_text("Wheel-Version: 1.0\nTag: cp311-cp311-macosx_11_0_arm64\n")
        quoted = so.replace('"', '""')
        (info / "RECORD").write_text(f'"{quoted}",,\n')
    return site.parents[2]


def _thin_arm64() -> bytes:
    from tests.synth import macho as synth

    return synth.thin("arm64", "bundle")


def run_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "nuitka_archguard", *args],
        cwd=cwd, capture_output=True, timeout=60,
        env={**os.environ, "PYTHONIOENCODING": "utf-8", "GITHUB_WORKSPACE": ""},
    )  # fmt: skip


SCAN_NAMES = [b for b in INJECTIONS if "\udcff" not in b] + [
    "::error::x",
    "%0A::error::y",
    "a\n::error file=z::pwned",
]


def test_scan_of_hostile_names_is_safe_in_every_format(
    tmp_path: Path, sandbox: tuple[Path, dict[str, str]]
) -> None:
    root, env = sandbox
    venv = hostile_site(tmp_path, SCAN_NAMES)
    scan = ["scan", str(venv), "--target", "macos-x86_64"]
    data = json.loads(run_cli([*scan, "--format", "json"], tmp_path).stdout.decode("utf-8"))
    assert len(data["findings"]) == len(SCAN_NAMES)
    for finding in data["findings"]:
        for command in pasted_commands(finding["fix"]):
            paste(command, root, env)
        assert not (root / CANARY).exists(), finding["fix"]
    unreadable = [f for f in data["findings"] if "no command is given" in f["fix"]]
    assert len(unreadable) == len(SCAN_NAMES)  # an invalid Name: no command at all
    text = run_cli(scan, tmp_path)
    assert b"\x1b" not in text.stdout + text.stderr and b"\r" not in text.stdout + text.stderr
    github = run_cli([*scan, "--format", "github"], tmp_path)
    commands = workflow_commands(github.stdout.decode("utf-8"))
    assert len(commands) == len(data["findings"]), github.stdout
    for output in (github.stderr, text.stderr):
        for line in output.decode("utf-8").splitlines():
            assert line.startswith("nuitka-archguard: "), line


_COMMAND = re.compile(r"^::([a-z-]+)(?: ([^:]*))?::(.*)$")


def workflow_commands(output: str) -> list[tuple[str, dict[str, str], str]]:
    """GitHub's runner, in short: every line starting with ``::`` is a command; properties
    are ``k=v`` pairs separated by ``,``; ``%25 %0D %0A %3A %2C`` are unescaped."""

    def unescape(text: str) -> str:
        for code, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","),
                           ("%25", "%")):  # fmt: skip
            text = text.replace(code, char)
        return text

    found = []
    for line in output.splitlines():
        if not line.startswith("::"):
            continue
        match = _COMMAND.match(line)
        assert match, line
        name, props, message = match.groups()
        properties = {}
        for pair in (props or "").split(","):
            key, _, value = pair.partition("=")
            properties[key] = unescape(value)
        found.append((name, properties, unescape(message)))
    return found


def test_github_output_one_command_per_finding_with_hostile_paths(tmp_path: Path) -> None:
    folder = tmp_path / "app.dist"
    folder.mkdir()
    names = ["a\n::error::b.so", "c%0A::warning::d.so", "e,f:g.so", "h\r::notice::i.so", "j.so"]
    for name in names:
        (folder / name).write_bytes(_thin_arm64())
    result = run_cli(["scan", str(folder), "--target", "macos-x86_64", "--format", "github"],
                     tmp_path)  # fmt: skip
    commands = workflow_commands(result.stdout.decode("utf-8"))
    assert len(commands) == len(names)
    assert {c[0] for c in commands} == {"error"}
    files = sorted(c[1]["file"] for c in commands)
    assert all("\n" not in f and "\r" not in f for f in files)


def test_plugin_messages_and_report_items_are_printable() -> None:
    from nuitka_archguard.nuitka_plugin.support import Level, Message

    message = Message(Level.WARNING, "x\x1b[2J.so\nfix: \rrm -rf ~")
    assert message.text == "x\\x1b[2J.so\nfix: \\rrm -rf ~"


@pytest.mark.parametrize("command", ["scan", "inspect"])
def test_json_stays_json_whatever_the_output_encoding(command: str, tmp_path: Path) -> None:
    folder = tmp_path / "app.dist"
    folder.mkdir()
    odd = folder / "caf\u00e9\x1b.so"
    odd.write_bytes(_thin_arm64())
    (folder / os.fsdecode(b"x\xff.so")).write_bytes(_thin_arm64())
    if command == "scan":
        args = [command, str(folder), "--target=macos-x86_64"]
    else:
        args = [command, str(odd), str(folder / os.fsdecode(b"x\xff.so"))]
    for encoding in ("ascii", "utf-8", "latin-1"):
        result = subprocess.run(
            [sys.executable, "-m", "nuitka_archguard", *args,
             "--format=json" if command == "scan" else "--json"],
            capture_output=True, timeout=60, env={**os.environ, "PYTHONIOENCODING": encoding},
        )  # fmt: skip
        document = json.loads(result.stdout.decode("ascii"))
        text = json.dumps(document)
        assert "caf\\u00e9\\u001b.so" in text and "x\\\\xff.so" in text, text


# -- a trailing newline passes a `$`-anchored check (re's `$` matches before a final "\n") ----

# Each case: where the value goes, and a value that is valid but for one trailing newline.
TRAILING_NEWLINE_CASES = {
    "pip-dist-info-name": ("dist-info", "pkg\n"),
    "conda-name": ("name", "cpkg\n"),
    "conda-version": ("version", "1.0\n"),
    "conda-channel": ("channel", "conda-forge\n"),
    "conda-subdir": ("subdir", "osx-arm64\n"),
}


def _trailing_newline_env(root: Path, where: str, value: str) -> Path:
    import json as _json

    if where == "dist-info":
        site = root / "venv" / "lib" / "python3.11" / "site-packages"
        info = site / f"{value}-1.0.dist-info"
        info.mkdir(parents=True)
        (root / "venv" / "bin").mkdir()
        (root / "venv" / "bin" / "python").write_text("")
        (site / "_x.cpython-311-darwin.so").write_bytes(_thin_arm64())
        (info / "METADATA").write_text("Metadata-Version: 2.1\nVersion: 1.0\n\n")  # no Name
        (info / "WHEEL").write_text("Wheel-Version: 1.0\nTag: cp311-cp311-macosx_11_0_arm64\n")
        (info / "RECORD").write_text("_x.cpython-311-darwin.so,,\n")
        return root / "venv"
    prefix = root / "conda"
    site = prefix / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    (prefix / "conda-meta").mkdir()
    (site / "_y.cpython-311-darwin.so").write_bytes(_thin_arm64())
    record = {"name": "cpkg", "version": "1.0", "build": "0", "channel": "conda-forge",
              "subdir": "osx-arm64",
              "files": ["lib/python3.11/site-packages/_y.cpython-311-darwin.so"]}  # fmt: skip
    record[where] = value
    (prefix / "conda-meta" / "cpkg-1.0-0.json").write_text(_json.dumps(record))
    return prefix


@pytest.mark.parametrize("case", sorted(TRAILING_NEWLINE_CASES))
def test_a_trailing_newline_never_passes_validation(
    case: str, tmp_path: Path, sandbox: tuple[Path, dict[str, str]]
) -> None:
    from nuitka_archguard.check.metadata import checked_name

    where, value = TRAILING_NEWLINE_CASES[case]
    assert checked_name("pkg\n") is None and checked_name("pkg") == "pkg"
    prefix = _trailing_newline_env(tmp_path, where, value)
    scan = ["scan", str(prefix), "--target", "macos-x86_64", "--format", "json"]
    result = run_cli(scan, tmp_path)
    (finding,) = json.loads(result.stdout.decode("utf-8"))["findings"]
    assert "no command is given" in finding["fix"], finding["fix"]
    root, env = sandbox
    for command in pasted_commands(finding["fix"]):
        assert "\n" not in command
        paste(command, root, env)


# -- `fix` never acts on what the scan calls unreadable, and `fix all` is offered only when
# -- fix can do something (redscan) ----------------------------------------------------------


def _wheelhouse(root: Path) -> Path:
    import zipfile

    folder = root / "wheelhouse"
    folder.mkdir()
    with zipfile.ZipFile(folder / "pkg-1.0-cp311-cp311-macosx_11_0_arm64.whl", "w") as archive:
        archive.writestr("pkg/_x.cpython-311-darwin.so", _thin_arm64())
        metadata = "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n\n"
        archive.writestr("pkg-1.0.dist-info/METADATA", metadata)
        wheel = "Wheel-Version: 1.0\nTag: cp311-cp311-macosx_11_0_arm64\n"
        archive.writestr("pkg-1.0.dist-info/WHEEL", wheel)
    return folder


FIX_ALL_CASES = {
    # what is scanned -> (fix all offered?, what fix --dry-run says of it)
    "invalid-name": (lambda t: hostile_site(t, ["$(touch canary)"]), False,
                     "its metadata is unreadable"),
    "newline-dist-info": (lambda t: _trailing_newline_env(t, "dist-info", "pkg\n"), False,
                          "its metadata is unreadable"),
    "wheel-files": (_wheelhouse, False, "no version or RECORD"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(FIX_ALL_CASES))
def test_fix_all_only_when_fix_can_act_and_never_on_unreadable_metadata(
    case: str, tmp_path: Path
) -> None:
    make, offered, said = FIX_ALL_CASES[case]
    path = make(tmp_path)
    scan = run_cli(["scan", str(path), "--target", "macos-x86_64"], tmp_path)
    assert scan.returncode == 1
    assert scan.stdout.decode("utf-8").startswith("fix all:") is offered
    env = {**os.environ, "PIP_INDEX_URL": "http://127.0.0.1:9/", "PIP_NO_INDEX": "1"}
    fix = subprocess.run(
        [sys.executable, "-m", "nuitka_archguard", "fix", str(path), "--target", "macos-x86_64",
         "--dry-run"], cwd=tmp_path, capture_output=True, timeout=60, env=env,
    )  # fmt: skip
    out = fix.stdout.decode("utf-8")
    assert f"cannot fix: {said}" in out, out + fix.stderr.decode("utf-8")
    assert "pip download failed" not in fix.stderr.decode("utf-8")
    assert not (tmp_path / CANARY).exists()


# -- arguments argparse complains about are shown escaped (redscan) -------------------------

# A file name starting with "-" reaches argparse as an unknown option (`scan wheelhouse/*`).
ARGV_CASES = {
    "scan-unknown-option": ["scan", "--x\n::error::pwned"],
    "scan-unknown-after-path": ["scan", ".", "--x\r\n::warning file=a::b"],
    "inspect-unknown-option": ["inspect", "--json", "--y\n::error::z", "f"],
    "fix-unknown-option": ["fix", ".", "--q\n::notice::n"],
    "top-level-unknown-option": ["--\x1b[31m\n::error::top"],
    "command-with-newline": ["\n::error::cmd"],
    "bidi-option": ["scan", "--\u202eevil"],
}


@pytest.mark.parametrize("case", sorted(ARGV_CASES))
def test_usage_errors_show_arguments_escaped(case: str, tmp_path: Path) -> None:
    result = run_cli(ARGV_CASES[case], tmp_path)
    assert result.returncode == 2
    err = result.stderr.decode("utf-8")
    assert not workflow_commands(err), err
    for line in err.splitlines():
        assert line.isprintable(), line
    error_lines = [line for line in err.splitlines() if "error:" in line]
    assert len(error_lines) == 1 and error_lines[0].startswith("nuitka-archguard"), err


# -- a RECORD that lists another distribution's file does not rename the culprit (redscan) ---

NUMPY_FILE = "numpy/_core.cpython-311-darwin.so"
CLAIM_CASES = {
    # distribution -> its RECORD line for the file; the owner the finding must name
    "a-name-sorting-first": ({"aaa-evil": NUMPY_FILE, "numpy": NUMPY_FILE}, "numpy"),
    "through-dot-dot": (
        {"aaa_evil": f"../python3.11/site-packages/{NUMPY_FILE}", "numpy": NUMPY_FILE},
        "numpy",
    ),
    "a-name-sorting-last": ({"zzz_evil": NUMPY_FILE, "numpy": NUMPY_FILE}, "numpy"),
    "several-claimants": ({"a": NUMPY_FILE, "b": NUMPY_FILE, "numpy": NUMPY_FILE}, "numpy"),
    "no-claimant-named-for-it": ({"a": NUMPY_FILE, "b": NUMPY_FILE}, "a"),  # first in order
}


@pytest.mark.parametrize("case", sorted(CLAIM_CASES))
def test_a_file_listed_by_several_records_belongs_to_its_package(case: str, tmp_path: Path) -> None:
    from nuitka_archguard import scan

    claims, owner = CLAIM_CASES[case]
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    (site / "numpy").mkdir(parents=True)
    (tmp_path / "venv" / "bin").mkdir()
    (tmp_path / "venv" / "bin" / "python").write_text("")
    (site / NUMPY_FILE).write_bytes(_thin_arm64())
    for name, line in claims.items():
        info = site / f"{name.replace('-', '_')}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n\n")
        (info / "RECORD").write_text(f"{line},,\n")
    (finding,) = scan([str(tmp_path / "venv")], "macos-x86_64").errors
    assert finding.distribution is not None and finding.distribution.name == owner
