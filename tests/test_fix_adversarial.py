"""``fix`` against a hostile journal, a racing second run, files that change between staging
and apply, and a failure or a ``kill -9`` at every step of apply: nothing outside the
environment is touched, no byte of it is lost, and the tree ends byte for byte as before (or
as the finished fix, which ``--undo`` then reverts)."""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import pytest

from nuitka_archguard.cli.main import main
from nuitka_archguard.fix import journal
from tests.fixwheels import ext_wheel, install, make_wheel, tree_hash
from tests.synth import macho

X86 = "macos-x86_64"


def ext_so(arch: str) -> bytes:
    return macho.thin(arch, "bundle", build_version=("macos", "11.0", "14.0"))


@pytest.fixture
def index(tmp_path: Path) -> Path:
    folder = tmp_path / "index"
    ext_wheel(folder, "fast", "1.0", "x86_64")
    return folder


@pytest.fixture
def env(tmp_path: Path, index: Path) -> Path:
    folder = tmp_path / "env"
    install(ext_wheel(tmp_path / "installed", "fast", "1.0", "arm64"), folder)
    return folder


def _fix(env: Path, index: Path, *extra: str) -> int:
    return main(["fix", str(env), "--target", X86, "--no-index", "--find-links", str(index),
                 *extra])  # fmt: skip


def _plant_journal(env: Path, data: dict, where: str = "journal.json") -> None:  # type: ignore[type-arg]
    path = env / ".archguard" / where
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"format": 1, "state": "applying", "kind": "fix", **data}))


