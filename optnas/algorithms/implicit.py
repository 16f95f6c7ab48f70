"""Implicit algorithms: the new iterate appears inside T, so each layer solves a fixed point.

The forward pass iterates z <- u + c·T(z) (bounded iterations, tolerance, residual reported); the backward
pass differentiates the fixed point implicitly (THEORY.md §1, implicit networks).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from .._registry import Range
from .base import SOLVER, Algorithm, Implicit, Layer, Row
from .explicit import BETA, MOMENTUM, momentum_sequence
from .multistep import LinearMultistep
from .registry import register


@register("proximal_point")
class ProximalPoint(Implicit, LinearMultistep):
    """x+ = x + h·T(x+): implicit Euler, the proximal point method."""

    formula = "x+ = x + h·T(x+)"

    def __init__(self, max_iter: int = 30, tol: float = 1e-4) -> None:
        Algorithm.__init__(self, **self.solver(max_iter, tol))


@register("bdf2")
class BDF2(ProximalPoint):
    """x+ = 4/3·x − 1/3·x− + 2/3·h·T(x+): the two-step backward differentiation formula."""

    formula = "x+ = 4/3·x − 1/3·x− + 2/3·h·T(x+)"
    a = (4.0 / 3.0, -1.0 / 3.0)
    b = (2.0 / 3.0,)


@register("accel_proximal")
class AcceleratedProximal(Implicit, Algorithm):
    """y = x + β_k(x − x−); x+ = y + h·T(x+): Güler's accelerated proximal point (implicit FISTA)."""

    formula = "y = x + β(x − x−); x+ = y + h·T(x+)"
    slots = ("x", "x[k-1]")
    ranges: ClassVar[Mapping[str, Range]] = {"beta": BETA, "momentum": MOMENTUM, **SOLVER}

    def __init__(
        self, beta: float | None = None, momentum: str = "nesterov_momentum", max_iter: int = 30, tol: float = 1e-4
    ) -> None:
        solver = self.solver(max_iter, tol)
        super().__init__(**({"beta": beta} if beta is not None else {"momentum": momentum}), **solver)
        self.beta, self.momentum = beta, momentum
        momentum_sequence("accel_proximal", beta, momentum, 1)

    def layer(self, k: int, depth: int) -> Layer:
        beta = float(momentum_sequence("accel_proximal", self.beta, self.momentum, depth)[k])
        rows = {0: Row(a0={0: 1.0 + beta, 1: -beta}, b1=1.0), 1: Row(a0={0: 1.0})}
        return Layer(2, c={0: 1.0}, sweeps=(rows,))


