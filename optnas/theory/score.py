"""A zero-cost trainability score for an `ArchSpec`: the infinite-width signal and gradient flow of the
network at its initialization, with no training and no forward pass.

optnas networks are not plain MLPs. Layer k updates a state of slots s (the algorithm's sequences) as
s <- A_k s + b_k·T_k(c_k·s), with T(z) = W2·σ(W1·z + b1) + b2 and a step h_k (horizon/depth for the
constant schedule) inside A_k, b_k. At infinite width, with fresh zero-mean weights per layer, T's output
is uncorrelated with the state, so the slots' second moments Σ (an m×m matrix) and those of a random
input perturbation Δ follow [ours, standard mean-field reasoning]:

    K  = C_b1 + C_W1·(cᵀΣc)                         T's hidden preactivation kernel
    Σ <- A Σ Aᵀ + (C_b2 + C_W2·E[σ(z)²]) b bᵀ        z ~ N(0, K)
    Δ <- A Δ Aᵀ + C_W2·C_W1·E[σ'(z)²]·(cᵀΔc) b bᵀ     (= C_W2·χ_⊥(K) per unit of input perturbation)

A plain MLP multiplies the kernel by χ each layer; here T only adds an O(h²) term, so with h = 1/L the
flow barely moves whatever the activation, and the criticality of σ matters only when steps are large
(long horizons, momentum amplifying them, few layers). We therefore score the flow itself, not χ^L:

    forward growth  F = Σ_L[x,x] / Σ_0[x,x]          how much the signal's scale drifts
    angular growth  G = sqrt(Δ_L[x,x]/Δ_0[x,x] / F)   how much a relative input perturbation grows
    m = max(|log10 F|, |log10 G|) / log10(tolerance);  score = 2^(−m);  predicted_trainable ⇔ m <= 1

so with the default tolerance 10 (the [K0/10, 10·K0] band of the depth predictions) the score is 0.5 at the
boundary and 1 at a perfectly neutral initialization. A non-finite or overflowing flow scores 0.

Known blind spot (measured in benchmarks/trainability): the flow is that of the bulk. For an activation
that grows faster than linearly (MRePU, RePU) one extreme unit of a narrow network can run away while
the bulk flow is benign; such networks can produce NaN at their first step although they score above 0.5.

Modelled: every registered algorithm through its own coefficient tables, the step schedule, the inits
"default" (PyTorch: C_W = 1/3, C_b = 1/(3·fan_in)), "zero_last" and "critical", spectral normalization of
T's layers in implicit networks (C_W -> fan_in/(√fan_in + √fan_out)², the Gaussian spectral norm), and
blocks with a norm layer (T's input then has unit variance, so K = C_b1 + C_W1 and perturbations are
divided by the state's scale). Not modelled: attention, depthwise convolutions and ConvNeXt's layer scale
(which only shrink T's output: the score is then conservative), the stage transitions (each stage runs
its own tables and steps from `optnas.stages.stage_plan` and restarts from the iterate), the learnable
convex weights of ``dense`` (taken uniform).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from torch import nn

from .. import algorithms, blocks
from .._shapes import input_kind
from ..spec import ArchSpec
from ..stages import StagePlan, stage_plan
from ._sigma import Sigma, resolve
from .criticality import criticality
from .kernel import sigma_escape_depth, sigma_moments

__all__ = ["LayerInit", "TrainabilityScore", "trainability_score"]

_OVERFLOW = 1e150
_NORMS = (nn.LayerNorm, nn.GroupNorm, nn.modules.batchnorm._BatchNorm)


@dataclass(frozen=True)
class LayerInit:
    """(C_b, C_W) of T's first and second weight layers, and where they come from."""

    c_b1: float
    c_w1: float
    c_b2: float
    c_w2: float
    source: str


@dataclass(frozen=True)
class TrainabilityScore:
    """The result of `trainability_score`.

    forward_growth and angular_growth are F and G; deviation is max(|log10 F|, |log10 G|), the
    tolerance-free quantity the score is made of (inf when the flow overflows); escape_depth_plain is, for
    contrast, where a plain MLP at the same (C_b1, C_W1) would leave the [K0/10, 10·K0] band (None: not
    within the spec's depth).
    """

    score: float
    predicted_trainable: bool
    reason: str
    forward_growth: float
    angular_growth: float
    deviation: float
    init: LayerInit
    depth: int
    escape_depth_plain: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _default(spec: ArchSpec, width: int, hidden: int) -> LayerInit:
    # nn.Linear / nn.Conv default: kaiming_uniform(a=√5) weights and U(±1/√fan_in) biases, both of
    # variance 1/(3·fan_in)
    return LayerInit(1 / (3 * width), 1 / 3, 1 / (3 * hidden), 1 / 3, "default (PyTorch)")


