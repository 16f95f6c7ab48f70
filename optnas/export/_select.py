"""Which trial `optnas export` writes: ``best`` by a documented rule, or a trial number.

``best`` is the one best-trial rule of :mod:`optnas.outcome` (``--objective NAME`` ranks that objective
first); with several objectives the pick always lies on the Pareto front.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from .. import outcome

EXPORTABLE = (TrialState.COMPLETE, TrialState.PRUNED)  # a pruned trial may still hold weights


@dataclass(frozen=True)
class Objective:
    name: str
    direction: str  # "maximize" or "minimize"


def objectives(study: optuna.Study, meta: dict[str, Any]) -> list[Objective]:
    """The study's objectives, named as the search recorded them (else Optuna's metric names)."""
    directions = ["maximize" if d == optuna.study.StudyDirection.MAXIMIZE else "minimize" for d in study.directions]
    recorded = meta.get("objectives")
    if isinstance(recorded, list) and len(recorded) == len(directions):
        names = [
            str(o.get("name", f"objective_{i}")) if isinstance(o, dict) else str(o) for i, o in enumerate(recorded)
        ]
    else:
        names = list(study.metric_names or [f"objective_{i}" for i in range(len(directions))])
    return [Objective(n, d) for n, d in zip(names, directions, strict=True)]


def pick(study: optuna.Study, meta: dict[str, Any], trial: str | int, objective: str | None) -> FrozenTrial:
    """The trial to export: ``"best"`` (see the module docstring) or a trial number."""
    trials = study.get_trials(deepcopy=False)
    if isinstance(trial, str) and trial.strip().lower() == "best":
        return best(study, meta, trials, objective)
    if objective is not None:
        raise ValueError("--objective only applies to --trial best")
    number = _number(trial)
    found = next((t for t in trials if t.number == number), None)
    if found is None:
        span = f"0..{len(trials) - 1}" if trials else "none: the study is empty"
        raise ValueError(f"study {study.study_name!r} has no trial {number}; its trials are numbered {span}")
    if found.state not in EXPORTABLE:
        status = found.user_attrs.get("status")
        reason = found.user_attrs.get("reason")
        why = f" ({status}: {reason})" if status or reason else ""
        raise ValueError(
            f"trial {number} of study {study.study_name!r} is {found.state.name}{why}; "
            "export a COMPLETE trial (or one pruned with its weights)"
        )
    return found


def best(
    study: optuna.Study, meta: dict[str, Any], trials: list[FrozenTrial], objective: str | None
) -> FrozenTrial:
    objs = objectives(study, meta)
    names = [o.name for o in objs]
    if objective is None:
        first = 0
    elif objective in names:
        first = names.index(objective)
    else:
        raise ValueError(f"--objective {objective!r} is not an objective of study {study.study_name!r}; "
                         f"valid: {', '.join(names)}")
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    number = outcome.best(((t.number, t.values) for t in done), [o.direction for o in objs], first)
    if number is None:
        states = outcome.format_counts(outcome.counts(outcome.trial_status(t) for t in trials))
        raise ValueError(f"study {study.study_name!r} has no complete trial to export ({states})")
    return next(t for t in done if t.number == number)


def _number(trial: str | int) -> int:
    if isinstance(trial, int) and not isinstance(trial, bool):
        number = trial
    else:
        try:
            number = int(str(trial).strip())
        except ValueError:
            raise ValueError(f"--trial {trial!r} is invalid: use 'best' or a trial number") from None
    if number < 0:
        raise ValueError(f"--trial {trial!r} is invalid: trial numbers start at 0")
    return number
