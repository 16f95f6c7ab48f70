"""The contraction condition of implicit networks: each layer solves x+ = u + c_k·T_k(x+) by fixed-point
iteration, which converges (Banach) when c_k·Lip(T_k) < 1.

Checked statically, before anything is built: c_k = b0 + h_k·b1 is read from row 0 of the layer's sweep
(the tables the forward pass runs, every stage, h_max for learnable steps), and Lip(T) <= the block's bound
(`optnas.blocks.Block.lipschitz`), which its implicit construction guarantees for every parameter value
(`Block.contractive`: spectral normalization of T's linear operators, BatchNorm gains capped at 1). Blocks
without such a bound (softmax attention, per-sample normalization, user blocks that declare none) and
activations without a global Lipschitz constant are rejected, with the reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import activations
from .certificate import Condition

if TYPE_CHECKING:
    from .conditions import Context


def contraction(ctx: Context) -> Condition:
    alg, spec = ctx.algorithm, ctx.spec
    if not alg.implicit:
        return Condition("contraction", True, "explicit algorithm: no fixed point to solve")
    coefs = []
    for stage in ctx.stages:
        steps = [stage.h_max] * stage.depth if stage.h_max is not None else stage.steps
        for layer, h in zip(stage.layers, steps, strict=True):
            row = layer.sweeps[0]
            coefs.append(abs(row.b0[0] + h * row.b1[0]))
    c = max(coefs)
    lip_sigma = activations.info(spec.activation, **spec.activation_params).lipschitz
    if lip_sigma is None:
        return Condition(
            "contraction", False,
            f"activation {spec.activation} is not globally Lipschitz: no step size makes x -> u + c·T(x) a "
            "contraction, and the fixed-point solve can diverge",
        )
    bound = ctx.block.lipschitz(lip_sigma)
    if isinstance(bound, str):
        return Condition("contraction", False, bound)
    q = c * bound
    ok = q < 1.0
    return Condition(
        "contraction", ok,
        f"max_k c_k·Lip(T) <= {c:.4g}·{bound:.4g} = {q:.4g} {'<' if ok else '>='} 1 "
        f"(Lip(σ) = {lip_sigma:g}; {ctx.block.contraction_note or f'block {spec.block} declares the bound'}; "
        "the operator norms are power-iteration estimates)",
        # the normalizing norms are iterative estimates (torch's spectral_norm lags its weights by up to ~1.4%
        # during training, measured; the conv norm is iterated to convergence in eval mode): a numerical check
        numerical=True,
    )
