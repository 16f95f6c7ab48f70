"""Optuna backend: a trial whose worker is SIGKILLed goes on from its last checkpoint (`--resume` here; a live
sibling's sweep does the same), to the curves and metrics of the same trial never interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import optuna
import pytest
import torch
from optuna.trial import TrialState

import optnas
from optnas import outcome
from optnas.search import SearchSpace
from optnas.storage import trial_record
from optnas.storage.artifacts import beside
from optnas.training import train


def _cli(*argv: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "optnas", *argv], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.slow  # ~1-2 min on a loaded 2-core machine
def test_a_killed_trial_continues_from_its_checkpoint_to_the_uninterrupted_run(write_space, tmp_path):
    text = write_space().read_text().replace("epochs: 2", "epochs: 8").replace("n_samples: 300", "n_samples: 3000")
    path = write_space(text, "slow.yaml")
    storage = str(tmp_path / "j.log")
    env = {**os.environ, "OPTNAS_CHECKPOINT_S": "0", "OPTNAS_TORCH_THREADS": "1"}
    argv = ["search", str(path), "--trials", "1", "--storage", storage, "--no-progress"]
    proc = _cli(*argv, env=env)
    backend = optnas.search.open_storage(storage)
    killed: dict = {}
    deadline = time.time() + 300
    while time.time() < deadline and not killed:
        time.sleep(0.1)
        assert proc.poll() is None, f"the search ended before it could be killed: {proc.stderr.read()[-2000:]}"
        try:
            trials = optuna.load_study(study_name="slow", storage=backend).trials
        except KeyError:
            continue
        saved = trials[0].user_attrs.get("checkpoint") if trials else None
        if saved and saved["epoch"] >= 2:
            proc.send_signal(signal.SIGKILL)
            killed.update(saved)
    proc.wait(timeout=60)
    assert killed, "no checkpoint in time"
    resumed = subprocess.run([sys.executable, "-m", "optnas", *argv, "--resume"], env=env, capture_output=True,
                             text=True, timeout=600, check=False)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    study = optuna.load_study(study_name="slow", storage=backend)
    dead, cont = study.trials
    assert dead.state == TrialState.FAIL and outcome.trial_status(dead) == "lost"  # not counted
    assert cont.state == TrialState.COMPLETE and cont.user_attrs["continues"] == 0 and cont.params == dead.params
    assert outcome.counted([outcome.trial_status(t) for t in study.trials]) == 1
    assert cont.user_attrs["metrics"]["resumed_from_epoch"] >= killed["epoch"]
    assert sorted(cont.intermediate_values) == list(range(8))
    curves = trial_record.merged(cont.user_attrs, str(beside(storage)))["curves"]
    options = {k: v for k, v in cont.user_attrs["train"].items() if k not in ("epochs", "seed")}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        clean = train(cont.user_attrs["spec"], SearchSpace.from_yaml(path).task(), epochs=8, seed=0, device="cpu",
                      **options)
    finally:
        torch.set_num_threads(threads)
    for name in ("train_loss", "val_loss", "val_metric", "lr"):
        assert curves[name] == pytest.approx(clean.curves[name], abs=1e-6), name
    assert cont.values == [pytest.approx(clean.metrics["val_metric"], abs=1e-6)]
