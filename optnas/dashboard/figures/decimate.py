"""Decimation of big scatter plots with every trial still reachable: above a threshold of points in view,
one representative trial per screen cell (the cell's best), and a zoom that re-queries with the same rule.

A browser without a GPU draws 42,949 WebGL points per plot in seconds (most of the 50,000-trial page's
time); a 600-pixel plot cannot show more than a few thousand distinct markers anyway. Every drawn point is a
real trial (hover and a click open it); the marks the figures add on top (best-so-far line, Pareto front,
best trial and its ties) are drawn from all trials, never decimated.

The threshold is ``DECIMATE_FROM`` points in view, or the ``OPTNAS_DASHBOARD_DECIMATE_FROM`` environment
variable (a positive integer) when set.

Example:
    >>> import numpy as np
    >>> x, y = np.arange(10.0), np.zeros(10)
    >>> keep = decimate(x, y, score=-x, limit=4, cells=(2, 1))   # 2 cells: the best (lowest x) of each
    >>> keep.tolist()
    [0, 5]
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

DECIMATE_FROM = 5000  # points in view from which one per cell is drawn
ENV = "OPTNAS_DASHBOARD_DECIMATE_FROM"
# cells across and down the plot: about 6 x 6 pixels on the overview's ~600 x 330 pixel plot area, a
# marker's size (7 px), so a decimated plot looks like the full one where points are dense; at most 5,000
CELLS = (100, 50)


def limit() -> int:
    """The threshold in force: ``$OPTNAS_DASHBOARD_DECIMATE_FROM`` when set, else `DECIMATE_FROM`.

    Raises ValueError naming the variable when it is set to anything but a positive integer."""
    raw = os.environ.get(ENV)
    if raw is None or raw == "":
        return DECIMATE_FROM
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{ENV}={raw[:40]!r} is invalid; valid: a positive integer (points in view)")
    return value


@dataclass(frozen=True)
class View:
    """The zoomed range of a plot, per axis in Plotly's axis units (log10 of the value on a log axis; a date
    axis in nanoseconds since the epoch), or None where the axis shows everything (autorange)."""

    x: tuple[float, float] | None = None
    y: tuple[float, float] | None = None

    @property
    def zoomed(self) -> bool:
        return self.x is not None or self.y is not None


FULL = View()


def _bound(value: Any, date: bool) -> float | None:
    if date and isinstance(value, str):
        try:
            return float(pd.Timestamp(value).value)
        except (ValueError, TypeError, OverflowError):
            return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _axis(relayout: dict[str, Any], axis: str, date: bool) -> tuple[float, float] | None:
    pair = relayout.get(f"{axis}.range")
    lo, hi = pair if isinstance(pair, list) and len(pair) == 2 else (relayout.get(f"{axis}.range[0]"),
                                                                      relayout.get(f"{axis}.range[1]"))
    a, b = _bound(lo, date), _bound(hi, date)
    if a is None or b is None or a == b:
        return None
    return (min(a, b), max(a, b))


def view_of(relayout: Any, *, x_date: bool = False) -> View | None:
    """The view a Plotly ``relayoutData`` event asks for: a `View` for a zoom or pan, `FULL` for a
    double-click (autorange), None for events that change no range (drag mode, resize), which keep the
    figure as it is. Crafted values are ignored, never raised.

    Example:
        >>> view_of({"xaxis.range[0]": 10, "xaxis.range[1]": 20})
        View(x=(10.0, 20.0), y=None)
        >>> view_of({"xaxis.autorange": True}), view_of({"dragmode": "pan"})
        (View(x=None, y=None), None)
    """
    if not isinstance(relayout, dict):
        return None
    x, y = _axis(relayout, "xaxis", x_date), _axis(relayout, "yaxis", False)
    if x is not None or y is not None:
        return View(x, y)
    if relayout.get("xaxis.autorange") or relayout.get("yaxis.autorange"):
        return FULL
    return None


def in_view(x: np.ndarray, y: np.ndarray, view: View, *, log_x: bool = False, log_y: bool = False) -> np.ndarray:
    """Indices of the points inside ``view`` (axis units: log10 on a log axis), all when not zoomed."""
    mask = np.ones(len(x), dtype=bool)
    for values, rng, log in ((x, view.x, log_x), (y, view.y, log_y)):
        if rng is None:
            continue
        v = _axis_units(values, log)
        mask &= (v >= rng[0]) & (v <= rng[1])
    return np.flatnonzero(mask)


def _axis_units(values: np.ndarray, log: bool) -> np.ndarray:
    v = np.asarray(values)
    v = v.astype("datetime64[ns]").astype(np.int64).astype(float) if v.dtype.kind == "M" else v.astype(float)
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.log10(v)
    return v


def decimate(x: np.ndarray, y: np.ndarray, *, score: np.ndarray, limit: int, cells: tuple[int, int] = CELLS,
             tie: np.ndarray | None = None, log_x: bool = False, log_y: bool = False) -> np.ndarray:
    """Indices of the points to draw, ascending: all when there are at most ``limit``; else the point with
    the highest ``score`` in each of ``cells`` (across, down) equal cells spanning the points (axis units;
    equal scores: the highest ``tie``, then the first index). Non-finite coordinates share one cell per axis."""
    n = len(x)
    if n <= limit:
        return np.arange(n)
    cols = [_cell(_axis_units(v, log), k) for v, log, k in ((x, log_x, cells[0]), (y, log_y, cells[1]))]
    cell = cols[0] * (cells[1] + 1) + cols[1]
    s = np.asarray(score, dtype=float)
    s = np.where(np.isnan(s), -np.inf, s)
    t = np.zeros(n) if tie is None else np.where(np.isnan(tie), -np.inf, np.asarray(tie, dtype=float))
    order = np.lexsort((np.arange(n), -t, -s, cell))  # per cell: best score, best tie, then the first trial
    _, first = np.unique(cell[order], return_index=True)
    return np.sort(order[first])


def pick(x: np.ndarray, y: np.ndarray, view: View, *, score: np.ndarray, limit: int, tie: np.ndarray | None = None,
         log_x: bool = False, log_y: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(indices of the points in ``view`` (`in_view`), indices of those to draw (`decimate`)), both into ``x``.

    Example:
        >>> x = np.arange(10.0)
        >>> seen, drawn = pick(x, np.zeros(10), View(x=(2.0, 9.0)), score=-x, limit=4)
        >>> seen.tolist() == drawn.tolist() == list(range(2, 10))  # 8 points over 100 cells: one each
        True
    """
    seen = in_view(x, y, view, log_x=log_x, log_y=log_y)
    keep = decimate(x[seen], y[seen], score=score[seen], limit=limit,
                    tie=None if tie is None else tie[seen], log_x=log_x, log_y=log_y)
    return seen, seen[keep]


