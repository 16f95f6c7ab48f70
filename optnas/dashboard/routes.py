"""The dashboard's URLs: one page per path, so every view has a link and the back button works.

``/studies/<study>`` (overview), ``/studies/<study>/trials/<number>``, ``/studies/<study>/trials`` (the best
trial), ``/studies/<study>/analysis`` and ``/studies/<study>/activations``; ``/`` opens the newest study.
Study names are percent-encoded in the path.

Example:
    >>> parse("/studies/my%20rings/trials/12")
    Route(study='my rings', page='trial', trial=12)
    >>> path(Route("my rings", "activations"))
    '/studies/my%20rings/activations'
    >>> parse("/studies/rings/trials/x")        # a bad trial number is no trial, never an error
    Route(study='rings', page='trial', trial=None)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import quote, unquote

#: page name -> (path segment after the study, nav label); the overview has no segment
PAGES: dict[str, tuple[str, str]] = {
    "overview": ("", "Overview"),
    "trial": ("trials", "Trial"),
    "analysis": ("analysis", "Analysis"),
    "activations": ("activations", "Activations"),
}
_BY_SEGMENT = {segment: page for page, (segment, _) in PAGES.items() if segment}


@dataclass(frozen=True)
class Route:
    """What the URL names: a study (None: the newest), a page, and for the trial page a trial number."""

    study: str | None = None
    page: str = "overview"
    trial: int | None = None

    def with_study(self, study: str | None) -> Route:
        return replace(self, study=study)


def parse(pathname: object) -> Route:
    """The route of a URL path; anything unknown falls back to the overview (never raises)."""
    parts = [p for p in str(pathname or "").split("/") if p]
    if len(parts) < 2 or parts[0] != "studies":
        return Route()
    study = unquote(parts[1])
    page = _BY_SEGMENT.get(parts[2], "overview") if len(parts) > 2 else "overview"
    trial = None
    if page == "trial" and len(parts) > 3 and parts[3].isdigit() and len(parts[3]) < 10:
        trial = int(parts[3])
    return Route(study, page, trial)


def path(route: Route) -> str:
    """The URL path of a route (``/`` when it names no study)."""
    if route.study is None:
        return "/"
    base = f"/studies/{quote(route.study, safe='')}"
    segment = PAGES.get(route.page, ("", ""))[0]
    if not segment:
        return base
    tail = f"/{route.trial}" if route.page == "trial" and route.trial is not None else ""
    return f"{base}/{segment}{tail}"


def clicked_trial(click: object) -> int | None:
    """The trial number a Plotly ``clickData`` names (its point's ``customdata``), None for anything else.

    Crafted input (a string, a list, a missing key) is None, never an exception.
    """
    if not isinstance(click, dict):
        return None
    points = click.get("points")
    if not isinstance(points, list) or not points or not isinstance(points[0], dict):
        return None
    value = points[0].get("customdata")
    if isinstance(value, list) and value:  # customdata rows: the trial number first
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number >= 0 else None
