"""The study writer of the Ray backend: a Ray Tune callback that writes what workers report to the study.

- before the first suggestion, `reconcile` takes the locks of the trials Tune restored and fails the
  RUNNING trials nobody will finish (`optnas.search.liveness.sweep`);
- reports: where each trial runs and its intermediate values (on a writer thread: a worker waits for the
  driver to take each report);
- at the end of a trial: its `TrialEnd` (the worker's, or what its last report holds for a stopped or
  errored trial), recorded and told with the trial lifecycle's own `record` and `tell`, weights uploaded
  from the trial's last checkpoint;
- every `tally.RECONCILE_EVERY_S`: the driver's trial counts from one read of the study (`tally`).

Every write runs on the session's writer thread (`Session.later`, in order): Tune's control loop, which starts
trials and takes the workers' reports, only hands over what the trial's Tune record holds.

Example:
    >>> tune.RunConfig(callbacks=[StudyWriter()])     # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optuna.trial import FrozenTrial, TrialState
from ray.tune import Callback, Checkpoint
from ray.tune.experiment import Trial

from ..lifecycle import TrialEnd, record, tell, uploader
from ..liveness import sweep
from ..locks import claim_lock
from .session import Session, StoredTrial, bound
from .tally import reconcile as recount
from .worker import WEIGHTS_FILE

log = logging.getLogger("optnas.search")


class StudyWriter(Callback):
    """Ray Tune callback that writes each trial's reports to its Optuna trial (see the module docstring)."""

    def on_step_begin(self, iteration: int, trials: list[Trial], **info: Any) -> None:
        reconcile(bound(), trials)

    def on_trial_result(
        self, iteration: int, trials: list[Trial], trial: Trial, result: dict[str, Any], **info: Any
    ) -> None:
        session = bound()
        session.stats.setdefault("first_report_s", _since(session))
        curve = list((result.get("optnas_curves") or {}).get("val_metric", []))
        epoch = int(result.get("epoch") or 0)
        session.later(_write_result, session, _number(trial), result.get("optnas_start"), epoch, curve)
        _maybe_reconcile(session)

    def on_trial_recover(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        """A trial's worker failed and Ray retries it from its last checkpoint: note the failure."""
        bound().later(_recovered, bound(), _number(trial), error_line(trial.get_error()), name="recover")

    def on_trial_complete(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        session = bound()
        session.later(finish, session, Ended.of(trial, None), name="complete")
        _maybe_reconcile(session)

    def on_trial_error(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        session = bound()
        error = trial.get_error() or RuntimeError("the trial failed")
        session.later(finish, session, Ended.of(trial, error), name="complete")


@dataclass(frozen=True)
class Ended:
    """What the writer thread needs of a finished Ray trial, taken on the control loop (Tune's `Trial` is
    its to change): its Optuna number, last report, last checkpoint and error."""

    number: int
    result: dict[str, Any]
    checkpoint: Checkpoint | None
    error: BaseException | None

    @classmethod
    def of(cls, trial: Trial, error: BaseException | None) -> Ended:
        return cls(_number(trial), dict(trial.last_result or {}), trial.checkpoint, error)


def _maybe_reconcile(session: Session) -> None:
    """Queue a reconciliation of the driver's counts on the writer thread once `reconcile_interval` passed."""
    if session.tally.due(session.reconcile_s):
        session.tally.queued = True
        session.later(_reconcile_counts, session, name="reconcile")


def _reconcile_counts(session: Session) -> None:
    recount(session.tally, session.study, session.locks, session.known)


def _recovered(session: Session, number: int, error: str) -> None:
    ray_record = _ray_record(session, number)
    errors = [*ray_record.get("errors", []), error]
    _update_ray(session, number, {"retries": len(errors), "errors": errors})


def reconcile(session: Session, trials: list[Trial]) -> None:
    """Once per run, before the first suggestion: hold the trials Tune restored, fail the dead ones.

    Failed without a status, they are ``lost`` (`optnas.outcome`): they do not count, others replace them."""
    if session.reconciled:
        return
    live = {_number(t) for t in trials if "optnas" in t.config and not t.is_finished()}
    with claim_lock(session.url, session.study.study_name):
        for t in session.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if t.number in live:
                session.hold(t.number)
        sweep(session.study, session.url, keep=live)
        recount(session.tally, session.study, session.locks, session.known)
    session.reconciled = True


def _write_result(session: Session, number: int, start: dict[str, Any] | None, epoch: int, curve: list) -> None:
    st = session.trial(number)
    if start is not None:
        with st.batched():  # one transaction on an RDB
            st.set_user_attr("worker", {"host": start["host"], "pid": start["pid"]})
            st.set_user_attr("node", start["node"])
            st.set_user_attr("gpu", start["gpu"])
            extra = {"node_ip": start["node_ip"], "gpu_ids": start["gpu_ids"]}
            if epoch:
                extra["resumed_from_epoch"] = epoch
            _update_ray(session, number, extra)
    _report(session, st, curve)


def finish(session: Session, ended: Ended) -> None:
    """Record a finished Ray trial's outcome on its Optuna trial and tell the study (on the writer thread)."""
    with session.timed("finish"):
        number, error = ended.number, ended.error
        st = session.trial(number)
        frozen = st.frozen()
        if frozen.state.is_finished():
            session.known.put(frozen)
            session.release(number)
            return  # recorded by an earlier run that died before Ray saved the trial as finished
        result = ended.result
        final = result.get("optnas_final")
        if error is not None:
            log.warning("trial %d failed: %s", number, error_line(error))
            outcome = TrialEnd("FAIL", None, _partial(result, "error", error_line(error)))
        elif final is not None:
            outcome = TrialEnd.from_dict(final)
        else:  # stopped by the scheduler (ASHA, or the dominance rule)
            epoch = int(result.get("epoch", 0))
            reason = session.stopped.pop(number, f"pruned by {session.scheduler_name} at epoch {max(epoch - 1, 0)}")
            outcome = TrialEnd("PRUNED", None, _partial(result, "pruned", reason))
        _report(session, st, (outcome.attrs.get("curves") or {}).get("val_metric", []), frozen)
        upload = uploader(session.artifacts, frozen, session.storage)
        # the record in one transaction on an RDB (its ``status`` with the rest, or none of it), then the tell
        with session.timed("upload"), st.batched():
            if final is not None and error is None:
                _update_ray(session, number, final.get("worker_stats") or {}, frozen)
            if outcome.state == "COMPLETE" and ended.checkpoint is not None:
                with ended.checkpoint.as_directory() as path:
                    weights = Path(path, WEIGHTS_FILE)
                    outcome = record(
                        st, outcome, upload=upload, weights_file=str(weights) if weights.exists() else None
                    )
            else:
                outcome = record(st, outcome, upload=None)
        tell(session.study, number, outcome)
        session.told(number)
        session.release(number, counts=True)
    session.done()


def _partial(result: dict[str, Any], status: str, reason: str) -> dict[str, Any]:
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
    init = result.get("optnas_init")
    return {"status": status, "reason": reason, "metrics": metrics, "curves": curves, "init_record": init}


def _report(session: Session, st: StoredTrial, curve: list[Any], frozen: FrozenTrial | None = None) -> None:
    """Intermediate values (one objective): each epoch's val_metric once, as the optuna backend does."""
    if len(session.study.directions) > 1:
        return
    if st.number not in session.reported:  # a restored trial's steps may be there: as the driver's copy holds
        # them (read when the run started, and only this driver writes its held trials), else read once
        held = session.known.get(st.number)
        source = frozen or (held if held is not None and not held.state.is_finished() else None) or st.frozen()
        session.reported[st.number] = set(source.intermediate_values)
    done = session.reported[st.number]
    for step, value in enumerate(curve):
        if step not in done and value is not None and math.isfinite(value):
            st.report(float(value), step)
            done.add(step)


def _ray_record(session: Session, number: int, frozen: FrozenTrial | None = None) -> dict[str, Any]:
    """The trial's "ray" record: kept by the driver since its suggestion, read once for a restored trial."""
    if number not in session.ray_attrs:
        frozen = frozen or session.trial(number).frozen()
        session.ray_attrs[number] = dict(frozen.user_attrs.get("ray") or {})
    return session.ray_attrs[number]


def _update_ray(session: Session, number: int, extra: dict[str, Any], frozen: FrozenTrial | None = None) -> None:
    ray_record = {**_ray_record(session, number, frozen), **extra}
    session.ray_attrs[number] = ray_record
    session.trial(number).set_user_attr("ray", ray_record)


def _number(trial: Trial) -> int:
    return int(trial.config["optnas"]["number"])


def _since(session: Session) -> float:
    return time.perf_counter() - session.created


def error_line(error: BaseException | None) -> str:
    """One line for a trial's error: the last line of the worker's traceback, or the error's own message."""
    if error is None:
        return "the trial failed"
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    text = lines[-1] if lines else type(error).__name__
    return text if len(text) <= 500 else text[:497] + "..."
