"""A trial written whole (`optnas.storage.BatchWriter`, `_rdb.TrialWriter`) is the trial Optuna's own
``create_new_trial(template_trial=)`` writes, as plain Optuna reads it back, on a real PostgreSQL and SQLite."""

from __future__ import annotations

import datetime
import math
import secrets
import threading

import optuna
import pytest
import sqlalchemy
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.storages import RDBStorage
from optuna.trial import TrialState, create_trial

from optnas.storage import BatchWriter
from optnas.storage._rdb import TrialWriter

DISTRIBUTIONS = {
    "lr": FloatDistribution(1e-4, 0.1, log=True),
    "depth": IntDistribution(2, 6),
    "block": CategoricalDistribution(["mlp2", "conv", None]),
    "beta": FloatDistribution(0.0, 0.9, step=0.1),
}


def _draft(k: int = 0, **changes) -> optuna.trial.FrozenTrial:
    """An optnas-like drafted trial: params of every kind, nested JSON records, a system attribute."""
    fields = dict(
        state=TrialState.RUNNING,
        params={"lr": 0.01 + k * 1e-3, "depth": 3 + k % 3, "block": [None, "conv", "mlp2"][k % 3], "beta": 0.3},
        distributions=DISTRIBUTIONS,
        user_attrs={"spec": {"layers": [1, 2, {"act": "relu"}], "k": k}, "train": {"lr": 0.01, "seed": None},
                    "ray": {"trial_id": f"r{k}", "experiment": "exp"}, "certificate": "ok ✓", "empty": {}},
        system_attrs={"constraints": [1.5, -2.0]},
    )
    fields.update(changes)
    trial = create_trial(**fields)
    trial.datetime_start = datetime.datetime(2026, 12, 7, 2, 30, 15, 123456)  # naive local, as Optuna gives
    return trial


