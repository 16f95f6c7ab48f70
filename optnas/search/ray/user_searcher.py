"""`searcher`: optnas as the search algorithm of *your own* Ray Tune job (your trainable, your Ray Train).

The searcher asks an optnas study (created in ``storage`` if new, with the record `optnas search` writes)
for a trial, draws a certified spec with the space's sampler, and gives your trainable a config holding the
spec and its training options. What your trainable reports last is told to the study: its objective
metrics make the trial COMPLETE; ``status: "diverged"`` (or a Tune error) makes it FAIL with the reason. So
``optnas dashboard``, ``report`` and ``export`` read the study as if ``optnas search`` had run it.

Your trainable's config (a Ray Train ``TorchTrainer`` runs inside it: Ray Train V2 runs trainers in Tune trials)::

    {"spec": {...ArchSpec.to_dict()...}, "train": {"lr": ..., "epochs": ..., "seed": ..., ...},
     "task": {"name": ..., "params": {...}}, "optnas": {"study": ..., "trial": <Optuna trial number>}}

It reports the space's objective metrics (``val_metric`` and any of ``test_metric``, ``params``, ``flops``,
``latency_ms``) and may report ``status`` ("complete" or "diverged"), ``reason`` and ``weights`` (the path of
a safetensors file of the trained network on a filesystem the driver sees: it becomes the trial's artifact,
which export reads; without it, export it with ``--retrain``).

Example (docs/ray.md has a runnable one):
    >>> from ray import tune                                                        # doctest: +SKIP
    >>> alg = optnas.search.ray.searcher(space, storage="runs/journal.log", study="mine")  # doctest: +SKIP
    >>> tune.Tuner(my_trainable, tune_config=tune.TuneConfig(search_alg=alg, num_samples=8)).fit()  # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
from typing import Any

import optuna
from ray.tune.search import Searcher

from ...errors import UsageError
from ..lifecycle import Lifecycle, Outcome, record, tell, uploader
from ..space import SearchSpace, UncertifiedDraw
from ..storage import DEFAULT_STORAGE, open_storage
from ..study import choose_store, create_or_resume

MAX_UNCERTIFIED_IN_A_ROW = 100  # a space whose draws all fail their certificate: stop rather than spin


class OptnasSearcher(Searcher):
    """A Ray Tune ``Searcher`` over an optnas study; made by `searcher`."""

    def __init__(self, space: SearchSpace, storage: str, study: str, artifacts: str | None = None) -> None:
        name, direction = space.objectives()[0]
        super().__init__(metric=name, mode="max" if direction == "maximize" else "min")
        self.space, self.url = space, storage
        self.backend = open_storage(storage)  # for the weights' artifacts
        resume = study in optuna.study.get_all_study_names(self.backend)
        self.store = choose_store(space, storage, study, artifacts, resume=resume, backend=self.backend)
        self.study = create_or_resume(space, storage, study, resume=resume, backend=self.backend, store=self.store)
        self.lifecycle = Lifecycle(space)
        self.trials: dict[str, optuna.Trial] = {}

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        for _ in range(MAX_UNCERTIFIED_IN_A_ROW):
            trial = self.study.ask()
            try:
                spec, options = self.lifecycle.draw(trial)
            except UncertifiedDraw:  # recorded by the draw (status, reason, certificate): failed, ask again
                self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
                continue
            trial.set_user_attr("ray", {"trial_id": trial_id})
            self.trials[trial_id] = trial
            cfg = self.space.config
            config = {
                "spec": spec.to_dict(),
                "train": {**options, "epochs": cfg.train.epochs, "seed": cfg.seed},
                "task": {"name": self.space.task_name, "params": self.space.task().params},
                "optnas": {"study": self.study.study_name, "trial": trial.number},
            }
            return config
        raise UsageError(f"{MAX_UNCERTIFIED_IN_A_ROW} draws in a row failed their certificate; widen the space")

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        trial, value = self.trials.get(trial_id), result.get(self.metric or "")
        if trial is not None and isinstance(value, int | float) and _finite(value):
            trial.report(float(value), step=int(result.get("training_iteration", 1)) - 1)

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        trial = self.trials.pop(trial_id, None)
        if trial is None:
            return
        outcome = _outcome(result or {}, error, [n for n, _ in self.space.objectives()])
        weights = (result or {}).get("weights") if outcome.state == "COMPLETE" else None
        upload = uploader(self.store, trial, self.backend) if weights else None
        weights_file = weights if weights and os.path.isfile(weights) else None
        outcome = record(trial, outcome, upload=upload, weights_file=weights_file)
        tell(self.study, trial.number, outcome)


def _outcome(result: dict[str, Any], error: bool, objectives: list[str]) -> Outcome:
    metrics = {k: v for k, v in result.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    if error:
        return Outcome("FAIL", attrs={"status": "error", "reason": "the trainable raised (see Ray's trial log)"})
    status = result.get("status", "complete")
    missing = [n for n in objectives if not _finite(result.get(n))]
    if status != "complete" or missing:
        reason = result.get("reason") or f"no finite {', '.join(missing)} reported"
        kind = "diverged" if status == "diverged" or missing else "error"
        return Outcome("FAIL", attrs={"status": kind, "reason": str(reason), "metrics": metrics})
    values = [float(result[n]) for n in objectives]
    return Outcome("COMPLETE", values=values, attrs={"status": "complete", "reason": None, "metrics": metrics})


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def searcher(
    space: SearchSpace, *, storage: str | None = None, study: str | None = None, artifacts: str | None = None
) -> OptnasSearcher:
    """A Ray Tune searcher drawing certified specs of ``space`` into your trainable (see the module docstring).

    ``study`` (default: the space's name) is created in ``storage`` (default ``./optnas-runs/journal.log``)
    or continued if it exists. ``artifacts``: where the weights your trainable reports go, as for
    `optnas.search.run_search`. Use it as ``TuneConfig(search_alg=searcher(...))``.
    """
    return OptnasSearcher(space, storage or DEFAULT_STORAGE, study or space.name, artifacts)
