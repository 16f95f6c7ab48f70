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

from collections.abc import Callable, Mapping

from .._registry import Registry
from .base import Algorithm, Layer, Sweep, implicit_table_problem, sweep, unit
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
    "Algorithm", "Layer", "LinearMultistep", "Sweep", "describe", "entry", "get", "implicit_table_problem", "names",
    "register", "sweep", "unit",
]

_REGISTRY: Registry[type[Algorithm]] = Registry("algorithm")
names, get, entry, _register, unregister = _REGISTRY.public()
describe = _REGISTRY.describe


def register(
    name: str, *, description: str | None = None, params: Mapping[str, str] | None = None, overwrite: bool = False
) -> Callable[[type[Algorithm]], type[Algorithm]]:
    """Decorator registering an algorithm class under ``name`` (metadata as in `Registry.register`).

    An implicit scheme whose default tables the implicit forward pass cannot run (two sweeps, T in a row
    other than x+, ...) is refused here with one line, instead of certifying and failing in forward.
    """
    def decorate(cls: type[Algorithm]) -> type[Algorithm]:
        if getattr(cls, "implicit", False):
            problem = _default_problem(cls)
            if problem:
                raise ValueError(f"implicit algorithm {name!r} cannot run: {problem}")
        return _register(name, description=description, params=params, overwrite=overwrite)(cls)

    return decorate


def _default_problem(cls: type[Algorithm]) -> str | None:
    try:
        algorithm = cls()
    except TypeError:  # required parameters: checked for each spec when it is certified
        return None
    return next((p for d in (1, 2, 3, 6) if (p := implicit_table_problem(algorithm.layers(d)))), None)

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
