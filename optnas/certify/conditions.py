"""The conditions of the universality theorem, one function each (THEORY.md §1, checkable form).

Every check reads the same coefficient tables the network's forward pass runs on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .. import activations, algorithms, blocks, schedules
from .._shapes import state_features
from ..spec import ArchSpec
from .certificate import Condition
from .stability import drift, max_product_norm, power_bounded
from .structure import check_block

# Time-varying coefficients: the product bound is computed at depth D and at 4D. Momentum sequences with
# β_k → 1 (Nesterov, FISTA) grow it linearly in depth (a perturbation of x_{j-1} travels ≈ j/2 further:
# weak stability), which we accept over the depths checked [ours]; exponential instability grows it far
# faster than 4× and is rejected.
GROWTH_LIMIT = 4.5
# Learnable step sizes: the linear part is checked at these fractions of h_max.
H_GRID = (0.05, 0.25, 0.5, 0.75, 1.0)


@dataclass
class Context:
    """Everything a condition may read, resolved once from the spec."""

    spec: ArchSpec
    algorithm: algorithms.Algorithm
    schedule: schedules.Schedule
    block: blocks.Block
    input_shape: tuple[int, ...] | None

    def steps(self, depth: int) -> list[np.ndarray]:
        """Step sequences to check: the actual ones, or a grid over (0, h_max] when learnable."""
        if self.schedule.learnable:
            _, h_max = self.schedule.bounds(depth)
            return [np.full(depth, t * h_max) for t in H_GRID]
        return [self.schedule.values(depth)]

    def linear_parts(self, depth: int, h: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        return [layer.linear_part(float(hk)) for layer, hk in zip(self.algorithm.layers(depth), h, strict=True)]


def _mats_at(ctx: Context, depth: int, h: np.ndarray) -> list[np.ndarray]:
    """The linear parts of a depth-``depth`` version of the network (learnable: same constant h)."""
    steps = np.full(depth, h[0]) if ctx.schedule.learnable else ctx.schedule.values(depth)
    return [a for a, _ in ctx.linear_parts(depth, steps)]


def step_sizes(ctx: Context) -> Condition:
    L = ctx.spec.depth
    if ctx.schedule.learnable:
        lo, hi = ctx.schedule.bounds(L)
        detail = f"learnable h_k = h_max·sigmoid(θ_k) in ({lo:g}, {hi:.4g}) by construction"
        return Condition("step_sizes", True, detail)
    h = ctx.schedule.values(L)
    ok = bool(np.all(np.isfinite(h)) and np.all(h > 0))
    detail = f"h_k in [{h.min():.4g}, {h.max():.4g}], total horizon {h.sum():.4g}"
    return Condition("step_sizes", ok, detail if ok else f"non-positive or non-finite step: {detail}")


def consistency(ctx: Context) -> Condition:
    L = ctx.spec.depth
    e = ctx.algorithm.equilibrium(L)
    steps: list[float] = []
    for h in ctx.steps(L):
        layers = ctx.algorithm.layers(L)
        for k, (layer, (a, b)) in enumerate(zip(layers, ctx.linear_parts(L, h), strict=True)):
            d = drift(a, b, layer.c, e)
            if not d.preserved:
                why = f"layer {k}: the equilibrium state {e.tolist()} is not kept (A·e != e)"
                return Condition("consistency", False, why)
            if abs(d.t_input) < 1e-12:
                return Condition("consistency", False, f"layer {k}: T sees no x at equilibrium (C·e = 0)")
            if not d.simple:
                why = f"layer {k}: eigenvalue 1 of A is not simple (a repeated root at 1)"
                return Condition("consistency", False, why)
            if not d.step > 0:
                why = f"layer {k}: effective step w·b = {d.step:.4g} is not positive"
                return Condition("consistency", False, why)
            steps.append(d.step)
    if ctx.algorithm.structural_proof:
        detail = f"A_k·e = e with e = 1 for every layer; effective steps > 0 (min {min(steps):.4g})"
        return Condition("consistency", True, detail)
    return Condition(
        "consistency", True,
        f"A_k·e = e (e = {np.round(e, 6).tolist()}), eigenvalue 1 simple, effective steps in "
        f"[{min(steps):.4g}, {max(steps):.4g}]",
    )


def zero_stability(ctx: Context) -> Condition:
    alg, L = ctx.algorithm, ctx.spec.depth
    if alg.structural_proof:
        return Condition("zero_stability", True, f"by construction: {alg.structural_proof}")
    verdicts: list[Condition] = []
    for h in ctx.steps(L):
        mats = [a for a, _ in ctx.linear_parts(L, h)]
        body = mats[alg.startup :] or mats
        if all(np.allclose(m, body[0], atol=1e-12) for m in body):
            ok, detail = power_bounded(body[0])
            verdicts.append(Condition("zero_stability", ok, f"constant A (exact root test): {detail}"))
            continue
        # time-varying: a numerical uniform bound on products, here and for a 4× deeper network
        base = max(L, 16)
        m_here = max_product_norm(mats)
        m_base, m_deep = (max_product_norm(_mats_at(ctx, d, h)) for d in (base, 4 * base))
        ratio = m_deep / max(m_base, 1.0)
        ok = bool(np.isfinite(m_deep) and ratio <= GROWTH_LIMIT)
        growth = "bounded" if ratio <= 1.05 else ("at most linear growth" if ok else "super-linear growth")
        detail = (
            f"time-varying A_k: max ||A_k···A_j||_2 = {m_here:.4g} at depth {L}, {m_base:.4g} at {base}, "
            f"{m_deep:.4g} at {4 * base} ({growth}, ratio {ratio:.3g} <= {GROWTH_LIMIT} required)"
        )
        verdicts.append(Condition("zero_stability", ok, detail, numerical=True))
    failing = [v for v in verdicts if not v.holds]
    chosen = failing[0] if failing else verdicts[-1]
    if ctx.schedule.learnable:
        where = "every" if not failing else "some"
        return Condition(
            "zero_stability", not failing,
            f"checked at h in {[round(t, 2) for t in H_GRID]}·h_max ({where} point): {chosen.detail}", numerical=True,
        )
    return chosen


def two_layer_structure(ctx: Context) -> Condition:
    """Verified from the module T that build makes (its traced forward), not from the block's declaration."""
    return check_block(ctx.spec, ctx.block, ctx.input_shape)


