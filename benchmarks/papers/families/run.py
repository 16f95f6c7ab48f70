"""Every explicit OptDNN family against ResNet (`gd`) on the papers' CPU tasks, at matched parameter count.

Run from the repository root:

    python benchmarks/papers/families/run.py                # 3 seeds: results.csv/json, figure.html, README.md
    python benchmarks/papers/families/run.py --confirm      # then: retest the differences it suggested, new seeds
    python benchmarks/papers/families/run.py --readme-only  # no training: summaries, README, figure from results.json
    python benchmarks/papers/families/run.py --quick        # < 1 minute, written to /tmp (development)

Claim tested (Wu, Xiao, Fang & Lin, TPAMI 2024; THEORY.md §1): networks unrolled from first-order
algorithms other than gradient descent approximate nested rings, parity and Telgarsky's sawtooth better than
ResNet. The paper's numbers and exact settings were not obtained, so this is our own small CPU version:
every family shares the block (mlp2), width, hidden width, depth 8, activation and training budget of its
task, so parameter counts match (dense adds depth·(depth+1)/2 mixing logits; apg2 and ladmm add none).

Protocol. Each (task, family) is trained at each learning rate of a 3-point grid, with seeds 0..N-1 (the
seed fixes the initialization and the batch order; each task's data and split are fixed). Two comparisons
come from the same runs:
- "ResNet's lr": every family at the lr that is best for gd (mean validation metric): the usual practice of
  tuning the baseline and reusing its settings, which favours gd;
- "own lr": every family at its own best lr (mean validation metric), which removes that bias.
Test metrics are compared to gd seed by seed (paired): wins, the mean difference, a paired t-test and its
Holm-adjusted p over every comparison of the protocol. A difference is called a win only when the Holm p is
below 0.05; with 3 seeds that asks for a large and consistent difference. A third view averages each seed's
test metric over the whole lr grid (robustness to the lr).

Confirmation (`--confirm`, after the main study): the differences the main study suggested (CONFIRM below,
fixed after looking at seeds 0-2) are retrained with gd at the same lr on fresh seeds 3-7 and tested alone.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import os
import platform
import statistics
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import stats

import optnas
import optnas.tasks as tasks

HERE = Path(__file__).resolve().parent

# Algorithm parameters are each family's defaults, written out so the record says what ran.
FAMILIES: dict[str, dict[str, Any]] = {
    "gd": {},
    "heavy_ball": {"beta": 0.9},
    "nesterov": {},  # momentum sequence k/(k+3)
    "lm_resnet": {"k": 0.5},
    "adams_bashforth2": {},
    "fista": {},
    "apg2": {},  # θ_k = 2/(k+2)
    "ladmm": {"rho": 1.0},
    "dense": {},  # softmax-mixed history, learnable
}


@dataclass(frozen=True)
class TaskSetup:
    """One task and the fixed architecture/training settings every family gets on it."""

    params: dict[str, Any]
    width: int
    hidden: int
    activation: str
    epochs: int
    batch_size: int
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# Chosen in short pilot runs of gd (a setting where gd trains, not at its ceiling); see README "cuts".
TASKS: dict[str, TaskSetup] = {
    "rings": TaskSetup(
        {"rings": 5, "n_samples": 3000}, width=3, hidden=16, activation="gelu", epochs=20, batch_size=64,
        note="5 nested rings in the plane, state width 3 = the smallest certified lift (input dim + 1)",
    ),
    "parity": TaskSetup(
        {"bits": 10}, width=32, hidden=32, activation="relu", epochs=30, batch_size=64,
        note="10-bit parity, all 1,024 patterns, 70/15/15 split (test = unseen patterns)",
    ),
    "telgarsky": TaskSetup(
        {"k": 3, "n_samples": 2000}, width=32, hidden=32, activation="gelu", epochs=40, batch_size=32,
        note="3-fold tent map (4 teeth) on U[0, 1], MSE; the target's variance is 1/12 ≈ 0.083",
    ),
    "digits": TaskSetup(
        {}, width=72, hidden=64, activation="gelu", epochs=15, batch_size=64,
        note="scikit-learn 8×8 digits as 64-vectors (width 72 >= 64 + 1, the certified lift)",
    ),
    "mnist1d": TaskSetup(
        {"n_samples": 4000}, width=64, hidden=64, activation="gelu", epochs=15, batch_size=64,
        note="MNIST-1D, 4,000 signals of length 40, generated locally",
    ),
}
DEPTH = 8
LRS = (3e-3, 1e-2, 3e-2)
TRAIN = {"weight_decay": 0.01, "clip": 1.0, "latency_repeats": 1}  # the library's AdamW, warmup + cosine
ALPHA = 0.05

# Hypotheses read off the main study (seeds 0-2, own-lr protocol): a family better or worse than gd on every
# seed at this lr (rings: heavy ball at an lr where gd has not converged yet). `--confirm` retrains each one
# and gd at the same lr on fresh seeds and tests them, Holm-adjusted over these comparisons only.
CONFIRM: tuple[tuple[str, str, float], ...] = (
    ("rings", "heavy_ball", 1e-2),
    ("parity", "dense", 3e-2),
    ("digits", "fista", 1e-2),
    ("digits", "apg2", 1e-2),
    ("digits", "ladmm", 1e-2),
    ("mnist1d", "heavy_ball", 1e-2),
    ("mnist1d", "nesterov", 1e-2),
    ("mnist1d", "lm_resnet", 1e-2),
    ("mnist1d", "ladmm", 1e-2),
)
CONFIRM_SEEDS = range(3, 8)


# -- running ------------------------------------------------------------------------------------------
def spec_for(family: str, setup: TaskSetup) -> optnas.ArchSpec:
    return optnas.ArchSpec(
        algorithm=family,
        algorithm_params=FAMILIES[family],
        block="mlp2",
        block_params={"hidden": setup.hidden},
        activation=setup.activation,
        depth=DEPTH,
        width=setup.width,
    )


def run_one(task_name: str, task: tasks.Task, setup: TaskSetup, family: str, lr: float, seed: int) -> dict[str, Any]:
    spec = spec_for(family, setup)
    result = optnas.train(
        spec, task, epochs=setup.epochs, seed=seed, device="cpu", lr=lr, batch_size=setup.batch_size, **TRAIN
    )
    m, train_curve = result.metrics, result.curves.get("train_metric") or [None]
    return {
        "task": task_name,
        "family": family,
        "lr": lr,
        "seed": seed,
        "status": result.status,
        "reason": result.reason,
        "params": m["params"],
        "flops": m["flops"],
        "train_metric": train_curve[-1] if result.status == "complete" else None,
        "val_metric": m["val_metric"] if result.status == "complete" else None,
        "test_metric": m["test_metric"] if result.status == "complete" else None,
        "wall_s": round(m["wall_s"], 3),
    }


def settings_key(settings: dict[str, Any]) -> str:
    return hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]


def main_grid(settings: dict[str, Any]) -> list[tuple[str, str, float, int]]:
    """(task, family, lr, seed) of the main study: every family at every lr with seeds 0..N-1."""
    return [(t, f, lr, seed) for t in settings["tasks"] for f in settings["families"] for lr in settings["lrs"]
            for seed in range(settings["seeds"])]


def hypotheses(settings: dict[str, Any]) -> list[tuple[str, str, float]]:
    """The CONFIRM hypotheses this study's settings can test (all of them, except in --quick)."""
    return [(t, f, lr) for t, f, lr in CONFIRM if t in settings["tasks"] and f in settings["families"]]


