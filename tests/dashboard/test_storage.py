"""Storage access: read-only for every kind, nothing created, a cache rebuilt only when trials change, and
the fast RDB reader equal to Optuna's own API."""

from __future__ import annotations

import hashlib
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from optnas.dashboard import StudySource, open_readonly
from optnas.errors import UsageError
from optnas.storage import hide_password
from optnas.storage._rdb import FastRDBStudy


def _digest(path: str) -> tuple[str, float]:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest(), os.stat(path).st_mtime


def test_journal_is_never_written(edge_journal):
    before = _digest(edge_journal)
    source = StudySource(edge_journal)
    study = source.study("edge")
    source.frame("edge")
    with pytest.raises(PermissionError, match="read-only"):
        study.set_user_attr("x", 1)
    with pytest.raises(PermissionError, match="read-only"):
        optuna.create_study(study_name="new", storage=source.storage)
    assert _digest(edge_journal) == before
    assert sorted(p.name for p in Path(edge_journal).parent.iterdir()) == ["edge.log"]  # no lock file either


@pytest.mark.parametrize("url", ["/no/such/dir/journal.log", "sqlite:////no/such/dir/optuna.db"])
def test_missing_storage_is_an_error_and_nothing_is_created(tmp_path, url):
    url = url.replace("/no/such/dir", str(tmp_path / "absent"))
    with pytest.raises(UsageError, match="no such"):
        open_readonly(url)
    assert not (tmp_path / "absent").exists()


def test_other_bad_storages(tmp_path):
    with pytest.raises(UsageError, match="is a directory"):
        open_readonly(str(tmp_path))
    garbage = tmp_path / "garbage.log"
    garbage.write_text("not json\nnor this\n")  # Optuna tolerates one bad last line (a write in progress)
    with pytest.raises(UsageError, match="not an Optuna journal file"):
        open_readonly(str(garbage))
    with pytest.raises(UsageError, match="unknown scheme"):
        open_readonly("redis://localhost/0")
    with pytest.raises(UsageError, match="in-memory SQLite"):
        open_readonly("sqlite://")
    empty = tmp_path / "empty.db"
    optuna.storages.RDBStorage(f"sqlite:///{empty}")  # tables, no study
    assert StudySource(f"sqlite:///{empty}").names() == []
    with pytest.raises(UsageError, match=r"unknown study 'x' in .*; valid: none"):
        StudySource(f"sqlite:///{empty}").frame("x")


def test_sqlite_is_opened_in_read_only_mode(tmp_path, edge_study_maker):
    path = tmp_path / "s.db"
    edge_study_maker(f"sqlite:///{path}")
    before = _digest(str(path))
    source = StudySource(f"sqlite:///{path}")
    assert source.frame("edge")["number"].tolist() == list(range(6))
    with pytest.raises(optuna.exceptions.StorageInternalError) as failed:
        optuna.load_study(study_name="edge", storage=source.storage).set_user_attr("x", 1)
    assert "readonly database" in str(failed.value.__cause__)  # refused by SQLite itself (mode=ro)
    assert _digest(str(path)) == before


def test_passwords_are_hidden():
    assert hide_password("postgresql://user:secret@db:5432/optuna") == "postgresql://user:***@db:5432/optuna"
    assert hide_password("runs/journal.log") == "runs/journal.log"


def _same(a: optuna.trial.FrozenTrial, b: optuna.trial.FrozenTrial) -> bool:
    fields = ("number", "state", "user_attrs", "datetime_start", "datetime_complete", "_trial_id")
    values_equal = (a.values is None and b.values is None) or (
        a.values is not None and b.values is not None
        and all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a.values, b.values, strict=True))
    )
    return values_equal and all(getattr(a, f) == getattr(b, f) for f in fields)


def test_fast_rdb_reader_equals_optunas_api_and_follows_changes(tmp_path, edge_study_maker):
    url = f"sqlite:///{tmp_path / 's.db'}"
    writer = edge_study_maker(url)
    writer.add_trial(optuna.trial.create_trial(state=TrialState.COMPLETE, values=[math.inf, -math.inf],
                                               user_attrs={"status": "complete", "nan": math.nan}))
    other = optuna.create_study(study_name="other", storage=url)  # trials of another study must not leak in
    other.add_trial(optuna.trial.create_trial(state=TrialState.COMPLETE, value=1.0))
    source = StudySource(url)
    fast = source.study("edge")
    assert isinstance(fast, FastRDBStudy)

    def check() -> None:
        truth = optuna.load_study(study_name="edge", storage=url).get_trials(deepcopy=False)
        got = fast.get_trials(deepcopy=False)
        assert len(got) == len(truth) and all(_same(a, b) for a, b in zip(got, truth, strict=True))

    check()
    first = source.frame("edge")
    assert source.frame("edge") is first  # nothing changed: the cached DataFrame
    # a running trial finishes (attributes first, then the state, as a worker does) and a new one starts
    running = next(t for t in writer.get_trials() if t.state == TrialState.RUNNING)
    writer._storage.set_trial_user_attr(running._trial_id, "status", "complete")
    writer._storage.set_trial_state_values(running._trial_id, TrialState.COMPLETE, [0.9, 10.0])
    trial = writer.ask()
    trial.set_user_attr("spec", {"algorithm": "gd"})
    check()
    after = source.frame("edge")
    assert after is not first and len(after) == 8
    assert after.set_index("number").loc[4, "state"] == "COMPLETE"
    assert fast.get_trials(deepcopy=False, states=(TrialState.RUNNING,))[0].user_attrs == {"spec": {"algorithm": "gd"}}


