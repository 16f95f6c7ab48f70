"""The papers' claims revisited on the optnas-bench tables (issue 17, item 5).

Families: each algorithm against gd at the same schedule, activation, depth, width and seed (pairs of
rows), pooled over the table; test accuracy, a diverged run counting 0 ("all pairs") and, separately,
only pairs where both trained ("both complete"); Wilcoxon signed-rank, Holm correction over the families.
Activations against depth: per activation and depth the mean test accuracy of trained runs and the share
that diverged; RePU against MRePU paired at the same algorithm, schedule, depth, width and seed, Holm over
depths. Run from the repository root:
    python benchmarks/optnas_bench/papers.py      # writes papers.json and papers.html here
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).parent))
from common import HERE, TABLES, counts, load, write_figure, write_json

MATCH = ["schedule", "activation", "depth", "width", "seed"]


def holm(pvalues: list[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (NaN stays NaN)."""
    p = np.asarray(pvalues, dtype=float)
    ok = np.flatnonzero(~np.isnan(p))
    order = ok[np.argsort(p[ok])]
    out = np.full_like(p, np.nan)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * p[i]))
        out[i] = running
    return out.tolist()


def _wilcoxon(d: np.ndarray) -> float:
    if len(d) < 2 or np.allclose(d, 0):
        return float("nan")
    return float(stats.wilcoxon(d).pvalue)


def _acc(df: pd.DataFrame) -> pd.DataFrame:
    ok = df["status"] == "complete"
    return df.assign(acc=df["test_metric"].where(ok, 0.0).astype(float), ok=ok)


def families(df: pd.DataFrame) -> list[dict[str, Any]]:
    df = _acc(df)
    gd = df[df["algorithm"] == "gd"][[*MATCH, "acc", "ok"]]
    out = []
    for family in sorted(set(df["algorithm"]) - {"gd"}):
        pairs = df[df["algorithm"] == family][[*MATCH, "acc", "ok"]].merge(gd, on=MATCH, suffixes=("", "_gd"))
        d_all = (pairs["acc"] - pairs["acc_gd"]).to_numpy()
        both = pairs[pairs["ok"] & pairs["ok_gd"]]
        d_ok = (both["acc"] - both["acc_gd"]).to_numpy()
        out.append({
            "family": family, "pairs": len(pairs), "pairs_both_complete": len(both),
            "diverged": int((~pairs["ok"]).sum()), "diverged_gd": int((~pairs["ok_gd"]).sum()),
            "mean_diff_all": float(d_all.mean()) if len(d_all) else None,
            "p_all": _wilcoxon(d_all),
            "mean_diff_complete": float(d_ok.mean()) if len(d_ok) else None,
            "p_complete": _wilcoxon(d_ok),
            "wins": int((d_all > 0).sum()), "losses": int((d_all < 0).sum()),
        })
    for key in ("p_all", "p_complete"):
        for row, adj in zip(out, holm([r[key] for r in out]), strict=True):
            row[key + "_holm"] = adj
    return out


def activations(df: pd.DataFrame) -> dict[str, Any]:
    df = _acc(df)
    cells = []
    for (act, depth), g in df.groupby(["activation", "depth"]):
        trained = g[g["ok"]]["acc"]
        cells.append({"activation": act, "depth": int(depth), "runs": len(g),
                      "diverged_share": float(1 - g["ok"].mean()),
                      "mean_test_trained": float(trained.mean()) if len(trained) else None,
                      "sem": float(trained.std(ddof=1) / np.sqrt(len(trained))) if len(trained) > 1 else None})
    key = ["algorithm", "schedule", "depth", "width", "seed"]
    repu = df[df["activation"] == "repu"][[*key, "acc", "ok"]]
    mrepu = df[df["activation"] == "mrepu"][[*key, "acc", "ok"]]
    pairs = mrepu.merge(repu, on=key, suffixes=("_mrepu", "_repu"))
    paired = []
    for depth, g in pairs.groupby("depth"):
        d = (g["acc_mrepu"] - g["acc_repu"]).to_numpy()
        paired.append({"depth": int(depth), "pairs": len(g), "mean_diff_mrepu_minus_repu": float(d.mean()),
                       "p": _wilcoxon(d), "diverged_mrepu": int((~g["ok_mrepu"]).sum()),
                       "diverged_repu": int((~g["ok_repu"]).sum())})
    for row, adj in zip(paired, holm([r["p"] for r in paired]), strict=True):
        row["p_holm"] = adj
    return {"by_activation_depth": cells, "mrepu_vs_repu": paired}


def figure(results: dict[str, Any]) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    titles = []
    for t in TABLES:
        c = results[t]["counts"]
        tag = "" if c["complete"] else f" (PARTIAL: {c['architectures']}/{c['grid_architectures']} archs)"
        titles += [f"{t}: family − gd, test acc, paired{tag}", f"{t}: test acc of trained runs vs depth{tag}"]
    fig = make_subplots(rows=2, cols=2, subplot_titles=titles)
    for row, t in enumerate(TABLES, start=1):
        fam = results[t]["families"]
        fig.add_trace(go.Bar(x=[f["family"] for f in fam], y=[f["mean_diff_all"] for f in fam], name="all pairs",
                             showlegend=row == 1, marker_color="#1f77b4",
                             hovertext=[f"n={f['pairs']}, Holm p={f['p_all_holm']}" for f in fam]),
                      row=row, col=1)
        fig.add_trace(go.Bar(x=[f["family"] for f in fam], y=[f["mean_diff_complete"] for f in fam],
                             name="both complete", showlegend=row == 1, marker_color="#ff7f0e"), row=row, col=1)
        cells = pd.DataFrame(results[t]["activations"]["by_activation_depth"])
        for act, g in cells.groupby("activation"):
            fig.add_trace(go.Scatter(x=g["depth"], y=g["mean_test_trained"], mode="lines+markers", name=str(act),
                                     legendgroup=str(act), showlegend=row == 1,
                                     error_y={"type": "data", "array": g["sem"].fillna(0).tolist()}),
                          row=row, col=2)
        fig.update_xaxes(title_text="depth", type="log", row=row, col=2)
    fig.update_layout(title="optnas-bench: the papers' claims (PARTIAL tables, see subplot titles)", height=900,
                      barmode="group")
    return fig


def main() -> None:
    results: dict[str, Any] = {}
    for t in TABLES:
        df = load(t)
        results[t] = {"counts": counts(df), "families": families(df), "activations": activations(df)}
        print(t, results[t]["counts"])
        for f in results[t]["families"]:
            print(f"  {f['family']:17s} n={f['pairs']:3d} diff {f['mean_diff_all']} Holm p {f['p_all_holm']}"
                  f" | complete n={f['pairs_both_complete']} diff {f['mean_diff_complete']}")
        for r in results[t]["activations"]["mrepu_vs_repu"]:
            print("  mrepu-repu", r)
    write_json(HERE / "papers.json", results)
    write_figure(HERE / "papers.html", figure(results))


if __name__ == "__main__":
    main()
