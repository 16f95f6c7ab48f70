"""Driver side of the Ray backend: the study in the user's storage is the single record of the search.

One Ray Tune trial is one Optuna trial (docs/ray.md):
- `OptunaBridge.suggest` (a Ray searcher) asks the study for a trial, draws its spec with the space's
  define-by-run `suggest` (certified, or recorded as a failed trial with its conditions, and the next one
  asked) and hands Ray a plan for the worker: the spec, the training options, the Optuna trial number;
- `StudyWriter` (a Ray callback) writes what workers report back: intermediate values, where each trial ran,
  and at the end the trial's record and weights, then tells the study its state.
Both hold no state of their own: Ray pickles them for ``Tuner.restore``, and the run that restores them
binds them to its `Driver` (`active`).
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.artifacts import FileSystemArtifactStore, upload_artifact
from optuna.trial import TrialState
from ray.tune import Callback
from ray.tune.experiment import Trial
from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, TrialScheduler
from ray.tune.search import Searcher

from ..dominance import STATIC, Point, dominated_at_epoch
from ..runner import alive, counted, running
from ..space import SearchSpace, UncertifiedDraw
from .cluster import Resources, checkpoint_interval
from .worker import CHECKPOINT_EVERY_S, WEIGHTS_FILE

_ACTIVE: list[Driver] = []
log = logging.getLogger("optnas.search")


@contextmanager
def active(driver: Driver) -> Iterator[Driver]:
    """Bind the searcher, callback and scheduler of this run (fresh or unpickled by Tuner.restore) to ``driver``."""
    _ACTIVE.append(driver)
    try:
        yield driver
    finally:
        _ACTIVE.remove(driver)


def current() -> Driver:
    if not _ACTIVE:
        raise RuntimeError("optnas's Ray searcher runs only inside optnas.search.ray_backend.run_ray_search")
    return _ACTIVE[-1]


@dataclass
class Driver:
    """One run of a search on Ray: the study, the target, what workers get, and the timings of the writes."""

    space: SearchSpace
    study: optuna.Study
    target: int
    deadline: float | None
    experiment: str
    artifact_dir: Path
    device: str
    resources: Resources
    milestones: list[int]
    scheduler_name: str
    on_trial: Any = None
    stats: dict[str, float] = field(default_factory=dict)
    _trials: dict[int, optuna.Trial] = field(default_factory=dict)
    _reported: dict[int, set[int]] = field(default_factory=dict)
    _stopped: dict[int, str] = field(default_factory=dict)
    _reconciled: bool = False
    _created: float = field(default_factory=time.perf_counter)
    _writer: ThreadPoolExecutor | None = None
    _pending: list[Future[None]] = field(default_factory=list)

    # -- the searcher's side --------------------------------------------------------------------------
    def next_config(self, ray_trial_id: str) -> dict[str, Any] | str | None:
        """A plan for a new Ray trial, ``Searcher.FINISHED`` once the target is in sight, or None (not yet)."""
        if not self._reconciled:
            return None
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return Searcher.FINISHED
        with self._timed("suggest"):
            while counted(self.study) + running(self.study) < self.target:
                trial = self.study.ask()
                trial.set_user_attr("ray", {"trial_id": ray_trial_id, "experiment": self.experiment})
                try:
                    spec = self.space.suggest(trial)
                except UncertifiedDraw:  # recorded with its conditions by suggest; the count goes on
                    self._fail_draw(trial, None)
                    continue
                except Exception as exc:  # a bug in one draw must not end the study (as in the runner)
                    self._fail_draw(trial, f"{type(exc).__name__}: {exc}")
                    continue
                options = self.space.suggest_train(trial)
                cfg = self.space.config
                trial.set_user_attr("train", {**options, "epochs": cfg.train.epochs, "seed": cfg.seed})
                self._trials[trial.number] = trial
                return {"optnas": self._plan(trial, spec.to_dict(), options)}
        return Searcher.FINISHED

    def _fail_draw(self, trial: optuna.Trial, error: str | None) -> None:
        """A draw that never reaches Ray: uncertified (suggest recorded why) or an error in drawing it."""
        trial.set_user_attr("worker", {"host": socket.gethostname(), "pid": os.getpid()})
        if error is not None:
            log.warning("trial %d failed: %s", trial.number, error)
            trial.set_user_attr("status", "error")
            trial.set_user_attr("reason", error)
        self.study.tell(trial, state=TrialState.FAIL)
        self._done()

    def _plan(self, trial: optuna.Trial, spec: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
        cfg = self.space.config
        return {
            "number": trial.number,
            "trial_id": trial._trial_id,
            "spec": spec,
            "train": options,
            "epochs": cfg.train.epochs,
            "seed": cfg.seed,
            "device": self.device,
            "threads": self.resources.threads,
            "space": json.dumps(self.space.to_dict(), sort_keys=True),
            "space_file": str(self.space.path) if self.space.path else None,
            "milestones": self.milestones,
            "checkpoint_every_s": checkpoint_interval(CHECKPOINT_EVERY_S),
        }

    # -- the callback's side --------------------------------------------------------------------------
    def reconcile(self, trials: list[Trial]) -> None:
        """Once per run, before the first suggestion: fail RUNNING trials that no live Ray trial will finish.

        Those are trials of this experiment that Ray does not restore, and trials left by a dead optuna-backend
        worker on this host (as `runner.fail_dead_workers`). Failed without a status, they do not count.
        """
        if self._reconciled:
            return
        live = {t.config["optnas"]["trial_id"] for t in trials if "optnas" in t.config and not t.is_finished()}
        host = socket.gethostname()
        for t in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            ray_record, worker = t.user_attrs.get("ray"), t.user_attrs.get("worker") or {}
            if ray_record is not None:
                orphan = ray_record.get("experiment") == self.experiment and t._trial_id not in live
            else:
                orphan = worker.get("host") == host and not alive(int(worker.get("pid", -1)))
            if orphan:
                self.study._storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL)
        self._reconciled = True

    def on_result(self, trial: Trial, result: dict[str, Any]) -> None:
        """Record where a trial runs (start reports) and its intermediate values (epoch reports).

        The writes go to a writer thread: a worker waits for the driver to take each report, and a dozen
        journal appends would hold it up. `drain` waits for them (before a trial's record is written)."""
        self.stats.setdefault("first_report_s", time.perf_counter() - self._created)
        ot = self._trial(trial)
        curve = list((result.get("optnas_curves") or {}).get("val_metric", []))
        self._later(self._write_result, ot, result.get("optnas_start"), int(result.get("epoch") or 0), curve)

    def _write_result(self, ot: optuna.Trial, start: dict[str, Any] | None, epoch: int, curve: list[Any]) -> None:
        if start is not None:
            ot.set_user_attr("worker", {"host": start["host"], "pid": start["pid"]})
            ot.set_user_attr("node", start["node"])
            ot.set_user_attr("gpu", start["gpu"])
            extra = {"node_ip": start["node_ip"], "gpu_ids": start["gpu_ids"]}
            if epoch:
                extra["resumed_from_epoch"] = epoch
            self._update_ray(ot, extra)
        self._report(ot, curve)

    def _later(self, fn: Any, *args: Any) -> None:
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="optnas-study-writes")
        self._pending.append(self._writer.submit(self._timed_call, "result", fn, *args))

    def _timed_call(self, name: str, fn: Any, *args: Any) -> None:
        with self._timed(name):
            fn(*args)

    def drain(self) -> None:
        """Wait for the writer thread's writes (and raise what failed there)."""
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()

    def close(self) -> None:
        self.drain()
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None

    def on_retry(self, trial: Trial) -> None:
        """A trial's worker failed and Ray retries it from its last checkpoint: note the failure."""
        self.drain()
        ot = self._trial(trial)
        record = ot.user_attrs.get("ray") or {}
        errors = [*record.get("errors", []), _error_line(trial.get_error())]
        self._update_ray(ot, {"retries": len(errors), "errors": errors})

    def finish(self, trial: Trial, error: BaseException | None) -> None:
        """Write a finished Ray trial's record to its Optuna trial and tell the study."""
        self.drain()
        with self._timed("finish"):
            ot = self._trial(trial)
            if self.study._storage.get_trial(ot._trial_id).state.is_finished():
                return  # recorded by an earlier run that died before Ray saved the trial as finished
            result = trial.last_result or {}
            final = result.get("optnas_final")
            values: list[float] | None = None
            if error is not None:
                log.warning("trial %d failed: %s", ot.number, _error_line(error))
                state, attrs = TrialState.FAIL, self._partial(ot, result, "error", _error_line(error))
            elif final is not None:
                state, attrs, values = TrialState[final["state"]], final["attrs"], final["values"]
                self._update_ray(ot, final.get("worker_stats") or {})
            else:  # stopped by the scheduler (ASHA, or the dominance rule)
                epoch = int(result.get("epoch", 0))
                reason = self._stopped.pop(ot.number, f"pruned by {self.scheduler_name} at epoch {max(epoch - 1, 0)}")
                state, attrs = TrialState.PRUNED, self._partial(ot, result, "pruned", reason)
            for key, value in attrs.items():
                ot.set_user_attr(key, value)
            self._report(ot, (attrs.get("curves") or {}).get("val_metric", []))
            ot.set_user_attr("weights", self._upload(ot, trial) if state == TrialState.COMPLETE else None)
            self.study.tell(ot, values, state=state)
            self._trials.pop(ot.number, None)
        self._done()

    def _partial(self, ot: optuna.Trial, result: dict[str, Any], status: str, reason: str) -> dict[str, Any]:
        """The record of a trial that ended without a final report: what its last report holds."""
        curves = result.get("optnas_curves") or {}
        val = [v for v in curves.get("val_metric", []) if v is not None]
        costs = result.get("optnas_costs") or {}
        metrics = {
            "val_metric": val[-1] if val else None,
            "epochs": len(curves.get("val_metric", [])),
            "wall_s": result.get("time_total_s"),
            **costs,
        }
        return {
            "status": status,
            "reason": reason,
            "metrics": metrics,
            "curves": curves,
            "init_record": result.get("optnas_init"),
        }

    def _upload(self, ot: optuna.Trial, trial: Trial) -> str | None:
        checkpoint = trial.checkpoint
        if checkpoint is None:
            return None
        with self._timed("upload"), checkpoint.as_directory() as path:
            weights = Path(path, WEIGHTS_FILE)
            if not weights.exists():
                return None
            self.artifact_dir.mkdir(parents=True, exist_ok=True)
            store = FileSystemArtifactStore(str(self.artifact_dir))
            return upload_artifact(artifact_store=store, file_path=str(weights), study_or_trial=ot)

    # -- the dominance rule (several objectives) ------------------------------------------------------
    def dominated(self, trial: Trial, result: dict[str, Any]) -> bool:
        """Stop a trial that a finished trial dominates at the same epoch (`optnas.search.dominance`)."""
        value, epochs = result.get("val_metric"), int(result.get("epoch", 0))
        cfg = self.space.config
        if value is None or "optnas_final" in result or epochs - 1 < int(cfg.pruner.dominated_after * cfg.train.epochs):
            return False
        objectives = self.space.objectives()
        metric, direction = objectives[0]
        cost_names = [n for n, _ in objectives if n in STATIC]
        costs = {c: float(result[f"optnas_costs/{c}"]) for c in cost_names if f"optnas_costs/{c}" in result}
        if len(costs) < len(cost_names):
            return False
        at = epochs - 1
        finished = [
            Point(t.user_attrs["curves"]["val_metric"][at], {c: t.user_attrs["metrics"][c] for c in cost_names})
            for t in self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if len(t.user_attrs.get("curves", {}).get("val_metric", [])) > at
        ]
        if dominated_at_epoch(Point(float(value), costs), finished, direction, cost_names) is None:
            return False
        number = int(trial.config["optnas"]["number"])
        self._stopped[number] = f"dominated at epoch {at} by a finished trial ({metric}, {cost_names})"
        return True

    # -- helpers ------------------------------------------------------------------------------------
    def _trial(self, trial: Trial) -> optuna.Trial:
        plan = trial.config["optnas"]
        number = int(plan["number"])
        if number not in self._trials:  # a trial restored from an earlier run
            self._trials[number] = optuna.Trial(self.study, int(plan["trial_id"]))
        return self._trials[number]

    def _report(self, ot: optuna.Trial, curve: list[Any]) -> None:
        """Intermediate values (one objective): each epoch's val_metric once, as the optuna backend does."""
        if len(self.study.directions) > 1:
            return
        done = self._reported.setdefault(ot.number, set(ot.study._storage.get_trial(ot._trial_id).intermediate_values))
        for step, value in enumerate(curve):
            if step not in done and value is not None and math.isfinite(value):
                ot.report(float(value), step)
                done.add(step)

    def _update_ray(self, ot: optuna.Trial, extra: dict[str, Any]) -> None:
        ot.set_user_attr("ray", {**(ot.user_attrs.get("ray") or {}), **extra})

    def _done(self) -> None:
        if self.on_trial is not None:
            self.on_trial(self.study)

    @contextmanager
    def _timed(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stats[f"{name}_s"] = self.stats.get(f"{name}_s", 0.0) + time.perf_counter() - start
            self.stats[f"{name}_n"] = self.stats.get(f"{name}_n", 0) + 1


class OptunaBridge(Searcher):
    """Ray Tune searcher over the user's Optuna study (see the module docstring); stateless between runs."""

    def __init__(self) -> None:
        super().__init__(metric=None, mode=None)

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:  # type: ignore[override]  # FINISHED is a str
        return current().next_config(trial_id)

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        """Nothing: `StudyWriter` records the trial, with the Ray trial's checkpoint and error at hand."""

    def save(self, checkpoint_path: str) -> None:
        # the study holds the search's state; this marker only lets Tune's restore find a searcher file
        Path(checkpoint_path).write_text(json.dumps({"searcher": "optnas", "state": "in the Optuna study"}))

    def restore(self, checkpoint_path: str) -> None:
        """Nothing to restore: the study is read live."""


class StudyWriter(Callback):
    """Ray Tune callback that writes each trial's reports to its Optuna trial (see the module docstring)."""

    def on_step_begin(self, iteration: int, trials: list[Trial], **info: Any) -> None:
        current().reconcile(trials)

    def on_trial_result(
        self, iteration: int, trials: list[Trial], trial: Trial, result: dict[str, Any], **info: Any
    ) -> None:
        current().on_result(trial, result)

    def on_trial_recover(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        current().on_retry(trial)

    def on_trial_complete(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        current().finish(trial, error=None)

    def on_trial_error(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        current().finish(trial, error=trial.get_error() or RuntimeError("the trial failed"))


class DominanceScheduler(FIFOScheduler):
    """Early stopping for several objectives: optnas's dominance rule, decided on the driver."""

    def on_trial_result(self, tune_controller: Any, trial: Trial, result: dict[str, Any]) -> str:
        return TrialScheduler.STOP if current().dominated(trial, result) else TrialScheduler.CONTINUE


def make_scheduler(space: SearchSpace) -> tuple[TrialScheduler, list[int], str]:
    """The scheduler, the epochs it decides at, and its name for pruning reasons.

    One objective: ASHA on ``val_metric`` unless the file's pruner is ``none`` (``hyperband`` and ``median``
    both map to ASHA: ``reduction_factor`` (default 3) and ``min_resource``/``n_warmup_steps`` as its grace
    period, in epochs). Several objectives: the dominance rule. ``none``: no early stopping.
    """
    cfg = space.config
    epochs = cfg.train.epochs
    if len(cfg.objectives) > 1:
        return DominanceScheduler(), [], "the dominance rule"
    if cfg.pruner.name == "none":
        return FIFOScheduler(), [], "none"
    params = cfg.pruner.params
    grace = min(epochs, max(1, int(params.get("min_resource", params.get("n_warmup_steps", 1)))))
    factor = float(params.get("reduction_factor", 3))
    mode = "max" if space.task().direction == "maximize" else "min"
    scheduler = ASHAScheduler(
        time_attr="epoch",
        metric="val_metric",
        mode=mode,
        max_t=epochs,
        grace_period=grace,
        reduction_factor=factor,
        stop_last_trials=False,  # the last epoch's report carries the final record: never stop it
    )
    milestones, rung = [], float(grace)
    while rung <= epochs:
        milestones.append(math.ceil(rung))
        rung *= factor
    return scheduler, milestones, "ASHA"


def _error_line(error: BaseException | None) -> str:
    """One line for a trial's error: the last line of the worker's traceback, or the error's own message."""
    if error is None:
        return "the trial failed"
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    text = lines[-1] if lines else type(error).__name__
    return text if len(text) <= 500 else text[:497] + "..."
