"""Plotly dashboard and static report of optnas searches (``optnas dashboard``, ``optnas report``).

Figures are pure functions of the results DataFrame (`optnas.results.frame`); `StudySource` reads a
storage read-only and caches one DataFrame per study; `create_app` (Dash) and `write_report` (one
self-contained HTML file) draw the same figures.

Example:
    >>> from optnas.dashboard import StudySource, figures
    >>> df = StudySource("optnas-runs/journal.log").frame("rings")               # doctest: +SKIP
    >>> figures.plot_pareto(figures.pareto_data(df, cost="params")).show()       # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..storage import open_readonly
from . import figures
from .data import Metric, leaderboard_page, task_metric
from .source import StudySource
from .trial import TrialDetail, trial_detail

if TYPE_CHECKING:
    from .app import create_app
    from .report import build_report, write_report

__all__ = [
    "Metric",
    "StudySource",
    "TrialDetail",
    "build_report",
    "create_app",
    "figures",
    "leaderboard_page",
    "open_readonly",
    "task_metric",
    "trial_detail",
    "write_report",
]


def __getattr__(name: str) -> Any:
    # Dash is an optional extra: import it only when the app is asked for
    import importlib

    lazy = {"create_app": "optnas.dashboard.app", "build_report": "optnas.dashboard.report",
            "write_report": "optnas.dashboard.report"}
    if name in lazy:
        return getattr(importlib.import_module(lazy[name]), name)
    raise AttributeError(f"module 'optnas.dashboard' has no attribute {name!r}")
