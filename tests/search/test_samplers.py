"""optnas's evolution and local-search samplers on real studies: a journal file, several processes, a space file."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

import optnas
from optnas.search import SearchSpace, run_search
from optnas.search.samplers import EvolutionSampler, LocalSearchSampler
from optnas.search.samplers._child import ranks

optuna.logging.set_verbosity(optuna.logging.WARNING)
CHOICES = list(range(8))


def conditional(trial: optuna.Trial) -> float:
    """A conditional space like optnas's: the family decides which parameter exists. Minimum 0 at (b, 0, 0)."""
    family = trial.suggest_categorical("family", ["a", "b"])
    x = trial.suggest_categorical(f"{family}.x", CHOICES)
    y = trial.suggest_int("y", 0, 7)
    return (x + y) + (3.0 if family == "a" else 0.0)


def journal(path: Path) -> optuna.storages.JournalStorage:
    return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(path)))


def differs_by_one(trial: optuna.trial.FrozenTrial, others: list[optuna.trial.FrozenTrial]) -> bool:
    """``trial`` is one earlier trial with one shared parameter changed (params the change switched on aside)."""
    return any(sum(t.params[n] != v for n, v in trial.params.items() if n in t.params) == 1 for t in others)


@pytest.mark.parametrize("make", [lambda s: EvolutionSampler(population=6, sample_size=3, seed=s),
                                  lambda s: LocalSearchSampler(n_startup_trials=4, seed=s)], ids=["evolution", "local"])
def test_children_are_one_change_from_a_finished_trial_and_find_the_optimum(make, tmp_path):
    storage = journal(tmp_path / "j.log")
    study = optuna.create_study(storage=storage, study_name="s", sampler=make(0))
    study.optimize(conditional, n_trials=60)
    trials = optuna.load_study(study_name="s", storage=storage).trials  # read back from the file
    children = trials[6:]
    assert sum(differs_by_one(t, trials[: t.number]) for t in children) >= 0.9 * len(children)
    assert study.best_value <= 1.0  # random search over 2 x 8 x 8 = 128 points reaches <= 1 in 60 draws 40% of the time
    # same seed, same trials: the search is a function of the stored trials and the seed
    again = optuna.create_study(sampler=make(0))
    again.optimize(conditional, n_trials=60)
    assert [t.params for t in again.trials] == [t.params for t in study.trials]


def test_local_search_never_repeats_a_neighbour_until_exhausted():
    study = optuna.create_study(sampler=LocalSearchSampler(n_startup_trials=1, seed=3))
    study.optimize(lambda t: t.suggest_categorical("x", CHOICES) + 10 * t.suggest_categorical("z", [0, 1]), n_trials=16)
    seen = [(t.params["x"], t.params["z"]) for t in study.trials]
    assert len(set(seen)) == len(seen) == 16  # the whole 8 x 2 space, each point once


def test_constraints_rank_feasible_first_and_the_search_stays_feasible():
    # minimize x, but x < 5 violates the constraint: the best feasible point is x = 5
    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_int("x", 0, 20)
        trial.set_user_attr("c", [5.0 - x])
        return float(x)

    def cons(t: optuna.trial.FrozenTrial) -> list[float]:
        return t.user_attrs["c"]  # what optnas passes (study._constraints reads the user attrs)

    for sampler in (EvolutionSampler(population=5, sample_size=5, seed=1, constraints_func=cons),
                    LocalSearchSampler(n_startup_trials=5, seed=1, constraints_func=cons)):
        study = optuna.create_study(sampler=sampler)
        study.optimize(objective, n_trials=60)
        trials = study.trials
        x = [t.params["x"] for t in trials]
        assert 5 in x, type(sampler).__name__
        if isinstance(sampler, EvolutionSampler):
            # children of the feasible best crowd around 5, not around the (infeasible) unconstrained best 0
            assert sum(4 <= v <= 6 for v in x[30:]) >= 15, x
        else:
            # until 5 is found, every move is one step from a feasible centre (x >= 5), never from 0..4
            found = x.index(5)
            assert all(any(abs(x[i] - x[j]) == 1 and x[j] >= 5 for j in range(i)) for i in range(5, found + 1)), x


def test_several_objectives_rank_by_pareto_front():
    make = lambda v: optuna.trial.create_trial(values=v, params={}, distributions={})  # noqa: E731
    trials = [make([1, 5]), make([2, 2]), make([5, 1]), make([3, 3]), make([6, 6]), make([2, 6])]
    directions = [optuna.study.StudyDirection.MINIMIZE] * 2
    assert ranks(trials, directions, None) == [0.0, 0.0, 0.0, 1.0, 2.0, 1.0]
    maximize = [optuna.study.StudyDirection.MAXIMIZE, optuna.study.StudyDirection.MINIMIZE]
    assert ranks(trials, maximize, None)[4] == 0.0  # (6, 6): the largest first objective
    study = optuna.create_study(directions=["minimize", "minimize"],
                                sampler=EvolutionSampler(population=8, sample_size=4, seed=0))
    study.optimize(lambda t: (t.suggest_int("x", 0, 15), 15 - t.suggest_int("x", 0, 15) + t.suggest_int("y", 0, 5)),
                   n_trials=40)
    assert sum(differs_by_one(t, study.trials[: t.number]) for t in study.trials[8:]) >= 28


