"""Parallel coordinates over the architecture choices (algorithm, schedule, block, activation, depth,
width), colored by the task metric.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"number": [0, 1], "state": ["COMPLETE"] * 2, "val_metric": [0.5, 0.9],
    ...                    "algorithm": ["gd", "nesterov"], "depth": [2, 4]})
    >>> [(d.label, d.values.tolist()) for d in parallel_data(df).dimensions][:2]
    [('algorithm', [0.0, 1.0]), ('schedule', [0.0, 0.0])]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..data import Metric, column, complete, task_metric
from ._plotly import TEMPLATE, empty_figure, graph_objects

if TYPE_CHECKING:
    import plotly.graph_objects as go

CATEGORICAL = ("algorithm", "schedule", "block", "activation")
NUMERIC = ("depth", "width")
TITLE = "Parallel coordinates"


@dataclass(frozen=True)
class Dimension:
    """One axis: values per trial; for categories, codes with their names as ticks."""

    label: str
    values: np.ndarray
    ticktext: tuple[str, ...] | None = None

    @property
    def tickvals(self) -> list[int] | None:
        return None if self.ticktext is None else list(range(len(self.ticktext)))


@dataclass(frozen=True)
class ParallelData:
    metric: Metric
    dimensions: tuple[Dimension, ...]
    color: np.ndarray  # the task metric of each trial


def parallel_data(df: pd.DataFrame) -> ParallelData:
    metric = task_metric(df)
    done = complete(df)
    dims = []
    for name in CATEGORICAL:
        raw = done[name] if name in done.columns else pd.Series(None, index=done.index, dtype=object)
        labels = raw.fillna("?").astype(str)
        cats = tuple(sorted(labels.unique()))
        codes = labels.map({c: i for i, c in enumerate(cats)}).to_numpy(dtype=float)
        dims.append(Dimension(name, codes, cats or ("?",)))
    dims += [Dimension(name, column(done, name).to_numpy()) for name in NUMERIC]
    values = column(done, metric.name).to_numpy()
    dims.append(Dimension(metric.name, values))
    return ParallelData(metric=metric, dimensions=tuple(dims), color=values)


def plot_parallel(data: ParallelData) -> go.Figure:
    if len(data.color) == 0:
        return empty_figure(TITLE, f"no complete trial with {data.metric.name} yet")
    go = graph_objects()
    dims = []
    for d in data.dimensions:
        dim: dict[str, Any] = {"label": d.label, "values": d.values}
        if d.ticktext is not None:
            dim |= {"tickvals": d.tickvals, "ticktext": list(d.ticktext), "range": [-0.5, len(d.ticktext) - 0.5]}
        elif d.label in NUMERIC and 0 < len(levels := np.unique(d.values[np.isfinite(d.values)])) <= 12:
            dim |= {"tickvals": levels.tolist()}  # depth, width: ticks on the values searched, not 2.2, 2.4...
        dims.append(dim)
    # reversed scale for a minimized metric, so the best trials are always the dark lines
    line = {"color": data.color, "colorscale": "Viridis", "reversescale": not data.metric.maximize,
            "showscale": True, "colorbar": {"title": {"text": data.metric.name}}}
    fig = go.Figure(go.Parcoords(line=line, dimensions=dims))
    fig.update_layout(title=f"{TITLE}: {len(data.color)} complete trials", template=TEMPLATE,
                      margin={"l": 110, "r": 60})  # room for long algorithm names
    return fig
