"""Blocks and activations that declare what the theorem needs without computing it (issue 27).

Registered the documented way, as a user's plugin would: ``optnas certify spec.json --plugin hostile_blocks``.
Every block names fc1 -> act -> fc2 in ``two_layer()``; its forward decides what T really is.
"""

from __future__ import annotations

import torch
from torch import nn

import optnas
from optnas.blocks import Block

NAMES = {
    "blocks": ["h_zero_times", "h_y_minus_y", "h_zero_input", "h_round", "h_branch", "h_wide", "h_noise", "h_good"],
    "activations": ["h_prelu_free", "h_prelu_clamped", "h_prelu_init", "h_nearly_linear", "h_round_act"],
}


class _Declared(nn.Module):
    def __init__(self, width: int, hidden: int, act: nn.Module) -> None:
        super().__init__()
        self.width = width
        self.fc1, self.act, self.fc2 = nn.Linear(width, hidden), act, nn.Linear(hidden, width)

    def two_layer(self) -> tuple[nn.Module, nn.Module, nn.Module]:
        return self.fc1, self.act, self.fc2

    def mlp(self, z: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(z)))


class ZeroTimes(_Declared):
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return 0 * self.mlp(z)


class YMinusY(_Declared):
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        y = self.mlp(z)
        return y - y


class ZeroInput(_Declared):
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.mlp(0 * z)


class Round(_Declared):
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.round(self.mlp(z))


class Branch(_Declared):
    """Two-layer on half the inputs, linear on the other half: a data-dependent branch."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.mean() > 0:
            return self.mlp(z)
        return 0.5 * z


class Wide(_Declared):
    """Two-layer up to width 256, linear above."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if self.width <= 256:
            return self.mlp(z)
        return self.fc2(self.fc1(z))


class Noise(_Declared):
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.mlp(z) + 0.01 * torch.randn_like(z)


class Good(_Declared):
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.mlp(z)


def _register(name: str, module: type[nn.Module]) -> None:
    @optnas.blocks.register(name, overwrite=True)
    class _Block(Block):
        inputs = frozenset({"vector"})
        structure = "T(z) = W2·σ(W1·z + b1) + b2  (declared)"

        def make(self, width: int, act: nn.Module, kind: str) -> nn.Module:
            return module(width, self.hidden_width(width), act)


for _name, _module in zip(NAMES["blocks"], (ZeroTimes, YMinusY, ZeroInput, Round, Branch, Wide, Noise, Good),
                          strict=True):
    _register(_name, _module)


class FreePReLU(nn.Module):
    """PReLU with a free learnable slope: 1-Lipschitz at initialisation only."""

    def __init__(self) -> None:
        super().__init__()
        self.slope = nn.Parameter(torch.tensor(0.25))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.where(z >= 0, z, self.slope * z)


class ClampedPReLU(FreePReLU):
    """The slope enters through a clamp to [-1, 1]: 1-Lipschitz for every parameter value."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.where(z >= 0, z, self.slope.clamp(-1.0, 1.0) * z)


optnas.activations.register("h_prelu_free", lipschitz=1.0, polynomial=False)(FreePReLU)
optnas.activations.register("h_prelu_clamped", lipschitz=1.0, polynomial=False,
                            lipschitz_over_training="parametrized")(ClampedPReLU)
# a false declaration: "parametrized" but the slope is free; the certificate's parameter probe finds it
optnas.activations.register("h_prelu_init", lipschitz=1.0, polynomial=False,
                            lipschitz_over_training="parametrized")(FreePReLU)


@optnas.activations.register("h_nearly_linear", polynomial=False)  # a false declaration: the probe finds degree 9
def nearly_linear(z: torch.Tensor) -> torch.Tensor:
    """z + 1e-9·z^9: a polynomial of degree 9 that a degree-8 fit misses."""
    return z + 1e-9 * z**9


@optnas.activations.register("h_round_act", polynomial=False)
def round_act(z: torch.Tensor) -> torch.Tensor:
    """round(z) + z: jumps of 1 at every half-integer (finite differences at step 1e-3 see slope ~1000)."""
    return torch.round(z) + z
