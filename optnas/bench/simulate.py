"""Replay a search over a table: any Optuna sampler (and pruner) asks, the table answers, a clock ticks.

Like NAS-Bench-201's ``simulate_train_eval`` and Syne Tune's blackbox simulator, a trial costs what its
row's training cost (``train_s``, or a share of it when pruned after epoch e: (e+1)/epochs of it), and a
pruner sees the row's stored validation curve epoch by epoch. Each draw picks one of the architecture's
seeds at random, as a real search sees one noisy training. The space is the table's own: categorical
algorithm, schedule, activation, depth and width, with a parameter's choices conditional on the algorithm
where they differ (implicit networks take only the globally Lipschitz activations), as in a search-space
file. A draw the table lacks (an uncertified corner, or a cell a partial build has not reached) and a draw
the optional zero-cost screen rejects (told PRUNED) cost nothing and do not count as trials: a real search
certifies or screens before it trains. On a partial table most draws would miss; ``missing="nearest"``
answers a grid cell not yet built with its nearest built neighbour (fewest differing coordinates, ties
at random), as Syne Tune's nearest-neighbour surrogate does; uncertified corners still FAIL.
"""

from __future__ import annotations

import copy
import math
import multiprocessing
import os
import random
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
import pandas as pd

from .._validate import is_number
from . import grid
from .table import SPEC_COLUMNS, load

SamplerLike = optuna.samplers.BaseSampler | Callable[..., optuna.samplers.BaseSampler]
PrunerLike = optuna.pruners.BasePruner | Callable[[], optuna.pruners.BasePruner] | None
MAX_DRAWS_PER_TRIAL = 50
# spec fields a table may vary beyond its five grid columns (the signal table: preact_conv and mlp2 blocks);
# where one varies it is a searched coordinate too, else two architectures would answer one draw
EXTRA_KEYS = ("block", "stages")


