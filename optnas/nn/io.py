"""Stems (input -> state) and heads (state -> outputs) for vector, image, token and signal inputs (torch-only)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class Standardize(nn.Module):
    """``(x - mean) / std`` per input feature, with statistics fitted on a training split.

    The statistics are non-persistent buffers: they live in the code (model.py writes them as constants),
    not in the weights, so a network's state_dict is the same with or without them.

    Example:
        >>> Standardize([1.0, 2.0], [2.0, 4.0])(torch.tensor([[3.0, 2.0]]))
        tensor([[1., 0.]])
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean: list[Any], std: list[Any]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class TokenStem(nn.Module):
    """Per-token linear lift plus a learned positional embedding."""

    def __init__(self, tokens: int, features: int, width: int) -> None:
        super().__init__()
        self.proj = nn.Linear(features, width)
        self.pos = nn.Parameter(torch.zeros(1, tokens, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x) + self.pos


class ImageHead(nn.Module):
    """Global average pool, then a linear classifier/regressor."""

    def __init__(self, width: int, outputs: int) -> None:
        super().__init__()
        self.fc = nn.Linear(width, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.mean(dim=(2, 3)))


class SignalHead(nn.Module):
    """Global average pool over the length of (N, C, L) signals, then a linear classifier/regressor."""

    def __init__(self, width: int, outputs: int) -> None:
        super().__init__()
        self.fc = nn.Linear(width, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.mean(dim=2))


class TokenHead(nn.Module):
    """LayerNorm, mean over tokens, linear."""

    def __init__(self, width: int, outputs: int) -> None:
        super().__init__()
        self.norm, self.fc = nn.LayerNorm(width), nn.Linear(width, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.norm(x).mean(dim=1))


def downsample(width_in: int, width_out: int, dims: int = 2) -> nn.Module:
    """Stage transition: halve the resolution, change the width (applied to the iterate).

    ``dims`` = 2 for images (3×3 conv), 1 for signals (length-3 conv).
    """
    if dims == 1:
        return nn.Sequential(nn.BatchNorm1d(width_in), nn.Conv1d(width_in, width_out, 3, stride=2, padding=1))
    return nn.Sequential(nn.BatchNorm2d(width_in), nn.Conv2d(width_in, width_out, 3, stride=2, padding=1))


def downsampled(spatial: tuple[int, ...]) -> tuple[int, ...]:
    """The size after `downsample` (kernel 3, stride 2, padding 1: ⌈H/2⌉×⌈W/2⌉, or ⌈L/2⌉)."""
    return tuple((d + 1) // 2 for d in spatial)
