"""`searcher`: optnas as the search algorithm of *your own* Ray Tune job (your trainable, your Ray Train).

The searcher asks an optnas study (created in ``storage`` if new, with the record `optnas search` writes)
for a trial, draws a certified spec with the space's sampler, and gives your trainable a config holding the
spec and its training options. The study then holds what Tune did:

- every report of the objective metric is an intermediate value of the Optuna trial (step: Tune's
  ``training_iteration`` - 1), the last one too;
- a trial that your trainable ends with its final report (one that has ``status``, or the trainable
  returning) is COMPLETE with its objective metrics, or FAIL: ``status: "diverged"`` is a diverged trial with
  your ``reason``, a final report without the objective metrics is an error naming them, a Tune error an
  error;
- a trial that Tune stopped (any scheduler: ASHA, HyperBand, median stopping; or a stopper) before its final
  report is PRUNED at its last report, whose metrics it keeps;
- only your metrics are stored, not Tune's bookkeeping (``time_this_iter_s``, ``config/...``, ...).

It holds a lock for each trial it runs (`optnas.search.locks`); creating a searcher on a study fails the
trials a dead job left RUNNING (the rule of ``optnas search --resume``: trials whose lock nobody holds), and
``Tuner.restore`` continues the same study (``save``/``restore``: which Tune trial is which Optuna trial).

It asks as the Ray backend's driver does (`optnas.search.ray.ask`): the sampler reads the searcher's own copy
of the trials (`TrialList`: its told trials as stored, read again whole every `RECONCILE_EVERY_S`, new trials
of other processes as they appear), and a drawn trial is written in one transaction, so a suggestion costs
O(1) storage round trips however many trials the study holds or runs.

Your trainable's config (a Ray Train ``TorchTrainer`` runs inside it: Ray Train V2 runs trainers in Tune trials)::

    {"spec": {...ArchSpec.to_dict()...}, "train": {"lr": ..., "epochs": ..., "seed": ..., ...},
     "task": {"name": ..., "params": {...}}, "optnas": {"study": ..., "trial": <Optuna trial number>}}

It reports the space's objective metrics (``val_metric`` and any of ``test_metric``, ``params``, ``flops``,
``latency_ms``), its final report with ``status`` ("complete" or "diverged"), and may add ``reason`` and
``weights`` (the path of a safetensors file of the trained network on a filesystem the driver sees: it becomes
the trial's artifact, which export reads; without it, export it with ``--retrain``).

Example (docs/ray.md has a runnable one):
    >>> from ray import tune                                                        # doctest: +SKIP
    >>> alg = optnas.search.ray.searcher(space, storage="runs/journal.log", study="mine")  # doctest: +SKIP
    >>> tune.Tuner(my_trainable, tune_config=tune.TuneConfig(search_alg=alg, num_samples=8)).fit()  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

import optuna
from ray.tune.result import AUTO_RESULT_KEYS
from ray.tune.search import Searcher

from ...errors import UsageError
from ...storage import DEFAULT_STORAGE, open_storage
from ..lifecycle import Lifecycle, TrialEnd, record, tell, uploader
from ..liveness import sweep
from ..locks import TrialLock, claim_lock
from ..space import SearchSpace, UncertifiedDraw
from ..study import choose_store, create_or_resume
from .ask import Asker, TrialList
from .tally import reconcile_interval

MAX_UNCERTIFIED_IN_A_ROW = 100  # a space whose draws all fail their certificate: stop rather than spin
# what Tune adds to every report (flattened): not the user's metrics
TUNE_KEYS = frozenset(AUTO_RESULT_KEYS) | {"done", "trial_id", "experiment_tag", "should_checkpoint", "config"}
# what the trainable may report besides metrics
CONTROL_KEYS = ("status", "reason", "weights")


class OptnasSearcher(Searcher):
    """A Ray Tune ``Searcher`` over an optnas study; made by `searcher`."""

    def __init__(self, space: SearchSpace, storage: str, study: str, artifacts: str | None = None) -> None:
        # a bad OPTNAS_RAY_RECONCILE_S is refused here, before the storage is made, not in Tune's loop
        reload_s = reconcile_interval()
        if space.given_task is not None:
            raise UsageError(
                f"optnas.search.ray.searcher needs a task the trials can rebuild by name, not the Task object "
                f"{space.task_name!r}: register a function that returns it (@optnas.tasks.register in a plugin "
                "module importable on every node) and name it in the space file"
            )
        name, direction = space.objectives()[0]
        super().__init__(metric=name, mode="max" if direction == "maximize" else "min")
        self.space, self.url = space, storage
        self.reload_s = reload_s
        self._open(study, resume=_exists(storage, study), artifacts=artifacts)
        self._sweep()

    def _open(self, study_name: str, *, resume: bool, artifacts: str | None) -> None:
        self.backend = open_storage(self.url)
        # where the weights go: a resumed study keeps the store it recorded
        self.store = choose_store(self.space, self.url, study_name, artifacts, resume=resume, backend=self.backend)
        self.study = create_or_resume(
            self.space, self.url, study_name, resume=resume, backend=self.backend, store=self.store
        )
        self.lifecycle = Lifecycle(self.space)
        self.known = TrialList()  # the trials the sampler reads (`ask`), loaded whole by `_sweep`
        self.asker = Asker(self.study, self.backend, self.known)
        self.loaded_at = -math.inf  # time.monotonic() of the last whole read into `known`
        self.trials: dict[str, int] = {}  # Tune trial id -> Optuna trial number, while it runs
        self.reported: dict[str, int] = {}  # Tune trial id -> last step told to the Optuna trial
        # Tune trial id -> its last report seen: a trial HyperBand paused and resumed ends with an empty result
        self.last: dict[str, dict[str, Any]] = {}
        self.locks: dict[int, TrialLock] = {}
        self.swept = False

    def _sweep(self) -> None:
        """Fail the trials a dead job left RUNNING (not this searcher's own, which it holds)."""
        with claim_lock(self.url, self.study.study_name):
            for number in self.trials.values():
                if number not in self.locks:
                    self.locks[number] = TrialLock(self.url, self.study.study_name, number)
            sweep(self.study, self.url, backend=self.backend, keep=set(self.trials.values()))
        self.reload()
        self.swept = True

    def reload(self) -> None:
        """Read the study whole into the sampler's copy (`TrialList`), as `suggest` does every
        `RECONCILE_EVERY_S`: the sampler then sees what other processes finished since."""
        self.known.load(self.study.get_trials(deepcopy=False))
        self.loaded_at = time.monotonic()

    # -- pickling: Tuner stores its TuneConfig (tuner.pkl); Tuner.restore unpickles it, then calls `restore` ----

    def __getstate__(self) -> dict[str, Any]:
        return {
            "space": self.space.to_dict(),
            "space_file": str(self.space.path) if self.space.path else None,
            "url": self.url,
            "study": self.study.study_name,
            "artifacts": self.store,
            "metric": self._metric,
            "mode": self._mode,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        Searcher.__init__(self, metric=state["metric"], mode=state["mode"])
        self.space = SearchSpace.from_dict(state["space"], Path(state["space_file"]) if state["space_file"] else None)
        self.url = state["url"]
        self.reload_s = reconcile_interval()  # the restoring process's own, refused before the storage is opened
        self._open(state["study"], resume=True, artifacts=state.get("artifacts"))
        # no sweep yet: `restore` (Tuner.restore) first says which RUNNING trials the restored Tune goes on with

    def save(self, checkpoint_path: str) -> None:
        Path(checkpoint_path).write_text(
            json.dumps({"study": self.study.study_name, "trials": self.trials, "reported": self.reported})
        )

    def restore(self, checkpoint_path: str) -> None:
        saved = json.loads(Path(checkpoint_path).read_text())
        if saved["study"] != self.study.study_name:
            mine = self.study.study_name
            raise UsageError(f"{checkpoint_path}: the searcher state of study {saved['study']!r}, not {mine!r}")
        running = {t.number for t in self.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))}
        self.trials = {k: int(v) for k, v in saved["trials"].items() if int(v) in running}
        self.reported = {k: int(v) for k, v in saved["reported"].items() if k in self.trials}
        self._sweep()

    # -- Tune's calls ----------------------------------------------------------------------------------------

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        if not self.swept:  # unpickled without a searcher checkpoint to restore
            self._sweep()
        elif time.monotonic() - self.loaded_at >= self.reload_s:
            self.reload()
        for _ in range(MAX_UNCERTIFIED_IN_A_ROW):
            # drawn as a draft, written whole and locked under the claim lock: a sibling's sweep never sees
            # it RUNNING without its lock
            with claim_lock(self.url, self.study.study_name):
                trial = self.asker.ask()
                try:
                    spec, options, _ = self.lifecycle.draw(trial)
                except UncertifiedDraw:  # recorded by the draw (status, reason, certificate): failed, ask again
                    spec = None
                else:
                    trial.set_user_attr("ray", {"trial_id": trial_id})
                stored_id, number = self.asker.commit(trial)
                self.locks[number] = TrialLock(self.url, self.study.study_name, number)
            if spec is None:
                self.study.tell(number, state=optuna.trial.TrialState.FAIL)
                self.known.put(self.backend.get_trial(stored_id))
                self._release(number)
                continue
            self.trials[trial_id] = number
            cfg = self.space.config
            return {
                "spec": spec.to_dict(),
                "train": {**options, "epochs": cfg.train.epochs, "seed": self.lifecycle.seed},
                "task": {"name": self.space.task_name, "params": self.space.task().params},
                "optnas": {"study": self.study.study_name, "trial": number},
            }
        raise UsageError(f"{MAX_UNCERTIFIED_IN_A_ROW} draws in a row failed their certificate; widen the space")

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        if trial_id in self.trials:
            self.last[trial_id] = result
        self._report(trial_id, result)

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        if trial_id not in self.trials:
            return
        result = result or {}
        if _step(result) is None and not error:  # no report in it (a paused and resumed trial): its last one
            result = self.last.get(trial_id, result)
        # Tune passes the trial's last report: seen by on_trial_result when the trainable went on after it (it
        # then returned), never seen when a scheduler or stopper stopped the trial at that report
        stopped = not error and _step(result) is not None and _step(result) != self.reported.get(trial_id)
        self._report(trial_id, result)
        number = self.trials.pop(trial_id)
        self.reported.pop(trial_id, None)
        self.last.pop(trial_id, None)
        outcome = _outcome(result, error, [n for n, _ in self.space.objectives()], stopped=stopped)
        weights = result.get("weights") if outcome.state == "COMPLETE" else None
        stored_id = self._stored_id(number)
        trial = optuna.Trial(self.study, stored_id)
        upload = uploader(self.store, trial, self.backend) if weights else None
        weights_file = weights if weights and os.path.isfile(weights) else None
        outcome = record(trial, outcome, upload=upload, weights_file=weights_file)
        tell(self.study, number, outcome)
        self.known.put(self.backend.get_trial(stored_id))  # the sampler sees it finished, as stored
        self._release(number)

    # -- helpers ---------------------------------------------------------------------------------------------

    def _report(self, trial_id: str, result: dict[str, Any]) -> None:
        number, value, step = self.trials.get(trial_id), result.get(self.metric or ""), _step(result)
        if number is None or step is None or self.reported.get(trial_id) == step:
            return
        self.reported[trial_id] = step
        if isinstance(value, int | float) and _finite(value):
            self._trial(number).report(float(value), step=step)

    def _trial(self, number: int) -> optuna.Trial:
        """The running Optuna trial ``number`` (public storage calls: a restored searcher has only numbers)."""
        return optuna.Trial(self.study, self._stored_id(number))

    def _stored_id(self, number: int) -> int:
        """The storage's id of trial ``number``."""
        return self.backend.get_trial_id_from_study_id_trial_number(self.asker.study_id, number)

    def _release(self, number: int) -> None:
        lock = self.locks.pop(number, None)
        if lock is not None:
            lock.release()


