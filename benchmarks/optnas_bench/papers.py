"""The papers' claims revisited on the optnas-bench tables (issues 17 and 26).

Unit of comparison: the **matched setting**, never the seed. Each algorithm family against gd at the same
schedule, activation, depth and width (and block, stages, ...: every other field of the spec), each side's
quality as `optnas.bench.quality` defines it (mean test accuracy over the seeds that trained, seeds
averaged): the difference over settings where both trained, Wilcoxon signed-rank, Holm over families;
divergence apart, as the paired difference of the two divergence rates over every setting (Wilcoxon, Holm).
A decision is "better"/"worse" (divergence: "diverges more"/"less") where Holm's p < 0.05, else "no
difference". For the record, the same decisions when each seed is taken as an independent pair (the
earlier analysis, a diverged seed counting 0) and which flip. Activations against depth: per activation
and depth the mean quality of the architectures that trained (± its standard error over architectures)
and the share of runs that diverged; MRePU against RePU at the same setting otherwise, seeds averaged,
Holm over depths. Run from the repository root:
    python benchmarks/optnas_bench/papers.py      # writes papers.json and papers.html here
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).parent))
from common import HERE, counts, data_tables, load, per_arch, write_figure, write_json

SETTING = ["schedule", "activation", "depth", "width"]  # and every other spec field (the signal table's block)
ALPHA = 0.05


def _setting(spec: dict[str, Any], *leave_out: str) -> str:
    """The matched setting of a spec: every field but ``leave_out`` (and their parameters), as one key."""
    drop = {f for name in leave_out for f in (name, name + "_params")}
    return json.dumps({k: v for k, v in spec.items() if k not in drop}, sort_keys=True)


def _arch(name: str) -> pd.DataFrame:
    """`per_arch` with the family-vs-gd and the activation matching keys."""
    arch = per_arch(name)
    return arch.assign(family_setting=[_setting(s, "algorithm") for s in arch["spec"]],
                       activation_setting=[_setting(s, "activation") for s in arch["spec"]])


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


def decision(mean_diff: float | None, p_holm: float) -> str:
    """"better" / "worse" (than the comparator) where Holm's p < ALPHA, else "no difference"."""
    if mean_diff is None or not p_holm < ALPHA:
        return "no difference"
    return "better" if mean_diff > 0 else "worse"


def _paired(pairs: pd.DataFrame, a: str, b: str) -> dict[str, Any]:
    """Quality difference a − b over settings where both trained, divergence-rate difference over all."""
    both = pairs.dropna(subset=[f"test_{a}", f"test_{b}"])
    d = (both[f"test_{a}"] - both[f"test_{b}"]).to_numpy()
    dd = (pairs[f"diverged_{a}"] - pairs[f"diverged_{b}"]).to_numpy()
    return {"settings": len(pairs), "settings_both_trained": len(both),
            "mean_diff": float(d.mean()) if len(d) else None, "p": _wilcoxon(d),
            "wins": int((d > 0).sum()), "losses": int((d < 0).sum()),
            # rounded: a mean of rate differences that cancel is 0, not float noise (-1.9e-18)
            "divergence_diff": round(float(dd.mean()), 12) if len(dd) else None, "p_divergence": _wilcoxon(dd)}


def _holm_decide(rows: list[dict[str, Any]]) -> None:
    for row, adj in zip(rows, holm([r["p"] for r in rows]), strict=True):
        row["p_holm"], row["decision"] = adj, decision(row["mean_diff"], adj)
    for row, adj in zip(rows, holm([r["p_divergence"] for r in rows]), strict=True):
        verdict = {"better": "diverges more", "worse": "diverges less"}  # a higher rate of divergence
        row["p_divergence_holm"] = adj
        row["decision_divergence"] = verdict.get(decision(row["divergence_diff"], adj), "no difference")


def _seed_pairs(df: pd.DataFrame, family: str) -> dict[str, Any]:
    """The earlier analysis: every seed an independent pair; 'all' counts a diverged seed 0."""
    ok = df["status"] == "complete"
    rows = df.assign(acc=df["test_metric"].where(ok, 0.0).astype(float), ok=ok,
                     setting=[_setting(s, "algorithm") for s in df["spec"]])
    cols = ["setting", "seed", "acc", "ok"]
    pairs = rows[rows["algorithm"] == family][cols].merge(rows[rows["algorithm"] == "gd"][cols],
                                                            on=["setting", "seed"], suffixes=("", "_gd"))
    both = pairs[pairs["ok"] & pairs["ok_gd"]]
    d_all, d_ok = (pairs["acc"] - pairs["acc_gd"]).to_numpy(), (both["acc"] - both["acc_gd"]).to_numpy()
    return {"pairs": len(pairs), "mean_diff_all": float(d_all.mean()) if len(d_all) else None,
            "p_all": _wilcoxon(d_all), "pairs_both_trained": len(both),
            "mean_diff_complete": float(d_ok.mean()) if len(d_ok) else None, "p_complete": _wilcoxon(d_ok)}


