"""``fix`` trusted with a real environment (issue 16): it works on the environment as
resolved once (a symlinked ancestor, a name that is not UTF-8), never writes, moves, deletes
or chmods through a symlink out of it, believes a journal or a backup only once checked, and
reports each environment's own outcome."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from nuitka_archguard.cli.main import main
from nuitka_archguard.fix import journal
from tests.fixwheels import ext_wheel, install, make_wheel, tree_hash
from tests.synth import macho

X86 = "macos-x86_64"


@pytest.fixture
def index(tmp_path: Path) -> Path:
    folder = tmp_path / "index"
    ext_wheel(folder, "fast", "1.0", "x86_64")
    return folder


def _env(where: Path, tmp_path: Path) -> Path:
    install(ext_wheel(tmp_path / "installed", "fast", "1.0", "arm64"), where)
    return where


def _fix(env: Path | str, index: Path, *extra: str) -> int:
    return main(["fix", os.fsdecode(env), "--target", X86, "--no-index", "--find-links",
                 str(index), *extra])  # fmt: skip


# -- 1. the environment is resolved once ------------------------------------------------------

# How an environment is reached: (folder created, the PATH given to fix), relative to tmp_path.
REACHED = {
    "symlinked ancestor (macOS /tmp)": ("private/tmp/env", "tmp/env"),
    "symlink to the environment": ("real-env", "env-link"),
    "name not UTF-8": ("caf\udce9/env", "caf\udce9/env"),
    "not UTF-8 behind a link": ("private/\udcff/env", "tmp/\udcff/env"),
}


def _reach(case: str, tmp_path: Path) -> tuple[Path, Path]:
    real_rel, given_rel = REACHED[case]
    real = tmp_path / real_rel
    given = tmp_path / given_rel
    if "ancestor" in case or "behind" in case:
        (tmp_path / "tmp").symlink_to(tmp_path / "private" / "tmp"
                                      if "ancestor" in case else tmp_path / "private")  # fmt: skip
    elif real != given:
        given.symlink_to(real)
    return real, given


@pytest.mark.parametrize("case", sorted(REACHED))
@pytest.mark.parametrize("dry_run", [False, True], ids=["apply", "dry-run"])
def test_an_environment_reached_through_a_link_or_an_odd_name_is_fixed(
    case: str, dry_run: bool, tmp_path: Path, index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real, given = _reach(case, tmp_path)
    _env(real, tmp_path)
    before = tree_hash(real)
    extra = ("--dry-run",) if dry_run else ()
    code = _fix(given, index, *extra, "--format", "json")
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "internal error" not in err and err == "", err
    document = json.loads(out)
    (result,) = document["results"]
    if dry_run:
        assert tree_hash(real) == before
        assert result["plan"]["actions"], result
    else:
        assert result["applied"] is True, result
        assert tree_hash(real) != before
        assert main(["fix", "--undo", os.fsdecode(given)]) == 0
        capsys.readouterr()
        assert tree_hash(real) == before


# -- the state folder: at an environment's root only, known without the fixer --------------

STATE_PLACES = {
    # where a folder named .archguard holds an arm64 binary: (is it the state folder?)
    ".archguard": True,
    "fast/.archguard": False,
    "fast/sub/.archguard/deeper": False,
}


@pytest.mark.parametrize("where", sorted(STATE_PLACES))
def test_only_the_root_archguard_folder_is_the_state_folder(
    where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = _env(tmp_path / "env", tmp_path)
    (env / "fast" / "_speedups.cpython-311-darwin.so").unlink()  # only the planted binary
    folder = env / where
    folder.mkdir(parents=True)
    (folder / "hidden.so").write_bytes(macho.thin("arm64", "bundle"))
    code = main(["scan", str(env), "--target", X86, "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    if STATE_PLACES[where]:
        assert code == 0 and findings == []
    else:
        assert code == 1
        assert [f["path"].endswith(f"{where}/hidden.so") for f in findings] == [True]


def test_the_diagnosis_does_not_import_the_fixer(tmp_path: Path) -> None:
    env = _env(tmp_path / "env", tmp_path)
    (env / ".archguard").mkdir()
    (env / ".archguard" / "journal.json").write_text("{}")
    program = (
        "import sys\n"
        "from nuitka_archguard.check.scan import scan, ScanError\n"
        "from nuitka_archguard.nuitka_plugin import support\n"
        "try:\n"
        f"    scan([{str(env)!r}], 'macos-x86_64')\n"
        "except ScanError as error:\n"
        "    assert 'half-fixed' in str(error), error\n"
        "else:\n"
        "    raise SystemExit('not refused')\n"
        f"assert support._half_fixed([{str(env)!r}])\n"
        "fixer = sorted(m for m in sys.modules if m.startswith('nuitka_archguard.fix'))\n"
        "assert not fixer, fixer\n"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# -- 2. nothing follows a symlink out of the environment --------------------------------------


def _victim(tmp_path: Path) -> Path:
    """A folder outside the environment, with a file, an empty folder and a private mode."""
    victim = tmp_path / "victim"
    (victim / "empty").mkdir(parents=True)
    (victim / "__init__.cpython-311.pyc").write_bytes(b"precious")
    (victim / "_speedups.cpython-311-darwin.so").write_bytes(b"precious too")
    os.chmod(victim, 0o700)
    return victim


def _link_pycache(env: Path, victim: Path) -> None:
    (env / "fast" / "__pycache__").symlink_to(victim)


def _link_backup(env: Path, victim: Path) -> None:
    (env / ".archguard").mkdir()
    (env / ".archguard" / "backup").symlink_to(victim)


def _link_stale_backup(env: Path, victim: Path) -> None:
    (env / ".archguard" / "backup").mkdir(parents=True)
    (env / ".archguard" / "backup" / "20260101T000000-1").symlink_to(victim)


def _link_stale_staging(env: Path, victim: Path) -> None:
    (env / ".archguard").mkdir()
    (env / ".archguard" / "staging-20260101T000000-1").symlink_to(victim)


def _link_dist_info(env: Path, victim: Path) -> None:
    dist_info = env / "fast-1.0.dist-info"
    for item in dist_info.iterdir():
        (victim / item.name).write_bytes(item.read_bytes())
    for item in list(dist_info.iterdir()):
        item.unlink()
    dist_info.rmdir()
    dist_info.symlink_to(victim)


LINKED = {
    "__pycache__ of the package": _link_pycache,
    ".archguard/backup": _link_backup,
    "a stale backup folder": _link_stale_backup,
    "a stale staging folder": _link_stale_staging,
    "the .dist-info folder": _link_dist_info,
}


@pytest.mark.parametrize("case", sorted(LINKED))
def test_no_change_follows_a_symlink_out_of_the_environment(
    case: str, tmp_path: Path, index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = _env(tmp_path / "env", tmp_path)
    victim = _victim(tmp_path)
    LINKED[case](env, victim)
    outside = tree_hash(victim)
    code = _fix(env, index)
    err = capsys.readouterr().err
    assert "internal error" not in err and err.count("\n") <= 1, err
    assert tree_hash(victim) == outside
    if code == 0:
        assert main(["fix", "--undo", str(env)]) == 0
        capsys.readouterr()
    else:
        assert code == 2 and ("link" in err or "outside" in err), err
    assert tree_hash(victim) == outside


def test_undo_keep_changed_never_keeps_through_a_linked_kept_folder(
    tmp_path: Path, index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = _env(tmp_path / "env", tmp_path)
    victim = _victim(tmp_path)
    assert _fix(env, index) == 0
    (env / "fast" / "__init__.py").write_text("edited after the fix\n")
    (env / ".archguard" / "kept").symlink_to(victim)
    outside = tree_hash(victim)
    fixed = tree_hash(env)
    capsys.readouterr()
    assert main(["fix", "--undo", "--keep-changed", str(env)]) == 2
    err = capsys.readouterr().err
    assert "symbolic link" in err and err.count("\n") == 1, err
    assert tree_hash(victim) == outside
    assert tree_hash(env) == fixed


# -- RECORD is not trusted to delete -----------------------------------------------------------

# A line planted in the installed RECORD (relative to site-packages), the file it names
# (relative to the prefix) and why it must stay.
NOT_ITS_OWN = {
    "the interpreter": ("../../../bin/python3", "bin/python3", "interpreter"),
    "pyvenv.cfg": ("../../../pyvenv.cfg", "pyvenv.cfg", "pyvenv.cfg"),
    "the standard library": ("../os.py", "lib/python3.11/os.py", "distribution's folders"),
    "another distribution's file": (
        "other/x.py", "lib/python3.11/site-packages/other/x.py", "another distribution"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(NOT_ITS_OWN))
def test_a_record_line_naming_what_is_not_the_distributions_is_left_in_place(
    case: str, tmp_path: Path, index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line, planted, why = NOT_ITS_OWN[case]
    prefix = tmp_path / "venv"
    site = prefix / "lib" / "python3.11" / "site-packages"
    _env(site, tmp_path)
    (prefix / "bin").mkdir()
    (prefix / "bin" / "python3").write_bytes(b"#!interpreter\n")
    (prefix / "pyvenv.cfg").write_text("home = /usr/bin\nversion = 3.11.7\n")
    (site.parent / "os.py").write_text("# the standard library\n")
    (site / "other").mkdir()
    (site / "other" / "x.py").write_text("OTHER = 1\n")
    (site / "other-2.0.dist-info").mkdir()
    (site / "other-2.0.dist-info" / "RECORD").write_text("other/x.py,,\n")
    (site / "other-2.0.dist-info" / "METADATA").write_text("Name: other\nVersion: 2.0\n")
    with open(site / "fast-1.0.dist-info" / "RECORD", "a", encoding="utf-8") as handle:
        handle.write(f"{line},,\n")
    before = tree_hash(prefix)
    kept = (prefix / planted).read_bytes()
    assert _fix(prefix, index) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    assert (prefix / planted).read_bytes() == kept
    assert f"RECORD entry {line!r} left alone" in out and why in out, out
    assert main(["fix", "--undo", str(prefix)]) == 0
    assert tree_hash(prefix) == before


# -- chmod: real folders only, and only when needed --------------------------------------------

NOBODY = 65534


def _as_nobody(run: Callable[[], int], where: Path) -> tuple[int, str]:
    """``run()`` in a forked child that has become an unprivileged user, in ``where``; its
    exit status and what it wrote on stderr."""
    log = where / "stderr.txt"
    log.touch()
    os.chown(log, NOBODY, NOBODY)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 3
        try:
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os.chdir(where)
            sys.stderr = open(log, "w", encoding="utf-8")  # noqa: SIM115
            code = int(run())
        except BaseException as error:
            print(f"{type(error).__name__}: {error}", file=sys.stderr)
        finally:
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    said = log.read_text(encoding="utf-8") if log.exists() else ""
    return (os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1), said


@pytest.mark.skipif(not hasattr(os, "fork") or os.geteuid() != 0, reason="needs root and fork")
def test_a_rollback_never_chmods_a_folder_it_does_not_own_when_its_mode_is_right(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Planned and staged as root (pip cannot run as nobody here), applied by an
    unprivileged user for whom a new file appears meanwhile: the rollback must not chmod
    the package folder (owned by root, mode already right) and must leave no journal."""
    base = Path(tempfile.mkdtemp(prefix="archguard-nobody-"))
    try:
        os.chmod(base, 0o755)
        index = base / "index"
        make_wheel(index, "fast", "1.0", "cp311-cp311-macosx_10_9_x86_64", {
            "fast/__init__.py": b"", "fast/new.py": b"NEW = 1\n",
            "fast/_speedups.cpython-311-darwin.so": macho.thin("x86_64", "bundle"),
        })  # fmt: skip
        env = _env(base / "env", base)
        os.chmod(env / "fast", 0o777)
        before = tree_hash(env)
        real_apply = journal.Transaction.apply
        outcome: list[tuple[int, str]] = []

        def apply_as_nobody(self: journal.Transaction, **kwargs: object) -> None:
            for folder, _, names in os.walk(env):
                os.chown(folder, NOBODY, NOBODY)
                for name in names:
                    os.chown(os.path.join(folder, name), NOBODY, NOBODY)
            os.chown(env / "fast", 0, 0)  # the user may write in it (0o777), not chmod it
            (env / "fast" / "new.py").write_text("the user's own\n")

            def run() -> int:
                try:
                    real_apply(self, **kwargs)  # type: ignore[arg-type]
                except journal.JournalError as error:
                    print(error, file=sys.stderr)
                    return 2
                return 0

            outcome.append(_as_nobody(run, base))
            raise journal.JournalError("applied in the child")

        monkeypatch.setattr(journal.Transaction, "apply", apply_as_nobody)
        assert _fix(env, index) == 2
        capsys.readouterr()
        ((code, err),) = outcome
        assert code == 2 and "appeared while fixing" in err and "nothing was changed" in err, err
        assert not (env / ".archguard").exists()  # rolled back whole, no journal left
        (env / "fast" / "new.py").unlink()
        os.chown(env / "fast", NOBODY, NOBODY)
        assert tree_hash(env) == before
    finally:
        shutil.rmtree(base)


