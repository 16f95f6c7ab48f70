"""The Dash app behind ``optnas dashboard``: a study picker and three pages (overview, trial, activation),
refreshed while a search runs.

Every few seconds a dcc.Interval asks the storage for the picked study's signature (trials per state);
only when it changed do the figures rebuild, from `StudySource.frame`'s cached DataFrame. The app only
reads: the storage is opened read-only, there is no static or assets route (no user-controlled path is
ever served), and Dash's MCP and websocket endpoints are off.

Example:
    >>> app = create_app("optnas-runs/journal.log")          # doctest: +SKIP
    >>> app.run(host="127.0.0.1", port=8050)                  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import time
from pathlib import Path
from typing import Any

import dash
import flask
import pandas as pd
from dash import Input, Output, State, dcc, html

from ..errors import UsageError
from .data import ranked
from .pages import activation, overview, trial
from .storage import StudySource

# Never created: pointing Dash's assets folder at a fixed, absent directory means /assets/ serves nothing.
_NO_ASSETS = str(Path(__file__).with_name("_no_assets"))

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; background: #f9fafb; color: #111827; }
header { display: flex; align-items: center; gap: 16px; padding: 10px 20px; background: #1f2937; color: white; }
header h1 { font-size: 20px; margin: 0; }
header .study { min-width: 260px; color: #111827; }
header .status { font-size: 13px; color: #d1d5db; }
main { padding: 12px 20px; }
.card { background: white; border: 1px solid #e5e7eb; border-radius: 8px; padding: 10px 14px; margin: 10px 0; flex: 1;
        min-width: 0; }
.card h2 { font-size: 16px; margin: 4px 0 8px; }
.row { display: flex; gap: 14px; flex-wrap: wrap; }
.row > .card { min-width: 420px; }
.hint { color: #6b7280; font-size: 12px; margin: 4px 0; }
.toolbar { display: flex; gap: 10px; align-items: center; margin: 10px 0; }
table.grid, table.kv { border-collapse: collapse; font-size: 13px; width: 100%; }
table.grid td, table.grid th, table.kv td, table.kv th { border-bottom: 1px solid #e5e7eb; padding: 4px 8px;
        text-align: left; vertical-align: top; }
.ok { color: #15803d; font-weight: 600; } .bad { color: #b91c1c; font-weight: 600; }
pre { background: #f3f4f6; padding: 8px; border-radius: 6px; overflow-x: auto; font-size: 12px; }
pre.command { background: #111827; color: #e5e7eb; font-size: 13px; }
"""

_INDEX = """<!DOCTYPE html>
<html>
    <head>
        {%metas%}
        <title>{%title%}</title>
        {%favicon%}
        {%css%}
        <style>""" + _STYLE + """</style>
    </head>
    <body>
        {%app_entry%}
        <footer>
            {%config%}
            {%scripts%}
            {%renderer%}
        </footer>
    </body>
</html>"""


def create_app(source: StudySource | str | None = None, *, refresh_s: float = 5.0) -> dash.Dash:
    """The dashboard app over ``source`` (a `StudySource`, or a storage URL / journal path to open read-only).

    ``refresh_s``: how often the browser asks whether the study changed.
    """
    if refresh_s <= 0:
        raise UsageError(f"refresh_s={refresh_s!r} is invalid: it must be > 0 seconds")
    if not isinstance(source, StudySource):
        source = StudySource(source)
    server = flask.Flask("optnas.dashboard", static_folder=None)  # no static route
    # Endpoints newer Dash versions can open: off (older versions have none to turn off)
    accepted = inspect.signature(dash.Dash).parameters
    extra: dict[str, Any] = {k: False for k in ("enable_mcp", "websocket_callbacks") if k in accepted}
    app = dash.Dash(
        "optnas.dashboard",
        server=server,  # type: ignore[arg-type]  # Dash types it as bool | factory; a Flask app works
        assets_folder=_NO_ASSETS,
        include_assets_files=False,
        serve_locally=True,  # the browser needs nothing from the internet
        title="optnas dashboard",
        update_title="",  # keep the tab title while callbacks run
        suppress_callback_exceptions=True,
        index_string=_INDEX,
        **extra,
    )
    app.layout = _layout(source, refresh_s)
    frame_of = _frame_getter(source)
    _register(app, source, frame_of)
    overview.register(app, frame_of)
    trial.register(app, frame_of)
    activation.register(app, frame_of)
    return app


