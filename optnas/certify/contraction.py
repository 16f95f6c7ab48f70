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

import math

from .. import activations
from .certificate import Condition
from .context import Context


def iterations_needed(q: float, tol: float) -> int:
    """Fixed-point iterations n with q^(n-1) <= tol: the step ‖x_n − x_{n−1}‖ shrinks by q each iteration,
    so the solver's relative residual reaches ``tol`` by then when the first step is no larger than the
    iterate [ours: the solver stops on the step relative to ‖x_n‖].

    Example:
        >>> iterations_needed(0.95, 1e-4), iterations_needed(0.5, 1e-4), iterations_needed(1e-6, 1e-4)
        (181, 15, 2)
    """
    if q <= 0:
        return 1
    return 1 + max(1, math.ceil(math.log(tol) / math.log(q) - 1e-12))


def contraction(ctx: Context) -> Condition:
    alg, spec = ctx.algorithm, ctx.spec
    if not alg.implicit:
        return Condition("contraction", True, "explicit algorithm: no fixed point to solve")
    coefs = []
    for stage in ctx.stages:
        steps = [stage.h_max] * stage.depth if stage.h_max is not None else stage.steps
        for layer, h in zip(stage.layers, steps, strict=True):
            x_row = layer.sweeps[0][0]  # x+ = u + (b0 + h·b1)·T(x+)
            coefs.append(abs(x_row.b0 + h * x_row.b1))
    c = max(coefs)
    info = activations.info(spec.activation, **spec.activation_params)
    lip_sigma = info.lipschitz
    if lip_sigma is None:
        why = next((n for n in info.notes if "Lip(σ)" in n), "")
        return Condition(
            "contraction", False,
            f"activation {spec.activation} "
            + (f"has no Lipschitz bound over training: {why}" if why else "is not globally Lipschitz")
            + ": no step size makes x -> u + c·T(x) a contraction, and the fixed-point solve can diverge",
        )
    trained = [m for m in ctx.act_modules if activations.trainable(m)]
    if trained:  # a built network: its σ at their current parameters
        measured = max(activations.max_slope(m) for m in trained)
        if measured > lip_sigma * (1 + 1e-6):
            return Condition("contraction", False, (
                f"the trained σ's slope reaches {measured:.4g} > the declared Lip(σ) = {lip_sigma:g}: the bound "
                "on Lip(T) no longer holds"), numerical=True)
    bound = ctx.block.lipschitz(lip_sigma)
    if isinstance(bound, str):
        return Condition("contraction", False, bound)
    q = c * bound
    ok = q < 1.0
    solve = ""
    if ok:
        tol, max_iter = float(getattr(alg, "tol", 1e-4)), int(getattr(alg, "max_iter", 30))  # `Implicit`'s solver
        needed = iterations_needed(q, tol)
        ctx.solver_iterations = max(max_iter, needed)
        solve = (f"; at q = {q:.4g} the solver needs {needed} fixed-point iterations for tol {tol:g} "
                 f"(q^(n-1) <= tol [ours]): max_iter = {max_iter}"
                 + (" suffices" if max_iter >= needed else f" is raised to {needed} in the built network"))
    return Condition(
        "contraction", ok,
        f"max_k c_k·Lip(T) <= {c:.4g}·{bound:.4g} = {q:.4g} {'<' if q < 1 else '>='} 1 "
        f"(Lip(σ) = {lip_sigma:g}; {ctx.block.contraction_note or f'block {spec.block} declares the bound'}; "
        f"the operator norms are power-iteration estimates){solve}",
        # the normalizing norms are iterative estimates (torch's spectral_norm lags its weights by up to ~1.4%
        # during training, measured; the conv norm is iterated to convergence in eval mode): a numerical check
        numerical=True,
        ours="Lip(T) bounded by power-iteration estimates of operator norms (a numerical contraction estimate)",
    )
