"""The families study's statistics, pure functions of the runs: lr selection, paired tests, Holm."""

from __future__ import annotations

import statistics
from typing import Any

import numpy as np
from runs import ALPHA, hypotheses
from scipy import stats


# -- analysis (pure functions of the rows) --------------------------------------------------------------
def better_sign(direction: str) -> float:
    return 1.0 if direction == "maximize" else -1.0


def select_lr(rows: list[dict[str, Any]], direction: str) -> float | None:
    """The lr with the best mean validation metric among lrs where every seed completed (None: none did)."""
    by_lr: dict[float, list[dict[str, Any]]] = {}
    for r in rows:
        by_lr.setdefault(r["lr"], []).append(r)
    eligible = {
        lr: [r["val_metric"] for r in rs] for lr, rs in by_lr.items() if all(r["status"] == "complete" for r in rs)
    }
    if not eligible:
        return None
    return max(eligible, key=lambda lr: better_sign(direction) * statistics.fmean(eligible[lr]))


def holm(pvalues: dict[Any, float]) -> dict[Any, float]:
    """Holm–Bonferroni adjusted p-values (NaN entries are left out and stay NaN)."""
    finite = sorted((p, k) for k, p in pvalues.items() if not np.isnan(p))
    adjusted, running = {k: float("nan") for k in pvalues}, 0.0
    for i, (p, k) in enumerate(finite):
        running = max(running, min(1.0, (len(finite) - i) * p))
        adjusted[k] = running
    return adjusted


PROTOCOLS = {
    "own_lr": "each family at its own best lr",
    "resnet_lr": "every family at gd's best lr",
    "lr_mean": "averaged over the whole lr grid (robustness to the lr)",
}


def summarize(rows: list[dict[str, Any]], settings: dict[str, Any]) -> dict[str, Any]:
    """Selected lrs, per-family statistics and paired comparisons with gd, for every protocol."""
    directions = settings["directions"]
    seeds = list(range(settings["seeds"]))
    index = {(r["task"], r["family"], r["lr"], r["seed"]): r for r in rows}
    out: dict[str, Any] = {"selected_lr": {}, "protocols": {}}
    for task in settings["tasks"]:
        out["selected_lr"][task] = {
            fam: select_lr([r for r in rows if r["task"] == task and r["family"] == fam], directions[task])
            for fam in settings["families"]
        }

    def per_seed(task: str, fam: str, protocol: str) -> tuple[Any, list[list[dict[str, Any]]]]:
        """The lr (or "grid") and, for each seed, the runs whose test metrics are averaged."""
        chosen = out["selected_lr"][task]
        lrs = settings["lrs"] if protocol == "lr_mean" else [chosen["gd" if protocol == "resnet_lr" else fam]]
        if None in lrs:
            return None, []
        return ("grid" if protocol == "lr_mean" else lrs[0]), [[index[(task, fam, lr, s)] for lr in lrs] for s in seeds]

    def value(runs: list[dict[str, Any]], key: str) -> float | None:
        values = [r[key] for r in runs]
        return None if None in values else statistics.fmean(values)

    for protocol in PROTOCOLS:
        table: dict[str, dict[str, Any]] = {}
        pvalues: dict[tuple[str, str], float] = {}
        for task in settings["tasks"]:
            sign = better_sign(directions[task])
            _, base = per_seed(task, "gd", protocol)
            base_test = [value(b, "test_metric") for b in base]
            table[task] = {}
            for fam in settings["families"]:
                lr, groups = per_seed(task, fam, protocol)
                test = [value(g, "test_metric") for g in groups]
                entry: dict[str, Any] = {
                    "lr": lr,
                    "params": groups[0][0]["params"] if groups else None,
                    "diverged": sum(r["status"] == "diverged" for g in groups for r in g),
                    "test": test,
                    "test_mean": mean(test),
                    "test_std": std(test),
                    "train_mean": mean([value(g, "train_metric") for g in groups]),
                }
                pairs = [(t, b) for t, b in zip(test, base_test, strict=False) if t is not None and b is not None]
                if fam != "gd" and len(pairs) >= 2:
                    diff = [sign * (t - b) for t, b in pairs]
                    entry["paired_seeds"] = len(pairs)
                    entry["diff_mean"] = statistics.fmean(diff)  # > 0: the family is better than gd
                    entry["wins"] = sum(d > 0 for d in diff)
                    entry["losses"] = sum(d < 0 for d in diff)
                    p = float("nan") if np.allclose(diff, diff[0]) else float(stats.ttest_1samp(diff, 0.0).pvalue)
                    entry["p"] = p
                    pvalues[(task, fam)] = p
                table[task][fam] = entry
        adjusted = holm(pvalues)
        for (task, fam), p_holm in adjusted.items():
            e = table[task][fam]
            e["p_holm"] = p_holm
            e["verdict"] = (
                "tie" if np.isnan(e["p"]) and e["diff_mean"] == 0
                else "better" if p_holm < ALPHA and e["diff_mean"] > 0
                else "worse" if p_holm < ALPHA and e["diff_mean"] < 0
                else "no clear difference"
            )
        out["protocols"][protocol] = {"comparisons": len(pvalues), "table": table}
    return out


def confirm_summary(confirm_runs: list[dict[str, Any]], rows: list[dict[str, Any]], settings: dict[str, Any],
                    seeds: list[int]) -> list[dict[str, Any]]:
    """Each hypothesis: the main study's paired difference (seeds 0..N-1) and the fresh seeds' paired test."""
    def diffs(runs: list[dict[str, Any]], task: str, fam: str, lr: float, seed_list: list[int]) -> list[float]:
        index = {(r["task"], r["family"], r["lr"], r["seed"]): r["test_metric"] for r in runs}
        sign = better_sign(settings["directions"][task])
        pairs = [(index.get((task, fam, lr, s)), index.get((task, "gd", lr, s))) for s in seed_list]
        return [sign * (a - b) for a, b in pairs if a is not None and b is not None]

    out, pvalues = [], {}
    for i, (task, fam, lr) in enumerate(hypotheses(settings)):
        before = diffs(rows, task, fam, lr, list(range(settings["seeds"])))
        after = diffs(confirm_runs, task, fam, lr, seeds)
        p = float("nan") if len(after) < 2 or np.allclose(after, after[0]) else float(
            stats.ttest_1samp(after, 0.0).pvalue)
        pvalues[i] = p
        out.append({
            "task": task, "family": fam, "lr": lr,
            "main_diff_mean": statistics.fmean(before) if before else None,
            "main_wins": sum(d > 0 for d in before), "main_losses": sum(d < 0 for d in before),
            "diff": after, "diff_mean": statistics.fmean(after) if after else None,
            "diff_std": statistics.stdev(after) if len(after) > 1 else None,
            "wins": sum(d > 0 for d in after), "losses": sum(d < 0 for d in after), "paired_seeds": len(after),
            "p": p,
        })
    for i, p_holm in holm(pvalues).items():
        h = out[i]
        h["p_holm"] = p_holm
        h["verdict"] = ("better" if p_holm < ALPHA and h["diff_mean"] > 0
                        else "worse" if p_holm < ALPHA and h["diff_mean"] < 0 else "not confirmed")
    return out


def mean(values: list[Any]) -> float | None:
    v = [x for x in values if x is not None]
    return statistics.fmean(v) if v else None


def std(values: list[Any]) -> float | None:
    v = [x for x in values if x is not None]
    return statistics.stdev(v) if len(v) > 1 else None
