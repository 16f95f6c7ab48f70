"""Hyperparameter importance per objective, computed by Optuna (`optuna.importance`) on the study's COMPLETE
trials, with a warning below `RELIABLE_FROM` of them.

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
# Below this many complete trials the importances are shown with a warning: a forest fitted on a handful of
# points ranks whatever happened to vary with the objective (3 trials ranked lr 0.86 for the parameter
# count, which cannot depend on it). 30 is the usual rule of thumb for a first look at a sample; a
# documented threshold, not a guarantee.
RELIABLE_FROM = 30


@dataclass(frozen=True)
class ImportanceData:
    objectives: tuple[str, ...]
    importances: dict[str, dict[str, float]]  # objective -> parameter -> importance (sums to 1)
    complete: int
    note: str = ""  # why nothing was computed

    @property
    def warning(self) -> str:
        """What to distrust, empty from `RELIABLE_FROM` complete trials on."""
        if self.complete >= RELIABLE_FROM:
            return ""
        return (f"rests on only {self.complete} complete trial(s), fewer than {RELIABLE_FROM}: rankings this early "
                "are mostly noise (a parameter an objective cannot depend on may rank high)")


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
                             hovertemplate=f"{label(name)}<br>%{{y}}: %{{x:.4~g}}<extra></extra>"))
    title = f"{TITLE} per objective: rests on {data.complete:,} complete trials (Optuna's default evaluator)"
    if data.warning:
        title += f"<br><sup style='color:#b91c1c'>warning: {data.warning}</sup>"
    fig.update_layout(title=title, margin={"t": 90 if data.warning else 60},
                      template=TEMPLATE, barmode="group", xaxis_title="importance (share of 1)",
                      yaxis_title="parameter", legend={"orientation": "h", "y": -0.2}, showlegend=True,
                      height=max(320, 120 + 26 * len(params) * max(1, len(data.importances))))
    return fig
