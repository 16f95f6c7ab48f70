"""Linear algebra of the certificate: power-boundedness, product bounds, consistency (THEORY.md §1)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TOL = 1e-9


def eigen_summary(a: np.ndarray) -> str:
    ev = np.linalg.eigvals(a)
    ev = ev[np.argsort(-np.abs(ev))]
    return ", ".join(_fmt(z) for z in ev)


def _fmt(z: complex) -> str:
    z = complex(z)
    if abs(z.imag) < 1e-12:
        return f"{z.real:.6g}"
    return f"{z.real:.4g}{'+' if z.imag >= 0 else '-'}{abs(z.imag):.4g}i"


def power_bounded(a: np.ndarray, circle_tol: float = 1e-4) -> tuple[bool, str]:
    """Exact root condition: every |λ| <= 1 and eigenvalues on the unit circle are semisimple.

    A repeated eigenvalue without a full set of eigenvectors is split by rounding into a cluster of radius
    ~eps^(1/multiplicity) (1e-5 for a triple root), so eigenvalues within ``circle_tol`` of the circle are
    clustered first and each cluster's multiplicity compared with its number of independent eigenvectors.
    """
    ev = np.linalg.eigvals(a)
    m = a.shape[0]
    near = [z for z in ev if abs(abs(z) - 1) <= circle_tol]
    clusters: list[list[complex]] = []
    for z in near:
        group = next((g for g in clusters if abs(g[0] - z) <= 10 * circle_tol), None)
        if group is None:
            clusters.append([z])
        else:
            group.append(z)
    scale = max(1.0, float(np.linalg.norm(a, 2)))
    for group in clusters:
        center = complex(np.mean(group))
        center /= abs(center)  # on the circle
        geometric = m - np.linalg.matrix_rank(a - center * np.eye(m), tol=1e-6 * scale)
        if geometric < len(group):
            return False, f"eigenvalue {_fmt(center)} on the unit circle is repeated without independent eigenvectors"
    outside = [z for z in ev if abs(z) > 1 + circle_tol]
    if outside:
        return False, f"eigenvalue(s) {', '.join(_fmt(z) for z in outside)} outside the unit disc"
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


def drift(a: np.ndarray, b: np.ndarray, c: np.ndarray, e: np.ndarray) -> Drift:
    preserved = bool(np.allclose(a @ e, e, atol=1e-8))
    ev, left = np.linalg.eig(a.T)
    ones = [i for i, z in enumerate(ev) if abs(z - 1) <= 1e-7]
    simple = len(ones) == 1
    step = float("nan")
    if simple:
        w = np.real(left[:, ones[0]])
        denom = float(w @ e)
        if abs(denom) > TOL:
            step = float((w / denom) @ b)
    return Drift(preserved, simple, step, float(c @ e))
