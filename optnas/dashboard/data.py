"""Pure helpers over the results DataFrame (`optnas.results.frame`): the task metric, complete trials,
hover text of a spec, and the leaderboard page. No Plotly, no Dash.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"number": [0, 1], "state": ["COMPLETE", "COMPLETE"], "val_metric": [0.5, 0.9]})
    >>> df.attrs["objectives"] = [{"name": "val_metric", "direction": "maximize"}]
    >>> task_metric(df), ranked(df)["number"].tolist()
    (Metric(name='val_metric', direction='maximize'), [1, 0])
"""

from __future__ import annotations

import functools
import inspect
import json
import math
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from .. import results, spec
from .._format import number as fmt

# latency is a wall-clock measurement (the median of a few timed forwards): said wherever it is plotted
COSTS: dict[str, str] = {"params": "parameters", "flops": "FLOPs per sample", "latency_ms": "latency (ms, noisy)"}
# Shown in hover text, in this order, when present.
HOVER_METRICS = ("val_metric", "test_metric", "params", "flops", "latency_ms")


@dataclass(frozen=True)
class Metric:
    """The task metric a study optimizes, and whether larger is better."""

    name: str
    direction: str  # "maximize" or "minimize"

    @property
    def maximize(self) -> bool:
        return self.direction == "maximize"


def task_metric(df: pd.DataFrame) -> Metric:
    """The study's first objective that is a task metric (``*_metric``), else its first objective.

    A study with no recorded objectives (not written by optnas) falls back to ``val_metric``, maximized.
    """
    objectives = df.attrs.get("objectives") or []
    named = [o for o in objectives if isinstance(o, dict) and "name" in o]
    chosen = next((o for o in named if str(o["name"]).endswith("_metric")), named[0] if named else None)
    if chosen is None:
        return Metric("val_metric", "maximize")
    return Metric(str(chosen["name"]), "minimize" if chosen.get("direction") == "minimize" else "maximize")


def column(df: pd.DataFrame, name: str) -> pd.Series:
    """A numeric column (NaN where absent or not a number), so missing metrics never raise."""
    if name not in df.columns:
        return pd.Series(np.nan, index=df.index, dtype=float)
    return pd.to_numeric(df[name], errors="coerce").astype(float)


def complete(df: pd.DataFrame, *, require: tuple[str, ...] = ()) -> pd.DataFrame:
    """COMPLETE trials with a finite task metric (and finite ``require`` columns), in trial order."""
    if df.empty:
        return df
    metric = task_metric(df).name
    mask = (df["state"] == "COMPLETE") & np.isfinite(column(df, metric))
    for name in require:
        mask &= np.isfinite(column(df, name))
    return df[mask].sort_values("number")


objectives = results.objective_columns  # (column, direction) per objective, as the ranking reads them


F = TypeVar("F", bound=Callable[..., Any])


KEYS_PER_FRAME = 16  # argument sets remembered per frame and function, least recently used dropped first


