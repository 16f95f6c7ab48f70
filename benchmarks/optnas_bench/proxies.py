"""Zero-cost proxies against final accuracy on the optnas-bench tables (issues 17 and 26).

Two questions, answered apart. **Ranking trained networks**: per architecture, its quality as
`optnas.bench.quality` defines it (mean test accuracy over the seeds that trained; an architecture whose every
seed diverged has none and is left out), Spearman ρ and Kendall τ of each proxy's mean with it, and the
share of the true top 5% kept when the lowest-scoring share (25/50/75/90%) of the scored architectures is
screened out. **Predicting divergence**: per run (a row, the proxy at that run's own initialization), the
AUC of a low score for the runs that diverged (1: the lowest scores are exactly the diverged runs; 0.5:
chance; below 0.5: diverged runs score higher). A NaN proxy (could not be computed) is never ranked: left
out of ρ, τ and the AUC (counted in ``nan``) and never screened out; +inf (synflow beyond float64) is a
value above every finite one. Combinations: the mean percentile rank of every pair and triple of proxies
(over the proxies known for that architecture), chosen on MNIST-1D only and checked on the other tables.
Run from the repository root:
    python benchmarks/optnas_bench/proxies.py      # writes proxies.json and proxies.html here
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import Any

import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).parent))
from common import HERE, PROXY_COLUMNS, counts, data_tables, load, per_arch, write_figure, write_json

SHARES = (0.25, 0.5, 0.75, 0.9)
TOP = 0.05


def score_ranks(arch: pd.DataFrame, columns: tuple[str, ...]) -> pd.Series:
    """Mean percentile rank of the columns known for each architecture (NaN only where none is): one
    combined proxy, higher is better."""
    ranks = pd.concat([arch[c].rank(pct=True, method="average") for c in columns], axis=1)
    return ranks.mean(axis=1, skipna=True)


def top_kept(score: pd.Series, quality: pd.Series, share: float) -> float:
    """Share of the top 5% by ``quality`` kept when the lowest ``share`` of the scored architectures is
    screened out by ``score``; an unscored (NaN) architecture is kept, never screened as the worst."""
    n_top = max(1, round(TOP * len(quality)))
    top = set(quality.nlargest(n_top).index)
    scored = score.dropna()
    out = set(scored.nsmallest(int(share * len(scored))).index)
    return len(top - out) / len(top)


def divergence_auc(score: pd.Series, diverged: pd.Series) -> dict[str, Any]:
    """AUC of a low score for the diverged runs (Mann-Whitney, ties count half), on the scored runs."""
    known = score.notna()
    bad, good = score[known & diverged], score[known & ~diverged]
    nan_bad = int((~known & diverged).sum())
    if bad.empty or good.empty:
        return {"auc": None, "diverged": len(bad), "trained": len(good), "nan_diverged": nan_bad}
    u = stats.mannwhitneyu(good.to_numpy(), bad.to_numpy(), alternative="two-sided")
    return {"auc": float(u.statistic / (len(good) * len(bad))), "p": float(u.pvalue), "diverged": len(bad),
            "trained": len(good), "nan_diverged": nan_bad}


def evaluate(arch: pd.DataFrame, score: pd.Series) -> dict[str, Any]:
    """ρ, τ and the screen's top-5% retention of ``score`` on the architectures with a quality."""
    trained = arch["test"].notna()
    s, q = score[trained], arch["test"][trained]
    known = s.notna()
    sp = stats.spearmanr(s[known], q[known])
    never = known & (arch["diverged"][trained] == 0)
    return {"spearman": float(sp.statistic), "spearman_p": float(sp.pvalue),
            "kendall": float(stats.kendalltau(s[known], q[known]).statistic),
            "spearman_never_diverged": float(stats.spearmanr(s[never], q[never]).statistic),
            "top5_kept": {str(share): top_kept(s, q, share) for share in SHARES},
            "n": int(known.sum()), "nan": int((~known).sum()), "n_top": max(1, round(TOP * len(q)))}


def analyse(name: str) -> dict[str, Any]:
    df = load(name)
    arch = per_arch(name)
    diverged = df["status"] != "complete"
    singles = {}
    for c in PROXY_COLUMNS:
        singles[c] = {**evaluate(arch, arch[c]),
                      "divergence": divergence_auc(pd.to_numeric(df[c], errors="coerce"), diverged)}
    combos = {}
    for k in (2, 3):
        for cols in itertools.combinations(PROXY_COLUMNS, k):
            combos["+".join(cols)] = evaluate(arch, score_ranks(arch, cols))
    quality = {"trained_architectures": int(arch["test"].notna().sum()),
               "never_diverged_architectures": int((arch["diverged"] == 0).sum()),
               "median_test_sem": float(arch["test_metric_sem"].median())}
    return {"counts": counts(df), "quality": quality, "single": singles, "combinations": combos}


def figure(results: dict[str, Any]) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("Spearman ρ with test accuracy",
                                                       "top-5% kept after screening out a share (MNIST-1D)"))
    for name in results["tables"]:
        r = results[name]
        label = f"{name} ({r['counts']['architectures']}/{r['counts']['grid_architectures']} archs)"
        fig.add_trace(go.Bar(x=list(PROXY_COLUMNS), y=[r["single"][c]["spearman"] for c in PROXY_COLUMNS],
                             name=label), row=1, col=1)
    for c in PROXY_COLUMNS:
        kept = results["mnist1d"]["single"][c]["top5_kept"]
        fig.add_trace(go.Scatter(x=[float(s) for s in kept], y=list(kept.values()), mode="lines+markers", name=c),
                      row=1, col=2)
    fig.update_xaxes(title_text="share screened out", row=1, col=2)
    fig.update_layout(title="optnas-bench zero-cost proxies on trained architectures (mean over trained seeds)",
                      barmode="group", height=500)
    return fig


def main() -> None:
    tables = data_tables()
    results: dict[str, Any] = {"tables": list(tables), **{name: analyse(name) for name in tables}}
    held_out = [t for t in tables if t != "mnist1d"]
    chosen = max(results["mnist1d"]["combinations"], key=lambda k: results["mnist1d"]["combinations"][k]["spearman"])
    best_single = max(PROXY_COLUMNS, key=lambda c: results["mnist1d"]["single"][c]["spearman"])
    results["selection"] = {
        "chosen_on": "mnist1d",
        "held_out": held_out,
        "best_single": best_single,
        "best_single_spearman": {t: results[t]["single"][best_single]["spearman"] for t in tables},
        "best_combination": chosen,
        "best_combination_spearman": {t: results[t]["combinations"][chosen]["spearman"] for t in tables},
        "combination_beats_every_single_everywhere": all(
            results[t]["combinations"][chosen]["spearman"] > max(v["spearman"] for v in results[t]["single"].values())
            for t in tables),
    }
    write_json(HERE / "proxies.json", results)
    write_figure(HERE / "proxies.html", figure(results))
    for t in tables:
        print(t, results[t]["counts"], results[t]["quality"])
        for c in PROXY_COLUMNS:
            s = results[t]["single"][c]
            print(f"  {c:13s} rho {s['spearman']:+.3f} (never diverged {s['spearman_never_diverged']:+.3f}, "
                  f"n {s['n']}, nan {s['nan']}) kept@50% {s['top5_kept']['0.5']:.2f} "
                  f"div AUC {s['divergence']['auc']}")
    print(results["selection"])


if __name__ == "__main__":
    main()
