"""Criticality plots of the study's activations, reusing optnas.theory's figure data and drawing.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"activation": ["mrepu", "tanh", "mrepu"],
    ...                    "activation_params": ['{"p": 2}', "{}", '{"p": 2}']})
    >>> [c.label for c in activation_choices(df)]
    ['mrepu(p=2)', 'tanh']
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..data import named

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from ...theory import TheoryPlotData


@dataclass(frozen=True)
class ActivationChoice:
    """An activation with its parameters as the study used it; ``key`` is its stable JSON identity."""

    name: str
    params_json: str  # sorted-key JSON, as results.frame stores it

    @property
    def params(self) -> dict[str, Any]:
        return dict(json.loads(self.params_json or "{}"))

    @property
    def label(self) -> str:
        return named(self.name, self.params_json)

    @property
    def key(self) -> str:
        return json.dumps([self.name, self.params], sort_keys=True)

    @classmethod
    def from_key(cls, key: str) -> ActivationChoice:
        name, params = json.loads(key)
        return cls(str(name), json.dumps(params, sort_keys=True))


def activation_choices(df: pd.DataFrame) -> list[ActivationChoice]:
    """The distinct (activation, parameters) pairs of the study's trials, most used first."""
    if df.empty or "activation" not in df.columns:
        return []
    params = df["activation_params"] if "activation_params" in df.columns else pd.Series("{}", index=df.index)
    pairs = pd.DataFrame({"name": df["activation"], "params": params.fillna("{}")}).dropna()
    counts = pairs.value_counts(sort=False).reset_index(name="n")
    counts = counts.sort_values(["n", "name", "params"], ascending=[False, True, True])
    return [ActivationChoice(str(n), str(p)) for n, p in zip(counts["name"], counts["params"], strict=True)]


@lru_cache(maxsize=64)
def _plot_data(name: str, params_json: str, depth: int) -> TheoryPlotData:
    # lazy: the effective theory loads scipy.optimize (about a second): only when this page is drawn
    from ...theory import theory_plot_data

    return theory_plot_data(name, depth=depth, **json.loads(params_json or "{}"))


def criticality_data(choice: ActivationChoice, depth: int = 100) -> TheoryPlotData:
    """`optnas.theory.theory_plot_data` of the choice (cached: the quadratures take a fraction of a second)."""
    return _plot_data(choice.name, choice.params_json, depth)


def plot_criticality(data: TheoryPlotData) -> go.Figure:
    """`optnas.theory.plot_theory`: kernel flow with depth and susceptibilities at the recommended init."""
    from ...theory import plot_theory  # lazy: as in _plot_data

    fig = plot_theory(data)
    r = data.report
    name = named(r.activation, json.dumps(dict(r.params or {}), sort_keys=True))  # mrepu(p=2), as everywhere
    rest = str(fig.layout.title.text or "").partition(" — ")[2]
    fig.update_layout(title=f"{name} — {rest}" if rest else name)
    return fig
