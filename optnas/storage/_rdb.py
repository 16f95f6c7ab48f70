"""Fast, incremental, read-only trial loading for RDB storages (SQLite, PostgreSQL, MySQL).

Optuna's RDB ``get_all_trials`` builds an ORM object per row of every trial's params, values and
attributes: about 6 s for 10,000 optnas trials. The dashboard needs only what `optnas.results.frame`
reads (number, state, values, datetimes, user attributes), so `FastRDBStudy.get_trials` selects exactly
that with three plain SELECTs over Optuna's own table definitions, and keeps finished trials (which never
change) between calls: a refresh re-reads only new and unfinished trials.

The trials it returns have no params, distributions, system attributes or intermediate values; use
`optuna.load_study` for those.

This module is the only place in optnas that reads Optuna's internals (``optuna.storages._rdb.models``, the
table definitions). It trusts them only for the Optuna versions in `SUPPORTED`, those whose tables were
checked against it (tests/storage/test_pinned.py fails on any other, saying to re-check and widen the range);
under any other version, or when the definitions cannot be imported, `AVAILABLE` is False and callers fall
back to Optuna's public API (slower, same trials).
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
from collections.abc import Callable, Container, Iterable, Sequence
from typing import Any

import optuna
from optuna.storages import RDBStorage
from optuna.trial import FrozenTrial, TrialState
from packaging.specifiers import SpecifierSet
from packaging.version import Version

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
