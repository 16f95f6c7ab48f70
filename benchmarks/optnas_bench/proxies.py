"""Zero-cost proxies against final accuracy on the optnas-bench tables (issue 17, item 3).

Per architecture (mean over seeds; a diverged seed counts accuracy 0): Spearman ρ and Kendall τ of each
proxy with the final test accuracy, and the share of the true top 5% kept when the lowest-scoring share
(25/50/75/90%) of architectures is screened out. A NaN proxy (the init forward overflowed) ranks last.
Combinations: the mean rank of every pair and triple of proxies, chosen on MNIST-1D only and checked on
digits. Run from the repository root:
    python benchmarks/optnas_bench/proxies.py      # writes proxies.json and proxies.html here
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).parent))
from common import HERE, PROXY_COLUMNS, TABLES, counts, load, per_arch, write_figure, write_json

SHARES = (0.25, 0.5, 0.75, 0.9)
TOP = 0.05


def score_ranks(arch: pd.DataFrame, columns: tuple[str, ...]) -> pd.Series:
    """Mean rank of the columns (NaN ranks last): one combined proxy, higher is better."""
    ranks = [arch[c].rank(na_option="bottom", method="average") for c in columns]
    return sum(ranks) / len(ranks)  # type: ignore[return-value]


def evaluate(arch: pd.DataFrame, score: pd.Series) -> dict[str, Any]:
    s = score.fillna(-np.inf)
    sp = stats.spearmanr(s, arch["test"])
    rho = sp.statistic
    tau = stats.kendalltau(s, arch["test"]).statistic
    n_top = max(1, round(TOP * len(arch)))
    top = set(arch["test"].nlargest(n_top).index)
    keep = {}
    for share in SHARES:
        kept = set(s.nlargest(len(arch) - int(share * len(arch))).index)
        keep[str(share)] = len(top & kept) / len(top)
    return {"spearman": float(rho), "spearman_p": float(sp.pvalue), "kendall": float(tau), "top5_kept": keep,
            "n": len(arch), "n_top": n_top}


def analyse(name: str) -> dict[str, Any]:
    df = load(name)
    arch = per_arch(df).reset_index(drop=True)
    singles = {c: evaluate(arch, arch[c]) for c in PROXY_COLUMNS}
    combos = {}
    for k in (2, 3):
        for cols in itertools.combinations(PROXY_COLUMNS, k):
            combos["+".join(cols)] = evaluate(arch, score_ranks(arch, cols))
    return {"counts": counts(df), "single": singles, "combinations": combos}


def figure(results: dict[str, Any]) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("Spearman ρ with test accuracy",
                                                       "top-5% kept after screening out a share (MNIST-1D)"))
    for name in TABLES:
        r = results[name]
        label = f"{name} ({r['counts']['architectures']}/{r['counts']['grid_architectures']} archs)"
        fig.add_trace(go.Bar(x=list(PROXY_COLUMNS), y=[r["single"][c]["spearman"] for c in PROXY_COLUMNS],
                             name=label), row=1, col=1)
    for c in PROXY_COLUMNS:
        kept = results["mnist1d"]["single"][c]["top5_kept"]
        fig.add_trace(go.Scatter(x=[float(s) for s in kept], y=list(kept.values()), mode="lines+markers", name=c),
                      row=1, col=2)
    fig.update_xaxes(title_text="share screened out", row=1, col=2)
    fig.update_layout(title="optnas-bench zero-cost proxies (PARTIAL tables: see counts)", barmode="group",
                      height=500)
    return fig


def main() -> None:
    results: dict[str, Any] = {name: analyse(name) for name in TABLES}
    chosen = max(results["mnist1d"]["combinations"], key=lambda k: results["mnist1d"]["combinations"][k]["spearman"])
    best_single = max(PROXY_COLUMNS, key=lambda c: results["mnist1d"]["single"][c]["spearman"])
    results["selection"] = {
        "chosen_on": "mnist1d",
        "best_single": best_single,
        "best_single_spearman": {t: results[t]["single"][best_single]["spearman"] for t in TABLES},
        "best_combination": chosen,
        "best_combination_spearman": {t: results[t]["combinations"][chosen]["spearman"] for t in TABLES},
        "combination_beats_every_single_on_both": all(
            results[t]["combinations"][chosen]["spearman"] > max(v["spearman"] for v in results[t]["single"].values())
            for t in TABLES),
    }
    write_json(HERE / "proxies.json", results)
    write_figure(HERE / "proxies.html", figure(results))
    for t in TABLES:
        print(t, results[t]["counts"])
        for c in PROXY_COLUMNS:
            s = results[t]["single"][c]
            print(f"  {c:13s} rho {s['spearman']:+.3f} tau {s['kendall']:+.3f} kept@50% {s['top5_kept']['0.5']:.2f}")
    print(results["selection"])


if __name__ == "__main__":
    main()
