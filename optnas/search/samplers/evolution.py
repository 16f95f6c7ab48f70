"""Regularized evolution (Real, Aggarwal, Huang & Le, AAAI 2019) as an Optuna sampler.

The population is the ``population`` most recently completed trials (aging: the oldest member leaves as
a new one completes, however good it was). A trial's parent is the best of ``sample_size`` members drawn
at random (feasible before infeasible under constraints; the Pareto front with several objectives); the
child copies the parent and changes one of its parameters (a categorical to another choice, a number by a
step: `perturb`). Until ``population`` trials have completed, trials are random (the initial population).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from optuna.study import Study
from optuna.trial import FrozenTrial

from ._child import ChildSampler, ConstraintsFunc, check_keys, int_param, mutable, perturb, ranks

PARAMS = ("population", "sample_size")


class EvolutionSampler(ChildSampler):
    """Regularized evolution over a define-by-run (conditional) space.

    Example:
        >>> import optuna
        >>> from optnas.search.samplers import EvolutionSampler
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> study = optuna.create_study(sampler=EvolutionSampler(population=4, sample_size=2, seed=0))
        >>> study.optimize(lambda t: t.suggest_categorical("x", [0, 1, 2, 3]) ** 2, n_trials=12)
        >>> study.best_value
        0.0
    """

    def __init__(self, *, population: int = 20, sample_size: int = 5, seed: int | None = None,
                 constraints_func: ConstraintsFunc | None = None) -> None:
        params = {"population": population, "sample_size": sample_size}
        self.population = int_param(params, "population", 20, 2)
        self.sample_size = int_param(params, "sample_size", 5, 1, self.population)
        super().__init__(seed=seed, constraints_func=constraints_func)

    def child(self, study: Study, trial: FrozenTrial, rng: np.random.RandomState) -> dict[str, Any] | None:
        members = self.finished(study, trial)[-self.population:]
        if len(members) < self.population:
            return None
        drawn = [members[i] for i in rng.choice(len(members), self.sample_size, replace=False)]
        rank = ranks(drawn, study.directions, self._constraints)
        best = min(rank)
        tied = [t for t, r in zip(drawn, rank, strict=True) if r == best]
        parent = tied[rng.randint(len(tied))]
        names = sorted(n for n, d in parent.distributions.items() if mutable(d))
        params = dict(parent.params)
        if names:
            name = names[rng.randint(len(names))]
            params[name] = perturb(parent.distributions[name], params[name], rng)
        return params


def make(params: dict[str, Any], seed: int | None, constraints: ConstraintsFunc | None) -> EvolutionSampler:
    """The sampler of ``sampler: {name: evolution, params: {population: 20, sample_size: 5}}``."""
    check_keys(params, PARAMS)
    return EvolutionSampler(seed=seed, constraints_func=constraints, **params)
