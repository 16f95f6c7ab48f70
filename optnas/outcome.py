"""One rule for what happened to a trial and which trial is best, shared by search, results, dashboard and export.

A trial's optnas *status* refines its Optuna *state* and never contradicts it: the Optuna state is the
authority (it is what ``study.tell`` wrote last), and the ``status`` user attribute only says which kind of
that state it was. A worker that died after recording ``status: complete`` but before ``tell`` leaves a FAIL
trial (failed by ``--resume`` or a live sibling), and that trial is ``lost``, never ``complete``.

A finished trial *counts* toward the study's trial count unless it is ``lost`` (:func:`counted`): a lost
trial's outcome is unknown, so the search runs another in its place.

=========== =============== ====================================================================
Optuna      status          meaning
=========== =============== ====================================================================
COMPLETE    complete        trained to the end; its values are the objectives
PRUNED      pruned          stopped early by the pruner or the dominance rule
PRUNED      infeasible      violates a constraint (params, FLOPs), not trained
PRUNED      untrainable     the zero-cost screen predicts it explodes or vanishes, not trained
FAIL        diverged        training produced NaN/inf or exploding outputs
FAIL        uncertified     drawn, but fails a certificate condition (not trained)
FAIL        failed          an error in the trial (recorded ``status: error``)
FAIL        lost            anything else: its worker died before telling its outcome (not counted)
RUNNING     running         being trained now (or its worker died and no sweep has failed it yet)
WAITING     waiting         queued to run again (a heartbeat retry)
=========== =============== ====================================================================

Best trial: among COMPLETE trials with finite values, the best value of one objective (by default the study's
first, which optnas makes the task metric), ties broken by the remaining objectives in the study's order, then
by the lower trial number. A lexicographic optimum is never dominated, so with several objectives the best
trial always lies on the Pareto front.

Example:
    >>> status("FAIL", "complete")          # died between the record and the tell
    'lost'
    >>> status("FAIL", "error"), counted(["complete", "lost", "failed", "running"])
    ('failed', 2)
    >>> status("PRUNED", "infeasible")
    'infeasible'
    >>> best([(0, [0.9, 500.0]), (1, [0.9, 300.0]), (2, [0.8, 10.0])], ["maximize", "minimize"])
    1
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

#: Every status, in the order counts are shown.
STATUSES = (
    "complete", "pruned", "infeasible", "untrainable", "diverged", "uncertified", "failed", "lost", "running",
    "waiting",
)
#: Optuna state -> (status without a matching record, {recorded status: status}).
_REFINES: dict[str, tuple[str, dict[str, str]]] = {
    "COMPLETE": ("complete", {}),
    "PRUNED": ("pruned", {"infeasible": "infeasible", "untrainable": "untrainable"}),
    "FAIL": ("lost", {"diverged": "diverged", "uncertified": "uncertified", "error": "failed"}),
    "RUNNING": ("running", {}),
    "WAITING": ("waiting", {}),
}
#: Statuses of trials that count toward a study's trial count: finished, with a known outcome.
COUNTED = frozenset(STATUSES) - {"lost", "running", "waiting"}


def status(state: str, recorded: object = None) -> str:
    """The optnas status of a trial in Optuna ``state`` (a TrialState name), ``recorded`` its ``status`` attr."""
    default, refinements = _REFINES.get(str(state).upper(), ("lost", {}))
    return refinements.get(recorded, default) if isinstance(recorded, str) else default


def counted(statuses: Iterable[str]) -> int:
    """How many of ``statuses`` count toward the study's trial count (all finished ones but ``lost``)."""
    return sum(1 for s in statuses if s in COUNTED)


def trial_status(trial: object) -> str:
    """:func:`status` of an Optuna ``FrozenTrial`` (or ``Trial``-like object with ``state`` and ``user_attrs``)."""
    state = getattr(trial, "state", None)
    attrs = getattr(trial, "user_attrs", {}) or {}
    return status(getattr(state, "name", str(state)), attrs.get("status"))


def counts(statuses: Iterable[str]) -> dict[str, int]:
    """How many trials have each status, in :data:`STATUSES` order, zero counts left out."""
    tally: dict[str, int] = {}
    for s in statuses:
        tally[s] = tally.get(s, 0) + 1
    return {s: tally[s] for s in STATUSES if s in tally} | {s: n for s, n in tally.items() if s not in STATUSES}


def format_counts(tally: dict[str, int]) -> str:
    """``"5 complete, 2 pruned, 1 diverged"`` (or ``"no trials"``)."""
    return ", ".join(f"{n} {s}" for s, n in tally.items()) or "no trials"


def best(
    candidates: Iterable[tuple[int, Sequence[float] | None]],
    directions: Sequence[str],
    first: int = 0,
) -> int | None:
    """The number of the best trial among ``(number, values)`` of COMPLETE trials (see the module docstring).

    ``directions`` holds ``"maximize"``/``"minimize"`` per objective; ``first`` is the index of the objective
    that ranks first. Trials whose values are missing, of the wrong length or not finite are left out.
    """
    order = ranked(candidates, directions, first)
    return order[0] if order else None


def ranked(
    candidates: Iterable[tuple[int, Sequence[float] | None]],
    directions: Sequence[str],
    first: int = 0,
) -> list[int]:
    """Trial numbers best first by the rule of :func:`best` (the same key); unrankable trials left out.

    Example:
        >>> ranked([(0, [0.5]), (1, [0.9]), (2, None), (3, [0.9])], ["maximize"])
        [1, 3, 0]
    """
    order = [first] + [i for i in range(len(directions)) if i != first]
    sign = [-1.0 if d == "maximize" else 1.0 for d in directions]
    keyed = [
        ((*(sign[i] * float(values[i]) for i in order), number), number)
        for number, values in candidates
        if values is not None and len(values) == len(directions) and all(_finite(v) for v in values)
    ]
    return [number for _, number in sorted(keyed)]


def _finite(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
