"""The one number format of optnas's views: the dashboard, the report and the CLI's summary."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["number"]


def number(value: Any) -> str:
    """Integers in full with thousands separators, other numbers with 4 significant digits; missing is ``—``.

    Example:
        >>> [number(v) for v in (48810, 0.91234, 1.2e-05, 3.0, None, float("nan"))]
        ['48,810', '0.9123', '1.2e-05', '3', '—', '—']
    """
    if value is None or isinstance(value, bool):
        return "—" if value is None else ("yes" if value else "no")
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        value = float(value)
        if not math.isfinite(value):
            return "—" if math.isnan(value) else str(value)
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:.4g}"
    return str(value)
