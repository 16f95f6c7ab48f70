"""Hyperparameter importance per objective and slice plots, computed by Optuna (`optuna.importance`,
`optuna.visualization.plot_slice`) on the study's COMPLETE trials.

Optuna's default evaluator ranks parameters by how they drive the target *down*, so a maximized
objective is negated first.

Example:
    >>> data = importance_data(study)                        # doctest: +SKIP
    >>> data.importances["val_metric"]                        # doctest: +SKIP
    {'heavy_ball.beta': 0.87, 'activation': 0.05, ...}
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import optuna
import optuna.importance
import optuna.visualization  # imported here, once: lazy imports from two server threads at once can race

from ..data import label
from ._plotly import TEMPLATE, empty_figure, graph_objects

if TYPE_CHECKING:
    import plotly.graph_objects as go

TITLE = "Hyperparameter importance"
MIN_TRIALS = 2  # optuna.importance needs at least two complete trials


@dataclass(frozen=True)
class ImportanceData:
    objectives: tuple[str, ...]
    importances: dict[str, dict[str, float]]  # objective -> parameter -> importance (sums to 1)
    complete: int
    note: str = ""  # why nothing was computed


def objective_names(study: optuna.Study) -> list[str]:
    record = study.user_attrs.get("optnas", {}) if isinstance(study.user_attrs, dict) else {}
    names = [str(o.get("name")) for o in record.get("objectives", []) if isinstance(o, dict)]
    return names if len(names) == len(study.directions) else (study.metric_names or
                                                              [f"objective {i}" for i in range(len(study.directions))])


def _target(i: int, maximize: bool) -> Any:
    sign = -1.0 if maximize else 1.0
    return lambda t: sign * t.values[i]


def importance_data(study: optuna.Study) -> ImportanceData:
    names = objective_names(study)
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(done) < MIN_TRIALS:
        return ImportanceData(tuple(names), {}, len(done), f"needs {MIN_TRIALS} complete trials, has {len(done)}")
    out: dict[str, dict[str, float]] = {}
    for i, (name, direction) in enumerate(zip(names, study.directions, strict=True)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the evaluator's reminder about low targets: handled by _target
            try:
                found = optuna.importance.get_param_importances(
                    study, target=_target(i, direction == optuna.study.StudyDirection.MAXIMIZE))
            except (ValueError, RuntimeError) as exc:  # e.g. every parameter constant so far
                return ImportanceData(tuple(names), out, len(done), f"{name}: {exc}")
        out[name] = dict(found)
    return ImportanceData(tuple(names), out, len(done))


def plot_importance(data: ImportanceData) -> go.Figure:
    if not data.importances:
        return empty_figure(TITLE, data.note or "nothing to compute yet")
    go = graph_objects()
    params = sorted({p for imp in data.importances.values() for p in imp},
                    key=lambda p: -max(imp.get(p, 0.0) for imp in data.importances.values()))[::-1]
    fig = go.Figure()
    for name, imp in data.importances.items():
        fig.add_trace(go.Bar(x=[imp.get(p, 0.0) for p in params], y=params, orientation="h", name=label(name),
                             hovertemplate=f"{label(name)}<br>%{{y}}: %{{x:.3f}}<extra></extra>"))
    fig.update_layout(title=f"{TITLE} per objective ({data.complete} complete trials, Optuna's default evaluator)",
                      template=TEMPLATE, barmode="group", xaxis_title="importance (share of 1)",
                      yaxis_title="parameter", legend={"orientation": "h", "y": -0.2}, showlegend=True,
                      height=max(320, 120 + 26 * len(params) * max(1, len(data.importances))))
    return fig


def plot_slice(study: optuna.Study, objective: int = 0) -> go.Figure:
    """Optuna's slice plot of one objective; each point's ``customdata`` is its trial number (a click opens it)."""
    names = objective_names(study)
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not done:
        return empty_figure("Slice plot", "no complete trial yet")
    i = objective if 0 <= objective < len(names) else 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = optuna.visualization.plot_slice(study, target=lambda t: t.values[i], target_name=label(names[i]))
    for trace in fig.data:  # Optuna colors each point by its trial number: the same list names the trial
        color = getattr(trace.marker, "color", None)
        if color is not None and not isinstance(color, str):
            trace.customdata = [int(c) for c in color]
    fig.update_layout(title=f"Slice plot: {label(names[i])} against each parameter", template=TEMPLATE,
                      width=None, autosize=True)  # Optuna fixes a width per parameter: fit the card instead
    return fig
