"""A progress bar with elapsed and remaining time and the best trial so far (rich), fed by polling the storage."""

from __future__ import annotations

import sys
from types import TracebackType

import optuna
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress

from .. import outcome
from .counts import counted


class Progress:
    """``with Progress(study, total) as bar: ... bar.update(study)``; silent when not enabled."""

    def __init__(self, study: optuna.Study, total: int, enabled: bool = True) -> None:
        self.total, self.enabled = total, enabled and sys.stderr.isatty()
        self._bar = (
            RichProgress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("left"),
                TimeRemainingColumn(),  # from the rate of finished trials so far
                TextColumn("{task.fields[best]}"),
                transient=False,
            )
            if self.enabled
            else None
        )
        self._task: TaskID | None = None
        self.study = study

    def __enter__(self) -> Progress:
        if self._bar is not None:
            self._bar.start()
            self._task = self._bar.add_task(f"search {self.study.study_name}", total=self.total, best="")
        return self

    def update(self, study: optuna.Study) -> None:
        if self._bar is None or self._task is None:
            return
        self._bar.update(self._task, completed=min(counted(study), self.total), best=best_text(study))

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()


def best_text(study: optuna.Study) -> str:
    """'best val_metric=0.98 (#3)' by the one rule of `optnas.outcome`, or 'no complete trial yet'."""
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    directions = [d.name.lower() for d in study.directions]
    number = outcome.best([(t.number, t.values) for t in complete], directions)
    if number is None:
        return "no complete trial yet"
    names = study.metric_names or [f"value{i}" for i in range(len(study.directions))]
    value = next(t.values[0] for t in complete if t.number == number)
    return f"best {names[0]}={value:.4g} (#{number})"