def key_columns(df: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """``df`` with a column for each spec field in `EXTRA_KEYS` that varies across it, and the columns that
    name an architecture's grid cell (the five of `SPEC_COLUMNS`, then those)."""
    columns = list(SPEC_COLUMNS)
    for field in EXTRA_KEYS:
        if field in df.columns or "spec" not in df.columns:
            continue
        values = df["spec"].map(lambda spec, f=field: spec.get(f))
        if values.nunique(dropna=False) > 1:
            df = df.assign(**{field: values})
            columns.append(field)
    return df, tuple(columns)


@dataclass(frozen=True)
class Simulation:
    """Each repeat's search: ``best`` (repeats × trials) is the best validation metric of a fully trained
    trial so far (NaN before the first), ``best_mean`` the incumbent architecture's mean validation metric
    over the table's seeds (what the search really found, free of a lucky seed), ``test`` its test metric,
    ``elapsed`` the simulated seconds spent when each trial ended, ``draws`` the sampler's asks per repeat
    (trials plus misses and screened draws)."""

    best: np.ndarray
    best_mean: np.ndarray
    test: np.ndarray
    elapsed: np.ndarray
    draws: np.ndarray
    table_best: float  # the table's best architecture by mean validation metric over seeds
    table_best_test: float

    def per_second(self, horizon: float | None = None, step: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """(times, best at each time): the best-so-far on a grid of simulated seconds, repeats × times."""
        end = float(np.nanmax(self.elapsed)) if horizon is None else horizon
        times = np.arange(step, end + step, step)
        out = np.full((self.best.shape[0], times.size), np.nan)
        for r in range(self.best.shape[0]):
            idx = np.searchsorted(self.elapsed[r], times, side="right") - 1
            ok = idx >= 0
            out[r, ok] = self.best[r, idx[ok]]
        return times, out

    def regret(self) -> np.ndarray:
        """table_best − best_mean, per repeat and trial (NaN before a first full trial); >= 0."""
        return self.table_best - self.best_mean

    def trials_to(self, tolerance: float) -> np.ndarray:
        """Per repeat, the trials needed until regret <= tolerance (inf where never reached)."""
        hit = self.regret() <= tolerance
        return np.where(hit.any(axis=1), hit.argmax(axis=1) + 1, np.inf)

    def seconds_to(self, tolerance: float) -> np.ndarray:
        """Per repeat, the simulated seconds spent until regret <= tolerance (inf where never reached): what
        a pruner saves shows here, not in trials."""
        hit = self.regret() <= tolerance
        first = hit.argmax(axis=1)
        return np.where(hit.any(axis=1), self.elapsed[np.arange(len(first)), first], np.inf)


class _Table:
    """The arrays one replay reads, keyed by the spec's five grid coordinates."""

    def __init__(self, df: pd.DataFrame, time_column: str, missing: str) -> None:
        df, self.columns = key_columns(df)
        self.rows: dict[tuple[Any, ...], list[int]] = {}
        for i, key in enumerate(zip(*(df[c] for c in self.columns), strict=True)):
            self.rows.setdefault(tuple(key), []).append(i)
        self.missing = missing
        self.keys = list(self.rows)
        self.key_of = {i: k for k, rows in self.rows.items() for i in rows}
        self.grid = _grid_keys(df, self.columns) if missing == "nearest" else None
        complete = df["status"] == "complete"
        self.val = [float(v) if ok else math.nan for v, ok in zip(df["val_metric"], complete, strict=True)]
        self.test = [float(v) if ok else math.nan for v, ok in zip(df["test_metric"], complete, strict=True)]
        self.cost = [float(v) for v in df[time_column]]
        self.curves = [list(c) for c in df["val_curve"]]
        arch_mean = df.assign(_v=self.val).groupby("arch")["_v"].transform("mean")
        self.arch_mean = [float(v) for v in arch_mean]  # NaN seeds are skipped: a diverged seed is a FAIL
        self.epochs = int(max(len(c) for c in self.curves))
        means = df.assign(_v=self.val).groupby("arch")["_v"].mean()
        best_arch = means.idxmax()
        self.best = float(means.max())
        self.best_test = float(df[df["arch"] == best_arch]["test_metric"].mean())
        self.choices = self._choices(df)

    def _choices(self, df: pd.DataFrame) -> dict[str, dict[str, list[Any]]]:
        """algorithm -> {column: its sorted choices for that algorithm}."""
        out: dict[str, dict[str, list[Any]]] = {}
        for algorithm, rows in df.groupby("algorithm"):
            out[str(algorithm)] = {c: sorted(rows[c].unique().tolist()) for c in self.columns[1:]}
        return out

    def suggest(self, trial: optuna.Trial) -> tuple[Any, ...]:
        algorithm = trial.suggest_categorical("algorithm", sorted(self.choices))
        key: list[Any] = [algorithm]
        for column in self.columns[1:]:
            mine = self.choices[algorithm][column]
            every = sorted({v for c in self.choices.values() for v in c[column]})
            # a parameter keeps its name where its choices are the table's; else the name says which
            name = column if mine == every else f"{column}[{','.join(map(str, mine))}]"
            key.append(trial.suggest_categorical(name, mine))
        return tuple(key)


    def lookup(self, key: tuple[Any, ...], rng: random.Random, cache: dict[tuple[Any, ...], Any]) -> Any:
        """The rows answering ``key``: its own, its nearest built neighbour's (missing="nearest"), or None."""
        rows = self.rows.get(key)
        if rows or self.grid is None or key not in self.grid:
            return rows
        if key not in cache:
            dist = [sum(a != b for a, b in zip(key, k, strict=True)) for k in self.keys]
            low = min(dist)
            cache[key] = self.rows[rng.choice([k for k, d in zip(self.keys, dist, strict=True) if d == low])]
        return cache[key]


def _grid_keys(df: pd.DataFrame, columns: tuple[str, ...]) -> set[tuple[Any, ...]] | None:
    name = df.attrs.get("meta", {}).get("table")
    if name not in grid.TABLES:
        return None  # not a registered table: no grid to tell an unbuilt cell from an uncertified one
    return {tuple(getattr(s, c) for c in columns) for s in grid.cells(name)}


_STATE: dict[str, Any] = {}  # what forked workers inherit: the table, the sampler and pruner factories


def _make(obj: Any, seed: int, kind: type) -> Any:
    if obj is None or isinstance(obj, kind):
        return copy.deepcopy(obj)  # a shared instance: each repeat starts from the same state
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # QMC, GP: the user chose them
        try:
            return obj(seed=seed)
        except TypeError:
            return obj()


def study_name(seed: int) -> str:
    """The name of the in-memory study of the repeat seeded ``seed`` (see `simulate`).

    Example:
        >>> study_name(3)
        'optnas-bench-simulate-3'
    """
    return f"optnas-bench-simulate-{seed}"


def _tell_untrained(study: optuna.Study, trial: optuna.Trial, state: optuna.trial.TrialState,
                    penalty: float | None) -> None:
    """A draw that trains nothing: ``state``, or COMPLETE with ``penalty`` (see `simulate`)."""
    if penalty is None:
        study.tell(trial, state=state)
    else:
        study.tell(trial, penalty)


def _repeat(r: int) -> tuple[list[float], list[float], list[float], list[float], int]:
    t: _Table = _STATE["table"]
    trials, seed, screen, penalty = _STATE["trials"], _STATE["seed"] + r, _STATE["screen"], _STATE["penalty"]
    sampler = _make(_STATE["sampler"], seed, optuna.samplers.BaseSampler)
    pruner = _make(_STATE["pruner"], seed, optuna.pruners.BasePruner) or optuna.pruners.NopPruner()
    # named from the seed, never Optuna's random default: HyperbandPruner picks a trial's bracket from a hash
    # of the study name, so an unnamed study replays differently each call
    study = optuna.create_study(study_name=study_name(seed), direction="maximize", sampler=sampler, pruner=pruner)
    rng = random.Random(seed)
    nearest: dict[tuple[Any, ...], Any] = {}
    best, best_mean, best_test, clock = math.nan, math.nan, math.nan, 0.0
    out_best: list[float] = []
    out_mean: list[float] = []
    out_test: list[float] = []
    out_time: list[float] = []
    draws = 0
    while len(out_best) < trials and draws < MAX_DRAWS_PER_TRIAL * trials:
        draws += 1
        trial = study.ask()
        key = t.suggest(trial)
        rows = t.lookup(key, rng, nearest)
        if not rows:  # uncertified (or unbuilt): nothing to train
            _tell_untrained(study, trial, optuna.trial.TrialState.FAIL, penalty)
            continue
        if screen is not None and t.key_of[rows[0]] not in screen:
            # screened out before training: PRUNED (no value) so TPE & co. count it as a bad region instead
            # of ignoring it (FAIL) and proposing it again and again
            _tell_untrained(study, trial, optuna.trial.TrialState.PRUNED, penalty)
            continue
        i = rows[rng.randrange(len(rows))]
        curve, full = t.curves[i], t.cost[i]
        state, value = optuna.trial.TrialState.COMPLETE, t.val[i]
        if math.isnan(value):
            state = optuna.trial.TrialState.FAIL  # diverged: optnas records a failed trial
            clock += full
        else:
            for e, v in enumerate(curve):
                trial.report(v, e)
                if e + 1 < len(curve) and trial.should_prune():
                    state = optuna.trial.TrialState.PRUNED
                    clock += full * (e + 1) / t.epochs
                    break
            else:
                clock += full
        if state == optuna.trial.TrialState.COMPLETE:
            study.tell(trial, value)
            if math.isnan(best) or value > best:
                best, best_mean, best_test = value, t.arch_mean[i], t.test[i]
        else:
            study.tell(trial, state=state)
        out_best.append(best)
        out_mean.append(best_mean)
        out_test.append(best_test)
        out_time.append(clock)
    while len(out_best) < trials:  # the draw cap ran out (a tiny partial table): pad, flagged by `draws`
        out_best.append(best)
        out_mean.append(best_mean)
        out_test.append(best_test)
        out_time.append(clock)
    return out_best, out_mean, out_test, out_time, draws


ScreenLike = tuple[str, float] | Callable[[dict[str, Any]], bool] | None


def _screen_keys(df: pd.DataFrame, screen: ScreenLike) -> set[tuple[Any, ...]] | None:
    if screen is None:
        return None
    if callable(screen):  # a rule on the architecture's spec (the theory's screens): True keeps it
        df, columns = key_columns(df)
        first = df.groupby([df[c] for c in columns], sort=False)["spec"].first()
        return {tuple(k) for k, spec in first.items() if screen(spec)}
    column, share = screen
    if column not in df.columns or not 0 <= share < 1:
        raise ValueError(f"screen={screen!r} is invalid: it must be (a proxy column of the table, a share in [0, 1))")
    df, columns = key_columns(df)
    # higher is better, the mean over the seeds where it is known (`quality`); an architecture whose proxy
    # could not be computed (NaN) has no rank, so it is kept rather than screened out as if it were the worst
    per_arch = pd.to_numeric(df[column], errors="coerce").groupby([df[c] for c in columns]).mean()
    kept = per_arch[~(per_arch < per_arch.quantile(share))]
    return {tuple(k) for k in kept.index}


def simulate(
    name: str | pd.DataFrame,
    sampler: SamplerLike,
    *,
    trials: int,
    repeats: int,
    seed: int = 0,
    pruner: PrunerLike = None,
    screen: ScreenLike = None,
    time_column: str = "train_s",
    missing: str = "fail",
    jobs: int | None = None,
    penalty: float | None = None,
) -> Simulation:
    """Run ``repeats`` searches of ``trials`` trials each over table ``name`` (or a table DataFrame).

    ``sampler`` and ``pruner``: an instance (copied for each repeat) or a factory called with
    ``seed=seed + repeat`` where it accepts one (e.g. ``optuna.samplers.TPESampler``). Each repeat's study
    is named from its seed (`study_name`), so equal calls give equal results with every sampler and pruner
    (Optuna's Hyperband hashes the study name), given factories or seeded instances.
    ``screen=(column, share)`` skips, before training, the architectures whose mean ``column`` (higher is
    better) lies in the table's lowest ``share``; ``screen`` may instead be a function of an architecture's
    spec (its dict) that returns True to keep it, a rule known before training. ``missing``: "fail" or
    "nearest" (for partial tables, see the module docstring). ``jobs`` worker processes
    (default: the CPU count) run the repeats where fork is available. ``penalty``: tell draws that train
    nothing (uncertified or screened out) as COMPLETE with this value instead of FAIL / PRUNED, for samplers
    that model COMPLETE trials only (Optuna's GPSampler), which would otherwise propose them again and
    again; they still count as draws, not trials.

    Example:
        >>> import optuna, optnas.bench
        >>> sim = optnas.bench.simulate("digits", optuna.samplers.RandomSampler, trials=20, repeats=2, jobs=1)
        >>> sim.best.shape
        (2, 20)
    """
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ValueError(f"trials={trials!r} is invalid: it must be an integer >= 1")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats={repeats!r} is invalid: it must be an integer >= 1")
    df = load(name) if isinstance(name, str) else name
    if time_column not in df.columns:
        raise ValueError(f"time_column={time_column!r} is not a column of the table; use train_s or cpu_s")
    if missing not in ("fail", "nearest"):
        raise ValueError(f"missing={missing!r} is invalid; valid values: fail, nearest")
    if penalty is not None and not is_number(penalty):
        raise ValueError(f"penalty={penalty!r} is invalid: it must be a finite number (or None)")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    _STATE.update(table=_Table(df, time_column, missing), trials=trials, seed=seed, sampler=sampler, pruner=pruner,
                  screen=_screen_keys(df, screen), penalty=penalty)
    jobs = min(repeats, jobs or os.cpu_count() or 1)
    if jobs > 1 and "fork" in multiprocessing.get_all_start_methods():
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            results = list(pool.map(_repeat, range(repeats)))
    else:
        results = [_repeat(r) for r in range(repeats)]
    t: _Table = _STATE["table"]
    return Simulation(
        best=np.array([r[0] for r in results]),
        best_mean=np.array([r[1] for r in results]),
        test=np.array([r[2] for r in results]),
        elapsed=np.array([r[3] for r in results]),
        draws=np.array([r[4] for r in results]),
        table_best=t.best,
        table_best_test=t.best_test,
    )