def _layout(source: StudySource, refresh_s: float) -> html.Div:
    return html.Div(
        [
            dcc.Interval(id="tick", interval=int(refresh_s * 1000)),
            dcc.Store(id="version"),
            html.Header(
                [
                    html.H1("optnas"),
                    dcc.Dropdown(id="study", clearable=False, placeholder="study", className="study"),
                    html.Span(id="status", className="status"),
                    html.Span(f"storage: {source.display_url} (read-only)", className="status"),
                ]
            ),
            html.Main(
                dcc.Tabs(
                    id="tab",
                    value="overview",
                    children=[
                        dcc.Tab(label="Overview", value="overview", children=overview.layout()),
                        dcc.Tab(label="Trial", value="trial", children=trial.layout()),
                        dcc.Tab(label="Activations", value="activation", children=activation.layout()),
                    ],
                )
            ),
        ]
    )


def _empty() -> pd.DataFrame:
    df = pd.DataFrame(columns=["number", "state", "status"])
    df.attrs.update(study=None, objectives=[])
    return df


def _frame_getter(source: StudySource) -> Any:
    def frame_of(version: Any) -> pd.DataFrame:
        name = version.get("study") if isinstance(version, dict) else None
        if not name:
            return _empty()
        try:
            return source.frame(name)
        except UsageError:  # the study vanished (deleted) since the picker listed it
            return _empty()

    return frame_of


def _register(app: dash.Dash, source: StudySource, frame_of: Any) -> None:
    @app.callback(
        Output("study", "options"),
        Output("study", "value"),
        Input("tick", "n_intervals"),
        State("study", "value"),
    )
    def _studies(_: Any, current: str | None) -> tuple[Any, Any]:
        names = source.names()
        value = current if current in names else (names[-1] if names else None)  # the newest study first
        return [{"label": n, "value": n} for n in names], value

    @app.callback(
        Output("version", "data"),
        Output("status", "children"),
        Input("study", "value"),
        Input("tick", "n_intervals"),
        State("version", "data"),
    )
    def _version(name: str | None, _: Any, current: Any) -> tuple[Any, str]:
        if not name:
            return None, "no study in this storage yet"
        try:
            signature = list(source.signature(name))
        except UsageError as exc:
            return None, str(exc)
        counts = dict(zip(("running", "complete", "pruned", "failed", "waiting"), signature, strict=False))
        status = ", ".join(f"{v} {k}" for k, v in counts.items() if v) or "no trials yet"
        status = f"{sum(signature)} trials: {status} · checked {time.strftime('%H:%M:%S')}"
        version = {"study": name, "signature": signature}
        # an unchanged version is not re-sent, so nothing downstream rebuilds between trials
        return (dash.no_update if version == current else version), status

    @app.callback(
        Output("trial", "value"),
        Output("tab", "value"),
        Input("leaderboard", "active_cell"),
        Input("history-graph", "clickData"),
        Input("pareto-graph", "clickData"),
        Input("version", "data"),
        State("trial", "value"),
    )
    def _select(cell: Any, history_click: Any, pareto_click: Any, version: Any, current: int | None) -> Any:
        trigger = dash.ctx.triggered_id
        if trigger == "leaderboard" and cell and cell.get("row_id") is not None:
            return int(cell["row_id"]), "trial"
        click = {"history-graph": history_click, "pareto-graph": pareto_click}.get(str(trigger))
        if click and click.get("points") and click["points"][0].get("customdata") is not None:
            return int(click["points"][0]["customdata"]), "trial"
        df = frame_of(version)
        if current is None or (len(df) and current not in set(df["number"])):
            best = ranked(df)
            return (int(best["number"].iloc[0]) if len(best) else None), dash.no_update
        return dash.no_update, dash.no_update
