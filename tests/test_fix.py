"""``nuitka-archguard fix`` on small local wheels (a --find-links folder stands in for the
index): plans, replacements, fallbacks, undo, and failures that must leave nothing changed."""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from nuitka_archguard.cli.main import main
from tests import fixwheels
from tests.fixwheels import ext_wheel, install, pure_wheel, tree_hash

X86 = "macos-x86_64"


@pytest.fixture
def index(tmp_path: Path) -> Path:
    return tmp_path / "index"


@pytest.fixture
def env(tmp_path: Path, index: Path) -> Path:
    """A --target folder with ``fast 1.0`` installed as its arm64 wheel; the index also
    holds its x86_64 wheel."""
    folder = tmp_path / "env"
    install(ext_wheel(tmp_path / "installed", "fast", "1.0", "arm64"), folder)
    ext_wheel(index, "fast", "1.0", "x86_64")
    return folder


def fix(
    env: Path, index: Path, *extra: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(
        ["fix", str(env), "--target", X86, "--no-index", "--find-links", str(index),
         "--format", "json", *extra]
    )  # fmt: skip
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out.strip() else {"err": captured.err}


def actions(document: dict) -> list[dict]:  # type: ignore[type-arg]
    return list(document["results"][0]["plan"]["actions"])


def scan_code(env: Path) -> int:
    return main(["scan", str(env), "--target", X86, "--format", "json"])


def test_dry_run_plans_and_changes_nothing(
    env: Path, index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree_hash(env)
    code, document = fix(env, index, "--dry-run", capsys=capsys)
    assert code == 0
    (action,) = actions(document)
    assert action["action"] == "replace"
    assert action["wheel"] == "fast-1.0-cp311-cp311-macosx_10_9_x86_64.whl"
    assert action["codes"] == ["arch-missing"]
    assert tree_hash(env) == before


def test_fix_replaces_then_undo_restores(
    env: Path, index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree_hash(env)
    code, document = fix(env, index, capsys=capsys)
    assert code == 0, document
    assert document["results"][0]["verdict"]["summary"]["errors"] == 0
    assert scan_code(env) == 0
    capsys.readouterr()
    installer = (env / "fast-1.0.dist-info" / "INSTALLER").read_text()
    assert installer.strip() == "nuitka-archguard"
    assert main(["fix", "--undo", str(env)]) == 0
    assert "undone fix" in capsys.readouterr().out
    assert tree_hash(env) == before
    assert not (env / ".archguard").exists()
    assert main(["fix", "--undo", str(env)]) == 0
    assert "no fix to undo" in capsys.readouterr().out


def test_undo_refuses_to_lose_changes_made_after_the_fix(
    env: Path, index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file the fix wrote and edited since (by hand, or a later pip install) would be lost
    by the undo: it is refused, exit 2, naming the file, nothing changed; ``--keep-changed``
    undoes the fix and keeps the edited file in .archguard/kept/."""
    before = tree_hash(env)
    code, _ = fix(env, index, capsys=capsys)
    assert code == 0
    (record,) = (env / ".archguard" / "backup").glob("*/journal.json")
    written = json.loads(record.read_text())["written"]
    edited = sorted(written)[0]
    (env / edited).write_bytes(b"a later edit\n")
    fixed = tree_hash(env)
    capsys.readouterr()
    assert main(["fix", "--undo", "--dry-run", str(env)]) == 0
    assert f"changed since the fix (the undo refuses without --keep-changed): {edited}" in (
        capsys.readouterr().out
    )
    assert main(["fix", "--undo", str(env)]) == 2
    err = capsys.readouterr().err
    assert "changed since fix" in err and repr(edited) in err and "--keep-changed" in err
    assert "nothing was changed" in err
    assert tree_hash(env) == fixed  # the edit, the fix and its backup all still there
    assert main(["fix", "--undo", "--keep-changed", str(env)]) == 0
    out = capsys.readouterr().out
    assert "kept (changed since the fix)" in out
    (kept,) = (env / ".archguard" / "kept").glob(f"*/{edited}")
    assert kept.read_bytes() == b"a later edit\n"
    after = tree_hash(env)
    assert {k: v for k, v in after.items() if not k.startswith(".archguard")} == before


def test_undo_of_an_untouched_fix_checks_and_goes_ahead(
    env: Path, index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A removed file is not a change that can be lost; an unedited one matches its record."""
    before = tree_hash(env)
    assert fix(env, index, capsys=capsys)[0] == 0
    (record,) = (env / ".archguard" / "backup").glob("*/journal.json")
    written = json.loads(record.read_text())["written"]
    assert written and all(len(v) == 2 for v in written.values())
    (env / sorted(written)[-1]).unlink()
    assert main(["fix", "--undo", str(env)]) == 0
    assert tree_hash(env) == before


def test_text_output_names_the_plan_and_the_undo(
    env: Path, index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["fix", str(env), "--target", X86, "--no-index", "--find-links", str(index)])
    text = capsys.readouterr().out
    assert code == 0
    assert "fast 1.0" in text and "replace by fast-1.0-cp311-cp311-macosx_10_9_x86_64.whl" in text
    assert "nuitka-archguard fix --undo" in text
    assert "verdict: ok" in text


def test_nothing_to_fix(env: Path, index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["fix", str(env), "--target", "macos-arm64", "--no-index", "--find-links",
                 str(index)])  # fmt: skip
    assert code == 0
    assert "nothing to fix" in capsys.readouterr().out
    assert not (env / ".archguard").exists()


def test_pure_python_wheel_of_the_same_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env, index = tmp_path / "env", tmp_path / "index"
    install(ext_wheel(tmp_path / "w", "fast", "2.0", "arm64"), env)
    pure_wheel(index, "fast", "2.0")
    ext_wheel(index, "fast", "1.0", "x86_64")  # older: never preferred to the same version
    code, document = fix(env, index, capsys=capsys)
    assert code == 0
    (action,) = actions(document)
    assert action["action"] == "pure-python" and action["new_version"] == "2.0"
    assert "PURE = True" in (env / "fast" / "__init__.py").read_text()
    assert not (env / "fast" / "_speedups.cpython-311-darwin.so").exists()


def test_older_version_needs_the_flag_and_names_who_requires_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env, index = tmp_path / "env", tmp_path / "index"
    install(ext_wheel(tmp_path / "w", "fast", "2.0", "arm64"), env)
    install(fixwheels.make_wheel(tmp_path / "w", "app", "1.0", "py3-none-any",
                                 {"app/__init__.py": b""}, requires=("fast>=1",)), env)  # fmt: skip
    ext_wheel(index, "fast", "1.0", "x86_64")
    ext_wheel(index, "fast", "1.5", "x86_64")
    before = tree_hash(env)
    code, document = fix(env, index, capsys=capsys)
    assert code == 1
    (action,) = actions(document)
    assert action["action"] == "older-version" and not action["applies"]
    assert action["new_version"] == "1.5"
    assert action["needed_by"] == ["app"]
    assert "--allow-version-change" in action["description"]
    assert tree_hash(env) == before

    code, document = fix(env, index, "--allow-version-change", capsys=capsys)
    assert code == 0
    assert "1.5" in (env / "fast" / "__init__.py").read_text()
    assert (env / "fast-1.5.dist-info").is_dir() and not (env / "fast-2.0.dist-info").exists()


def test_no_wheel_at_all_advises_a_source_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env, index = tmp_path / "env", tmp_path / "index"
    install(ext_wheel(tmp_path / "w", "fast", "2.0", "arm64"), env)
    index.mkdir()
    (index / "fast-2.0.tar.gz").write_bytes(b"not really an sdist")  # sdist only
    before = tree_hash(env)
    code, document = fix(env, index, capsys=capsys)
    assert code == 1
    (action,) = actions(document)
    assert action["action"] == "build-from-source"
    assert "--no-binary fast fast==2.0" in action["manual"]
    assert tree_hash(env) == before

    # In text, the advice's commands stay on lines of their own, ready to paste.
    main(["fix", str(env), "--target", X86, "--no-index", "--find-links", str(index)])
    text = capsys.readouterr().out
    assert "\\n" not in text
    assert "manual: build fast==2.0 from source" in text


def test_unowned_file_cannot_be_fixed(
    env: Path, index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.synth import macho

    (env / "stray.so").write_bytes(macho.thin("arm64", "bundle"))
    code, document = fix(env, index, capsys=capsys)
    assert code == 1
    kinds = sorted(a["action"] for a in actions(document))
    assert kinds == ["replace", "unowned"]
    assert (env / "stray.so").exists()


def test_unreachable_index_is_exit_2_with_nothing_changed(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree_hash(env)
    code = main(["fix", str(env), "--target", X86, "--index-url", "http://127.0.0.1:9/simple"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "nothing was changed" in err
    assert tree_hash(env) == before


def test_hostile_wheel_member_is_refused(
    tmp_path: Path, env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = tmp_path / "evil"
    fixwheels.make_wheel(
        index, "fast", "1.0", "cp311-cp311-macosx_10_9_x86_64",
        {"fast/__init__.py": b""}, extra_members={"../../escaped.txt": b"x"},
    )  # fmt: skip
    before = tree_hash(env)
    code, document = fix(env, index, capsys=capsys)
    assert code == 2
    assert "outside the environment" in document["err"]
    assert tree_hash(env) == before
    assert not (tmp_path / "escaped.txt").exists()


def test_failure_during_apply_rolls_back(
    env: Path, index: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from nuitka_archguard.fix import journal

    before = tree_hash(env)
    real_rename = os.rename
    calls = []

    def failing_rename(src: str, dst: str, **fds: int) -> None:  # renames relative to dir fds
        calls.append(src)
        if len(calls) == 4:
            raise OSError(28, "No space left on device", str(dst))
        real_rename(src, dst, **fds)

    monkeypatch.setattr(journal.os, "rename", failing_rename)
    code = main(["fix", str(env), "--target", X86, "--no-index", "--find-links", str(index)])
    err = capsys.readouterr().err
    assert code == 2
    assert "No space left on device" in err and "nothing was changed" in err
    assert len(calls) > 4  # the rollback renamed files back
    assert tree_hash(env) == before


def _fix_in_child(env: Path, index: Path, extra: str = "") -> subprocess.CompletedProcess[str]:
    code = textwrap.dedent(
        f"""
        import os, resource, signal, sys
        from nuitka_archguard.fix import journal
        {extra}
        from nuitka_archguard.cli.main import main
        sys.exit(main(["fix", {str(env)!r}, "--target", "macos-x86_64", "--no-index",
                       "--find-links", {str(index)!r}]))
        """
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )


def test_kill_9_mid_apply_is_reported_and_rolled_back(
    env: Path, index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree_hash(env)
    killer = textwrap.dedent(
        """
        real = os.rename
        count = [0]
        def rename(src, dst, **fds):
            count[0] += 1
            if count[0] == 3:
                os.kill(os.getpid(), signal.SIGKILL)
            real(src, dst, **fds)
        journal.os.rename = rename
        """
    ).replace("\n", "\n        ")
    result = _fix_in_child(env, index, killer)
    assert result.returncode == -signal.SIGKILL
    assert (env / ".archguard" / "journal.json").exists()
    # The scanner stays read-only and says how to recover.
    assert main(["scan", str(env), "--target", X86]) == 2
    err = capsys.readouterr().err
    assert "interrupted" in err and "nuitka-archguard fix" in err
    # A dry run does not recover either.
    assert main(["fix", str(env), "--target", X86, "--dry-run", "--no-index"]) == 2
    capsys.readouterr()
    # The next fix rolls back first, then fixes.
    code = main(["fix", str(env), "--target", X86, "--no-index", "--find-links", str(index)])
    out = capsys.readouterr().out
    assert code == 0
    assert "rolled back the interrupted fix" in out
    assert main(["fix", "--undo", str(env)]) == 0
    assert tree_hash(env) == before


def test_full_disk_while_staging_changes_nothing(env: Path, index: Path) -> None:
    if not hasattr(signal, "SIGXFSZ"):
        pytest.skip("needs RLIMIT_FSIZE")
    before = tree_hash(env)
    # Files may not grow beyond 100 bytes: every write of the fix fails with EFBIG, as
    # on a full disk, but the environment's own files stay as they are.
    limit = textwrap.dedent(
        """
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100, 100))
        """
    ).replace("\n", "\n        ")
    result = _fix_in_child(env, index, limit)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "nothing was changed" in result.stderr or "nothing changed" in result.stderr
    assert tree_hash(env) == before


def test_scan_prints_one_command_fixing_everything(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (env / "odd dir").mkdir()
    assert main(["scan", str(env), "--target", X86, "--min-os", "10.13"]) == 1
    first = capsys.readouterr().out.splitlines()[0]
    quoted = str(env) if " " not in str(env) else f"'{env}'"
    from nuitka_archguard.check.fixable import fix_program

    program = fix_program()  # runs as printed, venv activated or not
    assert first == f"fix all: {program} fix --target macos-x86_64 --min-os 10.13 {quoted}"


def test_output_writes_a_corrected_wheelhouse(
    tmp_path: Path, index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    house = tmp_path / "house"
    arm = ext_wheel(house, "fast", "1.0", "arm64")
    pure = pure_wheel(house, "plain", "3.0")
    ext_wheel(index, "fast", "1.0", "x86_64")
    before = tree_hash(house)
    out = tmp_path / "out"
    code = main(["fix", str(house), "--output", str(out), "--target", X86, "--no-index",
                 "--find-links", str(index)])  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0, text
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [pure.name, "fast-1.0-cp311-cp311-macosx_10_9_x86_64.whl"]
    )
    assert tree_hash(house) == before and arm.exists()
    assert main(["scan", str(out), "--target", X86]) == 0
    capsys.readouterr()
    assert main(["fix", str(house), "--output", str(house), "--target", X86]) == 2
    assert "never modified in place" in capsys.readouterr().err


# -- the plugin points at fix, and refuses a half-fixed environment ---------------------------


def test_plugin_stop_names_one_fix_command_and_a_half_fixed_env_stops(tmp_path: Path) -> None:
    from nuitka_archguard.nuitka_plugin.support import Level
    from tests.envbuild import seed_like
    from tests.plugin_session import make_session, seed_modules

    seed_like(tmp_path)
    session = make_session(tmp_path)
    session.check_modules(seed_modules(tmp_path))
    (message,) = session.early(standalone=True)
    assert message.level is Level.STOP
    lines = message.text.splitlines()
    from nuitka_archguard.check.fixable import fix_program

    assert lines[1] == (
        f"Fix every offender at once: {fix_program()} fix --target macos-x86_64 "
        f"--min-os 10.9 {tmp_path}"
    )

    (tmp_path / ".archguard").mkdir()
    (tmp_path / ".archguard" / "journal.json").write_text("{}")
    session = make_session(tmp_path)
    session.check_modules(seed_modules(tmp_path))
    (message,) = session.early(standalone=True)
    assert message.level is Level.STOP
    assert "half-fixed" in message.text
    assert f"nuitka-archguard fix {tmp_path}" in message.text


# -- fusing -----------------------------------------------------------------------------------


def _fuse_env(tmp_path: Path, differing: bool) -> tuple[Path, Path]:
    from tests.synth import macho

    env, index = tmp_path / "env", tmp_path / "index"
    for arch, folder in (("arm64", tmp_path / "w"), ("x86_64", index)):
        minimum = "11.0" if arch == "arm64" else "10.9"
        files = {
            "fast/__init__.py": b"VERSION = '1.0'\n",
            "fast/config.py": f"ARCH = {arch!r}\n".encode() if differing else b"ARCH = None\n",
            "fast/_speedups.cpython-311-darwin.so": macho.thin(
                arch, "bundle", build_version=("macos", minimum, "14.0")
            ),
        }
        tag = f"cp311-cp311-macosx_{minimum.replace('.', '_')}_{arch}"
        wheel = fixwheels.make_wheel(folder, "fast", "1.0", tag, files)
        if arch == "arm64":
            install(wheel, env)
    return env, index


def test_universal2_fuses_and_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.fixwheels import verify_record

    env, index = _fuse_env(tmp_path, differing=False)
    code = main(["fix", str(env), "--target", "macos-universal2", "--no-index",
                 "--find-links", str(index)])  # fmt: skip
    assert code == 0, capsys.readouterr()
    data = (env / "fast" / "_speedups.cpython-311-darwin.so").read_bytes()
    assert data[:4] == bytes.fromhex("cafebabe")
    assert verify_record(env / "fast-1.0.dist-info") == []


def test_differing_files_stop_the_fuse_unless_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env, index = _fuse_env(tmp_path, differing=True)
    before = tree_hash(env)
    args = ["fix", str(env), "--target", "macos-universal2", "--no-index", "--find-links",
            str(index)]  # fmt: skip
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "fast/config.py" in out and "--accept-different" in out
    assert tree_hash(env) == before
    assert main([*args, "--accept-different", "fast/config.py"]) == 0
    out = capsys.readouterr().out
    assert "kept the installed copy of differing files: fast/config.py" in out
    assert (env / "fast" / "config.py").read_text() == "ARCH = 'arm64'\n"


# -- one fix at a time, leftovers, bad input ----------------------------------------------------


def test_a_second_fix_waits_for_nobody_and_changes_nothing(
    env: Path, index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nuitka_archguard.fix import journal

    before = tree_hash(env)
    with journal.locked(env):
        code = main(["fix", str(env), "--target", X86, "--no-index", "--find-links", str(index)])
        assert code == 2
        assert "another nuitka-archguard fix is running" in capsys.readouterr().err
    assert tree_hash(env) == before


def test_a_symlinked_state_folder_is_refused(
    tmp_path: Path, env: Path, index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (env / ".archguard").symlink_to(elsewhere)
    code = main(["fix", str(env), "--target", X86, "--no-index", "--find-links", str(index)])
    assert code == 2
    assert "symbolic link" in capsys.readouterr().err
    assert list(elsewhere.iterdir()) == []


def test_leftover_staging_is_removed_and_a_filed_fix_rolls_forward(
    env: Path, index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nuitka_archguard.fix import journal

    stale = env / ".archguard" / "staging-19700101T000000-1" / "downloads"
    stale.mkdir(parents=True)
    (stale / "half.whl").write_bytes(b"x")
    args = ["fix", str(env), "--target", X86, "--no-index", "--find-links", str(index)]
    assert main(args) == 0
    assert not stale.parent.exists()
    fixed = tree_hash(env)
    # Killed after filing its record but before removing the journal: finished, not undone.
    done = journal.last_fix(env)
    assert done is not None
    (env / ".archguard" / "journal.json").write_text(
        json.dumps(done.to_json("applying")), encoding="utf-8"
    )
    assert main(args) == 0
    assert "finished the interrupted fix" in capsys.readouterr().out
    assert tree_hash(env) == fixed


def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wheel = ext_wheel(tmp_path / "w", "fast", "1.0", "arm64")
    for args in (
        ["fix", str(env), "--python-version", "three"],
        ["fix", str(wheel), "--target", X86],
        ["fix", str(tmp_path / "missing"), "--target", X86],
        ["fix", str(env), "--target", "macos-z80"],
    ):
        assert main(args) == 2, args
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err, (args, err)


def test_output_fuses_a_wheel_into_a_universal2_wheel(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import zipfile

    from tests.fixwheels import verify_record

    _env, index = _fuse_env(tmp_path, differing=False)  # the arm64 wheel is in tmp_path/w
    house = tmp_path / "w"
    before = tree_hash(house)
    out = tmp_path / "out"
    code = main(["fix", str(house), "--output", str(out), "--target", "macos-universal2",
                 "--no-index", "--find-links", str(index)])  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0, text
    (made,) = out.iterdir()
    assert made.name == "fast-1.0-cp311-cp311-macosx_10_9_universal2.whl", text
    assert tree_hash(house) == before
    with zipfile.ZipFile(made) as archive:
        names = archive.namelist()
        assert names[-1].endswith(".dist-info/RECORD")
        data = archive.read("fast/_speedups.cpython-311-darwin.so")
    assert data[:4] == bytes.fromhex("cafebabe")
    installed = tmp_path / "installed"
    install(made, installed)
    assert verify_record(installed / "fast-1.0.dist-info") == []
    assert main(["scan", str(made), "--target", "macos-universal2"]) == 0


def test_hostile_record_lines_never_move_files_outside_or_the_fix_state(
    tmp_path: Path, env: Path, index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    record = env / "fast-1.0.dist-info" / "RECORD"
    with open(record, "a", encoding="utf-8") as handle:
        handle.write("../outside.txt,,\n")
        handle.write(f"{outside},,\n")
        handle.write(".archguard/lock,,\n")
    code = main(["fix", str(env), "--target", X86, "--no-index", "--find-links", str(index)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert outside.read_text() == "keep me"
    assert "left alone" in out
    assert main(["fix", "--undo", str(env)]) == 0
    assert outside.read_text() == "keep me"


def test_a_manual_fix_prints_as_lines_not_as_one_escaped_line(
    env: Path, index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A conda package cannot be replaced by a wheel: the scanner's multi-line advice is
    shown under ``manual:``, each of its lines on its own (escaped one by one), never with a
    literal ``\\n`` joining a paragraph and its commands into one line."""
    import shutil

    shutil.rmtree(env / "fast-1.0.dist-info")
    (env / "conda-meta").mkdir()
    record = {"name": "fast", "version": "1.0", "build": "0", "subdir": "osx-arm64",
              "channel": "https://conda.anaconda.org/conda-forge/osx-arm64",
              "files": ["fast/_speedups.cpython-311-darwin.so"]}  # fmt: skip
    (env / "conda-meta" / "fast-1.0-0.json").write_text(json.dumps(record))
    before = tree_hash(env)
    code = main(["fix", str(env), "--target", X86, "--no-index", "--find-links", str(index)])
    text = capsys.readouterr().out
    assert code == 1 and tree_hash(env) == before
    assert "\\n" not in text
    lines = text.splitlines()
    (start,) = [i for i, line in enumerate(lines) if line.startswith("      manual: ")]
    assert lines[start + 1].lstrip().startswith("CONDA_SUBDIR=osx-64 conda create")


# -- hostile metadata: every read of it goes through metadata.py (bounded, regular files) ----

from nuitka_archguard.check.metadata import FILE_LIMIT, LIST_LIMIT  # noqa: E402

FIX_ADDRESS_SPACE = 300 << 20
_ZEROS = bytes(1 << 20)


def _rewritten_wheel(source: Path, folder: Path, member: str, method: int, mib: int) -> Path:
    """``source`` copied into ``folder`` with its ``.dist-info/<member>`` replaced by
    ``mib`` MiB (streamed, never held) compressed with ``method``."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.name
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            if info.filename.endswith(f".dist-info/{member}"):
                replacement = zipfile.ZipInfo(info.filename, info.date_time)
                replacement.compress_type = method
                line = {
                    "RECORD": b"a/b.so,,\n",
                    "METADATA": b"Metadata-Version: 2.1\nName: fast\nVersion: 1.0\n\n",
                    "WHEEL": b"Wheel-Version: 1.0\n",
                }[member]
                with new.open(replacement, "w", force_zip64=True) as handle:
                    handle.write(line)
                    for _ in range(mib):
                        handle.write(_ZEROS if member != "RECORD" else line * ((1 << 20) // 9))
            else:
                new.writestr(info, old.read(info))
    return target


Bomb = Callable[[Path, str, int, int], Path]


@pytest.fixture(scope="session")
def bomb(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Bomb:
    """``bomb(folder, member, method, mib)``: the x86_64 ``fast`` wheel rewritten by
    :func:`_rewritten_wheel`, copied into ``folder``. Compressing up to 384 MiB with LZMA or
    bzip2 costs 3-6 s of CPU a bomb (~30 s for this file), so each is built once a run and
    kept in pytest's cache folder (``.pytest_cache``; ``--cache-clear`` drops it) under a key
    made of the wheel's members, the arguments and this builder's source."""
    good = ext_wheel(tmp_path_factory.mktemp("good"), "fast", "1.0", "x86_64")
    with zipfile.ZipFile(good) as archive:
        members = sorted((i.filename, archive.read(i)) for i in archive.infolist())
    seed = hashlib.sha256(repr(members).encode())
    seed.update(inspect.getsource(_rewritten_wheel).encode())
    cache = getattr(request.config, "cache", None)  # None with -p no:cacheprovider
    store = cache.mkdir("archguard-bombs") if cache else tmp_path_factory.mktemp("bombs")

    def make(folder: Path, member: str, method: int, mib: int) -> Path:
        key = seed.copy()
        key.update(f"{member} {method} {mib}".encode())
        kept = store / key.hexdigest()[:32] / good.name
        if not kept.exists():
            built = _rewritten_wheel(good, store / f"tmp-{os.getpid()}-{key.hexdigest()[:8]}",
                                     member, method, mib)  # fmt: skip
            kept.parent.mkdir(parents=True, exist_ok=True)
            os.replace(built, kept)  # whole or absent, for a concurrent run
            built.parent.rmdir()
        folder.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copyfile(kept, folder / good.name))

    return make


HOSTILE_WHEEL_CASES = {
    "record-beyond-list-limit": ("RECORD", zipfile.ZIP_DEFLATED, (LIST_LIMIT >> 20) + 8),
    "metadata-beyond-file-limit": ("METADATA", zipfile.ZIP_DEFLATED, (FILE_LIMIT >> 20) + 4),
    "wheel-beyond-file-limit": ("WHEEL", zipfile.ZIP_DEFLATED, (FILE_LIMIT >> 20) + 4),
    "metadata-bzip2-bomb": ("METADATA", zipfile.ZIP_BZIP2, 384),
    "metadata-lzma-bomb": ("METADATA", zipfile.ZIP_LZMA, 384),
    "wheel-bzip2-bomb": ("WHEEL", zipfile.ZIP_BZIP2, 384),
    "wheel-lzma-bomb": ("WHEEL", zipfile.ZIP_LZMA, 384),
}


def _fix_limited(env: Path, index: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """``fix`` in a child under a 300 MiB address-space limit (pip, which it runs, too)."""
    code = textwrap.dedent(
        f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, ({FIX_ADDRESS_SPACE}, {FIX_ADDRESS_SPACE}))
        from nuitka_archguard.cli.main import main
        sys.exit(main(["fix", *sys.argv[1:]]))
        """
    )
    args = [str(env), "--target", X86, "--no-index", "--find-links", str(index), *extra]
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False,
        timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is enforced on Linux")
@pytest.mark.parametrize("case", sorted(HOSTILE_WHEEL_CASES))
def test_hostile_metadata_in_the_offered_wheel_is_refused_within_300_mib(
    case: str, tmp_path: Path, bomb: Bomb
) -> None:
    member, method, mib = HOSTILE_WHEEL_CASES[case]
    env = tmp_path / "env"
    install(ext_wheel(tmp_path / "installed", "fast", "1.0", "arm64"), env)
    index = tmp_path / "index"
    bomb(index, member, method, mib)
    before = tree_hash(env)
    result = _fix_limited(env, index)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    assert "nothing was changed" in lines[0]
    refused = f".dist-info/{member}: unreadable metadata: larger than"
    if member == "RECORD" or method == zipfile.ZIP_DEFLATED:
        assert refused in lines[0]
    else:  # pip reads METADATA and WHEEL whole, in its own process: its MemoryError stops it
        assert refused in lines[0] or "pip download failed" in lines[0]
    assert tree_hash(env) == before


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is enforced on Linux")
def test_hostile_metadata_in_the_offered_wheel_is_refused_for_output(
    tmp_path: Path, bomb: Bomb
) -> None:
    """``fix --output``: the downloaded wheel's bomb is refused before it is unpacked."""
    wheels = tmp_path / "wheels"
    ext_wheel(wheels, "fast", "1.0", "arm64")
    index = tmp_path / "index"
    bomb(index, "WHEEL", zipfile.ZIP_BZIP2, 384)
    out = tmp_path / "out"
    result = _fix_limited(wheels, index, "--output", str(out))
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(result.stderr.splitlines()) == 1
    assert "pip download failed" in result.stderr or "WHEEL: unreadable metadata" in result.stderr
    assert not out.exists() or not any(out.iterdir())


def test_a_fifo_as_the_installed_record_never_hangs_the_fix(env: Path, index: Path) -> None:
    """The distribution's files are then unknown: nothing is removed or replaced."""
    path = env / "fast-1.0.dist-info" / "RECORD"
    path.unlink()
    os.mkfifo(path)
    before = tree_hash(env)
    result = _fix_limited(env, index)  # a hang is the 120 s timeout
    assert result.returncode in (1, 2), result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert tree_hash(env) == before


def test_record_paths_refuses_a_record_it_cannot_read_whole(env: Path) -> None:
    from nuitka_archguard.fix.wheels import UnsafePathError, record_paths

    record = env / "fast-1.0.dist-info" / "RECORD"
    record.unlink()
    os.mkfifo(record)
    with pytest.raises(UnsafePathError, match="not a regular file"):
        record_paths(record.parent, env)
    record.unlink()
    line = b"x" * 60_000 + b",,\n"  # few long lines: the byte limit, not the entry limit
    record.write_bytes(line * (LIST_LIMIT // len(line) + 1))
    with pytest.raises(UnsafePathError, match="larger than"):
        record_paths(record.parent, env)


@pytest.mark.parametrize("member", ["METADATA", "WHEEL", "RECORD"])
@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_a_bomb_in_a_wheels_metadata_is_refused_before_installing_or_unpacking(
    member: str, method: int, tmp_path: Path, bomb: Bomb
) -> None:
    """What pip lets through, archguard reads bounded: planning, installing and unpacking
    all refuse the wheel with one line (pip itself may already have failed on it)."""
    from nuitka_archguard.fix.wheelhouse import WheelhouseError, _unpack
    from nuitka_archguard.fix.wheels import DownloadError, UnsafePathError, read_wheel_tags

    wheel = bomb(tmp_path / "bad", member, method, (LIST_LIMIT >> 20) + 8)
    expected = f".dist-info/{member}: unreadable metadata: larger than"
    with pytest.raises(DownloadError, match=expected):
        read_wheel_tags(wheel)
    with pytest.raises(WheelhouseError, match=expected):
        _unpack(wheel, tmp_path / "unpacked")
    assert not (tmp_path / "unpacked").exists()
    from nuitka_archguard.fix.wheels import Scheme, install_wheel

    site = tmp_path / "site"
    scheme = Scheme(site, site, site / "bin", site, site / "include")
    with pytest.raises(UnsafePathError, match=expected):
        install_wheel(wheel, scheme, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def test_a_replacement_wheel_too_big_to_unpack_is_refused_before_a_byte_is_written(
    env: Path, index: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sizes in a wheel's central directory bound what staging writes (zipfile stops each
    member there): over the limit, or over the free space, the fix stops with one line and
    the environment as it was, instead of filling the disk first."""
    from nuitka_archguard.fix import wheels

    monkeypatch.setattr(wheels, "UNPACK_LIMIT", 100)
    before = tree_hash(env)
    code, document = fix(env, index, capsys=capsys)
    assert code == 2 and tree_hash(env) == before
    assert "would unpack to" in document["err"] and "nothing was installed" in document["err"]
    assert len(document["err"].strip().splitlines()) == 1


def test_a_fifo_as_the_journal_is_one_line_not_a_hang(env: Path, index: Path) -> None:
    from nuitka_archguard.fix.journal import JOURNAL_NAME

    state = env / ".archguard"
    state.mkdir()
    os.mkfifo(state / JOURNAL_NAME)
    before = tree_hash(env)
    result = _fix_limited(env, index)  # a hang is the 120 s timeout
    assert result.returncode == 2, result.stdout + result.stderr
    assert len(result.stderr.splitlines()) == 1 and "not a regular file" in result.stderr
    assert tree_hash(env) == before
