"""The Ray driver's trial counts (`optnas.search.ray.tally`) against a real journal study."""

import threading

import optuna
import pytest
from optuna.trial import TrialState

from optnas.errors import UsageError
from optnas.search import open_storage
from optnas.search.ray.tally import Tally, reconcile, reconcile_interval


@pytest.fixture
def study(tmp_path):
    storage = open_storage(str(tmp_path / "j.log"))
    study = optuna.create_study(storage=storage, study_name="s")
    for value in (1.0, 2.0):
        t = study.ask()
        t.set_user_attr("status", "complete")
        study.tell(t, value)
    t = study.ask()  # failed with no status: lost, does not count
    study.tell(t, state=TrialState.FAIL)
    study.ask(), study.ask()  # RUNNING: numbers 3, 4
    return study


def test_reconcile_counts_finished_and_other_processes_running_trials(study):
    tally = Tally()
    reconcile(tally, study, held={4})
    assert (tally.counted, tally.foreign) == (2, 1)  # #3 runs elsewhere; #4 is the driver's own


def test_a_trial_told_while_reconcile_reads_is_counted_once(study):
    tally = Tally()
    held = {3, 4}
    real = study.get_trials
    told = threading.Event()

    def read_then_tell(*args, **kw):  # the writer thread tells #4 after the read saw it RUNNING
        trials = real(*args, **kw)
        if not told.is_set():
            told.set()
            study.tell(4, 3.0)
            with tally.lock:
                held.discard(4)
                tally.told(4)
        return trials

    study.get_trials = read_then_tell
    reconcile(tally, study, held)
    assert (tally.counted, tally.foreign) == (3, 0)
    study.get_trials = real
    reconcile(tally, study, held)  # the next read agrees
    assert (tally.counted, tally.foreign) == (3, 0)


@pytest.mark.parametrize("value", ["0", "-1", "x", "abc", "", " ", "inf", "-inf", "nan", "1e300", "86400.5"])
def test_bad_reconcile_interval_is_one_line(monkeypatch, value):
    monkeypatch.setenv("OPTNAS_RAY_RECONCILE_S", value)
    with pytest.raises(UsageError) as caught:
        reconcile_interval()
    assert str(caught.value) == (f"OPTNAS_RAY_RECONCILE_S={value!r} is invalid: it must be a number of seconds > 0 "
                                 "and <= 86400 (a day)")


def test_a_long_bad_reconcile_interval_is_cut(monkeypatch):
    monkeypatch.setenv("OPTNAS_RAY_RECONCILE_S", "9" * 5000)
    with pytest.raises(UsageError, match=r"^OPTNAS_RAY_RECONCILE_S='9{40}' is invalid") as caught:
        reconcile_interval()
    assert len(str(caught.value)) < 200


@pytest.mark.parametrize(("value", "seconds"), [(None, 60.0), ("0.25", 0.25), (" 5 ", 5.0), ("86400", 86400.0)])
def test_reconcile_interval_takes_seconds_up_to_a_day(monkeypatch, value, seconds):
    if value is None:
        monkeypatch.delenv("OPTNAS_RAY_RECONCILE_S", raising=False)
    else:
        monkeypatch.setenv("OPTNAS_RAY_RECONCILE_S", value)
    assert reconcile_interval() == seconds
