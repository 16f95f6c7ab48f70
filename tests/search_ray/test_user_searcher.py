"""optnas's searcher in the user's own Tune job records what Tune did: scheduler stops are PRUNED at their last
report, every report is an intermediate value, only the user's metrics are stored, a dead job's trials are
failed, and Tuner.restore after a driver SIGKILL continues the same study without duplicates."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

import optnas.tasks
from optnas import outcome
from optnas.errors import UsageError
from optnas.search import SearchSpace, open_storage
from optnas.search.ray.user_searcher import _outcome, searcher

SPACE = """
task: {name: rings, params: {n_samples: 300}}
train: {epochs: 4, batch_size: 64, lr: 0.01}
space:
  algorithm: {gd: {}, heavy_ball: {beta: 0.5}}
  block: {mlp2: {hidden: 8}}
  activation: [relu, tanh]
  depth: {low: 2, high: 3}
  width: [8]
pruner: {name: none}
"""
USER_KEYS = {"val_metric", "test_metric", "loss"}


def _space(tmp_path: Path) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(SPACE)
    return path


def _trials(storage: str, study: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=study, storage=open_storage(storage)).trials


def test_the_documented_name_stays_the_function_once_the_backend_is_imported() -> None:
    """`optnas.search.ray.searcher(...)` (docs/ray.md) is the function also after optnas's own Ray backend ran:
    a submodule of the same name, once imported, replaced the package's attribute with the module."""
    code = ("import optnas.search.ray, optnas.search.ray_backend, optnas.search.ray.run, inspect; "
            "print(inspect.isfunction(optnas.search.ray.searcher))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "True", out.stderr


def test_a_task_object_is_refused_when_the_searcher_is_made(tmp_path: Path) -> None:
    space = SearchSpace.from_yaml(_space(tmp_path), task=optnas.tasks.get("rings", n_samples=300))
    with pytest.raises(UsageError, match="rebuild by name.*@optnas.tasks.register"):
        searcher(space, storage=str(tmp_path / "j.log"), study="own")
    assert not (tmp_path / "j.log").exists()


@pytest.mark.parametrize("value", ["", "abc", "nan", "inf", "-1", "1e300"])
def test_a_bad_reconcile_interval_is_refused_when_the_searcher_is_made(tmp_path: Path, monkeypatch, value) -> None:
    space = SearchSpace.from_yaml(_space(tmp_path))
    monkeypatch.setenv("OPTNAS_RAY_RECONCILE_S", value)
    with pytest.raises(UsageError) as caught:
        searcher(space, storage=str(tmp_path / "j.log"), study="own")
    assert str(caught.value) == (f"OPTNAS_RAY_RECONCILE_S={value!r} is invalid: it must be a number of seconds > 0 "
                                 "and <= 86400 (a day)")
    assert [p.name for p in tmp_path.iterdir()] == ["space.yaml"]  # no storage made, no artifact folder


def test_the_last_report_without_the_objective_is_an_error_with_the_reason() -> None:
    result = {"loss": 0.3, "status": "complete", "training_iteration": 4, "time_this_iter_s": 0.1, "config/x": 1}
    made = _outcome(result, False, ["val_metric"], stopped=False)
    assert made.state == "FAIL" and made.attrs["status"] == "error"
    reason = "the trainable ended without a finite val_metric in its last report (it reported: loss)"
    assert made.attrs["reason"] == reason
    assert made.attrs["metrics"] == {"loss": 0.3}
    diverged = _outcome({"status": "diverged", "reason": "nan at step 3"}, False, ["val_metric"], stopped=False)
    assert (diverged.state, diverged.attrs["status"], diverged.attrs["reason"]) == ("FAIL", "diverged", "nan at step 3")


HOLDER = """
import sys, time
from optnas.search import SearchSpace
from optnas.search.ray.user_searcher import searcher
alg = searcher(SearchSpace.from_yaml(sys.argv[1]), storage=sys.argv[2], study="own")
print(alg.suggest("tune-1")["optnas"]["trial"], flush=True)
time.sleep(600)
"""


def test_a_new_searcher_fails_the_trials_a_dead_job_left_running_and_keeps_a_live_ones(tmp_path: Path) -> None:
    storage = str(tmp_path / "j.log")
    dead = subprocess.Popen([sys.executable, "-c", HOLDER, str(_space(tmp_path)), storage], stdout=subprocess.PIPE,
                            text=True)
    try:
        assert dead.stdout is not None and dead.stdout.readline().strip() == "0"
    finally:
        dead.send_signal(signal.SIGKILL)
        dead.wait(timeout=30)
    live = searcher(SearchSpace.from_yaml(_space(tmp_path)), storage=storage, study="own")  # a job still running
    assert live.suggest("tune-2")["optnas"]["trial"] == 1
    searcher(SearchSpace.from_yaml(_space(tmp_path)), storage=storage, study="own")
    trials = _trials(storage, "own")
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.RUNNING]  # the dead job's failed; the live kept
    assert outcome.trial_status(trials[0]) == "lost"


