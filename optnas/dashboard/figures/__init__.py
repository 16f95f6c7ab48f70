"""Dashboard figures, each split Optuna-style into a pure ``*_data(df, ...)`` that gathers what to draw
from the results DataFrame and a thin ``plot_*(data)`` that draws it with Plotly (imported lazily).

Example:
    >>> from optnas.dashboard import figures
    >>> fig = figures.plot_pareto(figures.pareto_data(df, cost="flops"))      # doctest: +SKIP
"""

from __future__ import annotations

from .activation import ActivationChoice, activation_choices, criticality_data, plot_criticality
from .architecture import ArchitectureData, architecture_data, plot_architecture
from .curves import CurvesData, CurveSeries, curve_keys, curves_data, default_trials, plot_curves
from .history import HistoryData, history_data, plot_history
from .parallel import Dimension, ParallelData, parallel_data, plot_parallel
from .pareto import ParetoData, pareto_data, pareto_mask, plot_pareto
from .trial_curves import (
    StudyMedian,
    TrialCurvesData,
    plot_intermediate,
    plot_trial_curves,
    study_median,
    trial_curves_data,
)

__all__ = [
    "ActivationChoice",
    "ArchitectureData",
    "CurveSeries",
    "CurvesData",
    "Dimension",
    "HistoryData",
    "ParallelData",
    "ParetoData",
    "StudyMedian",
    "TrialCurvesData",
    "activation_choices",
    "architecture_data",
    "criticality_data",
    "curve_keys",
    "curves_data",
    "default_trials",
    "history_data",
    "parallel_data",
    "pareto_data",
    "pareto_mask",
    "plot_architecture",
    "plot_criticality",
    "plot_curves",
    "plot_history",
    "plot_intermediate",
    "plot_parallel",
    "plot_pareto",
    "plot_trial_curves",
    "study_median",
    "trial_curves_data",
]
