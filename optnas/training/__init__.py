"""Training: `Trainer` (a resumable run), `train` (build an ArchSpec and fit it), `fit` (any module), and what a
run returns.

Example:
    >>> from torch import nn
    >>> from optnas.training import fit
    >>> result = fit(nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 1)), "polynomial",
    ...              epochs=2, device="cpu")
    >>> result.status, result.metrics["metric_name"]
    ('complete', 'mse')
"""

from __future__ import annotations

from .divergence import Diverged
from .loop import fit, train
from .options import TrainOptions
from .result import RunResult, StopTraining
from .trainer import Trainer

__all__ = ["Diverged", "RunResult", "StopTraining", "TrainOptions", "Trainer", "fit", "train"]
