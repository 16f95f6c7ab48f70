"""Memory bounds: the sizes a network (or a task's data) may have before anything is allocated.

A depth of 10^9 or a width of 10^18 is answered with one line, not with an allocation that runs for
minutes and ends in a MemoryError. The bounds come from a *lower* estimate of the memory a candidate
needs (`optnas.footprint`, which reads the spec) compared with a budget (this module, which reads none):
the budget is ``OPTNAS_MEMORY_GB`` (GiB, a positive number) when set, else the machine's physical memory;
raise it to allow larger networks.

Example:
    >>> from optnas import limits
    >>> limits.max_depth() < limits.max_size()  # a layer holds more than two parameters
    True
"""

from __future__ import annotations

import math
import os

from . import _validate
from .errors import UsageError

__all__ = ["ENV", "budget_bytes", "budget_text", "max_depth", "max_samples", "max_size", "max_stages"]

ENV = "OPTNAS_MEMORY_GB"
GIB = 2**30
FALLBACK_BYTES = 16 * GIB  # when the platform cannot tell its physical memory
LAYER_BYTES = 8 * 1024  # module objects of one layer's T (measured: ≈ 11 KiB for the smallest mlp2)
TABLE_BYTES = 512  # one layer's Layer and Row objects, besides its dense linear part
PARAM_BYTES = 16  # float32 weight + gradient + two AdamW moments
FLOAT_BYTES = 4  # one saved activation (float32)
SAMPLE_FLOATS = 2  # a task's generated data: float64 features, per feature and sample (before the float32 copy)


def budget_bytes() -> int:
    """The memory budget in bytes: ``OPTNAS_MEMORY_GB`` when set, else the machine's physical memory."""
    read = _validate.env_number(ENV)
    if read is not None:
        text, gb = read
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
