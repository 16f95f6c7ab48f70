"""Implicit networks on 1-D signals: Conv1d operator norms at the stage's length against the exact SVD."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import optnas
from optnas import ArchSpec, Signal
from optnas.certify.lipschitz import batchnorm_gain, chain_bound, conv_operator_norm
from optnas.nn.blocks import GainCappedBatchNorm1d, OperatorNormConv1d, PreActConv


def dense_conv1d_matrix(conv: nn.Conv1d, length: int, weight: torch.Tensor | None = None) -> torch.Tensor:
    """The conv as a dense (C_out·L) × (C_in·L) matrix: its columns are the images of the unit vectors."""
    n = conv.in_channels * length
    basis = torch.eye(n, dtype=torch.float64).reshape(n, conv.in_channels, length)
    w = (conv.weight if weight is None else weight).detach().double()
    out = nn.functional.conv1d(basis, w, padding=conv.padding, stride=conv.stride, groups=conv.groups)
    return out.reshape(n, -1).T


# cases whose top two singular values are apart, so 2,000 power iterations converge to 1e-6
@pytest.mark.parametrize(("c_in", "c_out", "kernel", "length"),
                         [(2, 3, 3, 11), (3, 2, 5, 40), (2, 1, 3, 9), (1, 1, 5, 12)])
def test_conv1d_operator_norm_is_the_exact_spectral_norm(c_in, c_out, kernel, length):
    torch.manual_seed(c_in * 10 + kernel)
    conv = nn.Conv1d(c_in, c_out, kernel, padding=kernel // 2, bias=False).double()
    exact = float(torch.linalg.svdvals(dense_conv1d_matrix(conv, length))[0])
    assert conv_operator_norm(conv, (length,), iterations=2000) == pytest.approx(exact, rel=1e-6)
    # the reshaped weight's norm is another number: normalizing it would not bound the operator
    reshaped = float(torch.linalg.matrix_norm(conv.weight.detach().flatten(1), 2))
    assert abs(reshaped - exact) > 1e-3 * exact


def test_operator_normalized_conv1d_has_norm_one_at_its_length():
    torch.manual_seed(0)
    conv = OperatorNormConv1d(3, 4, 5, (20,))
    effective = conv.weight / conv.sigma()
    norm = float(torch.linalg.svdvals(dense_conv1d_matrix(conv, 20, effective))[0])
    assert norm == pytest.approx(1.0, abs=1e-3)
    conv.train()
    with torch.no_grad():  # training moves the weight; the running power iteration follows it
        conv.weight.mul_(5.0).add_(torch.randn_like(conv.weight))
    for _ in range(60):
        conv(torch.randn(2, 3, 20))
    conv.eval()  # converges the estimate: the certified network
    effective = conv.weight / conv.sigma()
    assert float(torch.linalg.svdvals(dense_conv1d_matrix(conv, 20, effective))[0]) == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match="normalized at"):
        conv(torch.randn(1, 3, 19))


def test_gain_capped_batchnorm1d_is_at_most_one_in_eval_mode():
    bn = GainCappedBatchNorm1d(4)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([5.0, 0.5, -3.0, 1.0]))
        bn.running_var.copy_(torch.tensor([1.0, 4.0, 0.25, 1.0]))
    bn.eval()
    assert batchnorm_gain(bn) == pytest.approx(1.0)
    x = torch.randn(8, 4, 10)
    with torch.no_grad():
        gain = (bn(x) - bn(torch.zeros_like(x))).abs() / x.abs()
    assert float(gain.max()) <= 1.0 + 1e-6


def test_contractive_signal_block_keeps_its_bound_for_perturbed_weights():
    torch.manual_seed(1)
    block = optnas.blocks.get("preact_conv", hidden=6)
    t = block.contractive(5, nn.ReLU(), "signal", (16,))
    assert isinstance(t, PreActConv) and isinstance(t.conv1, OperatorNormConv1d)
    with torch.no_grad():
        for p in t.parameters():
            p.add_(3.0 * torch.randn_like(p))
        t.bn1.running_var.uniform_(0.01, 0.1)  # small variances: an uncapped gain would be large
    t.train()
    t(torch.randn(4, 5, 16))
    t.eval()
    measured = chain_bound(t.lipschitz_chain(), (16,), 1.0)
    assert measured <= block.lipschitz(1.0) * (1 + 1e-4)


def test_implicit_signal_network_certifies_at_each_stage_length():
    spec = ArchSpec(algorithm="proximal_point", block="preact_conv", depth=4, width=8, stages=2)
    cert = optnas.certify(spec, input_shape=Signal(1, 40))
    assert cert.ok, cert.format()
    contraction = next(c for c in cert.conditions if c.name == "contraction")
    assert "L for signals" in contraction.detail
