"""`results.ranking` (numpy, what every view ranks by) agrees with `outcome.ranking` (the rule, in Python)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optnas import outcome, results

SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0]


@pytest.mark.parametrize("seed", range(40))
def test_numpy_ranking_is_the_rule(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(0, 60)), int(rng.integers(1, 4))
    directions = [str(d) for d in rng.choice(["maximize", "minimize"], size=k)]
    # few distinct values, so ties on the first objectives are common; some NaN/inf/-0.0 and non-complete rows
    values = rng.choice([0.1, 0.5, 0.9, 3.0, *SPECIAL], size=(n, k), p=[0.18] * 4 + [0.056] * 5)
    numbers = rng.permutation(n * 3)[:n]  # not in row order, not contiguous
    states = rng.choice(["COMPLETE", "PRUNED", "FAIL"], size=n, p=[0.8, 0.1, 0.1])
    names = [f"m{i}_metric" for i in range(k)]
    columns = {f"objective_{m}": values[:, i] for i, m in enumerate(names)}
    df = pd.DataFrame({"number": numbers, "state": states, **columns})
    df.attrs["objectives"] = [{"name": m, "direction": d} for m, d in zip(names, directions, strict=True)]
    done = [(int(num), list(map(float, row))) for num, row, st in zip(numbers, values, states, strict=True)
            if st == "COMPLETE"]
    assert results.ranking(df) == outcome.ranking(done, directions)


def test_ranking_of_an_empty_or_unfinished_study() -> None:
    df = pd.DataFrame({"number": [0, 1], "state": ["RUNNING", "FAIL"], "val_metric": [0.5, 0.9]})
    assert results.ranking(df) == [] == results.ranking(df.iloc[:0])
