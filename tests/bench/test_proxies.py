"""The zero-cost proxies against closed forms and direct recomputations of their papers' definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

import optnas
from optnas.bench import proxies
from optnas.bench.build import zero_cost

F = nn.functional.cross_entropy


def _data(n: int = 12, d: int = 5, k: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, d, generator=g), torch.randint(0, k, (n,), generator=g)


def test_grad_norm_and_snip_on_a_linear_model() -> None:
    torch.manual_seed(0)
    net = nn.Linear(5, 3)
    x, y = _data()
    net.zero_grad()
    F(net(x), y).backward()
    gw, gb = net.weight.grad.clone(), net.bias.grad.clone()
    assert proxies.grad_norm(net, x, y, F) == pytest.approx(float(gw.norm() + gb.norm()), rel=1e-6)
    expected = float((net.weight.detach() * gw).abs().sum() + (net.bias.detach() * gb).abs().sum())
    assert proxies.snip(net, x, y, F) == pytest.approx(expected, rel=1e-6)


def test_synflow_of_a_bias_free_two_layer_linear_net_is_twice_its_output() -> None:
    # R = 1ᵀ|W2||W1|1 is homogeneous of degree 1 in each layer, so Σ θ·∂R/∂θ = R per layer: 2R in total
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 7, bias=False), nn.Linear(7, 3, bias=False))
    x, y = _data()
    w1, w2 = net[0].weight.detach().abs().double(), net[1].weight.detach().abs().double()
    r = float((w2 @ w1 @ torch.ones(5, dtype=torch.float64)).sum())
    before = [p.detach().clone() for p in net.parameters()]
    assert proxies.synflow(net, x, y, F) == pytest.approx(2 * r, rel=1e-9)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))  # signs restored
    assert next(net.parameters()).dtype == torch.float32


def test_naswot_matches_the_hamming_kernel() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 3))
    x, y = _data()
    codes = (net[0](x) > 0).double().numpy()
    hamming = (codes[:, None, :] != codes[None, :, :]).sum(-1)
    k = codes.shape[1] - hamming
    assert proxies.naswot(net, x, y, F) == pytest.approx(float(np.linalg.slogdet(k)[1]), rel=1e-9)


def test_jacob_cov_matches_its_definition() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 3))
    x, y = _data()
    jac = torch.stack([torch.autograd.functional.jacobian(lambda v: net(v[None]).sum(), xi) for xi in x])
    eig = np.linalg.eigvalsh(np.corrcoef(jac.double().numpy()))
    expected = -float(np.sum(np.log(eig + 1e-5) + 1 / (eig + 1e-5)))
    assert proxies.jacob_cov(net, x, y, F) == pytest.approx(expected, rel=1e-6)


def test_fisher_matches_a_manual_sum() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))
    x, y = _data()
    h = net[0](x)
    h.retain_grad()
    out = net[2](net[1](h))
    out.retain_grad()
    F(out, y).backward()
    expected = sum(float(0.5 * ((a.detach() * a.grad) ** 2).mean(0).sum()) for a in (h, out))
    assert proxies.fisher(net, x, y, F) == pytest.approx(expected, rel=1e-6)


def test_compute_every_proxy_on_an_optnas_network_is_seeded_and_leaves_the_model() -> None:
    task = optnas.tasks.get("digits")
    spec = optnas.ArchSpec(algorithm="heavy_ball", algorithm_params={"beta": 0.9}, activation="mrepu",
                           activation_params={"p": 2}, block_params={"hidden": 16}, depth=3, width=72)
    a, b = zero_cost(spec, task, seed=3), zero_cost(spec, task, seed=3)
    assert a == b and set(a) == set(proxies.PROXIES)
    assert zero_cost(spec, task, seed=4) != a
    assert all(isinstance(v, float) and (math.isfinite(v) or math.isnan(v) or v == -math.inf) for v in a.values())
