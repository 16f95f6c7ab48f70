"""A trial whose worker is killed resumes from its checkpoint; an interrupted search resumes with --resume
and repeats no finished trial."""

import os
import signal
import subprocess
import sys
import threading
import time

import optuna
import pytest
import torch
from optuna.trial import TrialState

from optnas.search import SearchSpace, open_storage
from optnas.search.ray_backend import run_ray_search
from optnas.storage import trial_record
from optnas.storage.artifacts import beside
from optnas.training import train
from tests._support.cli import run_cli
from tests._support.spaces import fast_space


def _trials(storage: str, study: str) -> list:
    try:
        return optuna.load_study(study_name=study, storage=open_storage(storage)).trials
    except (KeyError, ValueError):
        return []


def test_killed_worker_is_retried_from_its_checkpoint(local_ray, write_space, tmp_path, texts, monkeypatch):
    monkeypatch.setenv("OPTNAS_RAY_CHECKPOINT_S", "0")  # a checkpoint at the end of every epoch
    storage = str(tmp_path / "j.log")
    killed: dict = {}

    def kill_a_running_worker() -> None:
        deadline = time.time() + 180
        while time.time() < deadline and not killed:
            time.sleep(0.05)
            for t in _trials(storage, "slow"):
                # three epochs reported (so checkpointed), most of the twelve still to run
                if t.state == TrialState.RUNNING and len(t.intermediate_values) >= 3 and "worker" in t.user_attrs:
                    pid = t.user_attrs["worker"]["pid"]
                    os.kill(pid, signal.SIGKILL)
                    killed.update(number=t.number, pid=pid, epochs=len(t.intermediate_values))
                    return

    killer = threading.Thread(target=kill_a_running_worker, daemon=True)
    killer.start()
    space = SearchSpace.from_yaml(write_space(texts.SLOW, "slow.yaml"))
    study = run_ray_search(space, trials=1, storage=storage, progress=False)
    killer.join(timeout=5)
    assert killed, "no running trial to kill"
    (trial,) = study.trials  # retried in place: still one Optuna trial
    assert trial.state == TrialState.COMPLETE and trial.user_attrs["status"] == "complete"
    record = trial.user_attrs["ray"]
    assert record["retries"] == 1 and record["errors"][0]
    # from its checkpoint, not from scratch: the driver may write epoch e's value to Optuna a moment before
    # Tune registers epoch e's checkpoint as the trial's latest, so a kill in between resumes from e - 1
    assert record["resumed_from_epoch"] >= killed["epochs"] - 1 >= 2
    assert trial.user_attrs["metrics"]["resumed_from_epoch"] == record["resumed_from_epoch"]
    assert trial.user_attrs["worker"]["pid"] != killed["pid"]
    curves = trial_record.full(study, trial)["curves"]
    assert len(curves["val_metric"]) == 12
    assert sorted(trial.intermediate_values) == list(range(12))
    assert trial.user_attrs["weights"]
    # resumed exactly (the trainer's state: schedule position, random state, batch order): the curves and
    # metrics of the same trial run without a kill, on one thread as the worker ran it
    options = dict(trial.user_attrs["train"])
    epochs, seed = options.pop("epochs"), options.pop("seed")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        clean = train(trial.user_attrs["spec"], space.task(), epochs=epochs, seed=seed, device="cpu", **options)
    finally:
        torch.set_num_threads(threads)
    for name in ("train_loss", "val_loss", "val_metric", "lr"):
        assert curves[name] == pytest.approx(clean.curves[name], abs=1e-6), name
    assert trial.user_attrs["metrics"]["test_metric"] == pytest.approx(clean.metrics["test_metric"], abs=1e-6)


def test_interrupted_search_resumes_without_repeating_finished_trials(local_ray, write_space, tmp_path):
    # epochs long enough (~0.5 s) that a trial seen part-way is still part-way when Tune acts on Ctrl-C
    path = write_space(fast_space(epochs=12, n_samples=15000), "slow.yaml")
    storage = str(tmp_path / "j.log")
    argv = ["search", str(path), "--backend", "ray", "--trials", "3", "--storage", storage, "--no-progress"]
    env = {**os.environ, "OPTNAS_RAY_CHECKPOINT_S": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "optnas", *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    )
    finished: dict = {}
    reported: dict = {}  # the running trials' epochs written to Optuna when Ctrl-C came
    deadline = time.time() + 180
    while time.time() < deadline and proc.poll() is None:  # one trial finished, one part-way
        time.sleep(0.1)
        trials = _trials(storage, "slow")
        done = [t for t in trials if t.state.is_finished()]
        if done and any(t.state == TrialState.RUNNING and len(t.intermediate_values) >= 3 for t in trials):
            finished = {t.number: (t.values, t.datetime_complete) for t in done}
            reported = {t.number: len(t.intermediate_values) for t in trials if t.state == TrialState.RUNNING}
            break
    assert finished, "no trial finished while another ran"
    proc.send_signal(signal.SIGINT)  # Ctrl-C: Tune saves its experiment and stops
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "--resume" in err
    interrupted = [t.number for t in _trials(storage, "slow") if t.state == TrialState.RUNNING]
    assert interrupted

    # the resume in this process (`main(argv)` on the session's Ray): the interrupted command was a process
    result = run_cli(*argv, "--resume", env={"OPTNAS_RAY_CHECKPOINT_S": "0"})
    assert result.returncode == 0, result.stderr
    trials = _trials(storage, "slow")
    counted = [t for t in trials if "status" in t.user_attrs]
    assert len(counted) == 3 and all(t.state == TrialState.COMPLETE for t in counted)
    assert {t.number: (t.values, t.datetime_complete) for t in trials if t.number in finished} == finished
    resumed = [t for t in trials if t.number in interrupted and t.state == TrialState.COMPLETE]
    # from its checkpoint: as in the test above, epoch e's value can reach Optuna a moment before Tune registers
    # epoch e's checkpoint, so a trial that had written e epochs resumes from e - 1 or later
    froms = {t.number: t.user_attrs["metrics"].get("resumed_from_epoch", 0) for t in resumed}
    assert any(froms[n] >= reported.get(n, 0) - 1 >= 2 for n in froms), (froms, reported)
    folder = str(beside(storage))
    assert all(len(trial_record.merged(t.user_attrs, folder)["curves"]["val_metric"]) == 12 for t in counted)
