"""Noise-aware comparison of search strategies replayed on a table (`simulate`): targets in noise units,
bootstrap intervals, paired tests.

An architecture's quality is its mean validation metric over its *trained* seeds (a diverged seed is a
failure, counted in its divergence rate, not as accuracy 0), with its standard error std/sqrt(n) over
those seeds. The noise unit of a table is the median standard error over the architectures with at least
two trained seeds. A target is a regret tolerance (table best − incumbent's mean): a multiple of the noise
unit, or the gap from the best to the top q share of architectures by mean.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

SE_MULTIPLES = (0.5, 1.0, 2.0)
TOP_SHARES = (0.01, 0.05)
BOOTSTRAP = 2000


def quality(df: pd.DataFrame) -> pd.DataFrame:
    """One row per architecture: ``mean`` and ``se`` over trained seeds, ``trained`` seeds, ``diverged`` rate."""
    ok = df["status"] == "complete"
    val = df["val_metric"].where(ok).astype(float)
    g = df.assign(_v=val, _d=(~ok).astype(float)).groupby("arch")
    out = pd.DataFrame({"mean": g["_v"].mean(), "trained": g["_v"].count(), "diverged": g["_d"].mean()})
    out["se"] = g["_v"].std(ddof=1) / np.sqrt(out["trained"])
    return out


def targets(df: pd.DataFrame) -> dict[str, Any]:
    """The table's noise unit and its targets as regret tolerances, named ``0.5se`` ... ``top1%``.

    Example:
        >>> import optnas.bench
        >>> t = targets(optnas.bench.load("digits"))
        >>> t["tolerances"]["1se"] == t["noise_unit"] and t["tolerances"]["top1%"] <= t["tolerances"]["top5%"]
        True
    """
    q = quality(df)
    trained = q[q["trained"] >= 1]
    best = float(trained["mean"].max())
    unit = float(q.loc[q["trained"] >= 2, "se"].median())
    tol: dict[str, float] = {f"{m:g}se": m * unit for m in SE_MULTIPLES}
    for share in TOP_SHARES:
        # the share's threshold by mean; a hair of slack so float rounding never decides who is in
        tol[f"top{share:.0%}"] = best - float(trained["mean"].quantile(1 - share)) + 1e-12
    return {"noise_unit": unit, "best": best, "architectures": len(trained), "tolerances": tol,
            "definition": "quality = mean validation metric over trained seeds; noise unit = median standard error "
                          "(std/sqrt(n), n >= 2 trained seeds) over architectures; topX% = best − the X% quantile"}


def _median(x: np.ndarray, axis: int = -1) -> np.ndarray:
    # np.median with inf (not reached) as the largest value, never NaN
    return np.asarray(np.median(np.where(np.isnan(x), np.inf, x), axis=axis))


def bootstrap(values: Sequence[float], stat: Callable[[np.ndarray], np.ndarray] = _median, *,
              seed: int = 0, n: int = BOOTSTRAP) -> tuple[float, float]:
    """Percentile 95% interval of ``stat`` over ``n`` resamples of the repeats (inf allowed)."""
    x = np.asarray(values, dtype=float)
    idx = np.random.default_rng(seed).integers(0, len(x), size=(n, len(x)))
    s = stat(x[idx])
    return float(np.quantile(s, 0.025, method="lower")), float(np.quantile(s, 0.975, method="higher"))


def ratio(a: Sequence[float], b: Sequence[float], *, seed: int = 0, n: int = BOOTSTRAP) -> dict[str, float | None]:
    """median(a) / median(b) with a paired bootstrap 95% interval (the same repeat seeds resampled in both)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    m = min(len(x), len(y))
    x, y = x[:m], y[:m]
    idx = np.random.default_rng(seed).integers(0, m, size=(n, m))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = _median(x[idx]) / _median(y[idx])
        point = float(_median(x) / _median(y))
    r = np.where(np.isnan(r), np.inf, r)  # inf / inf: neither reached, no ratio
    return {"ratio": None if math.isnan(point) else point,
            "low": float(np.quantile(r, 0.025, method="lower")), "high": float(np.quantile(r, 0.975, method="higher"))}


def paired(a: Sequence[float], b: Sequence[float], budget: float) -> dict[str, Any]:
    """Wilcoxon signed-rank test of a against b paired by repeat seed (two-sided), each censored at
    ``budget`` (not reached within it = budget + 1, a tie among the not-reached), with wins (a < b),
    ties and losses."""
    m = min(len(a), len(b))
    x = np.minimum(np.asarray(a[:m], dtype=float), budget + 1)
    y = np.minimum(np.asarray(b[:m], dtype=float), budget + 1)
    d = x - y
    wins, losses = int((d < 0).sum()), int((d > 0).sum())
    p = 1.0 if wins + losses == 0 else float(sps.wilcoxon(x, y, zero_method="wilcox").pvalue)
    return {"p": p, "wins": wins, "ties": int(m - wins - losses), "losses": losses, "pairs": m, "budget": budget}


def holm(ps: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values, in the given order.

    Example:
        >>> holm([0.01, 0.04, 0.03])
        [0.03, 0.06, 0.06]
    """
    order = sorted(range(len(ps)), key=lambda i: ps[i])
    out = [0.0] * len(ps)
    running = 0.0
    for k, i in enumerate(order):
        running = max(running, min(1.0, (len(ps) - k) * ps[i]))
        out[i] = round(running, 12)
    return out
