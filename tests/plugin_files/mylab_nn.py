"""A user's own torch modules (imports only torch): what an exported model.py imports back."""

import torch
from torch import nn


class Snake(nn.Module):
    """z + sin²(a·z)/a: slope 1 + sin(2az) lies in [0, 2], so its global Lipschitz constant is 2."""

    def __init__(self, a: float = 1.0) -> None:
        super().__init__()
        self.a = float(a)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z + torch.sin(self.a * z) ** 2 / self.a


def wave(z: torch.Tensor) -> torch.Tensor:
    """sin(z), a plain tensor function (Lipschitz 1)."""
    return torch.sin(z)


class GatedMLP(nn.Module):
    """T(z) = g·(W2·σ(W1·z + b1) + b2) with a learnable scalar gate g."""

    def __init__(self, width: int, hidden: int, act: nn.Module) -> None:
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(width, hidden), act, nn.Linear(hidden, width)
        self.gate = nn.Parameter(torch.ones(1))

    def two_layer(self) -> tuple[nn.Module, nn.Module, nn.Module]:
        """Where W1, σ and W2 sit (the certificate's two-layer condition)."""
        return self.fc1, self.act, self.fc2

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.gate * self.fc2(self.act(self.fc1(z)))
