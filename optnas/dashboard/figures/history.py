"""Optimization history: the task metric of every complete trial, and the best so far.

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

from ..data import Metric, column, complete, hover_text, task_metric
from ._plotly import TEMPLATE, empty_figure, graph_objects, scatter

if TYPE_CHECKING:
    import plotly.graph_objects as go

TITLE = "Optimization history"


@dataclass(frozen=True)
class HistoryData:
    """Complete trials in trial order: their number, task metric, running best and hover text."""

    metric: Metric
    numbers: np.ndarray
    values: np.ndarray
    best: np.ndarray
    hover: list[str]
    total: int  # trials of any state


def history_data(df: pd.DataFrame) -> HistoryData:
    metric = task_metric(df)
    done = complete(df)
    values = column(done, metric.name).to_numpy()
    best = np.maximum.accumulate(values) if metric.maximize else np.minimum.accumulate(values)
    return HistoryData(
        metric=metric,
        numbers=done["number"].to_numpy(dtype=int) if len(done) else np.zeros(0, dtype=int),
        values=values,
        best=best,
        hover=hover_text(done),
        total=len(df),
    )


def plot_history(data: HistoryData) -> go.Figure:
    if len(data.numbers) == 0:
        return empty_figure(TITLE, f"no complete trial with {data.metric.name} yet ({data.total} trials)")
    go = graph_objects()
    n = len(data.numbers)
    fig = go.Figure()
    fig.add_trace(scatter(n, x=data.numbers, y=data.values, mode="markers", name=data.metric.name,
                          customdata=data.numbers, text=data.hover, hoverinfo="text",
                          marker={"size": 7, "opacity": 0.75}))
    fig.add_trace(scatter(n, x=data.numbers, y=data.best, mode="lines", name=f"best so far ({data.metric.direction})",
                          line={"shape": "hv", "color": "firebrick"}, hoverinfo="skip"))
    fig.update_layout(title=f"{TITLE}: {n} complete of {data.total} trials", template=TEMPLATE,
                      xaxis_title="trial", yaxis_title=data.metric.name, legend={"orientation": "h", "y": -0.2})
    return fig
