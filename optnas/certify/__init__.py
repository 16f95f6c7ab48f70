"""Certification of candidates against the universality theorem (Wu, Xiao, Fang & Lin, TPAMI 2024).

Example:
    >>> import optnas
    >>> optnas.certify(optnas.ArchSpec(algorithm="heavy_ball", algorithm_params={"beta": 0.9})).ok
    True
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from .. import activations, footprint
from .._shapes import check_shape
from ..spec import ArchSpec
from ..stages import StagePlan, read_plan
from .certificate import Certificate, Condition, Stage, UncertifiedArchitecture
from .conditions import CONDITIONS, Context, resolve

__all__ = ["Certificate", "Condition", "Stage", "UncertifiedArchitecture", "certify", "certify_model", "certify_plan"]


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
    footprint.check_spec(spec, shape)  # before any table exists
    ctx = resolve(spec, shape, stages)
    return _run(ctx)


def _run(ctx: Context) -> Certificate:
    stage_list = [Stage(s.depth, s.steps, s.h_max) for s in ctx.stages]
    conditions = [check(ctx) for check in CONDITIONS]
    return Certificate(spec=ctx.spec.to_dict(), conditions=conditions, stages=stage_list,
                       solver_iterations=ctx.solver_iterations)


def certify_model(
    net: nn.Module, spec: ArchSpec | None = None, input_shape: Sequence[int] | None = None
) -> Certificate:
    """The certificate of a built (e.g. trained) network from its current state: the tables its forward
    runs (`optnas.stages.read_plan`) and its σ modules at their current parameters (a learnable slope is
    checked as trained, against the declared Lipschitz bound and for polynomiality).

    ``spec`` and ``input_shape`` default to what `optnas.build` recorded on the network.

    Example:
        >>> import optnas
        >>> from optnas.certify import certify_model
        >>> net = optnas.build(optnas.ArchSpec(algorithm="gd", depth=2, width=8), (2,), 3)
        >>> certify_model(net).ok
        True
    """
    recorded = getattr(net, "certificate", None)
    if spec is None:
        if not isinstance(recorded, Certificate):
            raise ValueError("certify_model: the network records no certificate (not built by optnas.build); "
                             "pass spec=")
        spec = ArchSpec.from_dict(recorded.spec)
    given = input_shape if input_shape is not None else getattr(net, "input_shape", None)
    shape = None if given is None else check_shape(given)  # a Signal stays a Signal
    footprint.check_spec(spec, shape)
    ctx = resolve(spec, shape, read_plan(net))
    kind = type(activations.get(spec.activation, **spec.activation_params))
    ctx.act_modules = tuple(m for m in net.modules() if type(m) is kind)
    return _run(ctx)
