"""The Dash app behind ``optnas dashboard``: a study picker and three pages (overview, trial, activation),
refreshed while a search runs.

Every few seconds a dcc.Interval asks the storage for the picked study's signature (trials per state);
only when it changed do the figures rebuild, from `StudySource.frame`'s cached DataFrame. The app only
reads: the storage is opened read-only, there is no static route, and Dash's ``/assets/`` route points at
a folder that never exists, so it answers 404 to every path (no user-controlled path is ever served; one
fixed route serves `plotlyjs`'s bundle); Dash's MCP and websocket endpoints are off.

Example:
    >>> app = create_app("optnas-runs/journal.log")          # doctest: +SKIP
    >>> app.run(host="127.0.0.1", port=8050)                  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import inspect
import threading
import time
from pathlib import Path
from typing import Any

import dash
import flask
import pandas as pd
from dash import Input, Output, State, dcc, html

from .. import outcome
from ..errors import UsageError
from . import guard, plotlyjs
from .data import best_number
from .figures import decimate
from .pages import activation, analysis, overview, trial
from .pages._view import register_view, view_store
from .routes import PAGES, Route, clicked_trial, parse, path
from .source import StudySource

# Never created: pointing Dash's assets folder at a fixed, absent directory means /assets/ serves nothing.
_NO_ASSETS = str(Path(__file__).with_name("_no_assets"))

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; background: #f9fafb; color: #111827; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 16px; padding: 10px 20px; background: #1f2937;
         color: white; }
header h1 { font-size: 20px; margin: 0; }
header .study { min-width: 260px; color: #111827; }
header .status { font-size: 13px; color: #d1d5db; }
header nav { display: flex; gap: 4px; }
header a.nav { color: #d1d5db; text-decoration: none; padding: 6px 12px; border-radius: 6px; font-size: 14px; }
header a.nav.active { background: #374151; color: white; font-weight: 600; }
.best { display: flex; gap: 24px; flex-wrap: wrap; align-items: baseline; font-size: 14px; }
.best .big { font-size: 22px; font-weight: 700; }
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
pre { background: #f3f4f6; padding: 8px; border-radius: 6px; overflow-x: auto; font-size: 12px;
      white-space: pre-wrap; overflow-wrap: anywhere; }  /* theory reports and long commands wrap */
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
    try:
        decimate.limit()  # a bad $OPTNAS_DASHBOARD_DECIMATE_FROM: said once at start, not per figure
    except ValueError as exc:
        raise UsageError(str(exc)) from None
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
        # dcc.Graph draws with window.Plotly when the page defines it: the partial bundle, loaded first
        external_scripts=[plotlyjs.script_url()] if plotlyjs.usable() else [],
        **extra,
    )
    app.layout = _layout(source, refresh_s)
    guard.install(server, lambda: _study_sizes(source), lambda: next(reversed(source.names()), None), _STYLE)
    plotlyjs.serve(server)
    frame_of = _frame_getter(source)
    _register(app, source, frame_of)
    overview.register(app, frame_of)
    trial.register(app, frame_of)
    activation.register(app, frame_of)
    analysis.register(app, frame_of, source)
    return app


def preload(source: StudySource) -> threading.Thread:
    """Read the newest study and draw its overview once (history, Pareto front, leaderboard, best trial,
    learning curves), in a background thread, so that the first page a browser opens finds the DataFrame
    cached and the figures' first-use costs (imports, Plotly's validators) paid: about a second at 10,000
    trials. Failures are left to the page, which asks again and shows them.

    Example:
        >>> thread = preload(StudySource("optnas-runs/journal.log"))   # doctest: +SKIP
    """

    def read() -> None:
        with contextlib.suppress(Exception):
            names = source.names()
            if names:
                overview.draw(source.frame(names[-1]))

    thread = threading.Thread(target=read, name="optnas-dashboard-preload", daemon=True)
    thread.start()
    return thread


def _layout(source: StudySource, refresh_s: float) -> html.Div:
    nav = [dcc.Link(label, id=f"nav-{page}", href="/", className="nav") for page, (_, label) in PAGES.items()]
    pages = {"overview": overview.layout(), "trial": trial.layout(), "analysis": analysis.layout(),
             "activations": activation.layout()}
    return html.Div(
        [
            dcc.Location(id="url", refresh="callback-nav"),
            dcc.Interval(id="tick", interval=int(refresh_s * 1000)),
            dcc.Store(id="version"),
            dcc.Store(id="route"),
            *(view_store(page) for page in PAGES),
            html.Header(
                [
                    html.H1("optnas"),
                    dcc.Dropdown(id="study", clearable=False, placeholder="study (newest first)", className="study"),
                    html.Nav(nav),
                    html.Span(id="status", className="status"),
                    html.Span(f"storage: {source.display_url} (read-only)", className="status"),
                ]
            ),
            html.Main([html.Div(body, id=f"page-{name}", style={"display": "none"}) for name, body in pages.items()]),
        ]
    )


def _study_sizes(source: StudySource) -> dict[str, int]:
    """Trials per study, in creation order (Optuna numbers a study's trials 0..n-1)."""
    out = {}
    for name in source.names():
        with contextlib.suppress(UsageError):  # deleted since listed
            out[name] = sum(source.signature(name))
    return out


def _empty() -> pd.DataFrame:
    df = pd.DataFrame(columns=["number", "state", "status"])
    df.attrs.update(study=None, objectives=[])
    return df


def _frame_getter(source: StudySource) -> Any:
    def frame_of(version: Any) -> pd.DataFrame:
        name = version.get("study") if isinstance(version, dict) else None
        if not isinstance(name, str) or not name:
            return _empty()
        try:
            return source.frame(name)
        except UsageError:  # the study vanished (deleted) since the picker listed it, or a crafted name
            return _empty()

    return frame_of


# what, besides the URL itself, can send the browser to a trial page
_CLICKS = ("history-graph", "pareto-graph", "timeline-graph", "slice-graph")


def _register(app: dash.Dash, source: StudySource, frame_of: Any) -> None:
    for page in PAGES:
        register_view(app, page)

    @app.callback(
        Output("url", "pathname"),
        Output("study", "value"),
        Output("route", "data"),
        Output("trial", "value"),
        Input("url", "pathname"),
        Input("study", "value"),
        Input("leaderboard", "active_cell"),
        Input("parallel-picked", "data"),
        Input("trial", "value"),
        *(Input(graph, "clickData") for graph in _CLICKS),
        State("route", "data"),
    )
    def _route(pathname: Any, study: Any, cell: Any, picked: Any, typed: Any, *rest: Any) -> Any:
        """One callback owns the URL, the picked study and the route, so they never disagree.

        It does not listen to the refresh tick: a tick's call in flight with the old URL would race a click.
        """
        *clicks, current = rest
        fired = set(dash.ctx.triggered_prop_ids.values())
        trigger = next((f for f in ("study", "leaderboard", "parallel-picked", "trial", *_CLICKS) if f in fired), None)
        names = source.names()[::-1]  # newest first
        route = parse(pathname)
        if trigger == "study" and isinstance(study, str) and study != route.study:
            route = Route(study)  # a new study: its own overview; no trial or curve carries over
        elif trigger == "leaderboard" and isinstance(cell, dict) and isinstance(cell.get("row_id"), int):
            route = Route(route.study, "trial", int(cell["row_id"]))
        elif trigger == "parallel-picked" and isinstance(picked, int):
            route = Route(route.study, "trial", picked)
        elif trigger == "trial" and isinstance(typed, int | float) and not isinstance(typed, bool) and typed >= 0:
            route = Route(route.study, "trial", int(typed))
        elif trigger in _CLICKS and (number := clicked_trial(clicks[_CLICKS.index(trigger)])) is not None:
            route = Route(route.study, "trial", number)
        if route.study is None:  # `/`: the newest study (an unknown one is a 404 page, `guard`)
            route = Route(names[0]) if names else Route()
        if route.page == "trial" and route.trial is None:
            route = Route(route.study, "trial", best_number(frame_of({"study": route.study})))
        new_path = path(route)
        data = {"study": route.study, "page": route.page, "trial": route.trial}
        same = dash.no_update
        return (new_path if new_path != pathname else same, route.study if route.study != study else same,
                data if data != current else same, route.trial if route.trial != typed else same)

    @app.callback(Output("study", "options"), Input("tick", "n_intervals"), State("study", "options"))
    def _studies(_: Any, offered: Any) -> Any:
        """The picker, newest study first; new studies appear on the next tick."""
        options = [{"label": n, "value": n} for n in source.names()[::-1]]
        return options if options != offered else dash.no_update

    @app.callback(
        *(Output(f"page-{page}", "style") for page in PAGES),
        *(Output(f"nav-{page}", "href") for page in PAGES),
        *(Output(f"nav-{page}", "className") for page in PAGES),
        Input("route", "data"),
    )
    def _pages(route: Any) -> tuple[Any, ...]:
        r = _route_of(route)
        styles = [{"display": "block" if page == r.page else "none"} for page in PAGES]
        hrefs = [path(Route(r.study, page, r.trial if page == "trial" else None)) for page in PAGES]
        classes = ["nav active" if page == r.page else "nav" for page in PAGES]
        return (*styles, *hrefs, *classes)

    @app.callback(
        Output("version", "data"),
        Output("status", "children"),
        Input("route", "data"),
        Input("tick", "n_intervals"),
        State("version", "data"),
    )
    def _version(route: Any, _: Any, current: Any) -> tuple[Any, str]:
        name = _route_of(route).study
        if not name:
            return None, "no study in this storage yet"
        try:
            signature = list(source.signature(name))
        except UsageError as exc:
            return None, str(exc)
        df = frame_of({"study": name})
        tally = outcome.format_counts(outcome.counts(df["status"].astype(str))) if len(df) else "no trials yet"
        status = f"{len(df)} trials: {tally} · checked {time.strftime('%H:%M:%S')}"
        if df.attrs.get("artifacts_error"):  # the trials are shown, their curves are not: say why
            status += f" · no curves: {df.attrs['artifacts_error']}"
        version = {"study": name, "signature": signature}
        # an unchanged version is not re-sent, so nothing downstream rebuilds between trials
        return (dash.no_update if version == current else version), status


def _route_of(data: Any) -> Route:
    if not isinstance(data, dict):
        return Route()
    study, page, number = data.get("study"), data.get("page"), data.get("trial")
    return Route(study if isinstance(study, str) else None, page if page in PAGES else "overview",
                 number if isinstance(number, int) else None)
