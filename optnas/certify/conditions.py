"""The conditions of the universality theorem, one function each (THEORY.md §1, checkable form).

Every check reads the same coefficient tables the network's forward pass runs on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .. import activations, algorithms, blocks, schedules
from .._shapes import check_shape, state_features
from ..spec import ArchSpec
from ..stages import StagePlan, stage_plan
from .certificate import Condition
from .context import H_GRID, Context
from .contraction import contraction
from .stability import drift, max_product_norm, power_bounded
from .structure import check_block

# Time-varying coefficients: the product bound is computed at depth D and at 4D. Momentum sequences with
# β_k → 1 (Nesterov, FISTA) grow it linearly in depth (a perturbation of x_{j-1} travels ≈ j/2 further:
# weak stability), which we accept over the depths checked [ours]; exponential instability grows it far
# faster than 4× and is rejected.
GROWTH_LIMIT = 4.5


def linear_parts(stage: StagePlan, h: np.ndarray) -> list[algorithms.LinearPart]:
    return [algorithms.linear_part(layer, float(hk)) for layer, hk in zip(stage.layers, h, strict=True)]


def _deeper_bound(ctx: Context, depth: int, h: float | None) -> float:
    """max product norm of a depth-``depth`` version of the network (learnable: every step h), computed
    once per certificate (stages of one depth share it)."""
    key = (depth, h)
    if key not in ctx.deeper:
        steps = np.full(depth, h) if h is not None else ctx.schedule.values(depth)
        layers = ctx.algorithm.layers(depth)
        mats = [algorithms.linear_part(layer, float(hk)).a for layer, hk in zip(layers, steps, strict=True)]
        ctx.deeper[key] = max_product_norm(mats)
    return ctx.deeper[key]


def step_sizes(ctx: Context) -> Condition:
    if ctx.schedule.learnable:
        bounds = ", ".join(f"{ctx.where(s)}(0, {s.h_max:.4g})" for s in ctx.stages)
        return Condition("step_sizes", True, f"learnable h_k = h_max·sigmoid(θ_k) in {bounds} by construction")
    parts = []
    for stage in ctx.stages:
        h = np.asarray(stage.steps)
        detail = f"{ctx.where(stage)}h_k in [{h.min():.4g}, {h.max():.4g}], total horizon {h.sum():.4g}"
        if not (np.all(np.isfinite(h)) and np.all(h > 0)):
            return Condition("step_sizes", False, f"non-positive or non-finite step: {detail}")
        parts.append(detail)
    return Condition("step_sizes", True, "; ".join(parts))


def consistency(ctx: Context) -> Condition:
    e = ctx.algorithm.equilibrium(ctx.stages[0].depth)
    proven = ctx.algorithm.structural_proof is not None
    steps: list[float] = []
    for stage in ctx.stages:
        e = ctx.algorithm.equilibrium(stage.depth)
        at = ctx.where(stage)
        for h in ctx.steps(stage):
            for k, (a, b, c) in enumerate(linear_parts(stage, h)):
                d = drift(a, b, c, e, proven_simple=proven)
                if not d.preserved:
                    why = f"{at}layer {k}: the equilibrium state {e.tolist()} is not kept (A·e != e)"
                    return Condition("consistency", False, why)
                if abs(d.t_input) < 1e-12:
                    return Condition("consistency", False, f"{at}layer {k}: T sees no x at equilibrium (C·e = 0)")
                if not d.simple:
                    why = f"{at}layer {k}: eigenvalue 1 of A is not simple (a repeated root at 1){d.note}"
                    return Condition("consistency", False, why)
                if not d.step > 0:
                    why = f"{at}layer {k}: effective step w·b = {d.step:.4g} is not positive"
                    return Condition("consistency", False, why)
                steps.append(d.step)
    if proven:
        detail = f"A_k·e = e with e = 1 for every layer; effective steps > 0 (min {min(steps):.4g})"
        return Condition("consistency", True, detail)
    return Condition(
        "consistency", True,
        f"A_k·e = e (e = {np.round(e, 6).tolist()}), eigenvalue 1 simple, effective steps in "
        f"[{min(steps):.4g}, {max(steps):.4g}]",
    )


def zero_stability(ctx: Context) -> Condition:
    alg = ctx.algorithm
    if alg.structural_proof:
        return Condition("zero_stability", True, f"by construction: {alg.structural_proof}")
    verdicts: list[Condition] = []
    last = None
    for stage in ctx.stages:
        for h in ctx.steps(stage):
            last = _zero_stable(ctx, stage, h)
            verdicts.append(Condition(last.name, last.holds, ctx.where(stage) + last.detail, last.numerical,
                                      ours=last.ours))
    failing = [v for v in verdicts if not v.holds]
    chosen = failing[0] if failing else verdicts[-1]
    if not failing and len(ctx.stages) > 1 and last is not None:  # the last verdict, said of every stage
        chosen = Condition(last.name, True, f"every stage: {last.detail}", last.numerical, ours=last.ours)
    if ctx.schedule.learnable:
        where = "every" if not failing else "some"
        grid = f"learnable steps checked on the grid h in {[round(t, 2) for t in H_GRID]}·h_max"
        return Condition(
            "zero_stability", not failing,
            f"checked at h in {[round(t, 2) for t in H_GRID]}·h_max ({where} point): {chosen.detail}", numerical=True,
            ours=f"{grid}; {chosen.ours}" if chosen.ours else grid,
        )
    return chosen


def _zero_stable(ctx: Context, stage: StagePlan, h: np.ndarray) -> Condition:
    L = stage.depth
    mats = [part.a for part in linear_parts(stage, h)]
    body = mats[ctx.algorithm.startup :] or mats
    if all(np.allclose(m, body[0], atol=1e-12) for m in body):
        ok, detail = power_bounded(body[0])
        return Condition("zero_stability", ok, f"constant A (exact root test): {detail}")
    # time-varying: a numerical uniform bound on products, here and for a 4× deeper network
    base = max(L, 16)
    m_here = max_product_norm(mats)
    learnable = stage.h_max is not None
    m_base, m_deep = (_deeper_bound(ctx, d, float(h[0]) if learnable else None) for d in (base, 4 * base))
    ratio = m_deep / max(m_base, 1.0)
    ok = bool(np.isfinite(m_deep) and ratio <= GROWTH_LIMIT)
    growth = "bounded" if ratio <= 1.05 else ("at most linear growth" if ok else "super-linear growth")
    detail = (
        f"time-varying A_k: max ||A_k···A_j||_2 = {m_here:.4g} at depth {L}, {m_base:.4g} at {base}, "
        f"{m_deep:.4g} at {4 * base} ({growth}, ratio {ratio:.3g} <= {GROWTH_LIMIT} required)"
    )
    ours = ("products of the time-varying A_k grow with depth (ratio {r:.3g} from depth {b} to {d}), accepted up to "
            "linear growth" if ratio > 1.05 else "products of the time-varying A_k bounded over depths {b} to {d}, "
            "a numerical estimate").format(r=ratio, b=base, d=4 * base)
    return Condition("zero_stability", ok, detail, numerical=True, ours=ours)


def two_layer_structure(ctx: Context) -> Condition:
    """Verified from the module T that build makes (its traced forward), not from the block's declaration."""
    return check_block(ctx.spec, ctx.block, ctx.input_shape, ctx.algorithm.implicit)


