"""What the dashboard answers to requests it cannot serve: a 404 page for an unknown study, page or trial
(saying so and listing what exists, never another study's data), and a 4xx with one log line, no
traceback, for a crafted request to any route.

Example:
    >>> check("/studies/rings/trials/12", {"rings": 20})          # a known page: nothing to say
    >>> check("/studies/rings/trials/20", {"rings": 20}).trials
    20
    >>> check("/studies/nosuch", {"rings": 20}).what
    "no study 'nosuch'"
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import unquote

import flask

from .routes import PAGES, Route, path

_BY_SEGMENT = {segment: page for page, (segment, _) in PAGES.items() if segment}
_SHOWN = 60  # characters of a bad path segment echoed back


@dataclass(frozen=True)
class Missing:
    """Why a path names nothing: ``what`` (one line), the study it names when that exists (and its trial
    count), for the page's links."""

    what: str
    study: str | None = None
    trials: int = 0


def _cut(text: str) -> str:
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"


def check(pathname: str, studies: Mapping[str, int]) -> Missing | None:
    """None when ``pathname`` (under ``/studies/``) names an existing study, page and trial; else `Missing`.

    ``studies``: study name -> number of trials (Optuna numbers a study's trials 0..n-1).
    """
    parts = [p for p in pathname.split("/") if p]
    if len(parts) < 2:
        return None  # /studies: the newest study (a redirect)
    study = unquote(parts[1])
    if study not in studies:
        return Missing(f"no study {_cut(study)!r}")
    n = studies[study]
    if len(parts) == 2:
        return None
    page = _BY_SEGMENT.get(parts[2])
    if page is None:
        return Missing(f"study {study!r} has no page {_cut(unquote(parts[2]))!r}", study, n)
    if len(parts) == 3:
        return None
    if page != "trial" or len(parts) > 4:
        return Missing(f"no page {_cut(unquote('/'.join(parts[2:])))!r} in study {study!r}", study, n)
    raw = unquote(parts[3])
    if not (raw.isascii() and raw.isdigit()) or int(raw) >= n:
        span = f"0 to {n - 1}" if n else "none yet"
        return Missing(f"study {study!r} has no trial {_cut(raw)!r} (its trials: {span})", study, n)
    return None


def page(missing: Missing, studies: Mapping[str, int], style: str) -> str:
    """The 404 page: what is missing, then links to what exists (the study's pages, every study)."""
    links: list[str] = []
    if missing.study is not None:
        s = missing.study
        pages = [(path(Route(s)), "overview"), (path(Route(s, "analysis")), "analysis"),
                 (path(Route(s, "activations")), "activations")]
        if missing.trials:
            pages += [(path(Route(s, "trial", 0)), "trial 0"),
                      (path(Route(s, "trial", missing.trials - 1)), f"trial {missing.trials - 1}"),
                      (path(Route(s, "trial")), "its best trial")]
        items = "".join(f'<li><a href="{escape(h)}">{escape(t)}</a></li>' for h, t in pages)
        links.append(f"<h2>Study {escape(s)} ({missing.trials:,} trials)</h2><ul>{items}</ul>")
    rows = "".join(f'<li><a href="{escape(path(Route(n)))}">{escape(n)}</a> ({c:,} trials)</li>'
                   for n, c in reversed(list(studies.items())))
    links.append(f"<h2>Studies in this storage (newest first)</h2><ul>{rows or '<li>none yet</li>'}</ul>")
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>not found: optnas dashboard'
            f'</title><style>{style}</style></head><body><main><section class="card" id="not-found">'
            f'<h2>Not found: {escape(missing.what)}</h2>{"".join(links)}</section></main></body></html>')


def install(server: flask.Flask, studies: Callable[[], dict[str, int]], newest: Callable[[], str | None],
            style: str) -> None:
    """Hook the checks into ``server``: ``/`` and ``/studies`` redirect to the newest study, a page path
    naming nothing is a 404 page, any other unknown path a plain 404, and an exception anywhere a 4xx with
    one log line."""
    from werkzeug.exceptions import HTTPException

    dash_prefix = "/_"  # Dash's own routes (layout, dependencies, scripts, callbacks) and optnas's bundle

    @server.before_request
    def _guard() -> Any:
        request = flask.request
        if request.method != "GET" or request.path.startswith(dash_prefix):
            return None
        if request.path in ("/", "/studies", "/studies/"):
            name = newest()
            # a redirect leaves no history entry: the back button goes where the user came from
            return flask.redirect(path(Route(name)), code=302) if name else None
        known = studies()
        if request.path.startswith("/studies/"):
            missing = check(request.path, known)
        else:
            missing = Missing(f"no page {_cut(request.path)!r}")
        if missing is None:
            return None
        server.logger.info("404 %s: %s", _cut(request.path), missing.what)
        return flask.Response(page(missing, known, style), status=404, mimetype="text/html")

    @server.errorhandler(Exception)
    def _bad(exc: Exception) -> Any:
        if isinstance(exc, HTTPException):
            return exc
        # Dash raises DependencyException for a script path it does not serve: that file is not found
        status = 404 if type(exc).__name__ == "DependencyException" else 400
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        server.logger.warning("bad request %s %s from %s: %s: %s", flask.request.method, _cut(flask.request.path),
                              flask.request.remote_addr, type(exc).__name__, first)
        return flask.Response(f"bad request: {type(exc).__name__}", status=status, mimetype="text/plain")
