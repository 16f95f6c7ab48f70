"""`simulate` is deterministic for every sampler and pruner: two equal calls give equal arrays (issue 26, item 1).

The strategies are those benchmarks/optnas_bench/search.py records (its samplers and pruners, the screen,
GP's penalty), plus CMA-ES and a seeded instance. Before each repeat's study was named from its seed,
Hyperband (which picks a trial's bracket from a hash of the study name) replayed differently each call.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import optuna
import pytest

import optnas.bench
from optnas.search.samplers import EvolutionSampler, LocalSearchSampler

TABLE = "digits"
SCREEN = ("synflow", 0.5)


def _hyperband() -> optuna.pruners.BasePruner:
    return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=10, reduction_factor=3)


STRATEGIES: dict[str, dict[str, Any]] = {
    "random": {"sampler": optuna.samplers.RandomSampler},
    "tpe": {"sampler": optuna.samplers.TPESampler},
    "tpe_mv_group": {"sampler": lambda seed: optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True)},
    "nsga2": {"sampler": optuna.samplers.NSGAIISampler},
    "qmc": {"sampler": optuna.samplers.QMCSampler},
    "cmaes": {"sampler": optuna.samplers.CmaEsSampler},
    "tpe+screen": {"sampler": optuna.samplers.TPESampler, "screen": SCREEN},
    "tpe+median": {"sampler": optuna.samplers.TPESampler,
                   "pruner": lambda: optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2)},
    "tpe+hyperband": {"sampler": optuna.samplers.TPESampler, "pruner": _hyperband},
    "random+hyperband": {"sampler": optuna.samplers.RandomSampler, "pruner": _hyperband},
    "tpe+sha": {"sampler": optuna.samplers.TPESampler,
                "pruner": lambda: optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)},
    "seeded instance+hyperband": {"sampler": optuna.samplers.TPESampler(seed=7), "pruner": _hyperband()},
    "evolution": {"sampler": EvolutionSampler},
    "local": {"sampler": LocalSearchSampler},
    "evolution+hyperband": {"sampler": lambda seed: EvolutionSampler(population=5, sample_size=2, seed=seed),
                            "pruner": _hyperband},
    "gp+penalty": {"sampler": optuna.samplers.GPSampler, "penalty": 0.0, "trials": 12},
}


def _run(kwargs: dict[str, Any], jobs: int = 1) -> optnas.bench.Simulation:
    kwargs = {"trials": 40, "repeats": 2, **kwargs}
    return optnas.bench.simulate(TABLE, kwargs.pop("sampler"), jobs=jobs, **kwargs)


def _equal(a: optnas.bench.Simulation, b: optnas.bench.Simulation) -> bool:
    return all(np.array_equal(getattr(a, f), getattr(b, f), equal_nan=True)
               for f in ("best", "best_mean", "test", "elapsed", "draws"))


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_two_equal_calls_give_equal_results(name: str) -> None:
    first, second = _run(STRATEGIES[name]), _run(STRATEGIES[name])
    assert _equal(first, second)
    assert np.isfinite(first.best[:, -1]).all()  # the replay trained something: the arrays are not all NaN


def test_forked_repeats_equal_in_process_ones() -> None:
    kwargs = STRATEGIES["tpe+hyperband"]
    assert _equal(_run(kwargs, jobs=1), _run(kwargs, jobs=2))
