"""`simulate`'s search space follows the table: a spec field the table varies beyond the five grid columns
(the signal table's blocks) is searched too, so each draw names one architecture."""

from __future__ import annotations

import optuna
import pandas as pd

import optnas.bench
from optnas.bench.simulate import key_columns


def _two_blocks() -> pd.DataFrame:
    """digits' first 40 architectures, each also as a 'conv' twin scoring 0.1 lower (a table varying block)."""
    df = optnas.bench.load("digits")
    df = df[df["arch"].isin(df["arch"].unique()[:40])]
    twin = df.copy()
    twin["spec"] = twin["spec"].map(lambda s: {**s, "block": "preact_conv"})
    twin["arch"] = twin["arch"] + "-conv"
    twin["val_metric"] = twin["val_metric"] - 0.1
    return pd.concat([df, twin], ignore_index=True)


def test_a_varied_block_is_a_searched_coordinate():
    df = _two_blocks()
    _, columns = key_columns(df)
    assert columns[-1] == "block" and key_columns(optnas.bench.load("digits"))[1] == optnas.bench.table.SPEC_COLUMNS

    def conv_only(seed: int) -> optuna.samplers.BaseSampler:
        return optuna.samplers.PartialFixedSampler({"block": "preact_conv"}, optuna.samplers.RandomSampler(seed=seed))

    sim = optnas.bench.simulate(df, conv_only, trials=30, repeats=2, jobs=1)
    # "block" is a parameter of the replayed space: fixed to the twin, every incumbent is a twin
    trained = df[df["status"] == "complete"].groupby("arch")["val_metric"].mean().round(9)
    twins = set(trained[trained.index.str.endswith("-conv")])
    assert {round(float(v), 9) for v in sim.best_mean.ravel() if v == v} <= twins
