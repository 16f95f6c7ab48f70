"""Tune's HyperBand pauses and resumes trials (from their checkpoints) and stops some: the user searcher records
each trial once, with one intermediate value per report, the stopped ones PRUNED at their last report."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from optnas import outcome
from optnas.search import SearchSpace, open_storage
from optnas.search.ray.user_searcher import searcher

from .test_user_searcher import USER_KEYS, _space


def _checkpointing_trainable(config: dict) -> None:  # a pausable trial: HyperBand resumes it from its checkpoint
    import json
    import os
    import tempfile

    from ray import tune

    start = 0
    saved = tune.get_checkpoint()
    if saved is not None:
        with saved.as_directory() as path, open(os.path.join(path, "state.json")) as f:
            start = json.load(f)["epoch"]
    quality = 0.9 - 0.1 * config["optnas"]["trial"]
    for epoch in range(start, 4):
        report = {"val_metric": quality + 0.01 * epoch, "loss": 1.0 - quality}
        if epoch == 3:
            report.update(status="complete", test_metric=quality)
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, "state.json"), "w") as f:
                json.dump({"epoch": epoch + 1}, f)
            tune.report(report, checkpoint=tune.Checkpoint.from_directory(tmp))


@pytest.mark.slow
def test_hyperband_pauses_and_stops_are_recorded_once_each(local_ray, tmp_path: Path) -> None:
    from ray import tune
    from ray.tune.schedulers import HyperBandScheduler

    storage = str(tmp_path / "j.log")
    alg = searcher(SearchSpace.from_yaml(_space(tmp_path)), storage=storage, study="own")
    tuner = tune.Tuner(
        tune.with_resources(_checkpointing_trainable, {"cpu": 1}),
        tune_config=tune.TuneConfig(
            search_alg=alg, scheduler=HyperBandScheduler(max_t=4, reduction_factor=2), num_samples=4,
            max_concurrent_trials=2, metric="val_metric", mode="max",
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path / "ray"), name="own"),
    )
    grid = tuner.fit()
    trials = optuna.load_study(study_name="own", storage=open_storage(storage)).trials
    assert len(trials) == 4 == len(grid)  # one Optuna trial per Tune trial, paused or not
    states = {t.number: t.state for t in trials}
    assert TrialState.COMPLETE in states.values() and TrialState.RUNNING not in states.values()
    for t in trials:
        steps = sorted(t.intermediate_values)
        assert steps == list(range(len(steps)))  # every report once, none lost across a pause
        quality = 0.9 - 0.1 * t.number
        assert t.intermediate_values[steps[-1]] == pytest.approx(quality + 0.01 * steps[-1])
        if t.state == TrialState.COMPLETE:
            assert steps == [0, 1, 2, 3] and t.values == [pytest.approx(quality + 0.03)]
        else:
            assert t.state == TrialState.PRUNED and len(steps) < 4, (t.number, t.state, steps)
            assert outcome.trial_status(t) == "pruned" and "stopped by Tune" in t.user_attrs["reason"]
        assert set(t.user_attrs["metrics"]) <= USER_KEYS
