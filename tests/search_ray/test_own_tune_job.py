"""Your own Ray Tune job (docs/examples/ray_own_tune.py): optnas's searcher, the user's trainable, one study.

Runs the documented example as a user would, with a small rings space, once with a plain trainable and once
with a Ray Train TorchTrainer of 2 workers (gloo on CPU), then exports the best trial from the study.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

import optnas.export
from optnas import outcome

ROOT = Path(__file__).resolve().parents[2]
SPACE = """
task: {name: rings, params: {n_samples: 300}}
train: {epochs: 2, batch_size: 64, lr: 0.01}
space:
  algorithm: {gd: {}, heavy_ball: {beta: 0.5}}
  block: {mlp2: {hidden: 8}}
  activation: [relu, tanh]
  depth: {low: 2, high: 3}
  width: [8]
pruner: {name: none}
"""


@pytest.mark.slow
@pytest.mark.parametrize("torch_trainer", [False, True])
def test_own_tune_job_records_certified_trials_in_the_study(tmp_path: Path, torch_trainer: bool) -> None:
    (tmp_path / "space.yaml").write_text(SPACE)
    storage = str(tmp_path / "runs" / "journal.log")
    args = [sys.executable, str(ROOT / "docs" / "examples" / "ray_own_tune.py"), "--space", "space.yaml",
            "--storage", storage, "--trials", "2"]
    env = {**os.environ, "OPTNAS_LOCK_DIR": str(tmp_path / "locks")}
    done = subprocess.run(args + (["--torch-trainer"] if torch_trainer else []), cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=1200, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    study = optuna.load_study(study_name="own", storage=optnas.search.open_storage(storage))
    statuses = [outcome.trial_status(t) for t in study.trials]
    assert len(statuses) == 2 and statuses.count("complete") >= 1, statuses
    for t in study.trials:
        assert t.user_attrs["certificate"]["ok"] and t.user_attrs["spec"]["algorithm"] in ("gd", "heavy_ball")
    assert study.user_attrs["optnas"]["task"]["name"] == "rings"  # the record optnas search writes
    exported = optnas.export.export_trial(storage, "own", out=tmp_path / "best")
    assert exported.info["source"]["weights"].startswith("artifact")
