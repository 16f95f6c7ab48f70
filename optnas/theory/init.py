"""Initialization from the analysis: choose (C_b, C_W) for an activation, and apply it to a module.

Example:
    >>> import torch
    >>> choice = init_parameters("tanh")
    >>> choice.c_b, round(choice.c_w, 9), choice.source
    (0.0, 1.0, 'critical')
    >>> layer = torch.nn.Linear(400, 300)
    >>> initialize_(layer, choice.c_b, choice.c_w)
    >>> round(float(layer.weight.detach().var() * 400), 1), float(layer.bias.detach().abs().max())
    (1.0, 0.0)
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from .. import _validate
from ._fallback import InitChoice
from .criticality import criticality

__all__ = ["InitChoice", "init_parameters", "initialize_"]

_WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d)


def init_parameters(activation: str, **params: Any) -> InitChoice:
    """The (C_b, C_W) to initialize an activation's layers with: its recommended critical point, or the
    documented fallback (source "fallback", see `optnas.theory._fallback`) where none exists.

    Example:
        >>> choice = init_parameters("repu", p=2)
        >>> choice.source, round(choice.c_b, 12), round(choice.c_w, 12)
        ('fallback', 0.25, 0.5)
    """
    return criticality(activation, **params).init


def initialize_(module: nn.Module, c_b: float, c_w: float, *, generator: torch.Generator | None = None) -> None:
    """Re-initialize every nn.Linear / nn.Conv1d / nn.Conv2d inside ``module`` (itself included):
    W ~ N(0, c_w / fan_in) with fan_in = in_features (or in_channels/groups × kernel size), b ~ N(0, c_b),
    b = 0 exactly when c_b = 0. Other parameters (norms, step sizes) are left alone.
    """
    for name, value in (("c_b", c_b), ("c_w", c_w)):
        _validate.number(name, value, 0)
    with torch.no_grad():
        for layer in module.modules():
            if not isinstance(layer, _WEIGHTED):
                continue
            weight = layer.weight
            fan_in = weight.shape[1] * math.prod(weight.shape[2:])
            weight.normal_(0.0, math.sqrt(c_w / fan_in), generator=generator)
            if layer.bias is not None:
                if c_b > 0:
                    layer.bias.normal_(0.0, math.sqrt(c_b), generator=generator)
                else:
                    layer.bias.zero_()