def activation(ctx: Context) -> Condition:
    spec = ctx.spec
    info = activations.info(spec.activation, **spec.activation_params)
    problems = [
        msg for bad, msg in (
            (info.polynomial, "is a polynomial (a polynomial σ gives no universal approximation)"),
            (not info.continuous, "is not continuous"),
            (not info.locally_lipschitz, "is not locally Lipschitz"),
            (not info.declared, "is not declared non-polynomial (register it with polynomial=False; a probe "
                                f"excludes polynomials up to degree {activations.MAX_DEGREE} only)"),
        ) if bad
    ]
    trained = trained_activation(ctx)
    problems += trained[0]
    how = f"declared; probed: {'; '.join(info.notes)}" if info.probed else "declared"
    if problems:
        return Condition("activation", False, f"{spec.activation} {' and '.join(problems)} ({how})")
    smooth = "C^∞" if info.smoothness == float("inf") else f"C^{int(info.smoothness)}"
    detail = f"{spec.activation}: continuous, locally Lipschitz, not a polynomial, {smooth} ({how}){trained[1]}"
    return Condition("activation", True, detail)


def trained_activation(ctx: Context) -> tuple[list[str], str]:
    """(problems, note) of the σ modules of a built network at their current (trained) parameters."""
    mods = [m for m in ctx.act_modules if activations.trainable(m)]
    if not mods:
        return [], ""
    problems = []
    for m in mods:
        degree, _ = activations.polynomial_degree(m)
        if degree is not None:
            problems.append(f"is a polynomial of degree {degree} at its trained parameters")
            break
    slope = max(activations.max_slope(m) for m in mods)
    return problems, f"; {len(mods)} σ with trainable parameters checked as they are now (slope <= {slope:.4g})"


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
        detail = (f"not checked without an input shape: holds for inputs of dimension d <= {spec.width - 1}; "
                  "build checks it at the real input shape (or pass input_shape=)")
        return Condition("width_lift", True, detail, deferred=True)
    d = state_features(ctx.input_shape)
    ok = spec.width >= d + 1
    why = "" if ok else " (the flow argument needs a lift to d + 1)"
    return Condition("width_lift", ok, f"state width {spec.width} {'>=' if ok else '<'} input dimension {d} + 1{why}")


CONDITIONS: tuple[Callable[[Context], Condition], ...] = (
    consistency, zero_stability, step_sizes, two_layer_structure, activation, width_lift, contraction,
)


def resolve(
    spec: ArchSpec, input_shape: Sequence[int] | None, stages: Sequence[StagePlan] | None = None
) -> Context:
    """Look up every name of the spec (unknown names and bad parameters raise ValueError).

    ``stages`` defaults to the spec's `stage_plan`; pass tables read back from a built network to check those.
    """
    schedule = schedules.get(spec.schedule, **spec.schedule_params)
    if schedule.kind != "step":
        raise ValueError(
            f"schedule {spec.schedule!r} is a momentum sequence, not a step schedule; "
            f"valid step schedules: {', '.join(schedules.step_names())}"
        )
    activations.get(spec.activation, **spec.activation_params)  # validate name and parameters
    algorithm = algorithms.get(spec.algorithm, **spec.algorithm_params)
    plan = tuple(stage_plan(spec) if stages is None else stages)
    if algorithm.implicit:
        problem = next((p for s in plan if (p := algorithms.implicit_table_problem(s.layers))), None)
        if problem:
            raise ValueError(f"implicit algorithm {spec.algorithm!r} cannot run: {problem}")
    return Context(
        spec=spec,
        algorithm=algorithm,
        schedule=schedule,
        block=blocks.get(spec.block, **spec.block_params),
        input_shape=None if input_shape is None else check_shape(input_shape),  # a Signal stays a Signal
        stages=plan,
    )
