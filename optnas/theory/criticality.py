"""Criticality analysis of one activation: the critical (C_b, C_W), its universality class, the evidence.

A critical point is a fixed point K* = C_b + C_W·E[σ²] at which χ_∥ = χ_⊥ = 1 (Roberts–Yaida–Hanin).
Three routes are tried, in this order:

1. scale-invariant: σ(λz) = λσ(z) for λ > 0 (ReLU, leaky ReLU). Then χ_∥ = χ_⊥ = C_W·E[σ²]/K at every K,
   critical at C_b = 0, C_W = K/E[σ²] (= 2 for ReLU), every K a fixed point. [textbook]
2. K* = 0: σ(0) = 0 and σ'(0) = σ1 ≠ 0. Critical at C_b = 0, C_W = 1/σ1², K* = 0. Near it the kernel
   moves as K' ≈ K + a1·K² with a1 = σ3/σ1 + (3/4)(σ2/σ1)² (σk the k-th derivative at 0): a1 < 0 (tanh,
   a1 = −2) pulls K to 0 as a power law, a1 > 0 (MRePU, a1 = 3p(2p − 1); GELU; SiLU) pushes it up.
   [textbook; the MRePU value is ours]
3. K* > 0: with C_W eliminated, criticality needs dE[σ²]/dK = E[σ'²] at K*, i.e. χ_∥/χ_⊥ = 1. We scan that
   ratio over K in [1e-3, 1e4] for sign changes of ratio − 1, refine each with Brent's method and keep
   the roots whose C_b = K* − E[σ²]/E[σ'²] is >= 0. [ours: a numerical search]

The class is "scale-invariant", "K*=0" or "none" by the definitions of routes 1 and 2; route 3 can find
critical points whatever the class. When several exist, the one recommended (its C_b, C_W head the report
and `init_parameters` uses it) keeps the kernel of a unit-variance input in [0.1, 10] for the most
layers. Where none exists the report says why and carries the fallback initialization (`_fallback`).
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import optimize

from ._fallback import InitChoice, fallback_choice, log_grid
from ._sigma import Sigma, resolve
from .kernel import Moments, sigma_escape_depth, sigma_moments

__all__ = ["CriticalPoint", "CriticalityReport", "criticality"]

UNIVERSALITY_CLASSES = ("scale-invariant", "K*=0", "none")
DEPTH_K0 = (0.01, 0.1, 1.0, 10.0)  # input kernels of the report's depth predictions
MAX_DEPTH = 1000


@dataclass(frozen=True)
class CriticalPoint:
    """One critical initialization. kind: "scale-invariant", "K*=0" or "K*>0"; k_star None means every K.

    escape_depth is the first layer at which the kernel of a unit input (K_0 = 1) leaves [0.1, 10]
    (None: not within 1000 layers).
    """

    kind: str
    c_b: float
    c_w: float
    k_star: float | None
    chi_par: float
    chi_perp: float
    escape_depth: int | None


@dataclass(frozen=True)
class CriticalityReport:
    """The effective-theory report of one activation; build it with `criticality`.

    c_b, c_w, k_star, chi_par, chi_perp describe the recommended critical point (None where there is
    none); critical_points lists all that were found; init is what `init_parameters` returns (the
    critical point, or the fallback); depth_predictions maps an input kernel K0 to the first layer at
    which a plain MLP at ``init`` leaves [K0/10, 10·K0] (None: not within 1000 layers).
    """

    activation: str
    params: dict[str, Any]
    universality_class: str
    c_b: float | None
    c_w: float | None
    k_star: float | None
    chi_par: float | None
    chi_perp: float | None
    critical_points: tuple[CriticalPoint, ...]
    evidence: dict[str, Any]
    reason: str
    init: InitChoice
    depth_predictions: dict[float, int | None] = field(default_factory=dict)

    @property
    def critical(self) -> bool:
        return self.c_w is not None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (depth-prediction keys become strings)."""
        out = asdict(self)
        out["depth_predictions"] = {repr(k): v for k, v in self.depth_predictions.items()}
        return out

    def format(self) -> str:
        """A human-readable multi-line summary."""
        label = self.activation + (
            "(" + ", ".join(f"{k}={v!r}" for k, v in sorted(self.params.items())) + ")" if self.params else ""
        )
        lines = [f"activation        {label}", f"universality      {self.universality_class}"]
        if self.critical:
            k_star = "every K" if self.k_star is None else f"{self.k_star:.6g}"
            lines += [
                f"critical C_b      {self.c_b:.6g}",
                f"critical C_W      {self.c_w:.6g}",
                f"fixed point K*    {k_star}",
                f"chi_par, chi_perp {self.chi_par:.6g}, {self.chi_perp:.6g}",
            ]
        else:
            lines.append("critical point    none")
        for p in self.critical_points:
            k_star = "every K" if p.k_star is None else f"{p.k_star:.6g}"
            lines.append(
                f"  {p.kind:<15} C_b={p.c_b:.6g} C_W={p.c_w:.6g} K*={k_star} "
                f"escape from K0=1: {_depth_text(p.escape_depth)}"
            )
        lines.append("evidence          " + ", ".join(f"{k}={_num(v)}" for k, v in self.evidence.items()))
        init = self.init
        lines.append(f"init ({init.source})".ljust(18) + f"C_b={init.c_b:.6g} C_W={init.c_w:.6g}: {init.reason}")
        lines.append(
            "escape depth      " + ", ".join(f"K0={k:g}: {_depth_text(d)}" for k, d in self.depth_predictions.items())
        )
        lines.append(f"reason            {self.reason}")
        return "\n".join(lines)


