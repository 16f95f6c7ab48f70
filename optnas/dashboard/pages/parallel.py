"""Parallel coordinates of the architecture choices, on the analysis page: brush an axis to narrow the
trials; when one is left, its page opens (how a parcoords line is picked: Plotly reports no click on one)."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from ..figures import parallel_data, plot_parallel
from ..routes import Route, path
from ._common import FrameGetter, card
from ._view import route_of, view_id

PICKED_SHOWN = 12  # brushed trials listed as links


def layout() -> html.Section:
    return card("Architecture choices", [
        dcc.Store(id="parallel-brush"),
        dcc.Store(id="parallel-picked"),
        dcc.Graph(id="parallel-graph"),
        html.Div("brush an axis (drag along it) to pick trials; one trial left opens its page",
                 id="parallel-list", className="hint"),
    ])


def is_open(route: Any) -> bool:
    """Whether the analysis page is shown (its figures are computed only then)."""
    return isinstance(route, dict) and route.get("page") == "analysis" and isinstance(route.get("study"), str)


def register(app: dash.Dash, frame_of: FrameGetter) -> None:
    @app.callback(Output("parallel-graph", "figure"), Input(view_id("analysis"), "data"), prevent_initial_call=True)
    def _parallel(view: Any) -> Any:
        if not is_open(route_of(view)):
            return dash.no_update
        return plot_parallel(parallel_data(frame_of(view)))

    @app.callback(
        Output("parallel-brush", "data"),
        Output("parallel-list", "children"),
        Output("parallel-picked", "data"),
        Input("parallel-graph", "restyleData"),
        State("version", "data"),
        State("parallel-brush", "data"),
        prevent_initial_call=True,  # nothing brushed yet
    )
    def _brush(restyle: Any, version: Any, brush: Any) -> Any:
        """Brushed axes narrow the trials; exactly one left opens its page (how a parcoords line is picked).

        The version is only State (an Input would close a loop: route -> version -> pick -> route); ranges
        brushed on an older figure (another study, fewer trials) are dropped.
        """
        brush = brush if isinstance(brush, dict) and brush.get("version") == version else {}
        old = brush.get("ranges") if isinstance(brush.get("ranges"), dict) else {}
        ranges = {int(k): v for k, v in old.items() if str(k).isdigit()}
        for key, value in _constraints(restyle):
            ranges[key] = value
        ranges = {k: v for k, v in ranges.items() if v}
        if not ranges:
            return ({"version": version, "ranges": {}},
                    "brush an axis (drag along it) to pick trials; one trial left opens its page", dash.no_update)
        df = frame_of(version)
        picked = parallel_data(df).picked(ranges)
        study = str(df.attrs.get("study"))
        links: list[Any] = [f"{len(picked)} trial(s) in the brushed ranges: "]
        for n in picked[:PICKED_SHOWN]:
            links += [dcc.Link(f"trial {n}", href=path(Route(study, "trial", n))), " "]
        if len(picked) > PICKED_SHOWN:
            links.append(f"… and {len(picked) - PICKED_SHOWN} more")
        return ({"version": version, "ranges": {str(k): v for k, v in ranges.items()}}, links,
                picked[0] if len(picked) == 1 else dash.no_update)


def _constraints(restyle: Any) -> list[tuple[int, list[list[float]]]]:
    """``[{"dimensions[3].constraintrange": [lo, hi]}, [0]]`` -> ``[(3, [[lo, hi]])]``; junk is skipped."""
    if not isinstance(restyle, list) or not restyle or not isinstance(restyle[0], dict):
        return []
    out = []
    for key, value in restyle[0].items():
        if not (isinstance(key, str) and key.startswith("dimensions[") and key.endswith("].constraintrange")):
            continue
        index = key[len("dimensions["):-len("].constraintrange")]
        if not index.isdigit():
            continue
        if isinstance(value, list) and len(value) == 1 and isinstance(value[0], list):
            value = value[0]  # restyle wraps per-trace values in a list
        spans = value if isinstance(value, list) and value and isinstance(value[0], list) else [value]
        clean = [[float(lo), float(hi)] for lo, hi in (s for s in spans if isinstance(s, list) and len(s) == 2)
                 if isinstance(lo, int | float) and isinstance(hi, int | float)] if value else []
        out.append((int(index), clean))
    return out
