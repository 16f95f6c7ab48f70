"""Data-parallel trials (--workers-per-trial): DDP over Ray Train workers, recorded as a one-worker trial."""

from __future__ import annotations

import pytest
import torch
from optuna.trial import TrialState

from optnas.errors import UsageError
from optnas.search import SearchSpace, run_search
from optnas.search.ray_backend import run_ray_search
from optnas.storage import trial_record
from optnas.training import train
from tests._support.cli import run_cli

DDP = """
task: {name: rings, params: {n_samples: 600}}
train: {epochs: 3, batch_size: 64, lr: 0.01}
space:
  algorithm: {heavy_ball: {beta: 0.5}}
  block: {mlp2: {hidden: 8}}
  activation: [tanh]
  depth: 2
  width: [8]
pruner: {name: none}
trials: 1
workers_per_trial: 2
"""


@pytest.mark.slow  # ~2.5 min on a loaded 2-core machine: Ray Train starts a controller and 2 workers
def test_a_trial_over_two_workers_records_what_one_worker_would(local_ray, write_space, tmp_path, monkeypatch):
    monkeypatch.setenv("OPTNAS_RAY_CHECKPOINT_S", "0")  # every epoch's report and checkpoint go through the relay
    space = SearchSpace.from_yaml(write_space(DDP, "ddp.yaml"))
    study = run_ray_search(space, trials=1, storage=str(tmp_path / "j.log"), cpus_per_trial=0.5, progress=False)
    (trial,) = study.trials
    assert trial.state == TrialState.COMPLETE and trial.user_attrs["status"] == "complete"
    assert sorted(trial.intermediate_values) == [0, 1, 2]
    assert trial.user_attrs["weights"] and trial.user_attrs["ray"]["checkpoints"] == 2
    curves = trial_record.full(study, trial)["curves"]
    # the global batch split over 2 ranks: the steps one worker takes on the whole batch (float sums aside)
    options = dict(trial.user_attrs["train"])
    epochs, seed = options.pop("epochs"), options.pop("seed")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        alone = train(trial.user_attrs["spec"], space.task(), epochs=epochs, seed=seed, device="cpu", **options)
    finally:
        torch.set_num_threads(threads)
    for name in ("train_loss", "val_loss", "val_metric", "lr"):
        assert curves[name] == pytest.approx(alone.curves[name], abs=1e-5), name


def test_the_optuna_backend_refuses_data_parallel_trials(write_space, tmp_path):
    path = write_space(DDP.replace("workers_per_trial: 2", ""), "one.yaml")
    done = run_cli("search", str(path), "--workers-per-trial", "2")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "--workers-per-trial 2 needs --backend ray" in done.stderr
    with pytest.raises(UsageError, match=r"workers_per_trial=2 \(--workers-per-trial\) needs --backend ray"):
        run_search(SearchSpace.from_yaml(write_space(DDP, "ddp.yaml")), storage=str(tmp_path / "j.log"))
    assert not (tmp_path / "j.log").exists()
