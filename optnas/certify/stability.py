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
            clusters.append(Cluster(center, len(g), independent))
    return Spectrum(tuple(clusters), tol)


def eigen_summary(a: np.ndarray) -> str:
    """The clusters, largest modulus first, a repeated one with its multiplicity (``1 (×2)``)."""
    return ", ".join(_fmt(c.value) + (f" (×{c.count})" if c.count > 1 else "") for c in spectrum(a).clusters)


def _fmt(z: complex) -> str:
    z = complex(z)
    if abs(z.imag) < 1e-12:
        return f"{z.real:.6g}"
    return f"{z.real:.4g}{'+' if z.imag >= 0 else '-'}{abs(z.imag):.4g}i"


def power_bounded(a: np.ndarray) -> tuple[bool, str]:
    """Exact root condition: every |λ| <= 1 and eigenvalues on the unit circle are semisimple."""
    spec = spectrum(a)
    for c in spec.on_circle():
        if not c.semisimple:
            return False, (
                f"eigenvalue {_fmt(c.value)} on the unit circle is repeated ({c.count}×) with {c.independent} "
                f"independent eigenvector(s) (eigenvalues within {spec.tol:.1g} are one)"
            )
    outside = spec.outside()
    if outside:
        return False, f"eigenvalue(s) {', '.join(_fmt(c.value) for c in outside)} outside the unit disc"
    return True, f"eigenvalues {eigen_summary(a)}: inside the closed unit disc, unit-modulus ones semisimple"


def max_product_norm(mats: list[np.ndarray]) -> float:
    """max over 0 <= j <= k < L of ||A_k···A_j||_2 (O(L²) small products)."""
    best = 0.0
    for j in range(len(mats)):
        p = np.eye(mats[0].shape[0])
        for k in range(j, len(mats)):
            p = mats[k] @ p
            n = np.linalg.norm(p, 2)
            if not np.isfinite(n):
                return float("inf")
            best = max(best, float(n))
    return best


@dataclass(frozen=True)
class Drift:
    """Consistency of one layer: the equilibrium direction e is kept, and the step along it."""

    preserved: bool
    simple: bool
    step: float  # effective step w·b along e (w: left eigenvector of eigenvalue 1, w·e = 1)
    t_input: float  # C·e: how much of x the module T sees at equilibrium


def drift(a: np.ndarray, b: np.ndarray, c: np.ndarray, e: np.ndarray, *, proven_simple: bool = False) -> Drift:
    """A·e = e (within the tolerance), eigenvalue 1 simple (the `spectrum` policy, or ``proven_simple`` by a
    structural argument, which skips the eigenvalue computation), and the effective step along e."""
    tol = EIG_TOL * max(1.0, float(np.linalg.norm(a, 2)))
    preserved = bool(np.max(np.abs(a @ e - e), initial=0.0) <= tol)
    if proven_simple:
        simple = True
    else:
        one = spectrum(a).at(1.0)
        simple = one is not None and one.count == 1
    step = float("nan")
    if simple:
        w = _left_null(a) if not proven_simple else _left_null_double(a)
        denom = float(w @ e)
        if abs(denom) > TOL:
            step = float((w / denom) @ b)
    return Drift(preserved, simple, step, float(c @ e))


def _left_null(a: np.ndarray) -> np.ndarray:
    """w with w·(A − I) = 0, at the spectrum's precision (w·e ≈ 1 − β is tiny for β near 1)."""
    m = a.shape[0]
    with mpmath.workdps(DIGITS):
        _, _, v = mpmath.svd_r(mpmath.matrix((a - np.eye(m)).T.tolist()))
        return np.array([float(v[m - 1, j]) for j in range(m)])


def _left_null_double(a: np.ndarray) -> np.ndarray:
    ev, left = np.linalg.eig(a.T)
    return np.real(left[:, int(np.argmin(np.abs(ev - 1)))])
