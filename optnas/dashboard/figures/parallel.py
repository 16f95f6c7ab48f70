"""Parallel coordinates over the architecture choices (algorithm, schedule, block, activation, depth,
width), colored by the task metric, with the trial number as the first axis; at most `MAX_LINES` lines.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"number": [0, 1], "state": ["COMPLETE"] * 2, "val_metric": [0.5, 0.9],
    ...                    "algorithm": ["gd", "nesterov"], "depth": [2, 4]})
    >>> [(d.label, d.values.tolist()) for d in parallel_data(df).dimensions][1:3]
    [('algorithm', [0.0, 1.0]), ('schedule', [0.0, 0.0])]
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..data import Metric, column, complete, fmt, label, task_metric
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
    missing_at: float | None = None  # a parameter axis: where trials without the parameter sit ("n/a")

    @property
    def tickvals(self) -> list[int] | None:
        return None if self.ticktext is None else list(range(len(self.ticktext)))


MAX_LINES = 1000  # lines drawn at most: the 100 best, then an even spread of the rest (beyond, lines blur)


@dataclass(frozen=True)
class ParallelData:
    metric: Metric
    dimensions: tuple[Dimension, ...]  # the first is the trial number
    color: np.ndarray  # the task metric of each trial
    total: int = 0  # complete trials before downsampling

    @property
    def numbers(self) -> np.ndarray:
        return self.dimensions[0].values.astype(int)

    def picked(self, ranges: dict[int, list[list[float]]]) -> list[int]:
        """Trials inside every brushed range (``{dimension index: [[lo, hi], ...]}``), by trial number."""
        mask = np.ones(len(self.color), dtype=bool)
        for i, spans in ranges.items():
            if 0 <= i < len(self.dimensions) and spans:
                v = self.dimensions[i].values
                inside = np.zeros(len(v), dtype=bool)
                for lo, hi in spans:
                    inside |= (v >= lo) & (v <= hi)
                mask &= inside
        return sorted(self.numbers[mask].tolist())


def _downsample(done: pd.DataFrame, metric: Metric, limit: int) -> pd.DataFrame:
    if len(done) <= limit:
        return done
    order = column(done, metric.name).rank(ascending=not metric.maximize, method="first").to_numpy()
    best = order <= limit // 10
    rest = np.flatnonzero(~best)
    keep = rest[np.linspace(0, len(rest) - 1, limit - int(best.sum())).astype(int)]
    mask = best.copy()
    mask[keep] = True
    return done[mask]


MAX_PARAM_AXES = 6  # numeric parameter axes at most (the most common first)


@lru_cache(maxsize=4096)
def _numeric_params(text: Any) -> tuple[tuple[str, float], ...]:
    try:
        values = json.loads(text) if isinstance(text, str) else {}
    except json.JSONDecodeError:
        return ()
    if not isinstance(values, dict):
        return ()
    return tuple((k, float(v)) for k, v in values.items() if isinstance(v, int | float) and not isinstance(v, bool))


def _param_axes(done: pd.DataFrame) -> list[Dimension]:
    """One numeric axis per (name, numeric parameter) that varies, e.g. ``heavy_ball.beta``: a continuous
    parameter read as a number, not one category per value. Trials of other names sit at "n/a", below."""
    found: dict[str, np.ndarray] = {}
    for family in CATEGORICAL:
        if family not in done.columns or f"{family}_params" not in done.columns:
            continue
        for i, (name, text) in enumerate(zip(done[family], done[f"{family}_params"], strict=True)):
            for key, value in _numeric_params(text):
                found.setdefault(f"{name}.{key}", np.full(len(done), np.nan))[i] = value
    axes = []
    for axis, values in sorted(found.items(), key=lambda kv: -int(np.isfinite(kv[1]).sum())):
        present = values[np.isfinite(values)]
        if len(np.unique(present)) < 2:
            continue  # one value (mrepu.p = 2): nothing to read off an axis
        lo, hi = float(present.min()), float(present.max())
        missing = lo - 0.15 * (hi - lo)
        axes.append(Dimension(axis, np.where(np.isfinite(values), values, missing), missing_at=missing))
        if len(axes) == MAX_PARAM_AXES:
            break
    return axes


def parallel_data(df: pd.DataFrame, *, limit: int = MAX_LINES) -> ParallelData:
    metric = task_metric(df)
    everything = complete(df)
    done = _downsample(everything, metric, limit)
    dims = [Dimension("trial", done["number"].to_numpy(dtype=float))]
    for name in CATEGORICAL:
        raw = done[name] if name in done.columns else pd.Series(None, index=done.index, dtype=object)
        # names only: their numeric parameters get axes of their own (`_param_axes`), so heavy_ball(beta=0.49)
        # and heavy_ball(beta=0.5) are one category and two points on a heavy_ball.beta axis
        labels = raw.fillna("?").astype(str)
        cats = tuple(sorted(labels.unique()))
        codes = labels.map({c: i for i, c in enumerate(cats)}).to_numpy(dtype=float)
        dims.append(Dimension(name, codes, cats or ("?",)))
    dims += [Dimension(name, column(done, name).to_numpy()) for name in NUMERIC]
    dims += _param_axes(done)
    values = column(done, metric.name).to_numpy()
    dims.append(Dimension(label(metric.name), values))
    return ParallelData(metric=metric, dimensions=tuple(dims), color=values, total=len(everything))


def plot_parallel(data: ParallelData) -> go.Figure:
    if len(data.color) == 0:
        return empty_figure(TITLE, f"no complete trial with {data.metric.name} yet")
    go = graph_objects()
    dims = []
    for d in data.dimensions:
        dim: dict[str, Any] = {"label": d.label, "values": d.values}
        if d.ticktext is not None:
            dim |= {"tickvals": d.tickvals, "ticktext": list(d.ticktext), "range": [-0.5, len(d.ticktext) - 0.5]}
        elif d.missing_at is not None:  # a parameter's axis: a few values and "n/a" below them
            present = d.values[d.values != d.missing_at]
            ticks = np.linspace(present.min(), present.max(), 5)
            na = bool((d.values == d.missing_at).any())  # every trial has it: no "n/a" tick below the axis
            dim |= {"tickvals": [d.missing_at] * na + ticks.tolist(),
                    "ticktext": ["n/a"] * na + [fmt(float(t)) for t in ticks]}
        elif d.label in NUMERIC and 0 < len(levels := np.unique(d.values[np.isfinite(d.values)])) <= 12:
            dim |= {"tickvals": levels.tolist()}  # depth, width: ticks on the values searched, not 2.2, 2.4...
        dims.append(dim)
    # reversed scale for a minimized metric, so the best trials are always the dark lines
    line = {"color": data.color, "colorscale": "Viridis", "reversescale": not data.metric.maximize,
            "showscale": True, "colorbar": {"title": {"text": label(data.metric.name)}}}
    fig = go.Figure(go.Parcoords(line=line, dimensions=dims))
    shown = f"{len(data.color)} complete trials" if data.total <= len(data.color) else (
        f"{len(data.color)} of {data.total} complete trials (the 10% best of those drawn, the rest evenly spread)")
    fig.update_layout(title=f"{TITLE}: {shown}; brush an axis to pick trials", template=TEMPLATE,
                      height=460,
                      margin={"l": 110, "r": 60})  # room for long algorithm names
    return fig
