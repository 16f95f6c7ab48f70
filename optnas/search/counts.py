"""Counts of a study's trials by the one rule of `optnas.outcome` (what counts toward ``--trials``)."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from .. import outcome


def counted(study: optuna.Study) -> int:
    """Finished trials that count toward the target: every finished trial but a ``lost`` one."""
    return outcome.counted(outcome.trial_status(t) for t in study.get_trials(deepcopy=False))


def running(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))


def waiting(study: optuna.Study) -> int:
    """Trials queued to run again (a heartbeat retry of a dead worker's trial): always worth claiming."""
    return len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))


def lost(study: optuna.Study, since: int = 0) -> list[int]:
    """Numbers of the ``lost`` trials (their worker died before telling an outcome), from trial ``since`` on."""
    trials = study.get_trials(deepcopy=False)
    return [t.number for t in trials if t.number >= since and outcome.trial_status(t) == "lost"]