def _step(result: dict[str, Any]) -> int | None:
    iteration = result.get("training_iteration")
    return int(iteration) - 1 if isinstance(iteration, int) and iteration >= 1 else None


def user_metrics(result: dict[str, Any]) -> dict[str, Any]:
    """The numbers the trainable reported, without Tune's bookkeeping."""
    return {
        k: v
        for k, v in result.items()
        if k not in TUNE_KEYS and not k.startswith("config/") and _is_number(v) and k not in CONTROL_KEYS
    }


def _outcome(result: dict[str, Any], error: bool, objectives: list[str], *, stopped: bool) -> TrialEnd:
    metrics = user_metrics(result)
    if error:
        return TrialEnd("FAIL", attrs={"status": "error", "reason": "the trainable raised (see Ray's trial log)"})
    if stopped and "status" not in result:  # a final report (it has a status) stopped at Tune's max_t is final
        step = _step(result)
        reason = f"stopped by Tune (its scheduler or stopper) at report {0 if step is None else step + 1}"
        return TrialEnd("PRUNED", attrs={"status": "pruned", "reason": reason, "metrics": metrics})
    status = result.get("status", "complete")
    if status == "diverged":
        reason = result.get("reason") or "the trainable reported status 'diverged'"
        return TrialEnd("FAIL", attrs={"status": "diverged", "reason": str(reason), "metrics": metrics})
    if status != "complete":
        reason = f"status={str(status)[:80]!r} is invalid; valid: complete, diverged"
        return TrialEnd("FAIL", attrs={"status": "error", "reason": reason, "metrics": metrics})
    missing = [n for n in objectives if not _finite(result.get(n))]
    if missing:
        given = ", ".join(sorted(metrics)) or "none"
        reason = f"the trainable ended without a finite {', '.join(missing)} in its last report (it reported: {given})"
        return TrialEnd("FAIL", attrs={"status": "error", "reason": reason, "metrics": metrics})
    values = [float(result[n]) for n in objectives]
    return TrialEnd("COMPLETE", values=values, attrs={"status": "complete", "reason": None, "metrics": metrics})


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _finite(value: Any) -> bool:
    return _is_number(value) and math.isfinite(value)


def _exists(storage: str, study: str) -> bool:
    return study in optuna.study.get_all_study_names(open_storage(storage))


def searcher(
    space: SearchSpace, *, storage: str | None = None, study: str | None = None, artifacts: str | None = None
) -> OptnasSearcher:
    """A Ray Tune searcher drawing certified specs of ``space`` into your trainable (see the module docstring).

    ``study`` (default: the space's name) is created in ``storage`` (default ``./optnas-runs/journal.log``)
    or continued if it exists (its trials that a dead job left RUNNING are failed first). ``artifacts``: where
    the weights your trainable reports go, as for `optnas.search.run_search`. Use it as
    ``TuneConfig(search_alg=searcher(...))``; ``Tuner.restore`` continues it.
    """
    return OptnasSearcher(space, storage or DEFAULT_STORAGE, study or space.name, artifacts)
