"""The learnable modules T that replace gradient terms (torch-only runtime code).

Each block contains a two-layer structure W2·σ(W1·z + b) and returns it from ``two_layer()`` as
(first layer, activation, second layer): the certificate's condition on T (THEORY.md §1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn


class MLP2(nn.Module):
    """T(z) = W2·σ(W1·norm(z) + b1) + b2 on the last dim (vectors, tokens) or on channels (images, signals).

    ``dims`` is the number of spatial dims the channels run along: 0 (vectors, tokens), 1 (signals), 2 (images).
    """

    def __init__(self, width: int, hidden: int, act: nn.Module, norm: bool = False, dims: int = 0) -> None:
        super().__init__()
        if dims:  # pointwise over positions: 1×1 convolutions are W1, W2 applied to every channel vector
            conv = CONV[dims]
            self.norm: nn.Module = nn.GroupNorm(1, width) if norm else nn.Identity()
            self.fc1: nn.Module = conv(width, hidden, 1)
            self.fc2: nn.Module = conv(hidden, width, 1)
        else:
            self.norm = nn.LayerNorm(width) if norm else nn.Identity()
            self.fc1, self.fc2 = nn.Linear(width, hidden), nn.Linear(hidden, width)
        self.act = act

    def two_layer(self) -> tuple[nn.Module, nn.Module, nn.Module]:
        return self.fc1, self.act, self.fc2

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(self.norm(z))))


class PreActConv(nn.Module):
    """T(z) = Conv(σ(BN(Conv(σ(BN(z)))))): the pre-activation residual block (He et al. 2016).

    ``dims`` = 2 for images (N, C, H, W), 1 for signals (N, C, L). ``spatial`` ((H, W) or (L,)) makes it
    contractive by construction (implicit networks): each conv is divided by its operator norm at that size
    and each BatchNorm's per-channel gain is capped at 1, so Lip(T) <= Lip(σ)².
    """

    def __init__(
        self, width: int, hidden: int, act: nn.Module, kernel: int = 3,
        spatial: tuple[int, ...] | None = None, dims: int = 2,
    ) -> None:
        super().__init__()
        pad = kernel // 2
        bn: Callable[[int], nn.Module]
        conv: Callable[[int, int], nn.Module]
        if spatial is None:
            bn = BATCHNORM[dims]
            conv = lambda i, o: CONV[dims](i, o, kernel, padding=pad, bias=False)  # noqa: E731
        else:
            bn = GAIN_CAPPED[dims]
            conv = lambda i, o: OPERATOR_NORM_CONV[dims](i, o, kernel, spatial)  # noqa: E731
        self.bn1, self.act1 = bn(width), act
        self.conv1 = conv(width, hidden)
        self.bn2, self.act2 = bn(hidden), _clone(act)
        self.conv2 = conv(hidden, width)

    def lipschitz_chain(self) -> list[nn.Module]:
        """T's data path in order: Lip(T) <= the product of these layers' bounds."""
        return [self.bn1, self.act1, self.conv1, self.bn2, self.act2, self.conv2]

    def two_layer(self) -> tuple[nn.Module, nn.Module, nn.Module]:
        # W1 = conv1 followed by the affine BN2, σ = act2, W2 = conv2
        return self.conv1, self.act2, self.conv2

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = self.conv1(self.act1(self.bn1(z)))
        return self.conv2(self.act2(self.bn2(out)))


class _OperatorNormalized:
    """A stride-1, zero-padded, bias-free conv divided by its operator norm on inputs of one fixed size.

    The norm is that of the linear map on (C, *spatial) tensors (not of the reshaped weight, which can be
    far smaller or larger), estimated by power iteration with conv and its transpose, as torch's spectral_norm
    does for matrices: one iteration per training forward, 64 at construction, and to convergence when the module
    is put in eval mode (the network the certificate bounds); inputs must have that size. Mixed into
    `OperatorNormConv1d` (signals, size (L,)) and `OperatorNormConv2d` (images, size (H, W)).
    """

    weight: torch.Tensor
    training: bool
    v: torch.Tensor
    pad: int
    spatial: tuple[int, ...]

    def _conv(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _conv_t(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _start(self, width_in: int, spatial: tuple[int, ...]) -> None:
        self.pad = int(self.padding[0])  # type: ignore[attr-defined]
        self.spatial = tuple(int(d) for d in spatial)
        v = torch.randn(1, width_in, *self.spatial, generator=torch.Generator().manual_seed(0))
        self.register_buffer("v", v / v.norm())  # type: ignore[attr-defined]
        with torch.no_grad():
            self.power_iteration(64)

    def power_iteration(self, steps: int) -> None:
        v = self.v
        for _ in range(steps):
            v = self._conv_t(self._conv(v, self.weight), self.weight)
            v = v / (v.norm() + 1e-12)
        self.v.copy_(v)

    def train(self, mode: bool = True) -> Any:
        if self.training and not mode:  # the eval-mode network is the certified one: converge the estimate
            with torch.no_grad():
                self.converge()
        return super().train(mode)  # type: ignore[misc]

    def converge(self, rtol: float = 1e-9, max_steps: int = 4096) -> None:
        """Power-iterate until the norm estimate stops moving (relative change <= ``rtol`` over 8 steps).

        A converged estimate makes the eval-mode network a function of its weights alone: a copy loaded from
        its state and put in eval mode again (an export) computes the same norm, however many steps it adds.
        """
        last = float(self.sigma())
        for _ in range(max_steps // 8):
            self.power_iteration(8)
            now = float(self.sigma())
            if abs(now - last) <= rtol * max(now, 1e-30):
                return
            last = now

    def sigma(self) -> torch.Tensor:
        """‖conv‖ at the fixed size from the current power-iteration vector (differentiable in the weight)."""
        # a copy: later power iterations update the buffer in place while autograd still needs this one
        return self._conv(self.v.clone(), self.weight).norm()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        size = tuple(z.shape[2:])
        if size != self.spatial:
            raise ValueError(f"input size {size}: this conv is normalized at {self.spatial}")
        if self.training:
            with torch.no_grad():
                self.power_iteration(1)
        return self._conv(z, self.weight / self.sigma())


class OperatorNormConv2d(_OperatorNormalized, nn.Conv2d):
    """A conv on images divided by its operator norm at H×W (see `_OperatorNormalized`)."""

    def __init__(self, width_in: int, width_out: int, kernel: int, spatial: tuple[int, int]) -> None:
        nn.Conv2d.__init__(self, width_in, width_out, kernel, padding=kernel // 2, bias=False)
        self._start(width_in, spatial)

    def _conv(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return nn.functional.conv2d(x, weight, padding=self.pad)

    def _conv_t(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return nn.functional.conv_transpose2d(x, weight, padding=self.pad)


class OperatorNormConv1d(_OperatorNormalized, nn.Conv1d):
    """A conv on signals divided by its operator norm at length L (see `_OperatorNormalized`)."""

    def __init__(self, width_in: int, width_out: int, kernel: int, spatial: tuple[int]) -> None:
        nn.Conv1d.__init__(self, width_in, width_out, kernel, padding=kernel // 2, bias=False)
        self._start(width_in, spatial)

    def _conv(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return nn.functional.conv1d(x, weight, padding=self.pad)

    def _conv_t(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return nn.functional.conv_transpose1d(x, weight, padding=self.pad)


class _GainCapped:
    """BatchNorm whose per-channel gain |γ_c|/√(var_c + eps) is capped at 1 (running statistics in eval
    mode, batch statistics in training), so in eval mode it is an affine map of Lipschitz constant <= 1."""

    weight: Any  # a Parameter (or None) in torch's BatchNorm
    bias: Any
    running_mean: torch.Tensor | None
    running_var: torch.Tensor | None
    training: bool
    momentum: float | None
    eps: float

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        dims = [0, *range(2, z.dim())]  # every dim but the channels
        var = z.var(dim=dims, unbiased=False) if self.training else self.running_var
        assert var is not None
        limit = torch.sqrt(var + self.eps).detach()  # |γ_c| <= √(var_c + eps)  <=>  gain_c <= 1
        gamma = torch.maximum(torch.minimum(self.weight, limit), -limit)
        momentum = 0.1 if self.momentum is None else self.momentum
        return nn.functional.batch_norm(
            z, self.running_mean, self.running_var, gamma, self.bias, self.training, momentum, self.eps
        )


class GainCappedBatchNorm2d(_GainCapped, nn.BatchNorm2d):
    """`_GainCapped` BatchNorm for images."""


class GainCappedBatchNorm1d(_GainCapped, nn.BatchNorm1d):
    """`_GainCapped` BatchNorm for signals (N, C, L)."""


# the layer classes per number of spatial dims: 1 for signals (N, C, L), 2 for images (N, C, H, W)
CONV: dict[int, type[nn.Conv1d] | type[nn.Conv2d]] = {1: nn.Conv1d, 2: nn.Conv2d}
BATCHNORM: dict[int, type[nn.BatchNorm1d] | type[nn.BatchNorm2d]] = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d}
GAIN_CAPPED: dict[int, type[nn.BatchNorm1d] | type[nn.BatchNorm2d]] = {
    1: GainCappedBatchNorm1d, 2: GainCappedBatchNorm2d,
}
OPERATOR_NORM_CONV: dict[int, Callable[..., nn.Module]] = {1: OperatorNormConv1d, 2: OperatorNormConv2d}


class ChannelsLayerNorm(nn.Module):
    """LayerNorm over the channel dim (dim 1) of an NCHW or NCL tensor (ConvNeXt's norm)."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels, eps=eps)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.norm(z.movedim(1, -1)).movedim(-1, 1)


class ConvNeXt(nn.Module):
    """T(z) = γ·W2·σ(W1·LN(DWConv7(z))): ConvNeXt's depthwise conv, norm and inverted MLP (Liu et al. 2022)."""

    def __init__(
        self, width: int, hidden: int, act: nn.Module, kernel: int = 7, layer_scale: float = 1e-6, dims: int = 2
    ) -> None:
        super().__init__()
        conv = CONV[dims]  # dims = 2: images (N, C, H, W); 1: signals (N, C, L)
        self.dwconv = conv(width, width, kernel, padding=kernel // 2, groups=width)
        self.norm = ChannelsLayerNorm(width)
        self.pw1, self.act, self.pw2 = conv(width, hidden, 1), act, conv(hidden, width, 1)
        self.gamma = nn.Parameter(torch.full((width,) + (1,) * dims, float(layer_scale))) if layer_scale > 0 else None

    def two_layer(self) -> tuple[nn.Module, nn.Module, nn.Module]:
        return self.pw1, self.act, self.pw2

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = self.pw2(self.act(self.pw1(self.norm(self.dwconv(z)))))
        return out if self.gamma is None else self.gamma * out


class Transformer(nn.Module):
    """T(z) = a + MLP(LN(z + a)) with a = Attn(LN(z)): so z + T(z) is a pre-norm transformer layer."""

    def __init__(self, width: int, hidden: int, act: nn.Module, heads: int = 4) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.fc1, self.act, self.fc2 = nn.Linear(width, hidden), act, nn.Linear(hidden, width)

    def two_layer(self) -> tuple[nn.Module, nn.Module, nn.Module]:
        return self.fc1, self.act, self.fc2

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        q = self.ln1(z)
        a = self.attn(q, q, q, need_weights=False)[0]
        return a + self.fc2(self.act(self.fc1(self.ln2(z + a))))


def _clone(act: nn.Module) -> nn.Module:
    """A second, independent instance of an activation module (same type, same parameters)."""
    import copy

    return copy.deepcopy(act)
