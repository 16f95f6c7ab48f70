"""What optnas's evolution and local-search samplers share: a child configuration decided once per trial
from the study's trials in storage, then handed out parameter by parameter as the define-by-run space asks.

The child is a dict of parameter values (a parent's, one of them changed). A parameter the child lacks (a
conditional one the change switched on) or whose value its distribution no longer holds is drawn at random.
Nothing about the search lives in process memory: the child is a function of the trials stored when the
trial first asks (and of the sampler's seed and the trial number), so several worker processes sharing one
study each sample correctly. The memo below only keeps a trial's child stable while it asks its parameters.
"""

from __future__ import annotations

import abc
import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

ConstraintsFunc = Callable[[FrozenTrial], Sequence[float]]
MEMO_SIZE = 256  # trials being sampled at once in one process: one, bar a trial abandoned mid-ask
STEP_SHARE = 0.1  # a numeric perturbation's standard deviation, as a share of the (log) range


def int_param(params: dict[str, Any], key: str, default: int, low: int, high: int | None = None) -> int:
    """``params[key]`` checked as an integer in [low, high] (a bool is not one); ``default`` when absent."""
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        top = "" if high is None else f" and <= {high}"
        raise ValueError(f"{key}={value!r} is invalid: it must be an integer >= {low}{top}")
    return value


def check_keys(params: dict[str, Any], valid: Sequence[str]) -> None:
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ValueError(f"unknown parameter {unknown[0]!r}; valid: {', '.join(valid)}")


def contains(dist: BaseDistribution, value: Any) -> bool:
    """Whether ``value`` is a value ``dist`` can return (a parent's value under a changed distribution)."""
    if isinstance(dist, CategoricalDistribution):
        return any(value == c and type(value) is type(c) for c in dist.choices)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return False
    if isinstance(dist, IntDistribution):
        return float(value).is_integer() and dist.low <= value <= dist.high and (value - dist.low) % dist.step == 0
    if isinstance(dist, FloatDistribution):
        if not dist.low <= value <= dist.high:
            return False
        return dist.step is None or math.isclose((value - dist.low) / dist.step, round((value - dist.low) / dist.step))
    return False


