"""Finding dead workers: the trial locks of this machine (`locks`) and Optuna's heartbeat on RDB storages.

- `sweep` fails the RUNNING trials whose worker is gone, called under the claim lock by every worker before
  it claims (so a live sibling fails a dead worker's trial), by ``--resume`` and at the end of a run. A
  journal is used from one machine, so a RUNNING trial whose lock nobody holds (or that has no lock file)
  is dead whatever moment its worker died at. On an RDB, workers of other machines hold their locks
  elsewhere: the sweep fails only trials whose lock file is here and free, and Optuna's heartbeat
  (`Heartbeat`, `optuna.storages.fail_stale_trials`) judges the rest. (So on an RDB, a worker that dies
  between ``ask()`` and taking its lock, microseconds inside the claim lock, leaves a trial with no
  heartbeat that nothing fails: Optuna's own gap, as with ``study.optimize``.)
- A trial failed so carries no outcome of its own: it is ``lost`` (`optnas.outcome`) and does not count, so
  the search runs another in its place: its continuation from its last checkpoint when it has one
  (`optnas.search.checkpoints`), else a new draw.

Only public Optuna APIs: ``study.tell(number, state=FAIL, skip_if_finished=True)`` and the public methods of
``RDBStorage`` (``get_heartbeat_interval``, ``record_heartbeat``).
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Container
from types import TracebackType

import optuna
from optuna.storages import BaseStorage, RDBStorage
from optuna.trial import TrialState

from ..storage import is_rdb
from . import checkpoints
from .locks import trial_lock_state


def sweep(
    study: optuna.Study, storage: str, *, backend: BaseStorage | None = None, keep: Container[int] = ()
) -> list[int]:
    """Fail the RUNNING trials of ``study`` whose worker is dead; their numbers. Call under the claim lock.

    ``backend``: the opened storage; where it has a heartbeat retry callback (RDB), a trial failed here is
    retried as a heartbeat-stale one would be. ``keep``: trial numbers someone is about to take over (a
    restored Ray experiment's live trials).
    """
    retry = backend.get_heartbeat_stale_trial_callback() if isinstance(backend, RDBStorage) else None
    dead = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if t.number in keep:
            continue
        lock = trial_lock_state(storage, study.study_name, t.number)
        if lock == "held":
            continue
        if lock == "missing" and is_rdb(storage):
            continue  # another machine's trial (its lock is there): the heartbeat judges it
        failed = study.tell(t.number, state=TrialState.FAIL, skip_if_finished=True)
        dead.append(t.number)
        if retry is not None and failed.state == TrialState.FAIL:
            retry(study, failed)  # the same WAITING copy Optuna's heartbeat would queue (its checkpoint too)
        elif failed.state == TrialState.FAIL:
            checkpoints.continue_dead(study, failed)  # a checkpointed trial goes on from it, not from scratch
    return dead


def heartbeat_interval(storage: BaseStorage) -> int | None:
    """The heartbeat interval of an RDB storage opened with heartbeats, else None."""
    return storage.get_heartbeat_interval() if isinstance(storage, RDBStorage) else None


def fail_stale(study: optuna.Study, storage: BaseStorage) -> None:
    """Optuna's own sweep (RDB with heartbeats): fail trials whose heartbeat stopped, retry them (WAITING)."""
    if heartbeat_interval(storage) is None:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


class Heartbeat:
    """``with Heartbeat(storage, study, number):`` records the trial's heartbeat every interval (RDB only)."""

    def __init__(self, storage: BaseStorage, study: optuna.Study, number: int) -> None:
        self.interval = heartbeat_interval(storage)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if self.interval is not None:
            assert isinstance(storage, RDBStorage)
            study_id = storage.get_study_id_from_name(study.study_name)
            trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, number)
            storage.record_heartbeat(trial_id)  # the first beat before the trial's work starts
            self._thread = threading.Thread(
                target=self._beat, args=(storage, trial_id), name="optnas-heartbeat", daemon=True
            )

    def _beat(self, storage: RDBStorage, trial_id: int) -> None:
        assert self.interval is not None
        while not self._stop.wait(self.interval):
            storage.record_heartbeat(trial_id)

    def __enter__(self) -> Heartbeat:
        if self._thread is not None:
            self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join()
