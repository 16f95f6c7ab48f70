"""The Ray driver's ask: a new trial whose cost does not grow with the running trials.

Optuna's ``study.ask()`` reads the study's trials through its storage twice per ask (WAITING trials to pop,
then the sampler's ``get_all_trials``); on an RDB, Optuna's cache of the storage keeps only finished trials,
so each ask loads every RUNNING trial again with its intermediate values and records: seconds at a thousand
running trials. The driver asks through a study whose storage (`DriverStorage`) is the real one for every
write and single-trial read, and answers the sampler's trial lists from `TrialList`, the driver's own copy:

- a finished trial as the storage holds it, read once (after the driver tells it, or by the full read of a
  reconciliation, `optnas.search.ray.tally`), and never replaced by an older running copy;
- a running trial as the driver drew it (its parameters and records as it writes them), or as a read saw it;
- WAITING trials (continuations of dead ones) are asked of the storage itself: a query filtered by state.

A new trial is drafted in memory while the space draws and certifies it (its parameters and records), then
written whole by `DriverStorage.commit` (`optnas.storage.BatchWriter`: one transaction, on PostgreSQL and
SQLite one INSERT per table, where writing each parameter and record on its own costs three or four round
trips each). An ask is then O(1) storage round trips, whatever the study's size and running trials: one
narrow query for WAITING trials, the trial's creation (about six statements, its number returned with it);
the sampler's own work over the finished trials stays the sampler's. Everything else goes through Optuna's
public storage and study API (``optuna.load_study`` on a `BaseStorage`), so the trial is an ordinary
``optuna.Trial`` for the trial lifecycle's `draw`.

Example:
    >>> storage = optuna.storages.InMemoryStorage()
    >>> study = optuna.create_study(storage=storage, sampler=optuna.samplers.RandomSampler(seed=0))
    >>> known = TrialList()
    >>> asker = Asker(study, storage, known)             # the sampler reads `known`, not the study
    >>> trial = asker.ask(); x = trial.suggest_float("x", 0.0, 1.0)    # a draft: nothing written yet
    >>> len(study.trials), len(known)
    (0, 0)
    >>> trial_id, number = asker.commit(trial)           # written whole
    >>> study.trials[number].params == {"x": x} == known.trials()[number].params
    True
"""

from __future__ import annotations

import copy
import datetime
import threading
from collections.abc import Callable, Container, Sequence
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.storages import BaseStorage
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from ...storage import BatchWriter

# the trial being drawn, before `DriverStorage.commit` writes it: ids and numbers the storage never gives
DRAFT_ID, DRAFT_NUMBER = -1, -1


class TrialList:
    """The driver's copy of one study's trials, indexed by trial number (Optuna's numbers are dense)."""

    def __init__(self) -> None:
        self._trials: list[FrozenTrial | None] = []
        self._numbers: dict[int, int] = {}  # trial id -> number
        self._lock = threading.Lock()

    def put(self, trial: FrozenTrial, trial_id: int | None = None) -> None:
        """Take ``trial`` unless the copy held is finished and ``trial`` is not (an older read); ``trial_id``:
        its storage id, for the driver's writes to it (`update`)."""
        with self._lock:
            self._put(trial)
            if trial_id is not None:
                self._numbers[trial_id] = trial.number

    def load(self, trials: Sequence[FrozenTrial]) -> None:
        """Take a full read of the study (`put` each: what was told since the read stays finished)."""
        with self._lock:
            for trial in trials:
                self._put(trial)

    def _put(self, trial: FrozenTrial) -> None:
        number = trial.number
        if number >= len(self._trials):
            self._trials.extend([None] * (number + 1 - len(self._trials)))
        held = self._trials[number]
        if held is not None and held.state.is_finished() and not trial.state.is_finished():
            return
        self._trials[number] = trial

    def get(self, number: int) -> FrozenTrial | None:
        """Trial ``number`` as held, or None."""
        with self._lock:
            return self._trials[number] if 0 <= number < len(self._trials) else None

    def missing(self) -> list[int]:
        """Numbers below the highest one held that were never seen (trials other processes created)."""
        with self._lock:
            return [n for n, t in enumerate(self._trials) if t is None]

    def update(self, trial_id: int, change: Callable[[FrozenTrial], None]) -> None:
        """A write of the driver to a running trial it asked: ``change`` applies it to a copy of the trial
        held, which replaces it (never changed in place: a sampler may be reading the old one)."""
        with self._lock:
            number = self._numbers.get(trial_id)
            if number is None:
                return
            held = self._trials[number]
            if held is None or held.state.is_finished():
                return
            new = copy.copy(held)
            change(new)
            self._trials[number] = new

    def trials(self, states: Container[TrialState] | None = None) -> list[FrozenTrial]:
        """The trials held, by number; ``states``: only those."""
        with self._lock:
            held = [t for t in self._trials if t is not None]
        return held if states is None else [t for t in held if t.state in states]

    def __len__(self) -> int:
        with self._lock:
            return sum(t is not None for t in self._trials)


