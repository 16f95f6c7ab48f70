"""Study page: the best trial, the leaderboard, optimization history, Pareto front and learning curves.
Every plotted trial opens its page when clicked. (Parallel coordinates are on the analysis page, as in
optuna-dashboard: a WebGL parcoords costs about 2 s to set up in a browser without a GPU.)"""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from ..data import COSTS, filter_values, leaderboard_page, per_frame, spec_labels
from ..data import ranked as ranked_trials
from ..figures import (
    curve_keys,
    curves_data,
    default_trials,
    history_data,
    pareto_data,
    plot_curves,
    plot_history,
    plot_pareto,
)
from ..figures.decimate import FULL, View, view_of
from ..figures.history import X_AXES
from . import leaderboard
from ._common import FrameGetter, card
from ._view import per_version, view_id

CURVE_CHOICES = 500  # trials offered in the curve picker (best first): a 10k-option menu helps no one


def layout() -> html.Div:
    costs = [{"label": label, "value": c} for c, label in COSTS.items()]
    history_opts = html.Div([
        dcc.RadioItems(id="history-x", options=[{"label": v, "value": k} for k, v in X_AXES.items()],
                       value="number", inline=True),
        dcc.Checklist(id="history-options", options=[{"label": "log y", "value": "log"},
                                                     {"label": "include pruned", "value": "pruned"}],
                      value=[], inline=True),
    ], className="toolbar")
    return html.Div(
        [
            *leaderboard.layout(),
            html.Div(
                [
                    card("History", [history_opts, dcc.Store(id="history-zoom"), dcc.Graph(id="history-graph")]),
                    card("Pareto front", [
                        dcc.RadioItems(id="pareto-cost", options=costs, value="params", inline=True),
                        dcc.Store(id="pareto-zoom"), dcc.Graph(id="pareto-graph"),
                    ]),
                ],
                className="row",
            ),
            card("Learning curves", [
                dcc.Store(id="curves-state"),
                html.Div(
                    [
                        dcc.Dropdown(id="curve-trials", multi=True, placeholder="trials (best first)",
                                     style={"flex": "3"}),
                        dcc.Dropdown(id="curve-key", clearable=False, style={"flex": "1"}),
                    ],
                    style={"display": "flex", "gap": "8px"},
                ),
                dcc.Graph(id="curves-graph"),
            ]),
        ]
    )


def draw(df: Any) -> None:
    """Build what the overview shows for ``df`` with its defaults (`app.preload`): the figures and the best
    trial's card are remembered per frame, so the page's first callbacks find them; the rest for nothing but
    their first-use costs (imports, Plotly's validators)."""
    history_figure(df)
    pareto_figure(df)
    leaderboard.best_summary(df)
    leaderboard_page(df)
    filter_values(df)
    plot_curves(curves_data(df, default_trials(df)))


@per_frame  # the preload's, shared with the page's first callback (same arguments, same frame)
def history_figure(df: Any, x: str = "number", chosen: tuple[Any, ...] = (), view: View = FULL) -> Any:
    """The history plot: trials by ``x``, ``chosen`` options ("log", "pruned"), the zoomed ``view``."""
    data = history_data(df, x=x, include_pruned="pruned" in chosen)
    return plot_history(data, log_y="log" in chosen, view=view)


@per_frame  # the preload's, shared with the page's first callback (same arguments, same frame)
def pareto_figure(df: Any, cost: str = "params", view: View = FULL) -> Any:
    """The Pareto plot against ``cost`` (a `COSTS` key), the zoomed ``view``."""
    return plot_pareto(pareto_data(df, cost), view=view)


