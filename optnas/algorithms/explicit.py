"""Explicit algorithms: each gradient term −∇f replaced by the learnable module T (THEORY.md §1)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np

from .. import schedules
from .._registry import Interval, Range
from .base import Algorithm, Layer, Row
from .multistep import LinearMultistep
from .registry import register

# Valid ranges (checked here, shown by `optnas list`); the certificate decides what certifies inside them.
MOMENTUM = "a momentum schedule: nesterov_momentum, fista_momentum, apg_theta"
BETA = Interval(-1.0, 1.0, optional="then momentum")  # a constant β, or None for a momentum schedule
HEAVY_BALL_BETA = Interval(-1.0, 1.0, note="certified for beta < 1")
LM_RESNET_K = Interval(-1.0, 1.0, note="certified for k > -1")
LADMM_RHO = Interval(0.0, 100.0, low_open=True, note="certified for small enough rho·h")


@register("gd")
class GradientDescent(LinearMultistep):
    """x+ = x + h·T(x): forward Euler, i.e. ResNet."""

    formula = "x+ = x + h·T(x)"


@register("heavy_ball")
class HeavyBall(LinearMultistep):
    """x+ = x + β(x − x−) + h·T(x) (Polyak); zero-stable iff −1 <= β < 1."""

    formula = "x+ = x + β(x − x−) + h·T(x)"
    ranges: ClassVar[Mapping[str, Range]] = {"beta": HEAVY_BALL_BETA}

    def __init__(self, beta: float = 0.9) -> None:
        Algorithm.__init__(self, beta=beta)
        beta = HEAVY_BALL_BETA.check("heavy_ball beta", beta)
        self.a = (1.0 + beta, -beta)


@register("lm_resnet")
class LMResNet(LinearMultistep):
    """x+ = (1 − k)x + k·x− + h·T(x) (Lu et al.'s LM-ResNet); zero-stable iff −1 < k <= 1."""

    formula = "x+ = (1 − k)x + k·x− + h·T(x)"
    ranges: ClassVar[Mapping[str, Range]] = {"k": LM_RESNET_K}

    def __init__(self, k: float = 0.5) -> None:
        Algorithm.__init__(self, k=k)
        k = LM_RESNET_K.check("lm_resnet k", k)
        self.a = (1.0 - k, k)


@register("adams_bashforth2")
class AdamsBashforth2(LinearMultistep):
    """x+ = x + h(3/2·T(x) − 1/2·T−(x−)), with the previous layer's output cached."""

    formula = "x+ = x + h(3/2·T(x) − 1/2·T−(x−))"
    b = (1.5, -0.5)


def momentum_sequence(name: str, beta: float | None, momentum: str, depth: int) -> np.ndarray:
    """β_k for every layer: the constant ``beta`` when given, else the named momentum schedule."""
    if beta is not None:
        return np.full(depth, BETA.check(f"{name} beta", beta))
    seq = schedules.get(momentum)
    if seq.kind != "momentum":
        valid = [n for n in schedules.names() if schedules.entry(n).kind == "momentum"]
        raise ValueError(f"{name} momentum={momentum!r} is not a momentum sequence; valid: {', '.join(valid)}")
    return seq.values(depth)


@register("nesterov")
class Nesterov(Algorithm):
    """y = x + β_k(x − x−); x+ = y + h·T(y). β constant, or a momentum sequence (default k/(k+3))."""

    formula = "y = x + β(x − x−); x+ = y + h·T(y)"
    slots = ("x", "x[k-1]")
    default_momentum = "nesterov_momentum"
    ranges: ClassVar[Mapping[str, Range]] = {"beta": BETA, "momentum": MOMENTUM}

    def __init__(self, beta: float | None = None, momentum: str | None = None) -> None:
        momentum = momentum or self.default_momentum
        super().__init__(**({"beta": beta} if beta is not None else {"momentum": momentum}))
        self.beta, self.momentum = beta, momentum
        momentum_sequence(self.name, beta, momentum, 1)  # validate now, not at build

    name = "nesterov"

    def layer(self, k: int, depth: int) -> Layer:
        beta = float(momentum_sequence(self.name, self.beta, self.momentum, depth)[k])
        rows = {0: Row(a0={0: 1 + beta, 1: -beta}, b1=1.0), 1: Row(a0={0: 1.0})}
        return Layer(2, c={0: 1.0 + beta, 1: -beta}, sweeps=(rows,))


@register("fista")
class Fista(Nesterov):
    """FISTA / APG: y = x + (t_{k−1} − 1)/t_k·(x − x−); x+ = y + h·T(y)."""

    name = "fista"
    default_momentum = "fista_momentum"
    ranges: ClassVar[Mapping[str, Range]] = {}  # no parameters

    def __init__(self) -> None:
        super().__init__(beta=None, momentum="fista_momentum")
        self.params = {}


@register("apg2")
class APG2(Algorithm):
    """APG's second form: y = (1 − θ)x + θz; z+ = z + h·T(y)/θ; x+ = (1 − θ)x + θz+, θ_k = 2/(k + 2)."""

    formula = "y = (1−θ)x + θz; z+ = z + h·T(y)/θ; x+ = (1−θ)x + θz+"
    slots = ("x", "z")
    ranges: ClassVar[Mapping[str, Range]] = {"theta": MOMENTUM}

    def __init__(self, theta: str = "apg_theta") -> None:
        super().__init__(theta=theta)
        if schedules.get(theta).kind != "momentum":
            raise ValueError(f"apg2 theta={theta!r} is not a momentum sequence")
        self.theta = theta

    def layer(self, k: int, depth: int) -> Layer:
        th = float(schedules.get(self.theta).values(depth)[k])
        z_step = {1: Row(a0={1: 1.0}, b1=1.0 / th)}
        x_mix = {0: Row(a0={0: 1.0 - th, 1: th})}
        return Layer(2, c={0: 1.0 - th, 1: th}, sweeps=(z_step, x_mix))


@register("ladmm")
class LinearizedADMM(Algorithm):
    """Linearized ADMM on min f(x) + g(y) s.t. x = y, every sub-step linearized with step h [ours]:

    x+ = x + h(T(x) − λ − ρ(x − y)); y+ = y + h(λ + ρ(x+ − y)); λ+ = λ + hρ(x+ − y+).
    The equilibrium is x = y, λ = 0. Zero-stable only for small enough ρh, which the certificate checks.
    """

    formula = "x+ = x + h(T(x) − λ − ρ(x−y)); y+ = y + h(λ + ρ(x+−y)); λ+ = λ + hρ(x+−y+)"
    slots = ("x", "y", "λ")
    ranges: ClassVar[Mapping[str, Range]] = {"rho": LADMM_RHO}

    def __init__(self, rho: float = 1.0) -> None:
        super().__init__(rho=rho)
        self.rho = LADMM_RHO.check("ladmm rho", rho)

    def equilibrium(self, depth: int) -> np.ndarray:
        return np.array([1.0, 1.0, 0.0])

    def layer(self, k: int, depth: int) -> Layer:
        r = self.rho
        sx = {0: Row(a0={0: 1.0}, a1={0: -r, 1: r, 2: -1.0}, b1=1.0)}
        sy = {1: Row(a0={1: 1.0}, a1={0: r, 1: -r, 2: 1.0})}
        sl = {2: Row(a0={2: 1.0}, a1={0: r, 1: -r})}
        return Layer(3, c={0: 1.0}, sweeps=(sx, sy, sl))


@register("dense")
class Dense(Algorithm):
    """x+ = Σ_j w_kj·x_{k−j} + h·T(x), with w_k = softmax(learnable logits) over every previous iterate.

    DenseNet-like. Certified by construction [ours, THEORY.md]: a convex combination makes the companion
    matrix row-stochastic, so ||A_k||_∞ = 1 for every layer and every weight value.
    """

    formula = "x+ = Σ_j softmax(w_k)_j·x_{k−j} + h·T(x)"
    structural_proof = (
        "learnable weights are a softmax (convex combination) of previous iterates: every A_k is "
        "row-stochastic, ||A_k···A_j||_∞ = 1 for all weights, and A_k·1 = 1"
    )

    def slot_names(self, depth: int) -> tuple[str, ...]:
        return ("x", *(f"x[k-{j}]" for j in range(1, depth + 1)))

    def layer(self, k: int, depth: int) -> Layer:
        m = depth + 1
        # Row 0's a0 holds the uniform convex combination as a representative; the runtime learns it.
        uniform = {j: 1.0 / (k + 1) for j in range(k + 1)}
        rows: dict[int, Row] = {0: Row(a0=uniform, b1=1.0)}
        rows.update({i: Row(a0={i - 1: 1.0}) for i in range(1, m)})
        return Layer(m, c={0: 1.0}, sweeps=(rows,), mix=k + 1)
