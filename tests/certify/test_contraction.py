"""Implicit networks: the contraction condition from a real bound on Lip(T), checked against exact norms."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import optnas
from optnas import ArchSpec, activations, algorithms, blocks
from optnas.algorithms import LinearMultistep
from optnas.algorithms.base import Implicit, Layer, Row
from optnas.certify.lipschitz import batchnorm_gain, chain_bound, conv_operator_norm
from optnas.nn.blocks import GainCappedBatchNorm2d, OperatorNormConv2d


def cond(cert, name):
    return next(c for c in cert.conditions if c.name == name)


def dense_conv_matrix(conv: nn.Conv2d, spatial: tuple[int, int], weight: torch.Tensor | None = None) -> torch.Tensor:
    """The conv as a dense (C_out·H·W) × (C_in·H·W) matrix: its columns are the images of the unit vectors."""
    n = conv.in_channels * spatial[0] * spatial[1]
    basis = torch.eye(n, dtype=torch.float64).reshape(n, conv.in_channels, *spatial)
    w = (conv.weight if weight is None else weight).detach().double()
    out = nn.functional.conv2d(basis, w, padding=conv.padding, stride=conv.stride, groups=conv.groups)
    return out.reshape(n, -1).T


@pytest.mark.parametrize(("c_in", "c_out", "kernel", "spatial"),
                         [(2, 3, 3, (5, 5)), (3, 2, 5, (4, 6)), (1, 1, 3, (7, 7))])
def test_conv_operator_norm_is_the_exact_spectral_norm(c_in, c_out, kernel, spatial):
    torch.manual_seed(c_in * 10 + kernel)
    conv = nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False).double()
    exact = float(torch.linalg.svdvals(dense_conv_matrix(conv, spatial))[0])
    assert conv_operator_norm(conv, spatial, iterations=2000) == pytest.approx(exact, rel=1e-6)
    # the reshaped weight's norm is another number: normalizing it would not bound the operator
    reshaped = float(torch.linalg.matrix_norm(conv.weight.detach().flatten(1), 2))
    assert abs(reshaped - exact) > 1e-3 * exact


def test_operator_normalized_conv_has_norm_one_at_its_size():
    torch.manual_seed(0)
    conv = OperatorNormConv2d(3, 4, 3, (6, 6))
    effective = conv.weight / conv.sigma()
    exact = float(torch.linalg.svdvals(dense_conv_matrix(conv, (6, 6), effective))[0])
    assert exact == pytest.approx(1.0, abs=1e-3)
    conv.train()
    with torch.no_grad():  # training moves the weight; the running power iteration follows it
        conv.weight.mul_(5.0).add_(torch.randn_like(conv.weight))
    for _ in range(60):
        conv(torch.randn(2, 3, 6, 6))
    effective = conv.weight / conv.sigma()
    assert float(torch.linalg.svdvals(dense_conv_matrix(conv, (6, 6), effective))[0]) == pytest.approx(1.0, abs=1e-3)
    with pytest.raises(ValueError, match="normalized at"):
        conv(torch.randn(1, 3, 5, 5))


def test_batchnorm_gain_is_the_affine_map_norm_in_eval_mode():
    bn = GainCappedBatchNorm2d(3)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([0.5, 3.0, -2.0]))
        bn.running_var.copy_(torch.tensor([1.0, 0.25, 16.0]))
    bn.eval()
    # gains |γ|/√(var + eps): 0.5, 6 (capped to 1), 0.5
    assert batchnorm_gain(bn) == pytest.approx(1.0)
    x = torch.randn(64, 3, 4, 4)
    y, y2 = bn(x), bn(x + 1.0)
    slope = ((y2 - y).mean(dim=(0, 2, 3))).tolist()
    assert slope == pytest.approx([0.5, 1.0, -0.5], rel=1e-4)
    plain = nn.BatchNorm2d(3).eval()
    with torch.no_grad():
        plain.weight.copy_(bn.weight)
        plain.running_var.copy_(bn.running_var)
    assert batchnorm_gain(plain) == pytest.approx(6.0, rel=1e-4)


@pytest.mark.parametrize(("block", "params", "shape"), [("mlp2", {}, (5,)), ("mlp2", {}, (3, 6, 6)),
                                                       ("preact_conv", {}, (3, 6, 6))])
@pytest.mark.parametrize("act", ["relu", "tanh", "gelu"])
def test_contractive_blocks_keep_their_bound_for_perturbed_weights(block, params, shape, act):
    """Lip(T) measured layer by layer on the built module (converged norms), after training-like weight
    moves, stays within the block's static bound (up to the running power iteration's lag, as for torch's
    spectral_norm); and random pairs never exceed the measured bound."""
    torch.manual_seed(1)
    b = blocks.get(block, **params)
    lip_sigma = activations.info(act).lipschitz
    kind = "image" if len(shape) == 3 else "vector"
    spatial = shape[1:] if kind == "image" else None
    t = b.contractive(6, activations.get(act), kind, spatial)
    t.train()
    x_shape = (16, 6, *shape[1:]) if kind == "image" else (16, 6)
    for _ in range(40):  # optimizer-sized moves of every weight, one training forward after each
        with torch.no_grad():
            for p in t.parameters():
                p.add_(0.02 * torch.randn_like(p))
        t(3 * torch.randn(*x_shape))
    t.eval()
    chain = t.lipschitz_chain() if hasattr(t, "lipschitz_chain") else [t.fc1, t.act, t.fc2]
    measured = chain_bound(chain, spatial, lip_sigma)
    # convs re-converge their power iteration in eval mode; torch's spectral_norm (mlp2) lags a little
    assert measured <= b.lipschitz(lip_sigma) * (1 + (2e-3 if block == "preact_conv" else 3e-2))
    with torch.no_grad():
        x, dx = torch.randn(*x_shape), 1e-3 * torch.randn(*x_shape)
        ratio = (t(x + dx) - t(x)).flatten(1).norm(dim=1) / dx.flatten(1).norm(dim=1)
    assert float(ratio.max()) <= measured * (1 + 1e-3)


def test_implicit_conv_network_is_checked_not_deferred():
    ok = optnas.certify(ArchSpec(algorithm="proximal_point", block="preact_conv", depth=4), (3, 8, 8))
    c = cond(ok, "contraction")
    # checked statically, and labelled numerical: the normalizing operator norms are power-iteration estimates
    assert c.holds and c.numerical and "operator norm" in c.detail and "0.25" in c.detail
    big = optnas.certify(ArchSpec(algorithm="proximal_point", block="preact_conv", depth=1), (3, 8, 8))
    assert not cond(big, "contraction").holds  # h·Lip(T) = 1·1 is no contraction
    # two activations in T: Lip(T) <= Lip(σ)², for gelu (Lip ≈ 1.13) as well
    gelu = activations.info("gelu").lipschitz
    g = cond(optnas.certify(ArchSpec(algorithm="proximal_point", block="preact_conv", activation="gelu", depth=2)),
             "contraction")
    assert f"{0.5 * gelu**2:.4g}" in g.detail


@pytest.mark.parametrize(("block", "why"), [("transformer", "softmax attention is not globally Lipschitz"),
                                            ("convnext", "LayerNorm"), ("mlp2", "LayerNorm/GroupNorm")])
def test_blocks_without_a_bound_are_rejected_with_the_reason(block, why):
    params = {"norm": True} if block == "mlp2" else {}
    cert = optnas.certify(ArchSpec(algorithm="bdf2", block=block, block_params=params, depth=8))
    c = cond(cert, "contraction")
    assert not c.holds and why in c.detail and not cert.ok


def test_user_block_without_a_declared_bound_never_holds():
    @blocks.register("plain_mlp_test")
    class Plain(blocks.Block):
        structure = "W2·σ(W1·z)"

        def make(self, width, act, kind):
            return optnas.nn.blocks.MLP2(width, width, act)

    try:
        c = cond(optnas.certify(ArchSpec(algorithm="proximal_point", block="plain_mlp_test", depth=8)), "contraction")
        assert not c.holds and "declares no Lipschitz bound" in c.detail
    finally:
        blocks.unregister("plain_mlp_test")


def test_no_contraction_condition_prints_as_holding_unchecked():
    for alg in (a for a in algorithms.names() if algorithms.entry(a).implicit):
        for block in blocks.names():
            kind = sorted(blocks.entry(block).inputs)[0]
            shape = {"vector": (3,), "image": (3, 8, 8), "token": (6, 7)}[kind]
            params = {"heads": 2} if block == "transformer" else {}
            c = cond(optnas.certify(ArchSpec(algorithm=alg, block=block, block_params=params, depth=8), shape),
                     "contraction")
            assert "residual at run time" not in c.detail
            assert c.holds == ("<=" in c.detail and " < 1" in c.detail)


def test_implicit_scheme_with_two_sweeps_is_refused_at_registration():
    class TwoSweeps(Implicit, algorithms.Algorithm):
        def layer(self, k, depth):
            rows = {0: Row(a0={0: 1.0}, b1=0.5)}
            return Layer(1, c={0: 1.0}, sweeps=(rows, rows))

    with pytest.raises(ValueError, match=r"implicit algorithm 'two_sweeps_test' cannot run: layer 0 .* 2 sweeps"):
        algorithms.register("two_sweeps_test")(TwoSweeps)
    assert "two_sweeps_test" not in algorithms.names()


def test_implicit_scheme_with_parameters_is_checked_when_certified():
    class Shifted(Implicit, algorithms.Algorithm):
        slots = ("x", "x[k-1]")

        def __init__(self, weight: float) -> None:
            super().__init__(weight=weight)
            self.weight = weight

        def layer(self, k, depth):  # T(x+) also written into the history slot: the forward cannot run it
            rows = {0: Row(a0={0: 1.0}, b1=1.0), 1: Row(a0={0: 1.0}, b0=self.weight)}
            return Layer(2, c={0: 1.0}, sweeps=(rows,))

    algorithms.register("shifted_test")(Shifted)
    try:
        with pytest.raises(ValueError, match="only row 0 may receive T"):
            optnas.certify(ArchSpec(algorithm="shifted_test", algorithm_params={"weight": 0.5}))
    finally:
        algorithms.unregister("shifted_test")


def test_user_implicit_multistep_scheme_runs():
    @algorithms.register("implicit_ab_test")
    class ImplicitTrapezoid(Implicit, LinearMultistep):
        a = (1.0,)
        b = (1.0,)

    try:
        net = optnas.build(ArchSpec(algorithm="implicit_ab_test", depth=4, width=6), (3,), 2)
        assert net(torch.randn(4, 3)).shape == (4, 2)
    finally:
        algorithms.unregister("implicit_ab_test")