def _trainable(sleep: float):  # type: ignore[no-untyped-def]
    def trainable(config: dict) -> None:  # nested: Ray pickles it by value, whatever imported this module
        import time

        from ray import tune

        # a trial's quality falls with its number, so the scheduler stops every trial after the first
        quality = 0.9 - 0.1 * config["optnas"]["trial"]
        for epoch in range(4):
            time.sleep(sleep)
            report = {"val_metric": quality + 0.01 * epoch, "loss": 1.0 - quality}
            if epoch == 3:
                report.update(status="complete", test_metric=quality)
            tune.report(report)

    return trainable


def _scheduler(name: str):  # type: ignore[no-untyped-def]
    from ray.tune.schedulers import ASHAScheduler, MedianStoppingRule

    made = {
        "asha": lambda: ASHAScheduler(max_t=4, grace_period=1, reduction_factor=2),
        "median": lambda: MedianStoppingRule(time_attr="training_iteration", grace_period=1, min_samples_required=1),
    }
    return made[name]()


@pytest.mark.parametrize("scheduler", ["asha", pytest.param("median", marks=pytest.mark.slow)])
def test_trials_a_scheduler_stops_are_pruned_at_their_last_report(local_ray, tmp_path: Path, scheduler: str) -> None:
    from ray import tune

    storage = str(tmp_path / "j.log")
    alg = searcher(SearchSpace.from_yaml(_space(tmp_path)), storage=storage, study="own")
    tuner = tune.Tuner(
        tune.with_resources(_trainable(0.0), {"cpu": 1}),
        tune_config=tune.TuneConfig(
            search_alg=alg, scheduler=_scheduler(scheduler), num_samples=3, max_concurrent_trials=1,
            metric="val_metric", mode="max",
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path / "ray"), name="own"),
    )
    tuner.fit()
    trials = sorted(_trials(storage, "own"), key=lambda t: t.number)
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.PRUNED, TrialState.PRUNED]
    first, *stopped = trials
    assert sorted(first.intermediate_values) == [0, 1, 2, 3]  # every report, the last one too
    assert first.values == [pytest.approx(0.93)] and first.user_attrs["status"] == "complete"
    for t in stopped:
        quality = 0.9 - 0.1 * t.number
        steps = sorted(t.intermediate_values)
        assert steps == list(range(len(steps))) and len(steps) < 4
        assert t.intermediate_values[steps[-1]] == pytest.approx(quality + 0.01 * steps[-1])
        assert t.user_attrs["status"] == "pruned" and "stopped by Tune" in t.user_attrs["reason"]
        assert outcome.trial_status(t) == "pruned"
    for t in trials:
        assert set(t.user_attrs["metrics"]) <= USER_KEYS  # none of Tune's bookkeeping


DRIVER = """
import os, sys, time
os.environ["TUNE_GLOBAL_CHECKPOINT_S"] = "0.5"
import ray
from ray import tune
from optnas.search import SearchSpace
from optnas.search.ray.user_searcher import searcher
sys.path.insert(0, {tests!r})
from test_user_searcher import _trainable

space_file, storage, root, restore = sys.argv[1:5]
ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
trainable = tune.with_resources(_trainable(0.6), {{"cpu": 1}})
if restore == "restore":
    tuner = tune.Tuner.restore(os.path.join(root, "own"), trainable=trainable)
else:
    alg = searcher(SearchSpace.from_yaml(space_file), storage=storage, study="own")
    tuner = tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(search_alg=alg, num_samples=3, max_concurrent_trials=1),
        run_config=tune.RunConfig(storage_path=root, name="own"),
    )
tuner.fit()
print("done", flush=True)
"""


@pytest.mark.slow
def test_tuner_restore_after_a_driver_sigkill_continues_the_same_study(tmp_path: Path) -> None:
    storage, root = str(tmp_path / "j.log"), str(tmp_path / "ray")
    script = DRIVER.format(tests=str(Path(__file__).parent))
    args = [sys.executable, "-c", script, str(_space(tmp_path)), storage, root]
    env = {**os.environ, "RAY_TMPDIR": os.environ.get("RAY_TMPDIR", "/tmp")}
    driver = subprocess.Popen([*args, "fresh"], env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 300
        while time.time() < deadline:  # the second trial half-way: reported, not finished
            trials = _trials(storage, "own") if Path(storage).exists() else []
            if len(trials) >= 2 and trials[1].state == TrialState.RUNNING and len(trials[1].intermediate_values) >= 2:
                break
            time.sleep(0.2)
        else:
            pytest.fail("the second trial never ran")
        time.sleep(1.0)  # past Tune's next experiment checkpoint
        os.killpg(driver.pid, signal.SIGKILL)  # the driver and the Ray it started
        driver.wait(timeout=30)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
    assert _trials(storage, "own")[1].state == TrialState.RUNNING
    done = subprocess.run([*args, "restore"], env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0 and "done" in done.stdout, done.stderr[-3000:]
    trials = sorted(_trials(storage, "own"), key=lambda t: t.number)
    statuses = [outcome.trial_status(t) for t in trials]
    assert "running" not in statuses
    assert trials[1].state == TrialState.COMPLETE  # the interrupted trial went on as the same Optuna trial
    assert sorted(trials[1].intermediate_values) == [0, 1, 2, 3]
    assert outcome.counted(statuses) == 3  # no duplicates: Tune's 3 samples are the study's 3 counted trials
    ray_ids = [t.user_attrs["ray"]["trial_id"] for t in trials if outcome.trial_status(t) != "lost"]
    assert len(ray_ids) == len(set(ray_ids)) == 3