def _depth_text(depth: int | None) -> str:
    return f"> {MAX_DEPTH}" if depth is None else str(depth)


def _num(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else repr(value)


def criticality(activation: str, **params: Any) -> CriticalityReport:
    """The criticality report of a registered activation (built-in or user-registered).

    Example:
        >>> report = criticality("relu")
        >>> report.universality_class, report.c_b, round(report.c_w, 9)
        ('scale-invariant', 0.0, 2.0)
        >>> criticality("repu", p=2).c_w is None
        True
    """
    sig = resolve(activation, params)
    key = sig.cache_key
    try:
        report = _CACHE.get(key)
    except TypeError:  # unhashable parameter values: analyse without caching
        return _analyse(sig)
    if report is None:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        report = _CACHE[key] = _analyse(sig)
    return copy.deepcopy(report)  # the report holds dicts: a caller's edits must not reach the cache


# (name, params, registered factory) -> report; searches score many specs that share an activation
_CACHE: dict[tuple[Any, ...], CriticalityReport] = {}
_CACHE_SIZE = 256


def _scale_invariant(sig: Sigma) -> bool:
    z = np.linspace(-5.0, 5.0, 101)
    s = sig.values(z)
    if not np.any(s):
        return False
    return all(np.allclose(sig.values(lam * z), lam * s, rtol=1e-12, atol=1e-12) for lam in (0.5, 3.0))


def _escape(sig: Sigma, c_b: float, c_w: float) -> int | None:
    return sigma_escape_depth(sig, c_b, c_w, 1.0, MAX_DEPTH)


def _positive_k_points(sig: Sigma, grid: list[Moments]) -> tuple[list[CriticalPoint], list[float]]:
    """Route 3: roots of χ_∥/χ_⊥ − 1 on the grid; also the roots rejected for needing C_b < 0."""

    def rho(k: float) -> float:
        return sigma_moments(sig, k).ratio - 1.0

    points, rejected = [], []
    for left, right in itertools.pairwise(grid):
        a, b = left.ratio - 1.0, right.ratio - 1.0
        if not (math.isfinite(a) and math.isfinite(b)) or a * b >= 0 or min(abs(a), abs(b)) < 1e-12:
            continue
        k_star = float(optimize.brentq(rho, left.k, right.k, xtol=1e-13 * right.k, rtol=1e-14))
        m = sigma_moments(sig, k_star)
        c_w = 1.0 / m.slope_sq
        c_b = k_star - c_w * m.sigma_sq
        if c_b < -1e-9 * k_star:
            rejected.append(k_star)
            continue
        c_b = max(c_b, 0.0)
        chi_par, chi_perp = c_w * m.d_sigma_sq, c_w * m.slope_sq
        points.append(CriticalPoint("K*>0", c_b, c_w, k_star, chi_par, chi_perp, _escape(sig, c_b, c_w)))
    return points, rejected


def _analyse(sig: Sigma) -> CriticalityReport:
    s0, s1, s2, s3 = sig.taylor_at_zero()
    grid = [sigma_moments(sig, float(k)) for k in log_grid()]
    ratios = [m.ratio for m in grid if math.isfinite(m.ratio)]
    evidence: dict[str, Any] = {
        "sigma0": s0,
        "sigma1": s1,
        "sigma2": s2,
        "sigma3": s3,
        "a1": None,
        "scale_invariant": _scale_invariant(sig),
        "chi_ratio_min": min(ratios) if ratios else None,
        "chi_ratio_max": max(ratios) if ratios else None,
        "k_scanned": [float(grid[0].k), float(grid[-1].k)],
    }
    points: list[CriticalPoint] = []
    notes: list[str] = []
    if evidence["scale_invariant"]:
        cls = "scale-invariant"
        unit = sigma_moments(sig, 1.0)
        c_w = 1.0 / unit.sigma_sq
        points.append(CriticalPoint(cls, 0.0, c_w, None, c_w * unit.d_sigma_sq, c_w * unit.slope_sq, None))
        notes.append(
            f"σ(λz) = λσ(z), so χ_∥ = χ_⊥ = C_W·E[σ²]/K at every K: critical at C_b = 0, C_W = {c_w:.6g}, "
            "and every K is a fixed point"
        )
    elif abs(s0) <= 1e-12 and s1 is not None and abs(s1) > 1e-8:
        cls = "K*=0"
        assert s2 is not None and s3 is not None
        a1 = s3 / s1 + 0.75 * (s2 / s1) ** 2
        evidence["a1"] = a1
        c_w = 1.0 / s1**2
        tiny = sigma_moments(sig, 1e-8)
        points.append(
            CriticalPoint(cls, 0.0, c_w, 0.0, c_w * tiny.d_sigma_sq, c_w * tiny.slope_sq, _escape(sig, 0.0, c_w))
        )
        trend = (
            "K decays to 0 as a power law (stable)"
            if a1 < 0
            else "the kernel creeps up with depth (K* = 0 is only half-stable): a small input kernel matters"
        )
        notes.append(
            f"σ(0) = 0 and σ'(0) = {s1:.6g}: critical at C_b = 0, C_W = 1/σ'(0)² = {c_w:.6g} (K* = 0); "
            f"a1 = {a1:.6g}, so {trend}"
        )
    else:
        cls = "none"
        if abs(s0) > 1e-12:
            notes.append(f"σ(0) = {s0:.6g} ≠ 0 rules out the K*=0 class")
        elif s1 is None:
            notes.append("σ has a kink at 0, which rules out the K*=0 class")
        else:
            notes.append(f"σ(0) = 0 but σ'(0) = {s1:.3g}, which rules out the K*=0 class")
    if cls != "scale-invariant":
        found, rejected = _positive_k_points(sig, grid)
        points += found
        lo, hi = evidence["chi_ratio_min"], evidence["chi_ratio_max"]
        scan = f"χ_∥/χ_⊥ ranges over [{lo:.6g}, {hi:.6g}] for K in [1e-3, 1e4]"
        if found:
            notes.append(
                scan
                + "; it crosses 1 at K* = "
                + ", ".join(f"{p.k_star:.6g}" for p in found)
                + ", each a critical point with C_b >= 0"
            )
        elif rejected:
            notes.append(scan + f"; it crosses 1 only at K* = {rejected}, which would need C_b < 0")
        elif cls == "none":
            notes.append(scan + " and never crosses 1: no (C_b, C_W) makes χ_∥ = χ_⊥ = 1 at a fixed point")
        evidence["rejected_k_star"] = rejected
    reason = "; ".join(notes)
    best = _recommend(points)
    if best is None:
        init = fallback_choice(sig, grid, "no critical point")
    else:
        init = InitChoice(best.c_b, best.c_w, "critical", f"the {best.kind} critical point", best.k_star)
        if len(points) > 1:
            reason += (
                f"; of {len(points)} critical points the {best.kind} one is recommended: it keeps a unit "
                "input kernel in [0.1, 10] longest"
            )
    depths = {k0: sigma_escape_depth(sig, init.c_b, init.c_w, k0, MAX_DEPTH) for k0 in DEPTH_K0}
    return CriticalityReport(
        activation=sig.name,
        params=dict(sig.params),
        universality_class=cls,
        c_b=None if best is None else best.c_b,
        c_w=None if best is None else best.c_w,
        k_star=None if best is None else best.k_star,
        chi_par=None if best is None else best.chi_par,
        chi_perp=None if best is None else best.chi_perp,
        critical_points=tuple(points),
        evidence=evidence,
        reason=reason,
        init=init,
        depth_predictions=depths,
    )


def _recommend(points: list[CriticalPoint]) -> CriticalPoint | None:
    if not points:
        return None
    # None (never escapes within MAX_DEPTH) beats any finite depth; ties keep the listed order
    return max(points, key=lambda p: MAX_DEPTH + 1 if p.escape_depth is None else p.escape_depth)
