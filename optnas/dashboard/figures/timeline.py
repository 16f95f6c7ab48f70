"""Timeline: one row per worker process, one bar per trial from its start to its end (now, while running),
colored by its optnas status; a worker known to be dead is labelled so.

A worker is *dead* when a trial it still holds as RUNNING belongs to a process of this host that no longer
exists, or when its last trial ended ``failed`` (what the dead-worker sweep leaves).

Example:
    >>> import pandas as pd, datetime as dt
    >>> t0 = dt.datetime(2026, 1, 1)
    >>> df = pd.DataFrame({"number": [0, 1], "state": ["COMPLETE", "FAIL"], "status": ["complete", "failed"],
    ...                    "worker": ["h:1", "h:2"], "datetime_start": [t0, t0],
    ...                    "datetime_complete": [t0 + dt.timedelta(seconds=5), t0 + dt.timedelta(seconds=2)]})
    >>> [(w.name, w.dead) for w in timeline_data(df).workers]
    [('h:1', False), ('h:2', True)]
"""

from __future__ import annotations

import datetime as dt
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..._process import alive
from ...outcome import STATUSES
from ._plotly import TEMPLATE, empty_figure, graph_objects

if TYPE_CHECKING:
    import plotly.graph_objects as go

TITLE = "Timeline by worker"
COLORS = {"complete": "#2563eb", "pruned": "#9ca3af", "infeasible": "#d97706", "untrainable": "#a16207",
          "diverged": "#dc2626", "uncertified": "#7c3aed", "failed": "#111827", "running": "#16a34a",
          "waiting": "#67e8f9"}


@dataclass(frozen=True)
class Worker:
    name: str  # host:pid, or "unknown worker"
    dead: bool


@dataclass(frozen=True)
class TimelineData:
    workers: tuple[Worker, ...]  # rows, in order of their first trial
    trials: pd.DataFrame  # number, status, worker, start, end (end = now while running)
    now: dt.datetime


def _dead(name: str, rows: pd.DataFrame) -> bool:
    last = rows.sort_values("start").iloc[-1]
    if last["status"] in ("failed", "lost"):  # lost: the worker died before telling the trial's outcome
        return True
    host, _, pid = name.rpartition(":")
    running = rows["status"] == "running"
    return bool(running.any()) and host == socket.gethostname() and pid.isdigit() and not alive(int(pid))


def timeline_data(df: pd.DataFrame, now: dt.datetime | None = None) -> TimelineData:
    now = now or dt.datetime.now()
    cols = ["number", "status", "worker", "start", "end"]
    if df.empty or "datetime_start" not in df.columns:
        return TimelineData((), pd.DataFrame(columns=cols), now)
    start = pd.to_datetime(df["datetime_start"])
    end = pd.to_datetime(df["datetime_complete"]) if "datetime_complete" in df.columns else start
    worker = df["worker"] if "worker" in df.columns else pd.Series(None, index=df.index, dtype=object)
    trials = pd.DataFrame({"number": df["number"].astype(int), "status": df["status"].astype(str),
                           "worker": worker.fillna("unknown worker").astype(str), "start": start,
                           "end": end.fillna(pd.Timestamp(now))})
    trials = trials[trials["start"].notna()].sort_values("start")
    names = list(dict.fromkeys(trials["worker"]))
    workers = tuple(Worker(n, _dead(n, trials[trials["worker"] == n])) for n in names)
    return TimelineData(workers, trials, now)


AGGREGATE_FROM = 2000  # trials: beyond, one bar each is an unreadable grid; cells of worker x time instead
TIME_BINS = 120


