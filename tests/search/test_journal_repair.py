"""A journal cut off by a crash or a full disk: search/resume back it up and cut the partial record; readers
read it unchanged; a cut in the middle is one line with the byte offset and a fix (exit 2)."""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from optnas.dashboard import StudySource
from optnas.errors import CutJournalWarning, StorageWriteError
from optnas.storage._journal_file import SafeJournalFile, repair_tail
from tests._support.cli import run_cli


def _process(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`optnas` in its own process: the search that made the journal, a resume of it, the readers' warnings."""
    return subprocess.run([sys.executable, "-m", "optnas", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def _plain_states(path: Path, study: str = "fast") -> list[str]:
    """What plain Optuna reads (its own backend, its own load_study)."""
    storage = JournalStorage(JournalFileBackend(str(path)))
    return [t.state.name for t in optuna.load_study(study_name=study, storage=storage).trials]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def searched(tmp_path_factory) -> Path:
    """A finished 3-trial search on a journal (its folder holds the journal and the weights)."""
    from tests._support.spaces import FAST

    base = tmp_path_factory.mktemp("searched")
    (base / "fast.yaml").write_text(FAST)
    # in its own process, which has ended (as after a crash) when the tests resume its study
    done = _process("search", "fast.yaml", "--trials", "3", "--storage", str(base / "runs" / "journal.log"),
                "--no-progress", cwd=base)
    assert done.returncode == 0, done.stderr
    return base


@pytest.fixture
def run_dir(searched, tmp_path) -> Path:
    shutil.copytree(searched, tmp_path / "run")
    return tmp_path / "run"


def _cut_tail(path: Path, n: int = 37) -> None:
    os.truncate(path, path.stat().st_size - n)


def test_resume_after_a_cut_tail_backs_up_cuts_and_goes_on(run_dir):
    journal = run_dir / "runs" / "journal.log"
    _cut_tail(journal)
    cut = journal.read_bytes()
    done = _process("search", "fast.yaml", "--trials", "3", "--storage", str(journal), "--resume", "--no-progress",
                    cwd=run_dir)
    assert done.returncode == 0, done.stderr
    notes = [line for line in done.stderr.splitlines() if "cut off" in line]
    assert len(notes) == 1 and str(journal) in notes[0] and "kept a copy in" in notes[0], done.stderr
    backups = list(journal.parent.glob("journal.log.*.bak"))
    assert len(backups) == 1 and backups[0].read_bytes() == cut  # the journal as it was before the cut
    assert journal.read_bytes().endswith(b"\n")
    states = _plain_states(journal)
    # the cut record was the last trial's tell: that trial is failed as lost and run again
    assert states.count("COMPLETE") == 3 and "RUNNING" not in states, states
    # and every reader after it: export, report, results
    out = run_cli("export", "--storage", str(journal), "--study", "fast", "--out", "best", cwd=run_dir)
    assert out.returncode == 0, out.stderr
    rep = run_cli("report", "--storage", str(journal), "--study", "fast", "-o", "r.html", cwd=run_dir)
    assert rep.returncode == 0, rep.stderr


def test_readers_read_a_cut_journal_unchanged(run_dir):
    journal = run_dir / "runs" / "journal.log"
    _cut_tail(journal)
    before = _digest(journal)
    assert len(_plain_states(journal)) == 3  # plain Optuna already skips a partial last record
    # each its own process: a process says so once per file (the dashboard reads a journal again and again)
    out = _process("export", "--storage", str(journal), "--study", "fast", "--out", "best", cwd=run_dir)
    assert out.returncode == 0, out.stderr
    rep = _process("report", "--storage", str(journal), "--study", "fast", "-o", "r.html", cwd=run_dir)
    assert rep.returncode == 0, rep.stderr
    for done in (out, rep):  # each says so, in one line
        said = [line for line in done.stderr.splitlines() if "record cut mid-write" in line]
        assert len(said) == 1 and "optnas search --resume" in said[0], done.stderr
    with pytest.warns(CutJournalWarning, match="trials may be missing"):
        source = StudySource(str(journal))
    assert len(source.frame("fast")) == 3  # the dashboard's own reader
    assert _digest(journal) == before and not list(journal.parent.glob("*.bak"))


def test_a_cut_in_the_middle_is_one_line_with_the_offset_and_a_fix(run_dir):
    journal = run_dir / "runs" / "journal.log"
    data = journal.read_bytes()
    line_start = data.index(b"\n", len(data) // 2) + 1  # 37 bytes cut from a record in the middle
    journal.write_bytes(data[: line_start + 5] + data[line_start + 42 :])
    before = _digest(journal)
    for args in (
        ("search", "fast.yaml", "--trials", "3", "--storage", str(journal), "--resume", "--no-progress"),
        ("export", "--storage", str(journal), "--study", "fast", "--out", "best"),
        ("report", "--storage", str(journal), "--study", "fast", "-o", "r.html"),
    ):
        done = run_cli(*args, cwd=run_dir)
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert str(journal) in lines[0] and f"at byte {line_start}" in lines[0]
        assert f"truncate -s {line_start}" in lines[0]
    assert _digest(journal) == before and not (run_dir / "best").exists() and not (run_dir / "r.html").exists()


def test_a_record_that_lost_only_its_newline_is_kept(tmp_path):
    journal = tmp_path / "journal.log"
    storage = JournalStorage(SafeJournalFile(str(journal)))
    study = optuna.create_study(storage=storage, study_name="s")
    study.enqueue_trial({"x": 1.0})
    _cut_tail(journal, 1)
    note = repair_tail(str(journal))
    assert note and "restored" in note
    plain = JournalStorage(JournalFileBackend(str(journal)))
    assert len(optuna.load_study(study_name="s", storage=plain).trials) == 1  # the enqueued trial survived


def test_an_append_after_a_dead_writer_cuts_its_partial_record_first(tmp_path):
    journal = tmp_path / "journal.log"
    storage = JournalStorage(SafeJournalFile(str(journal)))
    study = optuna.create_study(storage=storage, study_name="s")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    with open(journal, "ab") as fh:  # a writer killed mid-record
        fh.write(b'{"op_code":4,"worker_id":"dead","study_id":0,"datetime_sta')
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)  # a live sibling keeps writing
    assert _plain_states(journal, "s") == ["COMPLETE"] * 3


@pytest.fixture
def tiny_tmpfs():
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    where = Path(tempfile.mkdtemp(prefix="optnas-full-"))
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)], capture_output=True)
    if done.returncode != 0:
        where.rmdir()
        pytest.skip(f"mount -t tmpfs not allowed here: {done.stderr.decode().strip()}")
    yield where
    subprocess.run(["umount", str(where)], check=True)
    where.rmdir()


