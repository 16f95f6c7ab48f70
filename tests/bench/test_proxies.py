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
    assert proxies.synflow(net, x, y, F) == pytest.approx(math.log(2 * r), rel=1e-12)  # stored as its log
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
    assert all(isinstance(v, float) for v in a.values())


def test_synflow_in_the_log_domain_where_the_float64_forward_overflows() -> None:
    # R = 1ᵀ|W|^k 1 for k bias-free linear layers 10 → 10 with entries 1e30: R = 10^(31·k + 1), k = 10 is
    # beyond float64 (1.8e308). Nine layers stay finite: synflow = k·R (each layer homogeneous of degree 1).
    def net(k: int) -> nn.Module:
        layers = [nn.Linear(10, 10, bias=False) for _ in range(k)]
        for layer in layers:
            nn.init.constant_(layer.weight, 1e30)
        return nn.Sequential(*layers)

    x, y = _data(d=10)
    w = float(torch.tensor(1e30))  # the float32 entry actually stored
    assert proxies.synflow(net(9), x, y, F) == pytest.approx(math.log(9) + 10 * math.log(10) + 9 * math.log(w),
                                                             rel=1e-12)
    assert proxies.synflow(net(10), x, y, F) == math.inf  # a bound, not NaN: ranked above every finite value
    assert proxies.compute(net(10), x, y, F)["synflow"] == math.inf


def test_the_log_of_a_stored_raw_synflow_is_what_a_new_build_records() -> None:
    from optnas.bench.table import log_synflow

    df = optnas.bench.load("digits")  # stored with proxy version 2 (raw synflow): load takes its log
    assert df.attrs["meta"]["stored_proxy_version"] == 2 and df.attrs["meta"]["proxy_version"] == 3
    row = df[(df["activation"] == "relu") & (df["depth"] == 2)].iloc[0]
    fresh = zero_cost(optnas.ArchSpec.from_dict(row["spec"]), optnas.tasks.get("digits"), seed=int(row["seed"]))
    assert fresh["synflow"] == pytest.approx(row["synflow"], abs=1e-6)
    assert log_synflow(0.0) == -math.inf and math.isnan(log_synflow(float("nan"))) and math.isnan(log_synflow(-1.0))


def test_fisher_is_computed_on_an_implicit_network() -> None:
    # the solver iterates T without autograd; those outputs carry no ∂L/∂a and are left out (versions <= 2
    # raised on them and recorded NaN on every implicit row)
    task = optnas.tasks.get("digits")
    spec = optnas.ArchSpec(algorithm="bdf2", activation="tanh", block_params={"hidden": 16}, depth=2, width=72)
    value = zero_cost(spec, task, seed=0)["fisher"]
    assert math.isfinite(value) and value > 0


def test_tables_are_logged_once_whatever_version_wrote_them(tmp_path) -> None:
    import gzip
    import json

    from optnas.bench import grid
    from optnas.bench.table import _migrate, export

    assert _migrate({"synflow": 64.0 * math.e}, 1)["synflow"] == pytest.approx(1.0)  # /64, then its log
    assert _migrate({"synflow": math.e}, 2)["synflow"] == pytest.approx(1.0)
    assert _migrate({"synflow": 5.0}, 3)["synflow"] == 5.0
    new = export([{"arch": "a", "seed": 0, "synflow": 5.0}], grid.get("digits"), tmp_path / "v3.json.gz")
    assert optnas.bench.load(str(new))["synflow"].tolist() == [5.0]  # version 3 stores the log: left as is
    old = tmp_path / "v2.json.gz"  # a file written before version 3: no proxy_version in its header
    old.write_bytes(gzip.compress(json.dumps({"meta": {"table": "x"}, "rows": [{"synflow": math.e ** 2}]}).encode()))
    assert optnas.bench.load(str(old))["synflow"].tolist() == pytest.approx([2.0])
