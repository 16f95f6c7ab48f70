"""Analysis page: the timeline of trials per worker, parallel coordinates of the architecture choices,
hyperparameter importance per objective and slice plots (both from Optuna). Computed only while the page
is open: importance takes seconds on a large study, so it is cached per study state."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, dcc, html

from ...errors import UsageError
from ..data import label
from ..figures.importance import importance_data, objective_names, plot_importance, plot_slice
from ..figures.timeline import plot_timeline, timeline_data
from ..storage import StudySource
from . import parallel
from ._common import FrameGetter, card
from ._view import route_of, view_id

_CACHE_SIZE = 8


def layout() -> html.Div:
    return html.Div([
        card("Timeline", [html.Div("one row per worker process; click a bar to open its trial", className="hint"),
                          dcc.Graph(id="timeline-graph")]),
        parallel.layout(),
        card("Hyperparameter importance", [dcc.Loading(dcc.Graph(id="importance-graph"))]),
        card("Slice plot", [
            html.Div([html.Label("objective"), dcc.Dropdown(id="slice-objective", clearable=False,
                                                            style={"minWidth": "16em"})], className="toolbar"),
            dcc.Loading(dcc.Graph(id="slice-graph")),
        ]),
    ])


_open = parallel.is_open


def register(app: dash.Dash, frame_of: FrameGetter, source: StudySource) -> None:
    parallel.register(app, frame_of)
    cache: dict[tuple[str, tuple[int, ...]], Any] = {}

    def importance(name: str) -> Any:
        key = (name, source.signature(name))
        if key not in cache:
            if len(cache) >= _CACHE_SIZE:
                cache.pop(next(iter(cache)))
            cache[key] = importance_data(source.study(name))
        return cache[key]

    @app.callback(Output("timeline-graph", "figure"), Input(view_id("analysis"), "data"), prevent_initial_call=True)
    def _timeline(view: Any) -> Any:
        route = route_of(view)
        if not _open(route):
            return dash.no_update
        return plot_timeline(timeline_data(frame_of({"study": route["study"]})))

    @app.callback(Output("importance-graph", "figure"), Input(view_id("analysis"), "data"), prevent_initial_call=True)
    def _importance(view: Any) -> Any:
        route = route_of(view)
        if not _open(route):
            return dash.no_update
        try:
            return plot_importance(importance(route["study"]))
        except UsageError:
            return dash.no_update

    @app.callback(Output("slice-objective", "options"), Output("slice-objective", "value"),
                  Input(view_id("analysis"), "data"), Input("slice-objective", "value"), prevent_initial_call=True)
    def _objectives(view: Any, current: Any) -> Any:
        route = route_of(view)
        if not _open(route):
            return dash.no_update, dash.no_update
        try:
            names = objective_names(source.study(route["study"]))
        except UsageError:
            return [], None
        options = [{"label": label(n), "value": i} for i, n in enumerate(names)]
        return options, current if isinstance(current, int) and 0 <= current < len(names) else 0

    @app.callback(Output("slice-graph", "figure"), Input(view_id("analysis"), "data"),
                  Input("slice-objective", "value"), prevent_initial_call=True)
    def _slice(view: Any, objective: Any) -> Any:
        route = route_of(view)
        if not _open(route):
            return dash.no_update
        try:
            return plot_slice(source.study(route["study"]), objective if isinstance(objective, int) else 0)
        except UsageError:
            return dash.no_update
