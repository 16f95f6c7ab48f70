"""optnas.bench.stats against closed forms and known values: quality, noise targets, bootstrap, paired tests."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

import optnas.bench
from optnas.bench import stats


def _table(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame([{"arch": a, "status": s, "val_metric": v} for a, s, v in rows])


def test_quality_is_the_mean_over_trained_seeds_with_its_standard_error_and_divergence_rate():
    df = _table([("a", "complete", 0.5), ("a", "complete", 0.7), ("a", "diverged", float("nan")),
                 ("b", "complete", 0.6), ("b", "complete", 0.6), ("b", "complete", 0.6)])
    q = stats.quality(df)
    assert q.loc["a", "mean"] == pytest.approx(0.6) and q.loc["a", "trained"] == 2
    assert q.loc["a", "diverged"] == pytest.approx(1 / 3)  # a diverged seed is a rate, never accuracy 0
    assert q.loc["a", "se"] == pytest.approx(np.std([0.5, 0.7], ddof=1) / math.sqrt(2))
    assert q.loc["b", "se"] == 0.0
    t = stats.targets(df)
    assert t["best"] == pytest.approx(0.6) and t["noise_unit"] == pytest.approx(np.median([0.1, 0.0]))
    assert t["tolerances"]["2se"] == pytest.approx(2 * t["noise_unit"])


def test_targets_of_a_shipped_table_are_in_its_noise():
    df = optnas.bench.load("mnist1d")
    t = stats.targets(df)
    # three seeds at a ~1.5-point seed-to-seed std: a standard error near 1.5/sqrt(3) points
    assert 0.004 < t["noise_unit"] < 0.015
    means = stats.quality(df)["mean"]
    within = (means >= t["best"] - t["tolerances"]["top1%"]).sum()
    assert within == math.ceil(0.01 * means.notna().sum()) or abs(within - 0.01 * means.notna().sum()) <= 2


def test_bootstrap_interval_holds_the_median_and_handles_not_reached():
    rng = np.random.default_rng(1)
    x = rng.normal(100, 10, 200)
    lo, hi = stats.bootstrap(x)
    assert lo < np.median(x) < hi and hi - lo < 6  # ~ 2 x 1.96 x 1.25 x 10 / sqrt(200) = 3.5
    lo, hi = stats.bootstrap([1, 2, math.inf, math.inf, math.inf])
    assert hi == math.inf  # a median not reached in most resamples has no finite upper end


def test_ratio_and_the_paired_test():
    a, b = np.arange(1, 31, dtype=float), 2 * np.arange(1, 31, dtype=float)
    r = stats.ratio(a, b)
    assert r["ratio"] == pytest.approx(0.5) and r["low"] <= 0.5 <= r["high"]
    p = stats.paired(a, b, budget=100)
    assert p["wins"] == 30 and p["losses"] == 0 and p["p"] == pytest.approx(sps.wilcoxon(a, b).pvalue)
    # not reached on both sides within the budget: a tie, not a win
    p = stats.paired([5, math.inf, 400], [10, math.inf, math.inf], budget=300)
    assert (p["wins"], p["ties"], p["losses"]) == (1, 2, 0)


def test_holm_matches_the_step_down_closed_form():
    ps = [0.01, 0.02, 0.03, 0.5]
    assert stats.holm(ps) == pytest.approx([0.04, 0.06, 0.06, 0.5])
    assert stats.holm([0.9, 0.8]) == [1.0, 1.0]  # 2 x 0.8 capped at 1


def test_seconds_to_target_reads_the_clock_of_the_first_hit():
    sim = optnas.bench.simulate("digits", optnas.search.samplers.EvolutionSampler, trials=40, repeats=2, jobs=1)
    tol = 0.05
    trials, seconds = sim.trials_to(tol), sim.seconds_to(tol)
    for r in range(2):
        if np.isfinite(trials[r]):
            assert seconds[r] == sim.elapsed[r, int(trials[r]) - 1]
        else:
            assert seconds[r] == math.inf
