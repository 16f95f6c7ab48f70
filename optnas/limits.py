"""Memory bounds: the sizes a network (or a task's data) may have before anything is allocated.

A depth of 10^9 or a width of 10^18 is answered with one line, not with an allocation that runs for
minutes and ends in a MemoryError. The bounds come from a *lower* estimate of the memory a candidate
needs, compared with a budget:

- the budget is ``OPTNAS_MEMORY_GB`` (GiB, a positive number) when set, else the machine's physical
  memory; raise it to allow larger networks;
- a network needs at least, for every unrolled layer, ``LAYER_BYTES`` of module objects, the algorithm's
  coefficient tables (4 arrays of slots² floats a sweep: DenseNet-like mixing keeps every earlier
  iterate, so its tables grow with depth³) and T's two weight layers W1, W2 (2·width·hidden parameters,
  each ``PARAM_BYTES`` with its gradient and two AdamW moments), plus one sample's saved activations.

Being a lower bound, a refused size certainly does not fit; an accepted one may still be too large for a
given batch or device (training reports that as a failed trial).

Example:
    >>> import optnas
    >>> from optnas import limits
    >>> limits.estimate_bytes(optnas.ArchSpec(depth=8, width=64)) < 2**21  # ≈ 1.1 MB: mostly the 8 layers' W1, W2
    True
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING

from .errors import UsageError

if TYPE_CHECKING:
    from .spec import ArchSpec

__all__ = ["ENV", "budget_bytes", "check_spec", "estimate_bytes", "max_depth", "max_samples", "max_size"]

ENV = "OPTNAS_MEMORY_GB"
GIB = 2**30
FALLBACK_BYTES = 16 * GIB  # when the platform cannot tell its physical memory
LAYER_BYTES = 8 * 1024  # module objects of one layer's T (measured: ≈ 11 KiB for the smallest mlp2)
TABLE_BYTES = 512  # one layer's coefficient-table objects, besides the arrays
PARAM_BYTES = 16  # float32 weight + gradient + two AdamW moments
FLOAT_BYTES = 4  # one saved activation (float32)
SAMPLE_FLOATS = 2  # a task's generated data: float64 features, per feature and sample (before the float32 copy)


def budget_bytes() -> int:
    """The memory budget in bytes: ``OPTNAS_MEMORY_GB`` when set, else the machine's physical memory."""
    text = os.environ.get(ENV)
    if text is not None:
        try:
            gb = float(text)
        except ValueError:
            gb = math.nan
        if not (math.isfinite(gb) and gb > 0):
            raise UsageError(f"{ENV}={text!r} is invalid: it must be a positive number of GiB, e.g. 64")
        return int(gb * GIB)
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return FALLBACK_BYTES


def budget_text() -> str:
    """The budget as users set it, for messages."""
    how = f"{ENV}={os.environ[ENV]}" if ENV in os.environ else f"this machine's memory: set {ENV} to raise it"
    return f"memory bound {budget_bytes() / GIB:.4g} GiB, {how}"


def max_depth() -> int:
    """The largest depth any network can have within the budget (width 1, hidden 1, one slot)."""
    return max(1, budget_bytes() // (LAYER_BYTES + TABLE_BYTES + 2 * PARAM_BYTES))


def max_size() -> int:
    """The largest width (or hidden width) any network can have: one layer's W1, W2 hold 2·size parameters."""
    return max(1, budget_bytes() // (2 * PARAM_BYTES + FLOAT_BYTES))


def max_stages() -> int:
    """Stages double the width: the last one is width·2^(stages-1) wide, so stages <= log2(max_size) + 1."""
    return max(1, int(math.log2(max_size())) + 1)


def max_samples(features: int) -> int:
    """The largest number of samples of ``features`` inputs a task may generate within the budget."""
    return max(1, budget_bytes() // (SAMPLE_FLOATS * 8 * max(1, features) + 8))


def _slots(spec: ArchSpec) -> tuple[int, int, int]:
    """(slots at depth 1, growth of slots per layer, sweeps per layer), read from tables of depth 1 and 2."""
    from . import algorithms

    alg = algorithms.get(spec.algorithm, **spec.algorithm_params)
    m1, m2 = len(alg.slot_names(1)), len(alg.slot_names(2))
    return m1, max(0, m2 - m1), len(alg.layer(0, 1).sweeps)


def _positions(input_shape: tuple[int, ...] | None) -> int:
    """Positions the state has per sample: 1 for vectors, tokens for sequences, pixels for images, samples
    for signals."""
    from ._shapes import positions

    return positions(input_shape)


def estimate_bytes(spec: ArchSpec, input_shape: tuple[int, ...] | None = None) -> float:
    """A lower bound on the memory ``spec`` needs to be certified, built and trained (bytes; may be inf)."""
    from . import blocks

    block = blocks.get(spec.block, **spec.block_params)
    depth = spec.depth
    try:
        widest = math.ldexp(float(spec.width), spec.stages - 1)  # the last stage's width
    except OverflowError:
        return math.inf
    hidden_first, hidden_last = float(block.hidden_width(spec.width)), float(block.hidden_width(int(widest)))
    m1, growth, sweeps = _slots(spec)
    slots = m1 + growth * (depth - 1)
    tables = depth * (TABLE_BYTES + sweeps * 4 * 8 * float(slots) ** 2)
    # every layer holds at least the first stage's W1, W2; one layer holds the last stage's
    params = 2 * ((depth - 1) * spec.width * hidden_first + widest * hidden_last)
    activations = depth * (spec.width + hidden_first) * _positions(input_shape) * FLOAT_BYTES
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