HOSTILE_JOURNALS = {
    "absolute id": lambda victim: {"id": str(victim), "out": [], "into": []},
    "climbing id": lambda victim: {"id": "../../victim", "out": [], "into": []},
    "odd kind": lambda victim: {"id": "20260101T000000-1", "kind": "rm", "out": []},
    "empty path": lambda victim: {"id": "20260101T000000-1", "out": [["", ".archguard/x"]]},
    "moves the state": lambda victim: {
        "id": "20260101T000000-1", "out": [[".archguard/lock", ".archguard/x"]]},
    "env to env": lambda victim: {
        "id": "20260101T000000-1", "into": [["fast/__init__.py", "other.py"]]},
    "absolute path": lambda victim: {
        "id": "20260101T000000-1", "out": [[str(victim / "precious"), ".archguard/x"]]},
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(HOSTILE_JOURNALS))
def test_a_hostile_journal_is_refused_and_touches_nothing(
    case: str, tmp_path: Path, env: Path, index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious").write_text("keep me")
    _plant_journal(env, HOSTILE_JOURNALS[case](victim))
    before = tree_hash(env)
    outside = tree_hash(victim)
    assert _fix(env, index) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "journal" in err, err
    assert tree_hash(victim) == outside
    assert tree_hash(env) == before
    assert main(["fix", "--undo", str(env)]) == 2  # undo recovers first: refused the same way
    assert tree_hash(victim) == outside


def test_a_journal_moving_through_a_symlink_out_of_the_environment_is_refused(
    tmp_path: Path, env: Path, index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (env / "link").symlink_to(victim)
    kept = ".archguard/backup/20260101T000000-1/files/link/planted"
    (env / kept).parent.mkdir(parents=True)
    (env / kept).write_text("planted")
    _plant_journal(env, {"id": "20260101T000000-1", "out": [["link/planted", kept]]})
    assert _fix(env, index) == 2
    assert "leads out of the environment" in capsys.readouterr().err
    assert os.listdir(victim) == []


def test_a_backup_record_naming_another_fix_is_refused_by_undo(
    tmp_path: Path, env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious").write_text("keep me")
    # A well-formed id, but not the folder's: undo would remove that other fix's backup.
    _plant_journal(env, {"id": "20260101T000000-1", "state": "done", "out": [], "into": []},
                   "backup/20260102T000000-2/journal.json")  # fmt: skip
    before = tree_hash(env)
    assert main(["fix", "--undo", str(env)]) == 2
    assert "names another fix" in capsys.readouterr().err
    assert tree_hash(env) == before


def test_a_run_that_does_not_get_the_lock_leaves_it_to_its_holder(env: Path) -> None:
    with journal.locked(env):
        with pytest.raises(journal.JournalError, match="another"), journal.locked(env):
            pass
        assert (env / ".archguard" / "lock").exists()
        # A third run is refused as well: the first still holds the same file.
        with pytest.raises(journal.JournalError, match="another"), journal.locked(env):
            pass
    assert not (env / ".archguard").exists()


def test_a_file_appearing_between_staging_and_apply_is_never_overwritten(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    index = tmp_path / "index2"
    # The new wheel brings a file the installed one does not have.
    make_wheel(index, "fast", "1.0", "cp311-cp311-macosx_10_9_x86_64", {
        "fast/__init__.py": b"", "fast/new.py": b"NEW = 1\n",
        "fast/_speedups.cpython-311-darwin.so": ext_so("x86_64"),
    })  # fmt: skip
    before = tree_hash(env)
    real_apply = journal.Transaction.apply

    def racing_apply(self: journal.Transaction, **kwargs: object) -> None:
        (env / "fast" / "new.py").write_text("the user's own\n")
        real_apply(self, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(journal.Transaction, "apply", racing_apply)
    assert _fix(env, index) == 2
    err = capsys.readouterr().err
    assert "appeared while fixing" in err and "nothing was changed" in err
    assert (env / "fast" / "new.py").read_text() == "the user's own\n"
    (env / "fast" / "new.py").unlink()
    assert tree_hash(env) == before


def test_record_lines_inside_the_state_folder_are_left_alone(
    env: Path, index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = next(env.glob("fast-1.0.dist-info")) / "RECORD"
    with open(record, "a", encoding="utf-8") as handle:
        handle.write(".archguard/keep,,\n")
    (env / ".archguard").mkdir()
    (env / ".archguard" / "keep").write_text("not the distribution's")
    before = tree_hash(env)
    assert _fix(env, index) == 0
    assert "the fix's own folder" in capsys.readouterr().out
    assert (env / ".archguard" / "keep").read_text() == "not the distribution's"
    assert main(["fix", "--undo", str(env)]) == 0
    assert tree_hash(env) == before


# -- a failure or a kill -9 at every step of apply and of undo -----------------------------

_STEPS = ("rename", "replace", "unlink", "rmdir", "mkdir", "open", "fsync")


class _Injected(OSError):
    pass


def _inject(monkeypatch: pytest.MonkeyPatch, step: int, kill: bool) -> list[int]:
    """Make the ``step``-th file-system call from now on fail (or SIGKILL the process)."""
    count = [0]
    for name in _STEPS:
        real = getattr(os, name)

        def wrapped(*args: object, _real: object = real, **kwargs: object) -> object:
            count[0] += 1
            if count[0] == step:
                if kill:
                    os.kill(os.getpid(), signal.SIGKILL)
                raise _Injected(28, "No space left on device (injected)")
            return _real(*args, **kwargs)  # type: ignore[operator]

        monkeypatch.setattr(os, name, wrapped)
    return count


def _in_child(run: object) -> int:
    """Run ``run()`` in a forked child; its exit status (negative: killed by a signal)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            run()  # type: ignore[operator]
        except BaseException:
            os._exit(3)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


@pytest.fixture
def staged(
    env: Path,
    index: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[Path, dict, dict, Path]:  # type: ignore[type-arg]
    """(the environment as apply finds it, staging included; its transaction; the tree
    before the fix; the environment once fixed)."""
    before = tree_hash(env)
    template = tmp_path / "template"
    captured: dict = {}  # type: ignore[type-arg]
    real_apply = journal.Transaction.apply

    def capture(self: journal.Transaction, **kwargs: object) -> None:
        self.plan_dirs()
        captured.update(self.to_json("x"))
        shutil.copytree(env, template, symlinks=True)
        real_apply(self, **kwargs)  # type: ignore[arg-type]

    with monkeypatch.context() as patch:
        patch.setattr(journal.Transaction, "apply", capture)
        assert _fix(env, index) == 0
    capsys.readouterr()
    return template, captured, before, env


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.parametrize("kill", [False, True], ids=["failure", "kill-9"])
def test_every_step_of_apply_fails_or_is_killed_and_nothing_is_lost(
    kill: bool, staged: tuple[Path, dict, dict, Path], tmp_path: Path,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    template, data, before, _ = staged
    outcomes: dict[str, int] = {}
    step = 0
    while True:
        step += 1
        root = tmp_path / f"run{step}"
        shutil.copytree(template, root, symlinks=True)
        transaction = journal.Transaction.from_json(root, data)

        def run(transaction: journal.Transaction = transaction, step: int = step) -> None:
            count = _inject(monkeypatch, step, kill)
            try:
                transaction.apply()
            finally:
                monkeypatch.undo()
                if count[0] < step:
                    os._exit(7)  # the step was never reached: every step was tried

        status = _in_child(run)
        if status == 7:
            break
        # The scanner names the recovery when a journal is left; recovery, then undo of a
        # fix that got filed, gives the tree as it was, byte for byte.
        if journal.interrupted(root):
            assert main(["scan", str(root), "--target", X86]) == 2
            assert "nuitka-archguard fix" in capsys.readouterr().err
        assert main(["fix", "--undo", str(root)]) == 0, capsys.readouterr()
        capsys.readouterr()
        assert tree_hash(root) == before, f"step {step}"
        outcome = "killed" if status < 0 else ("failed" if status == 3 else "done")
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        shutil.rmtree(root)
    assert step > 20  # every file moved out and in, the journal and the record
    # Failures of an fsync or of tidying up are tolerated ("done"); the rest stop the fix.
    assert outcomes.get("killed" if kill else "failed", 0) > 20, outcomes


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.parametrize("kill", [False, True], ids=["failure", "kill-9"])
def test_every_step_of_undo_fails_or_is_killed_and_nothing_is_lost(
    kill: bool, staged: tuple[Path, dict, dict, Path], tmp_path: Path,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    _, _, before, fixed = staged
    fixed_tree = {k: v for k, v in tree_hash(fixed).items() if not k.startswith(".archguard")}
    step = 0
    while True:
        step += 1
        root = tmp_path / f"undo{step}"
        shutil.copytree(fixed, root, symlinks=True)

        def run(root: Path = root, step: int = step) -> None:
            count = _inject(monkeypatch, step, kill)
            try:
                journal.undo(root)
            finally:
                monkeypatch.undo()
                if count[0] < step:
                    os._exit(7)

        status = _in_child(run)
        if status == 7:
            break
        visible = {k: v for k, v in tree_hash(root).items() if not k.startswith(".archguard")}
        if journal.interrupted(root):
            assert main(["scan", str(root), "--target", X86]) == 2
            capsys.readouterr()
        else:  # no journal: the undo either did not start or finished
            assert visible in (fixed_tree, {k: v for k, v in before.items()}), f"step {step}"
        # Whatever happened, one more undo (recovering first) ends as before the fix.
        assert main(["fix", "--undo", str(root)]) == 0, capsys.readouterr()
        capsys.readouterr()
        assert tree_hash(root) == before, f"step {step}"
        shutil.rmtree(root)
    assert step > 20


def test_a_folder_the_fix_removes_comes_back_with_its_mode(
    env: Path, index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # The installed wheel has a private sub-folder the target's wheel does not.
    shutil.rmtree(env)
    make_wheel(tmp_path / "installed2", "fast", "1.0", "cp311-cp311-macosx_11_0_arm64", {
        "fast/__init__.py": b"", "fast/private/key.py": b"K = 1\n",
        "fast/_speedups.cpython-311-darwin.so": ext_so("arm64"),
    })  # fmt: skip
    install(next((tmp_path / "installed2").glob("*.whl")), env)
    os.chmod(env / "fast" / "private", 0o700)
    os.chmod(env / "fast", 0o750)
    before = tree_hash(env)
    assert _fix(env, index) == 0
    assert not (env / "fast" / "private").exists()
    assert main(["fix", "--undo", str(env)]) == 0
    assert tree_hash(env) == before
    # And when the fix fails after the folder went (filing its record): rolled back with
    # its mode.
    real_rmdir, real_replace = os.rmdir, os.replace
    removed: list[str] = []

    def rmdir(path: object, *args: object, **kwargs: object) -> None:
        real_rmdir(path, *args, **kwargs)  # type: ignore[arg-type]
        removed.append(str(path))

    def replace(src: object, dst: object, *args: object, **kwargs: object) -> None:
        if any(p.endswith("private") for p in removed):
            raise OSError(28, "No space left on device (injected)")
        real_replace(src, dst, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "rmdir", rmdir)
    monkeypatch.setattr(os, "replace", replace)
    assert _fix(env, index) == 2
    monkeypatch.undo()
    assert any(p.endswith("private") for p in removed)
    assert tree_hash(env) == before
    capsys.readouterr()


HOSTILE_MEMBERS = {
    "scripts climbing": ("fast-1.0.data/scripts/../../../../escaped", "outside the environment"),
    "data climbing": ("fast-1.0.data/data/../../escaped", "outside the environment"),
    "no such scheme": ("fast-1.0.data/evil/x", "not a valid wheel"),
    "backslashes": ("fast\\..\\..\\escaped", "outside the environment"),
    "absolute": ("/tmp/archguard-escaped-abs", "outside the environment"),
    "into .archguard": (".archguard/backup/x", "the fix's own folder"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_MEMBERS))
def test_a_hostile_replacement_wheel_is_one_line_and_changes_nothing(
    case: str, env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    member, said = HOSTILE_MEMBERS[case]
    index = tmp_path / "hostile"
    make_wheel(index, "fast", "1.0", "cp311-cp311-macosx_10_9_x86_64", {
        "fast/__init__.py": b"", "fast/_speedups.cpython-311-darwin.so": ext_so("x86_64"),
        member: b"x",
    })  # fmt: skip
    before = tree_hash(env)
    assert _fix(env, index) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and said in err and "internal error" not in err, err
    assert "nothing was changed" in err
    assert tree_hash(env) == before
    assert not (tmp_path / "escaped").exists()
    assert not Path("/tmp/archguard-escaped-abs").exists()


def test_a_state_path_that_is_a_file_is_named_and_kept(
    env: Path, index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (env / ".archguard").write_text("the user's own file")
    before = tree_hash(env)
    assert _fix(env, index) == 2
    assert main(["fix", "--undo", str(env)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all("is not a folder" in line for line in err), err
    assert tree_hash(env) == before