def _zero_last(spec: ArchSpec, width: int, hidden: int) -> LayerInit:
    return LayerInit(1 / (3 * width), 1 / 3, 0.0, 0.0, "zero_last (T's second layer zeroed)")


def _critical(spec: ArchSpec, width: int, hidden: int) -> LayerInit:
    choice = criticality(spec.activation, **spec.activation_params).init
    return LayerInit(choice.c_b, choice.c_w, choice.c_b, choice.c_w, f"critical ({choice.source})")


# ArchSpec.init -> the variances it gives T's layers (mirrors optnas.build.INITS)
INIT_VARIANCES: dict[str, Callable[[ArchSpec, int, int], LayerInit]] = {
    "default": _default,
    "zero_last": _zero_last,
    "critical": _critical,
}


def _spectral(fan_in: int, fan_out: int) -> float:
    # W / ||W||_2 with ||W||_2 ≈ sqrt(C_W/fan_in)(√fan_in + √fan_out) for a Gaussian matrix
    return fan_in / (math.sqrt(fan_in) + math.sqrt(fan_out)) ** 2


def _layer_init(spec: ArchSpec, block: blocks.Block, algorithm: algorithms.Algorithm) -> LayerInit:
    if spec.init not in INIT_VARIANCES:
        valid = ", ".join(sorted(INIT_VARIANCES))
        raise ValueError(f"ArchSpec.init={spec.init!r} is unknown to the trainability score; valid: {valid}")
    hidden = block.hidden_width(spec.width)
    init = INIT_VARIANCES[spec.init](spec, spec.width, hidden)
    if algorithm.implicit and not isinstance(block.lipschitz(1.0), str):  # optnas.build normalizes T's layers
        c_w1 = _spectral(spec.width, hidden) if init.c_w1 else 0.0
        c_w2 = _spectral(hidden, spec.width) if init.c_w2 else 0.0
        init = LayerInit(init.c_b1, c_w1, init.c_b2, c_w2, init.source + ", spectrally normalized")
    return init


def _normalized(block: blocks.Block, sig: Sigma, width: int) -> bool:
    kind = "vector" if "vector" in block.inputs else sorted(block.inputs)[0]
    module = block.build(min(width, 8), sig.fn if isinstance(sig.fn, nn.Module) else nn.Identity(), kind)
    return any(isinstance(m, _NORMS) for m in module.modules())


def _stem_variance(spec: ArchSpec, input_variance: float, input_shape: Sequence[int] | None) -> float:
    if spec.stem != "lift":
        return float(input_variance)
    # optnas.build's lift is a default-initialized Linear (vectors, tokens), 3×3 Conv2d (images) or
    # length-3 Conv1d (signals): C_W = 1/3 and a bias of variance 1/(3·fan_in), negligible unless the input
    # is low-dimensional
    if input_shape is None:
        return input_variance / 3.0
    kind = input_kind(input_shape)
    fan_in = {"image": 9 * input_shape[0], "signal": 3 * input_shape[0]}.get(kind, input_shape[-1])
    return (input_variance + 1.0 / fan_in) / 3.0


