"""The study page's top: the best trial at a glance, and the leaderboard (server-side sort, filters, paging,
column choice; the trial and status columns are always shown; the default columns fit 1400 px, more scroll
sideways)."""

from __future__ import annotations

import warnings
from typing import Any

import dash
from dash import Input, Output, State, dcc, html
from dash.dash_table.DataTable import DataTable
from dash.dash_table.Format import Format, Group, Scheme, Trim

from ..data import (
    FILTERS,
    FIXED_COLUMNS,
    INTEGER_COLUMNS,
    LEADERBOARD_COLUMNS,
    NUMERIC_COLUMNS,
    best_and_ties,
    best_number,
    filter_values,
    fmt,
    label,
    leaderboard_page,
    objectives,
    per_frame,
    spec_labels,
)
from ..routes import Route, path
from ..trial import trial_detail
from ._common import FrameGetter, card
from ._view import per_version, view_id

PAGE_SIZE = 20
CHOOSABLE = [c for c, _ in LEADERBOARD_COLUMNS if c not in FIXED_COLUMNS]
DEFAULT_HIDDEN = ("schedule", "test_metric")  # one click away in the column chooser


def _column(col: str, name: str) -> Any:  # dash_table's own TypedDict, built from plain keys
    spec: dict[str, Any] = {"id": col, "name": name}
    if col in NUMERIC_COLUMNS:
        spec["type"] = "numeric"
        # the one number format (data.fmt): integers with separators, other numbers to 4 significant digits
        # (trial numbers are names, as in the URL and the best-trial card: no separators)
        spec["format"] = (Format() if col == "number" else Format(group=Group.yes) if col in INTEGER_COLUMNS
                          else Format(precision=4, scheme=Scheme.decimal_or_exponent, trim=Trim.yes))
    return spec


def layout() -> list[Any]:
    with warnings.catch_warnings():
        # Dash 4 announces DataTable's future removal (dash-ag-grid is the successor, a separate install);
        # it is what ships with Dash today, so the dashboard needs nothing more
        warnings.filterwarnings("ignore", r"(?s).*dash_table.DataTable will be removed", DeprecationWarning)
        table = _table()
    filters = [dcc.Dropdown(id=f"filter-{col}", multi=True, placeholder=name, style={"minWidth": "10em", "flex": "1"})
               for col, name in FILTERS.items()]
    columns = dcc.Dropdown(id="leaderboard-columns", multi=True, placeholder="columns",
                           options=[{"label": n, "value": c} for c, n in LEADERBOARD_COLUMNS if c in CHOOSABLE],
                           value=[c for c in CHOOSABLE if c not in DEFAULT_HIDDEN], style={"flex": "3"})
    return [
        dcc.Store(id="leaderboard-study"),
        card("Best trial", [html.Div(id="best-trial")], id="best-card"),
        card("Leaderboard", [
            html.Div("click a row to open its trial page; click a header to sort; filter and choose columns here",
                     className="hint"),
            html.Div(filters, className="toolbar", style={"flexWrap": "wrap"}),
            html.Div([html.Label("columns"), columns], className="toolbar"),
            html.Div(id="leaderboard-count", className="hint"),
            table,
        ]),
    ]


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
        # trial and status stay in view while the rest scrolls sideways; Dash splits a table with fixed
        # columns into two grids, which line up only when every cell has one width
        fixed_columns={"headers": True, "data": len(FIXED_COLUMNS)},
        style_table={"overflowX": "auto", "minWidth": "100%"},
        style_cell={"fontFamily": "inherit", "fontSize": 13, "padding": "4px 8px", "textAlign": "left",
                    "minWidth": "7em", "width": "7em", "maxWidth": "16em", "overflow": "hidden",
                    "textOverflow": "ellipsis"},
        tooltip_delay=300,
        style_header={"fontWeight": "600", "backgroundColor": "#f3f4f6"},
        style_data_conditional=row_styles(None, ()),
    )


def row_styles(best: int | None, ties: Any) -> list[dict[str, Any]]:
    """The table's conditional styles: status colors, the best trial's row (gold) and its ties (pale)."""
    marked = [{"if": {"filter_query": f"{{number}} = {int(best)}"}, "backgroundColor": "#fef3c7",
               "fontWeight": "700"}] if best is not None else []
    marked += [{"if": {"filter_query": f"{{number}} = {int(n)}"}, "backgroundColor": "#fefce8"} for n in ties]
    return [
        *marked,
        {"if": {"filter_query": '{status} = "complete"', "column_id": "status"}, "color": "#15803d"},
        {"if": {"filter_query": '{status} != "complete"', "column_id": "status"}, "color": "#b91c1c"},
        {"if": {"state": "active"}, "backgroundColor": "#dbeafe", "border": "1px solid #3b82f6"},
    ]


