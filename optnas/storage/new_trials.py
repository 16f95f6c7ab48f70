"""New trials written whole, in one transaction: how the Ray driver writes the trial it drafted.

On PostgreSQL and SQLite (`optnas.storage._rdb.TrialWriter`, pinned to the Optuna versions it was checked
against): one INSERT per table, five or six statements in all. Elsewhere (a journal, MySQL, another Optuna):
Optuna's own ``create_new_trial(template_trial=)`` and a read of the trial's number, the same trial.

Example:
    >>> import optuna
    >>> storage = optuna.storages.InMemoryStorage()
    >>> study = optuna.create_study(storage=storage)
    >>> draft = optuna.trial.create_trial(state=optuna.trial.TrialState.RUNNING, user_attrs={"a": 1})
    >>> NewTrials(storage).create(storage.get_study_id_from_name(study.study_name), draft)
    (0, 0)
"""

from __future__ import annotations

from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial

from ._rdb import TrialWriter


class NewTrials:
    """Writes new trials of ``storage`` whole (see the module docstring)."""

    def __init__(self, storage: BaseStorage) -> None:
        self.storage = storage
        self._rdb = TrialWriter(storage) if TrialWriter.usable(storage) else None  # type: ignore[arg-type]

    def create(self, study_id: int, template: FrozenTrial) -> tuple[int, int]:
        """Write ``template`` (its state, params, attributes, values) as a new trial; its (trial id, number)."""
        if self._rdb is not None:
            return self._rdb.create(study_id, template)
        trial_id = self.storage.create_new_trial(study_id, template_trial=template)
        return trial_id, self.storage.get_trial_number_from_id(trial_id)

    def waiting(self, study_id: int) -> bool:
        """Whether the study may have WAITING trials: a narrow query on an RDB; True elsewhere (read them)."""
        return True if self._rdb is None else self._rdb.waiting(study_id)
