"""Activation modules that torch does not ship: RePU and MRePU (torch-only runtime code)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn


class RePU(nn.Module):
    """Rectified power unit ``max(0, z)**p``; ``p = 1`` is ReLU.

    Example:
        >>> RePU(2)(torch.tensor([-1.0, 3.0]))
        tensor([0., 9.])
    """

    def __init__(self, p: int = 2) -> None:
        super().__init__()
        self.p = int(p)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.relu(z).pow(self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class MRePU(nn.Module):
    """Modified RePU ``z * max(0, z + 1)**p`` (Kim & Kang 2024): MRePU(0) = 0 and MRePU'(0) = 1.

    Example:
        >>> MRePU(2)(torch.tensor([-2.0, 0.0, 1.0]))
        tensor([-0., 0., 4.])
    """

    def __init__(self, p: int = 2) -> None:
        super().__init__()
        self.p = int(p)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z * torch.relu(z + 1.0).pow(self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Elementwise(nn.Module):
    """Wraps a plain tensor function ``fn(z, **params)`` (a user-registered activation) as a module.

    Example:
        >>> Elementwise(torch.clamp, "clamp", {"min": 0.0})(torch.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """

    def __init__(
        self, fn: Callable[..., torch.Tensor], name: str = "fn", params: dict[str, Any] | None = None
    ) -> None:
        super().__init__()
        self.fn = fn
        self.name = name
        self.params = dict(params or {})

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.fn(z, **self.params)

    def extra_repr(self) -> str:
        return self.name
