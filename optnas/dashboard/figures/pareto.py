"""Pareto front of the task metric against a cost (parameters, FLOPs or latency).

Example:
    >>> pareto_mask(np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.4, 0.9]), maximize=True).tolist()
    [True, False, True]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..data import COSTS, Metric, column, complete, hover_text, label, task_metric
from ._plotly import TEMPLATE, brief, empty_figure, graph_objects, hover, scatter

if TYPE_CHECKING:
    import plotly.graph_objects as go


def pareto_mask(costs: np.ndarray, values: np.ndarray, *, maximize: bool) -> np.ndarray:
    """True for points no other point dominates (cost <= and value at least as good, one strictly).

    O(n log n): sort by cost, then best value first; a point is on the front when its value beats every
    cheaper-or-equal point seen before it (exact duplicates of a front point stay on the front).
    """
    v = np.asarray(values, dtype=float) * (1.0 if maximize else -1.0)
    c = np.asarray(costs, dtype=float)
    order = np.lexsort((-v, c))
    mask = np.zeros(len(c), dtype=bool)
    best_v, best_c = -np.inf, np.nan
    for i in order:
        if v[i] > best_v:
            mask[i], best_v, best_c = True, v[i], c[i]
        elif v[i] == best_v and c[i] == best_c:
            mask[i] = True
    return mask


@dataclass(frozen=True)
class ParetoData:
    """Complete trials with a finite metric and cost; ``front`` marks the non-dominated ones."""

    metric: Metric
    cost: str
    numbers: np.ndarray
    costs: np.ndarray
    values: np.ndarray
    front: np.ndarray
    hover: list[str]

    @property
    def front_order(self) -> np.ndarray:
        """Indices of front points by increasing cost (the line through the front)."""
        idx = np.flatnonzero(self.front)
        return idx[np.argsort(self.costs[idx], kind="stable")]


def pareto_data(df: pd.DataFrame, cost: str = "params") -> ParetoData:
    if cost not in COSTS:
        raise ValueError(f"cost={cost!r} is invalid; valid: {', '.join(COSTS)}")
    metric = task_metric(df)
    done = complete(df, require=(cost,))
    costs, values = column(done, cost).to_numpy(), column(done, metric.name).to_numpy()
    return ParetoData(
        metric=metric,
        cost=cost,
        numbers=done["number"].to_numpy(dtype=int) if len(done) else np.zeros(0, dtype=int),
        costs=costs,
        values=values,
        front=pareto_mask(costs, values, maximize=metric.maximize),
        hover=hover_text(done, brief=brief(len(done))),
    )


def plot_pareto(data: ParetoData) -> go.Figure:
    title = f"Pareto front: {label(data.metric.name)} against {COSTS[data.cost]}"
    if len(data.numbers) == 0:
        return empty_figure(title, f"no complete trial with both {data.metric.name} and {data.cost} yet")
    go = graph_objects()
    rest = np.flatnonzero(~data.front)
    front = data.front_order
    text = np.asarray(data.hover, dtype=object)
    short, names = brief(len(data.numbers)), (label(data.metric.name), COSTS[data.cost])
    fig = go.Figure()
    fig.add_trace(scatter(len(rest), x=data.costs[rest], y=data.values[rest], mode="markers",
                          name=f"dominated trial ({len(rest)})",
                          customdata=data.numbers[rest].tolist(), **hover(text[rest], short, *names),
                          marker={"color": "lightslategray", "size": 6, "opacity": 0.5}))
    fig.add_trace(scatter(len(front), x=data.costs[front], y=data.values[front], mode="lines+markers",
                          name=f"Pareto front ({len(front)}, joined by its staircase)",
                          customdata=data.numbers[front].tolist(), **hover(text[front], short, *names),
                          line={"shape": "hv", "color": "firebrick"},
                          marker={"size": 9, "color": "firebrick"}))
    positive = data.costs[data.costs > 0]
    # costs span orders of magnitude across depths and widths: a log axis once they do
    log = len(positive) == len(data.costs) and positive.max() / positive.min() >= 100
    fig.update_layout(title=title, template=TEMPLATE, xaxis_title=COSTS[data.cost], yaxis_title=label(data.metric.name),
                      xaxis_type="log" if log else "linear", legend={"orientation": "h", "y": -0.2})
    return fig
