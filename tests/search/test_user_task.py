"""A search on the user's own arrays: a Task object in the SearchSpace, standardized inputs, export of both."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import optnas
import optnas.export
from optnas.errors import UsageError
from optnas.search import SearchSpace, run_search

SPACE = """
train: {epochs: 3, batch_size: 32, lr: 0.01}
space:
  algorithm: {gd: {}, heavy_ball: {beta: 0.5}}
  block: {mlp2: {hidden: 8}}
  activation: [relu, tanh]
  depth: {low: 2, high: 3}
  width: [8]
pruner: {name: none}
trials: 2
"""


def _arrays(n: int = 240) -> tuple[np.ndarray, np.ndarray]:
    """Three classes whose features have scales 1, 100 and 1e4 (as in scikit-learn's wine)."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, n)
    x = rng.normal(size=(n, 3)) + y[:, None]
    return x * np.array([1.0, 100.0, 1e4]) + np.array([0.0, 500.0, -3e4]), y


def test_from_tensors_standardizes_with_training_statistics_only() -> None:
    x, y = _arrays()
    task = optnas.tasks.from_tensors(x, y, seed=1)
    raw = optnas.tasks.from_tensors(x, y, seed=1, standardize=False)
    xt_raw = raw.tensors("train")[0].double()
    mean, std = xt_raw.mean(0), xt_raw.std(0, correction=0)
    assert task.standardize is not None and raw.standardize is None
    assert np.allclose(task.standardize["mean"], mean.numpy()) and np.allclose(task.standardize["std"], std.numpy())
    xt = task.tensors("train")[0].double()
    assert torch.allclose(xt.mean(0), torch.zeros(3, dtype=torch.float64), atol=1e-5)
    assert torch.allclose(xt.std(0, correction=0), torch.ones(3, dtype=torch.float64), atol=1e-5)
    # the test split is scaled with the *training* statistics: not exactly mean 0 (no leak)
    xs, xs_raw = task.tensors("test")[0].double(), raw.tensors("test")[0].double()
    assert torch.allclose(xs, (xs_raw - mean) / std, atol=1e-5)
    assert not torch.allclose(xs.mean(0), torch.zeros(3, dtype=torch.float64), atol=1e-3)


def test_constant_feature_keeps_scale_one() -> None:
    x = torch.cat([torch.randn(50, 1), torch.full((50, 1), 7.0)], dim=1)
    task = optnas.tasks.from_tensors(x, (x[:, 0] > 0).long())
    assert task.standardize is not None and task.standardize["std"][1] == 1.0
    assert torch.isfinite(task.tensors("train")[0]).all()


def test_space_takes_a_task_object_and_rejects_other_things(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(SPACE)
    x, y = _arrays()
    task = optnas.tasks.from_tensors(x, y, name="mine")
    space = SearchSpace.from_yaml(path, task=task)
    assert space.task() is task and space.task_name == "mine"
    again = SearchSpace(space.config, path, task)
    assert again.task() is task
    with pytest.raises(UsageError, match=r"task: missing; name a registered task"):
        SearchSpace.from_yaml(path)
    with pytest.raises(UsageError, match=r"task=str is invalid: pass an optnas.tasks.Task"):
        SearchSpace.from_yaml(path, task="rings")  # type: ignore[arg-type]
    # a file with its own task: the Task object replaces it
    with_task = tmp_path / "with_task.yaml"
    with_task.write_text("task: {name: rings}\n" + SPACE)
    assert SearchSpace.from_yaml(with_task, task=task).task() is task


@pytest.mark.parametrize("jobs", [1, 2])
def test_search_on_user_arrays_exports_a_model_that_takes_raw_inputs(tmp_path: Path, jobs: int) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(SPACE)
    x, y = _arrays()
    task = optnas.tasks.from_tensors(x, y, name="mine")
    space = SearchSpace.from_yaml(path, task=task)
    storage = str(tmp_path / "runs" / "journal.log")
    study = run_search(space, trials=2, storage=storage, study="mine", jobs=jobs, progress=False)
    assert len(study.trials) == 2 and all(t.state.name == "COMPLETE" for t in study.trials)
    record = study.user_attrs["optnas"]["task"]
    assert record["name"] == "mine" and record["given"] and record["standardize"] == task.standardize
    done = optnas.export.export_trial(storage, "mine", out=tmp_path / "out")
    assert json.loads((tmp_path / "out" / "export.json").read_text())["standardize"] is True
    assert "self.standardize = Standardize(" in (tmp_path / "out" / "model.py").read_text()
    net = optnas.export.load(done.out)
    raw_test = optnas.tasks.from_tensors(x, y, name="mine", standardize=False).tensors("test")
    with torch.no_grad():
        accuracy = float((net(raw_test[0]).argmax(1) == raw_test[1]).float().mean())
    best = study.trials[done.info["source"]["trial"]]
    assert accuracy == pytest.approx(best.user_attrs["metrics"]["test_metric"], abs=1e-6)
    with pytest.raises(ValueError, match=r"was a Task object given in Python"):
        optnas.export.export_trial(storage, "mine", out=tmp_path / "again", retrain=True)


def test_the_ray_backend_refuses_a_task_object_saying_what_to_do(tmp_path: Path) -> None:
    pytest.importorskip("ray.tune")
    from optnas.search.ray_backend import run_ray_search

    path = tmp_path / "mine.yaml"
    path.write_text(SPACE)
    x, y = _arrays()
    space = SearchSpace.from_yaml(path, task=optnas.tasks.from_tensors(x, y, name="mine"))
    with pytest.raises(UsageError, match=r"the Ray backend needs a registered task, not the Task object 'mine'"):
        run_ray_search(space, storage=str(tmp_path / "j.log"))
    assert not (tmp_path / "j.log").exists()