def confirm_grid(settings: dict[str, Any]) -> list[tuple[str, str, float, int]]:
    """(task, family, lr, seed) of the confirmation: each hypothesis and gd at its lr, on fresh seeds."""
    keys = {(t, f, lr, seed) for t, fam, lr in hypotheses(settings) for f in ("gd", fam) for seed in CONFIRM_SEEDS}
    return sorted(keys, key=lambda k: (list(settings["tasks"]).index(k[0]), k[1] != "gd", k[1], k[2], k[3]))


def run_all(settings: dict[str, Any], grid: list[tuple[str, str, float, int]], partial: Path) -> list[dict[str, Any]]:
    """Every run of ``grid``; finished runs are appended to ``partial`` and skipped when the same settings are
    run again (an interrupted study resumes)."""
    key = settings_key(settings)
    done: dict[tuple[Any, ...], dict[str, Any]] = {}
    if partial.exists():
        for line in partial.read_text().splitlines():
            row = json.loads(line)
            if row.pop("settings_key") == key:
                done[(row["task"], row["family"], row["lr"], row["seed"])] = row
    rows, loaded = [], {}
    with partial.open("a") as log:
        for k in grid:
            task_name, family, lr, seed = k
            setup = TaskSetup(**settings["tasks"][task_name])
            if k not in done:
                if task_name not in loaded:
                    loaded[task_name] = tasks.get(task_name, **setup.params)
                r = done[k] = run_one(task_name, loaded[task_name], setup, family, lr, seed)
                log.write(json.dumps({**r, "settings_key": key}) + "\n")
                log.flush()
                print(f"{task_name:9s} {family:16s} lr {lr:.0e} seed {seed}: {r['status']:8s} "
                      f"val {r['val_metric']} test {r['test_metric']} {r['wall_s']:.1f} s", flush=True)
            rows.append(done[k])
    return rows


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
                    "test_mean": _mean(test),
                    "test_std": _std(test),
                    "train_mean": _mean([value(g, "train_metric") for g in groups]),
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


