"""Which trial `optnas export` writes: ``best`` by a documented rule, or a trial number.

Rule for ``best``: among COMPLETE trials, the best value of one objective (``--objective NAME``; by default
the study's first objective, which optnas searches make the task metric), ties broken by the remaining
objectives in the study's order, then by the lower trial number. A lexicographic optimum is never dominated,
so with several objectives the pick always lies on the Pareto front.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

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
    order = [first] + [i for i in range(len(objs)) if i != first]
    done = [
        t for t in trials
        if t.state == TrialState.COMPLETE and t.values is not None and len(t.values) == len(objs)
        and all(math.isfinite(v) for v in t.values)
    ]
    if not done:
        states = ", ".join(f"{n} {s}" for s, n in _count_states(trials).items()) or "no trials"
        raise ValueError(f"study {study.study_name!r} has no complete trial to export ({states})")

    def key(t: FrozenTrial) -> tuple[float | int, ...]:
        values = t.values or []
        return (*(-values[i] if objs[i].direction == "maximize" else values[i] for i in order), t.number)

    return min(done, key=key)


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


def _count_states(trials: list[FrozenTrial]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in trials:
        counts[t.state.name] = counts.get(t.state.name, 0) + 1
    return counts