class DriverStorage(BaseStorage):
    """The real storage for every write and single-trial read; the trial lists from a `TrialList`; a new
    trial drafted in memory until `commit` writes it whole (one transaction, not one per parameter)."""

    def __init__(self, backend: BaseStorage, known: TrialList) -> None:
        self.backend, self.known = backend, known
        self.writes = BatchWriter(backend)  # the draft's write: one transaction, a few statements on an RDB
        self._draft: FrozenTrial | None = None  # the trial being drawn, before it is written (id DRAFT_ID)

    # -- the trial lists: the driver's copy -------------------------------------------------------------
    def get_all_trials(
        self, study_id: int, deepcopy: bool = True, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        if isinstance(states, (tuple, list)) and list(states) == [TrialState.WAITING]:  # ask pops these: the truth
            if not self.writes.waiting(study_id):  # the usual answer, from one narrow query on an RDB
                return []
            return self.backend.get_all_trials(study_id, deepcopy=deepcopy, states=states)
        for number in self.known.missing():  # created by another process since the last full read
            trial_id = self.backend.get_trial_id_from_study_id_trial_number(study_id, number)
            self.known.put(self.backend.get_trial(trial_id), trial_id)
        trials = self.known.trials(states)
        return copy.deepcopy(trials) if deepcopy else trials

    # -- the new trial: a draft until `commit` -----------------------------------------------------------
    def create_new_trial(self, study_id: int, template_trial: FrozenTrial | None = None) -> int:
        if template_trial is not None:
            return self.backend.create_new_trial(study_id, template_trial)
        self._draft = FrozenTrial(
            number=DRAFT_NUMBER, trial_id=DRAFT_ID, state=TrialState.RUNNING, value=None,
            datetime_start=datetime.datetime.now(), datetime_complete=None, params={}, distributions={},
            user_attrs={}, system_attrs={}, intermediate_values={},
        )
        return DRAFT_ID

    def commit(self, study_id: int, trial: optuna.Trial) -> tuple[int, int]:
        """Write the asked ``trial`` if it is a draft, with what its draw recorded; its (trial id, number).

        A trial popped from the WAITING ones exists already: nothing is written, its id is read."""
        draft, self._draft = self._draft, None
        if trial.number != DRAFT_NUMBER or draft is None:
            return self.backend.get_trial_id_from_study_id_trial_number(study_id, trial.number), trial.number
        trial_id, number = self.writes.create(study_id, draft)
        self.known.put(_renumbered(draft, number, trial_id), trial_id)
        return trial_id, number

    def get_trial(self, trial_id: int) -> FrozenTrial:
        if trial_id == DRAFT_ID and self._draft is not None:
            return copy.deepcopy(self._draft)  # optuna.Trial changes its copy as it suggests
        trial = self.backend.get_trial(trial_id)
        self.known.put(trial, trial_id)  # a popped WAITING trial joins the list as the sampler sees it
        return trial

    def get_trial_system_attrs(self, trial_id: int) -> dict[str, Any]:
        if trial_id == DRAFT_ID and self._draft is not None:
            return dict(self._draft.system_attrs)
        return self.backend.get_trial_system_attrs(trial_id)

    def set_trial_param(
        self, trial_id: int, param_name: str, param_value_internal: float, distribution: BaseDistribution
    ) -> None:
        value = distribution.to_external_repr(param_value_internal)
        if trial_id == DRAFT_ID and self._draft is not None:
            self._draft.params = {**self._draft.params, param_name: value}
            self._draft.distributions = {**self._draft.distributions, param_name: distribution}
            return
        self.backend.set_trial_param(trial_id, param_name, param_value_internal, distribution)

        def change(t: FrozenTrial) -> None:
            t.params = {**t.params, param_name: value}
            t.distributions = {**t.distributions, param_name: distribution}

        self.known.update(trial_id, change)

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        if trial_id == DRAFT_ID and self._draft is not None:
            self._draft.user_attrs = {**self._draft.user_attrs, key: value}
            return
        self.backend.set_trial_user_attr(trial_id, key, value)

        def change(t: FrozenTrial) -> None:
            t.user_attrs = {**t.user_attrs, key: value}

        self.known.update(trial_id, change)

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        if trial_id == DRAFT_ID and self._draft is not None:
            self._draft.system_attrs = {**self._draft.system_attrs, key: value}
            return
        self.backend.set_trial_system_attr(trial_id, key, value)

    # -- everything else: the real storage -------------------------------------------------------------
    def create_new_study(self, directions: Sequence[StudyDirection], study_name: str | None = None) -> int:
        return self.backend.create_new_study(directions, study_name)

    def delete_study(self, study_id: int) -> None:
        self.backend.delete_study(study_id)

    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        self.backend.set_study_user_attr(study_id, key, value)

    def set_study_system_attr(self, study_id: int, key: str, value: Any) -> None:
        self.backend.set_study_system_attr(study_id, key, value)

    def get_study_id_from_name(self, study_name: str) -> int:
        return self.backend.get_study_id_from_name(study_name)

    def get_study_name_from_id(self, study_id: int) -> str:
        return self.backend.get_study_name_from_id(study_id)

    def get_study_directions(self, study_id: int) -> list[StudyDirection]:
        return self.backend.get_study_directions(study_id)

    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]:
        return self.backend.get_study_user_attrs(study_id)

    def get_study_system_attrs(self, study_id: int) -> dict[str, Any]:
        return self.backend.get_study_system_attrs(study_id)

    def get_all_studies(self) -> list[Any]:  # FrozenStudy: not public in Optuna
        return self.backend.get_all_studies()

    def get_trial_id_from_study_id_trial_number(self, study_id: int, trial_number: int) -> int:
        return self.backend.get_trial_id_from_study_id_trial_number(study_id, trial_number)

    def set_trial_state_values(
        self, trial_id: int, state: TrialState, values: Sequence[float] | None = None
    ) -> bool:
        return self.backend.set_trial_state_values(trial_id, state, values)

    def set_trial_intermediate_value(self, trial_id: int, step: int, intermediate_value: float) -> None:
        self.backend.set_trial_intermediate_value(trial_id, step, intermediate_value)

    def remove_session(self) -> None:
        self.backend.remove_session()


