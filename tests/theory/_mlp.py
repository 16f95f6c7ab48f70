"""Plain deep MLPs at a given (C_b, C_W), measured layer by layer (no training)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from optnas import activations
from optnas.theory import initialize_
from optnas.theory._sigma import single_thread


def preactivation_variances(
    name: str,
    params: dict[str, Any],
    c_b: float,
    c_w: float,
    k0: float,
    *,
    depth: int,
    width: int,
    seeds: int,
    batch: int = 64,
) -> np.ndarray:
    """(seeds, depth) mean squared preactivations of layers 1..depth, one row per independently
    initialized network; the inputs are scaled so that layer 1's expected value is k0."""
    act = activations.get(name, **params)
    rows = []
    with torch.no_grad(), single_thread():  # small matmuls: one thread is fastest on a shared machine
        for seed in range(seeds):
            generator = torch.Generator().manual_seed(seed)
            h = torch.randn(batch, width, generator=generator) * math.sqrt((k0 - c_b) / c_w)
            layer = torch.nn.Linear(width, width)
            row = []
            for _ in range(depth):
                initialize_(layer, c_b, c_w, generator=generator)  # a fresh draw for every layer
                z = layer(h)
                row.append(float(z.double().pow(2).mean()))
                h = act(z)
            rows.append(row)
    return np.array(rows)
