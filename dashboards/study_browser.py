"""Study browser: optnas's dashboard (leaderboard, history, Pareto front, parallel coordinates, learning
curves, trial pages with certificates and architecture diagrams, criticality plots) over one storage.

    python dashboards/study_browser.py [STORAGE] [--port 8050]       # or: optnas dashboard --storage STORAGE

STORAGE defaults to $OPTNAS_STORAGE, then ./optnas-runs/journal.log; it is only ever read. Served on
127.0.0.1. Imported (``app``, ``server``), it reads $OPTNAS_STORAGE. Everything lives in optnas.dashboard.
"""

from __future__ import annotations

import argparse
import os
import sys

from optnas.dashboard import create_app
from optnas.dashboard.serve import listen, serve
from optnas.errors import UsageError

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="optnas study browser (read-only, 127.0.0.1)")
    parser.add_argument("storage", nargs="?", default=os.environ.get("OPTNAS_STORAGE"))
    parser.add_argument("--port", type=int, default=8050)
    args = parser.parse_args()
    try:
        app = create_app(args.storage)
        sock = listen("127.0.0.1", args.port)
    except UsageError as exc:
        sys.exit(f"study browser: error: {exc}")
    print(f"study browser: http://127.0.0.1:{args.port}/")
    serve(app.server, sock)
else:
    app = create_app(os.environ.get("OPTNAS_STORAGE"))
    server = app.server  # a WSGI app, e.g. for gunicorn
