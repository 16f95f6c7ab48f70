"""How model.py names an algorithm's quantities: its parameters as constants, its slots as variables.

An entry gives, for a stage of ``depth`` layers, the named quantities its coefficients are made of:
a float (a constant such as ``BETA = 0.9``), a tuple (a table such as ``A = (4/3, -1/3)``) or a
per-layer list (``beta[k]``, Nesterov's momentum sequence). The stage writer writes each coefficient
as an expression over these names (``1 + BETA``, ``-h[k] * RHO``) only where Python evaluates that
expression to the very float the skeleton runs; anything else stays a number. User algorithms without
an entry get their ``a``/``b`` tables (linear multistep schemes) or plain numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import schedules
from ..algorithms import Algorithm, LinearMultistep
from ..algorithms.explicit import (
    APG2,
    AdamsBashforth2,
    Dense,
    GradientDescent,
    HeavyBall,
    LinearizedADMM,
    LMResNet,
    Nesterov,
    momentum_sequence,
)
from ..algorithms.implicit import AcceleratedProximal, ProximalPoint

Quantities = dict[str, float | tuple[float, ...] | list[float]]


def _momentum(name: str) -> Callable[[Any, int], Quantities]:
    def quantities(alg: Any, depth: int) -> Quantities:
        if alg.beta is not None:
            return {"BETA": float(alg.beta)}
        return {"beta": [float(b) for b in momentum_sequence(name, None, alg.momentum, depth)]}

    return quantities


def _apg_theta(alg: Any, depth: int) -> Quantities:
    return {"theta": [float(t) for t in schedules.get(alg.theta).values(depth)]}


# algorithm class -> its quantities for a stage of `depth` layers (most derived class first)
_FORMS: dict[type, Callable[[Any, int], Quantities]] = {
    HeavyBall: lambda alg, depth: {"BETA": float(alg.params.get("beta", 0.9))},
    LMResNet: lambda alg, depth: {"K": float(alg.params.get("k", 0.5))},
    AdamsBashforth2: lambda alg, depth: {"B": tuple(alg.b)},
    GradientDescent: lambda alg, depth: {},
    ProximalPoint: lambda alg, depth: {"A": tuple(alg.a), "B": tuple(alg.b)} if type(alg) is not ProximalPoint else {},
    Nesterov: lambda alg, depth: _momentum(alg.name)(alg, depth),
    AcceleratedProximal: _momentum("accel_proximal"),
    APG2: _apg_theta,
    LinearizedADMM: lambda alg, depth: {"RHO": float(alg.rho)},
    Dense: lambda alg, depth: {},
    LinearMultistep: lambda alg, depth: {"A": tuple(alg.a), "B": tuple(alg.b)},
}


def quantities(algorithm: Algorithm, depth: int) -> Quantities:
    """The named quantities of ``algorithm`` for a stage of ``depth`` layers (empty when it has none).

    Example:
        >>> from optnas import algorithms
        >>> quantities(algorithms.get("heavy_ball", beta=0.5), 3)
        {'BETA': 0.5}
    """
    for cls in type(algorithm).__mro__:
        if cls in _FORMS:
            return _FORMS[cls](algorithm, depth)
    return {}


# Variables the stage code uses for its own purposes: a slot never takes one of these names.
RESERVED = frozenset({"T", "h", "k", "f", "w", "u", "torch", "nn", "self", "fixed_point"})
_SLOT_NAMES = {"λ": "lam", "x[k-1]": "x_prev", "T[k-1]": "f_prev"}


def slot_variables(names: tuple[str, ...]) -> list[str]:
    """A Python variable per slot: ``x``, ``x_prev``, ``x_prev2``, ``f_prev``, ``lam``; ``s<j>`` otherwise.

    Example:
        >>> slot_variables(("x", "x[k-1]", "x[k-2]", "T[k-1]", "λ", "2nd"))
        ['x', 'x_prev', 'x_prev2', 'f_prev', 'lam', 's5']
    """
    out: list[str] = []
    for j, name in enumerate(names):
        var = _SLOT_NAMES.get(name, name)
        for stem, short in (("x", "x_prev"), ("T", "f_prev")):
            if name.startswith(f"{stem}[k-") and name.endswith("]") and name[len(stem) + 3 : -1].isdigit():
                var = short + (name[len(stem) + 3 : -1] if name != f"{stem}[k-1]" else "")
        if not var.isidentifier() or var in RESERVED or var in out or var.isupper():
            var = f"s{j}"
        out.append(var)
    return out
