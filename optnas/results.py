"""`optnas.results.load(storage, study)`: one row per trial, as a pandas DataFrame.

Columns: ``number``, ``state`` (Optuna), ``status`` (the optnas outcome, by the rule of
:mod:`optnas.outcome`), ``reason``, ``certified``, one column per objective (named by its metric), the spec
(``algorithm``, ``schedule``, ``block``, ``activation``, ``depth``, ``width``, ``init``, ``stem``,
``stages`` and ``*_params`` as JSON text), the metrics (``val_metric``, ``test_metric``, ``params``,
``flops``, ``latency_ms``, ``peak_mem_mb``, ``wall_s``, ``epochs``), ``lr``, ``weight_decay``, ``weights``
(artifact id), ``datetime_start``, ``datetime_complete``, ``duration_s``, ``worker`` (``host:pid``), plus the
JSON-ready ``spec``, ``certificate`` and ``curves`` objects.

Example:
    >>> df = optnas.results.load("optnas-runs/journal.log", "rings")     # doctest: +SKIP
    >>> df.sort_values("val_metric", ascending=False).head()             # doctest: +SKIP
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import optuna
import pandas as pd

from .outcome import trial_status
from .storage import DEFAULT_STORAGE, artifacts, load_readonly, trial_record

SPEC_COLUMNS = ("algorithm", "schedule", "block", "activation", "depth", "width", "init", "stem", "stages")
PARAM_COLUMNS = ("algorithm_params", "schedule_params", "block_params", "activation_params")
METRIC_COLUMNS = ("val_metric", "test_metric", "params", "flops", "latency_ms", "peak_mem_mb", "wall_s", "epochs")


def frame(study: optuna.Study, storage: str | None = None, *, strict: bool = True) -> pd.DataFrame:
    """The DataFrame of an already loaded study (``storage``: its URL, where a moved run's artifacts may be).

    A study's artifact store that cannot be read raises `optnas.storage.artifacts.ArtifactStoreError`; with
    ``strict=False`` the frame is built without the records kept there (curves None) and
    ``df.attrs["artifacts_error"]`` says why (the dashboard shows it)."""
    record = study.user_attrs.get("optnas", {})
    objectives = [o["name"] for o in record.get("objectives", [])] or (study.metric_names or [])
    trials = study.get_trials(deepcopy=False)
    store, error = artifacts.of_study(record, storage), None
    ids = trial_record.ids(trials)
    if store is not None and ids:
        try:
            store.read(ids[0])  # an unreachable store raises here, once, rather than on every row
            store.prefetch(ids)  # a remote store: the records' round trips side by side
        except artifacts.ArtifactStoreError as exc:
            if strict:
                raise
            store, error = None, str(exc)
    df = pd.DataFrame(_columns(trials, objectives, store)) if trials else pd.DataFrame()
    if df.empty:
        df = pd.DataFrame(columns=["number", "state", "status", "certified", *SPEC_COLUMNS, *METRIC_COLUMNS])
    df.attrs["study"] = study.study_name
    df.attrs["objectives"] = record.get("objectives", [])
    df.attrs["task"] = record.get("task")
    df.attrs["artifacts_error"] = error
    return df


def load(storage: str | None, study: str | None) -> pd.DataFrame:
    """One row per trial of ``study`` in ``storage`` (a journal file path or an RDB URL)."""
    return frame(load_readonly(storage, study), storage or DEFAULT_STORAGE)


def _columns(trials: list[optuna.trial.FrozenTrial], objectives: list[str],
             store: artifacts.Store | None) -> dict[str, list[Any]]:
    """The frame's columns: one tuple per trial (each trial's dicts read once, while they are in the CPU's
    cache), turned into one list per column. A dict per row made pandas infer every column from 50,000
    dicts; a pass over the trials per column read each trial's dicts 40 times."""
    names = ["number", "state", "status", "reason", "certified", *(f"objective_{o}" for o in objectives),
             *SPEC_COLUMNS, *PARAM_COLUMNS, *METRIC_COLUMNS, "lr", "weight_decay", "weights", "datetime_start",
             "datetime_complete", "worker", "duration_s", "spec", "certificate", "curves", "init_record"]
    rows = [_record(t, len(objectives), store) for t in trials]
    return dict(zip(names, map(list, zip(*rows, strict=True)), strict=True))


