"""`Context`: everything a condition of the certificate may read, resolved once from the spec (`resolve`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import algorithms, blocks, schedules
from ..spec import ArchSpec
from ..stages import StagePlan

# Learnable step sizes: the linear part is checked at these fractions of h_max.
H_GRID = (0.05, 0.25, 0.5, 0.75, 1.0)


@dataclass
class Context:
    """Everything a condition may read, resolved once from the spec.

    ``stages`` are the tables and steps the network runs (`optnas.stages.stage_plan`, or read back from a
    built network): the linear-part conditions check every stage.
    """

    spec: ArchSpec
    algorithm: algorithms.Algorithm
    schedule: schedules.Schedule
    block: blocks.Block
    input_shape: tuple[int, ...] | None
    stages: tuple[StagePlan, ...]
    # the σ modules of a built (trained) network: their current parameters are checked (`certify_model`)
    act_modules: tuple[Any, ...] = ()
    # implicit: the fixed-point iterations the built network's solver runs (max_iter raised to what the
    # certified contraction factor needs for the tolerance); set by the contraction condition
    solver_iterations: int | None = None
    deeper: dict[tuple[int, float | None], float] = field(default_factory=dict)  # cache of _deeper_bound

    def steps(self, stage: StagePlan) -> list[np.ndarray]:
        """Step sequences to check: the actual ones, or a grid over (0, h_max] when learnable."""
        if stage.h_max is not None:
            return [np.full(stage.depth, t * stage.h_max) for t in H_GRID]
        return [np.asarray(stage.steps)]

    def where(self, stage: StagePlan) -> str:
        """``"stage i: "`` when the network has several stages (each restarts the algorithm)."""
        return f"stage {stage.index}: " if len(self.stages) > 1 else ""
