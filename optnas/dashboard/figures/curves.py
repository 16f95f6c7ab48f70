"""Learning curves of chosen trials: one per-epoch series (val_metric, train_loss, ...) per trial.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"number": [0], "state": ["COMPLETE"], "val_metric": [0.9],
    ...                    "curves": [{"val_metric": [0.5, 0.9], "train_loss": [1.0, 0.4]}]})
    >>> curve_keys(df), curves_data(df, [0]).series[0].values.tolist()
    (['train_loss', 'val_metric'], [0.5, 0.9])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..data import label, ranking, spec_labels
from ._plotly import TEMPLATE, empty_figure, graph_objects, integer_axis

if TYPE_CHECKING:
    import plotly.graph_objects as go

TITLE = "Learning curves"


@dataclass(frozen=True)
class CurveSeries:
    number: int
    label: str  # the trial's spec in one line
    epochs: np.ndarray  # 1-based
    values: np.ndarray  # NaN where the run recorded a non-finite value


@dataclass(frozen=True)
class CurvesData:
    key: str
    series: tuple[CurveSeries, ...]
    missing: tuple[int, ...]  # chosen trials without this curve (unknown, still running, failed early)


def curve_keys(df: pd.DataFrame) -> list[str]:
    """Every per-epoch series recorded by some trial, sorted."""
    if "curves" not in df.columns:
        return []
    keys: set[str] = set()
    for curves in df["curves"]:
        if isinstance(curves, dict):
            keys.update(k for k, v in curves.items() if isinstance(v, list))
    return sorted(keys)


def default_trials(df: pd.DataFrame, n: int = 5) -> list[int]:
    """The ``n`` best complete trials (the best-trial rule's ranking): the curves shown until the user picks.

    Recomputed on every refresh, so during a live search the default selection follows the current top.
    """
    return ranking(df)[:n]


def curves_data(df: pd.DataFrame, numbers: Sequence[int], key: str = "val_metric") -> CurvesData:
    by_number = df.set_index("number") if len(df) else df
    series, missing = [], []
    for number in numbers:
        if number not in by_number.index:
            missing.append(int(number))
            continue
        row = by_number.loc[[number]]
        curves = row["curves"].iloc[0] if "curves" in row.columns else None
        raw = curves.get(key) if isinstance(curves, dict) else None
        if not raw:
            missing.append(int(number))
            continue
        values = np.array([np.nan if v is None else float(v) for v in raw])
        label = spec_labels(row.reset_index())[0]
        series.append(CurveSeries(int(number), label, np.arange(1, len(values) + 1), values))
    return CurvesData(key=key, series=tuple(series), missing=tuple(missing))


def plot_curves(data: CurvesData) -> go.Figure:
    title = f"{TITLE}: {label(data.key)}"
    if not data.series:
        chosen = f" (trials {', '.join(map(str, data.missing))} have none)" if data.missing else ""
        return empty_figure(title, f"choose trials with a recorded {data.key} curve{chosen}")
    go = graph_objects()
    fig = go.Figure()
    for s in data.series:
        fig.add_trace(go.Scatter(x=s.epochs, y=s.values, mode="lines+markers", name=f"trial {s.number}",
                                 hovertemplate=f"trial {s.number}<br>{s.label}<br>epoch %{{x}}: %{{y:.4~g}}"
                                               "<extra></extra>"))
    if data.missing:
        title += f" — no {data.key} curve for trial(s) {', '.join(map(str, data.missing))}"
    fig.update_layout(title=title, template=TEMPLATE, xaxis_title="epoch", yaxis_title=label(data.key),
                      showlegend=True)
    fig.update_xaxes(**integer_axis(np.arange(1, max(len(s.values) for s in data.series) + 1)))  # whole epochs
    return fig
