"""Effective theory of optnas networks at initialization (THEORY.md §2).

Infinite-width kernel recursion, susceptibilities and criticality of any registered activation; the
initialization that follows from them; a zero-cost trainability score for an `ArchSpec`.

Example:
    >>> from optnas import theory
    >>> report = theory.criticality("mrepu", p=2)
    >>> report.universality_class, report.c_w, report.evidence["a1"]
    ('K*=0', 1.0, 18.0)
"""

from __future__ import annotations

from ._fallback import InitChoice
from .criticality import CriticalityReport, CriticalPoint, criticality
from .init import init_parameters, initialize_
from .kernel import Moments, chi_parallel, chi_perp, escape_depth, kernel_flow, kernel_map, moments
from .plot import TheoryPlotData, plot_theory, theory_plot_data
from .score import LayerInit, TrainabilityScore, trainability_score

__all__ = [
    "CriticalPoint",
    "CriticalityReport",
    "InitChoice",
    "LayerInit",
    "Moments",
    "TheoryPlotData",
    "TrainabilityScore",
    "chi_parallel",
    "chi_perp",
    "criticality",
    "escape_depth",
    "init_parameters",
    "initialize_",
    "kernel_flow",
    "kernel_map",
    "moments",
    "plot_theory",
    "theory_plot_data",
    "trainability_score",
]