def families(name: str, df: pd.DataFrame) -> list[dict[str, Any]]:
    arch = _arch(name)[["algorithm", "family_setting", "test", "diverged"]]
    gd = arch[arch["algorithm"] == "gd"].drop(columns="algorithm")
    out = []
    for family in sorted(set(arch["algorithm"]) - {"gd"}):
        mine = arch[arch["algorithm"] == family].drop(columns="algorithm")
        pairs = mine.merge(gd, on="family_setting", suffixes=(f"_{family}", "_gd"))
        out.append({"family": family, **_paired(pairs, family, "gd"), "seed_pairs": _seed_pairs(df, family)})
    _holm_decide(out)
    for key in ("p_all", "p_complete"):  # the earlier decisions, for the flips
        adjusted = holm([r["seed_pairs"][key] for r in out])
        for row, adj in zip(out, adjusted, strict=True):
            sp = row["seed_pairs"]
            sp[key + "_holm"] = adj
            sp["decision_" + key.removeprefix("p_")] = decision(sp["mean_diff_" + key.removeprefix("p_")], adj)
    for row in out:  # what the earlier per-seed analysis decided where it differs from this one
        row["flipped"] = {k: row["seed_pairs"]["decision_" + k] for k in ("all", "complete")
                          if row["seed_pairs"]["decision_" + k] != row["decision"]}
    return out


def activations(name: str, df: pd.DataFrame) -> dict[str, Any]:
    arch = _arch(name)
    cells = []
    for (act, depth), g in arch.groupby(["activation", "depth"]):
        runs = df[(df["activation"] == act) & (df["depth"] == depth)]
        trained = g["test"].dropna()
        cells.append({"activation": act, "depth": int(depth), "architectures": len(g),
                      "trained_architectures": len(trained), "runs": len(runs),
                      "diverged_share": float((runs["status"] != "complete").mean()),
                      "mean_test_trained": float(trained.mean()) if len(trained) else None,
                      "sem": float(trained.std(ddof=1) / np.sqrt(len(trained))) if len(trained) > 1 else None})
    cols = ["activation_setting", "depth", "test", "diverged"]
    pairs = arch[arch["activation"] == "mrepu"][cols].merge(arch[arch["activation"] == "repu"][cols],
                                                             on=["activation_setting", "depth"],
                                                             suffixes=("_mrepu", "_repu"))
    paired = [{"depth": int(depth), **_paired(g, "mrepu", "repu")} for depth, g in pairs.groupby("depth")]
    _holm_decide(paired)
    return {"by_activation_depth": cells, "mrepu_vs_repu": paired}


def figure(results: dict[str, Any]) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    tables = results["tables"]
    titles = []
    for t in tables:
        c = results[t]["counts"]
        tag = "" if c["complete"] else f" (PARTIAL: {c['architectures']}/{c['grid_architectures']} archs)"
        titles += [f"{t}: family − gd, test acc, per matched setting{tag}",
                   f"{t}: test acc of trained architectures vs depth{tag}"]
    fig = make_subplots(rows=len(tables), cols=2, subplot_titles=titles)
    for row, t in enumerate(tables, start=1):
        fam = results[t]["families"]
        fig.add_trace(go.Bar(x=[f["family"] for f in fam], y=[f["mean_diff"] for f in fam],
                             name="quality (seeds averaged)", showlegend=row == 1, marker_color="#1f77b4",
                             hovertext=[f"n={f['settings_both_trained']}, Holm p={f['p_holm']}" for f in fam]),
                      row=row, col=1)
        fig.add_trace(go.Bar(x=[f["family"] for f in fam], y=[f["divergence_diff"] for f in fam],
                             name="divergence rate", showlegend=row == 1, marker_color="#ff7f0e"), row=row, col=1)
        cells = pd.DataFrame(results[t]["activations"]["by_activation_depth"])
        for act, g in cells.groupby("activation"):
            fig.add_trace(go.Scatter(x=g["depth"], y=g["mean_test_trained"], mode="lines+markers", name=str(act),
                                     legendgroup=str(act), showlegend=row == 1,
                                     error_y={"type": "data", "array": g["sem"].fillna(0).tolist()}),
                          row=row, col=2)
        fig.update_xaxes(title_text="depth", type="log", row=row, col=2)
    fig.update_layout(title="optnas-bench: the papers' claims, per matched setting", height=450 * len(tables),
                      barmode="group")
    return fig


def main() -> None:
    tables = data_tables()
    results: dict[str, Any] = {"tables": list(tables), "alpha": ALPHA}
    for t in tables:
        df = load(t)
        results[t] = {"counts": counts(df), "families": families(t, df), "activations": activations(t, df)}
        print(t, results[t]["counts"])
        for f in results[t]["families"]:
            print(f"  {f['family']:17s} n={f['settings_both_trained']:3d} diff {f['mean_diff']:+.4f} Holm p "
                  f"{f['p_holm']:.2g} {f['decision']} | divergence {f['divergence_diff']:+.3f} "
                  f"{f['decision_divergence']} | per-seed decisions that differ {f['flipped']}")
        for r in results[t]["activations"]["mrepu_vs_repu"]:
            print("  mrepu-repu", r)
    write_json(HERE / "papers.json", results)
    write_figure(HERE / "papers.html", figure(results))


if __name__ == "__main__":
    main()
