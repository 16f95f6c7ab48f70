from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.polynomial.hermite_e import hermegauss

from optnas.theory._quadrature import gaussian_rule

from .conftest import gauss_expect


@pytest.mark.parametrize("k", [1e-8, 1e-3, 0.37, 1.0, 42.0, 1e4, 1e8])
def test_gaussian_moments_are_exact(k: float) -> None:
    z, w = gaussian_rule(k)
    for power, double_factorial in ((0, 1), (2, 1), (4, 3), (6, 15), (8, 105)):
        assert float(w @ z**power) == pytest.approx(double_factorial * k ** (power // 2), rel=1e-13)


def test_half_line_moments_are_exact() -> None:
    # ReLU-like integrands: a kink at 0 sits on a panel edge
    z, w = gaussian_rule(2.5)
    assert float(w @ np.maximum(z, 0) ** 2) == pytest.approx(2.5 / 2, rel=1e-13)
    assert float(w @ (z > 0)) == pytest.approx(0.5, rel=1e-13)


@pytest.mark.parametrize("k", [1e-2, 1.0, 1e3])
def test_at_least_as_accurate_as_gauss_hermite(k: float) -> None:
    exact = gauss_expect(lambda t: math.tanh(t) ** 2, k)
    z, w = gaussian_rule(k)
    ours = abs(float(w @ np.tanh(z) ** 2) - exact)
    u, wh = hermegauss(200)
    hermite = abs(float(wh @ np.tanh(math.sqrt(k) * u) ** 2) / math.sqrt(2 * math.pi) - exact)
    assert ours <= max(hermite, 1e-13)
    assert ours < 1e-12


@pytest.mark.parametrize("bad", [0.0, -1.0, math.inf, math.nan])
def test_bad_kernel_is_rejected(bad: float) -> None:
    with pytest.raises(ValueError, match="kernel K"):
        gaussian_rule(bad)
