"""What a task optimises: its loss, its metric and the metric's direction, per kind of problem.

A metric is accumulated as a per-batch *sum* (`Objective.score_sum`) and divided once at the end, so the
value over a split never depends on the batch size and never syncs with the device inside the loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from ..errors import UsageError

Direction = Literal["maximize", "minimize"]


@dataclass(frozen=True)
class Objective:
    """The loss and metric of one kind of problem.

    ``score_sum(output, target)`` returns a 0-d tensor: the metric summed over the batch's samples; the
    split's metric is that sum over all batches divided by the number of samples.
    """

    kind: str
    metric_name: str
    direction: Direction
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    score_sum: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    target_dtype: torch.dtype

    def worst(self) -> float:
        """The worst possible metric value (what a diverged run scores, for a sampler that needs one)."""
        return 0.0 if self.direction == "maximize" else float("inf")


def _correct(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (output.argmax(dim=-1) == target).sum()


def _squared_error(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    # mean over the outputs of one sample, summed over samples: the split's value is then the plain MSE
    return (output.float() - target.float()).pow(2).flatten(1).mean(dim=1).sum()


def _mse_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(output.float(), target.float())


OBJECTIVES: dict[str, Objective] = {
    "classification": Objective(
        kind="classification",
        metric_name="accuracy",
        direction="maximize",
        loss=F.cross_entropy,
        score_sum=_correct,
        target_dtype=torch.long,
    ),
    "regression": Objective(
        kind="regression",
        metric_name="mse",
        direction="minimize",
        loss=_mse_loss,
        score_sum=_squared_error,
        target_dtype=torch.float32,
    ),
}


def objective(kind: str) -> Objective:
    """The objective of ``kind`` ("classification" or "regression")."""
    try:
        return OBJECTIVES[kind]
    except (KeyError, TypeError):
        raise UsageError(f"task kind {kind!r} is invalid; valid kinds: {', '.join(sorted(OBJECTIVES))}") from None
