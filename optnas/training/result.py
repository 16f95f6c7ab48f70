"""`RunResult`, what one training run returns, and `StopTraining`, how a callback ends a run early."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from torch import nn

Status = Literal["complete", "diverged", "pruned"]
STATUSES: tuple[Status, ...] = ("complete", "diverged", "pruned")


class StopTraining(Exception):
    """Raise from an epoch callback to stop the run; it ends with status "pruned" and this message.

    Example:
        >>> def callback(epoch, metrics):
        ...     if metrics["val_metric"] < 0.2 and epoch >= 3:
        ...         raise StopTraining("no progress after 4 epochs")
    """


@dataclass
class RunResult:
    """The outcome of `optnas.train`.

    status: "complete" (trained for all epochs, or until ``max_seconds`` ran out: see ``reason``),
        "diverged" (a NaN/inf loss or gradient, or exploding outputs; ``reason`` says where) or "pruned"
        (the callback stopped it). metrics: final numbers (``val_metric``, ``test_metric``, ``params``,
        ``flops``, ``latency_ms``, ``peak_mem_mb``, ``wall_s``, ``epochs``...; None where not measured).
        curves: per-epoch lists (``train_loss``, ``train_metric``, ``val_loss``, ``val_metric``, ``lr``,
        ``epoch_s``, and ``solver_residual`` for models exposing ``solver_residual()``). model: the trained
        module (not serialised). spec, task, options: what was run.

    Example:
        >>> r = RunResult("complete", None, {"val_metric": 0.9}, {"val_metric": [0.5, 0.9]})
        >>> r.to_dict()["metrics"]
        {'val_metric': 0.9}
    """

    status: Status
    reason: str | None
    metrics: dict[str, Any]
    curves: dict[str, list[Any]]
    model: nn.Module | None = field(default=None, repr=False, compare=False)
    spec: dict[str, Any] | None = None
    task: dict[str, Any] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    seed: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "complete"

    def to_dict(self) -> dict[str, Any]:
        """Everything but the model, JSON-safe: non-finite floats become None (strict JSON has no NaN)."""
        return json_safe(
            {
                "status": self.status,
                "reason": self.reason,
                "metrics": self.metrics,
                "curves": self.curves,
                "spec": self.spec,
                "task": self.task,
                "options": self.options,
                "seed": self.seed,
            }
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        """Inverse of `to_dict` (without a model)."""
        if data.get("status") not in STATUSES:
            raise ValueError(f"status={data.get('status')!r} is invalid; valid: {', '.join(STATUSES)}")
        return cls(
            status=data["status"],
            reason=data.get("reason"),
            metrics=dict(data.get("metrics", {})),
            curves={k: list(v) for k, v in data.get("curves", {}).items()},
            spec=data.get("spec"),
            task=data.get("task"),
            options=dict(data.get("options", {})),
            seed=int(data.get("seed", 0)),
        )


def json_safe(value: Any) -> Any:
    """``value`` with tuples as lists, non-finite floats as None and unknown objects as their repr."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # numpy / torch scalars
        return json_safe(value.item())
    return repr(value)
