"""The Ray driver's trial counts, kept as it goes so that a suggestion never reads the whole study.

Whether another trial is due (``--trials``) needs the counted trials (`optnas.outcome`) and the RUNNING ones.
Reading them from the storage costs a full ``get_trials`` that grows with the study (seconds at a thousand
running trials on an RDB), so the driver keeps them instead: the trials it holds are running, each trial
it tells with an outcome adds one to the counted ones. `reconcile` sets both from one read of the study
(when the run starts or resumes, every `RECONCILE_EVERY_S` on the writer thread, and before the driver tells
Tune the search is finished), and takes in what changed while it read: trials told meanwhile, trials
other processes run or finished.

Example:
    >>> tally = Tally()
    >>> tally.told(3); tally.counted
    1
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass, field

import optuna
from optuna.trial import TrialState

from ... import _validate, outcome
from ...errors import UsageError
from .ask import TrialList

# A full read of a 10,000-trial study on PostgreSQL takes a few hundred ms on the writer thread: once a minute
# keeps the counts of other processes' trials fresh at a negligible cost (OPTNAS_RAY_RECONCILE_S overrides).
RECONCILE_EVERY_S = 60.0
# the longest interval taken: beyond a day the counts would in effect never be reconciled (1e300 is a typo, not
# a wish), and a run that wants that has no use for the variable
RECONCILE_MAX_S = 86400.0


def reconcile_interval() -> float:
    """Seconds between two reconciliations: ``OPTNAS_RAY_RECONCILE_S`` (> 0, at most a day) or `RECONCILE_EVERY_S`.

    Example:
        >>> import os
        >>> os.environ["OPTNAS_RAY_RECONCILE_S"] = "1e300"
        >>> reconcile_interval()  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        optnas.errors.UsageError: OPTNAS_RAY_RECONCILE_S='1e300' is invalid: ... > 0 and <= 86400 (a day)
        >>> del os.environ["OPTNAS_RAY_RECONCILE_S"]; reconcile_interval()
        60.0
    """
    read = _validate.env_number("OPTNAS_RAY_RECONCILE_S")
    if read is None:
        return RECONCILE_EVERY_S
    raw, value = read
    if not 0 < value <= RECONCILE_MAX_S:  # NaN fails it too
        raise UsageError(f"OPTNAS_RAY_RECONCILE_S={raw[:40]!r} is invalid: it must be a number of seconds > 0 "
                         f"and <= {RECONCILE_MAX_S:.0f} (a day)")
    return value


@dataclass
class Tally:
    """Counted trials and the RUNNING trials this driver does not hold (``foreign``); its held ones are the
    session's locks. ``lock`` guards them with the locks, so a check never sees a trial twice or not at all."""

    counted: int = 0
    foreign: int = 0
    at: float = -math.inf  # time.monotonic() of the last reconciliation
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    queued: bool = False  # a reconciliation waits on the writer thread
    _told_since: set[int] | None = None  # told while a reconciliation reads

    def told(self, number: int) -> None:
        """This driver told trial ``number`` with an outcome that counts (call with ``lock`` held)."""
        self.counted += 1
        if self._told_since is not None:
            self._told_since.add(number)

    def due(self, every_s: float) -> bool:
        return not self.queued and time.monotonic() - self.at >= every_s


def reconcile(tally: Tally, study: optuna.Study, held: Collection[int], known: TrialList | None = None) -> None:
    """Set the counts from one read of ``study``; ``held``: the live collection of this driver's trials;
    ``known``: the driver's copy of the trials its sampler reads (`ask`), refreshed from the same read."""
    with tally.lock:
        tally._told_since = set()
    try:
        trials = study.get_trials(deepcopy=False)
    except BaseException:
        with tally.lock:
            tally._told_since, tally.queued = None, False
        raise
    if known is not None:
        known.load(trials)
    counted = outcome.counted(outcome.trial_status(t) for t in trials)
    running = {t.number for t in trials if t.state == TrialState.RUNNING}
    finished = {t.number for t in trials if t.state.is_finished()}
    with tally.lock:
        told, tally._told_since = tally._told_since or set(), None
        # told after the read saw it running: count it; one the read saw finished is in `counted` already
        tally.counted = counted + len(told - finished)
        tally.foreign = len(running - set(held) - told)
        tally.at = time.monotonic()
        tally.queued = False