def _mean(values: list[Any]) -> float | None:
    v = [x for x in values if x is not None]
    return statistics.fmean(v) if v else None


def _std(values: list[Any]) -> float | None:
    v = [x for x in values if x is not None]
    return statistics.stdev(v) if len(v) > 1 else None


# -- figure -------------------------------------------------------------------------------------------
FIGURE_PROTOCOLS = ("own_lr", "lr_mean")


def figure_data(data: dict[str, Any]) -> dict[str, Any]:
    """Per protocol (own lr, lr-grid mean) and task: families, per-seed test metric, mean ± std, gd's mean."""
    settings, panels = data["settings"], {}
    for protocol in FIGURE_PROTOCOLS:
        for task, fams in data["summary"]["protocols"][protocol]["table"].items():
            panels[(protocol, task)] = {
                "families": list(fams),
                "seeds": [fams[f]["test"] for f in fams],
                "mean": [fams[f]["test_mean"] for f in fams],
                "std": [fams[f]["test_std"] or 0.0 for f in fams],
                "gd_mean": fams["gd"]["test_mean"],
            }
    return {"tasks": list(settings["tasks"]), "metric_names": settings["metric_names"],
            "log_y": {t: d == "minimize" for t, d in settings["directions"].items()}, "panels": panels}


def make_figure(fd: dict[str, Any]) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    titles = [f"{task} test {fd['metric_names'][task]}: {'own best lr' if protocol == 'own_lr' else 'lr-grid mean'}"
              for protocol in FIGURE_PROTOCOLS for task in fd["tasks"]]
    fig = make_subplots(rows=len(FIGURE_PROTOCOLS), cols=len(fd["tasks"]), subplot_titles=titles)
    for row, protocol in enumerate(FIGURE_PROTOCOLS, start=1):
        for col, task in enumerate(fd["tasks"], start=1):
            p, first = fd["panels"][(protocol, task)], row == 1 and col == 1
            for fam, seeds in zip(p["families"], p["seeds"], strict=True):
                pts = [v for v in seeds if v is not None]
                fig.add_trace(
                    go.Scatter(x=[fam] * len(pts), y=pts, mode="markers", marker={"color": "lightgray", "size": 6},
                               name="one seed", showlegend=first and fam == "gd", legendgroup="seed"),
                    row=row, col=col,
                )
            colors = ["crimson" if f == "gd" else "royalblue" for f in p["families"]]
            fig.add_trace(
                go.Scatter(x=p["families"], y=p["mean"], mode="markers", error_y={"type": "data", "array": p["std"]},
                           marker={"color": colors, "size": 9}, name="mean ± std over seeds", showlegend=first,
                           legendgroup="mean"),
                row=row, col=col,
            )
            if p["gd_mean"] is not None:
                fig.add_hline(y=p["gd_mean"], line_dash="dot", line_color="crimson", row=row, col=col)
            if fd["log_y"][task]:
                fig.update_yaxes(type="log", row=row, col=col)
    fig.update_layout(title="OptDNN families vs ResNet (gd, red; dotted line = gd's mean) at matched parameters, "
                            "depth 8", height=420 * len(FIGURE_PROTOCOLS), width=360 * len(fd["tasks"]))
    return fig


# -- README -------------------------------------------------------------------------------------------
def _fmt(value: float | None, metric: str) -> str:
    if value is None:
        return "—"
    return f"{100 * value:.1f}%" if metric == "accuracy" else f"{value:.4f}"


