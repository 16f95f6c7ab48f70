from __future__ import annotations

import json
import math
from collections.abc import Iterator

import numpy as np
import pytest
import torch

from optnas import activations
from optnas.theory import CriticalityReport, criticality, kernel_map

from .conftest import NUMPY_ACTIVATIONS, reference_moments


def test_relu_is_scale_invariant_with_c_w_2() -> None:
    r = criticality("relu")
    assert r.universality_class == "scale-invariant"
    assert (r.c_b, r.k_star) == (0.0, None)
    assert r.c_w == pytest.approx(2.0, rel=1e-13)
    assert r.chi_par == pytest.approx(1.0, rel=1e-12) and r.chi_perp == pytest.approx(1.0, rel=1e-12)
    assert r.init.source == "critical"
    assert all(d is None for d in r.depth_predictions.values())


def test_leaky_relu_critical_weight() -> None:
    r = criticality("leaky_relu", negative_slope=0.2)
    assert r.universality_class == "scale-invariant"
    assert r.c_w == pytest.approx(2 / (1 + 0.2**2), rel=1e-12)


def test_tanh_is_k_star_zero_with_c_w_1() -> None:
    r = criticality("tanh")
    assert r.universality_class == "K*=0"
    assert (r.c_b, r.c_w, r.k_star) == (0.0, pytest.approx(1.0, rel=1e-12), 0.0)
    assert r.evidence["sigma0"] == 0.0 and r.evidence["sigma1"] == pytest.approx(1.0)
    assert r.evidence["a1"] == pytest.approx(-2.0, rel=1e-12)
    assert len(r.critical_points) == 1  # χ_∥/χ_⊥ < 1 at every K > 0: no second critical point


@pytest.mark.parametrize("p", [2, 3])
def test_mrepu_is_k_star_zero_with_a1_closed_form(p: int) -> None:
    r = criticality("mrepu", p=p)
    assert r.universality_class == "K*=0"
    assert r.c_b == 0.0 and r.c_w == pytest.approx(1.0, rel=1e-12)
    assert r.evidence["a1"] == pytest.approx(3 * p * (2 * p - 1), rel=1e-12)  # [ours]
    assert "creeps up" in r.reason


@pytest.mark.parametrize(("name", "params"), [("tanh", {}), ("mrepu", {"p": 2}), ("mrepu", {"p": 3}), ("gelu", {})])
def test_a1_matches_the_kernel_map_near_zero(name: str, params: dict[str, int]) -> None:
    # an independent route to a1: at the K*=0 critical point K' − K ≈ a1·K² (Richardson in K)
    r = criticality(name, **params)
    c_w = 1.0 / r.evidence["sigma1"] ** 2

    def slope(k: float) -> float:
        return (kernel_map(name, 0.0, c_w, k, **params) - k) / k**2

    k = 1e-4
    assert 2 * slope(k / 2) - slope(k) == pytest.approx(r.evidence["a1"], rel=1e-4)


@pytest.mark.parametrize(("p", "ratio"), [(2, 1.5), (3, 5 / 3)])
def test_repu_has_no_critical_point(p: int, ratio: float) -> None:
    r = criticality("repu", p=p)
    assert r.universality_class == "none"
    assert r.c_w is None and r.c_b is None and r.chi_par is None and not r.critical_points
    assert r.evidence["chi_ratio_min"] == pytest.approx(ratio, rel=1e-12)
    assert r.evidence["chi_ratio_max"] == pytest.approx(ratio, rel=1e-12)
    assert "never crosses 1" in r.reason
    assert r.init.source == "fallback"


def _check_critical_point_independently(name: str, k_star: float, c_b: float, c_w: float) -> None:
    g, dg, h = reference_moments(NUMPY_ACTIVATIONS[name], k_star)
    assert c_w * h == pytest.approx(1.0, rel=1e-8)  # χ_⊥ = 1
    assert c_w * dg == pytest.approx(1.0, rel=1e-6)  # χ_∥ = 1 (reference differentiates in K)
    assert c_b + c_w * g == pytest.approx(k_star, rel=1e-9)  # a fixed point


