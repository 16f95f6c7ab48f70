"""Algorithms registry: first-order methods whose gradient terms become learnable modules T.

Example:
    >>> from optnas import algorithms
    >>> "heavy_ball" in algorithms.names()
    True
    >>> algorithms.get("heavy_ball", beta=0.9)
    HeavyBall(beta=0.9)

A user algorithm is a subclass of `Algorithm` (any multi-sequence scheme) or of `LinearMultistep` (just
its ``a`` and ``b`` coefficients), registered with ``@optnas.algorithms.register("name")``.
"""

from __future__ import annotations

from .._registry import Interval
from .base import Algorithm, Layer, LinearPart, Row, implicit_table_problem, linear_part
from .explicit import (  # noqa: F401  (imported: its classes register themselves)
    APG2,
    AdamsBashforth2,
    Dense,
    Fista,
    GradientDescent,
    HeavyBall,
    LinearizedADMM,
    LMResNet,
    Nesterov,
)
from .implicit import BDF2, AcceleratedProximal, ProximalPoint  # noqa: F401
from .multistep import LinearMultistep
from .registry import describe, entry, get, names, ranges, register, unregister

__all__ = [
    "Algorithm", "Interval", "Layer", "LinearMultistep", "LinearPart", "Row", "describe", "entry", "get",
    "implicit_table_problem", "linear_part", "names", "ranges", "register", "unregister",
]
