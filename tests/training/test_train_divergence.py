"""Runs that blow up end as status "diverged" with a reason; callbacks prune runs."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import torch
from torch import nn

import optnas.tasks as tasks
from optnas.training import StopTraining, fit


@pytest.fixture(scope="module")
def rings() -> tasks.TensorTask:
    return tasks.get("rings", n_samples=300)  # 210 training samples: 6 steps of 32 an epoch


class BlowsUp(nn.Module):
    """A linear model whose output turns into ``value`` from training step ``at`` on."""

    def __init__(self, at: int, value: float, error: bool = False) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 3)
        self.at, self.value, self.error, self.calls = at, value, error, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.linear(x)
        if self.training:
            self.calls += 1
            if self.calls > self.at:
                if self.error:
                    raise FloatingPointError("fixed-point solve did not converge")
                return out * 0 + self.value
        return out


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (float("nan"), r"loss is nan at epoch 1, step 2"),
        (float("inf"), r"at epoch 1, step 2"),
        (1e8, r"the model output exploded \(max \|output\| = 1e\+08 > 1e\+06\) at epoch 1, step 2"),
    ],
)
def test_blow_up_ends_the_run_as_diverged(rings: tasks.TensorTask, value: float, reason: str) -> None:
    result = fit(BlowsUp(at=8, value=value), rings, epochs=5, device="cpu", batch_size=32)
    assert result.status == "diverged"
    assert re.search(reason, result.reason or ""), result.reason
    m = result.metrics
    assert m["val_metric"] is None and m["test_metric"] is None and m["best_val_metric"] is None
    assert m["params"] == 9 and m["flops"] == 12  # the cost is still measured
    assert m["epochs"] == 1  # the first epoch completed and was recorded
    json.dumps(result.to_dict(), allow_nan=False)


def test_divergence_threshold_is_an_option(rings: tasks.TensorTask) -> None:
    result = fit(BlowsUp(at=0, value=50.0), rings, epochs=1, device="cpu", divergence_threshold=10.0)
    assert result.status == "diverged" and "50 > 10" in (result.reason or "")


def test_floating_point_error_in_the_model_is_divergence(rings: tasks.TensorTask) -> None:
    result = fit(BlowsUp(at=3, value=0.0, error=True), rings, epochs=3, device="cpu", batch_size=32)
    assert result.status == "diverged"
    assert "fixed-point solve did not converge" in (result.reason or "") and "epoch 0" in (result.reason or "")


def test_huge_learning_rate_diverges_without_raising() -> None:
    task = tasks.get("polynomial", n_samples=200)
    model = nn.Sequential(nn.Linear(1, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
    result = fit(model, task, epochs=20, device="cpu", optimizer="sgd", lr=1e6, clip=None, warmup=0.0)
    assert result.status == "diverged" and result.reason


def _model() -> nn.Module:
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))


def test_callback_sees_every_epoch_and_can_prune(rings: tasks.TensorTask) -> None:
    seen: list[tuple[int, dict[str, Any]]] = []

    def callback(epoch: int, metrics: dict[str, Any]) -> bool:
        seen.append((epoch, metrics))
        return epoch == 2

    result = fit(_model(), rings, epochs=10, device="cpu", callback=callback)
    assert result.status == "pruned" and result.reason == "stopped by the callback after epoch 2"
    assert [e for e, _ in seen] == [0, 1, 2] and result.metrics["epochs"] == 3
    assert {"epoch", "train_loss", "val_metric", "val_loss", "lr", "wall_s"} <= set(seen[0][1])
    assert seen[1][1]["val_metric"] == result.curves["val_metric"][1]
    assert result.metrics["test_metric"] is not None  # a pruned run is still scored


def test_stop_training_signal_prunes_with_its_message(rings: tasks.TensorTask) -> None:
    def callback(epoch: int, metrics: dict[str, Any]) -> None:
        if epoch == 1:
            raise StopTraining("pruned by the median rule at epoch 1")

    result = fit(_model(), rings, epochs=10, device="cpu", callback=callback)
    assert (result.status, result.reason) == ("pruned", "pruned by the median rule at epoch 1")


def test_callback_returning_false_or_none_continues(rings: tasks.TensorTask) -> None:
    answers = iter([None, False, 0])
    result = fit(_model(), rings, epochs=3, device="cpu", callback=lambda e, m: next(answers))
    assert result.status == "complete" and result.metrics["epochs"] == 3


def test_other_callback_errors_propagate(rings: tasks.TensorTask) -> None:
    def callback(epoch: int, metrics: dict[str, Any]) -> None:
        raise KeyError("the caller's own bug")

    with pytest.raises(KeyError):
        fit(_model(), rings, epochs=2, device="cpu", callback=callback)
