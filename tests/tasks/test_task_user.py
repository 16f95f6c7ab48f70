"""Tasks from a user's own tensors and DataLoaders, and the errors their mistakes get."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import optnas.tasks as tasks


def test_from_tensors_carves_missing_splits() -> None:
    x = torch.arange(200, dtype=torch.float32).view(100, 2)
    y = torch.arange(100) % 3
    task = tasks.from_tensors(x, y, val_fraction=0.1, test_fraction=0.2, seed=3, standardize=False)
    assert (task.num_samples("train"), task.num_samples("val"), task.num_samples("test")) == (70, 10, 20)
    assert task.num_outputs == 3 and task.input_shape == (2,)
    seen = torch.cat([task.tensors(s)[0][:, 0] for s in tasks.SPLITS])
    assert sorted(seen.tolist()) == x[:, 0].tolist()  # a partition: nothing lost, nothing repeated


def test_from_tensors_keeps_given_splits() -> None:
    x, y = np.random.default_rng(0).normal(size=(50, 4, 4)), np.random.default_rng(1).normal(size=50)
    xv, yv = np.ones((7, 4, 4)), np.zeros(7)
    task = tasks.from_tensors(x, y, xv, yv, kind="regression", test_fraction=0.2)
    assert task.kind == "regression" and task.num_outputs == 1 and task.input_shape == (4, 4)
    assert task.num_samples("val") == 7 and task.num_samples("test") == 10 and task.num_samples("train") == 40
    assert task.tensors("val")[1].shape == (7, 1)  # (N,) regression targets become one column
    assert task.tensors("train")[0].dtype == torch.float32


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (
            (torch.zeros(10, 3), torch.zeros(9, dtype=torch.long)),
            {},
            r"x_train has 10 samples but y_train has 9",
        ),
        ((torch.zeros(10), torch.zeros(10, dtype=torch.long)), {}, r"x_train has shape \(10,\); it must be"),
        ((torch.zeros(10, 3), torch.zeros(10)), {}, r"classification targets must be a 1-D integer tensor"),
        (
            (torch.zeros(10, 3), torch.full((10,), 5)),
            {"num_outputs": 3},
            r"labels in \[5, 5\]; they must lie",
        ),
        (
            (
                torch.zeros(20, 3),
                torch.zeros(20, dtype=torch.long),
                torch.zeros(5, 4),
                torch.zeros(5, dtype=torch.long),
            ),
            {},
            r"x_val has per-sample shape \(4,\) but x_train has \(3,\)",
        ),
        (
            (torch.zeros(20, 3), torch.zeros(20, dtype=torch.long), torch.zeros(5, 3)),
            {},
            r"give both x_val and y_val",
        ),
        ((torch.full((10, 2), float("nan")), torch.zeros(10, dtype=torch.long)), {}, r"x_train contains NaN"),
        ((torch.zeros(10, 2), torch.zeros(10, 2, 2)), {"kind": "regression"}, r"regression targets must be"),
        ((torch.zeros(10, 2), torch.zeros(10)), {"kind": "ranking"}, r"task kind 'ranking' is invalid"),
        (([[1.0]], [0]), {}, r"x_train must be a torch.Tensor or numpy array, got list"),
    ],
)
def test_from_tensors_rejects_wrong_input(args: tuple[object, ...], kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tasks.from_tensors(*args, **kwargs)


def _loader(n: int, batch_size: int, features: int = 3) -> DataLoader:
    data = TensorDataset(torch.randn(n, features), torch.randint(0, 2, (n,)))
    return DataLoader(data, batch_size=batch_size, shuffle=True)


def test_from_loaders() -> None:
    task = tasks.from_loaders(_loader(64, 16), _loader(32, 32), num_outputs=2)
    assert task.input_shape == (3,) and task.num_outputs == 2
    assert task.num_samples("val") == 32 and task.num_samples("test") == 0
    assert task.steps_per_epoch(999) == 4  # the loader decides the batch size
    assert sum(int(y.shape[0]) for _, y in task.batches("train")) == 64
    assert list(task.batches("test")) == []


def test_from_loaders_rejects_wrong_input() -> None:
    with pytest.raises(ValueError, match="num_outputs is required for classification"):
        tasks.from_loaders(_loader(8, 4), _loader(8, 4))
    with pytest.raises(ValueError, match="must be re-iterable"):
        tasks.from_loaders(iter(_loader(8, 4)), _loader(8, 4), num_outputs=2)
    task = tasks.from_loaders(_loader(8, 4), _loader(8, 4, features=5), num_outputs=2)
    with pytest.raises(ValueError, match=r"val batch 0 has per-sample shape \(5,\); expected input_shape \(3,\)"):
        list(task.batches("val"))
