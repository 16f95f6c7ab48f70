"""A progress bar with the best value so far (rich), fed by polling the study's storage."""

from __future__ import annotations

import sys
from types import TracebackType

import optuna
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

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
    """'best val_metric=0.98 (#3)' for one objective, 'Pareto front: N' for several."""
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        return "no complete trial yet"
    names = study.metric_names or [f"value{i}" for i in range(len(study.directions))]
    if len(study.directions) == 1:
        best = study.best_trial
        return f"best {names[0]}={best.value:.4g} (#{best.number})"
    return f"Pareto front: {len(study.best_trials)} trial(s)"
