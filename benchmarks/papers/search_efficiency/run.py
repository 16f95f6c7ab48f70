"""Search efficiency: TPE against random search at an equal trial budget, on MNIST-1D.

Run from the repository root:

    python benchmarks/papers/search_efficiency/run.py             # 8 seeds × 30 trials per sampler
    python benchmarks/papers/search_efficiency/run.py --quick     # < 1 minute, written to /tmp (development)
    python benchmarks/papers/search_efficiency/run.py --readme-only

Question: how many trials does TPE need to reach the best validation accuracy random search finds in its
whole budget? Each (sampler, seed) is one `optnas.search.run_search` on a fresh journal: the same small
space, `sampler: {name: tpe | random}`, no pruner, one job, and ``seed`` set (it seeds the sampler and every
trial's training). Optuna's TPE starts with 10 random trials (its default ``n_startup_trials``) drawn by its
own RandomSampler with the same seed, so the two samplers usually share their first trials; what differs
is the rest of the budget. A diverged trial (a failed trial) counts as a trial that found nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import optuna
import torch
from scipy import stats

from optnas.search import SearchSpace, run_search

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the papers' shared helpers (_common)

from _common import machine, write_csv
from _common import write_outputs as write_files

HERE = Path(__file__).resolve().parent

SPACE: dict[str, Any] = {
    "task": {"name": "mnist1d", "params": {"n_samples": 4000}},
    "train": {"epochs": 6, "batch_size": 128, "lr": {"low": 1.0e-4, "high": 3.0e-2, "log": True}},
    "space": {
        "algorithm": {"gd": {}, "heavy_ball": {"beta": {"low": 0.0, "high": 0.95}}, "nesterov": {}, "apg2": {},
                      "dense": {}},
        "block": {"mlp2": {"hidden": [32, 64, 128]}},
        "activation": {"relu": {}, "gelu": {}, "tanh": {}, "mrepu": {"p": 2}},
        "depth": {"low": 2, "high": 8},
        "width": [48, 64, 96],
    },
    "objectives": [{"metric": "val_metric"}],
    "pruner": {"name": "none"},
}
SAMPLERS = ("random", "tpe")
TRIALS = 30


# -- running ------------------------------------------------------------------------------------------
def run_one(sampler: str, seed: int, trials: int, space_dict: dict[str, Any]) -> list[dict[str, Any]]:
    """One search; returns one row per trial, in trial order."""
    space = SearchSpace.from_dict({**space_dict, "sampler": {"name": sampler}})
    with tempfile.TemporaryDirectory() as tmp:
        study = run_search(space, trials=trials, storage=str(Path(tmp) / "journal.log"), study=f"{sampler}-{seed}",
                           seed=seed, progress=False, device="cpu")
        rows = []
        for t in sorted(study.trials, key=lambda t: t.number):
            metrics = t.user_attrs.get("metrics") or {}
            rows.append({
                "sampler": sampler,
                "seed": seed,
                "trial": t.number + 1,
                "state": t.state.name,
                "status": t.user_attrs.get("status"),
                "val_metric": t.value if t.state == optuna.trial.TrialState.COMPLETE else None,
                "test_metric": metrics.get("test_metric") if t.state == optuna.trial.TrialState.COMPLETE else None,
                "params_count": metrics.get("params"),
                "wall_s": metrics.get("wall_s"),
                "trial_params": json.dumps(t.params, sort_keys=True),
            })
    return rows


# -- analysis (pure) ----------------------------------------------------------------------------------
def best_so_far(rows: list[dict[str, Any]]) -> list[float | None]:
    best, out = None, []
    for r in rows:
        if r["val_metric"] is not None and (best is None or r["val_metric"] > best):
            best = r["val_metric"]
        out.append(best)
    return out


def trials_to_reach(curve: list[float | None], target: float | None) -> int | None:
    """First trial (1-based) whose best-so-far is >= target; None if it never gets there."""
    if target is None:
        return None
    return next((i for i, v in enumerate(curve, start=1) if v is not None and v >= target), None)


def summarize(rows: list[dict[str, Any]], seeds: int, trials: int) -> dict[str, Any]:
    per_seed = []
    for seed in range(seeds):
        runs = {s: [r for r in rows if r["sampler"] == s and r["seed"] == seed] for s in SAMPLERS}
        curves = {s: best_so_far(rs) for s, rs in runs.items()}
        best = {s: c[-1] for s, c in curves.items()}
        best_trial = {s: max((r for r in rs if r["val_metric"] is not None), key=lambda r: r["val_metric"],
                             default=None) for s, rs in runs.items()}
        shared = 0
        for a, b in zip(runs["random"], runs["tpe"], strict=False):
            if a["trial_params"] != b["trial_params"]:
                break
            shared += 1
        per_seed.append({
            "seed": seed,
            "best_val": best,
            "best_test": {s: (t["test_metric"] if t else None) for s, t in best_trial.items()},
            "best_trial": {s: (t["trial"] if t else None) for s, t in best_trial.items()},
            "tpe_trials_to_reach_random_best": trials_to_reach(curves["tpe"], best["random"]),
            "random_trials_to_reach_tpe_best": trials_to_reach(curves["random"], best["tpe"]),
            "shared_first_trials": shared,
            "failed": {s: sum(r["state"] == "FAIL" for r in rs) for s, rs in runs.items()},
            "curves": curves,
        })
    reach = [p["tpe_trials_to_reach_random_best"] for p in per_seed]
    # a seed where TPE never reaches it counts as "more than the budget" for the median
    ranked = sorted(trials + 1 if r is None else r for r in reach)
    median = statistics.median(ranked)
    return {
        "per_seed": per_seed,
        "tpe_trials_to_reach_random_best_median": None if median > trials else median,
        "tpe_reached_random_best": sum(r is not None for r in reach),
        "tpe_best_higher": sum(p["best_val"]["tpe"] > p["best_val"]["random"] for p in per_seed),
        "tpe_best_equal": sum(p["best_val"]["tpe"] == p["best_val"]["random"] for p in per_seed),
        "mean_best_val": {s: statistics.fmean(p["best_val"][s] for p in per_seed) for s in SAMPLERS},
        "mean_best_test": {s: statistics.fmean(p["best_test"][s] for p in per_seed) for s in SAMPLERS},
        "wilcoxon_p_best_val": wilcoxon_p([p["best_val"]["tpe"] - p["best_val"]["random"] for p in per_seed]),
        "failed_total": {s: sum(p["failed"][s] for p in per_seed) for s in SAMPLERS},
        "failed_after_startup": {
            s: sum(r["state"] == "FAIL" and r["trial"] > p["shared_first_trials"]
                   for p in per_seed for r in rows if r["sampler"] == s and r["seed"] == p["seed"])
            for s in SAMPLERS
        },
    }


def wilcoxon_p(diffs: list[float]) -> float | None:
    """Two-sided Wilcoxon signed-rank p of paired differences, ties (0) dropped; None with < 2 non-ties."""
    nonzero = [d for d in diffs if d != 0]
    if len(nonzero) < 2:
        return None
    return float(stats.wilcoxon(nonzero).pvalue)


# -- figure -------------------------------------------------------------------------------------------
def figure_data(data: dict[str, Any]) -> dict[str, Any]:
    """Best-so-far validation accuracy against trials: every (sampler, seed) and the median over seeds."""
    per_seed = data["summary"]["per_seed"]
    curves = {s: [p["curves"][s] for p in per_seed] for s in SAMPLERS}
    median = {}
    for s, cs in curves.items():
        median[s] = [statistics.median(v for v in col if v is not None) if any(v is not None for v in col) else None
                     for col in zip(*cs, strict=True)]
    return {"trials": list(range(1, data["settings"]["trials"] + 1)), "curves": curves, "median": median,
            "startup": data["settings"]["tpe_startup_trials"]}


def make_figure(fd: dict[str, Any]) -> Any:
    import plotly.graph_objects as go

    colors = {"random": "gray", "tpe": "royalblue"}
    fig = go.Figure()
    for s in SAMPLERS:
        for i, c in enumerate(fd["curves"][s]):
            fig.add_trace(go.Scatter(x=fd["trials"], y=c, mode="lines", line={"color": colors[s], "width": 1},
                                     opacity=0.35, name=f"{s}, seed {i}", legendgroup=s, showlegend=False))
        fig.add_trace(go.Scatter(x=fd["trials"], y=fd["median"][s], mode="lines+markers", name=f"{s} (median of seeds)",
                                 line={"color": colors[s], "width": 3}, legendgroup=s))
    fig.add_vline(x=fd["startup"] + 0.5, line_dash="dot", annotation_text="TPE's random start-up ends")
    fig.update_layout(title="TPE vs random search on MNIST-1D: best validation accuracy so far",
                      xaxis_title="trial", yaxis_title="best validation accuracy", height=480, width=800)
    return fig


# -- README -------------------------------------------------------------------------------------------
def readme(data: dict[str, Any]) -> str:
    s, summary = data["settings"], data["summary"]

    def pct(x: float | None) -> str:
        return "—" if x is None else f"{100 * x:.1f}%"

    def reached(n: int | None) -> str:
        return str(n) if n is not None else f"not within {s['trials']}"

    median = summary["tpe_trials_to_reach_random_best_median"]
    lines = [
        "# Search efficiency: TPE against random search",
        "",
        "Reproduce from the repository root (the numbers below are written by this command from `results.json`):",
        "",
        "```", data["command"], "```", "",
        f"Date: {data['date']}. Machine: {data['machine']}. Wall time {data['wall_s'] / 60:.1f} min (1-min load "
        f"average {data['load_average'][0]} at the start, {data['load_average'][1]} at the end: times are inflated "
        "by other jobs, accuracies are not).",
        "",
        "## Settings",
        "",
        f"`optnas.search.run_search` on MNIST-1D ({s['space']['task']['params']['n_samples']:,} signals), "
        f"{s['trials']} trials per search, seeds "
        f"0..{s['seeds'] - 1}, one job, no pruner, objective: validation accuracy. TPE is Optuna's default "
        f"TPESampler ({s['tpe_startup_trials']} random start-up trials). Search space:",
        "",
        "```json",
        *(f'"{key}": {json.dumps(value)}' for key, value in s["space"].items()),
        "```",
        "",
        "## Results",
        "",
        "| seed | random: best val (test) | TPE: best val (test) | TPE trials to reach random's best | random trials "
        "to reach TPE's best | shared first trials | failed trials (random / TPE) |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in summary["per_seed"]:
        lines.append(
            f"| {p['seed']} | {pct(p['best_val']['random'])} ({pct(p['best_test']['random'])}) | "
            f"{pct(p['best_val']['tpe'])} ({pct(p['best_test']['tpe'])}) | "
            f"{reached(p['tpe_trials_to_reach_random_best'])} | {reached(p['random_trials_to_reach_tpe_best'])} | "
            f"{p['shared_first_trials']} | "
            f"{p['failed']['random']} / {p['failed']['tpe']} |"
        )
    lines += [
        "",
        f"- Median over seeds of the trials TPE needs to reach random search's best: "
        f"{reached(median)} (reached on {summary['tpe_reached_random_best']} of {s['seeds']} seeds).",
        f"- TPE's best is higher on {summary['tpe_best_higher']} of {s['seeds']} seeds, equal on "
        f"{summary['tpe_best_equal']} (Wilcoxon signed-rank over the unequal seeds: p = "
        f"{'—' if summary['wilcoxon_p_best_val'] is None else format(summary['wilcoxon_p_best_val'], '.2g')}). "
        "Mean best validation accuracy: random "
        f"{pct(summary['mean_best_val']['random'])}, "
        f"TPE {pct(summary['mean_best_val']['tpe'])}; test accuracy of those trials: random "
        f"{pct(summary['mean_best_test']['random'])}, TPE {pct(summary['mean_best_test']['tpe'])}.",
        f"- Failed (diverged) trials: random {summary['failed_total']['random']}, TPE "
        f"{summary['failed_total']['tpe']} of {s['seeds'] * s['trials']} each; after the trials the two samplers "
        f"share: random {summary['failed_after_startup']['random']}, TPE {summary['failed_after_startup']['tpe']}. "
        "A diverged trial is recorded as FAIL, and Optuna's TPE leaves failed trials out of its model, so nothing "
        "steers it away from a region that diverges (`trial_params` in `results.csv` says which).",
        "",
        f"Caveats: a few seeds and a short budget; validation accuracy is measured on {s['val_samples']} signals "
        f"(one signal = {100 / s['val_samples']:.2g} pt), and each trial trains once, so a trial's score is itself "
        "noisy.",
        "",
        "Files: `results.csv` (one row per trial), `results.json` (settings, machine, summary with best-so-far "
        "curves), `figure.html` (best-so-far against trials; offline).",
        "",
    ]
    return "\n".join(lines)


# -- main ---------------------------------------------------------------------------------------------
def write_outputs(out: Path, data: dict[str, Any]) -> None:
    """The summary from the trials, then results.json, figure.html and README.md."""
    s = data["settings"]
    data = {**data, "summary": summarize(data["runs"], s["seeds"], s["trials"])}
    write_files(out, data, lambda d: make_figure(figure_data(d)), readme)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--trials", type=int, default=TRIALS)
    parser.add_argument("--quick", action="store_true", help="1 epoch, 4 trials, small data (< 1 min)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: here; /tmp with --quick)")
    parser.add_argument("--readme-only", action="store_true",
                        help="no training: recompute the summary, README.md and figure.html from results.json's runs")
    args = parser.parse_args(argv)
    out = args.out or (Path(tempfile.gettempdir()) / "optnas-papers-search" if args.quick else HERE)
    out.mkdir(parents=True, exist_ok=True)
    if args.readme_only:
        write_outputs(out, json.loads((out / "results.json").read_text()))
        return 0
    torch.set_num_threads(args.threads)
    os.environ["OPTNAS_TORCH_THREADS"] = str(args.threads)  # the search worker sets its own thread count

    space, trials = json.loads(json.dumps(SPACE)), args.trials
    if args.quick:
        space["task"]["params"]["n_samples"] = 1000
        space["train"]["epochs"], trials = 1, min(trials, 4)
    start, load_start = time.perf_counter(), os.getloadavg()[0]
    rows = []
    for seed in range(args.seeds):
        for sampler in SAMPLERS:
            t0 = time.perf_counter()
            rows += run_one(sampler, seed, trials, space)
            best = max((r["val_metric"] for r in rows[-trials:] if r["val_metric"] is not None), default=None)
            print(f"{sampler:6s} seed {seed}: best val {best} ({time.perf_counter() - t0:.0f} s)", flush=True)
    settings = {"space": space, "trials": trials, "seeds": args.seeds, "samplers": list(SAMPLERS),
                "tpe_startup_trials": optuna.samplers.TPESampler()._n_startup_trials,
                "val_samples": SearchSpace.from_dict(space).task().num_samples("val")}
    data = {
        "command": "python benchmarks/papers/search_efficiency/run.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(args.threads),
        "wall_s": time.perf_counter() - start,
        "load_average": [round(load_start, 2), round(os.getloadavg()[0], 2)],
        "settings": settings,
        "runs": rows,
    }
    write_csv(out / "results.csv", rows)
    write_outputs(out, data)
    print(f"wrote {out}/results.csv, results.json, figure.html, README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
