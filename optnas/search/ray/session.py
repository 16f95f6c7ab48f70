"""The state of one search on Ray, shared by the searcher, the study writer and the dominance scheduler.

Tune pickles the searcher, callback and scheduler into its experiment and unpickles them on
``Tuner.restore``, so they cannot hold the run that uses them: they hold nothing, and find the run through
`bound` (a context variable set around ``tuner.fit()``, so two runs in one process never see each other's).

Example:
    >>> with bind(session):        # doctest: +SKIP
    ...     tuner.fit()            # OptunaBridge, StudyWriter, DominanceScheduler call bound()
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.storages import BaseStorage

from ...storage import BatchWriter
from ..lifecycle import Lifecycle
from ..locks import TrialLock
from ..space import SearchSpace
from .ask import Asker, TrialList
from .cluster import Resources
from .tally import RECONCILE_EVERY_S, Tally

# the progress bar reads the whole study: at most once a second, whatever the completion rate
PROGRESS_EVERY_S = 1.0


class StoredTrial:
    """A trial of the study written through the storage's public methods (the driver's `TrialSink`).

    The driver writes trials that Tune may have restored from an earlier run, for which no ``optuna.Trial``
    exists in this process: the storage, the study's name and the trial's number are all it needs.
    Records set inside `batched` are written together at its end (`optnas.storage.BatchWriter`)."""

    def __init__(
        self, storage: BaseStorage, study_id: int, number: int, trial_id: int | None = None,
        writes: BatchWriter | None = None,
    ) -> None:
        self.storage, self.number = storage, number
        if trial_id is None:
            trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, number)
        self.trial_id = trial_id
        self.writes = writes or BatchWriter(storage)
        self._batch: dict[str, Any] | None = None

    def set_user_attr(self, key: str, value: Any) -> None:
        if self._batch is not None:
            self._batch[key] = value
            return
        self.storage.set_trial_user_attr(self.trial_id, key, value)

    @contextmanager
    def batched(self) -> Iterator[None]:
        """The records set inside, written at the end in one transaction on an RDB (two statements, where
        each record on its own takes two and a commit), all or none: none if the block raised."""
        self._batch = {}
        try:
            yield
            attrs = self._batch
        finally:
            self._batch = None
        self.writes.set_user_attrs(self.trial_id, attrs)

    def frozen(self) -> optuna.trial.FrozenTrial:
        return self.storage.get_trial(self.trial_id)

    def report(self, value: float, step: int) -> None:
        self.writes.set_intermediate_values(self.trial_id, {step: value})  # Core, not Optuna's ORM, on an RDB


@dataclass
class Session:
    """One run of a search on Ray: the study, the target, what workers get, the trials it holds locks on."""

    space: SearchSpace
    seed: int  # the run's: --seed, else the file's
    study: optuna.Study
    storage: BaseStorage
    url: str
    target: int
    deadline: float | None
    experiment: str
    artifacts: str  # the artifact store's URL (optnas.storage.artifacts)
    device: str
    resources: Resources
    milestones: list[int]
    scheduler_name: str
    on_trial: Any = None
    stats: dict[str, float] = field(default_factory=dict)
    reconciled: bool = False
    life: Lifecycle | None = None
    trials: dict[int, StoredTrial] = field(default_factory=dict)
    locks: dict[int, TrialLock] = field(default_factory=dict)
    reported: dict[int, set[int]] = field(default_factory=dict)  # intermediate steps written, per trial
    ray_attrs: dict[int, dict[str, Any]] = field(default_factory=dict)  # each held trial's "ray" record
    tally: Tally = field(default_factory=Tally)
    known: TrialList = field(default_factory=TrialList)  # the study's trials as the sampler sees them (`ask`)
    reconcile_s: float = RECONCILE_EVERY_S  # seconds between two reconciliations of the counts (`tally`)
    stopped: dict[int, str] = field(default_factory=dict)  # why the dominance rule stopped a trial
    created: float = field(default_factory=time.perf_counter)
    _writes: ThreadPoolExecutor | None = None
    _pending: deque[Future[None]] = field(default_factory=deque)
    _study_id: int | None = None
    _shown: float = 0.0
    _asker: Asker | None = None
    _batch: BatchWriter | None = None

    def asking(self) -> Asker:
        """How the driver asks the study (`optnas.search.ray.ask`): no read of the running trials, one write."""
        if self._asker is None:
            self._asker = Asker(self.study, self.storage, self.known)
        return self._asker

    def commit(self, trial: optuna.Trial) -> int:
        """Write the drawn ``trial`` (`Asker.commit`) and hold it; its number. Call under the claim lock."""
        trial_id, number = self.asking().commit(trial)
        if self._study_id is None:
            self._study_id = self.asking().study_id
        self.trials[number] = StoredTrial(self.storage, self._study_id, number, trial_id, self.writes())
        self.reported[number] = set()  # a new trial: no intermediate value to read back
        self.hold(number)
        return number

    def told(self, number: int) -> None:
        """Trial ``number`` was just told: the sampler sees it finished, as stored (one read of one trial)."""
        self.known.put(self.trial(number).frozen())

    def lifecycle(self) -> Lifecycle:
        if self.life is None:
            self.life = Lifecycle(self.space, seed=self.seed, device=self.device)
        return self.life

    def trial(self, number: int) -> StoredTrial:
        if number not in self.trials:
            if self._study_id is None:
                self._study_id = self.storage.get_study_id_from_name(self.study.study_name)
            self.trials[number] = StoredTrial(self.storage, self._study_id, number, writes=self.writes())
        return self.trials[number]

    def writes(self) -> BatchWriter:
        """The storage's batched writes (`optnas.storage.BatchWriter`) for the records. Its own, not the asks'
        (`asking`): the writer thread calls this, and the asks' `Asker` belongs to Tune's control loop."""
        if self._batch is None:
            self._batch = BatchWriter(self.storage)  # two threads may each make one: both write the same
        return self._batch

    def hold(self, number: int) -> None:
        """Take the trial's lock (`optnas.search.locks`): while this process lives, nobody fails it."""
        with self.tally.lock:  # the held trials are the tally's running ones
            if number not in self.locks:
                self.locks[number] = TrialLock(self.url, self.study.study_name, number)

    def release(self, number: int, *, counts: bool = False) -> None:
        """Let go of a trial; ``counts``: it was just told with an outcome that counts toward the target."""
        with self.tally.lock:  # one step: the target check never sees the trial in neither count
            lock = self.locks.pop(number, None)
            if counts:
                self.tally.told(number)
        if lock is not None:
            lock.release()
        self.trials.pop(number, None)
        self.reported.pop(number, None)
        self.ray_attrs.pop(number, None)

    def due(self) -> int:
        """Trials that count or run now (this driver's held ones, others' RUNNING, counted): O(1)."""
        with self.tally.lock:
            return self.tally.counted + self.tally.foreign + len(self.locks)

    def release_all(self) -> None:
        for number in list(self.locks):
            self.release(number)

    def later(self, fn: Any, *args: Any, name: str = "result") -> None:
        """Run writes on the writer thread, in order: Tune's control loop (which starts trials and takes every
        worker's report) never waits for the storage. One thread, so a trial's reports are written before its
        record. A write that failed is raised on the control loop by the next call (or by `drain`)."""
        if self._writes is None:
            self._writes = ThreadPoolExecutor(max_workers=1, thread_name_prefix="optnas-study-writes")
        # one thread runs them in order: the done ones are the oldest, so only those are looked at (a scan of
        # every pending write cost the control loop O(backlog): 30-60 ms a call at a backlog of thousands)
        while self._pending and self._pending[0].done():
            self._pending.popleft().result()  # a storage write failed: the search stops, as the optuna backend's
        self._pending.append(self._writes.submit(self._timed_call, name, fn, *args))

    def _timed_call(self, name: str, fn: Any, *args: Any) -> None:
        with self.timed(name):
            fn(*args)

    def drain(self) -> None:
        """Wait for the writer thread's writes (and raise what failed there)."""
        pending, self._pending = self._pending, deque()
        for future in pending:
            future.result()

    def close(self) -> None:
        """Drain the writes and let go of every trial lock (what is still RUNNING is failed by the next sweep)."""
        try:
            self.drain()
        finally:
            if self._writes is not None:
                self._writes.shutdown(wait=True)
                self._writes = None
            self.release_all()

    def done(self) -> None:
        now = time.monotonic()
        if self.on_trial is not None and now - self._shown >= PROGRESS_EVERY_S:
            self._shown = now
            self.on_trial(self.study)

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stats[f"{name}_s"] = self.stats.get(f"{name}_s", 0.0) + time.perf_counter() - start
            self.stats[f"{name}_n"] = self.stats.get(f"{name}_n", 0) + 1


_BOUND: ContextVar[Session | None] = ContextVar("optnas_ray_session", default=None)


@contextmanager
def bind(session: Session) -> Iterator[Session]:
    """Make ``session`` the run that this context's searcher, callback and scheduler act for."""
    token = _BOUND.set(session)
    try:
        yield session
    finally:
        _BOUND.reset(token)


def bound() -> Session:
    session = _BOUND.get()
    if session is None:
        raise RuntimeError("optnas's Ray searcher runs only inside optnas.search.ray_backend.run_ray_search")
    return session
