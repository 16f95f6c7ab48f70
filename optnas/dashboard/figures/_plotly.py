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
    """Whether a plot of ``n_points`` gets the brief hover text (`data.hover_text`): the full one is about
    240 characters a point, 2.4 MB a figure at 10,000 trials, most of the page's download and parse."""
    return n_points >= WEBGL_FROM


def hover(text: Any, short: bool, y_label: str, x_label: str | None = None) -> dict[str, Any]:
    """Scatter arguments showing ``text`` on hover: the full text as is, the brief one (``short``) with the
    plotted values after it."""
    # an object array, not a list: plotly.py validates a list element by element (4x slower at 10,000)
    array = np.asarray(text, dtype=object)
    if not short:  # the full text carries the metrics itself
        return {"text": array, "hoverinfo": "text"}
    values = (f"<br>{x_label} %{{x:.4~s}}" if x_label else "") + f"<br>{y_label} %{{y:.4g}}"
    return {"text": array, "hovertemplate": "%{text}" + values + "<extra></extra>"}


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
