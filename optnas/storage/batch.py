"""Several rows of a trial written in one transaction: a new trial whole (how the Ray driver writes the trial
it drafted), a trial's records at its end (how it records a finished trial).

On PostgreSQL and SQLite (`optnas.storage._rdb.TrialWriter`, pinned to the Optuna versions it was checked
against): one INSERT per table, five or six statements for a new trial, two for any number of records.
Elsewhere (a journal, MySQL, another Optuna): Optuna's own ``create_new_trial(template_trial=)`` and a read
of the trial's number, and one ``set_trial_user_attr`` per record, in order: the same rows.

Example:
    >>> import optuna
    >>> storage = optuna.storages.InMemoryStorage()
    >>> study = optuna.create_study(storage=storage)
    >>> draft = optuna.trial.create_trial(state=optuna.trial.TrialState.RUNNING, user_attrs={"a": 1})
    >>> BatchWriter(storage).create(storage.get_study_id_from_name(study.study_name), draft)
    (0, 0)
"""

from __future__ import annotations

from typing import Any

from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial

from ._rdb import TrialWriter


class BatchWriter:
    """Writes several rows of a trial of ``storage`` at once (see the module docstring)."""

    def __init__(self, storage: BaseStorage) -> None:
        self.storage = storage
        self._rdb = TrialWriter(storage) if TrialWriter.usable(storage) else None  # type: ignore[arg-type]

    def create(self, study_id: int, template: FrozenTrial) -> tuple[int, int]:
        """Write ``template`` (its state, params, attributes, values) as a new trial; its (trial id, number)."""
        if self._rdb is not None:
            return self._rdb.create(study_id, template)
        trial_id = self.storage.create_new_trial(study_id, template_trial=template)
        return trial_id, self.storage.get_trial_number_from_id(trial_id)

    def set_user_attrs(self, trial_id: int, attrs: dict[str, Any]) -> None:
        """Set ``attrs`` on a running trial: in one transaction on an RDB, else one write each, in order."""
        if self._rdb is not None:
            self._rdb.set_user_attrs(trial_id, attrs)
            return
        for key, value in attrs.items():
            self.storage.set_trial_user_attr(trial_id, key, value)

    def set_intermediate_values(self, trial_id: int, steps: dict[int, float]) -> None:
        """Report ``steps`` ({step: value}) of a running trial: one transaction on an RDB, else one each."""
        if self._rdb is not None:
            self._rdb.set_intermediate_values(trial_id, steps)
            return
        for step, value in steps.items():
            self.storage.set_trial_intermediate_value(trial_id, step, value)

    def waiting(self, study_id: int) -> bool:
        """Whether the study may have WAITING trials: a narrow query on an RDB; True elsewhere (read them)."""
        return True if self._rdb is None else self._rdb.waiting(study_id)