def test_a_full_disk_leaves_the_journal_at_a_record_boundary(tiny_tmpfs):
    journal = tiny_tmpfs / "journal.log"
    storage = JournalStorage(SafeJournalFile(str(journal)))
    study = optuna.create_study(storage=storage, study_name="s")
    with pytest.raises(StorageWriteError) as raised:
        for _ in range(10_000):
            trial = study.ask()
            trial.set_user_attr("pad", "x" * 3000)
            study.tell(trial, 1.0)
    assert "No space left" in str(raised.value)
    assert journal.read_bytes().endswith(b"\n")
    states = _plain_states(journal, "s")
    assert states and states.count("COMPLETE") >= len(states) - 1  # at most the trial in flight is RUNNING


@pytest.mark.parametrize("content", [
    b"root:x:0:0:root:/root:/bin/bash\nlast line without its newline",  # a text file
    bytes(range(1, 256)).replace(b"\n", b"") * 12,                     # binary, no newline at all
    b'{"name": "lr", "value": 0.1}\n{"name": "wd"',                     # JSON lines, but no journal
])
def test_another_file_given_as_the_journal_is_refused_and_never_changed(run_dir, content):
    """A search (which writes), export and report on a file that is not a journal: exit 2, one line, the
    file byte for byte as it was, no backup copy, nothing written beside it."""
    other = run_dir / "notes.txt"
    other.write_bytes(content)
    before = sorted(p.name for p in run_dir.iterdir())
    for args in (
        ("search", "fast.yaml", "--trials", "1", "--storage", str(other), "--no-progress"),
        ("export", "--storage", str(other), "--study", "fast", "--out", "best"),
        ("report", "--storage", str(other), "--study", "fast", "-o", "r.html"),
    ):
        done = run_cli(*args, cwd=run_dir)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and str(other) in lines[0], done.stderr
        assert "Traceback" not in done.stderr
    assert other.read_bytes() == content and sorted(p.name for p in run_dir.iterdir()) == before