@pytest.fixture(params=["postgres", "sqlite"])
def storage(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    return RDBStorage(url)


def _study(storage: RDBStorage) -> tuple[str, int]:
    name = f"whole-{secrets.token_hex(4)}"
    optuna.create_study(study_name=name, storage=storage)
    return name, storage.get_study_id_from_name(name)


def _fields(t: optuna.trial.FrozenTrial) -> dict:
    values = None if t.values is None else [v if not math.isnan(v) else "nan" for v in t.values]
    return {"number": t.number, "state": t.state, "values": values, "params": t.params,
            "distributions": t.distributions, "user_attrs": t.user_attrs, "system_attrs": t.system_attrs,
            "intermediate_values": {k: v if not math.isnan(v) else "nan" for k, v in t.intermediate_values.items()},
            "datetime_start": t.datetime_start, "datetime_complete": t.datetime_complete}


def _statements(engine, fn):
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    sqlalchemy.event.listen(engine, "before_cursor_execute", count)
    try:
        result = fn()
    finally:
        sqlalchemy.event.remove(engine, "before_cursor_execute", count)
    return result, seen


@pytest.mark.parametrize("template", [
    _draft(0),
    _draft(1, state=TrialState.COMPLETE, value=0.75, intermediate_values={0: 0.5, 1: float("inf"), 3: float("nan")}),
    _draft(2, state=TrialState.WAITING, params={}, distributions={}, user_attrs={}, system_attrs={}),
])
def test_a_trial_written_whole_reads_back_as_optunas_own(storage, template):
    if template.state == TrialState.COMPLETE:
        template.datetime_complete = template.datetime_start + datetime.timedelta(seconds=61)
    ours, ours_id = _study(storage)
    theirs, theirs_id = _study(storage)
    trial_id, number = BatchWriter(storage).create(ours_id, template)
    optuna_id = storage.create_new_trial(theirs_id, template_trial=template)
    fresh = RDBStorage(storage.url)  # another process's view: nothing cached
    mine = optuna.load_study(study_name=ours, storage=fresh).trials
    assert [t._trial_id for t in mine] == [trial_id] and number == 0
    assert _fields(mine[0]) == _fields(optuna.load_study(study_name=theirs, storage=fresh).trials[0])
    assert _fields(fresh.get_trial(trial_id)) == _fields(fresh.get_trial(optuna_id))


def test_numbers_stay_dense_among_optunas_own_creators(storage):
    """Our writes and Optuna's from other connections, at once: every number once, in trial id order."""
    name, study_id = _study(storage)
    errors: list[BaseException] = []

    def create(mine: bool) -> None:
        other = RDBStorage(storage.url)  # a connection pool of its own, as another process has
        writer = BatchWriter(other)
        try:
            for k in range(8):
                if mine:
                    writer.create(study_id, _draft(k))
                else:
                    other.create_new_trial(study_id, template_trial=_draft(k))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(i % 2 == 0,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    trials = optuna.load_study(study_name=name, storage=RDBStorage(storage.url)).trials
    assert [t.number for t in trials] == list(range(32))
    assert [t._trial_id for t in trials] == sorted(t._trial_id for t in trials)


def test_a_trial_written_whole_costs_a_few_statements(storage):
    _name, study_id = _study(storage)
    writer = BatchWriter(storage)
    writer.create(study_id, _draft(0))  # the first reads each parameter's distribution once
    (_trial_id, number), seen = _statements(storage.engine, lambda: writer.create(study_id, _draft(1)))
    assert number == 1
    # the study's lock, the trial, one INSERT for the parameters, one for the records, one for the system's
    assert len(seen) <= 5, seen
    _, optunas = _statements(storage.engine, lambda: storage.create_new_trial(study_id, template_trial=_draft(2)))
    assert len(optunas) > 20  # what it replaces: a SELECT and an INSERT per parameter and attribute


def test_an_incompatible_distribution_is_refused_and_nothing_written(storage):
    name, study_id = _study(storage)
    storage.create_new_trial(study_id, template_trial=_draft(0))
    writer = BatchWriter(storage)
    wrong = _draft(1, params={"depth": 0.5}, distributions={"depth": FloatDistribution(0.0, 1.0)})
    with pytest.raises(ValueError, match="Cannot set different distribution kind"):
        writer.create(study_id, wrong)
    with pytest.raises(ValueError):  # Optuna's own write refuses it the same way
        storage.create_new_trial(study_id, template_trial=wrong)
    assert [t.number for t in optuna.load_study(study_name=name, storage=storage).trials] == [0]
    assert writer.create(study_id, _draft(2))[1] == 1  # and the study goes on


def test_waiting_trials_are_seen(storage):
    name, study_id = _study(storage)
    writer = TrialWriter(storage)
    BatchWriter(storage).create(study_id, _draft(0))
    assert not writer.waiting(study_id)
    optuna.load_study(study_name=name, storage=storage).enqueue_trial({"lr": 0.02})
    assert writer.waiting(study_id)


def test_an_unknown_study_is_refused(storage):
    with pytest.raises(KeyError):
        BatchWriter(storage).create(10_000, _draft(0))


def test_records_written_together_read_back_as_optunas_own(storage):
    _name, study_id = _study(storage)
    ours, _ = BatchWriter(storage).create(study_id, _draft(0))
    theirs = storage.create_new_trial(study_id, template_trial=_draft(0))
    records = {"status": "ok", "metrics": {"val": 0.5, "nan": None}, "spec": [1, "two"], "weights": None}
    BatchWriter(storage).set_user_attrs(ours, records)  # "spec" is there already: replaced, as Optuna does
    for key, value in records.items():
        storage.set_trial_user_attr(theirs, key, value)
    fresh = RDBStorage(storage.url)
    assert fresh.get_trial(ours).user_attrs == fresh.get_trial(theirs).user_attrs
    assert list(fresh.get_trial(ours).user_attrs) == list(fresh.get_trial(theirs).user_attrs)


def test_records_of_a_finished_trial_are_refused_as_optuna_refuses_them(storage):
    _name, study_id = _study(storage)
    trial_id, _ = BatchWriter(storage).create(study_id, _draft(0))
    storage.set_trial_state_values(trial_id, TrialState.FAIL)
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        BatchWriter(storage).set_user_attrs(trial_id, {"status": "ok", "late": 1})
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        storage.set_trial_user_attr(trial_id, "late", 1)
    assert "late" not in storage.get_trial(trial_id).user_attrs


def test_records_written_together_cost_two_statements(storage):
    _name, study_id = _study(storage)
    trial_id, _ = BatchWriter(storage).create(study_id, _draft(0))
    _, seen = _statements(storage.engine, lambda: BatchWriter(storage).set_user_attrs(
        trial_id, {f"k{i}": i for i in range(8)}))
    assert len(seen) == 2, seen


def test_reports_read_back_as_optunas_own(storage):
    _name, study_id = _study(storage)
    ours, _ = BatchWriter(storage).create(study_id, _draft(0))
    theirs = storage.create_new_trial(study_id, template_trial=_draft(0))
    steps = {0: 0.5, 1: float("inf"), 2: float("-inf"), 3: float("nan"), 4: -1e-300}
    _, seen = _statements(storage.engine, lambda: BatchWriter(storage).set_intermediate_values(ours, steps))
    assert len(seen) == 2, seen
    BatchWriter(storage).set_intermediate_values(ours, {0: 0.25})  # a step reported again: replaced
    for step, value in {**steps, 0: 0.25}.items():
        storage.set_trial_intermediate_value(theirs, step, value)
    fresh = RDBStorage(storage.url)
    assert _fields(fresh.get_trial(ours))["intermediate_values"] == _fields(fresh.get_trial(theirs))[
        "intermediate_values"]
    storage.set_trial_state_values(ours, TrialState.PRUNED)
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        BatchWriter(storage).set_intermediate_values(ours, {9: 1.0})
