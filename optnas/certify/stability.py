"""Linear algebra of the certificate: the spectrum of A, power-boundedness, products, consistency.

One tolerance policy for every eigenvalue test (docs/certificate.md, "Tolerance"). The tables are rounded
doubles; their eigenvalues are computed from those exact doubles at 50 significant digits (mpmath), so the
eigen-solver itself neither splits a repeated root (a Jordan block of size s splits by ~1e-50^(1/s), below
the tolerance for s <= 6) nor merges distinct ones. Then, with ``scale = max(1, ‖A‖₂)``:

- two eigenvalues are one (repeated) eigenvalue when they lie within ``EIG_TOL·scale`` of each other;
- an eigenvalue is on the unit circle when ``| |λ| − 1 | <= EIG_TOL·scale``, outside when ``|λ| > 1 + EIG_TOL·scale``;
- a repeated eigenvalue's independent eigenvectors are counted by the singular values of A − λI above
  ``EIG_TOL·scale``.

EIG_TOL = 1e-7: the rounding of a table entry (u ≈ 1.1e-16) moves an eigenvalue that is further than
EIG_TOL from every other one by at most u/EIG_TOL ≈ 1e-9, far inside the tolerance; and double precision
resolves a double root only to about √u ≈ 1.5e-8, so closer eigenvalues are not told apart. Consistency
("eigenvalue 1 simple") and zero-stability ("unit-modulus eigenvalues semisimple") read the same `Spectrum`,
so they cannot contradict each other. Heavy ball (roots 1 and β) is therefore certified for β in
[−1, 1 − 1e-7] and rejected closer to 1.
"""

from __future__ import annotations

import cmath
import math
from dataclasses import dataclass
from functools import lru_cache

import mpmath
import numpy as np

EIG_TOL = 1e-7
DIGITS = 50  # working precision of the eigenvalue computation
TOL = 1e-9  # non-eigenvalue guard: a left eigenvector with w·e this small cannot normalize the step


@dataclass(frozen=True)
class Cluster:
    """Eigenvalues within the tolerance of each other: one eigenvalue of algebraic multiplicity ``count``."""

    value: complex
    count: int
    independent: int  # geometric multiplicity: independent eigenvectors (m − rank(A − value·I))
    members: tuple[complex, ...] = ()  # the eigenvalues as computed (50 digits, rounded to doubles)

    def merged(self, tol: float) -> str:
        """When the tolerance merged distinct computed roots: which, how far apart, and what that means."""
        distinct = sorted(set(self.members), key=lambda z: (z.real, z.imag))
        if len(distinct) < 2:
            return ""
        spread = max(abs(a - b) for a in distinct for b in distinct)
        return (f"; the computed roots {', '.join(_polar(z) for z in distinct)} lie {spread:.2g} apart, within the "
                f"tolerance {tol:.2g} (EIG_TOL·max(1, ‖A‖₂)), so they count as one root of multiplicity "
                f"{self.count}: double precision cannot tell roots this close apart, and they may be distinct "
                "simple roots")

    @property
    def semisimple(self) -> bool:
        return self.independent >= self.count


@dataclass(frozen=True)
class Spectrum:
    """The eigenvalues of A grouped into clusters by the one tolerance policy."""

    clusters: tuple[Cluster, ...]
    tol: float  # EIG_TOL·scale

    def at(self, z: complex) -> Cluster | None:
        """The cluster at ``z`` (within the tolerance), if any."""
        return next((c for c in self.clusters if abs(c.value - z) <= self.tol), None)

    def on_circle(self) -> list[Cluster]:
        return [c for c in self.clusters if abs(abs(c.value) - 1) <= self.tol]

    def outside(self) -> list[Cluster]:
        return [c for c in self.clusters if abs(c.value) > 1 + self.tol]


def spectrum(a: np.ndarray) -> Spectrum:
    """Eigenvalues of ``a`` at high precision, clustered (see the module docstring for the policy).

    Example (heavy ball β = 0.9999: roots 1 and β, both simple):
        >>> s = spectrum(np.array([[1.9999, -0.9999], [1.0, 0.0]]))
        >>> [(round(c.value.real, 6), c.count) for c in s.clusters]
        [(1.0, 1), (0.9999, 1)]
    """
    a = np.asarray(a, dtype=float)
    return _spectrum(a.shape[0], a.tobytes())


@lru_cache(maxsize=4096)
def _spectrum(m: int, raw: bytes) -> Spectrum:
    a = np.frombuffer(raw, dtype=float).reshape(m, m)
    scale = max(1.0, float(np.linalg.norm(a, 2)))
    tol = EIG_TOL * scale
    with mpmath.workdps(DIGITS):
        am = mpmath.matrix(a.tolist())
        # mpmath returns (E, ER, EL) for 1×1 matrices whatever is asked
        ev = [complex(a[0, 0])] if m == 1 else [complex(z) for z in mpmath.eig(am, left=False, right=False)]
        groups: list[list[complex]] = []
        for z in sorted(ev, key=lambda z: (-abs(z), z.real, z.imag)):
            group = next((g for g in groups if min(abs(w - z) for w in g) <= tol), None)
            if group is None:
                groups.append([z])
            else:
                group.append(z)
        clusters = []
        for g in groups:
            center = complex(np.mean(g))
            independent = 1
            if len(g) > 1:
                sv = mpmath.svd_c(am - mpmath.mpc(center.real, center.imag) * mpmath.eye(m), compute_uv=False)
                independent = sum(1 for s in sv if abs(s) <= tol)
            clusters.append(Cluster(center, len(g), independent, tuple(g)))
    return Spectrum(tuple(clusters), tol)


