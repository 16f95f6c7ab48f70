"""Optimization history: the task metric of every complete trial (optionally the pruned ones' last value),
and the best so far, against the trial number or the time the trial finished.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"number": [0, 1, 2], "state": ["COMPLETE"] * 3, "val_metric": [0.5, 0.4, 0.9]})
    >>> history_data(df).best.tolist()
    [0.5, 0.5, 0.9]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..data import Metric, best_and_ties, column, complete, hover_text, label, per_frame, task_metric
from ._plotly import TEMPLATE, brief, empty_figure, graph_objects, hover, integer_axis, mark_best, scatter, steps
from .decimate import FULL, View, limit, note, pick, zoom

if TYPE_CHECKING:
    import plotly.graph_objects as go

TITLE = "Optimization history"
X_AXES = {"number": "trial number", "time": "time the trial ended"}


@dataclass(frozen=True)
class HistoryData:
    """Complete trials in trial order: their number, task metric, running best and hover text; the pruned
    trials' last recorded value when asked for."""

    metric: Metric
    numbers: np.ndarray
    values: np.ndarray
    best: np.ndarray
    hover: list[str]  # empty when the plot's hover is brief (`_plotly.brief`): nothing to send
    total: int  # trials of any state
    x: str = "number"  # or "time"
    times: np.ndarray | None = None  # end time of each complete trial (x="time")
    pruned_numbers: np.ndarray | None = None
    pruned_values: np.ndarray | None = None
    pruned_times: np.ndarray | None = None
    pruned_hover: tuple[str, ...] = ()
    best_trial: int | None = None  # the one best-trial rule (`data.best_and_ties`)
    ties: tuple[int, ...] = ()  # complete trials with the best one's task metric


def _ended(df: pd.DataFrame) -> np.ndarray:
    if "datetime_start" not in df.columns:
        return np.full(len(df), np.datetime64("NaT"))
    start = pd.to_datetime(df["datetime_start"])
    duration = pd.to_timedelta(column(df, "duration_s"), unit="s")
    return (start + duration).to_numpy()


@per_frame  # once per study version: the preload and every page share it
def history_data(df: pd.DataFrame, *, x: str = "number", include_pruned: bool = False) -> HistoryData:
    """``x``: ``"number"`` or ``"time"``; ``include_pruned``: also the last value of pruned trials."""
    if x not in X_AXES:
        raise ValueError(f"x={x!r} is invalid; valid: {', '.join(X_AXES)}")
    metric = task_metric(df)
    done = complete(df)
    if x == "time" and len(done):
        done = done.assign(_ended=_ended(done)).sort_values(["_ended", "number"])
    values = column(done, metric.name).to_numpy()
    best = np.maximum.accumulate(values) if metric.maximize else np.minimum.accumulate(values)
    pruned = df.iloc[0:0]
    if include_pruned and len(df):
        pruned = df[(df["state"] == "PRUNED") & np.isfinite(column(df, metric.name))].sort_values("number")
    return HistoryData(
        metric=metric,
        numbers=done["number"].to_numpy(dtype=int) if len(done) else np.zeros(0, dtype=int),
        values=values,
        best=best,
        hover=[] if brief(len(done)) else hover_text(done),
        total=len(df),
        x=x,
        times=_ended(done) if len(done) else None,
        pruned_numbers=pruned["number"].to_numpy(dtype=int) if include_pruned else None,
        pruned_values=column(pruned, metric.name).to_numpy() if include_pruned else None,
        pruned_times=_ended(pruned) if include_pruned and len(pruned) else None,
        pruned_hover=tuple(hover_text(pruned)) if include_pruned and not brief(len(pruned)) else (),
        best_trial=(chosen := best_and_ties(df))[0],
        ties=chosen[1],
    )


