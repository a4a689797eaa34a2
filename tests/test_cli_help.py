"""Help that answers: every command and option explains itself, shared options are declared
once (:mod:`nuitka_archguard.cli.options`) and ``--target``'s help lists what the parser takes."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from nuitka_archguard import archs
from nuitka_archguard.archs import Platform
from nuitka_archguard.cli import main as cli
from nuitka_archguard.target import accepted_targets, parse_target


def _subparser(command: str) -> argparse.ArgumentParser:
    parser = cli._build_parser(command)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser = action.choices[command]
            return found
    raise AssertionError(command)


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {a.option_strings[-1]: a for a in parser._actions if a.option_strings}


def test_a_bogus_option_prints_the_subcommands_usage(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("scan", "fix", "resolve", "inspect", "plugin-path"):
        with pytest.raises(SystemExit) as stop:
            cli.main([command, "--bogus", *(["x"] if command == "inspect" else [])])
        assert stop.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith(f"usage: nuitka-archguard {command} "), err
        assert f"nuitka-archguard {command}: error: unrecognized arguments: --bogus" in err


@pytest.mark.parametrize("command", ["inspect", "scan", "fix", "resolve", "plugin-path"])
def test_every_command_has_a_description_and_every_option_help(command: str) -> None:
    parser = _subparser(command)
    assert parser.description and len(parser.description) > 40, command
    for action in parser._actions:
        assert action.help, (command, action.option_strings or action.dest)


def test_shared_options_are_declared_once() -> None:
    scan, fix = _options(_subparser("scan")), _options(_subparser("fix"))
    for name in ("--target", "--min-os", "--allow"):
        assert scan[name].help == fix[name].help, name
        assert scan[name].metavar == fix[name].metavar, name
    resolve = _options(_subparser("resolve"))
    for name in ("--index-url", "--extra-index-url", "--find-links", "--no-index"):
        assert resolve[name].help == fix[name].help, name
    for parser in (scan, fix, resolve):  # the same list of spellings; defaults may differ
        assert accepted_targets() in str(parser["--target"].help)


def test_target_help_lists_every_accepted_spelling() -> None:
    text = " ".join(_options(_subparser("scan"))["--target"].help.split())  # type: ignore[union-attr]
    assert accepted_targets() in text.replace("- ", "-")
    # every platform and every macOS format the parser knows is named
    for plat in Platform:
        assert f"{plat.value}-" in text, plat
    for name in archs.MACOS_FORMATS:
        assert f"macos-{name}" in text
    for abi in archs.ANDROID_ABIS:
        assert f"android-{abi}" in text
    for arch in sorted(archs.KNOWN_ARCHS[Platform.LINUX]):
        assert re.search(rf"\b{re.escape(arch)}\b", text), arch
    # and every concrete spelling listed is one the parser takes
    outside_lists = re.sub(r"\([^)]*\)", " ", accepted_targets())
    tokens = re.split(r"[,;\s]+", outside_lists)
    concrete = [t for t in tokens if ("-" in t or "_" in t) and "<" not in t]
    assert len(concrete) > 25 and "macos-intel" in concrete and "win32" not in concrete
    for spelling in concrete:
        parse_target(spelling)  # raises if the help lies


def test_the_command_list_is_the_same_whichever_command_is_built() -> None:
    texts = {
        c: cli._build_parser(c).format_help() for c in (None, "scan", "fix", "resolve", "inspect")
    }
    assert len(set(texts.values())) == 1
    assert cli.SCAN_HELP in " ".join(texts[None].split())


def test_fix_takes_allow_and_adds_it_to_the_projects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nuitka_archguard.cli import options

    (tmp_path / "pyproject.toml").write_text(
        '[tool.archguard]\ntarget = "linux-aarch64"\nallow = ["a:from file"]\n'
        'accept-different = ["x.cfg"]\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    for command in ("scan", "fix"):
        args = cli._build_parser(command).parse_args([command, "--allow", "b"])
        chosen = options.settings(args)
        assert chosen.allow == ("a:from file", "b")
        assert chosen.target == parse_target("linux-aarch64")
    args = cli._build_parser("fix").parse_args(["fix", "--target", "win_amd64"])
    chosen = options.settings(args)
    assert chosen.target.name == "windows-amd64" and chosen.accept_different == ("x.cfg",)


def test_the_readme_names_every_platform_and_macos_format() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("- **--target**") : readme.index("- **--min-os**")]
    for name in archs.MACOS_FORMATS:
        assert f"`macos-{name}`" in section, name
    for plat in Platform:
        assert f"`{plat.value}-" in section, plat
