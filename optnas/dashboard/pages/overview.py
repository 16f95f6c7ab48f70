"""Study page: the best trial, the leaderboard, optimization history, Pareto front and learning curves.
Every plotted trial opens its page when clicked. (Parallel coordinates are on the analysis page, as in
optuna-dashboard: a WebGL parcoords costs about 2 s to set up in a browser without a GPU.)"""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from ..data import COSTS, leaderboard_page, spec_labels
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
                    card("History", [history_opts, dcc.Graph(id="history-graph")]),
                    card("Pareto front", [
                        dcc.RadioItems(id="pareto-cost", options=costs, value="params", inline=True),
                        dcc.Graph(id="pareto-graph"),
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
    """Build what the overview shows for ``df`` once with its defaults, for nothing but their first-use
    costs (imports, Plotly's validators): `app.preload`."""
    plot_history(history_data(df))
    plot_pareto(pareto_data(df))
    leaderboard_page(df)
    leaderboard.best_summary(df)
    plot_curves(curves_data(df, default_trials(df)))


def register(app: dash.Dash, frame_of: FrameGetter) -> None:
    leaderboard.register(app, frame_of)

    @app.callback(
        Output("history-graph", "figure"),
        Input(view_id("overview"), "data"),
        Input("history-x", "value"),
        Input("history-options", "value"),
        prevent_initial_call=True,  # its view sets it off (`_view.view_id`)
    )
    @per_version
    def _history(version: Any, x: Any, options: Any) -> Any:
        chosen = options if isinstance(options, list) else []
        data = history_data(frame_of(version), x=x if x in X_AXES else "number", include_pruned="pruned" in chosen)
        return plot_history(data, log_y="log" in chosen)

    @app.callback(Output("pareto-graph", "figure"), Input(view_id("overview"), "data"), Input("pareto-cost", "value"),
                  prevent_initial_call=True)
    @per_version
    def _pareto(version: Any, cost: Any) -> Any:
        return plot_pareto(pareto_data(frame_of(version), cost if cost in COSTS else "params"))

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


def _options(df: Any) -> list[dict[str, Any]]:
    labels = spec_labels(df)
    return [{"label": f"{int(n)}: {label}", "value": int(n)} for n, label in zip(df["number"], labels, strict=True)]
