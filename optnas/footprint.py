"""A network's memory footprint: a lower bound on what a spec needs, checked against `optnas.limits`' budget.

A network needs at least, for every unrolled layer, ``LAYER_BYTES`` of module objects, its coefficient
tables' dense linear part (slots² floats, which the certificate holds for every layer of a stage at once:
DenseNet-like mixing keeps every earlier iterate, so these grow with depth³) and T's two weight layers W1,
W2 (2·width·hidden parameters, each ``PARAM_BYTES`` with its gradient and two AdamW moments), plus one
sample's saved activations. Being a lower
bound, a refused size certainly does not fit; an accepted one may still be too large for a given batch or
device (training reports that as a failed trial).

Example:
    >>> import optnas
    >>> from optnas import footprint
    >>> footprint.estimate_bytes(optnas.ArchSpec(depth=8, width=64)) < 2**21  # ≈ 1.1 MB: mostly the 8 layers' W1, W2
    True
"""

from __future__ import annotations

import math

from . import algorithms, blocks
from ._shapes import positions
from .errors import UsageError
from .limits import FLOAT_BYTES, GIB, LAYER_BYTES, PARAM_BYTES, TABLE_BYTES, budget_bytes, budget_text
from .spec import ArchSpec

__all__ = ["check_spec", "estimate_bytes"]


def _slots(spec: ArchSpec) -> tuple[int, int]:
    """(slots at depth 1, growth of slots per layer), read from the slot names at depth 1 and 2."""
    alg = algorithms.get(spec.algorithm, **spec.algorithm_params)
    m1, m2 = len(alg.slot_names(1)), len(alg.slot_names(2))
    return m1, max(0, m2 - m1)


def estimate_bytes(spec: ArchSpec, input_shape: tuple[int, ...] | None = None) -> float:
    """A lower bound on the memory ``spec`` needs to be certified, built and trained (bytes; may be inf)."""
    block = blocks.get(spec.block, **spec.block_params)
    depth = spec.depth
    try:
        widest = math.ldexp(float(spec.width), spec.stages - 1)  # the last stage's width
    except OverflowError:
        return math.inf
    hidden_first, hidden_last = float(block.hidden_width(spec.width)), float(block.hidden_width(int(widest)))
    m1, growth = _slots(spec)
    slots = m1 + growth * (depth - 1)
    tables = depth * (TABLE_BYTES + 8 * float(slots) ** 2)  # the rows are sparse; each layer's A_k is not
    # every layer holds at least the first stage's W1, W2; one layer holds the last stage's
    params = 2 * ((depth - 1) * spec.width * hidden_first + widest * hidden_last)
    activations = depth * (spec.width + hidden_first) * positions(input_shape) * FLOAT_BYTES
    return depth * LAYER_BYTES + tables + params * PARAM_BYTES + activations


def check_spec(spec: ArchSpec, input_shape: tuple[int, ...] | None = None, *, label: str = "ArchSpec") -> None:
    """Raise UsageError (one line) when ``spec`` cannot fit the memory budget; allocate nothing."""
    need = estimate_bytes(spec, input_shape)
    if need > budget_bytes():
        hidden = spec.block_params.get("hidden")
        what = f"depth={spec.depth}, width={spec.width}, stages={spec.stages}"
        what += f", hidden={hidden}" if hidden else ""
        raise UsageError(
            f"{label} ({spec.algorithm}, {spec.block}, {what}) needs at least {need / GIB:.4g} GiB, over the "
            f"{budget_text()}"
        )