def plot_history(data: HistoryData, *, log_y: bool = False, view: View = FULL) -> go.Figure:
    """The figure; ``view`` (`decimate.view_of`): the zoomed range to draw. Above `decimate.limit` points in
    view, one per screen cell is drawn (`decimate.decimate`, the cell's best); the best-so-far line, the
    trials that set it, the best trial and its ties are drawn from all trials."""
    if len(data.numbers) == 0:
        return empty_figure(TITLE, f"no complete trial with {label(data.metric.name)} yet ({data.total} trials)")
    go = graph_objects()
    n = len(data.numbers)
    by_time = data.x == "time" and data.times is not None
    xs = np.asarray(data.times if by_time else data.numbers)
    sign = 1.0 if data.metric.maximize else -1.0
    cap = limit()
    seen, shown = pick(xs, data.values, view, score=sign * data.values, limit=cap, log_y=log_y)
    if len(shown) < len(seen):  # the trials that set the best so far: the line's corners stay clickable
        records = np.flatnonzero(np.concatenate([[True], data.best[1:] != data.best[:-1]]))
        shown = np.union1d(shown, np.intersect1d(records, seen))
    fig = go.Figure()
    # customdata as a plain list: plotly.py packs numpy arrays as typed binary arrays, whose points the
    # browser reports without customdata, and a click must name its trial
    fig.add_trace(scatter(len(shown), x=xs[shown], y=data.values[shown], mode="markers",
                          name=f"complete trial ({n})", customdata=data.numbers[shown].tolist(),
                          **hover(np.asarray(data.hover, dtype=object)[shown] if data.hover else data.hover,
                                  brief(n), label(data.metric.name)),
                          marker={"size": 7, "opacity": 0.75, "color": "#2563eb"}))
    lines = [note(len(seen), len(shown), view)]
    if data.pruned_numbers is not None and len(data.pruned_numbers):
        px = np.asarray(data.pruned_times if by_time and data.pruned_times is not None else data.pruned_numbers)
        pv = np.asarray(data.pruned_values)
        p_seen, p_shown = pick(px, pv, view, score=sign * pv, limit=cap, log_y=log_y)
        short = brief(len(data.pruned_numbers))
        text = np.asarray(data.pruned_hover, dtype=object)[p_shown] if data.pruned_hover else []
        fig.add_trace(scatter(len(p_shown), x=px[p_shown], y=pv[p_shown], mode="markers",
                              name=f"pruned trial, last value ({len(data.pruned_numbers)})",
                              customdata=data.pruned_numbers[p_shown].tolist(),
                              **hover(text, short, label(data.metric.name)),
                              marker={"size": 6, "symbol": "x", "color": "#9ca3af"}))
        if len(p_shown) < len(p_seen):
            lines.append("pruned: " + note(len(p_seen), len(p_shown), view).replace("zoomed: ", ""))
    word = "highest" if data.metric.maximize else "lowest"
    step_x, step_y = steps(xs, data.best)  # the same line from its corners: a few dozen points, not n
    fig.add_trace(scatter(len(step_x), x=step_x, y=step_y, mode="lines", name=f"best so far ({word})",
                          line={"shape": "hv", "color": "firebrick"}, hoverinfo="skip"))
    mark_best(fig, xs, data.values, data.numbers, data.best_trial, data.ties)
    subtitle = "; ".join(line for line in lines if line)
    fig.update_layout(title=f"{TITLE}: {n} complete of {data.total} trials"
                      + (f"<br><sup>{subtitle}</sup>" if subtitle else ""), template=TEMPLATE,
                      xaxis_title=X_AXES["time" if by_time else "number"], yaxis_title=label(data.metric.name),
                      yaxis_type="log" if log_y else "linear", legend={"orientation": "h", "y": -0.2},
                      margin={"t": 60 if subtitle else 50, "r": 20})
    if not by_time:
        fig.update_xaxes(**integer_axis(data.numbers if view.x is None else view.x))  # ticks of the range shown
    zoom(fig, view, x_date=by_time)
    if n == 1 and not log_y:  # one value: a readable span around it, not Plotly's default
        v = float(data.values[0])
        pad = abs(v) * 0.1 or 1.0
        fig.update_yaxes(range=[v - pad, v + pad])
    return fig

