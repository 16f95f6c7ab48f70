"""Overview page: sortable leaderboard, optimization history, Pareto front, parallel coordinates and
learning curves of chosen trials."""

from __future__ import annotations

import warnings
from typing import Any

import dash
from dash import Input, Output, State, dcc, html
from dash.dash_table.DataTable import DataTable
from dash.dash_table.Format import Format, Scheme

from ..data import COSTS, INTEGER_COLUMNS, LEADERBOARD_COLUMNS, NUMERIC_COLUMNS, leaderboard_page, spec_labels
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
from ._common import FrameGetter, card

PAGE_SIZE = 20
CURVE_CHOICES = 500  # trials offered in the curve picker (best first): a 10k-option menu helps no one


def _column(col: str, name: str) -> Any:  # dash_table's own TypedDict, built from plain keys
    spec: dict[str, Any] = {"id": col, "name": name}
    if col in NUMERIC_COLUMNS:
        spec["type"] = "numeric"
        spec["format"] = Format() if col in INTEGER_COLUMNS else Format(precision=4, scheme=Scheme.decimal_or_exponent)
    return spec


def layout() -> html.Div:
    with warnings.catch_warnings():
        # Dash 4 announces DataTable's future removal (dash-ag-grid is the successor, a separate install);
        # it is what ships with Dash today, so the dashboard needs nothing more
        warnings.filterwarnings("ignore", r"(?s).*dash_table.DataTable will be removed", DeprecationWarning)
        table = _table()
    costs = [{"label": label, "value": c} for c, label in COSTS.items()]
    return html.Div(
        [
            card("Leaderboard", [html.Div("click a row to open its trial page; click a header to sort",
                                          className="hint"), table]),
            html.Div(
                [
                    card("History", [dcc.Graph(id="history-graph")]),
                    card("Pareto front", [
                        dcc.RadioItems(id="pareto-cost", options=costs, value="params", inline=True),
                        dcc.Graph(id="pareto-graph"),
                    ]),
                ],
                className="row",
            ),
            card("Architecture choices", [dcc.Graph(id="parallel-graph")]),
            card("Learning curves", [
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


def _table() -> DataTable:
    return DataTable(
        id="leaderboard",
        columns=[_column(c, n) for c, n in LEADERBOARD_COLUMNS],
        data=[],
        sort_action="custom",
        sort_mode="single",
        sort_by=[],
        page_action="custom",
        page_current=0,
        page_size=PAGE_SIZE,
        page_count=1,
        cell_selectable=True,
        style_table={"overflowX": "auto"},
        style_cell={"fontFamily": "inherit", "fontSize": 13, "padding": "4px 8px", "textAlign": "left"},
        style_header={"fontWeight": "600", "backgroundColor": "#f3f4f6"},
        style_data_conditional=[
            {"if": {"filter_query": '{status} = "complete"', "column_id": "status"}, "color": "#15803d"},
            {"if": {"filter_query": '{status} != "complete"', "column_id": "status"}, "color": "#b91c1c"},
            {"if": {"state": "active"}, "backgroundColor": "#dbeafe", "border": "1px solid #3b82f6"},
        ],
    )


def register(app: dash.Dash, frame_of: FrameGetter) -> None:
    @app.callback(
        Output("leaderboard", "data"),
        Output("leaderboard", "page_count"),
        Input("version", "data"),
        Input("leaderboard", "sort_by"),
        Input("leaderboard", "page_current"),
    )
    def _leaderboard(version: Any, sort_by: list[dict[str, str]] | None, page: int | None) -> tuple[Any, int]:
        df = frame_of(version)
        result = leaderboard_page(df, sort_by=sort_by, page=page or 0, page_size=PAGE_SIZE)
        return result.rows, result.page_count

    @app.callback(Output("history-graph", "figure"), Input("version", "data"))
    def _history(version: Any) -> Any:
        return plot_history(history_data(frame_of(version)))

    @app.callback(Output("pareto-graph", "figure"), Input("version", "data"), Input("pareto-cost", "value"))
    def _pareto(version: Any, cost: str) -> Any:
        return plot_pareto(pareto_data(frame_of(version), cost if cost in COSTS else "params"))

    @app.callback(Output("parallel-graph", "figure"), Input("version", "data"))
    def _parallel(version: Any) -> Any:
        return plot_parallel(parallel_data(frame_of(version)))

    @app.callback(
        Output("curve-trials", "options"),
        Output("curve-trials", "value"),
        Output("curve-key", "options"),
        Output("curve-key", "value"),
        Input("version", "data"),
        State("curve-trials", "value"),
        State("curve-key", "value"),
    )
    def _curve_choices(version: Any, chosen: list[int] | None, key: str | None) -> tuple[Any, Any, Any, Any]:
        df = frame_of(version)
        best = ranked_trials(df).head(CURVE_CHOICES)
        known = {int(n) for n in df["number"]} if len(df) else set()
        chosen = [n for n in chosen or [] if n in known] or default_trials(df)
        extra = df[df["number"].isin(set(chosen) - set(best["number"]))] if len(df) else df
        offered = _options(best) + _options(extra)
        keys = curve_keys(df)
        key = key if key in keys else ("val_metric" if "val_metric" in keys or not keys else keys[0])
        return offered, chosen, [{"label": k, "value": k} for k in keys], key

    @app.callback(
        Output("curves-graph", "figure"),
        Input("version", "data"),
        Input("curve-trials", "value"),
        Input("curve-key", "value"),
    )
    def _curves(version: Any, numbers: list[int] | None, key: str | None) -> Any:
        return plot_curves(curves_data(frame_of(version), numbers or [], key or "val_metric"))


def _options(df: Any) -> list[dict[str, Any]]:
    labels = spec_labels(df)
    return [{"label": f"{int(n)}: {label}", "value": int(n)} for n, label in zip(df["number"], labels, strict=True)]