def plot_timeline(data: TimelineData) -> go.Figure:
    """One bar per trial up to `AGGREGATE_FROM` trials (a click opens it); beyond, `plot_timeline_aggregated`."""
    if data.trials.empty:
        return empty_figure(TITLE, "no trial has started yet")
    if len(data.trials) >= AGGREGATE_FROM:
        return plot_timeline_aggregated(data)
    go = graph_objects()
    labels = {w.name: f"{w.name} (dead)" if w.dead else w.name for w in data.workers}
    fig = go.Figure()
    order = [s for s in STATUSES if s in set(data.trials["status"])]
    order += sorted(set(data.trials["status"]) - set(order))
    for status in order:
        rows = data.trials[data.trials["status"] == status]
        ms = (rows["end"] - rows["start"]).dt.total_seconds().to_numpy() * 1000.0
        fig.add_trace(go.Bar(
            base=rows["start"].dt.strftime("%Y-%m-%d %H:%M:%S.%f").tolist(), x=ms.tolist(),
            y=[labels[w] for w in rows["worker"]], orientation="h", name=f"{status} ({len(rows)})",
            marker={"color": COLORS.get(status, "#6b7280")}, customdata=rows["number"].tolist(),
            hovertemplate="trial %{customdata}: " + status + "<br>%{base} + %{x:,.0f} ms<extra></extra>",
        ))
    dead = sum(w.dead for w in data.workers)
    title = f"{TITLE}: {len(data.workers)} worker(s)" + (f", {dead} dead" if dead else "")
    fig.update_layout(title=title, template=TEMPLATE, barmode="overlay", xaxis={"type": "date", "title": "time"},
                      yaxis={"title": "worker (host:pid)", "categoryorder": "array",
                             "categoryarray": [labels[w.name] for w in data.workers][::-1]},
                      legend={"orientation": "h", "y": -0.25}, showlegend=True,
                      height=max(300, 120 + 28 * len(data.workers)))
    return fig



def plot_timeline_aggregated(data: TimelineData, bins: int = TIME_BINS) -> go.Figure:
    """Workers x time: each cell counts the trials a worker ended in that slice of time (darker: more), its
    hover the count per status; a worker whose trials failed shows them in the cell's text. Readable at any
    number of trials: ``bins`` columns and one row per worker."""
    if data.trials.empty:
        return empty_figure(TITLE, "no trial has started yet")
    go = graph_objects()
    labels = {w.name: f"{w.name} (dead)" if w.dead else w.name for w in data.workers}
    trials = data.trials
    t0, t1 = trials["start"].min(), trials["end"].max()
    span = max((t1 - t0).total_seconds(), 1e-6)
    column = ((trials["end"] - t0).dt.total_seconds() / span * bins).clip(0, bins - 1).astype(int)
    rows = {w.name: i for i, w in enumerate(data.workers)}
    row = trials["worker"].map(rows).to_numpy()
    counts = np.zeros((len(rows), bins))
    np.add.at(counts, (row, column.to_numpy()), 1)
    statuses = [s for s in STATUSES if s in set(trials["status"])] + sorted(set(trials["status"]) - set(STATUSES))
    per: dict[str, np.ndarray] = {}
    for status in statuses:
        mask = (trials["status"] == status).to_numpy()
        grid = np.zeros((len(rows), bins))
        np.add.at(grid, (row[mask], column.to_numpy()[mask]), 1)
        per[status] = grid
    step = pd.Timedelta(seconds=span / bins)
    edges = pd.DatetimeIndex([t0 + step * k for k in range(bins + 1)]).round("ms")
    centers = (edges[:-1] + step / 2).round("ms")
    text = [[", ".join(f"{int(per[s][r, c])} {s}" for s in statuses if per[s][r, c]) or "none"
             for c in range(bins)] for r in range(len(rows))]
    spans = [f"{edges[c]:%H:%M:%S} to {edges[c + 1]:%H:%M:%S}" for c in range(bins)]
    fig = go.Figure(go.Heatmap(
        x=centers, y=[labels[w.name] for w in data.workers], z=np.where(counts > 0, counts, np.nan),
        text=text, customdata=[spans for _ in rows], colorscale="Blues", zmin=0, xgap=1, ygap=1,
        colorbar={"title": {"text": "trials ended"}},
        hovertemplate="%{y}<br>%{customdata}<br>%{z} trials: %{text}<extra></extra>",
    ))
    dead = sum(w.dead for w in data.workers)
    tally = ", ".join(f"{int(per[s].sum()):,} {s}" for s in statuses)
    title = (f"{TITLE}: {len(trials):,} trials ({tally}) on {len(data.workers)} worker(s)"
             + (f", {dead} dead" if dead else "")
             + f"<br><sup>aggregated: trials ended per worker in {bins} slices of {span / bins:,.0f} s; "
               "the leaderboard opens single trials</sup>")
    fig.update_layout(title=title, template=TEMPLATE, xaxis={"type": "date", "title": "time the trial ended"},
                      yaxis={"title": "worker (host:pid)", "categoryorder": "array",
                             "categoryarray": [labels[w.name] for w in data.workers][::-1]},
                      height=min(900, max(320, 140 + 22 * len(data.workers))), margin={"t": 80})
    return fig
