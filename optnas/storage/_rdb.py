"""Fast, incremental, read-only trial loading for RDB storages (SQLite, PostgreSQL, MySQL).

Optuna's RDB ``get_all_trials`` builds an ORM object per row of every trial's params, values and
attributes: about 6 s for 10,000 optnas trials. The dashboard needs only what `optnas.results.frame`
reads (number, state, values, datetimes, user attributes), so `FastRDBStudy.get_trials` selects exactly
that with three plain SELECTs over Optuna's own table definitions, and keeps finished trials (which never
change) between calls: a refresh re-reads only new and unfinished trials.

The trials it returns have no params, distributions, system attributes or intermediate values; use
`optuna.load_study` for those.

`TrialWriter.create` writes a new trial whole (the Ray driver's drafted trial, `optnas.search.ray.ask`) in
one transaction of five or six statements (the study's lock, the trial with its number, one multi-row
INSERT per table), where Optuna's ``create_new_trial(template_trial=)`` sends a SELECT and an INSERT per
parameter and attribute (about 45 statements for an optnas trial), then a read of six more for its number.
`TrialWriter.set_user_attrs` writes several records of a running trial the same way: its state read (a
finished trial is refused, as Optuna refuses it), then one INSERT ... ON CONFLICT for all of them, where
Optuna's ``set_trial_user_attr`` takes a transaction of two statements for each; `set_intermediate_values`
the same for a trial's reports (Optuna's ORM spends several ms of CPU on each, on the driver's writer thread).
The rows are those Optuna writes (tests/storage/test_batch.py reads them back through Optuna).

This module is the only place in optnas that reads Optuna's internals (``optuna.storages._rdb.models``, the
table definitions). It trusts them only for the Optuna versions in `SUPPORTED`, those whose tables were
checked against it (tests/storage/test_pinned.py fails on any other, saying to re-check and widen the range);
under any other version, or when the definitions cannot be imported, `AVAILABLE` is False and callers fall
back to Optuna's public API (slower, same trials).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
import threading
import time
from collections.abc import Callable, Container, Iterable, Sequence
from typing import Any

import optuna
import sqlalchemy as sa
from optuna.distributions import check_distribution_compatibility, distribution_to_json, json_to_distribution
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import RDBStorage
from optuna.trial import FrozenTrial, TrialState
from packaging.specifiers import SpecifierSet
from packaging.version import Version
from sqlalchemy.dialects import postgresql, sqlite

from ._json import loads as _loads

# Optuna versions whose RDB tables (trials, trial_values, trial_user_attributes, the columns read below) were
# checked against this reader: their schema has been unchanged since Optuna 3.0's value_type column
SUPPORTED = SpecifierSet(">=4.0,<6")
AVAILABLE = False
if Version(optuna.__version__) in SUPPORTED:
    try:  # Optuna's table definitions: private, so guarded
        from optuna.storages._rdb import models as _models

        _TRIALS = _models.TrialModel.__table__
        _VALUES = _models.TrialValueModel.__table__
        _USER_ATTRS = _models.TrialUserAttributeModel.__table__
        _to_value: Callable[[Any, Any], float] = _models.TrialValueModel.stored_repr_to_value
        _STUDIES = _models.StudyModel.__table__
        _PARAMS = _models.TrialParamModel.__table__
        _SYSTEM_ATTRS = _models.TrialSystemAttributeModel.__table__
        _STEPS = _models.TrialIntermediateValueModel.__table__
        _stored_value = _models.TrialValueModel.value_to_stored_repr
        _stored_step = _models.TrialIntermediateValueModel.intermediate_value_to_stored_repr
        AVAILABLE = True
    except (ImportError, AttributeError):  # pragma: no cover - depends on the installed Optuna
        pass

_CHUNK = 500  # ids per IN (...) list: below SQLite's oldest bound-parameter limit (999)


def _local(utc: dt.datetime | None) -> dt.datetime | None:
    # RDB columns hold naive UTC; Optuna hands out naive local time (models.TrialModel.datetime_start)
    return None if utc is None else utc.replace(tzinfo=dt.timezone.utc).astimezone().replace(tzinfo=None)


class FastRDBStudy(optuna.Study):
    """An `optuna.Study` on an RDB storage whose `get_trials` is fast and incremental (see module doc)."""

    def __init__(self, study_name: str, storage: RDBStorage) -> None:
        super().__init__(study_name=study_name, storage=storage, sampler=optuna.samplers.RandomSampler())
        self._engine = storage.engine
        self._finished: dict[int, FrozenTrial] = {}
        self._read_lock = threading.Lock()

    def get_trials(
        self, deepcopy: bool = True, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        with self._read_lock:
            trials = self._read()
        if states is not None:
            trials = [t for t in trials if t.state in states]
        return copy.deepcopy(trials) if deepcopy else trials

    def _read(self) -> list[FrozenTrial]:
        t = _TRIALS.c
        with self._engine.connect() as conn:
            # ids and states only: a refresh with nothing new costs one narrow query
            rows = conn.execute(
                _TRIALS.select().with_only_columns(t.trial_id, t.state).where(t.study_id == self._study_id)
                .order_by(t.trial_id)
            ).all()
            stale = [trial_id for trial_id, _ in rows if trial_id not in self._finished]
            # cold start: join on the study; refresh: only the stale ids
            everything = len(stale) == len(rows)
            heads = self._rows(conn, _TRIALS, ("number", "state", "datetime_start", "datetime_complete"), stale,
                               everything)
            values = self._rows(conn, _VALUES, ("objective", "value", "value_type"), stale, everything)
            attrs = self._rows(conn, _USER_ATTRS, ("key", "value_json"), stale, everything)
        fresh: dict[int, FrozenTrial] = {}
        for trial_id in stale:
            if trial_id not in heads:  # deleted between the two queries
                continue
            number, state, start, complete = heads[trial_id][0]
            vals = sorted(values.get(trial_id, []))
            trial = FrozenTrial(
                number=number,
                state=state,
                value=None,
                values=[_to_value(v, kind) for _, v, kind in vals] or None,
                datetime_start=_local(start),
                datetime_complete=_local(complete),
                params={},
                distributions={},
                user_attrs={k: _loads(v) for k, v in attrs.get(trial_id, [])},
                system_attrs={},
                intermediate_values={},
                trial_id=trial_id,
            )
            fresh[trial_id] = trial
            if trial.state.is_finished():
                self._finished[trial_id] = trial
        return [t for trial_id, _ in rows if (t := self._finished.get(trial_id) or fresh.get(trial_id)) is not None]

    def _rows(
        self, conn: Any, table: Any, columns: Sequence[str], ids: Sequence[int], everything: bool
    ) -> dict[int, list[tuple[Any, ...]]]:
        """{trial_id: [row tuple of ``columns``]} for the trials ``ids`` (every trial of the study)."""
        cols = [table.c.trial_id, *(table.c[c] for c in columns)]
        out: dict[int, list[tuple[Any, ...]]] = {}
        if everything:
            query = table.select().with_only_columns(*cols)
            if table is _TRIALS:
                query = query.where(_TRIALS.c.study_id == self._study_id)
            else:
                query = query.join_from(table, _TRIALS, table.c.trial_id == _TRIALS.c.trial_id).where(
                    _TRIALS.c.study_id == self._study_id
                )
            batches: Iterable[Any] = [conn.execute(query)]
        else:
            batches = (
                conn.execute(table.select().with_only_columns(*cols).where(table.c.trial_id.in_(ids[i:i + _CHUNK])))
                for i in range(0, len(ids), _CHUNK)
            )
        for batch in batches:
            for trial_id, *rest in batch.fetchall():  # one fetchall: far cheaper than row-by-row
                out.setdefault(trial_id, []).append(tuple(rest))
        return out


# dialects whose INSERT takes a scalar subquery on its own table and has RETURNING (MySQL has neither)
_WHOLE_TRIAL_DIALECTS = ("postgresql", "sqlite")
_UPSERTS: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}  # INSERT .. ON CONFLICT
_RETRIES = 5  # as Optuna's create_new_trial: a deadlock between processes creating trials is retried


def _utc(local: dt.datetime | None) -> dt.datetime | None:
    # as Optuna's TrialModel.datetime_start setter: naive local time in, naive UTC stored
    return None if local is None else local.astimezone(dt.timezone.utc).replace(tzinfo=None)


class TrialWriter:
    """Writes new trials whole to one RDB storage (see the module docstring); `usable` says whether it can.

    Example:
        >>> storage = RDBStorage("sqlite:///:memory:")
        >>> study = optuna.create_study(storage=storage)
        >>> draft = optuna.trial.create_trial(state=TrialState.RUNNING, params={"x": 0.5},
        ...     distributions={"x": optuna.distributions.FloatDistribution(0, 1)}, user_attrs={"a": 1})
        >>> trial_id, number = TrialWriter(storage).create(storage.get_study_id_from_name(study.study_name), draft)
        >>> t = study.trials[number]; (t.params, t.user_attrs, t.state.name)
        ({'x': 0.5}, {'a': 1}, 'RUNNING')
    """

    def __init__(self, storage: RDBStorage) -> None:
        self.engine = storage.engine
        # each parameter's distribution as the study first recorded it (Optuna checks a new one against it)
        self._checked: dict[tuple[int, str], Any] = {}

    @classmethod
    def usable(cls, storage: object) -> bool:
        return AVAILABLE and isinstance(storage, RDBStorage) and storage.engine.dialect.name in _WHOLE_TRIAL_DIALECTS

    def create(self, study_id: int, template: FrozenTrial) -> tuple[int, int]:
        """Write ``template`` as a new trial of the study; its (trial id, number)."""
        for attempt in range(1, _RETRIES + 1):
            try:
                with self.engine.begin() as conn:
                    created = self._create(conn, study_id, template)
                for name, distribution in template.distributions.items():  # the study's now, if it had none
                    self._checked.setdefault((study_id, name), distribution)
                return created
            except sa.exc.OperationalError:
                if attempt == _RETRIES:
                    raise
                time.sleep(random.random() * 2.0)
        raise AssertionError("not reached")

    def _create(self, conn: Any, study_id: int, template: FrozenTrial) -> tuple[int, int]:
        s, t = _STUDIES.c, _TRIALS.c
        # Optuna's lock on the study: trial numbers are given one creator at a time
        if conn.execute(sa.select(s.study_id).where(s.study_id == study_id).with_for_update()).first() is None:
            raise KeyError(f"no study with study_id {study_id}")
        self._check(conn, study_id, template)
        past = _TRIALS.alias("past")
        number = sa.select(sa.func.count(past.c.trial_id)).where(past.c.study_id == study_id).scalar_subquery()
        trial_id, number = conn.execute(
            sa.insert(_TRIALS).values(number=number, study_id=study_id, state=template.state,
                                      datetime_start=_utc(template.datetime_start),
                                      datetime_complete=_utc(template.datetime_complete))
            .returning(t.trial_id, t.number)
        ).one()
        rows = {
            _PARAMS: [{"trial_id": trial_id, "param_name": name,
                       "param_value": template.distributions[name].to_internal_repr(value),
                       "distribution_json": distribution_to_json(template.distributions[name])}
                      for name, value in template.params.items()],
            _USER_ATTRS: [{"trial_id": trial_id, "key": k, "value_json": json.dumps(v)}
                          for k, v in template.user_attrs.items()],
            _SYSTEM_ATTRS: [{"trial_id": trial_id, "key": k, "value_json": json.dumps(v)}
                            for k, v in template.system_attrs.items()],
            _VALUES: [{"trial_id": trial_id, "objective": i, "value": stored, "value_type": kind}
                      for i, (stored, kind) in enumerate(map(_stored_value, template.values or []))],
            _STEPS: [{"trial_id": trial_id, "step": step, "intermediate_value": stored, "intermediate_value_type": kind}
                     for step, (stored, kind) in ((k, _stored_step(v))
                                                  for k, v in template.intermediate_values.items())],
        }
        for table, batch in rows.items():
            if batch:
                conn.execute(sa.insert(table), batch)  # one statement (SQLAlchemy's insertmanyvalues)
        return int(trial_id), int(number)

    def _check(self, conn: Any, study_id: int, template: FrozenTrial) -> None:
        """Optuna's check of each parameter's distribution against the one the study recorded first; the
        study's distributions are read once a parameter (one row), then kept."""
        p, t = _PARAMS.c, _TRIALS.c
        for name, distribution in template.distributions.items():
            key = (study_id, name)
            if key not in self._checked:
                row = conn.execute(
                    sa.select(p.distribution_json).join_from(_PARAMS, _TRIALS, p.trial_id == t.trial_id)
                    .where(t.study_id == study_id, p.param_name == name).limit(1)
                ).first()
                if row is None:  # the first of its name: it becomes the study's, once written
                    check_distribution_compatibility(distribution, distribution)
                    continue
                self._checked[key] = json_to_distribution(row[0])
            check_distribution_compatibility(self._checked[key], distribution)

    def set_user_attrs(self, trial_id: int, attrs: dict[str, Any]) -> None:
        """Set ``attrs`` on a running trial, in one transaction (all or none); a finished one is refused."""
        if not attrs:
            return
        rows = [{"trial_id": trial_id, "key": k, "value_json": json.dumps(v)} for k, v in attrs.items()]
        self._upsert(trial_id, _USER_ATTRS, rows, keys=("trial_id", "key"))

    def set_intermediate_values(self, trial_id: int, steps: dict[int, float]) -> None:
        """Report ``steps`` ({step: value}) of a running trial, in one transaction; a finished one is refused."""
        if not steps:
            return
        rows = [{"trial_id": trial_id, "step": step, "intermediate_value": stored, "intermediate_value_type": kind}
                for step, (stored, kind) in ((k, _stored_step(x)) for k, x in steps.items())]
        self._upsert(trial_id, _STEPS, rows, keys=("trial_id", "step"))

    def _upsert(self, trial_id: int, table: sa.Table, rows: list[dict[str, Any]], keys: tuple[str, ...]) -> None:
        """Insert ``rows`` into ``table`` of a running trial, each replacing the row of its ``keys``, in one
        transaction; a finished trial is refused."""
        with self.engine.begin() as conn:
            self._updatable(conn, trial_id)
            insert = _UPSERTS[self.engine.dialect.name](table).values(rows)
            updated = {name: insert.excluded[name] for name in rows[0] if name not in keys}
            conn.execute(insert.on_conflict_do_update(index_elements=[table.c[k] for k in keys], set_=updated))

    @staticmethod
    def _updatable(conn: Any, trial_id: int) -> None:
        t = _TRIALS.c
        state = conn.execute(sa.select(t.state).where(t.trial_id == trial_id)).scalar_one_or_none()
        if state is None:
            raise KeyError(f"no trial with trial_id {trial_id}")
        if state.is_finished():  # Optuna's own message and error (RDBStorage.check_trial_is_updatable)
            raise UpdateFinishedTrialError(f"Trial#{trial_id} has already finished and can not be updated.")

    def waiting(self, study_id: int) -> bool:
        """Whether the study has a WAITING trial (one narrow query)."""
        t = _TRIALS.c
        with self.engine.connect() as conn:
            query = sa.select(t.trial_id).where(t.study_id == study_id, t.state == TrialState.WAITING).limit(1)
            return conn.execute(query).first() is not None
