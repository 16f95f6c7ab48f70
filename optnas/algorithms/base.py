"""Coefficients of an unrolled first-order algorithm (THEORY.md §1, "general recurrence").

An algorithm keeps a state s of m slots (its sequences x, y, z, λ... and their history). One layer k:

    z_k = Σ_j c_j s_j                          (input of the learnable module T_k)
    f_k = T_k(z_k)                             (explicit)   or   f_k = T_k(x_{k+1})  (implicit)
    s  <- (A0 + h_k·A1) s + (b0 + h_k·b1) f_k  (one or more sweeps, applied in order)

The network's forward pass and the certificate both read these tables, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, NamedTuple

import numpy as np

from .._registry import Interval, Range

_NONE: Mapping[int, float] = MappingProxyType({})


class Row(NamedTuple):
    """Row i of a sweep by name, as a tableau writes it: ``s_i <- Σ_j (a0[j] + h·a1[j])·s_j + (b0 + h·b1)·f``.

    Left-out terms are zero: ``Row(a0={0: 1 + beta, 1: -beta}, b1=1.0)`` is heavy ball's x+ row.
    """

    a0: Mapping[int, float] = _NONE  # slot j -> weight of s_j
    a1: Mapping[int, float] = _NONE  # slot j -> weight of h·s_j
    b0: float = 0.0  # weight of f = T(z)
    b1: float = 0.0  # weight of h·f


RowSpec = Row | tuple[Mapping[int, float], Mapping[int, float], float, float]  # a Row, or its plain tuple


@dataclass(frozen=True)
class Sweep:
    """One simultaneous affine update ``s <- (a0 + h·a1) s + (b0 + h·b1) f``; a0, a1: (m, m); b0, b1: (m,)."""

    a0: np.ndarray
    a1: np.ndarray
    b0: np.ndarray
    b1: np.ndarray

    def at(self, h: float) -> tuple[np.ndarray, np.ndarray]:
        """(A, b) of this sweep at step size h."""
        return self.a0 + h * self.a1, self.b0 + h * self.b1


SWEEP_FIELDS = ("a0", "a1", "b0", "b1")


@dataclass(frozen=True)
class Layer:
    """The coefficients of one unrolled iteration.

    c: weights of T's input over the slots (explicit algorithms). mix: when set, row 0 of the first sweep
    is replaced by a learnable convex combination (softmax) of the first ``mix`` slots (DenseNet-like).
    """

    c: np.ndarray
    sweeps: tuple[Sweep, ...]
    mix: int | None = None

    def to_table(self) -> dict[str, Any]:
        """The table the forward pass runs (`optnas.nn.unrolled.Unrolled`, plain lists); `from_table` reads it back.

        Example:
            >>> from optnas import algorithms
            >>> layer = algorithms.get("heavy_ball", beta=0.5).layer(3, depth=4)
            >>> back = Layer.from_table(layer.to_table())
            >>> all((x == y).all() for x, y in zip(back.linear_part(0.1), layer.linear_part(0.1)))
            True
        """
        return {"c": self.c.tolist(), "mix": self.mix,
                "sweeps": [{f: getattr(s, f).tolist() for f in SWEEP_FIELDS} for s in self.sweeps]}

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> Layer:
        """The layer of a table `to_table` wrote (a built network's, `optnas.stages.read_plan`)."""
        sweeps = tuple(Sweep(*(np.array(s[f]) for f in SWEEP_FIELDS)) for s in table["sweeps"])
        return cls(c=np.array(table["c"]), sweeps=sweeps, mix=table["mix"])

    def linear_part(self, h: float) -> tuple[np.ndarray, np.ndarray]:
        """Compose the sweeps at step h into one layer ``s+ = A s + b f`` (f held fixed)."""
        m = len(self.c)
        a, b = np.eye(m), np.zeros(m)
        for sweep in self.sweeps:
            sa, sb = sweep.at(h)
            a, b = sa @ a, sa @ b + sb
        return a, b


def sweep(m: int, rows: Mapping[int, RowSpec]) -> Sweep:
    """Build a Sweep from sparse rows ``{i: Row(a0={j: a0_ij}, a1={j: a1_ij}, b0=b0_i, b1=b1_i)}``; other rows
    keep s_i."""
    a0, a1, b0, b1 = np.eye(m), np.zeros((m, m)), np.zeros(m), np.zeros(m)
    for i, (r0, r1, c0, c1) in rows.items():
        a0[i] = 0.0
        for j, v in r0.items():
            a0[i, j] = v
        for j, v in r1.items():
            a1[i, j] = v
        b0[i], b1[i] = c0, c1
    return Sweep(a0, a1, b0, b1)


def unit(m: int, j: int = 0) -> np.ndarray:
    e = np.zeros(m)
    e[j] = 1.0
    return e


class Algorithm:
    """Base class: an algorithm is its slots, its equilibrium direction and its per-layer coefficients.

    Subclasses set ``slots`` (or override `slot_names`), implement `layer`, and validate their parameters
    in ``__init__``. ``equilibrium`` is the state that represents "every sequence equal to one x": 1 on
    iterate slots, 0 on multiplier and cached-gradient slots. The initial state is ``equilibrium · x``.

    Example:
        >>> from optnas import algorithms
        >>> algorithms.get("heavy_ball", beta=0.9).layer(3, depth=8).linear_part(0.1)[0]
        array([[ 1.9, -0.9],
               [ 1. ,  0. ]])
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
    new iterate (c of the layer = unit slot 0), and the other rows shift history from the old state only.
    """
    for k, layer in enumerate(layers):
        where = f"layer {k} of depth {len(layers)}"
        if len(layer.sweeps) != 1:
            return f"{where} has {len(layer.sweeps)} sweeps; an implicit layer runs exactly one"
        s = layer.sweeps[0]
        if s.b0[0] == 0.0 and s.b1[0] == 0.0:
            return f"{where}: row 0 (x+) has no T term (b0[0] = b1[0] = 0), so there is no fixed point to solve"
        if np.any(s.b0[1:] != 0.0) or np.any(s.b1[1:] != 0.0):
            rows = np.flatnonzero((s.b0 != 0) | (s.b1 != 0))
            return f"{where}: only row 0 may receive T(x+); rows {[int(i) for i in rows if i]} do"
        if not np.array_equal(layer.c, unit(len(layer.c))):
            return f"{where}: c = {layer.c.tolist()}; an implicit T reads the new iterate x+ (c = unit slot 0)"
    return None

