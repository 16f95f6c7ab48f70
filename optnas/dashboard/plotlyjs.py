"""The plotly.js the dashboard serves: a partial bundle of the traces optnas draws, a third of the full one.

Evaluating the full plotly.min.js (4.8 MB) is the largest single cost of a page load in a browser without
a GPU (1.4-2.4 s in headless Chromium on two cores); this bundle (scatter, scattergl, bar, parcoords,
heatmap, contour; 1.6 MB) takes 0.2-0.4 s on the same machine (benchmarks/dashboard_scale). It is plotly.js's own custom
bundle of the version plotly.py ships, built by ``tools/plotlyjs/build.sh``. dcc.Graph draws with
``window.Plotly`` when a page defines it (Dash's documented way to bring another plotly.js), so the app
loads this file as a script before Dash's renderer; when the installed plotly.py expects another major
plotly.js version, the app leaves Dash its own full bundle.

Example:
    >>> from optnas.dashboard import plotlyjs
    >>> sorted(plotlyjs.TRACES)
    ['bar', 'contour', 'heatmap', 'parcoords', 'scatter', 'scattergl']
    >>> plotlyjs.usable()  # this bundle fits the installed plotly.py
    True
"""

from __future__ import annotations

import re
from pathlib import Path

import flask

BUNDLE = Path(__file__).with_name("plotly-optnas.min.js")
TRACES = frozenset({"scatter", "scattergl", "bar", "parcoords", "heatmap", "contour"})
ROUTE = "/_optnas/plotly-optnas.min.js"


def _version() -> str:
    with BUNDLE.open("rb") as f:
        head = f.read(200).decode("ascii", "replace")
    found = re.search(r"plotly\.js v(\d+\.\d+\.\d+)", head)
    return found.group(1) if found else "0.0.0"


VERSION = _version()


def usable() -> bool:
    """Whether the bundle fits the installed plotly.py: the same major plotly.js version."""
    from plotly.offline import get_plotlyjs_version

    return BUNDLE.exists() and VERSION.split(".")[0] == get_plotlyjs_version().split(".")[0]


def script_url() -> str:
    """The bundle's URL; its version in the query, so a browser never keeps an old one."""
    return f"{ROUTE}?v={VERSION}"


def serve(server: flask.Flask) -> None:
    """One fixed route for the one file (no path from the request is ever read)."""

    @server.get(ROUTE)
    def _plotlyjs() -> flask.Response:
        response = flask.send_file(BUNDLE, mimetype="text/javascript", max_age=365 * 24 * 3600)
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response
