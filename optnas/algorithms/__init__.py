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
    "Algorithm", "Layer", "LinearMultistep", "Sweep", "describe", "entry", "get", "names", "register", "sweep", "unit",
]

_REGISTRY: Registry[type[Algorithm]] = Registry("algorithm")
names, get, entry, register, unregister = _REGISTRY.public()
describe = _REGISTRY.describe

_MOMENTUM = "a momentum schedule: nesterov_momentum, fista_momentum, apg_theta"
_SOLVER = {"max_iter": "integers [1, 1000]", "tol": "(0, 1)"}
# name -> (class, valid range of each parameter); the certificate decides what certifies inside them
for _name, (_cls, _ranges) in {
    "gd": (GradientDescent, {}),
    "heavy_ball": (HeavyBall, {"beta": "[-1, 1] (certified for beta < 1)"}),
    "nesterov": (Nesterov, {"beta": "[-1, 1] or None (then momentum)", "momentum": _MOMENTUM}),
    "lm_resnet": (LMResNet, {"k": "[-1, 1] (certified for k > -1)"}),
    "adams_bashforth2": (AdamsBashforth2, {}),
    "fista": (Fista, {}),
    "apg2": (APG2, {"theta": _MOMENTUM}),
    "ladmm": (LinearizedADMM, {"rho": "(0, 100] (certified for small enough rho·h)"}),
    "dense": (Dense, {}),
    "proximal_point": (ProximalPoint, _SOLVER),
    "bdf2": (BDF2, _SOLVER),
    "accel_proximal": (AcceleratedProximal, {"beta": "[-1, 1] or None (then momentum)", "momentum": _MOMENTUM,
                                             **_SOLVER}),
}.items():
    register(_name, params=_ranges)(_cls)
