"""The training loop on plain modules: results, curves, determinism, schedule, clipping, options."""

from __future__ import annotations

import itertools
import json

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import optnas.tasks as tasks
from optnas.training import RunResult, fit
from optnas.training.optim import lr_factor


@pytest.fixture(scope="module")
def rings() -> tasks.TensorTask:
    return tasks.get("rings", n_samples=600)


def _mlp(inputs: int = 2, outputs: int = 3, hidden: int = 32) -> nn.Module:
    return nn.Sequential(
        nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, outputs)
    )


def test_fit_records_metrics_curves_and_model(rings: tasks.TensorTask) -> None:
    model = _mlp()
    result = fit(model, rings, epochs=25, device="cpu", lr=1e-2, batch_size=32)
    assert isinstance(result, RunResult) and result.status == "complete" and result.reason is None
    assert result.model is model
    m = result.metrics
    assert m["val_metric"] > 0.9 and m["test_metric"] > 0.9  # an MLP lifted to 32 dims separates the rings
    assert m["params"] == sum(p.numel() for p in model.parameters())
    assert m["flops"] == 2 * (2 * 32 + 32 * 32 + 32 * 3)  # matmul FLOPs per sample, torch's count
    assert m["latency_ms"] > 0 and m["latency_batch_size"] == 32
    assert m["peak_mem_mb"] > 0 and m["peak_mem_source"] == "process_max_rss"
    assert m["wall_s"] > 0 and m["epochs"] == 25 and m["steps"] == 25 * (420 // 32)
    assert (m["metric_name"], m["direction"], m["device"], m["precision"]) == (
        "accuracy",
        "maximize",
        "cpu",
        "fp32",
    )
    assert m["best_val_metric"] == max(result.curves["val_metric"])
    assert result.curves["val_metric"][m["best_epoch"]] == m["best_val_metric"]
    for name in ("train_loss", "train_metric", "val_loss", "val_metric", "lr", "epoch_s"):
        assert len(result.curves[name]) == 25
    assert result.curves["train_loss"][-1] < result.curves["train_loss"][0]
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert "model" not in data and data["task"]["name"] == "rings" and data["options"]["lr"] == 1e-2
    assert RunResult.from_dict(data).metrics == data["metrics"]


def test_same_seed_same_run_other_seed_other_run(rings: tasks.TensorTask) -> None:
    def run(seed: int) -> RunResult:
        torch.manual_seed(seed)  # the model's own init: fit seeds only what it owns
        return fit(_mlp(), rings, epochs=2, seed=seed, device="cpu")

    a, b, c = run(1), run(1), run(2)
    assert a.curves["train_loss"] == b.curves["train_loss"] and a.curves["val_loss"] == b.curves["val_loss"]
    assert a.curves["train_loss"] != c.curves["train_loss"]


def test_shuffle_order_depends_on_the_seed(rings: tasks.TensorTask) -> None:
    torch.manual_seed(0)
    model = _mlp()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    first = fit(model, rings, epochs=1, seed=3, device="cpu").curves["train_loss"]
    model.load_state_dict(state)
    second = fit(model, rings, epochs=1, seed=4, device="cpu").curves["train_loss"]
    assert first != second


def test_caller_rng_state_is_left_alone(rings: tasks.TensorTask) -> None:
    model = _mlp()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    fit(model, rings, epochs=1, device="cpu")
    assert torch.equal(torch.rand(3), expected)


def test_warmup_then_cosine_decay(rings: tasks.TensorTask) -> None:
    result = fit(_mlp(), rings, epochs=10, device="cpu", lr=0.1, warmup=0.3, batch_size=420)
    lrs = result.curves["lr"]  # one step an epoch: the LR at each epoch's step
    assert lrs[:3] == pytest.approx([0.1 * (e + 1) / 10 / 0.3 for e in range(3)])
    assert max(lrs) == pytest.approx(0.1) and lrs[3] == pytest.approx(0.1 * lr_factor(0.4, 0.3))
    assert lrs[-1] == pytest.approx(0.0, abs=1e-12)  # cosine decays to 0 at the last step
    assert all(a > b for a, b in itertools.pairwise(lrs[2:]))


def test_gradient_clipping_limits_the_update(rings: tasks.TensorTask) -> None:
    def moved(clip: float | None) -> float:
        torch.manual_seed(0)
        model = _mlp()
        before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
        fit(
            model,
            rings,
            epochs=1,
            device="cpu",
            optimizer="sgd",
            momentum=0.0,
            lr=0.5,
            warmup=0.0,
            clip=clip,
            weight_decay=0.0,
        )
        return float((torch.cat([p.detach().flatten() for p in model.parameters()]) - before).norm())

    # SGD moves by lr·|g| per step: a 1e-4 clip bounds the total move by steps·lr·1e-4
    assert moved(1e-4) <= 13 * 0.5 * 1e-4 + 1e-6 < moved(None)


def test_sgd_and_regression(rings: tasks.TensorTask) -> None:
    task = tasks.get("polynomial", n_samples=400)
    model = nn.Sequential(nn.Linear(1, 64), nn.Tanh(), nn.Linear(64, 1))
    result = fit(model, task, epochs=20, device="cpu", optimizer="sgd", lr=0.05, batch_size=32)
    m = result.metrics
    assert result.status == "complete" and (m["metric_name"], m["direction"]) == ("mse", "minimize")
    assert m["best_val_metric"] == min(result.curves["val_metric"])
    assert m["test_metric"] < result.curves["val_metric"][0]  # it learned something


def test_fit_on_dataloaders() -> None:
    x = torch.randn(256, 4)
    y = (x[:, 0] > 0).long()
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
    task = tasks.from_loaders(loader, DataLoader(TensorDataset(x, y), batch_size=64), num_outputs=2)
    result = fit(_mlp(4, 2), task, epochs=3, device="cpu", lr=1e-2)
    assert result.status == "complete" and result.metrics["steps"] == 24
    assert result.metrics["val_metric"] > 0.8 and result.metrics["test_metric"] is None  # no test loader


def test_task_by_name_and_time_budget() -> None:
    result = fit(_mlp(1, 1), "telgarsky", epochs=10_000, device="cpu", max_seconds=0.5)
    assert result.status == "complete" and result.metrics["budget_exhausted"] is True
    assert 1 <= result.metrics["epochs"] < 10_000 and "max_seconds=0.5" in (result.reason or "")
    assert result.metrics["val_metric"] is not None and result.metrics["test_metric"] is not None


def test_init_record_is_copied() -> None:
    model = _mlp()
    model.init_record = {"init": "custom", "c_w": 2.0}  # type: ignore[assignment]
    result = fit(model, tasks.get("rings", n_samples=90), epochs=1, device="cpu")
    assert result.metrics["init_record"] == {"init": "custom", "c_w": 2.0}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr": -1.0}, r"train option lr=-1.0 is invalid: it must be a finite number > 0"),
        ({"optimizer": "adam"}, r"optimizer='adam' is invalid; valid values: adamw, sgd"),
        ({"batch_size": 0}, r"batch_size=0 is invalid: it must be an integer >= 1"),
        ({"warmup": 1.0}, r"warmup=1.0 is invalid"),
        ({"clip": 0}, r"clip=0 is invalid"),
        ({"learning_rate": 0.1}, r"unknown train option\(s\) \['learning_rate'\]; valid options: lr, "),
        ({"precision": "bf16"}, r"precision='bf16' is invalid on device cpu: mixed precision is CUDA-only"),
        ({"precision": "fp64"}, r"precision='fp64' is invalid; valid values: auto, bf16, fp16, fp32"),
        ({"epochs": 0}, r"epochs=0 is invalid: it must be an integer >= 1"),
        ({"seed": -2}, r"seed=-2 is invalid"),
        ({"device": "tpu"}, r"device='tpu' is invalid"),
        ({"callback": 3}, r"callback=3 is invalid"),
        ({"task": "imagenet"}, r"unknown task 'imagenet'; valid names: cifar10, digits"),
    ],
)
def test_bad_input_is_one_value_error(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"task": "rings", "epochs": 1, "device": "cpu", **kwargs}
    task = args.pop("task")
    with pytest.raises(ValueError, match=message):
        fit(_mlp(), task, **args)  # type: ignore[arg-type]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")
def test_cuda_without_a_gpu_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no CUDA device is available"):
        fit(_mlp(), "rings", epochs=1, device="cuda")
