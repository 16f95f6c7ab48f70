"""Step-size modules h_0..h_{L-1} of an unrolled network (torch-only runtime code)."""

from __future__ import annotations

import torch
from torch import nn


class FixedSteps(nn.Module):
    """Steps fixed at construction; ``forward`` returns them as Python floats (no tensor ops in the loop)."""

    def __init__(self, values: list[float]) -> None:
        super().__init__()
        self.values = [float(v) for v in values]

    def forward(self) -> list[float]:
        return self.values


class LearnableSteps(nn.Module):
    """h_k = h_max · sigmoid(θ_k): positive and bounded by construction, so the certificate holds for any θ."""

    def __init__(self, init: list[float], h_max: float) -> None:
        super().__init__()
        self.h_max = float(h_max)
        ratio = torch.tensor([min(max(v / self.h_max, 1e-6), 1 - 1e-6) for v in init], dtype=torch.float32)
        self.theta = nn.Parameter(torch.log(ratio) - torch.log1p(-ratio))  # logit of init/h_max

    def forward(self) -> torch.Tensor:
        return self.h_max * torch.sigmoid(self.theta)

    def extra_repr(self) -> str:
        return f"depth={self.theta.numel()}, h_max={self.h_max:g}"
