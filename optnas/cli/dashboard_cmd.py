"""`optnas dashboard [--storage URL] [--host 127.0.0.1] [--port 8050]`: browse studies in a local web app.

Example:
    $ optnas dashboard --storage optnas-runs/journal.log
    optnas dashboard: http://127.0.0.1:8050/ (optnas-runs/journal.log, read-only; Ctrl-C stops)
"""

from __future__ import annotations

import argparse
import sys

from ._trust import add_flag


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--storage", default=None,
                        help="journal file path or RDB URL, opened read-only (default: ./optnas-runs/journal.log)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1: this machine only; 0.0.0.0 exposes it to the "
                             "network)")
    parser.add_argument("--port", type=int, default=8050, help="port to listen on (default 8050)")
    parser.add_argument("--refresh", type=float, default=5.0, metavar="SECONDS",
                        help="how often the page checks the storage for new trials (default 5)")
    add_flag(parser)


def run(args: argparse.Namespace) -> int:
    # lazy: loaded when this command runs (the parser imports every command's module)
    from optnas.dashboard.serve import check_port, listen, serve, warn_if_exposed
    from optnas.dashboard.source import StudySource

    check_port(args.port)
    if not args.refresh > 0:
        raise ValueError(f"--refresh {args.refresh!r} is invalid: it must be > 0 seconds")
    try:
        # lazy: Dash is an optional extra (optnas[dashboard])
        from optnas.dashboard.app import create_app, preload
    except ImportError as exc:
        missing = exc.name or "dash"
        hint = "pip install 'optnas[dashboard]'"
        raise ValueError(f"optnas dashboard needs Dash ({missing} is missing): {hint}") from None
    source = StudySource(args.storage)  # a missing or unreadable storage fails here, before binding
    source.require_plugins(trust=args.trust_plugins, command="optnas dashboard")
    app = create_app(source, refresh_s=args.refresh)
    sock = listen(args.host, args.port)
    warn_if_exposed(args.host)
    preload(source)  # the first page then finds the newest study read
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"optnas dashboard: http://{host}:{sock.getsockname()[1]}/ ({source.display_url}, read-only; Ctrl-C stops)",
          flush=True)
    try:
        serve(app.server, sock)
    except KeyboardInterrupt:
        print("optnas dashboard: stopped", file=sys.stderr)
    return 0