def _record(t: optuna.trial.FrozenTrial, n_objectives: int, store: artifacts.Store | None) -> tuple[Any, ...]:
    attrs = t.user_attrs
    spec = attrs.get("spec") or {}
    metrics = attrs.get("metrics") or {}
    train = attrs.get("train") or {}
    cert = attrs.get("certificate")
    bulk = trial_record.bulk(attrs, store)  # the curves' artifact, or inline in an older study
    values = t.values or []
    if len(values) != n_objectives:  # missing (not COMPLETE), or not what the study records: padded or cut
        values = [*values, *[None] * n_objectives][:n_objectives]
    duration = t.duration
    return (
        t.number, t.state.name, trial_status(t), attrs.get("reason"), None if cert is None else bool(cert.get("ok")),
        *values,
        *map(spec.get, SPEC_COLUMNS),
        *map(_params_json, map(spec.get, PARAM_COLUMNS, _NO_PARAMS)),
        *map(metrics.get, METRIC_COLUMNS),
        train.get("lr"), train.get("weight_decay"), attrs.get("weights"), t.datetime_start, t.datetime_complete,
        _worker(attrs.get("worker")), duration.total_seconds() if duration is not None else None, spec or None,
        cert, bulk["curves"], bulk["init_record"],
    )


# what a spec without a component's parameters reads as (never modified)
_NO_PARAMS: tuple[dict[str, Any], ...] = ({},) * len(PARAM_COLUMNS)
_PARAMS_JSON: dict[tuple[Any, ...], str] = {}  # a search revisits a few hundred parameter sets


def _params_json(params: Any) -> str:
    """``json.dumps(params, sort_keys=True)``, remembered for flat dicts of scalars: 200,000 dumps of the same
    few hundred ``{"beta": 0.9}`` were a third of a 50,000-trial frame's time. The key holds each value's type,
    since 1, 1.0 and True are equal (one dict key) but dump as ``1``, ``1.0`` and ``true``.

    Example:
        >>> _params_json({"b": 1, "a": True}), _params_json({"b": 1.0, "a": 1})
        ('{"a": true, "b": 1}', '{"a": 1, "b": 1.0}')
    """
    if not isinstance(params, dict):
        return json.dumps(params, sort_keys=True)
    if not params:  # most parameter sets of a search: no key to build
        return "{}"
    try:
        key = tuple((k, type(v), v) for k, v in params.items())
        found = _PARAMS_JSON.get(key)
    except TypeError:  # a list or dict value: not hashable, dumped each time
        return json.dumps(params, sort_keys=True)
    if found is None:
        found = json.dumps(params, sort_keys=True)
        if len(_PARAMS_JSON) < 65536:
            _PARAMS_JSON[key] = found
    return found


def objective_columns(df: pd.DataFrame) -> list[tuple[str, str]]:
    """``(column, direction)`` per objective of a `frame`, in the study's order (the values Optuna stored);
    a study with no recorded objectives (not written by optnas) ranks by ``val_metric``, maximized."""
    out = []
    for o in df.attrs.get("objectives") or []:
        if isinstance(o, dict) and "name" in o:
            col = f"objective_{o['name']}"
            out.append((col if col in df.columns else str(o["name"]),
                        "minimize" if o.get("direction") == "minimize" else "maximize"))
    return out or [("val_metric", "maximize")]


def ranking(df: pd.DataFrame) -> list[int]:
    """Numbers of the COMPLETE trials of a `frame`, best first: the one ranking of every view (dashboard, report,
    the CLI's summary), by the one best-trial rule (`optnas.outcome.ranking`).

    Example:
        >>> df = pd.DataFrame({"number": [0, 1, 2], "state": ["COMPLETE"] * 3, "val_metric": [0.5, 0.9, 0.7]})
        >>> ranking(df)
        [1, 2, 0]
    """
    if df.empty:
        return []
    objs = objective_columns(df)
    done = df[df["state"] == "COMPLETE"]
    if not len(done):
        return []
    # `outcome.ranking`'s rule as one lexicographic sort in numpy (its Python tuples took 0.5 s at 43,000
    # trials, on every dashboard page's first load): finite values only, each objective signed so smaller is
    # better, the study's first objective the primary key, the trial number the last
    sign = np.array([-1.0 if d == "maximize" else 1.0 for _, d in objs])
    values = np.column_stack([_numeric(done, c) for c, _ in objs]) * sign
    numbers = done["number"].to_numpy().astype(np.int64)
    kept = np.isfinite(values).all(axis=1)
    values, numbers = values[kept], numbers[kept]
    order = np.lexsort((numbers, *values.T[::-1]))  # lexsort: the last key is the primary one
    return numbers[order].tolist()


def _numeric(df: pd.DataFrame, name: str) -> np.ndarray:
    """A column as floats (NaN where absent or not a number: such a trial is not ranked)."""
    if name not in df.columns:
        return np.full(len(df), np.nan)
    return pd.to_numeric(df[name], errors="coerce").astype(float).to_numpy()


def _worker(record: Any) -> str | None:
    """``{"host": "h", "pid": 12}`` -> ``"h:12"`` (which process ran the trial), None when not recorded."""
    if not isinstance(record, dict) or record.get("host") is None:
        return None
    return f"{record.get('host')}:{record.get('pid')}"
