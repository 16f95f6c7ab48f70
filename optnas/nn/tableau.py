"""Coefficient tables of an unrolled algorithm as named rows, the one form from the algorithm to the forward pass.

One layer k runs over a state of m slots s (THEORY.md §1, "general recurrence")::

    z = Σ_j c_j s_j                            (input of the learnable module T_k; implicit: T reads x+)
    s_i <- Σ_j (a0[j] + h_k·a1[j])·s_j + (b0 + h_k·b1)·T_k(z)     for each row i of a sweep, sweeps in order

An algorithm writes its layers with `Row` and `Layer` (as torchdiffeq writes a Butcher tableau), the
skeleton (`optnas.nn.unrolled.Unrolled`) stores and runs those very objects, the certificate reads them back
from a built network, and ``optnas.algorithms.linear_part`` makes dense matrices of them where a test
needs them. Plain Python: no torch, no numpy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

Term = tuple[int, float, float]  # (slot j, a0[j], a1[j])


@dataclass(frozen=True)
class Row:
    """Row i of a sweep by name: ``s_i <- Σ_j (a0[j] + h·a1[j])·s_j + (b0 + h·b1)·f``; left-out terms are zero.

    ``terms`` lists the slots the row reads, ascending, as ``(j, a0[j], a1[j])`` (terms zero in both left
    out): the order the forward pass adds them in.

    Example (heavy ball's x+ row):
        >>> beta = 0.9
        >>> Row(a0={0: 1 + beta, 1: -beta}, b1=1.0).terms
        ((0, 1.9, 0.0), (1, -0.9, 0.0))
    """

    a0: Mapping[int, float] = field(default_factory=dict)  # slot j -> weight of s_j
    a1: Mapping[int, float] = field(default_factory=dict)  # slot j -> weight of h·s_j
    b0: float = 0.0  # weight of f = T(z)
    b1: float = 0.0  # weight of h·f
    terms: tuple[Term, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # own copies in slot order, as floats: a caller's later change to its dict cannot reach the network
        a0 = {int(j): float(v) for j, v in sorted(self.a0.items())}
        a1 = {int(j): float(v) for j, v in sorted(self.a1.items())}
        terms = tuple((j, a0.get(j, 0.0), a1.get(j, 0.0)) for j in sorted(a0.keys() | a1.keys()))
        for name, value in (("a0", a0), ("a1", a1), ("b0", float(self.b0)), ("b1", float(self.b1))):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "terms", tuple(t for t in terms if t[1] or t[2]))

    def keeps(self, i: int) -> bool:
        """Whether this row, as row ``i``, leaves s_i unchanged (the forward pass skips it)."""
        return self.terms == ((i, 1.0, 0.0),) and not self.b0 and not self.b1


@dataclass(frozen=True)
class Layer:
    """The coefficients of one unrolled iteration over ``slots`` state slots.

    ``c``: slot j -> weight of s_j in T's input (explicit algorithms). ``sweeps``: each a mapping slot i ->
    its `Row`, applied in order; a slot without a row keeps its value. ``mix``: when set, row 0 of the sweep
    takes a learnable convex combination (softmax) of the first ``mix`` slots instead of its a0 (DenseNet-like).
    Stored in the order the forward pass runs: slots ascending, zero weights and rows that keep their slot
    left out.

    Example (heavy ball, β = 0.9):
        >>> layer = Layer(2, c={0: 1.0}, sweeps=({0: Row(a0={0: 1.9, 1: -0.9}, b1=1.0), 1: Row(a0={0: 1.0})},))
        >>> [(i, row.terms, row.b1) for i, row in layer.sweeps[0].items()]
        [(0, ((0, 1.9, 0.0), (1, -0.9, 0.0)), 1.0), (1, ((0, 1.0, 0.0),), 0.0)]
    """

    slots: int
    c: Mapping[int, float]
    sweeps: tuple[Mapping[int, Row], ...]
    mix: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.slots, bool) or not isinstance(self.slots, int) or self.slots < 1:
            raise ValueError(f"Layer.slots={self.slots!r} is invalid; valid: an integer >= 1")
        for n, s in enumerate(self.sweeps):
            bad = next((r for r in s.values() if not isinstance(r, Row)), None)
            if bad is not None:
                raise ValueError(f"Layer: sweep {n} holds {str(bad)[:80]}; valid: rows written Row(a0=..., b1=...)")
        used = [*self.c, *(j for s in self.sweeps for i, r in s.items() for j in (i, *r.a0, *r.a1))]
        wrong = [j for j in used if not 0 <= j < self.slots]
        if wrong:
            raise ValueError(f"Layer: slot {wrong[0]!r} is out of range; valid: 0..{self.slots - 1}")
        if self.mix is not None and not (isinstance(self.mix, int) and 1 <= self.mix <= self.slots):
            raise ValueError(f"Layer.mix={self.mix!r} is invalid; valid: None or 1..{self.slots}")
        c = {int(j): float(v) for j, v in sorted(self.c.items()) if v}
        sweeps = tuple({int(i): r for i, r in sorted(s.items()) if not r.keeps(i)} for s in self.sweeps)
        object.__setattr__(self, "c", c)
        object.__setattr__(self, "sweeps", sweeps)