def readme(data: dict[str, Any]) -> str:
    s, summary = data["settings"], data["summary"]
    lines = [
        "# OptDNN families against ResNet on the papers' CPU tasks",
        "",
        "Reproduce from the repository root (the numbers below are written by this command from `results.json`):",
        "",
        "```", data["command"], "```", "",
        f"Date: {data['date']}. Machine: {data['machine']}. {len(data['runs'])} runs, "
        f"{data['train_wall_s'] / 60:.1f} min of training in all (1-min load average {data['load_average'][0]} at "
        f"the start, {data['load_average'][1]} at the end: times are inflated by other jobs, metrics are not).",
        "",
        "Claim (Wu, Xiao, Fang & Lin, TPAMI 2024): OptDNNs approximate nested rings, parity and Telgarsky's "
        "sawtooth better than ResNet. The paper's numbers and settings were not obtained; this is our own "
        "small CPU version, with matched architectures.",
        "",
        "## Settings",
        "",
        f"Every family: block mlp2, depth {s['depth']}, constant steps h = 1/{s['depth']} (horizon 1), "
        f"default initialization, AdamW with the library's warmup + cosine schedule, options {json.dumps(s['train'])}. "
        f"Learning-rate grid {s['lrs']}; seeds 0..{s['seeds'] - 1}. Algorithm parameters: "
        + ", ".join(f"{f} {json.dumps(p) if p else '(defaults)'}" for f, p in s["families"].items()) + ".",
        "",
        "| task | data | width | hidden | activation | epochs | batch |",
        "|---|---|---|---|---|---|---|",
    ]
    for task, t in s["tasks"].items():
        lines.append(f"| {task} | {t['note']} | {t['width']} | {t['hidden']} | {t['activation']} | {t['epochs']} | "
                     f"{t['batch_size']} |")
    for protocol, title in PROTOCOLS.items():
        p = summary["protocols"][protocol]
        lines += ["", f"## Test metric, {title}", ""]
        if protocol == next(iter(PROTOCOLS)):
            lines += [
            f"Mean ± std over {s['seeds']} seeds; Δ = mean paired difference with gd, positive when the family is "
            f"better; W/L = seeds won/lost against gd; p = paired t-test, Holm-adjusted over the {p['comparisons']} "
            f"comparisons of this table; verdict at Holm p < {ALPHA}. Train = final-epoch training metric "
            "(mean over the last epoch's batches: approximation, the papers' question). Div. = diverged runs.",
            ]
        else:
            lines.append(f"As above; Holm over the {p['comparisons']} comparisons of this table.")
        if protocol == "lr_mean":
            lines += ["", "Here a seed's value is its test metric averaged over the lr grid; a seed with a diverged "
                          "run has no value and is left out of the pairing."]
        for task, fams in p["table"].items():
            metric = s["metric_names"][task]
            lines += ["", f"**{task}** ({metric})", "",
                      "| family | params | lr | test mean ± std | train mean | div. | Δ vs gd | W/L | p (Holm) "
                      "| verdict |",
                      "|---|---|---|---|---|---|---|---|---|---|"]
            for fam, e in fams.items():
                delta = "—" if "diff_mean" not in e else (
                    f"{100 * e['diff_mean']:+.1f} pt" if metric == "accuracy" else f"{e['diff_mean']:+.2g}")
                wl = "—" if "wins" not in e else f"{e['wins']}/{e['losses']} of {e['paired_seeds']}"
                ph = "—" if e.get("p_holm") is None else f"{e['p_holm']:.2g}"
                std = "" if e["test_std"] is None else f" ± {_fmt(e['test_std'], metric)}"
                lines.append(
                    f"| {fam} | {e['params'] if e['params'] is not None else '—'} | {e['lr']} | "
                    f"{_fmt(e['test_mean'], metric)}{std} | {_fmt(e['train_mean'], metric)} | {e['diverged']} | "
                    f"{delta} | {wl} | {ph} | {e.get('verdict', 'baseline')} |"
                )
    lines += ["", "## Test metric at every lr of the grid", "",
              "Mean over seeds (diverged runs in brackets, left out of the mean).", ""]
    for task in s["tasks"]:
        metric = s["metric_names"][task]
        lines += [f"**{task}** ({metric})", "", "| family | " + " | ".join(f"lr {lr}" for lr in s["lrs"]) + " |",
                  "|---" * (len(s["lrs"]) + 1) + "|"]
        for fam in s["families"]:
            cells = []
            for lr in s["lrs"]:
                runs = [r for r in data["runs"] if r["task"] == task and r["family"] == fam and r["lr"] == lr]
                div = sum(r["status"] == "diverged" for r in runs)
                cells.append(_fmt(_mean([r["test_metric"] for r in runs]), metric) + (f" [{div}]" if div else ""))
            lines.append(f"| {fam} | " + " | ".join(cells) + " |")
        lines.append("")
    if data.get("confirmation"):
        seeds = data["confirm_seeds"]
        lines += [
            f"## Confirmation on fresh seeds ({seeds[0]}..{seeds[-1]})", "",
            f"The main study's {s['seeds']} seeds can hardly make a difference significant after Holm over "
            f"{summary['protocols']['own_lr']['comparisons']} comparisons. So the "
            "differences it suggested (a family better or worse than gd on every seed at its best lr; on rings, "
            "heavy ball at an lr where gd has not converged) were fixed after the main study and retrained, with "
            f"gd at the same lr, on {len(seeds)} new seeds; the paired t-test is Holm-adjusted over these "
            f"{len(data['confirmation'])} hypotheses only. Command: `{data['confirm_command']}`.", "",
            "| task | family | lr | main study: Δ vs gd (W/L) | fresh seeds: Δ mean ± std | W/L | p (raw) | p (Holm) "
            "| verdict |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for h in data["confirmation"]:
            metric = s["metric_names"][h["task"]]

            def d(x: float | None, metric: str = metric) -> str:
                if x is None:
                    return "—"
                return f"{100 * x:+.1f} pt" if metric == "accuracy" else f"{x:+.2g}"

            std = "" if h["diff_std"] is None else f" ± {d(h['diff_std'])[1:]}"
            ph = "—" if h.get("p_holm") is None else f"{h['p_holm']:.2g}"
            pr = "—" if h.get("p") is None else f"{h['p']:.2g}"
            lines.append(
                f"| {h['task']} | {h['family']} | {h['lr']} | {d(h['main_diff_mean'])} ({h['main_wins']}/"
                f"{h['main_losses']}) | {d(h['diff_mean'])}{std} | {h['wins']}/{h['losses']} of {h['paired_seeds']} | "
                f"{pr} | {ph} | {h['verdict']} |"
            )
        lines.append("")
    lines += ["## Reading", ""]
    for protocol, title in PROTOCOLS.items():
        table = summary["protocols"][protocol]["table"]
        better = [f"{f} on {t}" for t, fams in table.items() for f, e in fams.items() if e.get("verdict") == "better"]
        worse = [f"{f} on {t}" for t, fams in table.items() for f, e in fams.items() if e.get("verdict") == "worse"]
        unclear = [(f, t, e) for t, fams in table.items() for f, e in fams.items()
                   if e.get("verdict") == "no clear difference" and e.get("paired_seeds")]
        up = [f"{f} on {t}" for f, t, e in unclear if e["wins"] == e["paired_seeds"]]
        down = [f"{f} on {t}" for f, t, e in unclear if e["losses"] == e["paired_seeds"]]
        ties = [f"{f} on {t}" for t, fams in table.items() for f, e in fams.items() if e.get("verdict") == "tie"]
        lines.append(
            f"- {title[0].upper() + title[1:]}: significantly better than gd: {', '.join(better) or 'none'}; "
            "significantly worse: "
            f"{', '.join(worse) or 'none'}. Better on every paired seed but not significant after Holm: "
            f"{', '.join(up) or 'none'}; worse on every paired seed but not significant: {', '.join(down) or 'none'}; "
            f"identical to gd on every seed: {', '.join(ties) or 'none'}."
        )
    if data.get("confirmation"):
        for verdict in ("better", "worse"):
            hits = [f"{h['family']} on {h['task']} (lr {h['lr']})" for h in data["confirmation"]
                    if h["verdict"] == verdict]
            lines.append(f"- Confirmed on fresh seeds, {verdict} than gd: {', '.join(hits) or 'none'}.")
    lines += [
        "- Everything else is within the seed spread: not a win for either side.",
        "",
        f"Caveats: {s['seeds']} seeds, small networks, short budgets, and task settings piloted on gd; the lr "
        f"grid has {len(s['lrs'])} points. A family that is 'no clear difference' here may differ with more seeds "
        "or longer training.",
        "",
        "Files: `results.csv` (one row per run of the main study), `results.json` (settings, machine, every run "
        "including the confirmation's, summaries), "
        "`figure.html` (test metric per family and task: own-lr protocol on top, lr-grid mean below; offline).",
        "",
    ]
    return "\n".join(lines)


# -- main ---------------------------------------------------------------------------------------------
def write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def machine(threads: int) -> str:
    return (f"{platform.machine()} {platform.system()}, {os.cpu_count()} CPUs (shared with other jobs), "
            f"Python {platform.python_version()}, torch {torch.__version__}, {threads} torch thread(s), no GPU")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2 tasks, 3 families, 1 lr, 2 epochs (< 1 min)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: here; /tmp with --quick)")
    parser.add_argument("--confirm", action="store_true",
                        help="after the main study: retrain the CONFIRM hypotheses on fresh seeds and test them")
    parser.add_argument("--readme-only", action="store_true",
                        help="no training: recompute the summary, README.md and figure.html from results.json's runs")
    args = parser.parse_args(argv)
    out = args.out or (Path(tempfile.gettempdir()) / "optnas-papers-families" if args.quick else HERE)
    out.mkdir(parents=True, exist_ok=True)
    if args.readme_only:
        data = json.loads((out / "results.json").read_text())
        write_outputs(out, data)
        return 0
    torch.set_num_threads(args.threads)
    if args.confirm:
        data = json.loads((out / "results.json").read_text())
        partial = out / "confirm.partial.jsonl"
        data["confirm_runs"] = run_all(data["settings"], confirm_grid(data["settings"]), partial)
        data["confirm_seeds"] = list(CONFIRM_SEEDS)
        data["confirm_command"] = "python benchmarks/papers/families/run.py " + " ".join(
            argv if argv is not None else sys.argv[1:])
        write_outputs(out, data)
        partial.unlink()
        return 0

    task_setups = dict(TASKS)
    families, lrs = dict(FAMILIES), list(LRS)
    if args.quick:
        task_setups = {k: TaskSetup(**{**asdict(TASKS[k]), "epochs": 2}) for k in ("rings", "telgarsky")}
        families, lrs = {k: FAMILIES[k] for k in ("gd", "heavy_ball", "dense")}, [1e-2]
    probes = {name: tasks.get(name, **t.params) for name, t in task_setups.items()}
    settings = {
        "depth": DEPTH,
        "lrs": lrs,
        "seeds": args.seeds,
        "train": TRAIN,
        "families": families,
        "tasks": {k: asdict(v) for k, v in task_setups.items()},
        "directions": {k: t.direction for k, t in probes.items()},
        "metric_names": {k: t.metric_name for k, t in probes.items()},
    }
    load_start = os.getloadavg()[0]
    rows = run_all(settings, main_grid(settings), out / "runs.partial.jsonl")
    data = {
        "command": "python benchmarks/papers/families/run.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(args.threads),
        "train_wall_s": sum(r["wall_s"] for r in rows),
        "load_average": [round(load_start, 2), round(os.getloadavg()[0], 2)],
        "settings": settings,
        "runs": rows,
    }
    with tempfile.NamedTemporaryFile("w", dir=out, delete=False, newline="", suffix=".csv") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    os.chmod(fh.name, 0o644)
    os.replace(fh.name, out / "results.csv")
    write_outputs(out, data)
    (out / "runs.partial.jsonl").unlink()
    print(f"wrote {out}/results.csv, results.json, figure.html, README.md")
    return 0


def write_outputs(out: Path, data: dict[str, Any]) -> None:
    """Summaries from the runs, results.json (strict JSON, NaN as null), then figure.html and README.md."""
    data = {**data, "summary": summarize(data["runs"], data["settings"])}
    if "confirm_runs" in data:
        data["confirmation"] = confirm_summary(data["confirm_runs"], data["runs"], data["settings"],
                                               data["confirm_seeds"])
    write_atomic(out / "results.json", json.dumps(no_nan(data), indent=1, allow_nan=False) + "\n")
    data = json.loads((out / "results.json").read_text())
    write_atomic(out / "figure.html", make_figure(figure_data(data)).to_html(include_plotlyjs=True, div_id="figure"))
    write_atomic(out / "README.md", readme(data))


def no_nan(value: Any) -> Any:
    """``value`` with NaN floats as None (strict JSON has no NaN)."""
    if isinstance(value, dict):
        return {k: no_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [no_nan(v) for v in value]
    return None if isinstance(value, float) and np.isnan(value) else value


if __name__ == "__main__":
    sys.exit(main())