def eigen_summary(a: np.ndarray) -> str:
    """The clusters, largest modulus first, a repeated one with its multiplicity (``1 (×2)``)."""
    spec = spectrum(a)

    def one(c: Cluster) -> str:
        near = abs(abs(c.value) - 1) <= spec.tol and abs(c.value) != 1.0  # on the circle by the tolerance only
        return (_polar(c.value) if near else _fmt(c.value)) + (f" (×{c.count})" if c.count > 1 else "")

    return ", ".join(one(c) for c in spec.clusters)


def _fmt(z: complex) -> str:
    """The root as computed, to 10 significant digits (a root at 1 + 2e-7 must not print as 1)."""
    z = complex(z)
    if abs(z.imag) < 1e-12:
        return f"{z.real:.10g}"
    return f"{z.real:.10g}{'+' if z.imag >= 0 else '-'}{abs(z.imag):.10g}i"


def _polar(z: complex) -> str:
    """``_fmt`` with modulus and argument: ``-1.0000002 (|λ| = 1.0000002, arg = 1π)``."""
    z = complex(z)
    turn = cmath.phase(z) / math.pi
    arg = {0.0: "0", 1.0: "π", -1.0: "-π"}.get(turn, f"{turn:.6g}π")
    return f"{_fmt(z)} (|λ| = {abs(z):.10g}, arg = {arg})"


def power_bounded(a: np.ndarray) -> tuple[bool, str]:
    """Exact root condition: every |λ| <= 1 and eigenvalues on the unit circle are semisimple."""
    spec = spectrum(a)
    for c in spec.on_circle():
        if not c.semisimple:
            return False, (
                f"eigenvalue {_polar(c.value)} on the unit circle is repeated ({c.count}×) with {c.independent} "
                f"independent eigenvector(s) (eigenvalues within {spec.tol:.2g} are one){c.merged(spec.tol)}"
            )
    outside = spec.outside()
    if outside:
        return False, (f"eigenvalue(s) {', '.join(_polar(c.value) for c in outside)} outside the unit disc "
                       f"(|λ| > 1 + {spec.tol:.2g})")
    return True, f"eigenvalues {eigen_summary(a)}: inside the closed unit disc, unit-modulus ones semisimple"


def max_product_norm(mats: list[np.ndarray]) -> float:
    """max over 0 <= j <= k < L of ||A_k···A_j||_2 (O(L²) small products, batched per j)."""
    best = 0.0
    for j in range(len(mats)):
        p = np.eye(mats[0].shape[0])
        products = []
        for k in range(j, len(mats)):
            p = mats[k] @ p
            products.append(p)
        norms = np.linalg.norm(np.stack(products), 2, axis=(1, 2)) if np.all(np.isfinite(p)) else [np.inf]
        if not np.all(np.isfinite(norms)):
            return float("inf")
        best = max(best, float(np.max(norms)))
    return best


@dataclass(frozen=True)
class Drift:
    """Consistency of one layer: the equilibrium direction e is kept, and the step along it."""

    preserved: bool
    simple: bool
    step: float  # effective step w·b along e (w: left eigenvector of eigenvalue 1, w·e = 1)
    t_input: float  # C·e: how much of x the module T sees at equilibrium
    note: str = ""  # when eigenvalue 1 is not simple: the computed roots there (and the tolerance's effect)


def drift(a: np.ndarray, b: np.ndarray, c: np.ndarray, e: np.ndarray, *, proven_simple: bool = False) -> Drift:
    """A·e = e (within the tolerance), eigenvalue 1 simple (the `spectrum` policy, or ``proven_simple`` by a
    structural argument, which skips the eigenvalue computation), and the effective step along e."""
    tol = EIG_TOL * max(1.0, float(np.linalg.norm(a, 2)))
    preserved = bool(np.max(np.abs(a @ e - e), initial=0.0) <= tol)
    note = ""
    if proven_simple:
        simple = True
    else:
        spec = spectrum(a)
        one = spec.at(1.0)
        simple = one is not None and one.count == 1
        if one is not None and not simple:
            note = one.merged(spec.tol) or f"; computed root {_polar(one.value)} (×{one.count})"
    step = float("nan")
    if simple:
        w = _left_null(a) if not proven_simple else _left_null_double(a)
        denom = float(w @ e)
        if abs(denom) > TOL:
            step = float((w / denom) @ b)
    return Drift(preserved, simple, step, float(c @ e), note)


def _left_null(a: np.ndarray) -> np.ndarray:
    """w with w·(A − I) = 0, at the spectrum's precision (w·e ≈ 1 − β is tiny for β near 1)."""
    m = a.shape[0]
    with mpmath.workdps(DIGITS):
        _, _, v = mpmath.svd_r(mpmath.matrix((a - np.eye(m)).T.tolist()))
        return np.array([float(v[m - 1, j]) for j in range(m)])


def _left_null_double(a: np.ndarray) -> np.ndarray:
    ev, left = np.linalg.eig(a.T)
    return np.real(left[:, int(np.argmin(np.abs(ev - 1)))])
