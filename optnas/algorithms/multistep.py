"""Scalar linear multistep schemes: an algorithm is its (a, b) coefficient table (like a Butcher tableau).

    x_{k+1} = Σ_j a_j x_{k-j} + h Σ_j b_j f_{k-j}        f_k = T_k(x_k)      (explicit)
    x_{k+1} = Σ_j a_j x_{k-j} + h b_0 T_k(x_{k+1})                           (implicit)

Its characteristic polynomial is rho(ζ) = ζ^p − Σ_j a_j ζ^(p−1−j); the state's linear part is rho's
companion matrix, so the certificate's eigenvalues are exactly rho's roots.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from .base import Algorithm, Layer, Row


class LinearMultistep(Algorithm):
    """A scalar multistep scheme given by ``a`` (iterate weights) and ``b`` (step weights).

    Slots are x_k, x_{k-1}, ..., then the cached T outputs f_{k-1}, ... The first ``startup`` layers,
    before the history is filled, use (implicit) Euler, as multistep ODE solvers do.

    Example (a user scheme whose rho has a root at 1.5, which the certificate rejects):
        >>> class Unstable(LinearMultistep):
        ...     a = (2.5, -1.5)
        ...     b = (1.0,)
        >>> Unstable().characteristic_roots()
        array([1.5, 1. ])
    """

    a: tuple[float, ...] = (1.0,)
    b: tuple[float, ...] = (1.0,)
    implicit: ClassVar[bool] = False

    def __init__(self) -> None:
        # no parameters: a scheme with parameters validates them and calls Algorithm.__init__ itself
        super().__init__()

    def slot_names(self, depth: int) -> tuple[str, ...]:
        xs = ["x"] + [f"x[k-{j}]" for j in range(1, len(self.a))]
        fs = [] if self.implicit else [f"T[k-{j}]" for j in range(1, len(self.b))]
        return tuple(xs + fs)

    def equilibrium(self, depth: int) -> np.ndarray:
        # iterate slots hold x, cached gradient slots start empty (zero)
        p = len(self.a)
        return np.array([1.0] * p + [0.0] * (len(self.slot_names(depth)) - p))

    @property
    def startup(self) -> int:  # type: ignore[override]
        return max(len(self.a), len(self.b)) - 1

    def characteristic_roots(self) -> np.ndarray:
        """Roots of rho(ζ) = ζ^p − Σ a_j ζ^(p−1−j)."""
        return np.roots([1.0, *(-np.asarray(self.a, dtype=float))])

    def layer(self, k: int, depth: int) -> Layer:
        names = self.slot_names(depth)
        m, p = len(names), len(self.a)
        a, b = (self.a, self.b) if k >= self.startup else ((1.0,), (1.0,))
        # x+ = Σ a_j x_{k-j} + h·(b_0·f + Σ b_j f_{k-j}): the cached outputs f_{k-j} sit in slots p + j - 1
        row0 = Row(a0={j: a[j] for j in range(len(a))}, a1={p + j - 1: b[j] for j in range(1, len(b))}, b1=b[0])
        rows: dict[int, Row] = {0: row0}
        rows.update({i: Row(a0={i - 1: 1.0}) for i in range(1, p)})  # shift iterate history
        if m > p:  # cache this layer's T output, shift older ones
            rows[p] = Row(b0=1.0)
            rows.update({i: Row(a0={i - 1: 1.0}) for i in range(p + 1, m)})
        return Layer(m, c={0: 1.0}, sweeps=(rows,))
