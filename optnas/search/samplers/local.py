"""Local search over the conditional space (in the spirit of White, Nolen & Savani, UAI 2021) as an
Optuna sampler: neighbours differ in one choice.

After ``n_startup_trials`` random trials, each trial is an untried neighbour of the best completed trial
(feasible first under constraints; with several objectives, of a trial on the Pareto front); once every
neighbour of the best has been tried (it is a local optimum), of the next best, and so on. A neighbour
changes one parameter: a categorical to another choice, an integer (or stepped float) by one step, a
continuous float by a random step (never exhausted). A move is *tried* when a stored trial, finished or
still running, agrees with the centre on every shared parameter but that one, so parallel workers do not
propose the same neighbour twice. With every neighbourhood exhausted, trials are random.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from optuna.study import Study
from optuna.trial import FrozenTrial

from ._child import ChildSampler, ConstraintsFunc, check_keys, finite_neighbours, int_param, mutable, perturb, ranks

PARAMS = ("n_startup_trials",)


def tried_moves(centre: FrozenTrial, trials: list[FrozenTrial]) -> set[tuple[str, Any]]:
    """The (parameter, value) moves from ``centre`` that ``trials`` already made."""
    out: set[tuple[str, Any]] = set()
    for t in trials:
        diff = [n for n, v in centre.params.items() if n in t.params and t.params[n] != v]
        if len(diff) == 1:
            out.add((diff[0], t.params[diff[0]]))
    return out


class LocalSearchSampler(ChildSampler):
    """Best-first local search: the best trial's untried one-parameter neighbours, then the next best's.

    Example:
        >>> import optuna
        >>> from optnas.search.samplers import LocalSearchSampler
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> study = optuna.create_study(sampler=LocalSearchSampler(n_startup_trials=1, seed=0))
        >>> f = lambda t: t.suggest_int("x", 0, 9) + t.suggest_categorical("y", [0, 10, 20])
        >>> study.optimize(f, n_trials=20)
        >>> study.best_value
        0.0
    """

    def __init__(self, *, n_startup_trials: int = 10, seed: int | None = None,
                 constraints_func: ConstraintsFunc | None = None) -> None:
        self.n_startup_trials = int_param({"n_startup_trials": n_startup_trials}, "n_startup_trials", 10, 1)
        super().__init__(seed=seed, constraints_func=constraints_func)
        # centres found exhausted: a cache of a fact about the storage that stays true (trials are never
        # removed), so it saves rescanning them; each process builds its own
        self._exhausted: set[tuple[str, int]] = set()

    def child(self, study: Study, trial: FrozenTrial, rng: np.random.RandomState) -> dict[str, Any] | None:
        done = self.finished(study, trial)
        if len(done) < self.n_startup_trials:
            return None
        others = [t for t in study.get_trials(deepcopy=False) if t.number != trial.number and t.params]
        rank = ranks(done, study.directions, self._constraints)
        # best first; ties in random order, so equal trials share the exploring
        order = sorted(range(len(done)), key=lambda i: (rank[i], rng.random_sample()))
        for i in order:
            centre = done[i]
            if (study.study_name, centre.number) in self._exhausted:
                continue
            tried = tried_moves(centre, others)
            moves: list[tuple[str, Any]] = []
            for name, dist in sorted(centre.distributions.items()):
                if not mutable(dist):
                    continue
                near = finite_neighbours(dist, centre.params[name])
                if near is None:  # a continuous float: a fresh random step is always untried
                    moves.append((name, perturb(dist, centre.params[name], rng)))
                else:
                    moves += [(name, v) for v in near if (name, v) not in tried]
            if moves:
                name, value = moves[rng.randint(len(moves))]
                return {**centre.params, name: value}
            self._exhausted.add((study.study_name, centre.number))
        return None


def make(params: dict[str, Any], seed: int | None, constraints: ConstraintsFunc | None) -> LocalSearchSampler:
    """The sampler of ``sampler: {name: local, params: {n_startup_trials: 10}}``."""
    check_keys(params, PARAMS)
    return LocalSearchSampler(seed=seed, constraints_func=constraints, **params)
