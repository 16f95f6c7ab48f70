"""Coefficients of an unrolled first-order algorithm (THEORY.md §1, "general recurrence").

An algorithm keeps a state s of m slots (its sequences x, y, z, λ... and their history). One layer k:

    z_k = Σ_j c_j s_j                          (input of the learnable module T_k)
    f_k = T_k(z_k)                             (explicit)   or   f_k = T_k(x_{k+1})  (implicit)
    s  <- (A0 + h_k·A1) s + (b0 + h_k·b1) f_k  (one or more sweeps, applied in order)

An algorithm writes each layer as named rows (`Row`, `Layer`: `optnas.nn.tableau`); the network's forward
pass runs those objects and the certificate reads them back from it, so the two cannot disagree. The dense
matrices the certificate's tests need are made from the rows by `linear_part`, the one place that does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

import numpy as np

from .._registry import Interval, Range
from ..nn.tableau import Layer, Row

__all__ = ["SOLVER", "Algorithm", "Implicit", "Layer", "LinearPart", "Row", "implicit_table_problem", "linear_part"]


class LinearPart(NamedTuple):
    """A layer at step h as dense arrays: ``s+ = A s + b f`` (f held fixed) and T's input weights ``c``."""

    a: np.ndarray  # (m, m)
    b: np.ndarray  # (m,)
    c: np.ndarray  # (m,)


def linear_part(layer: Layer, h: float) -> LinearPart:
    """Compose the sweeps of ``layer`` at step ``h`` into one dense ``s+ = A s + b f``, with dense ``c``.

    Example:
        >>> from optnas import algorithms
        >>> linear_part(algorithms.get("heavy_ball", beta=0.9).layer(3, depth=8), 0.1).a
        array([[ 1.9, -0.9],
               [ 1. ,  0. ]])
    """
    m = layer.slots
    a, b = np.eye(m), np.zeros(m)
    for sweep in layer.sweeps:
        a0, a1, b0, b1 = np.eye(m), np.zeros((m, m)), np.zeros(m), np.zeros(m)
        for i, row in sweep.items():  # a slot without a row keeps its value: row i of the identity
            a0[i] = 0.0
            for j, v in row.a0.items():
                a0[i, j] = v
            for j, v in row.a1.items():
                a1[i, j] = v
            b0[i], b1[i] = row.b0, row.b1
        sa, sb = a0 + h * a1, b0 + h * b1
        a, b = sa @ a, sa @ b + sb
    c = np.zeros(m)
    for j, v in layer.c.items():
        c[j] = v
    return LinearPart(a, b, c)


class Algorithm:
    """Base class: an algorithm is its slots, its equilibrium direction and its per-layer coefficients.

    Subclasses set ``slots`` (or override `slot_names`), implement `layer`, and validate their parameters
    in ``__init__``. ``equilibrium`` is the state that represents "every sequence equal to one x": 1 on
    iterate slots, 0 on multiplier and cached-gradient slots. The initial state is ``equilibrium · x``.

    Example:
        >>> from optnas import algorithms
        >>> algorithms.get("heavy_ball", beta=0.9).layer(3, depth=8).sweeps
        ({0: Row(a0={0: 1.9, 1: -0.9}, a1={}, b0=0.0, b1=1.0), 1: Row(a0={0: 1.0}, a1={}, b0=0.0, b1=0.0)},)
    """

    implicit: ClassVar[bool] = False
    # A short formula for docs and the dashboard.
    formula: ClassVar[str] = ""
    # Set when certification is by construction (a proof), not by the eigenvalue/product tests.
    structural_proof: ClassVar[str | None] = None
    # Each parameter's valid range (`optnas._registry.Interval`, or words): `__init__` checks with it and the
    # registry shows it (`optnas list`), so the two cannot differ.
    ranges: ClassVar[Mapping[str, Range]] = {}

    def __init__(self, **params: Any) -> None:
        # Subclasses call this with their validated parameters (recorded for repr and specs).
        self.params: dict[str, Any] = params

    def slot_names(self, depth: int) -> tuple[str, ...]:
        return tuple(getattr(self, "slots", ("x",)))

    def equilibrium(self, depth: int) -> np.ndarray:
        return np.ones(len(self.slot_names(depth)))

    def layer(self, k: int, depth: int) -> Layer:
        raise NotImplementedError

    def layers(self, depth: int) -> list[Layer]:
        return [self.layer(k, depth) for k in range(depth)]

    startup: int = 0  # number of first layers that use a lower-order start-up scheme

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"


SOLVER: dict[str, Interval] = {"max_iter": Interval(1, 1000, integer=True),
                               "tol": Interval(0, 1, low_open=True, high_open=True)}


class Implicit:
    """Mixin for implicit algorithms: the fixed-point solver's budget, validated."""

    implicit: ClassVar[bool] = True
    max_iter: int = 30
    tol: float = 1e-4
    ranges: ClassVar[Mapping[str, Range]] = SOLVER

    def solver(self, max_iter: int, tol: float) -> dict[str, Any]:
        SOLVER["max_iter"].check("max_iter", max_iter)
        SOLVER["tol"].check("tol", tol)
        self.max_iter, self.tol = max_iter, float(tol)
        return {} if (max_iter, tol) == (30, 1e-4) else {"max_iter": max_iter, "tol": tol}


def implicit_table_problem(layers: Sequence[Layer]) -> str | None:
    """Why the implicit forward pass cannot run these tables, or None.

    It runs one sweep per layer: x+ = u + c·T(x+) from row 0 (c = b0 + h·b1 must involve T), T reads the
    new iterate (c of the layer = {0: 1.0}), and the other rows shift history from the old state only.
    """
    for k, layer in enumerate(layers):
        where = f"layer {k} of depth {len(layers)}"
        if len(layer.sweeps) != 1:
            return f"{where} has {len(layer.sweeps)} sweeps; an implicit layer runs exactly one"
        rows = layer.sweeps[0]
        if 0 not in rows or (rows[0].b0 == 0.0 and rows[0].b1 == 0.0):
            return f"{where}: row 0 (x+) has no T term (b0 = b1 = 0), so there is no fixed point to solve"
        fed = [i for i, row in rows.items() if i and (row.b0 or row.b1)]
        if fed:
            return f"{where}: only row 0 may receive T(x+); rows {fed} do"
        if dict(layer.c) != {0: 1.0}:
            return f"{where}: c = {dict(layer.c)}; an implicit T reads the new iterate x+ (c = {{0: 1.0}})"
    return None
