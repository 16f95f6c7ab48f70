from __future__ import annotations

import math

import numpy as np
import pytest

from optnas.theory import chi_parallel, chi_perp, escape_depth, kernel_flow, kernel_map, moments

from .conftest import NUMPY_ACTIVATIONS, reference_moments

KS = [1e-3, 0.01, 0.3, 1.0, 2.7, 10.0, 100.0, 1e3]


def double_factorial(n: int) -> int:
    return math.prod(range(n, 0, -2))


def test_relu_kernel_is_half_the_variance() -> None:
    for k in KS:
        assert kernel_map("relu", 0.0, 2.0, k) == pytest.approx(k, rel=1e-13)
        assert kernel_map("relu", 0.5, 1.0, k) == pytest.approx(0.5 + k / 2, rel=1e-13)
        assert chi_parallel("relu", 0.0, 2.0, k) == pytest.approx(1.0, rel=1e-13)
        assert chi_perp("relu", 0.0, 2.0, k) == pytest.approx(1.0, rel=1e-13)


@pytest.mark.parametrize("p", [2, 3, 4])
def test_repu_second_moment_closed_form(p: int) -> None:
    # [ours] E[max(0, z)^(2p)] = ((2p − 1)!!/2)·K^p
    for k in KS:
        m = moments("repu", k, p=p)
        assert m.sigma_sq == pytest.approx(double_factorial(2 * p - 1) / 2 * k**p, rel=1e-12)


@pytest.mark.parametrize(("p", "ratio"), [(2, 1.5), (3, 5 / 3)])
def test_repu_susceptibility_ratio_is_constant(p: int, ratio: float) -> None:
    # [ours] χ_∥/χ_⊥ = (2p − 1)/p at every K, C_b and C_W: no initialization is critical
    for k in KS:
        for c_b, c_w in ((0.0, 1.0), (0.3, 0.2), (1.0, 7.0)):
            par, perp = chi_parallel("repu", c_b, c_w, k, p=p), chi_perp("repu", c_b, c_w, k, p=p)
            assert par / perp == pytest.approx(ratio, rel=1e-12)


@pytest.mark.parametrize("name", sorted(NUMPY_ACTIVATIONS))
@pytest.mark.parametrize("k", [0.05, 1.0, 20.0])
def test_moments_match_independent_quadrature(name: str, k: float) -> None:
    g, dg, h = reference_moments(NUMPY_ACTIVATIONS[name], k)
    m = moments(name, k)
    assert m.sigma_sq == pytest.approx(g, rel=1e-10)
    assert m.d_sigma_sq == pytest.approx(dg, rel=1e-6)  # the reference differentiates numerically
    assert m.slope_sq == pytest.approx(h, rel=1e-8)


def test_susceptibilities_match_a_monte_carlo_estimate() -> None:
    rng = np.random.default_rng(0)
    k, c_w = 1.7, 1.3
    z = rng.normal(0.0, math.sqrt(k), 2_000_000)
    sech2 = 1.0 / np.cosh(z) ** 2
    assert chi_perp("tanh", 0.0, c_w, k) == pytest.approx(c_w * float(np.mean(sech2**2)), rel=5e-3)
    # dE[σ²]/dK = E[σ'² + σσ''] (Gaussian integration by parts); for tanh σ'' = −2·tanh·sech²
    d = np.mean(sech2**2 - 2 * np.tanh(z) ** 2 * sech2)
    assert chi_parallel("tanh", 0.0, c_w, k) == pytest.approx(c_w * float(d), rel=5e-3)


def test_kernel_flow_and_escape_depth() -> None:
    flow = kernel_flow("relu", 0.0, 4.0, 1.0, 5)
    np.testing.assert_allclose(flow, [1, 2, 4, 8, 16, 32], rtol=1e-12)
    assert escape_depth("relu", 0.0, 4.0, 1.0) == 4  # 16 > 10
    assert escape_depth("relu", 0.0, 1.0, 1.0) == 4  # 1/16 < 1/10
    assert escape_depth("relu", 0.0, 2.0, 1.0) is None
    assert escape_depth("relu", 0.0, 2.0, 1.0, max_depth=3) is None


def test_tanh_kernel_decays_as_a_power_law() -> None:
    # K* = 0 class with a1 = −2: 1/K_ℓ ≈ 1/K_0 + 2ℓ for small K (Roberts–Yaida–Hanin §5.3)
    flow = kernel_flow("tanh", 0.0, 1.0, 0.01, 200)
    assert 1 / flow[200] == pytest.approx(100 + 2 * 200, rel=0.02)
    # K falls to K_0/10 when 10/K_0 = 1/K_0 + 2ℓ
    assert escape_depth("tanh", 0.0, 1.0, 0.01) == pytest.approx(9 / (2 * 0.01), rel=0.02)


def test_mrepu_kernel_creeps_up_and_escapes() -> None:
    # a1 = 18 for p = 2: 1/K_ℓ ≈ 1/K_0 − 18ℓ, so K doubles near ℓ = 1/(2·18·K_0) and escapes before 1/(18·K_0)
    k0 = 1e-3
    flow = kernel_flow("mrepu", 0.0, 1.0, k0, 28, p=2)
    assert flow[28] == pytest.approx(1 / (1 / k0 - 18 * 28), rel=0.1)
    depth = escape_depth("mrepu", 0.0, 1.0, k0, p=2)
    assert depth is not None and 0.8 / (18 * k0) < depth < 1 / (18 * k0)


def test_flow_stops_cleanly_on_overflow() -> None:
    flow = kernel_flow("repu", 0.0, 1.0, 10.0, 50, p=3)
    assert flow[-1] == math.inf and np.all(np.diff(flow[np.isfinite(flow)]) > 0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"c_b": -1.0}, "c_b"),
        ({"c_w": 0.0}, "c_w"),
        ({"c_w": math.nan}, "c_w"),
        ({"k0": 0.0}, "k0"),
    ],
)
def test_bad_initialization_is_a_value_error(kwargs: dict[str, float], match: str) -> None:
    args = {"c_b": 0.0, "c_w": 2.0, "k0": 1.0, **kwargs}
    with pytest.raises(ValueError, match=match):
        escape_depth("relu", args["c_b"], args["c_w"], args["k0"])


def test_bad_activation_or_parameter_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown activation 'swish'.*relu"):
        kernel_map("swish", 0.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="'p'"):
        kernel_map("relu", 0.0, 1.0, 1.0, p=2)
    with pytest.raises(ValueError, match="p=0"):
        kernel_map("repu", 0.0, 1.0, 1.0, p=0)
