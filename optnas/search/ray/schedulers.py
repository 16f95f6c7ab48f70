"""Early stopping on the Ray backend: ASHA for one objective, optnas's dominance rule for several.

The dominance rule is `optnas.search.dominance.DominanceRule`, the one the optuna backend's trials ask at
each epoch; here a Tune scheduler asks it on the driver, with the study's finished trials.

Example:
    >>> scheduler, milestones, name = make_scheduler(space)     # doctest: +SKIP
"""

from __future__ import annotations

import math
from typing import Any

from optuna.trial import TrialState
from ray.tune.experiment import Trial
from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, TrialScheduler

from ...storage import trial_record
from ..space import SearchSpace
from .session import Session, bound


class DominanceScheduler(FIFOScheduler):
    """Early stopping for several objectives: optnas's dominance rule, decided on the driver."""

    def on_trial_result(self, tune_controller: Any, trial: Trial, result: dict[str, Any]) -> str:
        return TrialScheduler.STOP if dominated(bound(), trial, result) else TrialScheduler.CONTINUE


def dominated(session: Session, trial: Trial, result: dict[str, Any]) -> bool:
    """Stop a trial that a finished trial dominates at the same epoch (the reason goes to the record)."""
    rule = session.lifecycle().dominance
    value, epochs = result.get("val_metric"), int(result.get("epoch", 0))
    if rule is None or value is None or "optnas_final" in result or epochs < 1:
        return False
    costs = {c: float(result[f"optnas_costs/{c}"]) for c in rule.cost_names if f"optnas_costs/{c}" in result}
    done = session.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    reason = rule.check(
        epochs - 1, float(value), costs, (trial_record.merged(t.user_attrs, session.artifacts) for t in done)
    )
    if reason is None:
        return False
    session.stopped[int(trial.config["optnas"]["number"])] = reason
    return True


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
