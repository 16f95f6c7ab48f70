"""The infinite-width kernel recursion and its susceptibilities (Roberts–Yaida–Hanin, ch. 5).

For preactivations z ~ N(0, K) one layer maps the kernel to K' = C_b + C_W·E[σ(z)²]. Its two
susceptibilities are χ_∥ = C_W·dE[σ(z)²]/dK (a change of K along itself) and χ_⊥ = C_W·E[σ'(z)²] (a
perpendicular perturbation). Every expectation is one Gaussian integral (`_quadrature`).

dE[σ²]/dK is computed as E[σ(z)²·(z² − K)]/(2K²), the derivative of the Gaussian density, so χ_∥ needs no
derivative of σ and stays exact for kinked activations (ReLU, RePU).

Example:
    >>> round(kernel_map("relu", 0.0, 2.0, 1.7), 12)
    1.7
    >>> round(chi_parallel("tanh", 0.0, 1.0, 1e-6), 4), round(chi_perp("tanh", 0.0, 1.0, 1e-6), 4)
    (1.0, 1.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _validate
from ._quadrature import gaussian_rule
from ._sigma import Sigma, resolve

__all__ = ["Moments", "chi_parallel", "chi_perp", "escape_depth", "kernel_flow", "kernel_map", "moments"]


@dataclass(frozen=True)
class Moments:
    """The three Gaussian integrals at kernel K: E[σ²], dE[σ²]/dK and E[σ'²]."""

    k: float
    sigma_sq: float
    d_sigma_sq: float
    slope_sq: float

    @property
    def ratio(self) -> float:
        """χ_∥/χ_⊥ = (dE[σ²]/dK)/E[σ'²], independent of C_W (inf where σ' vanishes a.e.)."""
        return self.d_sigma_sq / self.slope_sq if self.slope_sq > 0 else math.inf


def sigma_moments(sig: Sigma, k: float, *, slopes: bool = True) -> Moments:
    """`Moments` of an already resolved activation (skip σ' with ``slopes=False``)."""
    z, w = gaussian_rule(k)
    with np.errstate(over="ignore", invalid="ignore"):  # an overflowing σ gives inf/nan: callers check
        return _moments(sig, k, z, w, slopes)


def _moments(sig: Sigma, k: float, z: np.ndarray, w: np.ndarray, slopes: bool) -> Moments:
    if slopes:
        s, ds = sig.values_and_slopes(z)
        slope_sq = float(np.dot(w, ds * ds))
    else:
        s, slope_sq = sig.values(z), math.nan
    s2 = s * s
    return Moments(float(k), float(np.dot(w, s2)), float(np.dot(w, s2 * (z * z - k))) / (2.0 * k * k), slope_sq)


def moments(activation: str, k: float, **params: Any) -> Moments:
    """E[σ(z)²], dE[σ(z)²]/dK and E[σ'(z)²] for z ~ N(0, k).

    Example:
        >>> m = moments("repu", 1.0, p=2)
        >>> round(m.sigma_sq, 12), round(m.ratio, 12)
        (1.5, 1.5)
    """
    return sigma_moments(resolve(activation, params), k)


def kernel_map(activation: str, c_b: float, c_w: float, k: float, **params: Any) -> float:
    """One layer of the kernel recursion: C_b + C_W·E[σ(z)²], z ~ N(0, k)."""
    return c_b + c_w * sigma_moments(resolve(activation, params), k, slopes=False).sigma_sq


def chi_parallel(activation: str, c_b: float, c_w: float, k: float, **params: Any) -> float:
    """χ_∥(K) = C_W·dE[σ²]/dK: how a change of the kernel itself grows per layer (C_b drops out)."""
    return c_w * sigma_moments(resolve(activation, params), k, slopes=False).d_sigma_sq


def chi_perp(activation: str, c_b: float, c_w: float, k: float, **params: Any) -> float:
    """χ_⊥(K) = C_W·E[σ'(z)²]: how a perpendicular perturbation (and a backpropagated gradient) grows."""
    return c_w * sigma_moments(resolve(activation, params), k).slope_sq


def sigma_flow(sig: Sigma, c_b: float, c_w: float, k0: float, depth: int) -> np.ndarray:
    """K_0 = k0, ..., K_depth of a plain MLP; stops early (the rest inf or 0) once K leaves (1e-300, 1e300)."""
    ks = np.empty(depth + 1)
    ks[0] = k = float(k0)
    for layer in range(1, depth + 1):
        if not 1e-300 < k < 1e300:
            ks[layer:] = math.inf if k >= 1e300 else 0.0
            break
        k = c_b + c_w * sigma_moments(sig, k, slopes=False).sigma_sq
        ks[layer] = k if math.isfinite(k) else math.inf
    return ks


def kernel_flow(activation: str, c_b: float, c_w: float, k0: float, depth: int, **params: Any) -> np.ndarray:
    """The kernels K_0 = k0, K_1, ..., K_depth of a plain (non-residual) MLP at infinite width.

    Example:
        >>> kernel_flow("relu", 0.0, 4.0, 1.0, 3).round(9).tolist()
        [1.0, 2.0, 4.0, 8.0]
    """
    _check_init(c_b, c_w, k0)
    return sigma_flow(resolve(activation, params), c_b, c_w, k0, _depth(depth))


def sigma_escape_depth(sig: Sigma, c_b: float, c_w: float, k0: float, max_depth: int) -> int | None:
    low, high = k0 / 10.0, k0 * 10.0
    k = float(k0)
    for layer in range(1, max_depth + 1):
        k_next = c_b + c_w * sigma_moments(sig, k, slopes=False).sigma_sq
        if not low <= k_next <= high:  # also catches nan
            return layer
        if abs(k_next - k) <= 1e-15 * k:  # sitting on a fixed point: it stays there
            return None
        k = k_next
    return None


def escape_depth(
    activation: str, c_b: float, c_w: float, k0: float, max_depth: int = 1000, **params: Any
) -> int | None:
    """The first layer ℓ whose kernel K_ℓ leaves [k0/10, 10·k0] (K_0 = k0), or None if none does by max_depth.

    Example:
        >>> escape_depth("relu", 0.0, 4.0, 1.0)  # K doubles per layer: 1, 2, 4, 8, 16
        4
        >>> escape_depth("relu", 0.0, 2.0, 1.0) is None  # critical: K stays put
        True
    """
    _check_init(c_b, c_w, k0)
    return sigma_escape_depth(resolve(activation, params), c_b, c_w, float(k0), _depth(max_depth))


def _check_init(c_b: float, c_w: float, k0: float) -> None:
    for name, value in (("c_b", c_b), ("c_w", c_w), ("k0", k0)):
        _validate.number(name, value, 0, low_open=name != "c_b")


def _depth(depth: int) -> int:
    return _validate.integer("depth", depth, 1)