def _renumbered(draft: FrozenTrial, number: int, trial_id: int) -> FrozenTrial:
    return FrozenTrial(
        number=number, trial_id=trial_id, state=draft.state, value=None, values=draft.values,
        datetime_start=draft.datetime_start, datetime_complete=draft.datetime_complete, params=draft.params,
        distributions=draft.distributions, user_attrs=draft.user_attrs, system_attrs=draft.system_attrs,
        intermediate_values=draft.intermediate_values,
    )


class Asker:
    """Asks ``study`` (its name, sampler and pruner) through a `DriverStorage` over ``backend``."""

    def __init__(self, study: optuna.Study, backend: BaseStorage, known: TrialList) -> None:
        self.storage = DriverStorage(backend, known)
        self.study = optuna.load_study(
            study_name=study.study_name, storage=self.storage, sampler=study.sampler, pruner=study.pruner
        )
        self.study_id = backend.get_study_id_from_name(study.study_name)

    def ask(self) -> optuna.Trial:
        """A new trial to draw: a draft (or a popped WAITING trial); `commit` it once drawn."""
        return self.study.ask()

    def commit(self, trial: optuna.Trial) -> tuple[int, int]:
        """Write the drawn trial (`DriverStorage.commit`); its trial id and number."""
        return self.storage.commit(self.study_id, trial)
