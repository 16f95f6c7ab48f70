"""Certification of candidates against the universality theorem (Wu, Xiao, Fang & Lin, TPAMI 2024).

Example:
    >>> import optnas
    >>> optnas.certify(optnas.ArchSpec(algorithm="heavy_ball", algorithm_params={"beta": 0.9})).ok
    True
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import limits
from .._shapes import check_shape
from ..spec import ArchSpec
from ..stages import StagePlan
from .certificate import Certificate, Condition, Stage, UncertifiedArchitecture
from .conditions import CONDITIONS, resolve

__all__ = ["Certificate", "Condition", "Stage", "UncertifiedArchitecture", "certify", "certify_plan"]


def certify(spec: ArchSpec, input_shape: Sequence[int] | None = None) -> Certificate:
    """Check every condition of the theorem for ``spec``; no network is built or trained.

    With ``input_shape`` the width-lift condition is checked against the input dimension; without it,
    `build` checks it. Unknown names and invalid parameters raise ValueError.
    """
    return certify_plan(spec, None, input_shape)


def certify_plan(
    spec: ArchSpec, stages: Sequence[StagePlan] | None, input_shape: Sequence[int] | None = None
) -> Certificate:
    """`certify` on given stage tables (``None``: the spec's own `optnas.stages.stage_plan`).

    With ``optnas.stages.read_plan(net)`` this recomputes the verdict from the tables a built network runs.
    """
    if not isinstance(spec, ArchSpec):
        raise ValueError(f"certify expects an ArchSpec, got {type(spec).__name__}")
    shape = None if input_shape is None else check_shape(input_shape)  # a Signal stays a Signal
    limits.check_spec(spec, shape)  # before any table exists
    ctx = resolve(spec, shape, stages)
    stage_list = [Stage(s.depth, s.steps, s.h_max) for s in ctx.stages]
    return Certificate(spec=spec.to_dict(), conditions=[check(ctx) for check in CONDITIONS], stages=stage_list)
