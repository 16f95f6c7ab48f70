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

from .._registry import Registry
from .base import Algorithm, Layer, Sweep, sweep, unit
from .explicit import (
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
from .implicit import BDF2, AcceleratedProximal, ProximalPoint
from .multistep import LinearMultistep

__all__ = [
    "Algorithm", "Layer", "LinearMultistep", "Sweep", "entry", "get", "names", "register", "sweep", "unit",
]

_REGISTRY: Registry[type[Algorithm]] = Registry("algorithm")
names, get, entry, register, unregister = _REGISTRY.public()

for _name, _cls in {
    "gd": GradientDescent,
    "heavy_ball": HeavyBall,
    "nesterov": Nesterov,
    "lm_resnet": LMResNet,
    "adams_bashforth2": AdamsBashforth2,
    "fista": Fista,
    "apg2": APG2,
    "ladmm": LinearizedADMM,
    "dense": Dense,
    "proximal_point": ProximalPoint,
    "bdf2": BDF2,
    "accel_proximal": AcceleratedProximal,
}.items():
    register(_name)(_cls)
