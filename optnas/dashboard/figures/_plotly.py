"""Plotly, imported only when a figure is drawn, and the figure shown when there is nothing to draw."""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import plotly.graph_objects as go

TEMPLATE = "plotly_white"
# Above this many points, scatter plots use WebGL (SVG with 10k markers makes the browser crawl).
WEBGL_FROM = 2000


def graph_objects() -> ModuleType:
    try:
        import plotly.graph_objects as go
    except ImportError as exc:  # plotly is a core dependency; keep the message clear if it went missing
        raise ImportError("optnas dashboard figures need plotly: pip install plotly") from exc
    return go


def scatter(n_points: int, **kwargs: Any) -> go.Scatter | go.Scattergl:
    """A Scatter trace, or Scattergl for large studies."""
    go = graph_objects()
    return go.Scattergl(**kwargs) if n_points >= WEBGL_FROM else go.Scatter(**kwargs)


def brief(n_points: int) -> bool:
    """Whether a plot of ``n_points`` gets the brief hover (`hover`): the trial number and the plotted values,
    built by Plotly from ``customdata`` with a template, no text shipped. The full text is about 240 characters
    a point, the spec line alone 80: 4.3 MB a figure at 50,000 trials, most of the page's download and parse."""
    return n_points >= WEBGL_FROM


# d3 formats of the one number format (`data.fmt`): integers in full with separators, others to 4
# significant digits without trailing zeros (1, not 1.000)
D3_INTEGER, D3_NUMBER = ",.0f", ".4~g"


def hover(text: Any, short: bool, y_label: str, x_label: str | None = None, *,
          x_integer: bool = False) -> dict[str, Any]:
    """Scatter arguments showing ``text`` on hover, or (``short``) the brief hover: the trial number (the
    trace's ``customdata``) and the plotted values, formatted by Plotly (``x_integer``: the x values are
    counts, e.g. parameters); ``text`` is then not sent at all, and the trial's page, one click away, has
    the rest.

    Example:
        >>> hover(None, True, "validation metric")["hovertemplate"]
        'trial %{customdata}<br>validation metric %{y:.4~g}<extra></extra>'
    """
    if not short:  # the full text carries the metrics itself
        # an object array, not a list: plotly.py validates a list element by element (4x slower at 10,000)
        return {"text": np.asarray(text, dtype=object), "hoverinfo": "text"}
    x_fmt = D3_INTEGER if x_integer else D3_NUMBER
    values = (f"<br>{x_label} %{{x:{x_fmt}}}" if x_label else "") + f"<br>{y_label} %{{y:{D3_NUMBER}}}"
    return {"hovertemplate": "trial %{customdata}" + values + "<extra></extra>"}


def steps(xs: Any, ys: Any) -> tuple[np.ndarray, np.ndarray]:
    """The points a step line (Plotly's ``line.shape="hv"``) needs to draw exactly what all of them draw:
    the first, each where the value changes, and the last. A best-so-far line of 50,000 trials changes a
    few dozen times.

    Example:
        >>> [a.tolist() for a in steps([1, 2, 3, 4, 5], [0.5, 0.5, 0.7, 0.7, 0.7])]
        [[1, 3, 5], [0.5, 0.7, 0.7]]
    """
    xs, ys = np.asarray(xs), np.asarray(ys, dtype=float)
    if len(ys) <= 2:
        return xs, ys
    same = (ys[1:] == ys[:-1]) | (np.isnan(ys[1:]) & np.isnan(ys[:-1]))
    keep = np.concatenate([[True], ~same])
    keep[-1] = True
    return xs[keep], ys[keep]


def integer_axis(values: Any, most: int = 10) -> dict[str, Any]:
    """Axis settings for integers (trial numbers, epochs): ticks on integers only, at a 1-2-5 step giving at
    most ``most`` ticks, and a one-value axis centred on its value (Plotly would run it from -1 to 1).

    Example:
        >>> integer_axis([7])
        {'tickformat': 'd', 'tick0': 7, 'dtick': 1, 'range': [6.5, 7.5]}
        >>> integer_axis(range(1, 21))["dtick"]
        2
    """
    v = np.asarray(list(values), dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return {"tickformat": "d"}
    lo, hi = float(v.min()), float(v.max())
    nice = [m * 10**e for e in range(12) for m in (1, 2, 5)]
    step = next(s for s in nice if (hi - lo) / s <= most)
    # a step of 1 starts at the first value; wider steps sit on its multiples (5, 10, 15, not 1, 6, 11)
    out: dict[str, Any] = {"tickformat": "d", "tick0": int(lo) if step == 1 else 0, "dtick": step}
    if hi == lo:
        out["range"] = [lo - 0.5, hi + 0.5]
    return out


def mark_best(fig: Any, xs: Any, ys: Any, numbers: Any, best: int | None, ties: Any, *,
              log_x: bool = False) -> None:
    """Add the best trial (a gold star) and the trials tied with it on the task metric (open diamonds) on top of
    a scatter plot: points at ``xs``, ``ys`` of trials ``numbers`` (clickable, `customdata`)."""
    go = graph_objects()
    numbers = np.asarray(numbers)
    for chosen, name, marker in (
        ([best] if best is not None else [], f"best trial ({best})",
         {"symbol": "star", "size": 18, "color": "gold", "line": {"color": "black", "width": 1.5}}),
        (list(ties), f"tied with the best on the task metric ({len(ties)})",
         {"symbol": "diamond-open", "size": 14, "color": "black", "line": {"width": 2}}),
    ):
        idx = np.flatnonzero(np.isin(numbers, chosen)) if len(chosen) else np.zeros(0, dtype=int)
        if not len(idx):
            continue
        fig.add_trace(go.Scatter(x=np.asarray(xs)[idx], y=np.asarray(ys)[idx], mode="markers", name=name,
                                 customdata=numbers[idx].tolist(), marker=marker,
                                 hovertemplate="trial %{customdata}: " + name.split(" (")[0] + "<extra></extra>"))


def empty_figure(title: str, message: str) -> go.Figure:
    """A titled figure that says why it is empty (never a blank plot)."""
    go = graph_objects()
    fig = go.Figure()
    fig.update_layout(
        title=title,
        template=TEMPLATE,
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[{"text": message, "showarrow": False, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5,
                      "font": {"size": 14}}],
    )
    return fig