def activation(ctx: Context) -> Condition:
    spec = ctx.spec
    info = activations.info(spec.activation, **spec.activation_params)
    problems = [
        msg for bad, msg in (
            (info.polynomial, "is a polynomial (a polynomial σ gives no universal approximation)"),
            (not info.continuous, "is not continuous"),
            (not info.locally_lipschitz, "is not locally Lipschitz"),
        ) if bad
    ]
    how = "probed numerically" if info.probed else "declared"
    if problems:
        return Condition("activation", False, f"{spec.activation} {' and '.join(problems)} ({how})")
    smooth = "C^∞" if info.smoothness == float("inf") else f"C^{int(info.smoothness)}"
    detail = f"{spec.activation}: continuous, locally Lipschitz, not a polynomial, {smooth} ({how})"
    return Condition("activation", True, detail)


def width_lift(ctx: Context) -> Condition:
    spec = ctx.spec
    if spec.stem == "none":
        return Condition(
            "width_lift", False,
            "stem 'none' keeps the state at the input dimension d; the theorem's flow argument needs width >= d + 1 "
            "(flows of width d are homeomorphisms of R^d and cannot separate nested rings; a coarse explicit "
            "discretization may still fold the plane, but without the guarantee)",
        )
    if ctx.input_shape is None:
        detail = f"learned stem lifts the input to width {spec.width}; build checks width >= d + 1"
        return Condition("width_lift", True, detail)
    d = state_features(ctx.input_shape)
    ok = spec.width >= d + 1
    why = "" if ok else " (the flow argument needs a lift to d + 1)"
    return Condition("width_lift", ok, f"state width {spec.width} {'>=' if ok else '<'} input dimension {d} + 1{why}")


def contraction(ctx: Context) -> Condition:
    alg, spec = ctx.algorithm, ctx.spec
    if not alg.implicit:
        return Condition("contraction", True, "explicit algorithm: no fixed point to solve")
    L = spec.depth
    _, h_max = ctx.schedule.bounds(L)
    coefs = []
    for layer in alg.layers(L):
        s = layer.sweeps[0]
        coefs.append(abs(s.b0[0] + h_max * s.b1[0]))
    c = max(coefs)
    lip_sigma = activations.info(spec.activation, **spec.activation_params).lipschitz
    if lip_sigma is None:
        return Condition(
            "contraction", False,
            f"activation {spec.activation} is not globally Lipschitz: no step size makes x -> u + c·T(x) a "
            "contraction, and the fixed-point solve can diverge",
        )
    factor = ctx.block.lipschitz_factor()
    if factor is None:
        return Condition(
            "contraction", True,
            f"no static Lipschitz bound for block {spec.block} (its norm layers); the fixed-point solver "
            "reports its residual at run time",
            numerical=True,
        )
    q = c * lip_sigma * factor
    ok = q < 1.0
    return Condition(
        "contraction", ok,
        f"c·Lip(T) <= {c:.4g}·{lip_sigma:g}·{factor:g} = {q:.4g} {'<' if ok else '>='} 1 "
        "(T's weights spectrally normalized)",
    )


CONDITIONS: tuple[Callable[[Context], Condition], ...] = (
    consistency, zero_stability, step_sizes, two_layer_structure, activation, width_lift, contraction,
)


def resolve(spec: ArchSpec, input_shape: Sequence[int] | None) -> Context:
    """Look up every name of the spec (unknown names and bad parameters raise ValueError)."""
    schedule = schedules.get(spec.schedule, **spec.schedule_params)
    if schedule.kind != "step":
        raise ValueError(
            f"schedule {spec.schedule!r} is a momentum sequence, not a step schedule; "
            f"valid step schedules: {', '.join(schedules.step_names())}"
        )
    activations.get(spec.activation, **spec.activation_params)  # validate name and parameters
    return Context(
        spec=spec,
        algorithm=algorithms.get(spec.algorithm, **spec.algorithm_params),
        schedule=schedule,
        block=blocks.get(spec.block, **spec.block_params),
        input_shape=None if input_shape is None else tuple(input_shape),
    )
