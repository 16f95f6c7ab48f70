"""`optnas.build`: an `ArchSpec` becomes a PyTorch module, after its certificate is checked."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from torch import nn

from . import _validate, activations, algorithms, blocks
from ._shapes import SPATIAL_DIMS, check_shape, input_kind, spatial_size
from .certify import Certificate, UncertifiedArchitecture, certify
from .nn.io import ImageHead, SignalHead, TokenHead, TokenStem, downsample, downsampled
from .nn.unrolled import Network, Unrolled
from .spec import ArchSpec
from .stages import StagePlan, stage_plan

__all__ = ["INITS", "build", "skeleton"]


def build(
    spec: ArchSpec, input_shape: Sequence[int], num_outputs: int, *, allow_uncertified: bool = False,
    certificate: Certificate | None = None,
) -> Network:
    """Build the network of ``spec`` for inputs of ``input_shape`` (batch excluded).

    ``input_shape`` is ``(features,)``, ``(tokens, features)``, ``(channels, height, width)`` or
    ``optnas.Signal(channels, length)`` for 1-D signals (a plain 2-tuple means tokens).

    Raises `UncertifiedArchitecture` when the certificate fails, unless ``allow_uncertified`` (used to
    show why a condition exists, e.g. the width lift). The module records ``certificate`` and
    ``init_record``. ``certificate``: ``certify(spec, input_shape=input_shape)`` when the caller has it
    already (a search's draw), so it is not computed twice.

    Example:
        >>> import torch, optnas
        >>> spec = optnas.ArchSpec(algorithm="heavy_ball", algorithm_params={"beta": 0.9}, depth=4, width=16)
        >>> net = optnas.build(spec, input_shape=(2,), num_outputs=3)
        >>> net(torch.randn(5, 2)).shape
        torch.Size([5, 3])
    """
    shape = check_shape(input_shape)
    _validate.integer("num_outputs", num_outputs, 1)
    kind = input_kind(shape)
    if spec.init not in INITS:
        raise ValueError(f"ArchSpec.init={spec.init!r} is unknown; valid inits: {', '.join(sorted(INITS))}")
    if spec.stages > 1 and not SPATIAL_DIMS[kind]:
        raise ValueError(
            f"ArchSpec.stages={spec.stages} is invalid for {kind} inputs: only images and signals have stages"
        )
    cert = certify(spec, input_shape=shape) if certificate is None else certificate
    if not cert.ok and not allow_uncertified:
        raise UncertifiedArchitecture(cert)

    algorithm = algorithms.get(spec.algorithm, **spec.algorithm_params)
    block = blocks.get(spec.block, **spec.block_params)
    width = spec.width if spec.stem == "lift" else (shape[0] if SPATIAL_DIMS[kind] else shape[-1])
    stem = _stem(spec.stem, kind, shape, width)

    stages, transitions = [], []
    spatial = spatial_size(shape)  # (H, W) of images, (L,) of signals: what implicit convs normalize at
    for plan in stage_plan(spec):  # the same tables and steps the certificate checked
        if plan.index:
            transitions.append(downsample(width, 2 * width, SPATIAL_DIMS[kind]))
            width *= 2
            spatial = downsampled(spatial) if spatial else None
        stages.append(_stage(spec, algorithm, block, width, plan, kind, spatial, cert.solver_iterations))
    head = {"vector": lambda: nn.Linear(width, num_outputs), "image": lambda: ImageHead(width, num_outputs),
            "token": lambda: TokenHead(width, num_outputs), "signal": lambda: SignalHead(width, num_outputs)}[kind]()
    net = Network(stem, stages, transitions, head)
    init_record = INITS[spec.init](net, spec)
    net.certificate = cert  # type: ignore[assignment]
    net.input_shape = shape  # type: ignore[assignment]  # certify_model(net) reads it
    net.init_record = init_record  # type: ignore[assignment]
    return net


def _stem(stem: str, kind: str, shape: tuple[int, ...], width: int) -> nn.Module:
    if stem == "none":
        return nn.Identity()
    return {
        "vector": lambda: nn.Linear(shape[0], width),
        "image": lambda: nn.Conv2d(shape[0], width, 3, padding=1),
        "token": lambda: TokenStem(shape[0], shape[1], width),
        "signal": lambda: nn.Conv1d(shape[0], width, 3, padding=1),
    }[kind]()


def _stage(
    spec: ArchSpec, algorithm: algorithms.Algorithm, block: blocks.Block,
    width: int, plan: StagePlan, kind: str, spatial: tuple[int, ...] | None, max_iter: int | None = None,
) -> Unrolled:
    act = lambda: activations.get(spec.activation, **spec.activation_params)  # noqa: E731
    if algorithm.implicit:
        # the contraction certificate's bound on Lip(T) holds by this construction (Block.lipschitz)
        ts = [block.contractive(width, act(), kind, spatial) for _ in range(plan.depth)]
    else:
        ts = [block.build(width, act(), kind) for _ in range(plan.depth)]
    return skeleton(algorithm, ts, plan.steps_module(), layers=plan.layers, max_iter=max_iter)


def skeleton(
    algorithm: algorithms.Algorithm, ts: Sequence[nn.Module], steps: nn.Module,
    layers: Sequence[algorithms.Layer] | None = None, max_iter: int | None = None,
) -> Unrolled:
    """The unrolled loop of ``algorithm`` over the modules ``ts`` (one per layer) with step module ``steps``.

    Example:
        >>> import torch, optnas
        >>> from optnas.nn.steps import FixedSteps
        >>> gd = skeleton(optnas.algorithms.get("gd"), [torch.nn.Identity()] * 2, FixedSteps([0.5, 0.5]))
        >>> gd(torch.ones(1))  # x + h·x, twice
        tensor([2.2500])
    """
    depth = len(ts)
    tables = list(algorithm.layers(depth) if layers is None else layers)  # the algorithm's rows, run as written
    # max_iter: the certificate's solver_iterations when given (raised to what the certified q needs)
    budget = max_iter if max_iter is not None else getattr(algorithm, "max_iter", 30)
    solver = {"max_iter": budget, "tol": algorithm.tol} if algorithm.implicit else {}  # type: ignore[attr-defined]
    return Unrolled(
        list(ts), tables, algorithm.equilibrium(depth).tolist(), steps, implicit=algorithm.implicit, **solver
    )


def _t_modules(net: Network) -> list[nn.Module]:
    return [t for stage in net.stages for t in stage.blocks]  # type: ignore[union-attr]


def _default_init(net: Network, spec: ArchSpec) -> dict[str, Any]:
    return {"init": "default", "source": "PyTorch default initialization"}


def _zero_last_init(net: Network, spec: ArchSpec) -> dict[str, Any]:
    """Zero T's second layer, so the network starts as stem -> identity flow -> head (ReZero/Fixup style)."""
    for t in _t_modules(net):
        second = t.two_layer()[2]  # type: ignore[operator]
        for p in second.parameters():
            nn.init.zeros_(p)
    return {"init": "zero_last", "source": "T's second layer zeroed: identity flow at initialization"}


def _critical_init(net: Network, spec: ArchSpec) -> dict[str, Any]:
    """T's layers at the activation's critical (C_b, C_W) from the effective theory (THEORY.md §2)."""
    # lazy: the effective theory loads scipy.optimize (about a second); `import optnas` loads it only for the
    # init that needs it, as optnas/__init__ defers optnas.theory
    from . import theory

    choice = theory.init_parameters(spec.activation, **spec.activation_params)
    for t in _t_modules(net):
        theory.initialize_(t, c_b=choice.c_b, c_w=choice.c_w)
    return {"init": "critical", "c_b": choice.c_b, "c_w": choice.c_w, "source": choice.source, "reason": choice.reason}


# name -> initializer(net, spec) -> record of what was done (stored with every trial)
INITS: dict[str, Callable[[Network, ArchSpec], dict[str, Any]]] = {
    "default": _default_init,
    "zero_last": _zero_last_init,
    "critical": _critical_init,
}
