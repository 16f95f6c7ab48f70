"""Pareto front of the task metric against a cost (parameters, FLOPs or latency).

Example:
    >>> pareto_mask(np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.4, 0.9]), maximize=True).tolist()
    [True, False, True]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..data import (
    COSTS,
    Metric,
    best_and_ties,
    column,
    complete,
    hover_text,
    label,
    per_frame,
    spec_labels,
    task_metric,
)
from ._plotly import TEMPLATE, brief, empty_figure, graph_objects, hover, mark_best, scatter
from .decimate import FULL, View, limit, note, pick, zoom

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
    hover: list[str]  # empty when the plot's hover is brief (`_plotly.brief`): nothing to send
    best_trial: int | None = None  # the one best-trial rule (`data.best_and_ties`)
    ties: tuple[int, ...] = ()
    # latency only: the range the same spec was measured at (min, max per point) and a one-line summary
    spread: tuple[np.ndarray, np.ndarray] | None = None
    noise: str = ""

    @property
    def front_order(self) -> np.ndarray:
        """Indices of front points by increasing cost (the line through the front)."""
        idx = np.flatnonzero(self.front)
        return idx[np.argsort(self.costs[idx], kind="stable")]


@per_frame  # once per study version: the preload and every page share it
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
        hover=[] if brief(len(done)) else hover_text(done),
        best_trial=(chosen := best_and_ties(df))[0],
        ties=chosen[1],
        **(_latency_spread(done, costs) if cost == "latency_ms" else {}),
    )


def _latency_spread(done: pd.DataFrame, costs: np.ndarray) -> dict[str, Any]:
    """Latency is a wall-clock median of a few forwards, on whatever else the machine runs: the same spec
    measured in several trials shows how far apart its measurements land. Each point gets the min..max of
    its spec's measurements (itself alone when measured once), and the summary says the typical ratio."""
    if not len(done):
        return {}
    key = pd.Series(spec_labels(done), index=done.index)
    grouped = pd.Series(costs, index=done.index).groupby(key)
    lo, hi = grouped.transform("min").to_numpy(), grouped.transform("max").to_numpy()
    sizes = grouped.size()
    repeated = sizes[sizes >= 2].index
    ratio = (grouped.max() / grouped.min())[repeated]
    ratio = ratio[np.isfinite(ratio)]
    if len(ratio):
        note = (f"latency is a noisy measurement: {len(ratio)} specs measured 2+ times vary by x{ratio.median():.3g} "
                f"(median; up to x{ratio.max():.3g}) between their fastest and slowest trial")
    else:
        note = "latency is a noisy wall-clock measurement (no spec measured twice here to show its spread)"
    return {"spread": (lo, hi), "noise": note}


def plot_pareto(data: ParetoData, *, view: View = FULL) -> go.Figure:
    """The figure; ``view`` (`decimate.view_of`): the zoomed range to draw. Above `decimate.limit` dominated
    points in view, one per screen cell is drawn (`decimate.decimate`: the cell's best metric, then the
    cheapest); the front, the best trial and its ties are drawn from all trials."""
    title = f"Pareto front: {label(data.metric.name)} against {COSTS[data.cost]}"
    if len(data.numbers) == 0:
        return empty_figure(title, f"no complete trial with both {data.metric.name} and {data.cost} yet")
    go = graph_objects()
    positive = data.costs[data.costs > 0]
    # costs span orders of magnitude across depths and widths: a log axis once they do
    log = len(positive) == len(data.costs) and positive.max() / positive.min() >= 100
    rest = np.flatnonzero(~data.front)
    sign = 1.0 if data.metric.maximize else -1.0
    dominated = len(rest)
    # the cell's best metric; among equals the cheapest
    seen, drawn = pick(data.costs[rest], data.values[rest], view, score=sign * data.values[rest],
                       tie=-data.costs[rest], limit=limit(), log_x=log)
    rest = rest[drawn]
    drawn_note = note(len(seen), len(rest), view)
    front = data.front_order
    text = np.asarray(data.hover if data.hover else [""] * len(data.numbers), dtype=object)
    short, names = brief(len(data.numbers)), (label(data.metric.name), COSTS[data.cost])
    counts = data.cost in ("params", "flops")

    def spread(idx: np.ndarray) -> dict[str, object]:  # latency: the range the same spec was measured at
        if data.spread is None:
            return {}
        lo, hi = data.spread
        return {"error_x": {"type": "data", "symmetric": False, "array": (hi[idx] - data.costs[idx]).tolist(),
                            "arrayminus": (data.costs[idx] - lo[idx]).tolist(), "thickness": 1, "width": 0}}

    fig = go.Figure()
    fig.add_trace(scatter(len(rest), x=data.costs[rest], y=data.values[rest], mode="markers",
                          name=f"dominated trial ({dominated})",
                          customdata=data.numbers[rest].tolist(),
                          **hover(text[rest], short, *names, x_integer=counts),
                          marker={"color": "lightslategray", "size": 6, "opacity": 0.5}, **spread(rest)))
    fig.add_trace(scatter(len(front), x=data.costs[front], y=data.values[front], mode="lines+markers",
                          name=f"Pareto front ({len(front)}, joined by its staircase)",
                          customdata=data.numbers[front].tolist(),
                          **hover(text[front], short, *names, x_integer=counts),
                          line={"shape": "hv", "color": "firebrick"},
                          marker={"size": 9, "color": "firebrick"}, **spread(front)))
    mark_best(fig, data.costs, data.values, data.numbers, data.best_trial, data.ties)
    lines = [f"{data.noise}; bars: min to max of the same spec" if data.noise else "",
             f"dominated: {drawn_note}" if drawn_note else ""]
    if any(lines):  # a bar on each point: the min..max its spec was measured at
        title += "<br><sup>" + "<br>".join(line for line in lines if line) + "</sup>"
    fig.update_layout(title=title, template=TEMPLATE, xaxis_title=COSTS[data.cost], yaxis_title=label(data.metric.name),
                      xaxis_type="log" if log else "linear", legend={"orientation": "h", "y": -0.2})
    zoom(fig, view)
    return fig

