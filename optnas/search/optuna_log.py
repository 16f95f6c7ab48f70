"""Optuna's log of optnas's expected trial outcomes: one line each, no traceback.

Optuna logs every exception an objective raises, caught ones included, at WARNING with its full traceback
(``study.optimize(..., catch=...)``). `TrialFailed` (a diverged run) and `UncertifiedDraw` (a draw the
certificate refused) are results of a search, not bugs in the objective: for them the traceback is dropped
and Optuna's own line, which names the trial, its parameters and the reason, is kept. Every other
exception keeps its traceback.

Example:
    >>> import logging, sys
    >>> from optnas.errors import TrialFailed
    >>> try:
    ...     raise TrialFailed("diverged: loss is nan at epoch 2")
    ... except TrialFailed:
    ...     record = logging.LogRecord("optuna", logging.WARNING, "", 0, "Trial 3 failed", None, sys.exc_info())
    >>> OutcomeFilter().filter(record), record.exc_info
    (True, None)
"""

from __future__ import annotations

import logging

from ..errors import TrialFailed
from .space import UncertifiedDraw

__all__ = ["OUTCOMES", "OutcomeFilter", "install"]

OUTCOMES: tuple[type[BaseException], ...] = (TrialFailed, UncertifiedDraw)


class OutcomeFilter(logging.Filter):
    """Drops the traceback of a record whose exception is one of `OUTCOMES`; passes every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], OUTCOMES):
            record.exc_info, record.exc_text = None, None
        return True


def install() -> None:
    """Put the filter on Optuna's handlers (its default handler; `optuna.logging` re-adds the same one).

    A handler filter sees records from every Optuna module, and the record it changes is the one any
    handler further up (the root logger's, with `optuna.logging.enable_propagation`) formats next.
    """
    import optuna  # noqa: F401  (configures Optuna's library logger and its default handler)

    for handler in logging.getLogger("optuna").handlers:
        if not any(isinstance(f, OutcomeFilter) for f in handler.filters):
            handler.addFilter(OutcomeFilter())
