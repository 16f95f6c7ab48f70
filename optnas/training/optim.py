"""Optimisers (one dict maps names to factories) and the warmup + cosine learning-rate schedule."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

ParamGroups = list[dict[str, Any]]


def _adamw(groups: ParamGroups, lr: float, momentum: float) -> torch.optim.Optimizer:
    return torch.optim.AdamW(groups, lr=lr)


def _sgd(groups: ParamGroups, lr: float, momentum: float) -> torch.optim.Optimizer:
    return torch.optim.SGD(groups, lr=lr, momentum=momentum, nesterov=momentum > 0)


OPTIMIZERS: dict[str, Callable[[ParamGroups, float, float], torch.optim.Optimizer]] = {
    "adamw": _adamw,
    "sgd": _sgd,
}


def param_groups(model: nn.Module, weight_decay: float) -> ParamGroups:
    """Decay weight matrices and kernels only: decaying biases and norm scales only hurts."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def make_optimizer(
    model: nn.Module, name: str, lr: float, weight_decay: float, momentum: float
) -> torch.optim.Optimizer:
    """The optimiser ``name`` over ``model``'s trainable parameters."""
    return OPTIMIZERS[name](param_groups(model, weight_decay), lr, momentum)


def lr_factor(progress: float, warmup: float) -> float:
    """LR multiplier at ``progress`` in [0, 1] of the run: linear warmup, then cosine decay to 0.

    Example:
        >>> lr_factor(0.05, warmup=0.1), lr_factor(0.1, warmup=0.1), round(lr_factor(1.0, warmup=0.1), 6)
        (0.5, 1.0, 0.0)
    """
    progress = min(max(progress, 0.0), 1.0)
    if progress < warmup:
        return progress / warmup
    return 0.5 * (1.0 + math.cos(math.pi * (progress - warmup) / (1.0 - warmup)))
