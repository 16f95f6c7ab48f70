"""An architecture's quality on a table: the one definition every optnas-bench view and analysis uses.

An architecture is trained once per seed. Its quality is the **mean metric over the seeds that trained**
(a diverged seed has no accuracy: it is not averaged in as 0), with the **standard error** of that mean
(sample std / √trained, NaN with fewer than two trained seeds) and the **divergence rate** (diverged
seeds / seeds) as separate columns. "Predicts divergence" and "ranks trained networks" are two questions:
an analysis answers the first from ``diverged`` and the second from ``val_metric`` / ``test_metric`` of
architectures with ``trained >= 1``. An architecture whose every seed diverged has NaN quality.

Per-seed proxies and costs are averaged over the seeds where they are known: NaN (could not be computed)
is left out, NaN only where no seed has a value; ±inf (beyond float range, e.g. synflow's overflowing
forward) is a value and makes the mean ±inf.

Example:
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"arch": ["a", "a", "a"], "seed": [0, 1, 2], "status": ["complete", "complete", "diverged"],
    ...                      "val_metric": [0.8, 0.6, None], "test_metric": [0.7, 0.5, None]})
    >>> q = aggregate(rows).iloc[0]
    >>> [round(float(q[c]), 3) for c in ("val_metric", "val_metric_sem", "diverged", "trained")]
    [0.7, 0.1, 0.333, 2.0]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

METRICS = ("val_metric", "test_metric")
# per-seed numbers averaged over an architecture's seeds where present in the table
MEANS = ("best_val_metric", "params", "flops", "train_s", "cpu_s", "grad_norm", "snip", "synflow", "fisher",
         "naswot", "jacob_cov", "theory_score", "theory_deviation")
SPEC = ("algorithm", "schedule", "activation", "depth", "width")


def aggregate(df: pd.DataFrame) -> pd.DataFrame:
    """One row per architecture of the per-seed rows ``df`` (columns ``arch``, ``seed``, ``status`` and the
    metrics): ``val_metric``, ``test_metric`` (means over trained seeds), ``val_metric_sem``,
    ``test_metric_sem``, ``diverged`` (rate), ``seeds``, ``trained``, the spec columns and ``spec`` where
    present, and the mean of each known per-seed proxy and cost (`MEANS`). Rows keep the table's order."""
    trained = df["status"] == "complete"
    work = pd.DataFrame({"arch": df["arch"], "_trained": trained.astype(float),
                         "_diverged": (~trained).astype(float)})
    for m in METRICS:
        work[m] = pd.to_numeric(df[m], errors="coerce").where(trained)
    means = [c for c in MEANS if c in df.columns]
    for c in means:
        work[c] = pd.to_numeric(df[c], errors="coerce")
    g = work.groupby("arch", sort=False)
    out = pd.DataFrame({"seeds": g.size(), "trained": g["_trained"].sum().astype(int),
                        "diverged": g["_diverged"].mean()})
    for m in METRICS:
        out[m] = g[m].mean()
        # std over the trained seeds; a single trained seed has no spread to estimate
        out[m + "_sem"] = g[m].std(ddof=1) / np.sqrt(out["trained"].where(out["trained"] > 1))
    for c in means:
        out[c] = g[c].mean()
    keep = [c for c in ("spec", *SPEC) if c in df.columns]
    first = df.drop_duplicates("arch").set_index("arch")[keep]
    ordered = ["arch", *keep, *METRICS, *(m + "_sem" for m in METRICS), "diverged", "seeds", "trained", *means]
    return first.join(out).reset_index()[ordered]