@per_frame  # the preload's, shared with the page's first callback
def best_summary(df: Any) -> list[Any]:
    """The best trial (the one best-trial rule) in one card: number, spec, metrics, certificate, export."""
    number = best_number(df)
    if number is None:
        return [html.P(f"no complete trial yet ({len(df)} trials)", className="hint")]
    detail = trial_detail(df, number)
    row = df[df["number"] == number]
    objs = objectives(df)
    rule = ", then ".join(f"{'highest' if d == 'maximize' else 'lowest'} {label(c.removeprefix('objective_'))}"
                          for c, d in objs)
    cert = {True: ("certified", "ok"), False: ("NOT certified", "bad"), None: ("no certificate", "hint")}
    verdict, cls = cert[detail.certified]
    metrics = [html.Span([f"{label(k)} ", html.B(fmt(v))]) for k, v in detail.metrics.items()
               if v is not None and k in ("val_metric", "test_metric", "params", "flops", "latency_ms")]
    study = str(df.attrs.get("study"))
    parts: list[Any] = [
        html.Div([
            dcc.Link(f"trial {number}", href=path(Route(study, "trial", number)), className="big",
                     id="best-link"),
            html.Span(spec_labels(row)[0], id="best-spec"),
            html.Span(verdict, className=cls, id="best-certified"),
        ], className="best"),
        html.Div(metrics, className="best", id="best-metrics"),
        html.P(f"best = {rule} (lower trial number on ties)" + _ties_text(df)
               + ("; always on the Pareto front" if len(objs) > 1 else ""), className="hint"),
    ]
    if detail.export_command:
        parts.append(html.Pre(detail.export_command, className="command", id="best-export"))
    return parts


def _ties_text(df: Any) -> str:
    _, ties = best_and_ties(df)
    if not ties:
        return ""
    shown = ", ".join(str(n) for n in ties[:8]) + (f" and {len(ties) - 8} more" if len(ties) > 8 else "")
    return f"; tied on the task metric: trial{'s' if len(ties) > 1 else ''} {shown}"


def register(app: dash.Dash, frame_of: FrameGetter) -> None:
    @app.callback(Output("best-trial", "children"), Input(view_id("overview"), "data"), prevent_initial_call=True)
    @per_version
    def _best(version: Any) -> Any:
        return best_summary(frame_of(version))

    @app.callback(
        *(Output(f"filter-{col}", "options") for col in FILTERS),
        Input(view_id("overview"), "data"),
        prevent_initial_call=True,  # its view sets it off (`_view.view_id`)
    )
    @per_version
    def _filter_options(version: Any) -> tuple[Any, ...]:
        values = filter_values(frame_of(version))
        return tuple([{"label": v, "value": v} for v in values[col]] for col in FILTERS)

    @app.callback(
        *(Output(f"filter-{col}", "value") for col in FILTERS),
        Output("leaderboard", "page_current"),
        Output("leaderboard", "sort_by"),
        Output("leaderboard-study", "data"),
        Input("route", "data"),
        State("leaderboard-study", "data"),
    )
    def _reset(route: Any, shown_for: Any) -> tuple[Any, ...]:
        """Filters, sort and page belong to the study: a switch to another study clears them."""
        study = route.get("study") if isinstance(route, dict) else None
        if study == shown_for:
            return tuple(dash.no_update for _ in range(len(FILTERS) + 3))
        return (*([] for _ in FILTERS), 0, [], study)

    @app.callback(
        Output("leaderboard", "data"),
        Output("leaderboard", "page_count"),
        Output("leaderboard-count", "children"),
        Output("leaderboard", "columns"),
        Output("leaderboard", "style_data_conditional"),
        Input(view_id("overview"), "data"),
        Input("leaderboard", "sort_by"),
        Input("leaderboard", "page_current"),
        Input("leaderboard-columns", "value"),
        *(Input(f"filter-{col}", "value") for col in FILTERS),
        prevent_initial_call=True,  # its view sets it off (`_view.view_id`)
    )
    @per_version
    def _leaderboard(version: Any, sort_by: Any, page: Any, shown: Any, *chosen: Any) -> tuple[Any, ...]:
        df = frame_of(version)
        filters = dict(zip(FILTERS, chosen, strict=True))
        result = leaderboard_page(df, sort_by=sort_by, page=page or 0, page_size=PAGE_SIZE, filters=filters)
        keep = set(FIXED_COLUMNS) | {c for c in (shown if isinstance(shown, list) else CHOOSABLE) if isinstance(c, str)}
        columns = [_column(c, n) for c, n in LEADERBOARD_COLUMNS if c in keep]
        count = f"{result.total} of {len(df)} trials" + (" (filtered)" if result.total != len(df) else "")
        best, tied = best_and_ties(df)
        shown_ties = [n for n in tied if n in {r["number"] for r in result.rows}]  # the rows this page shows
        return result.rows, result.page_count, count, columns, row_styles(best, shown_ties)
