"""One trial's own curves: every per-epoch series it recorded (small multiples), and its intermediate values
(the task metric per epoch, what the search reports to Optuna's pruner) beside the study's median of the
complete trials at each epoch (what Optuna's MedianPruner compares against), with the quartiles.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"number": [0, 1, 2], "state": ["COMPLETE"] * 3, "val_metric": [0.6, 0.8, 0.7],
    ...                    "curves": [{"val_metric": [0.2, 0.6]}, {"val_metric": [0.4, 0.8]},
    ...                               {"val_metric": [0.3, 0.7], "train_loss": [1.0, 0.5]}]})
    >>> data = trial_curves_data(df, 2)
    >>> sorted(data.curves), data.median.tolist(), data.peers
    (['train_loss', 'val_metric'], [0.3, 0.7], 3)
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..data import Metric, complete, label, task_metric
from ._plotly import D3_NUMBER, TEMPLATE, empty_figure, graph_objects, integer_axis

if TYPE_CHECKING:
    import plotly.graph_objects as go


@dataclass(frozen=True)
class StudyMedian:
    """Per epoch (index 0 = epoch 1): the median and quartiles of the complete trials' task metric."""

    median: np.ndarray
    q25: np.ndarray
    q75: np.ndarray
    peers: int  # complete trials with a curve of the task metric


@dataclass(frozen=True)
class TrialCurvesData:
    number: int
    metric: Metric
    curves: dict[str, np.ndarray]  # every recorded series, per epoch (NaN where not finite)
    own: np.ndarray  # the trial's intermediate values: its task metric per epoch
    median: np.ndarray
    q25: np.ndarray
    q75: np.ndarray
    peers: int


def _values(raw: Any) -> np.ndarray:
    out = []
    for v in raw if isinstance(raw, list) else []:
        try:
            x = float(v)
        except (TypeError, ValueError):
            x = math.nan
        out.append(x if math.isfinite(x) else math.nan)
    return np.asarray(out, dtype=float)


def study_median(df: pd.DataFrame) -> StudyMedian:
    """The complete trials' task-metric curves, per epoch: median and quartiles (NaN past every curve's end)."""
    metric = task_metric(df).name
    done = complete(df)
    rows = [_values(c.get(metric)) for c in (done["curves"] if "curves" in done.columns else [])
            if isinstance(c, dict)]
    rows = [r for r in rows if len(r)]
    if not rows:
        empty = np.zeros(0)
        return StudyMedian(empty, empty, empty, 0)
    table = np.full((len(rows), max(len(r) for r in rows)), np.nan)
    for i, r in enumerate(rows):
        table[i, : len(r)] = r
    with warnings.catch_warnings():  # an epoch no complete trial reached is all NaN: its median is NaN, as meant
        warnings.simplefilter("ignore", RuntimeWarning)
        q25, median, q75 = np.nanpercentile(table, [25, 50, 75], axis=0)
    return StudyMedian(median, q25, q75, len(rows))


def trial_curves_data(df: pd.DataFrame, number: int, median: StudyMedian | None = None) -> TrialCurvesData:
    """Trial ``number``'s curves and the study's median (``median``: `study_median(df)`, when cached)."""
    metric = task_metric(df)
    rows = df[df["number"] == number] if len(df) else df
    raw = rows["curves"].iloc[0] if len(rows) and "curves" in rows.columns else None
    curves = {k: _values(v) for k, v in sorted(raw.items())} if isinstance(raw, dict) else {}
    curves = {k: v for k, v in curves.items() if len(v)}
    m = median if median is not None else study_median(df)
    own = curves.get(metric.name, np.zeros(0))
    return TrialCurvesData(int(number), metric, curves, own, m.median, m.q25, m.q75, m.peers)


def plot_trial_curves(data: TrialCurvesData) -> go.Figure:
    """Every recorded series of the trial, one small plot each (their scales differ: loss, metric, lr)."""
    title = f"Trial {data.number}: its curves, per epoch"
    if not data.curves:
        return empty_figure(title, "this trial recorded no per-epoch curve (it failed or was cut before epoch 1)")
    from plotly.subplots import make_subplots

    go = graph_objects()
    keys = list(data.curves)
    cols = min(3, len(keys))
    rows = math.ceil(len(keys) / cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[label(k) for k in keys],
                        horizontal_spacing=0.08, vertical_spacing=0.5 / rows)
    for i, key in enumerate(keys):
        values = data.curves[key]
        epochs = np.arange(1, len(values) + 1)
        fig.add_trace(go.Scatter(x=epochs, y=values, mode="lines+markers", name=label(key), showlegend=False,
                                 hovertemplate=f"{label(key)}<br>epoch %{{x}}: %{{y:{D3_NUMBER}}}<extra></extra>"),
                      row=i // cols + 1, col=i % cols + 1)
        fig.update_xaxes(title_text="epoch", row=i // cols + 1, col=i % cols + 1, **integer_axis(epochs, 6))
    fig.update_layout(title=title, template=TEMPLATE, height=80 + 260 * rows, margin={"t": 80})
    return fig


def plot_intermediate(data: TrialCurvesData) -> go.Figure:
    """The trial's intermediate values against the study's median (and quartiles) at each epoch."""
    name = label(data.metric.name)
    title = f"Trial {data.number}: intermediate values ({name} per epoch)<br><sup>beside the study's median</sup>"
    if not len(data.own):
        return empty_figure(title, f"this trial recorded no {name} per epoch")
    go = graph_objects()
    fig = go.Figure()
    n = len(data.median)
    epochs = np.arange(1, n + 1)
    if n:
        fig.add_trace(go.Scatter(x=np.concatenate([epochs, epochs[::-1]]),
                                 y=np.concatenate([data.q75, data.q25[::-1]]), fill="toself", mode="lines",
                                 line={"width": 0}, fillcolor="rgba(107,114,128,0.18)", hoverinfo="skip",
                                 name=f"middle half of the {data.peers:,} complete trials"))
        fig.add_trace(go.Scatter(x=epochs, y=data.median, mode="lines", line={"color": "#6b7280", "dash": "dash"},
                                 name=f"study median ({data.peers:,} complete trials)",
                                 hovertemplate=f"median<br>epoch %{{x}}: %{{y:{D3_NUMBER}}}<extra></extra>"))
    own_epochs = np.arange(1, len(data.own) + 1)
    fig.add_trace(go.Scatter(x=own_epochs, y=data.own, mode="lines+markers", line={"color": "#2563eb", "width": 3},
                             name=f"trial {data.number}",
                             hovertemplate=f"trial {data.number}<br>epoch %{{x}}: %{{y:{D3_NUMBER}}}<extra></extra>"))
    fig.update_layout(title=title, template=TEMPLATE, xaxis_title="epoch", yaxis_title=name,
                      legend={"orientation": "h", "y": -0.25}, margin={"t": 70})
    fig.update_xaxes(**integer_axis(np.arange(1, max(n, len(data.own)) + 1)))
    return fig
