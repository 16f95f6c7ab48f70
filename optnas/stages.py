"""The stage plan of a spec: per stage, its depth, coefficient tables and step sizes h_k.

The one place where a spec's depth is split over its stages and where each stage's tables and steps are
computed. `optnas.build` runs them, `optnas.certify` checks them, the dashboard draws them and the theory
scores them: none of them splits the depth or evaluates a schedule itself, so they cannot disagree.

Each stage restarts the algorithm from the (downsampled) iterate, so stage i of depth L_i runs the
algorithm's depth-L_i tables with the schedule's depth-L_i steps (Σ h_k = horizon within every stage).

Example:
    >>> from optnas import ArchSpec
    >>> plan = stage_plan(ArchSpec(algorithm="proximal_point", depth=2, stages=2, block="preact_conv",
    ...                            schedule_params={"horizon": 1.5}))
    >>> [(s.depth, s.steps) for s in plan]
    [(1, (1.5,)), (1, (1.5,))]
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from . import algorithms, schedules
from .algorithms import Layer
from .nn.steps import FixedSteps, LearnableSteps
from .spec import ArchSpec

__all__ = ["StagePlan", "split_depth", "stage_plan"]


@dataclass(frozen=True)
class StagePlan:
    """One stage: ``depth`` layers with tables ``layers`` and steps ``steps`` (h_0..h_{depth-1}).

    For a learnable schedule ``steps`` are the initial values and ``h_max`` the bound every step stays
    below (h_k = h_max·sigmoid(θ_k)); for fixed schedules ``h_max`` is None.
    """

    index: int
    depth: int
    layers: tuple[Layer, ...]
    steps: tuple[float, ...]
    h_max: float | None = None

    def steps_module(self) -> nn.Module:
        """The runtime module producing this stage's steps (learnable: h_max·sigmoid(θ), from ``steps``)."""
        if self.h_max is None:
            return FixedSteps(list(self.steps))
        return LearnableSteps(list(self.steps), self.h_max)


def split_depth(depth: int, stages: int) -> list[int]:
    """Layers per stage: as even as possible, earlier stages one longer.

    Example:
        >>> split_depth(7, 3)
        [3, 2, 2]
    """
    return [depth // stages + (1 if i < depth % stages else 0) for i in range(stages)]


def stage_plan(spec: ArchSpec) -> tuple[StagePlan, ...]:
    """The stages `optnas.build` makes for ``spec`` (unknown names and bad parameters raise ValueError)."""
    algorithm = algorithms.get(spec.algorithm, **spec.algorithm_params)
    schedule = schedules.get(spec.schedule, **spec.schedule_params)
    plan = []
    for i, depth in enumerate(split_depth(spec.depth, spec.stages)):
        steps = tuple(float(h) for h in schedule.values(depth))
        h_max = schedule.bounds(depth)[1] if schedule.learnable else None
        plan.append(StagePlan(i, depth, tuple(algorithm.layers(depth)), steps, h_max))
    return tuple(plan)


def read_plan(net: nn.Module) -> tuple[StagePlan, ...]:
    """The stage plan of a built network: the very tables (`Layer` objects) its forward pass runs.

    ``optnas.certify.certify_plan(spec, read_plan(net))`` recomputes the verdict from the module itself.
    """
    plan = []
    for i, stage in enumerate(net.stages):  # type: ignore[arg-type]
        layers = tuple(stage.layers)
        h_max = getattr(stage.steps, "h_max", None)
        plan.append(StagePlan(i, len(layers), layers, stage.step_values(), None if h_max is None else float(h_max)))
    return tuple(plan)