def per_frame(fn: F) -> F:
    """Remember ``fn(df, *args, **kwargs)`` per DataFrame object and arguments (the dashboard's frames are
    shared and never modified, `StudySource`; a new study version is a new frame): the overview's figures
    are computed once per version, by whichever comes first (`app.preload` as the server starts, or the
    page's callbacks), and shared by the others. A call made while the same one is being computed waits
    for it rather than computing it again beside it (a server's first page asks for what its preload is
    drawing: both ran at once, each slowing the other); should that computation raise, the waiting calls
    ask again (one computes it for the others). A copy or a filtered frame is another object, computed
    afresh; a frame no longer referenced takes its results with it, and a frame keeps the `KEYS_PER_FRAME`
    argument sets last used (each zoom of a figure is one). Callers must not modify a result.

    Example:
        >>> calls = []
        >>> count = per_frame(lambda df, col: calls.append(col) or len(df[col]))
        >>> df = pd.DataFrame({"a": [1, 2]})
        >>> count(df, "a"), count(df, "a"), len(calls)
        (2, 2, 1)
    """
    held: dict[int, tuple[weakref.ref[pd.DataFrame], OrderedDict[str, Any]]] = {}
    running: dict[tuple[int, str], threading.Event] = {}  # (frame id, key) being computed: set when done
    lock = threading.Lock()
    signature = inspect.signature(fn)

    def cached(df: pd.DataFrame, key: str) -> tuple[bool, Any]:
        entry = held.get(id(df))
        if entry is not None and entry[0]() is df and key in entry[1]:
            entry[1].move_to_end(key)
            return True, entry[1][key]
        return False, None

    @functools.wraps(fn)
    def memoized(df: pd.DataFrame, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(df, *args, **kwargs)  # f(df), f(df, x="number"): one key when that is the default
        bound.apply_defaults()
        key = repr(list(bound.arguments.values())[1:])
        with lock:
            found, value = cached(df, key)
            if found:
                return value
            done = running.get((id(df), key))  # df is alive (the caller holds it): its id is its own
            if done is None:
                running[(id(df), key)] = mine = threading.Event()
        if done is not None:
            done.wait()
            with lock:
                found, value = cached(df, key)
            return value if found else memoized(df, *args, **kwargs)  # it raised: asked again
        try:
            value = fn(df, *args, **kwargs)
            with lock:
                for gone in [k for k, (ref, _) in held.items() if ref() is None]:
                    del held[gone]  # frames gone: their ids may be reused
                entry = held.get(id(df))
                if entry is None or entry[0]() is not df:
                    entry = held[id(df)] = (weakref.ref(df), OrderedDict())
                entry[1][key] = value
                while len(entry[1]) > KEYS_PER_FRAME:
                    entry[1].popitem(last=False)
            return value
        finally:
            with lock:
                del running[(id(df), key)]
            mine.set()

    return memoized  # type: ignore[return-value]


@per_frame
def ranking(df: pd.DataFrame) -> list[int]:
    """Numbers of the COMPLETE trials, best first, by the one best-trial rule (`optnas.outcome.ranking`).

    Remembered per DataFrame object (`per_frame`): the overview asks for it from five figures, and at
    50,000 trials each ranking takes a second or more. Callers must not modify the result.
    """
    return _ranking(df)


def _ranking(df: pd.DataFrame) -> list[int]:
    return results.ranking(df)


def best_number(df: pd.DataFrame) -> int | None:
    """The study's best trial (`optnas.outcome.best`): on the Pareto front when there are several objectives."""
    order = ranking(df)
    return order[0] if order else None


def best_and_ties(df: pd.DataFrame) -> tuple[int | None, tuple[int, ...]]:
    """The best trial and the other complete trials with exactly its task metric (the rule's later keys
    broke the tie: the plots mark them, so a tie is never hidden behind the winner).

    Example:
        >>> df = pd.DataFrame({"number": [0, 1, 2], "state": ["COMPLETE"] * 3, "val_metric": [0.9, 0.9, 0.5]})
        >>> best_and_ties(df)
        (0, (1,))
    """
    best = best_number(df)
    if best is None:
        return None, ()
    metric = task_metric(df).name
    done = complete(df)
    values = column(done, metric)
    value = values[done["number"] == best].iloc[0]
    tied = done.loc[(values == value) & (done["number"] != best), "number"].astype(int)
    return best, tuple(sorted(tied.tolist()))


def ranked(df: pd.DataFrame) -> pd.DataFrame:
    """Every trial: ranked complete ones best first (`ranking`), then the rest by trial number."""
    if df.empty:
        return df
    order = ranking(df)
    label = pd.Series(df.index, index=df["number"].astype(int))  # trial number -> row label
    best_first = df.loc[label.loc[order].to_numpy()]
    rest = df[~df["number"].isin(order)].sort_values("number")
    return pd.concat([best_first, rest])


@lru_cache(maxsize=65536)
def params_text(params: str | None) -> str:
    """``'{"beta": 0.49039}'`` -> ``'beta=0.49039'`` (the JSON text results.frame stores), as a spec line
    writes parameters (`optnas.spec.named`)."""
    if not params or params == "{}":
        return ""
    try:
        values = json.loads(params)
    except (TypeError, json.JSONDecodeError):
        return str(params)
    if not isinstance(values, dict):
        return str(values)
    return spec.named("", values)[1:-1] if values else ""


def named(name: Any, params: str | None) -> str:
    """``heavy_ball`` with ``'{"beta": 0.9}'`` -> ``'heavy_ball(beta=0.9)'`` (`optnas.spec.named`)."""
    if name is None or (isinstance(name, float) and math.isnan(name)):
        return "?"
    text = params_text(params)
    return f"{name}({text})" if text else str(name)


def _strings(df: pd.DataFrame, name: str) -> list[Any]:
    return df[name].tolist() if name in df.columns else [None] * len(df)


def spec_labels(df: pd.DataFrame) -> list[str]:
    """One line per trial, as `optnas.ArchSpec.describe` writes it:
    ``heavy_ball(beta=0.9) constant mlp2 tanh depth=12 width=32``."""
    families = [[named(n, p) for n, p in zip(_strings(df, f), _strings(df, f"{f}_params"), strict=True)]
                for f in spec.FAMILIES]
    sizes = [[_int(v) for v in _strings(df, c)] for c in ("depth", "width")]
    stages = [s if s != "?" else "1" for s in map(_int, _strings(df, "stages"))]
    return [
        spec.describe_line({**dict(zip(spec.FAMILIES, names, strict=True)), "depth": d, "width": w, "stages": st})
        for *names, d, w, st in zip(*families, *sizes, stages, strict=True)
    ]


def _int(value: Any) -> str:
    try:
        return str(int(value))
    except (TypeError, ValueError):
        return "?"


def hover_text(df: pd.DataFrame) -> list[str]:
    """Hover text per trial (Plotly's <br> line breaks): number, the spec, schedule and init, metrics.

    Plots of thousands of points send none (`figures._plotly.brief`); the trial's page has the same."""
    labels = spec_labels(df)
    schedules = [named(s, p) for s, p in zip(_strings(df, "schedule"), _strings(df, "schedule_params"), strict=True)]
    inits = _strings(df, "init")
    metrics = [(m, column(df, m).to_numpy()) for m in HOVER_METRICS if m in df.columns]
    out = []
    for i, (number, label) in enumerate(zip(df["number"].tolist(), labels, strict=True)):
        values = " · ".join(f"{m}={fmt(v[i])}" for m, v in metrics if np.isfinite(v[i]))
        out.append(f"trial {number}<br>{label}<br>schedule {schedules[i]} · init {inits[i]}<br>{values}")
    return out


#: Human names (with units) of the metric columns, for axis titles, table headers and hover text.
LABELS: dict[str, str] = {
    "number": "trial",
    "val_metric": "validation metric",
    "test_metric": "test metric",
    "params": "parameters",
    "flops": "FLOPs per sample",
    "latency_ms": "latency (ms)",
    "peak_mem_mb": "peak memory (MB)",
    "wall_s": "wall time (s)",
    "duration_s": "duration (s)",
    "epochs": "epochs",
    "train_loss": "training loss",
    "val_loss": "validation loss",
    "lr": "learning rate",
    "epoch_s": "epoch time (s)",
    "train_metric": "training metric",
}


def label(name: str) -> str:
    """``'val_metric'`` -> ``'validation metric'``; unknown names lose their underscores."""
    return LABELS.get(name, name.replace("_", " "))


# Leaderboard: (column id, header). Values stay raw (numbers) so sorting is numeric; the table formats them.
LEADERBOARD_COLUMNS: tuple[tuple[str, str], ...] = (
    ("number", "trial"),
    ("status", "status"),
    ("algorithm", "algorithm"),
    ("schedule", "schedule"),
    ("block", "block"),
    ("activation", "activation"),
    ("depth", "depth"),
    ("width", "width"),
    ("val_metric", "validation"),
    ("test_metric", "test"),
    ("params", "parameters"),
    ("flops", "FLOPs/sample"),
    ("latency_ms", "latency (ms)"),
    ("wall_s", "wall time (s)"),
    ("certified", "certified"),
)
FIXED_COLUMNS = ("number", "status")  # always shown (the column chooser offers the others)
#: What the leaderboard can be filtered on (raw column -> filter label).
FILTERS: dict[str, str] = {"status": "status", "algorithm": "algorithm", "block": "block",
                           "activation": "activation", "certified": "certified"}
INTEGER_COLUMNS = frozenset({"number", "depth", "width", "params", "flops"})
NUMERIC_COLUMNS = INTEGER_COLUMNS | {"val_metric", "test_metric", "latency_ms", "wall_s"}


@dataclass(frozen=True)
class LeaderboardPage:
    """One page of the leaderboard: JSON-ready rows (``id`` = trial number), page count, total trials."""

    rows: list[dict[str, Any]]
    page_count: int
    total: int


@per_frame
def leaderboard_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The leaderboard's columns for every trial, best first (`ranked`); names carry their parameters.
    Remembered per frame (`per_frame`): each page, sort and refresh of the leaderboard starts from it."""
    order = ranked(df)
    table = pd.DataFrame(index=order.index)
    for col, _ in LEADERBOARD_COLUMNS:
        raw = pd.Series(_strings(order, col), index=order.index, dtype=object)
        table[col] = column(order, col) if col in NUMERIC_COLUMNS else raw
    for col in ("algorithm", "schedule", "block", "activation"):
        table[col] = [named(n, p) for n, p in zip(_strings(order, col), _strings(order, f"{col}_params"), strict=True)]
    table["status"] = [s if isinstance(s, str) else str(st).lower()
                       for s, st in zip(_strings(order, "status"), _strings(order, "state"), strict=True)]
    table["certified"] = ["yes" if c is True else "no" if c is False else "" for c in _strings(order, "certified")]
    return table


@per_frame  # the preload's, shared with the page's first callback
def filter_values(df: pd.DataFrame) -> dict[str, list[str]]:
    """What each leaderboard filter (`FILTERS`) can take in this study, sorted."""
    out: dict[str, list[str]] = {}
    for col in FILTERS:
        raw = _filter_column(df, col)
        out[col] = sorted({v for v in raw if v})
    return out


def _filter_column(df: pd.DataFrame, col: str) -> list[str]:
    if col == "certified":
        return ["yes" if c is True else "no" if c is False else "" for c in _strings(df, "certified")]
    return ["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in _strings(df, col)]


def filtered(df: pd.DataFrame, filters: Any) -> pd.DataFrame:
    """The trials whose values are among the chosen ones of each filter (an empty choice keeps all).

    ``filters`` maps a `FILTERS` key to a list of values; anything else in it (crafted input) is ignored.
    """
    active = {c: v for c, v in filters.items() if c in FILTERS and isinstance(v, list) and v} \
        if isinstance(filters, dict) else {}
    if not active or df.empty:
        return df  # the frame itself, so `leaderboard_frame` finds it remembered
    mask = np.ones(len(df), dtype=bool)
    for col, chosen in active.items():
        wanted = {str(c) for c in chosen}
        mask &= np.array([v in wanted for v in _filter_column(df, col)], dtype=bool)
    return df[mask]


def leaderboard_page(
    df: pd.DataFrame, *, sort_by: Any = None, page: Any = 0, page_size: int = 20, filters: Any = None
) -> LeaderboardPage:
    """Filter (`filtered`), sort (Dash DataTable ``sort_by`` format; missing values last), slice one page.

    Crafted arguments (a non-list ``sort_by``, a string page) fall back to the defaults, never raise.

    Example:
        >>> df = pd.DataFrame({"number": [0, 1], "state": ["COMPLETE"] * 2, "val_metric": [0.5, 0.9]})
        >>> leaderboard_page(df, sort_by=[{"column_id": "number", "direction": "desc"}]).rows[0]["number"]
        1
    """
    table = leaderboard_frame(filtered(df, filters))
    valid = {c for c, _ in LEADERBOARD_COLUMNS}
    keys = [s for s in (sort_by if isinstance(sort_by, list) else []) if isinstance(s, dict)
            and s.get("column_id") in valid]
    if keys:
        table = table.sort_values(
            [s["column_id"] for s in keys],
            ascending=[s.get("direction") != "desc" for s in keys],
            na_position="last",
            kind="stable",
        )
    page_size = max(1, int(page_size))
    page_count = max(1, math.ceil(len(table) / page_size))
    page = min(max(0, page if isinstance(page, int) and not isinstance(page, bool) else 0), page_count - 1)
    chunk = table.iloc[page * page_size : (page + 1) * page_size]
    rows = [
        {k: _json_value(v, k in INTEGER_COLUMNS) for k, v in zip(chunk.columns, values, strict=True)}
        for values in chunk.itertuples(index=False, name=None)
    ]
    for row in rows:
        row["id"] = row["number"]  # DataTable's row id: a clicked cell names its trial
    return LeaderboardPage(rows=rows, page_count=page_count, total=len(table))


def _json_value(value: Any, integer: bool = False) -> Any:
    if isinstance(value, float | np.floating):
        value = float(value)
        if not math.isfinite(value):
            return None
        return int(value) if integer else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value
