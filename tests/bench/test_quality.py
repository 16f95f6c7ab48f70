"""One definition of an architecture's quality (issue 26, item 2): mean over trained seeds, its standard error
and the divergence rate apart, the same in the table API, `simulate` and the benchmark analyses."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pandas as pd
import pytest

import optnas.bench
from optnas.bench.simulate import _screen_keys
from optnas.bench.table import SPEC_COLUMNS


@pytest.fixture(scope="module")
def digits() -> tuple[pd.DataFrame, pd.DataFrame]:
    return optnas.bench.load("digits"), optnas.bench.architectures("digits")


def test_quality_is_the_mean_over_trained_seeds_with_its_error_and_divergence_apart(digits) -> None:
    df, arch = digits
    assert len(arch) == df["arch"].nunique() and arch["arch"].is_unique
    partial = arch[(arch["diverged"] > 0) & (arch["trained"] >= 2)].iloc[0]  # some seeds diverged, two trained
    rows = df[df["arch"] == partial["arch"]]
    ok = rows[rows["status"] == "complete"]
    assert partial["diverged"] == pytest.approx((rows["status"] != "complete").mean())
    assert partial["val_metric"] == pytest.approx(ok["val_metric"].mean())  # not (sum of trained) / 3
    assert partial["val_metric"] > rows["val_metric"].fillna(0).mean()
    assert partial["test_metric_sem"] == pytest.approx(ok["test_metric"].std(ddof=1) / math.sqrt(len(ok)))
    dead = arch[arch["trained"] == 0]
    assert len(dead) and dead["val_metric"].isna().all() and (dead["diverged"] == 1).all()
    one = arch[arch["trained"] == 1]
    assert one["val_metric"].notna().all() and one["val_metric_sem"].isna().all()  # no spread from one seed


def test_query_aggregate_is_the_architectures_row(digits) -> None:
    _, arch = digits
    name = arch[arch["diverged"] > 0]["arch"].iloc[0]
    q = optnas.bench.query("digits", name, aggregate=True)
    assert q.equals(arch.set_index("arch", drop=False).loc[name])
    with pytest.raises(ValueError, match="aggregate"):
        optnas.bench.query("digits", name, seed=0, aggregate=True)


def test_simulate_regret_is_measured_against_the_same_best(digits) -> None:
    _, arch = digits
    sim = optnas.bench.simulate("digits", optuna.samplers.RandomSampler, trials=3, repeats=1, jobs=1)
    assert sim.table_best == pytest.approx(arch["val_metric"].max())
    best = arch.loc[arch["val_metric"].idxmax()]
    assert sim.table_best_test == pytest.approx(best["test_metric"])


def test_a_screen_keeps_what_a_proxy_could_not_score(digits) -> None:
    df, _ = digits
    unscored = df["activation"] == "mrepu"
    table = df.assign(score=np.where(unscored, np.nan, df["depth"].astype(float)))
    kept = _screen_keys(table, ("score", 0.5))
    assert kept is not None
    keys = table.drop_duplicates("arch")
    key = [tuple(k) for k in keys[list(SPEC_COLUMNS)].itertuples(index=False)]
    assert all(k in kept for k, u in zip(key, keys["activation"] == "mrepu", strict=True) if u)  # NaN isn't worst
    assert not any(k in kept for k, a, d in zip(key, keys["activation"], keys["depth"], strict=True)
                   if a != "mrepu" and d == 2)
