"""Early stopping for multi-objective searches, which Optuna's pruners do not support [ours].

Rule: at epoch e (once e >= ``after``·epochs), stop a trial when some finished trial *dominates it at the
same epoch*: its task metric after epoch e (read from its curve) is at least as good, every static cost
objective (params, FLOPs: known before training) is at least as good, and one of them is strictly better.
Comparing at the same epoch is what the median and Hyperband pruners do for one objective. Objectives
measured only after training (latency, test metric) are left out of the comparison.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

STATIC = ("params", "flops")


@dataclass(frozen=True)
class Point:
    """One trial's comparable values: the task metric at an epoch, and its static costs."""

    metric: float
    costs: dict[str, float]


def dominates(a: Point, b: Point, metric_direction: str, cost_names: Sequence[str]) -> bool:
    """True when ``a`` is at least as good as ``b`` everywhere and strictly better somewhere."""
    sign = 1.0 if metric_direction == "maximize" else -1.0
    pairs = [(sign * a.metric, sign * b.metric)] + [(-a.costs[c], -b.costs[c]) for c in cost_names]
    return all(x >= y for x, y in pairs) and any(x > y for x, y in pairs)


def dominated_at_epoch(
    current: Point, finished: Sequence[Point], metric_direction: str, cost_names: Sequence[str]
) -> Point | None:
    """The first finished point dominating ``current`` (None when none does)."""
    return next((p for p in finished if dominates(p, current, metric_direction, cost_names)), None)