def register(app: dash.Dash, frame_of: FrameGetter) -> None:
    leaderboard.register(app, frame_of)
    # a graph's zoom, stamped with what it was drawn for (a zoom means nothing on another axis)
    for graph, context in (("history", ("history-x", "history-options")), ("pareto", ("pareto-cost",))):
        app.clientside_callback(_ZOOM_EVENT, Output(f"{graph}-zoom", "data"), Input(f"{graph}-graph", "relayoutData"),
                                *(State(c, "value") for c in context), prevent_initial_call=True)

    @app.callback(
        Output("history-graph", "figure"),
        Input(view_id("overview"), "data"),
        Input("history-x", "value"),
        Input("history-options", "value"),
        Input("history-zoom", "data"),
        prevent_initial_call=True,  # its view sets it off (`_view.view_id`)
    )
    def _history(version: Any, x: Any, options: Any, zoom: Any) -> Any:
        """A zoom (or a double-click back to the overview) redraws the range with the same rule
        (`figures.decimate`); a new axis or option starts from the whole study."""
        view = _zoomed(zoom, "history-zoom", [x, options], x_date=x == "time")
        if view is None:
            return dash.no_update
        chosen = tuple(options) if isinstance(options, list) else ()
        return _history_figure(version, x if x in X_AXES else "number", chosen, view)

    @per_version
    def _history_figure(version: Any, x: str, chosen: tuple[Any, ...], view: View) -> Any:
        return history_figure(frame_of(version), x, chosen, view)

    @app.callback(Output("pareto-graph", "figure"), Input(view_id("overview"), "data"), Input("pareto-cost", "value"),
                  Input("pareto-zoom", "data"), prevent_initial_call=True)
    def _pareto(version: Any, cost: Any, zoom: Any) -> Any:
        view = _zoomed(zoom, "pareto-zoom", [cost])
        if view is None:
            return dash.no_update
        return _pareto_figure(version, cost if cost in COSTS else "params", view)

    @per_version
    def _pareto_figure(version: Any, cost: str, view: View) -> Any:
        return pareto_figure(frame_of(version), cost, view)

    @app.callback(
        Output("curve-trials", "options"),
        Output("curve-trials", "value"),
        Output("curve-key", "options"),
        Output("curve-key", "value"),
        Output("curves-state", "data"),
        Output("curves-graph", "figure"),
        Input(view_id("overview"), "data"),
        Input("curve-trials", "value"),
        Input("curve-key", "value"),
        State("curves-state", "data"),
        prevent_initial_call=True,  # its view sets it off (`_view.view_id`)
    )
    def _curves(version: Any, chosen: Any, key: Any, state: Any) -> tuple[Any, ...]:
        """The selection belongs to the study; until the user picks, it follows the current top trials.
        The figure comes in the same answer (a second callback on the picked trials would cost the page
        another round trip, after the other figures are drawn)."""
        df = frame_of(version)
        study = df.attrs.get("study")
        state = state if isinstance(state, dict) and state.get("study") == study else {"study": study, "own": False}
        known = {int(n) for n in df["number"]} if len(df) else set()
        defaults = default_trials(df)
        if dash.ctx.triggered_id == "curve-trials":  # the user's pick, kept on later refreshes
            chosen = [n for n in (chosen if isinstance(chosen, list) else []) if isinstance(n, int) and n in known]
            state = {"study": study, "own": bool(chosen) and chosen != defaults}
        elif state["own"]:
            chosen = [n for n in chosen or [] if isinstance(n, int) and n in known] or defaults
        else:
            chosen = defaults
        best = ranked_trials(df).head(CURVE_CHOICES)
        extra = df[df["number"].isin(set(chosen) - set(best["number"]))] if len(df) else df
        keys = curve_keys(df)
        key = key if key in keys else ("val_metric" if "val_metric" in keys or not keys else keys[0])
        figure = plot_curves(curves_data(df, chosen, key))
        return (_options(best) + _options(extra), chosen, [{"label": k, "value": k} for k in keys], key, state,
                figure)


# A graph's zoom events (a range, or a double-click's autorange) go to its zoom store with the options the
# graph was drawn for; the other relayout events (the first draw's autosize, a drag-mode change) go nowhere:
# were they inputs of the figure's callback, the first draw's would supersede the figure's request in flight.
_ZOOM_EVENT = """function(relayout, ...context) {
    const zoom = relayout && Object.keys(relayout).some(k => /^[xy]axis\\.(range|autorange)/.test(k));
    return zoom ? {event: relayout, context: context} : window.dash_clientside.no_update;
}"""


def _zoomed(zoom: Any, store: str, context: list[Any], *, x_date: bool = False) -> View | None:
    """The view to draw: the zoom's when it set this call off (None: nothing to redraw), the zoom kept on a
    refresh, the whole study on a new axis, option or cost (a zoom stamped with other options is stale)."""
    current = isinstance(zoom, dict) and zoom.get("context") == context
    event = zoom.get("event") if current else None
    if dash.ctx.triggered_id == store:
        return view_of(event, x_date=x_date) if current else None
    return view_of(event, x_date=x_date) or FULL


def _options(df: Any) -> list[dict[str, Any]]:
    labels = spec_labels(df)
    return [{"label": f"{int(n)}: {label}", "value": int(n)} for n, label in zip(df["number"], labels, strict=True)]
