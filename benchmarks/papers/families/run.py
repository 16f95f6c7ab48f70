"""Every explicit OptDNN family against ResNet (`gd`) on the papers' CPU tasks, at matched parameter count.

Run from the repository root:

    python benchmarks/papers/families/run.py              # 3 seeds: results.csv, results.json, figure.html, README.md
    python benchmarks/papers/families/run.py --quick      # < 1 minute, written to /tmp (development)
    python benchmarks/papers/families/run.py --readme-only

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
below 0.05; with 3 seeds that asks for a large and consistent difference.
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


def run_all(settings: dict[str, Any], partial: Path) -> list[dict[str, Any]]:
    """Every (task, family, lr, seed) run; finished runs are appended to ``partial`` and skipped on a rerun."""
    key = settings_key(settings)
    done: dict[tuple[Any, ...], dict[str, Any]] = {}
    if partial.exists():
        for line in partial.read_text().splitlines():
            row = json.loads(line)
            if row.pop("settings_key") == key:
                done[(row["task"], row["family"], row["lr"], row["seed"])] = row
    rows = []
    with partial.open("a") as log:
        for task_name, setup_dict in settings["tasks"].items():
            setup = TaskSetup(**setup_dict)
            task = tasks.get(task_name, **setup.params)
            for family in settings["families"]:
                for lr in settings["lrs"]:
                    for seed in range(settings["seeds"]):
                        k = (task_name, family, lr, seed)
                        if k not in done:
                            done[k] = run_one(task_name, task, setup, family, lr, seed)
                            log.write(json.dumps({**done[k], "settings_key": key}) + "\n")
                            log.flush()
                            r = done[k]
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


def summarize(rows: list[dict[str, Any]], settings: dict[str, Any]) -> dict[str, Any]:
    """Selected lrs, per-family statistics and paired comparisons with gd, for both protocols."""
    directions = settings["directions"]
    seeds = list(range(settings["seeds"]))
    index = {(r["task"], r["family"], r["lr"], r["seed"]): r for r in rows}
    out: dict[str, Any] = {"selected_lr": {}, "protocols": {}}
    for task in settings["tasks"]:
        out["selected_lr"][task] = {
            fam: select_lr([r for r in rows if r["task"] == task and r["family"] == fam], directions[task])
            for fam in settings["families"]
        }
    for protocol in ("resnet_lr", "own_lr"):
        table: dict[str, dict[str, Any]] = {}
        pvalues: dict[tuple[str, str], float] = {}
        for task in settings["tasks"]:
            sign, chosen = better_sign(directions[task]), out["selected_lr"][task]
            gd_lr = chosen["gd"]
            table[task] = {}
            for fam in settings["families"]:
                lr = gd_lr if protocol == "resnet_lr" else chosen[fam]
                runs = [index[(task, fam, lr, s)] for s in seeds] if lr is not None else []
                base = [index[(task, "gd", gd_lr, s)] for s in seeds] if gd_lr is not None else []
                test = [r["test_metric"] for r in runs]
                entry: dict[str, Any] = {
                    "lr": lr,
                    "params": runs[0]["params"] if runs else None,
                    "diverged": sum(r["status"] == "diverged" for r in runs),
                    "test": test,
                    "test_mean": _mean(test),
                    "test_std": _std(test),
                    "train_mean": _mean([r["train_metric"] for r in runs]),
                }
                paired = runs and base and all(v is not None for v in test + [b["test_metric"] for b in base])
                if fam != "gd" and paired:
                    diff = [sign * (r["test_metric"] - b["test_metric"]) for r, b in zip(runs, base, strict=True)]
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


def _mean(values: list[Any]) -> float | None:
    v = [x for x in values if x is not None]
    return statistics.fmean(v) if v else None


def _std(values: list[Any]) -> float | None:
    v = [x for x in values if x is not None]
    return statistics.stdev(v) if len(v) > 1 else None


# -- figure -------------------------------------------------------------------------------------------
def figure_data(data: dict[str, Any]) -> dict[str, Any]:
    """Per task: families, test metric per seed and mean ± std at each family's own lr, gd's mean."""
    table = data["summary"]["protocols"]["own_lr"]["table"]
    panels = {}
    for task, fams in table.items():
        panels[task] = {
            "metric": data["settings"]["metric_names"][task],
            "families": list(fams),
            "seeds": [fams[f]["test"] for f in fams],
            "mean": [fams[f]["test_mean"] for f in fams],
            "std": [fams[f]["test_std"] or 0.0 for f in fams],
            "gd_mean": fams["gd"]["test_mean"],
            "log_y": data["settings"]["directions"][task] == "minimize",
        }
    return panels


def make_figure(panels: dict[str, Any]) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    titles = [f"{task} (test {p['metric']})" for task, p in panels.items()]
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=titles)
    for col, p in enumerate(panels.values(), start=1):
        for fam, seeds in zip(p["families"], p["seeds"], strict=True):
            pts = [v for v in seeds if v is not None]
            fig.add_trace(
                go.Scatter(x=[fam] * len(pts), y=pts, mode="markers", marker={"color": "lightgray", "size": 6},
                           name="seed", showlegend=col == 1 and fam == "gd", legendgroup="seed"),
                row=1, col=col,
            )
        fig.add_trace(
            go.Scatter(x=p["families"], y=p["mean"], mode="markers", error_y={"type": "data", "array": p["std"]},
                       marker={"color": ["crimson" if f == "gd" else "royalblue" for f in p["families"]], "size": 9},
                       name="mean ± std (own best lr)", showlegend=col == 1, legendgroup="mean"),
            row=1, col=col,
        )
        if p["gd_mean"] is not None:
            fig.add_hline(y=p["gd_mean"], line_dash="dot", line_color="crimson", row=1, col=col)
        if p["log_y"]:
            fig.update_yaxes(type="log", row=1, col=col)
    fig.update_layout(title="OptDNN families vs ResNet (gd, red) at matched parameters, depth 8", height=480,
                      width=360 * len(panels))
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
    protocols = (("own_lr", "each family at its own best lr"), ("resnet_lr", "every family at gd's best lr"))
    for protocol, title in protocols:
        p = summary["protocols"][protocol]
        lines += [
            "",
            f"## Test metric, {title}",
            "",
            f"Mean ± std over {s['seeds']} seeds; Δ = mean paired difference with gd, positive when the family is "
            f"better; W/L = seeds won/lost against gd; p = paired t-test, Holm-adjusted over the {p['comparisons']} "
            f"comparisons of this table; verdict at Holm p < {ALPHA}. Train = final-epoch training metric "
            "(mean over the last epoch's batches: approximation, the papers' question). Div. = diverged seeds.",
        ]
        for task, fams in p["table"].items():
            metric = s["metric_names"][task]
            lines += ["", f"**{task}** ({metric})", "",
                      "| family | params | lr | test mean ± std | train mean | div. | Δ vs gd | W/L | p (Holm) "
                      "| verdict |",
                      "|---|---|---|---|---|---|---|---|---|---|"]
            for fam, e in fams.items():
                delta = "—" if "diff_mean" not in e else (
                    f"{100 * e['diff_mean']:+.1f} pt" if metric == "accuracy" else f"{e['diff_mean']:+.2g}")
                wl = "—" if "wins" not in e else f"{e['wins']}/{e['losses']}"
                ph = "—" if e.get("p_holm") is None else f"{e['p_holm']:.2g}"
                std = "" if e["test_std"] is None else f" ± {_fmt(e['test_std'], metric)}"
                lines.append(
                    f"| {fam} | {e['params'] if e['params'] is not None else '—'} | {e['lr']} | "
                    f"{_fmt(e['test_mean'], metric)}{std} | {_fmt(e['train_mean'], metric)} | {e['diverged']} | "
                    f"{delta} | {wl} | {ph} | {e.get('verdict', 'baseline')} |"
                )
    lines += ["", "## Reading", ""]
    for protocol, title in (("own_lr", "At each family's own lr"), ("resnet_lr", "At gd's lr")):
        table = summary["protocols"][protocol]["table"]
        better = [f"{f} on {t}" for t, fams in table.items() for f, e in fams.items() if e.get("verdict") == "better"]
        worse = [f"{f} on {t}" for t, fams in table.items() for f, e in fams.items() if e.get("verdict") == "worse"]
        majority = [f"{f} on {t} ({e['wins']}/{s['seeds']})" for t, fams in table.items() for f, e in fams.items()
                    if e.get("verdict") == "no clear difference" and e.get("diff_mean", 0) > 0
                    and e.get("wins", 0) == s["seeds"]]
        lines.append(
            f"- {title}: significantly better than gd: {', '.join(better) or 'none'}; significantly worse: "
            f"{', '.join(worse) or 'none'}. Better on every seed but not significant after Holm: "
            f"{', '.join(majority) or 'none'}."
        )
    lines += [
        "- Everything else is within the seed spread: not a win for either side.",
        "",
        f"Caveats: {s['seeds']} seeds, small networks, short budgets, and task settings piloted on gd; the lr "
        f"grid has {len(s['lrs'])} points. A family that is 'no clear difference' here may differ with more seeds "
        "or longer training.",
        "",
        "Files: `results.csv` (one row per run), `results.json` (settings, machine, summary), "
        "`figure.html` (test metric per family and task, own-lr protocol; open offline).",
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
    parser.add_argument("--readme-only", action="store_true",
                        help="no training: recompute the summary, README.md and figure.html from results.json's runs")
    args = parser.parse_args(argv)
    out = args.out or (Path(tempfile.gettempdir()) / "optnas-papers-families" if args.quick else HERE)
    out.mkdir(parents=True, exist_ok=True)
    if args.readme_only:
        data = json.loads((out / "results.json").read_text())
        write_outputs(out, {**data, "summary": summarize(data["runs"], data["settings"])})
        return 0
    torch.set_num_threads(args.threads)

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
    rows = run_all(settings, out / "runs.partial.jsonl")
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
    write_outputs(out, {**data, "summary": summarize(rows, settings)})
    (out / "runs.partial.jsonl").unlink()
    print(f"wrote {out}/results.csv, results.json, figure.html, README.md")
    return 0


def write_outputs(out: Path, data: dict[str, Any]) -> None:
    """results.json (strict JSON, NaN as null), then figure.html and README.md from what was written."""
    write_atomic(out / "results.json", json.dumps(no_nan(data), indent=1, allow_nan=False) + "\n")
    data = json.loads((out / "results.json").read_text())
    make_figure(figure_data(data)).write_html(out / "figure.html", include_plotlyjs=True)
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