def finite_neighbours(dist: BaseDistribution, value: Any) -> list[Any] | None:
    """The values one step from ``value``: a categorical's other choices, an integer's adjacent steps, a
    stepped float's adjacent steps; None for a continuous float (infinitely many: see `perturb`)."""
    if isinstance(dist, CategoricalDistribution):
        return [c for c in dist.choices if not (c == value and type(c) is type(value))]
    if isinstance(dist, IntDistribution):
        if dist.log:
            return [v for v in (value // 2, value * 2) if dist.low <= v <= dist.high and v != value]
        return [v for v in (value - dist.step, value + dist.step) if dist.low <= v <= dist.high]
    if isinstance(dist, FloatDistribution) and dist.step is not None:
        return [v for v in (value - dist.step, value + dist.step) if dist.low <= v <= dist.high + 1e-12]
    return None


def perturb(dist: BaseDistribution, value: Any, rng: np.random.RandomState) -> Any:
    """A new value near ``value``: a random neighbour where they are finite, else a Gaussian step of
    ``STEP_SHARE`` of the range (in log space for a log range), clipped to it."""
    near = finite_neighbours(dist, value)
    if near is not None:
        return near[rng.randint(len(near))] if near else value
    assert isinstance(dist, FloatDistribution)
    f = math.log if dist.log else float
    low, high = f(dist.low), f(dist.high)
    x = min(high, max(low, f(value) + rng.normal(0.0, STEP_SHARE * (high - low))))
    return float(min(dist.high, max(dist.low, math.exp(x) if dist.log else x)))


def mutable(dist: BaseDistribution) -> bool:
    """Whether a parameter has another value to change to."""
    if isinstance(dist, CategoricalDistribution):
        return len(dist.choices) > 1
    return isinstance(dist, IntDistribution | FloatDistribution) and dist.low < dist.high


def feasibility(trial: FrozenTrial, constraints: ConstraintsFunc | None) -> float:
    """The summed constraint violation (Optuna's convention: a value <= 0 is satisfied); 0 when feasible."""
    if constraints is None:
        return 0.0
    return float(sum(max(0.0, float(c)) for c in constraints(trial)))


def ranks(trials: Sequence[FrozenTrial], directions: Sequence[StudyDirection],
          constraints: ConstraintsFunc | None) -> list[float]:
    """A dense rank per trial, lower is better, equal trials tied: violation first, then the value (one
    objective) or the Pareto front (several: the non-dominated first, then the next front...)."""
    sign = [1.0 if d == StudyDirection.MINIMIZE else -1.0 for d in directions]
    keys = [[s * v for s, v in zip(sign, t.values, strict=True)] for t in trials]
    violation = [feasibility(t, constraints) for t in trials]
    if len(directions) == 1:
        order = [k[0] for k in keys]
    else:
        order = [0.0] * len(trials)
        left = set(range(len(trials)))
        front = 0
        while left:
            top = {i for i in left if not any(_dominates(keys[j], keys[i]) for j in left if j != i)}
            for i in top:
                order[i] = float(front)
            left -= top
            front += 1
    # violation first (a feasible trial outranks every infeasible one), then the order; dense ranks so that
    # equal trials tie and any violation, however large, stays comparable
    ranked: list[tuple[float, float]] = list(zip(violation, order, strict=True))
    dense = {k: float(i) for i, k in enumerate(sorted(set(ranked)))}
    return [dense[k] for k in ranked]


def _dominates(a: list[float], b: list[float]) -> bool:
    return all(x <= y for x, y in zip(a, b, strict=True)) and any(x < y for x, y in zip(a, b, strict=True))


class ChildSampler(optuna.samplers.BaseSampler, abc.ABC):
    """A sampler proposing one child configuration per trial (`child`), random where it has none."""

    def __init__(self, *, seed: int | None = None, constraints_func: ConstraintsFunc | None = None) -> None:
        self._seed = seed
        self._constraints = constraints_func
        self._random = optuna.samplers.RandomSampler(seed=seed)
        self._memo: OrderedDict[tuple[str, int], tuple[dict[str, Any], optuna.samplers.RandomSampler]] = OrderedDict()

    @abc.abstractmethod
    def child(self, study: Study, trial: FrozenTrial, rng: np.random.RandomState) -> dict[str, Any] | None:
        """The child of ``trial`` from the study's stored trials, or None for a random configuration."""

    def reseed_rng(self) -> None:
        self._seed = None
        self._random.reseed_rng()

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return {}  # conditional spaces: every parameter goes through sample_independent, in the order asked

    def sample_relative(self, study: Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return {}

    def _rng(self, number: int) -> np.random.RandomState:
        if self._seed is None:
            return np.random.RandomState()
        # one stream per trial: a trial's draw depends on the seed, its number and the stored trials only
        return np.random.RandomState(np.random.SeedSequence([self._seed, number]).generate_state(1)[0])

    def _state(self, study: Study, trial: FrozenTrial) -> tuple[dict[str, Any], optuna.samplers.RandomSampler]:
        key = (study.study_name, trial.number)
        if key not in self._memo:
            rng = self._rng(trial.number)
            proposed = self.child(study, trial, rng) or {}
            fallback = optuna.samplers.RandomSampler(seed=int(rng.randint(2**31)) if self._seed is not None else None)
            self._memo[key] = (proposed, fallback)
            while len(self._memo) > MEMO_SIZE:
                self._memo.popitem(last=False)
        return self._memo[key]

    def sample_independent(self, study: Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        proposed, fallback = self._state(study, trial)
        value = proposed.get(param_name)
        if param_name in proposed and contains(param_distribution, value):
            return value
        return fallback.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study: Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        self._memo.pop((study.study_name, trial.number), None)

    def finished(self, study: Study, trial: FrozenTrial) -> list[FrozenTrial]:
        """The study's COMPLETE trials other than ``trial``, oldest completion first (the population's age)."""
        done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.number != trial.number]
        return sorted(done, key=lambda t: (t.datetime_complete or t.datetime_start, t.number))