def test_gelu_critical_point_at_closed_form_k_star() -> None:
    # [ours] for σ = zΦ(z), E[σσ''] = 0 (χ_∥ = χ_⊥) exactly at K* = (3 + √17)/2
    r = criticality("gelu")
    assert r.universality_class == "K*=0"  # σ(0) = 0, σ'(0) = 1/2 ...
    assert r.evidence["a1"] == pytest.approx(6 / math.pi, rel=1e-12)  # ... but a1 = 6/π > 0
    kinds = {p.kind: p for p in r.critical_points}
    assert kinds["K*=0"].c_w == pytest.approx(4.0, rel=1e-12)
    assert r.k_star == pytest.approx((3 + math.sqrt(17)) / 2, rel=1e-10)
    assert r.k_star is not None and r.c_b is not None and r.c_w is not None
    _check_critical_point_independently("gelu", r.k_star, r.c_b, r.c_w)
    assert r.init.c_b == r.c_b and r.c_b > 0  # the K*>0 point keeps a unit input kernel in range


def test_silu_critical_point_checked_independently() -> None:
    r = criticality("silu")
    assert r.universality_class == "K*=0" and r.evidence["a1"] == pytest.approx(0.75, rel=1e-12)
    assert r.k_star is not None and r.c_b is not None and r.c_w is not None and r.k_star > 1
    _check_critical_point_independently("silu", r.k_star, r.c_b, r.c_w)


@pytest.mark.parametrize(("name", "below_one"), [("sigmoid", True), ("softplus", False)])
def test_sigmoid_and_softplus_have_no_critical_point(name: str, below_one: bool) -> None:
    r = criticality(name)
    assert r.universality_class == "none" and r.c_w is None
    assert "≠ 0 rules out the K*=0 class" in r.reason and "never crosses 1" in r.reason
    # independent check on a coarse grid: χ_∥/χ_⊥ stays on one side of 1
    for k in (0.01, 0.3, 3.0, 100.0):
        _, dg, h = reference_moments(NUMPY_ACTIVATIONS[name], k)
        assert (dg / h < 1) == below_one


def test_report_serializes_and_formats() -> None:
    r = criticality("gelu")
    data = json.loads(json.dumps(r.to_dict()))
    assert data["universality_class"] == "K*=0" and data["init"]["source"] == "critical"
    assert set(data["depth_predictions"]) == {"0.01", "0.1", "1.0", "10.0"}
    text = r.format()
    for needle in ("universality      K*=0", "critical C_W", "a1=1.90986", "escape depth"):
        assert needle in text
    assert isinstance(r, CriticalityReport)


def test_reports_are_cached_but_not_shared() -> None:
    first = criticality("gelu")
    first.evidence["a1"] = 0.0
    second = criticality("gelu")
    assert second.evidence["a1"] == pytest.approx(6 / math.pi) and second == criticality("gelu")


@pytest.fixture
def user_activations() -> Iterator[None]:
    @activations.register("twice_tanh")
    def twice_tanh(z: torch.Tensor) -> torch.Tensor:
        return 2.0 * torch.tanh(z)

    @activations.register("numpy_asinh")
    def numpy_asinh(z: torch.Tensor) -> torch.Tensor:
        # computed outside torch: autograd cannot follow it, so the analysis falls back to differences
        return torch.from_numpy(np.arcsinh(z.detach().numpy()))

    @activations.register("lopsided")
    def lopsided(z: torch.Tensor, slope: float = 0.5) -> torch.Tensor:
        return torch.relu(z) - slope * torch.relu(-z)

    yield
    for name in ("twice_tanh", "numpy_asinh", "lopsided"):
        activations.unregister(name)


@pytest.mark.usefixtures("user_activations")
def test_user_registered_activations() -> None:
    r = criticality("twice_tanh")
    assert r.universality_class == "K*=0"
    assert r.c_w == pytest.approx(0.25, rel=1e-12) and r.evidence["a1"] == pytest.approx(-2.0, rel=1e-10)

    r = criticality("numpy_asinh")  # σ = asinh: σ1 = 1, σ3 = −1, so a1 = −1
    assert r.universality_class == "K*=0"
    assert r.c_w == pytest.approx(1.0, rel=1e-8) and r.evidence["a1"] == pytest.approx(-1.0, rel=1e-4)

    r = criticality("lopsided", slope=0.5)  # scale-invariant: C_W = 2/(1 + 0.5²)
    assert r.universality_class == "scale-invariant" and r.c_w == pytest.approx(1.6, rel=1e-12)


@pytest.mark.usefixtures("user_activations")
def test_reregistering_a_user_activation_is_not_served_from_cache() -> None:
    assert criticality("twice_tanh").c_w == pytest.approx(0.25)

    @activations.register("twice_tanh", overwrite=True)
    def thrice_tanh(z: torch.Tensor) -> torch.Tensor:
        return 3.0 * torch.tanh(z)

    assert criticality("twice_tanh").c_w == pytest.approx(1 / 9)