def test_ranks_put_every_feasible_trial_first_and_tie_equal_ones():
    make = lambda v, c: optuna.trial.create_trial(value=v, params={}, distributions={},  # noqa: E731
                                                  user_attrs={"c": c})
    trials = [make(1.0, [1e308]), make(5.0, [0.0]), make(3.0, [-1.0]), make(3.0, [-2.0]), make(0.0, [2.0])]
    got = ranks(trials, [optuna.study.StudyDirection.MINIMIZE], lambda t: t.user_attrs["c"])
    assert got == [3.0, 1.0, 0.0, 0.0, 2.0]  # feasible by value (3 = 3 tie), then by violation, however large


def _worker(path: str, name: str, kind: str) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = EvolutionSampler(population=6, sample_size=3) if kind == "evolution" else LocalSearchSampler(
        n_startup_trials=4)
    study = optuna.load_study(study_name=name, storage=journal(Path(path)), sampler=sampler)

    def objective(trial: optuna.Trial) -> float:
        trial.set_user_attr("pid", os.getpid())
        time.sleep(0.05)  # a training's length, so the three processes interleave
        return conditional(trial)

    study.optimize(objective, n_trials=20)


@pytest.mark.parametrize("kind", ["evolution", "local"])
def test_processes_sharing_one_journal_sample_from_the_stored_trials(kind, tmp_path):
    """Three processes, one study: each sees the others' trials in storage (no state in its own memory)."""
    path = tmp_path / "j.log"
    optuna.create_study(storage=journal(path), study_name="shared")
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    procs = [ctx.Process(target=_worker, args=(str(path), "shared", kind)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    trials = optuna.load_study(study_name="shared", storage=journal(path)).trials
    assert len(trials) == 60 and all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    late = trials[20:]
    assert sum(differs_by_one(t, trials[: t.number]) for t in late) >= 0.8 * len(late)
    assert min(t.value for t in trials) <= 3.0  # 11 of the 128 points; random misses them all in 0.5% of runs

    def parents(t: optuna.trial.FrozenTrial) -> set[int]:
        return {u.user_attrs["pid"] for u in trials[: t.number] if differs_by_one(t, [u])}

    # children with a parent that ran in another process: the population is read from the shared storage
    assert sum(bool(parents(t) - {t.user_attrs["pid"]}) for t in late) >= 0.3 * len(late)
    if kind == "local":  # a neighbour of a finished or running trial is not proposed twice
        params = [tuple(sorted(t.params.items())) for t in late]
        assert len(set(params)) >= 0.9 * len(params)


SPACE = """
task: {name: rings, params: {n_samples: 300}}
train: {epochs: 1, batch_size: 64, lr: 0.01}
space:
  algorithm: {gd: {}, heavy_ball: {beta: {low: 0.0, high: 0.9}}}
  block: {mlp2: {hidden: 8}}
  activation: [relu, tanh]
  depth: {low: 2, high: 3}
  width: [4, 8]
pruner: {name: none}
constraints: {max_params: 100000}
sampler: %s
trials: 8
"""


EVOLUTION = "{name: evolution, params: {population: 3, sample_size: 2}}"
LOCAL = "{name: local, params: {n_startup_trials: 2}}"


def test_a_space_file_names_them(write_space):
    named = ((EVOLUTION, EvolutionSampler), (LOCAL, LocalSearchSampler), ("{name: evolution}", EvolutionSampler))
    for text, cls in named:
        assert isinstance(optnas.search.study.make_sampler(SearchSpace.from_yaml(write_space(SPACE % text)), 0), cls)


@pytest.mark.parametrize("sampler", [EVOLUTION, pytest.param(LOCAL, marks=pytest.mark.slow)],
                         ids=["evolution", "local"])
def test_two_optnas_workers_share_the_study(sampler, write_space, tmp_path):
    path = write_space(SPACE % sampler)
    storage = str(tmp_path / "j.log")
    proc = subprocess.run([sys.executable, "-m", "optnas", "search", str(path), "--jobs", "2", "--storage", storage,
                           "--no-progress"], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    study = optuna.load_study(study_name="fast", storage=optnas.search.open_storage(storage))
    assert sorted(t.number for t in study.trials) == list(range(8))
    assert all(t.user_attrs["status"] == "complete" for t in study.trials)
    assert sum(differs_by_one(t, study.trials[: t.number]) for t in study.trials[4:]) >= 2


@pytest.mark.parametrize("params, needle", [
    ("{name: evolution, params: {population: 1}}", "population=1 is invalid: it must be an integer >= 2"),
    ("{name: evolution, params: {population: 4, sample_size: 5}}", "sample_size=5 is invalid"),
    ("{name: evolution, params: {population: true}}", "population=True is invalid"),
    ("{name: local, params: {n_startup: 3}}", "unknown parameter 'n_startup'; valid: n_startup_trials"),
])
def test_bad_params_are_one_usage_error_naming_them(params, needle, write_space, tmp_path):
    space = SearchSpace.from_yaml(write_space(SPACE % params))
    with pytest.raises(optnas.errors.UsageError, match="sampler.params") as info:
        run_search(space, storage=str(tmp_path / "j.log"), progress=False)
    assert needle in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "j.log").exists()
