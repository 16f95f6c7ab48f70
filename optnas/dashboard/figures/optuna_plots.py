"""Optuna's own analysis plots (`optuna.visualization`) of one objective: slice (one parameter at a time),
contour and rank (two parameters), and the empirical distribution function (EDF). Each point that stands for
a trial carries its trial number as ``customdata`` (a click opens it).

Above `SAMPLE` complete trials the plots draw a sample: the `SAMPLE` // 10 best, the rest evenly spread over
the trial numbers (Optuna's contour and rank draw every trial; at 50,000 trials they take minutes and the
browser cannot draw them). The title says when a sample is drawn.

Example:
    >>> fig = plot_slice(study, objective=0, param="depth")                  # doctest: +SKIP
    >>> fig = plot_contour(study, objective=0, params=("depth", "width"))     # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
import optuna.visualization  # imported here, once: lazy imports from two server threads at once can race

from ..data import label
from ._plotly import TEMPLATE, empty_figure
from .importance import objective_names

if TYPE_CHECKING:
    import plotly.graph_objects as go

SAMPLE = 2000


def param_names(study: optuna.Study) -> list[str]:
    """The parameters the study's complete trials sampled, most common first (then by name)."""
    counts: dict[str, int] = {}
    for t in _complete(study):
        for name in t.params:
            counts[name] = counts.get(name, 0) + 1
    return sorted(counts, key=lambda n: (-counts[n], n))


def _complete(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return [t for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
            if t.values is not None]


def _sample(study: optuna.Study, i: int, limit: int) -> tuple[optuna.Study, dict[int, int], int]:
    """``study`` itself, or an in-memory study holding a sample of its complete trials (the `SAMPLE` // 10
    best on objective ``i``, the rest evenly spread); with the drawn trials' numbers (the copy's number ->
    the study's: the copy numbers its trials afresh) and the number of complete trials."""
    done = _complete(study)
    if len(done) <= limit:
        return study, {t.number: t.number for t in done}, len(done)
    maximize = study.directions[i] == optuna.study.StudyDirection.MAXIMIZE
    values = np.array([t.values[i] for t in done], dtype=float) * (-1.0 if maximize else 1.0)
    best = set(np.argsort(values, kind="stable")[: limit // 10].tolist())
    rest = [k for k in range(len(done)) if k not in best]
    spread = np.linspace(0, len(rest) - 1, limit - len(best)).astype(int)
    keep = sorted(best | {rest[k] for k in spread})
    copy = optuna.create_study(directions=study.directions, storage=optuna.storages.InMemoryStorage())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        copy.add_trials([done[k] for k in keep])
    return copy, {k: done[j].number for k, j in enumerate(keep)}, len(done)


def _objective(study: optuna.Study, objective: int) -> tuple[int, str]:
    names = objective_names(study)
    i = objective if isinstance(objective, int) and 0 <= objective < len(names) else 0
    return i, label(names[i])


def _draw(kind: str, study: optuna.Study, objective: int, make: Callable[..., go.Figure], title: str,
          limit: int = SAMPLE, **kwargs: Any) -> go.Figure:
    i, name = _objective(study, objective)
    drawn_from, numbers, total = _sample(study, i, limit)
    shown = len(numbers)
    if not total:
        return empty_figure(title, "no complete trial yet")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna's experimental and "few trials" warnings
        fig = make(drawn_from, target=lambda t: t.values[i], target_name=name, **kwargs)
    for trace in fig.data if kind == "slice" else ():  # Optuna colors slice points by trial number
        color = getattr(getattr(trace, "marker", None), "color", None)
        if color is not None and not isinstance(color, str):
            values = list(color)
            if values and all(isinstance(c, int | float) and int(c) in numbers for c in values):
                trace.customdata = [numbers[int(c)] for c in values]  # the study's numbers: a click opens it
    note = f" (a sample: {shown:,} of {total:,} complete trials, the {limit // 10:,} best and an even spread)" \
        if shown < total else f" ({total:,} complete trials)"
    fig.update_layout(title=f"{title}{note}", template=TEMPLATE, width=None, height=None, autosize=True)
    return fig


def plot_slice(study: optuna.Study, objective: int = 0, param: str | None = None) -> go.Figure:
    """Optuna's slice plot of one objective against one parameter (the first when ``param`` is None)."""
    names = param_names(study)
    if not names:
        return empty_figure("Slice plot", "no complete trial with a sampled parameter yet")
    chosen = param if param in names else names[0]
    _, name = _objective(study, objective)
    return _draw("slice", study, objective, optuna.visualization.plot_slice, f"Slice: {name} against {chosen}",
                 params=[chosen])


def plot_contour(study: optuna.Study, objective: int = 0, params: Sequence[str] = ()) -> go.Figure:
    """Optuna's contour plot of one objective over two parameters."""
    chosen = _pair(study, params)
    if chosen is None:
        return empty_figure("Contour", "needs two sampled parameters")
    _, name = _objective(study, objective)
    return _draw("contour", study, objective, optuna.visualization.plot_contour,
                 f"Contour: {name} over {chosen[0]} and {chosen[1]}", params=list(chosen))


def plot_rank(study: optuna.Study, objective: int = 0, params: Sequence[str] = ()) -> go.Figure:
    """Optuna's rank plot: two parameters, each trial colored by the rank of its objective value."""
    chosen = _pair(study, params)
    if chosen is None:
        return empty_figure("Rank", "needs two sampled parameters")
    _, name = _objective(study, objective)
    return _draw("rank", study, objective, optuna.visualization.plot_rank,
                 f"Rank of {name} over {chosen[0]} and {chosen[1]}", params=list(chosen))


def plot_edf(study: optuna.Study, objective: int = 0) -> go.Figure:
    """Optuna's empirical distribution function of one objective: the share of trials at or below a value."""
    _, name = _objective(study, objective)
    return _draw("edf", study, objective, optuna.visualization.plot_edf, f"EDF of {name}", limit=10**9)


def _pair(study: optuna.Study, params: Sequence[str]) -> tuple[str, str] | None:
    names = param_names(study)
    if len(names) < 2:
        return None
    wanted = [p for p in params if p in names] if isinstance(params, list | tuple) else []
    chosen = list(dict.fromkeys(wanted + names))[:2]
    return chosen[0], chosen[1]
