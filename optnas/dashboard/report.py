"""``optnas report``: the dashboard's figures in one self-contained HTML file that opens offline.

plotly.js is inlined once (in the first figure; the others use it), nothing is fetched from a CDN, and
the file is written atomically (a temporary file in the same folder, then a rename). Whatever cannot be
drawn (no complete trial, an activation unknown here) is said in the report, never silently left out.

Example:
    >>> write_report("big.log", "synthetic", "report.html")     # doctest: +SKIP
    ReportResult(path=PosixPath('report.html'), study='synthetic', trials=10000, bytes=5726316)
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .. import outcome
from .._output import check_target, write_file
from .._version import __version__
from ..errors import UsageError
from . import figures as F
from . import plotlyjs
from .data import COSTS, LEADERBOARD_COLUMNS, best_and_ties, best_number, fmt, label, leaderboard_page, task_metric
from .source import StudySource
from .trial import TrialDetail, trial_detail

if TYPE_CHECKING:
    import plotly.graph_objects as go

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto; max-width: 1200px;
       color: #111827; padding: 0 16px; }
h1 { font-size: 24px; } h2 { font-size: 19px; margin-top: 32px; border-bottom: 1px solid #e5e7eb; }
h3 { font-size: 15px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
td, th { border-bottom: 1px solid #e5e7eb; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f4f6; }
.ok { color: #15803d; font-weight: 600; } .bad { color: #b91c1c; font-weight: 600; }
.wide { overflow-x: auto; max-width: 100%; } .wide table { font-size: 12px; }
tr.best td { background: #fef3c7; font-weight: 700; } tr.tie td { background: #fefce8; }
.note { color: #92400e; background: #fffbeb; padding: 6px 10px; border-radius: 6px; }
pre { background: #f3f4f6; padding: 8px; border-radius: 6px; overflow-x: auto; font-size: 12px;
      white-space: pre-wrap; overflow-wrap: anywhere; }  /* theory reports and long commands wrap */
"""


@dataclass(frozen=True)
class ReportResult:
    path: Path
    study: str
    trials: int
    bytes: int


class _Figures:
    """Renders figures as HTML divs. plotly.js comes once: the dashboard's partial bundle in the page's
    head (`plotlyjs`, a third of the full one), or, where it does not fit plotly.py, the full one in the
    first figure."""

    def __init__(self) -> None:
        self.count = 0
        self.bundle = plotlyjs.usable()

    def head(self) -> str:
        return f"<script>{plotlyjs.BUNDLE.read_text(encoding='utf-8')}</script>" if self.bundle and self.count else ""

    def __call__(self, fig: go.Figure) -> str:
        self.count += 1
        return fig.to_html(full_html=False, include_plotlyjs=self.count == 1 and not self.bundle,
                           include_mathjax=False, config={"displaylogo": False, "responsive": True})