def test_journal_cache_follows_a_live_search(tmp_path, edge_study_maker):
    path = str(tmp_path / "live.log")
    writer = edge_study_maker(JournalStorage(JournalFileBackend(path)))
    source = StudySource(path)
    first = source.frame("edge")
    assert source.signature("edge") == (1, 3, 1, 1, 0)  # RUNNING, COMPLETE, PRUNED, FAIL, WAITING
    assert source.frame("edge") is first
    writer.add_trial(optuna.trial.create_trial(state=TrialState.COMPLETE, values=[0.95, 30.0],
                                               user_attrs={"status": "complete"}))
    assert source.signature("edge") == (1, 4, 1, 1, 0)
    assert len(source.frame("edge")) == 7
    # no trial added, one finished: the file changed, so the signature (kept while it did not) follows
    running = writer.get_trials(deepcopy=False, states=(TrialState.RUNNING,))[0].number
    writer.tell(running, [0.5, 40.0])
    assert source.signature("edge") == (0, 5, 1, 1, 0)
    assert source.frame("edge").set_index("number").loc[running, "state"] == "COMPLETE"


def test_concurrent_first_reads_build_the_frame_once(edge_journal):
    """A page's first load asks for the study from several callbacks at once: one build, shared by all."""
    source = StudySource(edge_journal)
    barrier = threading.Barrier(8)

    def read(_: int) -> int:
        barrier.wait()
        return id(source.frame("edge"))

    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(read, range(8)))
    assert len(ids) == 1 and ids == {id(source.frame("edge"))}


def test_read_only_journal_reads_what_optunas_backend_reads(tmp_path, edge_study_maker):
    from optnas.storage._journal_reader import ReadOnlyJournal

    path = tmp_path / "j.log"
    edge_study_maker(JournalStorage(JournalFileBackend(str(path))))
    ours, theirs = ReadOnlyJournal(str(path)), JournalFileBackend(str(path))
    assert list(ours.read_logs(0)) == list(theirs.read_logs(0))
    n = len(list(theirs.read_logs(0)))
    assert list(ours.read_logs(n)) == []  # nothing new
    with open(path, "ab") as fh:  # a writer appends one log and is midway through the next
        fh.write(b'{"op_code": 99, "x": NaN}\n{"op_code": 9')
    assert [log["op_code"] for log in ours.read_logs(n)] == [99]
    assert list(ours.read_logs(n + 1)) == []  # the partial line waits for its newline
    with open(path, "ab") as fh:
        fh.write(b'8}\n')
    assert [log["op_code"] for log in ours.read_logs(n + 1)] == [98]
    assert list(ours.read_logs(3)) == list(theirs.read_logs(3))  # an earlier start rescans the file
    with open(path, "ab") as fh:
        fh.write(b"garbage\n")
    assert [log["op_code"] for log in ours.read_logs(n + 2)] == []  # maybe a write in progress: not yet an error
    with open(path, "ab") as fh:
        fh.write(b'{"op_code": 97}\n')
    with pytest.raises(ValueError, match="not valid JSON"):
        list(ours.read_logs(n + 2))


def test_gc_pause_nests_and_restores():
    import gc

    from optnas.storage import gc_paused

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with pytest.raises(RuntimeError), gc_paused():
            raise RuntimeError
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # a collector that was off stays off
    finally:
        gc.enable()


def test_gc_pause_freezes_what_was_read_when_asked():
    """What a study read left alive is moved out of the collector's reach when the pause ends (the collector
    would otherwise walk all of it in its next passes), and only with ``freeze``."""
    import gc

    from optnas.storage import gc_paused

    gc.unfreeze()
    try:
        with gc_paused():
            kept = [{"trial": n} for n in range(1000)]
        assert gc.get_freeze_count() == 0
        with gc_paused(freeze=True):
            with gc_paused():  # an inner pause without freeze: the outer one's request holds
                more = [{"trial": n} for n in range(1000)]
            assert gc.get_freeze_count() == 0  # not before the last pause ends
        assert gc.get_freeze_count() >= len(kept) + len(more)
        assert gc.isenabled()
        with gc_paused():
            pass
        frozen = gc.get_freeze_count()
        with gc_paused():
            [{"trial": n} for n in range(10)]
        assert gc.get_freeze_count() == frozen  # a later pause without freeze freezes nothing
    finally:
        gc.unfreeze()