def trainability_score(
    spec: ArchSpec,
    *,
    input_variance: float = 1.0,
    input_shape: Sequence[int] | None = None,
    tolerance: float = 10.0,
) -> TrainabilityScore:
    """Score ``spec`` in [0, 1] from its initialization's signal flow (see the module docstring).

    input_variance is E[x²] of the network's inputs. The state entering layer 0 has that variance with
    stem "none", and a third of it after the default-initialized "lift" stem (plus the stem's bias
    variance when ``input_shape``, batch excluded, is given).

    Example:
        >>> from optnas import ArchSpec
        >>> trainability_score(ArchSpec(activation="relu", depth=16, init="critical")).predicted_trainable
        True
        >>> deep = ArchSpec(activation="repu", activation_params={"p": 3}, depth=32, init="critical",
        ...                 schedule_params={"horizon": 32.0})
        >>> trainability_score(deep).predicted_trainable
        False
    """
    if not (isinstance(tolerance, int | float) and tolerance > 1 and math.isfinite(tolerance)):
        raise ValueError(f"tolerance={tolerance!r} is invalid: it must be a finite number > 1")
    if not (isinstance(input_variance, int | float) and input_variance > 0 and math.isfinite(input_variance)):
        raise ValueError(f"input_variance={input_variance!r} is invalid: it must be a finite number > 0")
    sig = resolve(spec.activation, spec.activation_params)
    algorithm = algorithms.get(spec.algorithm, **spec.algorithm_params)
    block = blocks.get(spec.block, **spec.block_params)
    setup = _Setup(
        sig=sig,
        algorithm=algorithm,
        stages=stage_plan(spec),
        init=_layer_init(spec, block, algorithm),
        normalized=_normalized(block, sig, spec.width),
        depth=spec.depth,
    )
    init = setup.init
    q0 = _stem_variance(spec, input_variance, input_shape)
    plain = sigma_escape_depth(sig, init.c_b1, init.c_w1, init.c_b1 + init.c_w1 * q0, spec.depth) if init.c_w1 else None

    flow = _flow(setup, q0)
    if isinstance(flow, str):
        return TrainabilityScore(0.0, False, flow, math.inf, math.inf, math.inf, init, spec.depth, plain)
    forward, angular = flow
    deviation = _deviation(forward, angular)
    badness = deviation / math.log10(tolerance)
    trainable = badness <= 1.0
    verdict = "within" if trainable else "outside"
    reason = (
        f"signal scale ×{forward:.3g} and relative perturbations ×{angular:.3g} over {spec.depth} layers "
        f"({init.source} init): {verdict} the ×{tolerance:g} band"
    )
    return TrainabilityScore(2.0**-badness, trainable, reason, forward, angular, deviation, init, spec.depth, plain)


def _deviation(forward: float, angular: float) -> float:
    return max(abs(math.log10(forward)), abs(math.log10(angular)))


@dataclass(frozen=True)
class _Setup:
    sig: Sigma
    algorithm: algorithms.Algorithm
    stages: tuple[StagePlan, ...]  # the tables and steps optnas.build runs
    init: LayerInit
    normalized: bool
    depth: int


def _flow(setup: _Setup, q0: float) -> tuple[float, float] | str:
    """(forward growth, angular growth) of the mean-field flow from state variance q0, or why it failed."""
    init, sig, normalized = setup.init, setup.sig, setup.normalized
    e = setup.algorithm.equilibrium(setup.stages[0].depth)
    sigma, delta = q0 * np.outer(e, e), np.outer(e, e)
    done = 0
    for stage in setup.stages:
        if stage.index:  # the next stage restarts from its iterate (the transition conv is not modelled)
            e_next = setup.algorithm.equilibrium(stage.depth)
            x_sigma, x_delta = sigma[0, 0] / e[0] ** 2, delta[0, 0] / e[0] ** 2
            e = e_next
            sigma, delta = x_sigma * np.outer(e, e), x_delta * np.outer(e, e)
        for layer, h in zip(stage.layers, stage.steps, strict=True):
            done += 1
            a, b, c = algorithms.linear_part(layer, h)
            qz, dz = float(c @ sigma @ c), float(c @ delta @ c)
            kernel = init.c_b1 + init.c_w1 * (1.0 if normalized else qz)
            if init.c_w2 == 0.0 and init.c_b2 == 0.0:
                tau = gain = 0.0
            else:
                m = sigma_moments(sig, kernel) if kernel > 0 else None
                tau = init.c_b2 + (init.c_w2 * m.sigma_sq if m else 0.0)
                gain = init.c_w2 * init.c_w1 * (m.slope_sq if m else 0.0) * (dz / qz if normalized else dz)
            if not (math.isfinite(tau) and math.isfinite(gain)):
                return f"T's output overflows at layer {done}"
            sigma = a @ sigma @ a.T + tau * np.outer(b, b)
            delta = a @ delta @ a.T + gain * np.outer(b, b)
            if max(sigma[0, 0], delta[0, 0]) > _OVERFLOW:
                return f"the signal overflows by layer {done}"
            if sigma[0, 0] <= 0:
                return f"the signal vanishes by layer {done}"
    forward = float(sigma[0, 0] / (q0 * e[0] ** 2))
    return forward, math.sqrt(float(delta[0, 0] / e[0] ** 2) / forward)
