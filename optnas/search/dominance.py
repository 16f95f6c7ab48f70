"""Early stopping for multi-objective searches, which Optuna's pruners do not support [ours].

Rule: at epoch e (once e >= ``after``·epochs), stop a trial when some finished trial *dominates it at the
same epoch*: its task metric after epoch e (read from its curve) is at least as good, every static cost
objective (params, FLOPs: known before training) is at least as good, and one of them is strictly better.
Comparing at the same epoch is what the median and Hyperband pruners do for one objective. Objectives
measured only after training (latency, test metric) are left out of the comparison.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

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


class DominanceRule:
    """The rule above for one search: both backends ask it at the end of each epoch (one place, one rule).

    Example:
        >>> rule = DominanceRule([("val_metric", "maximize"), ("params", "minimize")], epochs=4, after=0.5)
        >>> done = [{"curves": {"val_metric": [0.5, 0.6, 0.9]}, "metrics": {"params": 10.0}}]
        >>> rule.check(2, 0.7, {"params": 20.0}, done)
        "dominated at epoch 2 by a finished trial (val_metric, ['params'])"
        >>> rule.check(1, 0.1, {"params": 20.0}, done) is None    # before half the epochs
        True
    """

    def __init__(self, objectives: Sequence[tuple[str, str]], *, epochs: int, after: float) -> None:
        (self.metric, self.direction), *_ = objectives
        self.cost_names = [n for n, _ in objectives if n in STATIC]
        self.first_epoch = int(after * epochs)

    def check(
        self, epoch: int, value: float, costs: dict[str, float], finished: Iterable[dict[str, Any]]
    ) -> str | None:
        """Why a trial at ``epoch`` (0-based) with task metric ``value`` and ``costs`` stops, or None.

        ``finished``: the user attributes of the study's COMPLETE trials (their ``curves`` and ``metrics``).
        """
        if epoch < self.first_epoch or any(c not in costs for c in self.cost_names):
            return None
        points = [
            Point(a["curves"]["val_metric"][epoch], {c: a["metrics"][c] for c in self.cost_names})
            for a in finished
            if len((a.get("curves") or {}).get("val_metric") or []) > epoch
            and a["curves"]["val_metric"][epoch] is not None
        ]
        if dominated_at_epoch(Point(float(value), costs), points, self.direction, self.cost_names) is None:
            return None
        return f"dominated at epoch {epoch} by a finished trial ({self.metric}, {self.cost_names})"
