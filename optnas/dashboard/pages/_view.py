"""Each page's *view* (its study version and route, set in the browser only while the page is shown) and
the memo of the callbacks that read it: a hidden page sends no request, a page shown again on an unchanged
study recomputes nothing."""

from __future__ import annotations

import functools
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import dash
from dash import Input, Output, State, dcc

# A page's view: its study version and route, set in the browser only while the page is shown and only when
# either changed, so a hidden page's callbacks never run (no request, no server time) and a page opened
# again on an unchanged study recomputes nothing.
_GATE = """function(version, route, current) {
    const skip = window.dash_clientside.no_update;
    if (!route || route.page !== %r) { return skip; }
    if (route.study && !(version && version.study === route.study)) { return skip; }  // its version first
    const view = Object.assign({}, version || {}, {route: route});
    return JSON.stringify(view) === JSON.stringify(current) ? skip : view;
}"""


def view_id(page: str) -> str:
    """The id of ``page``'s view store: its callbacks' input instead of the version and the route."""
    return f"view-{page}"


def view_store(page: str) -> dcc.Store:
    return dcc.Store(id=view_id(page))


def register_view(app: dash.Dash, page: str) -> None:
    app.clientside_callback(_GATE % page, Output(view_id(page), "data"), Input("version", "data"),
                            Input("route", "data"), State(view_id(page), "data"))


F = TypeVar("F", bound=Callable[..., Any])
_MEMO_SIZE = 8  # per callback: the study's latest versions, with the few option sets a user flips between


def per_version(fn: F) -> F:
    """Memoize a page callback on its view's study version and its other inputs (the route excluded): a page
    opened again, a second tab or a reload answers from memory until a trial starts or ends. For callbacks
    whose answer depends on nothing else (no ``dash.ctx``, no state).

    Example:
        >>> calls = []
        >>> f = per_version(lambda view, x: calls.append(x) or x * 2)
        >>> v = {"study": "s", "signature": [0, 3], "route": {"page": "overview"}}
        >>> f(v, 2), f(v | {"route": {}}, 2), len(calls)
        (4, 4, 1)
    """
    cache: OrderedDict[str, Any] = OrderedDict()
    lock = threading.Lock()

    @functools.wraps(fn)
    def memoized(view: Any, *args: Any) -> Any:
        if not isinstance(view, dict) or not isinstance(view.get("study"), str):
            return fn(view, *args)
        key = json.dumps([view["study"], view.get("signature"), args], default=repr)
        with lock:
            if key in cache:
                cache.move_to_end(key)
                return cache[key]
        value = fn(view, *args)
        with lock:
            cache[key] = value
            while len(cache) > _MEMO_SIZE:
                cache.popitem(last=False)
        return value

    return memoized  # type: ignore[return-value]


def route_of(view: Any) -> dict[str, Any]:
    """The route a view was set for ({} for anything else)."""
    route = view.get("route") if isinstance(view, dict) else None
    return route if isinstance(route, dict) else {}
