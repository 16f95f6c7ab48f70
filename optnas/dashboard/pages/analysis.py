"""Analysis page: the timeline of trials per worker, parallel coordinates of the architecture choices,
hyperparameter importance per objective, and Optuna's slice (one parameter at a time), EDF, contour and rank
plots of a chosen objective. Computed only while the page
is open: importance takes seconds on a large study, so it is cached per study state."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from ...errors import UsageError
from ..data import label
from ..figures.importance import RELIABLE_FROM, importance_data, objective_names, plot_importance
from ..figures.optuna_plots import param_names, plot_contour, plot_edf, plot_rank, plot_slice
from ..figures.timeline import plot_timeline, timeline_data
from ..source import StudySource
from . import parallel
from ._common import FrameGetter, card
from ._view import route_of, view_id

_CACHE_SIZE = 8


def layout() -> html.Div:
    return html.Div([
        card("Timeline", [html.Div("one row per worker process; click a bar to open its trial", className="hint"),
                          dcc.Graph(id="timeline-graph")]),
        parallel.layout(),
        card("Hyperparameter importance", [
            html.Div(f"Optuna's importances need many trials: below {RELIABLE_FROM} complete ones the plot says so",
                     className="hint"),
            dcc.Loading(dcc.Graph(id="importance-graph"))]),
        html.Div([html.Label("objective"), dcc.Dropdown(id="slice-objective", clearable=False,
                                                        style={"minWidth": "16em"})], className="toolbar"),
        html.Div([
            card("Slice", [
                html.Div([html.Label("parameter"), _dropdown("slice-param")], className="toolbar"),
                dcc.Loading(dcc.Graph(id="slice-graph")),
            ]),
            card("Empirical distribution (EDF)", [dcc.Loading(dcc.Graph(id="edf-graph"))]),
        ], className="row"),
        html.Div([html.Label("parameters"), _dropdown("pair-x"), _dropdown("pair-y")], className="toolbar"),
        html.Div([
            card("Contour", [dcc.Loading(dcc.Graph(id="contour-graph"))]),
            card("Rank", [dcc.Loading(dcc.Graph(id="rank-graph"))]),
        ], className="row"),
    ])


def _dropdown(id_: str) -> dcc.Dropdown:
    return dcc.Dropdown(id=id_, clearable=False, style={"minWidth": "14em"})


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

    @app.callback(*(Output(d, p) for d in ("slice-param", "pair-x", "pair-y") for p in ("options", "value")),
                  Input(view_id("analysis"), "data"), State("slice-param", "value"), State("pair-x", "value"),
                  State("pair-y", "value"), prevent_initial_call=True)
    def _params(view: Any, *current: Any) -> Any:
        """The sampled parameters, most common first; a choice is kept while the study still has it."""
        route = route_of(view)
        if not _open(route):
            return (dash.no_update,) * 6
        try:
            names = param_names(source.study(route["study"]))
        except UsageError:
            names = []
        options = [{"label": n, "value": n} for n in names]
        defaults = [names[0] if names else None, names[0] if names else None, names[1] if len(names) > 1 else None]
        values = [c if c in names else d for c, d in zip(current, defaults, strict=True)]
        return tuple(x for v in values for x in (options, v))

    def figure(view: Any, draw: Any) -> Any:
        route = route_of(view)
        if not _open(route):
            return dash.no_update
        try:
            return draw(source.study(route["study"]))
        except UsageError:
            return dash.no_update

    def objective_of(value: Any) -> int:
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    @app.callback(Output("slice-graph", "figure"), Input(view_id("analysis"), "data"),
                  Input("slice-objective", "value"), Input("slice-param", "value"), prevent_initial_call=True)
    def _slice(view: Any, objective: Any, param: Any) -> Any:
        return figure(view, lambda s: plot_slice(s, objective_of(objective), param if isinstance(param, str) else None))

    @app.callback(Output("edf-graph", "figure"), Input(view_id("analysis"), "data"),
                  Input("slice-objective", "value"), prevent_initial_call=True)
    def _edf(view: Any, objective: Any) -> Any:
        return figure(view, lambda s: plot_edf(s, objective_of(objective)))

    @app.callback(Output("contour-graph", "figure"), Output("rank-graph", "figure"), Input(view_id("analysis"), "data"),
                  Input("slice-objective", "value"), Input("pair-x", "value"), Input("pair-y", "value"),
                  prevent_initial_call=True)
    def _pair(view: Any, objective: Any, x: Any, y: Any) -> Any:
        pair = [p for p in (x, y) if isinstance(p, str)]
        i = objective_of(objective)
        contour = figure(view, lambda s: plot_contour(s, i, pair))
        return contour, figure(view, lambda s: plot_rank(s, i, pair))