# -- 3. the journal and the backup are checked before they are believed -----------------------


def _backup_files(env: Path) -> list[Path]:
    return sorted(p for p in (env / ".archguard" / "backup").rglob("*") if p.is_file()
                  and p.name != "journal.json")  # fmt: skip


BACKUP_DAMAGE = {
    "truncated": lambda path: path.write_bytes(path.read_bytes()[:10]),
    "tampered, same size": lambda path: path.write_bytes(bytes(len(path.read_bytes()))),
    "replaced by a symlink": lambda path: (path.unlink(), path.symlink_to("/etc/passwd")),
    "missing": lambda path: path.unlink(),
}


@pytest.mark.parametrize("case", sorted(BACKUP_DAMAGE))
def test_undo_refuses_a_damaged_backup_and_changes_nothing(
    case: str, tmp_path: Path, index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = _env(tmp_path / "env", tmp_path)
    assert _fix(env, index) == 0
    victim = next(p for p in _backup_files(env) if p.name.endswith(".so"))
    BACKUP_DAMAGE[case](victim)
    fixed = tree_hash(env)
    capsys.readouterr()
    assert main(["fix", "--undo", str(env)]) == 2
    err = capsys.readouterr().err
    assert "_speedups" in err and "nothing was changed" in err and err.count("\n") == 1, err
    assert tree_hash(env) == fixed


def test_recovery_refuses_a_damaged_backup_of_an_interrupted_fix(
    tmp_path: Path, index: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    env = _env(tmp_path / "env", tmp_path)

    def killed_after_moving_out(self: journal.Transaction) -> None:
        for rel, kept in self.out:
            journal.safe.move(self.root, rel, kept, make_parents=True)
        raise SystemExit("killed")  # no rollback runs for a BaseException of this kind

    monkeypatch.setattr(journal, "rollback", lambda t: None)
    monkeypatch.setattr(journal.Transaction, "_forward", killed_after_moving_out)
    with pytest.raises(SystemExit):
        _fix(env, index)
    monkeypatch.undo()
    capsys.readouterr()
    assert (env / ".archguard" / "journal.json").exists()
    victim = next((env / ".archguard" / "backup").rglob("*.so"))
    victim.write_bytes(b"planted")
    state = tree_hash(env)
    assert _fix(env, index) == 2
    err = capsys.readouterr().err
    assert "tampered or truncated" in err and "_speedups" in err, err
    assert tree_hash(env) == state


def test_undo_reverts_the_last_fix_whatever_the_clock_said(
    tmp_path: Path, index: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    env = _env(tmp_path / "env", tmp_path)
    ext_wheel(index, "slow", "2.0", "x86_64")
    ids = iter(["20991231T235959-1", "20000101T000000-2", "20000101T000000-3"])  # stepped back
    monkeypatch.setattr(journal, "new_id", lambda: next(ids))
    assert _fix(env, index) == 0
    install(ext_wheel(tmp_path / "installed", "slow", "2.0", "arm64"), env)
    after_first = tree_hash(env)
    assert _fix(env, index) == 0
    capsys.readouterr()
    assert main(["fix", "--undo", str(env)]) == 0
    assert "undone fix 20000101T000000-2" in capsys.readouterr().out
    visible = {k: v for k, v in tree_hash(env).items() if not k.startswith(".archguard")}
    assert visible == {k: v for k, v in after_first.items() if not k.startswith(".archguard")}


def test_undo_keep_changed_keeps_a_file_that_appeared_where_the_backup_restores_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = tmp_path / "index"
    # The target's wheel lacks the installed one's fast/old.py: the fix removes it.
    make_wheel(index, "fast", "1.0", "cp311-cp311-macosx_10_9_x86_64", {
        "fast/__init__.py": b"", "fast/_speedups.cpython-311-darwin.so":
            macho.thin("x86_64", "bundle", build_version=("macos", "10.9", "14.0")),
    })  # fmt: skip
    env = tmp_path / "env"
    install(make_wheel(tmp_path / "installed", "fast", "1.0", "cp311-cp311-macosx_11_0_arm64", {
        "fast/__init__.py": b"", "fast/old.py": b"OLD = 1\n",
        "fast/_speedups.cpython-311-darwin.so":
            macho.thin("arm64", "bundle", build_version=("macos", "11.0", "14.0")),
    }), env)  # fmt: skip
    before = tree_hash(env)
    assert _fix(env, index) == 0
    assert not (env / "fast" / "old.py").exists()
    (env / "fast" / "old.py").write_text("the user's new file\n")
    capsys.readouterr()
    assert main(["fix", "--undo", str(env)]) == 2
    assert "fast/old.py" in capsys.readouterr().err
    assert main(["fix", "--undo", "--keep-changed", str(env)]) == 0
    out = capsys.readouterr().out
    assert "kept" in out and "old.py" in out, out
    (kept,) = (env / ".archguard" / "kept").rglob("old.py")
    assert kept.read_text() == "the user's new file\n"
    assert {k: v for k, v in tree_hash(env).items() if not k.startswith(".archguard")} == before


# -- rollback failures never leave a state neither fix nor --undo can recover -----------------


def _chattr(flag: str, path: Path) -> bool:
    chattr = shutil.which("chattr")
    if chattr is None:
        return False
    return subprocess.run([chattr, flag, str(path)], capture_output=True).returncode == 0


@pytest.mark.parametrize("step", ["fix", "undo"])
def test_an_immutable_folder_stops_the_step_with_nothing_changed(
    step: str, tmp_path: Path, index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = _env(tmp_path / "env", tmp_path)
    if step == "undo":
        assert _fix(env, index) == 0
    if not _chattr("+i", env / "fast"):
        pytest.skip("chattr +i is not available here")
    try:
        before = tree_hash(env)
        capsys.readouterr()
        code = _fix(env, index) if step == "fix" else main(["fix", "--undo", str(env)])
        err = capsys.readouterr().err
        assert code == 2 and "nothing was changed" in err and err.count("\n") == 1, err
        assert tree_hash(env) == before
        assert not (env / ".archguard" / "journal.json").exists()
    finally:
        _chattr("-i", env / "fast")
    code = _fix(env, index) if step == "fix" else main(["fix", "--undo", str(env)])
    assert code == 0


@pytest.mark.parametrize("first", [3, 5, 7])
def test_a_rollback_that_fails_too_is_finished_by_the_next_run(
    first: int, tmp_path: Path, index: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The ``first``-th rename of the fix fails, and so does the first rename of its
    rollback: the journal stays, and the next run (fix or undo) ends as before the fix."""
    env = _env(tmp_path / "env", tmp_path)
    before = tree_hash(env)
    real = os.rename
    count = [0]

    def rename(src: str, dst: str, **fds: int) -> None:
        count[0] += 1
        if count[0] in (first, first + 1):
            raise OSError(30, "Read-only file system (injected)", dst)
        real(src, dst, **fds)

    monkeypatch.setattr(os, "rename", rename)
    assert _fix(env, index) == 2
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert "rolling back failed too" in err and "run 'nuitka-archguard fix'" in err, err
    assert str(env) in err.split("rolling back")[1]  # the path named whole, not a bare name
    assert (env / ".archguard" / "journal.json").exists()
    assert main(["fix", "--undo", str(env)]) == 0
    assert tree_hash(env) == before


# -- 4. honest reporting -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("step", ["fix", "undo"])
def test_each_environment_reports_its_own_outcome_when_a_later_one_fails(
    fmt: str, step: str, tmp_path: Path, index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env1 = _env(tmp_path / "env1", tmp_path)
    env2 = _env(tmp_path / "env2", tmp_path)
    if step == "undo":
        assert _fix(env1, index) == 0
        assert _fix(env2, index) == 0
        (env2 / "fast" / "__init__.py").write_text("edited\n")  # env2's undo is refused
        capsys.readouterr()
        code = main(["fix", "--undo", str(env1), str(env2), "--format", fmt])
    else:
        (env2 / ".archguard").write_text("the user's file")  # env2 cannot be fixed
        code = main(["fix", str(env1), str(env2), "--target", X86, "--no-index",
                     "--find-links", str(index), "--format", fmt])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1 and str(env2) in err and str(env1) not in err, err
    if fmt == "json":
        first, second = json.loads(out)["results"]
        assert first["environment"] == str(env1) and "error" not in first
        assert first["applied"] if step == "fix" else first["undone"], first
        assert second["environment"] == str(env2) and second["error"] and second["exit_code"] == 2
    else:
        said = "applied: 1 changed" if step == "fix" else f"{env1}: undone fix"
        assert said in out and f"{env2}: failed" in out, out
        assert "nothing was changed" not in out


# Unicode digits (fullwidth, superscript, Arabic-Indic) pass str.isdigit but not pip.
ODD_VERSIONS = ["\uff13.\uff11\uff11", "\u00b2.11", "3.\u0661\u0661", "3", "3.11.1", "3.1111", ""]


@pytest.mark.parametrize("version", ODD_VERSIONS)
def test_a_python_version_is_ascii_digits_and_bounded(
    version: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = _env(tmp_path / "env", tmp_path)
    before = tree_hash(env)
    code = main(["fix", str(env), "--target", X86, "--python-version", version, "--no-index"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("nuitka-archguard: error: --python-version"), err
    assert tree_hash(env) == before


# -- 5. what the fat writer fuses reads back ---------------------------------------------------


def test_a_fused_static_archive_reads_back_as_fat_with_both_archs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from nuitka_archguard.binaries.fat import fat_bytes

    thin = {
        arch: macho.archive([("npy_math.o", macho.thin(arch, "object"))])
        for arch in ("x86_64", "arm64")
    }
    lib = tmp_path / "numpy" / "_core" / "lib" / "libnpymath.a"
    lib.parent.mkdir(parents=True)
    lib.write_bytes(fat_bytes([thin["x86_64"], thin["arm64"]]))
    assert main(["inspect", str(lib), "--json"]) == 0
    (info,) = json.loads(capsys.readouterr().out)
    assert info["error"] is None and info["format"] == "mach-o", info
    assert sorted(s["arch"] for s in info["slices"]) == ["arm64", "x86_64"]
    assert {s["file_type"] for s in info["slices"]} == {"static-archive"}
    assert main(["scan", str(tmp_path), "--target", "macos-universal2", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["findings"] == [], report["findings"]


# --output: where corrected wheels go is checked before anything is written. Each case makes
# the output from (the input folder, tmp_path) and gives the PATH fix is called with.
OUTPUTS = {
    "the input folder": lambda house, tmp: (house, house),
    "a symlink to the input folder": lambda house, tmp: (_linked(tmp / "out", house), house),
    "a regular file": lambda house, tmp: (_file(tmp / "out.txt"), house),
    "a folder inside the input folder": lambda house, tmp: (house / "fixed", house),
    "a new folder inside the input folder": lambda house, tmp: (house / "a" / "b", house),
    "the folder of an input wheel, through a link": lambda house, tmp: (
        _linked(tmp / "out", house), next(house.glob("*.whl"))),
}  # fmt: skip


def _linked(link: Path, to: Path) -> Path:
    link.symlink_to(to)
    return link


def _file(path: Path) -> Path:
    path.write_text("the user's notes\n")
    return path


@pytest.mark.parametrize("case", sorted(OUTPUTS))
def test_an_output_that_is_or_holds_an_input_is_refused_clearly(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    house = tmp_path / "house"
    ext_wheel(house, "fast", "1.0", "arm64")
    output, given = OUTPUTS[case](house, tmp_path)
    before, outside = tree_hash(house), tree_hash(tmp_path)
    code = main(["fix", str(given), "--output", str(output), "--target", X86, "--no-index"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--output" in err, err
    assert "internal error" not in err
    assert tree_hash(house) == before and tree_hash(tmp_path) == outside


def test_fusing_into_output_counts_unpacked_bytes_against_the_staging_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from nuitka_archguard.fix import wheels

    house, index, out = tmp_path / "house", tmp_path / "index", tmp_path / "out"
    arm = ext_wheel(house, "fast", "1.0", "arm64")
    ext_wheel(index, "fast", "1.0", "x86_64")
    # The budget, lowered to below what these wheels declare (a small wheel of a huge
    # member is the same case at scale: the declared sizes are what is counted).
    monkeypatch.setattr(wheels, "UNPACK_LIMIT", 200)
    code = main(["fix", str(arm), "--output", str(out), "--target", "macos-universal2",
                 "--no-index", "--find-links", str(index)])  # fmt: skip
    captured = capsys.readouterr()
    assert "would unpack to" in captured.out + captured.err, captured
    assert code != 0
    assert not any(out.glob("*.whl"))


# pip failures classified by what happened: (extra fix options, environment, words said).
PIP_FAILURES = {
    "missing --find-links folder": (
        ["--no-index", "--find-links", "{tmp}/no-such-folder"], {}, "no such folder"),
    "index URL without a scheme": (["--index-url", "pypi.invalid/simple"], {}, "no scheme"),
    "untrusted plain-http index": (
        ["--index-url", "http://example.invalid/simple"], {}, "--trusted-host"),
    "a constraint from the user's pip config": (
        ["--no-index", "--find-links", "{index}"], {"PIP_CONSTRAINT": "{tmp}/c.txt"},
        "constraint from your pip configuration"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(PIP_FAILURES))
def test_a_pip_failure_is_said_for_what_it_is(
    case: str, tmp_path: Path, index: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    extra, environment, said = PIP_FAILURES[case]
    env = _env(tmp_path / "env", tmp_path)
    (tmp_path / "c.txt").write_text("fast<1.0\n")
    for key, value in environment.items():
        monkeypatch.setenv(key, value.format(tmp=tmp_path, index=index))
    before = tree_hash(env)
    args = [a.format(tmp=tmp_path, index=index) for a in extra]
    code = main(["fix", str(env), "--target", X86, *args])
    err = capsys.readouterr().err
    assert code == 2 and said in err and err.count("\n") == 1, err
    assert "from source" not in err
    assert tree_hash(env) == before
