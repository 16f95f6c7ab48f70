"""The initialization to use when an activation has no critical point (RePU with p >= 2, softplus...).

No (C_b, C_W) makes χ_∥ = χ_⊥ = 1 at a fixed point, so one of the two must give. We keep χ_⊥ = 1 (the
backpropagated gradient and the angle between nearby inputs are preserved) at a fixed point K* of the
kernel map, taking K* = 1 (a unit-variance input) when C_b >= 0 allows it, else the allowed K* nearest
to 1 on a log scale, and report χ_∥ = C_W·dE[σ²]/dK there: when it exceeds 1 the fixed point is
unstable and the kernel escapes exponentially (RePU p = 2: χ_∥ = 1.5). When no fixed point with
χ_⊥ = 1 and C_b >= 0 exists at all, C_b = 0 and C_W = 1/E[σ'(z)²] at K = 1. [ours]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import optimize

from ._sigma import Sigma
from .kernel import Moments, sigma_escape_depth, sigma_moments

SOURCES = ("critical", "fallback")


@dataclass(frozen=True)
class InitChoice:
    """The (C_b, C_W) to initialize with: W ~ N(0, C_W/fan_in), b ~ N(0, C_b).

    source is "critical" (a critical point of the activation) or "fallback" (none exists; see reason).
    k_star is the fixed point the choice is built around (None: every K is one, or none is).
    """

    c_b: float
    c_w: float
    source: str
    reason: str
    k_star: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _slack(m: Moments) -> float:
    # C_b = K − E[σ²]/E[σ'²] >= 0  <=>  K·E[σ'²] − E[σ²] >= 0 (sign-safe when E[σ'²] is tiny)
    return m.k * m.slope_sq - m.sigma_sq


def fallback_choice(sig: Sigma, grid: Sequence[Moments], why: str) -> InitChoice:
    """The χ_⊥ = 1 fixed point nearest K = 1 (see the module docstring); ``grid`` spans K around 1."""
    unit = sigma_moments(sig, 1.0)
    if not unit.slope_sq > 0:
        raise ValueError(f"activation {sig.label} has σ' = 0 almost everywhere: no initialization helps")
    k_star: float | None
    if _slack(unit) >= 0:
        k_star = 1.0
    else:
        feasible = [m for m in grid if m.slope_sq > 0 and _slack(m) >= 0]
        k_star = None
        if feasible:
            best = min(feasible, key=lambda m: abs(math.log(m.k)))
            # the boundary between best and the infeasible K = 1 is where C_b reaches 0
            lo, hi = sorted((best.k, 1.0))
            k_star = float(optimize.brentq(lambda k: _slack(sigma_moments(sig, k)), lo, hi, xtol=1e-12 * hi))
            k_star = k_star if _slack(sigma_moments(sig, k_star)) >= 0 else best.k
    if k_star is None:
        c_w = 1.0 / unit.slope_sq
        return InitChoice(
            0.0,
            c_w,
            "fallback",
            f"{why}; no fixed point has χ_⊥ = 1 with C_b >= 0, so C_b = 0 and C_W = 1/E[σ'(z)²] at K = 1 "
            f"(χ_⊥ = 1 there, χ_∥ = {c_w * unit.d_sigma_sq:.4g}; the kernel is not stationary)",
        )
    m = sigma_moments(sig, k_star)
    c_w = 1.0 / m.slope_sq
    c_b = max(0.0, k_star - c_w * m.sigma_sq)
    chi_par = c_w * m.d_sigma_sq
    drift = "is pulled back to K*"
    if chi_par > 1:
        # the exact recursion sits on K* forever; say how fast a 1% error in the input kernel escapes
        escape = sigma_escape_depth(sig, c_b, c_w, 1.01 * k_star, 1000)
        drift = "escapes from K* exponentially: a kernel 1% above K* leaves [K*/10, 10·K*] after " + (
            f"{escape} layers" if escape is not None else "more than 1000 layers"
        )
    return InitChoice(
        c_b,
        c_w,
        "fallback",
        f"{why}; fallback: the fixed point K* = {k_star:.4g} with χ_⊥ = 1, where χ_∥ = {chi_par:.4g} "
        f"(a perturbed kernel {drift})",
        k_star,
    )


def log_grid(low: float = 1e-3, high: float = 1e4, per_decade: int = 8) -> np.ndarray:
    """The kernels the analysis scans: log-spaced over [low, high]."""
    decades = math.log10(high) - math.log10(low)
    return np.logspace(math.log10(low), math.log10(high), round(decades * per_decade) + 1)