def build_report(df: pd.DataFrame, *, top: int = 50, curves: int = 5, max_activations: int = 6) -> str:
    """The report's HTML for a results DataFrame (`optnas.results.frame`, or `StudySource.frame`)."""
    fig = _Figures()
    study = str(df.attrs.get("study"))
    metric = task_metric(df)
    parts = [f"<h1>optnas report: study {escape(study)}</h1>", _summary(df)]

    parts.append(f"<h2>Leaderboard (best {min(top, len(df))} of {len(df)} trials)</h2>")
    parts.append(_leaderboard(df, top) if len(df) else _note("the study has no trials yet"))

    parts.append("<h2>Optimization history</h2>" + fig(F.plot_history(F.history_data(df))))
    parts.append("<h2>Pareto fronts</h2>")
    parts += [fig(F.plot_pareto(F.pareto_data(df, cost))) for cost in COSTS]
    parts.append("<h2>Architecture choices</h2>" + fig(F.plot_parallel(F.parallel_data(df))))
    chosen = F.default_trials(df, curves)
    parts.append(f"<h2>Learning curves of the best {len(chosen)} trials</h2>")
    parts.append(fig(F.plot_curves(F.curves_data(df, chosen, metric.name))))

    number = best_number(df)  # the one best-trial rule (optnas.outcome), as the dashboard and export
    if number is not None:
        detail = trial_detail(df, number)
        parts.append(f"<h2>Best trial: {detail.number}</h2>" + _trial(detail, fig))
    else:
        parts.append("<h2>Best trial</h2>" + _note(f"no complete trial with {metric.name}: nothing to show"))

    parts.append("<h2>Activations: criticality</h2>")
    choices = F.activation_choices(df)
    if not choices:
        parts.append(_note("no trial records an activation"))
    for choice in choices[:max_activations]:
        parts.append(f"<h3>{escape(choice.label)}</h3>")
        try:
            data = F.criticality_data(choice)
        except ValueError as exc:
            parts.append(_note(f"not drawn: {exc}"))
            continue
        parts.append(fig(F.plot_criticality(data)) + f"<pre>{escape(data.report.format())}</pre>")
    if len(choices) > max_activations:
        left = ", ".join(c.label for c in choices[max_activations:])
        parts.append(_note(f"{len(choices) - max_activations} more activation(s) not drawn (least used): {left}"))

    body = "\n".join(parts)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>optnas report: {escape(study)}'
            f"</title><style>{_STYLE}</style>{fig.head()}</head><body>\n{body}\n</body></html>\n")


def _note(text: str) -> str:
    return f'<p class="note">{escape(text)}</p>'


def _summary(df: pd.DataFrame) -> str:
    tally = outcome.format_counts(outcome.counts(df["status"].astype(str))) if len(df) else "none"
    items = {
        "storage": df.attrs.get("storage", ""),
        "task": task_line(df.attrs.get("task")),
        "objectives": ", ".join(f"{o.get('name')} ({o.get('direction')})" for o in df.attrs.get("objectives") or [])
        or "not recorded",
        "trials": f"{len(df)}: {tally}",
        "generated": f"{dt.datetime.now().isoformat(timespec='seconds')} by optnas {__version__}",
    }
    return _table(["", ""], [[f"<b>{escape(k)}</b>", escape(str(v))] for k, v in items.items()])


def task_line(task: Any) -> str:
    """The study's task record in one line; arrays (a standardization's 64 means) become their length.

    Example:
        >>> task_line({"name": "digits", "params": {"n_samples": 300}, "input_shape": [64], "given": False,
        ...            "standardize": {"mean": [0.0] * 64, "std": [1.0] * 64}})
        'digits · params: n_samples=300 · input shape: 64 · given: no · standardize: mean (64 values), std (64 values)'
    """
    if not isinstance(task, dict):
        return "not recorded" if task is None else _brief(task)
    parts = [str(task.get("name", "?"))]
    for key, value in task.items():
        if key == "name" or value is None:
            continue
        if isinstance(value, list) and all(isinstance(v, int | float) for v in value) and len(value) <= 4:
            shown = " × ".join(fmt(v) for v in value)  # a shape
        else:
            shown = _brief(value)
        parts.append(f"{key.replace('_', ' ')}: {shown}")
    return " · ".join(parts)


def _brief(value: Any, depth: int = 0) -> str:
    if isinstance(value, list | tuple):
        return f"({len(value)} values)" if len(value) > 4 or depth else json.dumps(value)
    if isinstance(value, dict):
        if not value:
            return "none"
        inner = [f"{k}={_brief(v, depth + 1)}" if not isinstance(v, list | tuple) else f"{k} {_brief(v, depth + 1)}"
                 for k, v in value.items()]
        return ", ".join(inner)
    return fmt(value)


def _table(header: list[str], rows: list[list[str]], classes: list[str] | None = None) -> str:
    """Cells are HTML already (escape text before); ``classes``: one per row (the best trial's is "best")."""
    head = "".join(f"<th>{h}</th>" for h in header)
    marks = classes or [""] * len(rows)
    body = "".join((f'<tr class="{c}">' if c else "<tr>") + "".join(f"<td>{x}</td>" for x in row) + "</tr>"
                   for row, c in zip(rows, marks, strict=True))
    return f"<table><tr>{head}</tr>{body}</table>"


