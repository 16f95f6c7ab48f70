"""Search: search-space files, the Optuna backend (and the Ray backend), stored results.

Example (the plugin entry point in your own Optuna objective):
    >>> import optuna, optnas
    >>> space = optnas.SearchSpace.from_yaml("search_spaces/rings.yaml")        # doctest: +SKIP
    >>> def objective(trial):                                                    # doctest: +SKIP
    ...     spec = space.suggest(trial)            # a certified ArchSpec, or UncertifiedDraw
    ...     return optnas.train(spec, space.task(), epochs=5).metrics["val_metric"]
    >>> optuna.create_study(direction="maximize").optimize(                      # doctest: +SKIP
    ...     objective, n_trials=10, catch=(optnas.search.UncertifiedDraw,))
"""

from __future__ import annotations

from ..errors import TrialFailed
from ..storage import DEFAULT_STORAGE, open_storage
from .optuna_log import install as _quiet_outcomes
from .runner import run_search
from .space import SearchSpace, UncertifiedDraw

_quiet_outcomes()  # a caught TrialFailed / UncertifiedDraw: Optuna's one line, without its traceback

__all__ = ["DEFAULT_STORAGE", "SearchSpace", "TrialFailed", "UncertifiedDraw", "open_storage", "run_search"]
