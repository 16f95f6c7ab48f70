"""Study page: the best trial, the leaderboard, optimization history, Pareto front, parallel coordinates
(brush to pick trials) and learning curves. Every plotted trial opens its page when clicked."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from ..data import COSTS, spec_labels
from ..data import ranked as ranked_trials
from ..figures import (
    curve_keys,
    curves_data,
    default_trials,
    history_data,
    parallel_data,
    pareto_data,
    plot_curves,
    plot_history,
    plot_parallel,
    plot_pareto,
)
from ..figures.history import X_AXES
from ..routes import Route, path
from . import leaderboard
from ._common import FrameGetter, card

CURVE_CHOICES = 500  # trials offered in the curve picker (best first): a 10k-option menu helps no one
PICKED_SHOWN = 12  # brushed trials listed as links


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
            card("Architecture choices", [
                dcc.Store(id="parallel-brush"),
                dcc.Store(id="parallel-picked"),
                dcc.Graph(id="parallel-graph"),
                html.Div("brush an axis (drag along it) to pick trials; one trial left opens its page",
                     id="parallel-list", className="hint"),
            ]),
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


def register(app: dash.Dash, frame_of: FrameGetter) -> None:
    leaderboard.register(app, frame_of)

    @app.callback(
        Output("history-graph", "figure"),
        Input("version", "data"),
        Input("history-x", "value"),
        Input("history-options", "value"),
    )
    def _history(version: Any, x: Any, options: Any) -> Any:
        chosen = options if isinstance(options, list) else []
        data = history_data(frame_of(version), x=x if x in X_AXES else "number", include_pruned="pruned" in chosen)
        return plot_history(data, log_y="log" in chosen)

    @app.callback(Output("pareto-graph", "figure"), Input("version", "data"), Input("pareto-cost", "value"))
    def _pareto(version: Any, cost: Any) -> Any:
        return plot_pareto(pareto_data(frame_of(version), cost if cost in COSTS else "params"))

    @app.callback(Output("parallel-graph", "figure"), Input("version", "data"))
    def _parallel(version: Any) -> Any:
        return plot_parallel(parallel_data(frame_of(version)))

    @app.callback(
        Output("parallel-brush", "data"),
        Output("parallel-list", "children"),
        Output("parallel-picked", "data"),
        Input("parallel-graph", "restyleData"),
        State("version", "data"),
        State("parallel-brush", "data"),
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

    @app.callback(
        Output("curve-trials", "options"),
        Output("curve-trials", "value"),
        Output("curve-key", "options"),
        Output("curve-key", "value"),
        Output("curves-state", "data"),
        Input("version", "data"),
        Input("curve-trials", "value"),
        State("curve-key", "value"),
        State("curves-state", "data"),
    )
    def _curve_choices(version: Any, chosen: Any, key: Any, state: Any) -> tuple[Any, ...]:
        """The selection belongs to the study; until the user picks, it follows the current top trials."""
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
        return (_options(best) + _options(extra), chosen, [{"label": k, "value": k} for k in keys], key, state)

    @app.callback(
        Output("curves-graph", "figure"),
        Input("version", "data"),
        Input("curve-trials", "value"),
        Input("curve-key", "value"),
    )
    def _curves(version: Any, numbers: Any, key: Any) -> Any:
        numbers = [n for n in numbers if isinstance(n, int)] if isinstance(numbers, list) else []
        return plot_curves(curves_data(frame_of(version), numbers, key if isinstance(key, str) else "val_metric"))


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


def _options(df: Any) -> list[dict[str, Any]]:
    labels = spec_labels(df)
    return [{"label": f"{int(n)}: {label}", "value": int(n)} for n, label in zip(df["number"], labels, strict=True)]
