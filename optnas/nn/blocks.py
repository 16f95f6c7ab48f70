"""The learnable modules T that replace gradient terms (torch-only runtime code).

Each block contains a two-layer structure W2·σ(W1·z + b) and returns it from ``two_layer()`` as
(first layer, activation, second layer): the certificate's condition on T (THEORY.md §1).
"""

from __future__ import annotations

import torch
from torch import nn


class MLP2(nn.Module):
    """T(z) = W2·σ(W1·norm(z) + b1) + b2 on the last dim (vectors, tokens) or on channels (images)."""

    def __init__(self, width: int, hidden: int, act: nn.Module, norm: bool = False, image: bool = False) -> None:
        super().__init__()
        self.image = image
        if image:  # pointwise over pixels: 1×1 convolutions are W1, W2 applied to every channel vector
            self.norm: nn.Module = nn.GroupNorm(1, width) if norm else nn.Identity()
            self.fc1: nn.Module = nn.Conv2d(width, hidden, 1)
            self.fc2: nn.Module = nn.Conv2d(hidden, width, 1)
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

    ``spatial=(H, W)`` makes it contractive by construction (implicit networks): each conv is divided by
    its operator norm at H×W and each BatchNorm's per-channel gain is capped at 1, so Lip(T) <= Lip(σ)².
    """

    def __init__(
        self, width: int, hidden: int, act: nn.Module, kernel: int = 3, spatial: tuple[int, int] | None = None
    ) -> None:
        super().__init__()
        pad = kernel // 2
        if spatial is None:
            bn: type[nn.BatchNorm2d] = nn.BatchNorm2d
            conv = lambda i, o: nn.Conv2d(i, o, kernel, padding=pad, bias=False)  # noqa: E731
        else:
            bn = GainCappedBatchNorm2d
            conv = lambda i, o: OperatorNormConv2d(i, o, kernel, spatial)  # noqa: E731
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


class OperatorNormConv2d(nn.Conv2d):
    """A stride-1, zero-padded, bias-free conv divided by its operator norm on H×W inputs.

    The norm is that of the linear map on (C, H, W) tensors (not of the reshaped weight, which can be far
    smaller or larger), estimated by power iteration with conv and its transpose, as torch's spectral_norm
    does for matrices: one iteration per training forward, 64 at construction, and to convergence when the module
    is put in eval mode (the network the certificate bounds); inputs must be H×W.
    """

    def __init__(self, width_in: int, width_out: int, kernel: int, spatial: tuple[int, int]) -> None:
        super().__init__(width_in, width_out, kernel, padding=kernel // 2, bias=False)
        self.pad = kernel // 2
        self.spatial = (int(spatial[0]), int(spatial[1]))
        self.v: torch.Tensor
        v = torch.randn(1, width_in, *self.spatial, generator=torch.Generator().manual_seed(0))
        self.register_buffer("v", v / v.norm())
        with torch.no_grad():
            self.power_iteration(64)

    def power_iteration(self, steps: int) -> None:
        v = self.v
        for _ in range(steps):
            u = nn.functional.conv2d(v, self.weight, padding=self.pad)
            v = nn.functional.conv_transpose2d(u, self.weight, padding=self.pad)
            v = v / (v.norm() + 1e-12)
        self.v.copy_(v)

    def train(self, mode: bool = True) -> OperatorNormConv2d:
        if self.training and not mode:  # the eval-mode network is the certified one: converge the estimate
            with torch.no_grad():
                self.converge()
        return super().train(mode)

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
        """‖conv‖ at H×W from the current power-iteration vector (differentiable in the weight)."""
        # a copy: later power iterations update the buffer in place while autograd still needs this one
        return nn.functional.conv2d(self.v.clone(), self.weight, padding=self.pad).norm()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if tuple(z.shape[-2:]) != self.spatial:
            raise ValueError(f"input size {tuple(z.shape[-2:])}: this conv is normalized at {self.spatial}")
        if self.training:
            with torch.no_grad():
                self.power_iteration(1)
        return nn.functional.conv2d(z, self.weight / self.sigma(), padding=self.pad)


class GainCappedBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm whose per-channel gain |γ_c|/√(var_c + eps) is capped at 1 (running statistics in eval
    mode, batch statistics in training), so in eval mode it is an affine map of Lipschitz constant <= 1."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        var = z.var(dim=(0, 2, 3), unbiased=False) if self.training else self.running_var
        assert var is not None
        limit = torch.sqrt(var + self.eps).detach()  # |γ_c| <= √(var_c + eps)  <=>  gain_c <= 1
        gamma = torch.maximum(torch.minimum(self.weight, limit), -limit)
        momentum = 0.1 if self.momentum is None else self.momentum
        return nn.functional.batch_norm(
            z, self.running_mean, self.running_var, gamma, self.bias, self.training, momentum, self.eps
        )


class ChannelsLayerNorm(nn.Module):
    """LayerNorm over the channel dim of an NCHW tensor (ConvNeXt's norm)."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels, eps=eps)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.norm(z.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ConvNeXt(nn.Module):
    """T(z) = γ·W2·σ(W1·LN(DWConv7(z))): ConvNeXt's depthwise conv, norm and inverted MLP (Liu et al. 2022)."""

    def __init__(self, width: int, hidden: int, act: nn.Module, kernel: int = 7, layer_scale: float = 1e-6) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(width, width, kernel, padding=kernel // 2, groups=width)
        self.norm = ChannelsLayerNorm(width)
        self.pw1, self.act, self.pw2 = nn.Conv2d(width, hidden, 1), act, nn.Conv2d(hidden, width, 1)
        self.gamma = nn.Parameter(torch.full((width, 1, 1), float(layer_scale))) if layer_scale > 0 else None

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
