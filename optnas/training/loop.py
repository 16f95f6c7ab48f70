"""`fit` trains any module on a task, `train` builds an `ArchSpec` first and fits it: thin calls of `Trainer`."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .. import _validate
from ..errors import UsageError
from ..spec import ArchSpec
from ..tasks import Task
from .result import RunResult
from .trainer import CURVES, Callback, Trainer

__all__ = ["CURVES", "Callback", "fit", "train"]


def fit(
    model: nn.Module,
    task: Task | str,
    *,
    epochs: int,
    seed: int = 0,
    device: str | torch.device = "auto",
    callback: Callback | None = None,
    **options: Any,
) -> RunResult:
    """Train ``model`` on ``task`` (a `Task` or a registered name); see `train` for everything else.

    Example:
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 3))
        >>> result = fit(model, "rings", epochs=2, device="cpu")
        >>> result.status, sorted(result.curves)[:2]
        ('complete', ['epoch_s', 'lr'])
    """
    _validate.integer("epochs", epochs, 1)  # before anything is built
    return Trainer(model, task, seed=seed, device=device, **options).fit(epochs, callback=callback)


def train(
    spec: ArchSpec | dict[str, Any],
    task: Task | str,
    *,
    epochs: int,
    seed: int = 0,
    device: str | torch.device = "auto",
    callback: Callback | None = None,
    **options: Any,
) -> RunResult:
    """Build ``spec`` for ``task`` with `optnas.build`, train it, and measure it: ``Trainer(spec, task, seed=,
    device=, **options).fit(epochs, callback)`` (`Trainer` has the options, and resumes).

    ``seed`` fixes the initialisation and the batch order (CPU runs are bit-for-bit reproducible).
    ``callback(epoch, metrics)`` runs after each epoch (epochs count from 0) with ``train_loss``,
    ``train_metric``, ``val_loss``, ``val_metric``, ``lr`` and ``wall_s``; returning True or raising
    `StopTraining` ends the run with status "pruned".

    Example:
        >>> import optnas
        >>> spec = optnas.ArchSpec(algorithm="gd", depth=4, width=16)     # doctest: +SKIP
        >>> result = optnas.train(spec, "digits", epochs=3)                 # doctest: +SKIP
        >>> result.status, result.metrics["test_metric"] > 0.8             # doctest: +SKIP
        ('complete', True)
    """
    _validate.integer("epochs", epochs, 1)
    if not isinstance(spec, ArchSpec | dict):
        raise UsageError(f"spec must be an optnas.ArchSpec or its dict, got {type(spec).__name__}")
    return Trainer(spec, task, seed=seed, device=device, **options).fit(epochs, callback=callback)
