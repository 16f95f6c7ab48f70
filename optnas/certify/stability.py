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


def power_bounded(a: np.ndarray, tol: float = 1e-7) -> tuple[bool, str]:
    """Exact root condition: every |λ| <= 1 and eigenvalues on the unit circle are semisimple."""
    ev = np.linalg.eigvals(a)
    outside = [z for z in ev if abs(z) > 1 + tol]
    if outside:
        return False, f"eigenvalue(s) {', '.join(_fmt(z) for z in outside)} outside the unit disc"
    m = a.shape[0]
    for z in {complex(round(x.real, 6), round(x.imag, 6)) for x in ev if abs(abs(x) - 1) <= tol}:
        algebraic = int(sum(abs(x - z) <= 1e-5 for x in ev))
        geometric = m - np.linalg.matrix_rank(a - z * np.eye(m), tol=1e-6)
        if geometric < algebraic:
            return False, f"eigenvalue {_fmt(z)} on the unit circle is repeated without independent eigenvectors"
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
