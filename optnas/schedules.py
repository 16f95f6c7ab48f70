"""Schedules: step sizes h_k of the unrolled iterations, and the momentum sequences algorithms use.

Step schedules (kind "step") split a total horizon (the ODE time the network integrates to) over the
depth; momentum schedules (kind "momentum") are the β_k / θ_k sequences of accelerated methods.

Example:
    >>> from optnas import schedules
    >>> schedules.get("constant", horizon=2.0).values(4)
    array([0.5, 0.5, 0.5, 0.5])
    >>> schedules.get("apg_theta").values(3)
    array([1.        , 0.66666667, 0.5       ])
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from . import _validate
from ._registry import Registry

__all__ = ["Schedule", "describe", "entry", "get", "names", "ranges", "register", "step_names"]


class Schedule:
    """A sequence of coefficients indexed by layer. Subclasses implement `values`."""

    kind: ClassVar[str] = "step"
    learnable: ClassVar[bool] = False

    def __init__(self, **params: Any) -> None:
        self.params = params

    def values(self, depth: int) -> np.ndarray:
        raise NotImplementedError

    def bounds(self, depth: int) -> tuple[float, float]:
        """Smallest and largest step the schedule can produce at this depth."""
        v = self.values(depth)
        return float(v.min()), float(v.max())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.params.items())})"


def _positive(name: str, value: Any) -> float:
    return _validate.number(f"schedule {name}", value, 0, low_open=True)


class _HorizonSchedule(Schedule):
    """Steps proportional to a shape w_k, normalized so that Σ h_k = horizon."""

    def __init__(self, horizon: float = 1.0) -> None:
        super().__init__(horizon=horizon)
        self.horizon = _positive("horizon", horizon)

    def shape(self, depth: int) -> np.ndarray:
        return np.ones(depth)

    def values(self, depth: int) -> np.ndarray:
        w = self.shape(depth)
        return self.horizon * w / w.sum()


_REGISTRY: Registry[type[Schedule]] = Registry("schedule")
names, get, entry, register, unregister = _REGISTRY.public()
describe = _REGISTRY.describe
ranges = _REGISTRY.ranges
_HORIZON = {"horizon": "finite numbers > 0"}


def step_names() -> list[str]:
    """Names of the step schedules (those an ArchSpec's ``schedule`` may use)."""
    return [n for n in names() if entry(n).kind == "step"]


@register("constant", params=_HORIZON)
class Constant(_HorizonSchedule):
    """h_k = horizon / L: the forward Euler grid of the ODE on [0, horizon]."""


@register("cosine", params=_HORIZON)
class Cosine(_HorizonSchedule):
    """h_k ∝ (1 + cos(π k / L)) / 2 + 1/L: large steps first, small steps last (never zero)."""

    def shape(self, depth: int) -> np.ndarray:
        k = np.arange(depth)
        return (1 + np.cos(np.pi * k / depth)) / 2 + 1.0 / depth


@register("harmonic", params=_HORIZON)
class Harmonic(_HorizonSchedule):
    """h_k ∝ 1 / (k + 1): the classic decaying step of subgradient methods."""

    def shape(self, depth: int) -> np.ndarray:
        return 1.0 / (np.arange(depth) + 1.0)


@register("learnable", params={**_HORIZON, "max_factor": "finite numbers > 1"})
class Learnable(_HorizonSchedule):
    """h_k = h_max·sigmoid(θ_k), initialised at horizon/L, with h_max = max_factor·horizon/L.

    Positive and bounded by construction: no value of θ leaves the certified set (0, h_max).
    """

    learnable = True

    def __init__(self, horizon: float = 1.0, max_factor: float = 2.0) -> None:
        super().__init__(horizon=horizon)
        self.params["max_factor"] = max_factor
        self.max_factor = _positive("max_factor", max_factor)
        if self.max_factor <= 1.0:
            raise ValueError(f"schedule max_factor={max_factor!r} is invalid: it must be > 1")

    def h_max(self, depth: int) -> float:
        return self.max_factor * self.horizon / depth

    def bounds(self, depth: int) -> tuple[float, float]:
        return 0.0, self.h_max(depth)


class Momentum(Schedule):
    kind = "momentum"


@register("nesterov_momentum")
class NesterovMomentum(Momentum):
    """β_k = k / (k + 3) (Su, Boyd & Candès' form of Nesterov's sequence), β_k → 1."""

    def values(self, depth: int) -> np.ndarray:
        k = np.arange(depth, dtype=float)
        return k / (k + 3.0)


@register("fista_momentum")
class FistaMomentum(Momentum):
    """β_k = (t_k − 1) / t_{k+1} with t_0 = 1, t_{k+1} = (1 + sqrt(1 + 4 t_k²)) / 2 (Beck & Teboulle)."""

    def values(self, depth: int) -> np.ndarray:
        t = [1.0]
        for _ in range(depth):
            t.append((1.0 + math.sqrt(1.0 + 4.0 * t[-1] ** 2)) / 2.0)
        return np.array([(t[k] - 1.0) / t[k + 1] for k in range(depth)])


@register("apg_theta")
class ApgTheta(Momentum):
    """θ_k = 2 / (k + 2): the interpolation weight of APG's second (three-sequence) form."""

    def values(self, depth: int) -> np.ndarray:
        return 2.0 / (np.arange(depth, dtype=float) + 2.0)
