"""Lipschitz bounds of built modules T, layer by layer (implicit networks: the contraction condition).

Lip(T) <= Π over T's data path of each layer's bound: a Linear map by the largest singular value of its
(effective) weight, a conv by its operator norm on the stage's H×W inputs, or length L for signals
(power iteration with the conv and its transpose), a BatchNorm in eval mode by its affine gain
max_c |γ_c|/√(running_var_c + eps), an activation by Lip(σ). These are measured on the module itself; the
certificate's static bound is what the blocks' construction guarantees for every parameter value
(`optnas.blocks.Block.lipschitz`), and the tests check the two against each other.

Example:
    >>> import torch
    >>> conv = torch.nn.Conv2d(1, 1, 3, padding=1, bias=False)
    >>> with torch.no_grad():
    ...     _ = conv.weight.fill_(1.0)  # a 3×3 box filter: operator norm < 9, reaching 9 on large images
    >>> round(conv_operator_norm(conv, (4, 4)), 3) < 9.0
    True
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..nn.blocks import GainCappedBatchNorm1d, GainCappedBatchNorm2d, OperatorNormConv1d, OperatorNormConv2d

# (conv, its transpose) by the number of spatial dims: 1 for signals (C, L), 2 for images (C, H, W)
_FUNCTIONAL = {
    1: (nn.functional.conv1d, nn.functional.conv_transpose1d),
    2: (nn.functional.conv2d, nn.functional.conv_transpose2d),
}


def conv_operator_norm(
    conv: nn.Conv1d | nn.Conv2d, spatial: tuple[int, ...], iterations: int = 500
) -> float:
    """‖conv‖₂ as a linear map on (C_in, H, W) tensors, or (C_in, L) for a Conv1d (bias excluded), by power
    iteration."""
    normalized = isinstance(conv, OperatorNormConv1d | OperatorNormConv2d)
    weight = conv.weight / conv.sigma() if normalized else conv.weight  # type: ignore[operator]
    forward, transpose = _FUNCTIONAL[len(spatial)]
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        v = torch.randn(1, conv.in_channels, *spatial, generator=g, dtype=weight.dtype).to(weight.device)
        v = v / v.norm()
        sigma = 0.0
        for _ in range(iterations):
            u = forward(v, weight, stride=conv.stride, padding=conv.padding,
                        dilation=conv.dilation, groups=conv.groups)
            sigma = float(u.norm())
            v = transpose(u, weight, stride=conv.stride, padding=conv.padding,  # type: ignore[arg-type]
                          dilation=conv.dilation, groups=conv.groups)
            v = v / (v.norm() + 1e-30)
    return sigma


def batchnorm_gain(bn: nn.BatchNorm1d | nn.BatchNorm2d) -> float:
    """Lipschitz constant of a BatchNorm in eval mode: max_c |γ_c|/√(running_var_c + eps) (capped at 1 for
    `GainCappedBatchNorm2d` / `GainCappedBatchNorm1d`)."""
    assert bn.running_var is not None, "a BatchNorm without running statistics has no eval-mode bound"
    gamma = bn.weight if bn.weight is not None else torch.ones_like(bn.running_var)
    gain = (gamma.detach() / torch.sqrt(bn.running_var + bn.eps)).abs()
    if isinstance(bn, GainCappedBatchNorm1d | GainCappedBatchNorm2d):
        gain = gain.clamp(max=1.0)
    return float(gain.max())


def chain_bound(layers: Sequence[nn.Module], spatial: tuple[int, ...] | None, lip_sigma: float) -> float:
    """Π of the per-layer bounds along ``layers`` (T's data path); activations count Lip(σ).

    ``spatial`` is the stage's (H, W) for images, (L,) for signals.
    """
    bound = 1.0
    for layer in layers:
        if isinstance(layer, nn.Conv1d | nn.Conv2d):
            pointwise = all(k == 1 for k in layer.kernel_size)
            if (pointwise and layer.groups == 1) or spatial is None:
                w = layer.weight.detach().flatten(1)  # a 1×1 conv is the same matrix at every position
                bound *= float(torch.linalg.matrix_norm(w, 2)) if pointwise else float("inf")
            else:
                bound *= conv_operator_norm(layer, spatial)
        elif isinstance(layer, nn.Linear):
            bound *= float(torch.linalg.matrix_norm(layer.weight.detach(), 2))
        elif isinstance(layer, nn.BatchNorm1d | nn.BatchNorm2d):
            bound *= batchnorm_gain(layer)
        elif isinstance(layer, nn.Identity):
            continue
        else:  # an activation
            bound *= lip_sigma
    return bound
