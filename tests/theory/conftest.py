"""Independent numerical references for the theory tests: scipy's adaptive quadrature of the Gaussian
integral (not the package's Gauss–Legendre rule) and finite differences of plain numpy functions."""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable

import numpy as np
from scipy import integrate, special

Fn = Callable[[float], float]

# numpy versions of the activations, written independently of optnas/torch
NUMPY_ACTIVATIONS: dict[str, Fn] = {
    "gelu": lambda z: z * 0.5 * (1.0 + special.erf(z / math.sqrt(2.0))),
    "silu": lambda z: z * special.expit(z),
    "sigmoid": lambda z: special.expit(z),
    "softplus": lambda z: float(np.logaddexp(0.0, z)),
    "tanh": math.tanh,
}


def gauss_expect(f: Fn, k: float) -> float:
    """E[f(z)], z ~ N(0, k), by scipy.integrate.quad over the whole line."""
    s = math.sqrt(k)

    def integrand(u: float) -> float:
        return f(s * u) * math.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi)

    # split at 0 and at the activation scale, where the integrands bend
    points = sorted({-8.0 / s, -1.0 / s, 0.0, 1.0 / s, 8.0 / s})
    points = [p for p in points if -12 < p < 12]
    total, edges = 0.0, [-12.0, *points, 12.0]
    with warnings.catch_warnings():
        # quad may warn that it cannot reach 1e-13 (roundoff); the tests' tolerances are looser than that
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        for lo, hi in itertools.pairwise(edges):
            total += integrate.quad(integrand, lo, hi, epsabs=1e-15, epsrel=1e-13, limit=400)[0]
    return total


def derivative(f: Fn, z: float, h: float = 1e-5) -> float:
    return (f(z + h) - f(z - h)) / (2.0 * h)


def reference_moments(f: Fn, k: float) -> tuple[float, float, float]:
    """E[σ²], dE[σ²]/dK (central difference in K) and E[σ'²] (σ' by central differences)."""
    g = gauss_expect(lambda z: f(z) ** 2, k)
    dk = 1e-4 * k
    dg = (gauss_expect(lambda z: f(z) ** 2, k + dk) - gauss_expect(lambda z: f(z) ** 2, k - dk)) / (2 * dk)
    h = gauss_expect(lambda z: derivative(f, z) ** 2, k)
    return g, dg, h
