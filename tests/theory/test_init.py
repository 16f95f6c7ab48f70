from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from optnas.theory import chi_parallel, chi_perp, init_parameters, initialize_, kernel_flow, kernel_map


@pytest.mark.parametrize(
    ("name", "params", "c_b", "c_w"),
    [("relu", {}, 0.0, 2.0), ("tanh", {}, 0.0, 1.0), ("mrepu", {"p": 2}, 0.0, 1.0), ("mrepu", {"p": 3}, 0.0, 1.0)],
)
def test_critical_choices(name: str, params: dict[str, int], c_b: float, c_w: float) -> None:
    choice = init_parameters(name, **params)
    assert choice.source == "critical"
    assert choice.c_b == c_b and choice.c_w == pytest.approx(c_w, rel=1e-12)


@pytest.mark.parametrize("p", [2, 3])
def test_repu_fallback_keeps_chi_perp_one_at_a_unit_fixed_point(p: int) -> None:
    choice = init_parameters("repu", p=p)
    assert choice.source == "fallback" and choice.k_star == 1.0
    assert kernel_map("repu", choice.c_b, choice.c_w, 1.0, p=p) == pytest.approx(1.0, rel=1e-12)
    assert chi_perp("repu", choice.c_b, choice.c_w, 1.0, p=p) == pytest.approx(1.0, rel=1e-12)
    # the price: χ_∥ = (2p − 1)/p > 1, an unstable fixed point, and the reason says so
    assert chi_parallel("repu", choice.c_b, choice.c_w, 1.0, p=p) == pytest.approx((2 * p - 1) / p, rel=1e-12)
    assert "escapes from K* exponentially" in choice.reason
    if p == 2:
        assert (choice.c_b, choice.c_w) == (pytest.approx(0.25, rel=1e-12), pytest.approx(0.5, rel=1e-12))


def test_repu_fallback_explodes_above_and_starves_gradients_below() -> None:
    # [ours] K' = 1/4 + (3/4)K² has fixed points 1 (unstable) and 1/3 (stable, where χ_⊥ = K = 1/3)
    choice = init_parameters("repu", p=2)
    below = kernel_flow("repu", choice.c_b, choice.c_w, 0.9, 60, p=2)
    assert below[-1] == pytest.approx(1 / 3, rel=1e-9)
    assert chi_perp("repu", choice.c_b, choice.c_w, 1 / 3, p=2) == pytest.approx(1 / 3, rel=1e-12)
    above = kernel_flow("repu", choice.c_b, choice.c_w, 1.1, 60, p=2)
    assert above[-1] == math.inf


def test_sigmoid_fallback_is_a_chi_perp_one_fixed_point_with_c_b_at_its_bound() -> None:
    # σ(0) = 1/2 forces K' >= C_W/4·..., so K* = 1 would need C_b < 0; the nearest allowed K* has C_b = 0
    choice = init_parameters("sigmoid")
    assert choice.source == "fallback" and choice.c_b == pytest.approx(0.0, abs=1e-9)
    assert choice.k_star is not None and choice.k_star > 1
    assert kernel_map("sigmoid", choice.c_b, choice.c_w, choice.k_star) == pytest.approx(choice.k_star, rel=1e-9)
    assert chi_perp("sigmoid", choice.c_b, choice.c_w, choice.k_star) == pytest.approx(1.0, rel=1e-12)
    assert "pulled back" in choice.reason  # χ_∥ < 1: a stable fixed point


def test_softplus_fallback_has_no_fixed_point() -> None:
    choice = init_parameters("softplus")
    assert choice.source == "fallback" and choice.k_star is None and choice.c_b == 0.0
    assert chi_perp("softplus", 0.0, choice.c_w, 1.0) == pytest.approx(1.0, rel=1e-12)
    assert "not stationary" in choice.reason


def _fan_in(layer: nn.Linear | nn.Conv1d | nn.Conv2d) -> int:
    w = layer.weight
    return int(w.shape[1] * math.prod(w.shape[2:]))


@pytest.mark.parametrize(
    "layer",
    [nn.Linear(300, 200), nn.Conv1d(40, 60, 5), nn.Conv2d(32, 48, 3), nn.Conv2d(64, 64, 3, groups=8)],
    ids=["linear", "conv1d", "conv2d", "grouped"],
)
def test_initialize_sets_the_variances(layer: nn.Linear | nn.Conv1d | nn.Conv2d) -> None:
    torch.manual_seed(0)
    initialize_(nn.Sequential(layer, nn.Tanh()), c_b=0.3, c_w=1.7)
    assert layer.bias is not None
    w, b = layer.weight.detach(), layer.bias.detach()
    assert float(w.mean()) == pytest.approx(0.0, abs=0.01)
    assert float(w.var()) * _fan_in(layer) == pytest.approx(1.7, rel=0.05)
    assert float(b.var()) == pytest.approx(0.3, rel=0.35)  # only 48-200 biases


def test_zero_bias_variance_gives_exact_zeros_and_leaves_other_parameters() -> None:
    first, norm = nn.Linear(8, 8), nn.LayerNorm(8)
    norm_weight = norm.weight.detach().clone()
    initialize_(nn.Sequential(first, norm, nn.Linear(8, 8, bias=False)), c_b=0.0, c_w=2.0)
    assert torch.count_nonzero(first.bias) == 0
    assert torch.equal(norm.weight.detach(), norm_weight)


def test_generator_makes_it_reproducible() -> None:
    a, b = nn.Linear(10, 10), nn.Linear(10, 10)
    initialize_(a, 0.1, 1.0, generator=torch.Generator().manual_seed(3))
    initialize_(b, 0.1, 1.0, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)


@pytest.mark.parametrize(("c_b", "c_w"), [(-0.1, 1.0), (0.0, math.inf), (0.0, -2.0), (True, 1.0)])
def test_initialize_rejects_bad_variances(c_b: float, c_w: float) -> None:
    with pytest.raises(ValueError, match="invalid"):
        initialize_(nn.Linear(2, 2), c_b, c_w)