# the dashboard's default columns (schedule and test metric are one click away there, left out here): they
# fit the page's 1200 px; a narrower window scrolls the table, never the page
_REPORT_COLUMNS = [(c, n) for c, n in LEADERBOARD_COLUMNS if c not in ("schedule", "test_metric")]


def _leaderboard(df: pd.DataFrame, top: int) -> str:
    rows = leaderboard_page(df, page_size=top).rows
    best, ties = best_and_ties(df)
    cells = [[escape(str(row["number"]) if c == "number" else _fmt(row.get(c))) for c, _ in _REPORT_COLUMNS]
             for row in rows]
    marks = ["best" if row["number"] == best else "tie" if row["number"] in ties else "" for row in rows]
    table = _table([escape(n) for _, n in _REPORT_COLUMNS], cells, marks)
    return f'<div class="wide" id="leaderboard">{table}</div>'


def _fmt(value: Any) -> str:
    return fmt(value)  # the dashboard's one number format


def _trial(detail: TrialDetail, fig: _Figures) -> str:
    parts = [f"<p>{escape(detail.state)} ({escape(detail.status or 'no status')})</p>"]
    parts.append("<h3>Spec</h3><pre>" + escape(json.dumps(detail.spec, indent=2)) + "</pre>")
    cert = {True: "certified", False: "NOT certified", None: "no certificate recorded"}[detail.certified]
    rows = [[escape(c.name), '<span class="ok">yes</span>' if c.holds else '<span class="bad">NO</span>',
             escape(c.detail + (" [numerical]" if c.numerical else ""))] for c in detail.conditions]
    parts.append(f"<h3>Certificate: {cert}</h3>" + _table(["condition", "holds", "detail"], rows))
    parts.append("<h3>Metrics</h3>" + _table(["metric", "value"], [[escape(label(k)), escape(_fmt(v))]
                                                                     for k, v in detail.metrics.items()]))
    parts.append("<h3>Architecture</h3>")
    if detail.spec:
        try:
            parts.append(fig(F.plot_architecture(F.architecture_data(detail.spec))))
        except ValueError as exc:
            parts.append(_note(f"not drawn: {exc}"))
    parts.append("<h3>Export</h3>")
    if detail.export_command:
        parts.append(f"<pre>{escape(detail.export_command)}</pre>")
    if detail.export_note:
        parts.append(_note(detail.export_note))
    return "\n".join(parts)


def write_report(
    storage: str | None, study: str | None, out: str | Path, *, trust_plugins: bool = False
) -> ReportResult:
    """Read ``study`` from ``storage`` (read-only) and write its report to ``out`` atomically.

    ``study`` may be None when the storage holds exactly one. Errors (missing storage, unknown study,
    missing output folder) are UsageErrors naming the bad value; nothing is written then.
    """
    path = Path(out)
    check_target(path, "-o")
    if path.is_dir():
        raise UsageError(f"-o {str(out)!r} is a directory; give a file name such as {path / 'report.html'}")
    if not path.parent.resolve().is_dir():
        raise UsageError(f"-o {str(out)!r}: folder {str(path.parent)!r} does not exist")
    source = StudySource(storage)
    names = source.names()
    if study is None:
        if len(names) != 1:
            raise UsageError(f"--study is required: {source.display_url} holds {len(names)} studies "
                             f"({', '.join(names) or 'none'})")
        study = names[0]
    source.require_plugins([study], trust=trust_plugins, command="optnas report")
    df = source.frame(study)
    if df.attrs.get("artifacts_error"):  # a report without the curves it should hold: say so, write nothing
        raise UsageError(df.attrs["artifacts_error"])
    text = build_report(df)
    write_file(path, text, flag="-o")  # a temporary file beside it, renamed when complete
    return ReportResult(path=path, study=study, trials=len(df), bytes=len(text.encode("utf-8")))