def _cell(v: np.ndarray, k: int) -> np.ndarray:
    finite = np.isfinite(v)
    if not finite.any():
        return np.zeros(len(v), dtype=np.int64)
    lo, hi = float(v[finite].min()), float(v[finite].max())
    span = hi - lo or 1.0
    idx = np.floor((np.where(finite, v, lo) - lo) / span * k).astype(np.int64)
    return np.where(finite, np.clip(idx, 0, k - 1), k)  # k: the cell of non-finite values


def zoom(fig: Any, view: View, *, x_date: bool = False) -> None:
    """Keep the zoomed range the figure was drawn for (a redrawn figure would otherwise autorange)."""
    if view.x is not None:
        lo, hi = view.x
        fig.update_xaxes(range=[pd.Timestamp(int(lo)).isoformat(), pd.Timestamp(int(hi)).isoformat()]
                         if x_date else [lo, hi])
    if view.y is not None:
        fig.update_yaxes(range=list(view.y))


def note(total: int, drawn: int, view: View) -> str:
    """The figure's line saying what it draws.

    Example:
        >>> note(42949, 4812, FULL)
        '42,949 trials, 4,812 drawn (the best of each screen cell); zoom to see all'
    """
    if view.zoomed:
        if drawn == total:
            return f"zoomed: all {total:,} trials in range drawn; double-click to zoom out"
        return (f"zoomed: {total:,} trials in range, {drawn:,} drawn (the best of each screen cell); "
                "zoom further to see all")
    if drawn == total:
        return ""
    return f"{total:,} trials, {drawn:,} drawn (the best of each screen cell); zoom to see all"
