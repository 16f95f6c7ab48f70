"""Activations against depth: ReLU, tanh, GELU, RePU and MRePU (p = 2), default and critical initialization.

Run from the repository root:

    python benchmarks/papers/activations_depth/run.py           # 3 seeds: results.csv/json, figure.html, README.md
    python benchmarks/papers/activations_depth/run.py --quick   # < 1 minute, written to /tmp (development)
    python benchmarks/papers/activations_depth/run.py --readme-only

Claims tested (Kim & Kang, arXiv 2408.02697; THEORY.md §2): deep RePU networks explode or vanish whatever
the initialization; MRePU, in the K* = 0 class like tanh, trains deep. The paper's networks are plain
(non-residual) MLPs, so the claim is tested there first: a torch MLP of `depth` hidden layers
(Linear + activation, width 32), trained with `optnas.training.fit`. optnas networks are residual instead,
x + h·T(x) with h = 1/depth, which keeps the signal near the identity whatever σ does; the same grid is run
on the optnas `gd` skeleton (mlp2 blocks, width 32, hidden 32) to show what the skeleton changes.

Initializations:
- default: torch's default (U(±1/√fan_in): C_W = 1/3, small random biases) for the plain MLP; optnas's
  default for the skeleton (`ArchSpec(init="default")`).
- critical: (C_b, C_W) from `optnas.theory.init_parameters` on every layer (plain), `ArchSpec(init="critical")`
  (skeleton). RePU has no critical point: both use optnas's documented fallback (C_b = 0.25, C_W = 0.5).
- critical, K0 = 1e-3 (plain only, ours): critical hidden layers and a first layer scaled so the input
  kernel is 1e-3. THEORY.md predicts MRePU's kernel creeps up with depth (a1 = 18 for p = 2), so a small
  input kernel should matter for it; this arm tests that prediction.

Every run: AdamW (the library's warmup + cosine schedule, gradient clipping 1.0), lr 1e-2, batch 32,
10 epochs, seeds 0..N-1. Measured: status (diverged = NaN/inf loss or |output| > 1e6), validation MSE
divided by the target's variance (NMSE; 1 = no better than predicting the mean), and the std of the
network's output at initialization across the validation inputs (≈ 0: the output ignores x, the signal
vanished; huge or non-finite: it exploded).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

import optnas
import optnas.tasks as tasks
from optnas import activations, theory
from optnas.training import fit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the papers' shared helpers (_common)

from _common import machine, reproduce_lines, write_csv
from _common import write_outputs as write_files

HERE = Path(__file__).resolve().parent

ACTIVATIONS: dict[str, dict[str, Any]] = {
    "relu": {},
    "tanh": {},
    "gelu": {},
    "repu": {"p": 2},
    "mrepu": {"p": 2},
}
TASKS: dict[str, dict[str, Any]] = {
    "polynomial": {"degree": 5, "n_samples": 1000},  # Chebyshev T5 on U[-1, 1]
    "telgarsky": {"k": 2, "n_samples": 1000},  # 2-fold tent map (2 teeth) on U[0, 1]
}
DEPTHS = (5, 10, 20, 50)
ARMS = ("residual/default", "residual/critical", "plain/default", "plain/critical", "plain/critical, K0=1e-3")
WIDTH = 32
SMALL_K0 = 1e-3
TRAIN = {"lr": 1e-2, "batch_size": 32, "latency_repeats": 1}
EPOCHS = 10
TRAINED_NMSE = 0.1  # "trained": completed with NMSE below this (R² > 0.9)


# -- models -------------------------------------------------------------------------------------------
def plain_mlp(act: str, params: dict[str, Any], depth: int, init: str) -> nn.Sequential:
    """``depth`` hidden layers: Linear(1, 32), then (σ, Linear(32, 32)) × (depth − 1), then σ, Linear(32, 1)."""
    layers: list[nn.Module] = [nn.Linear(1, WIDTH)]
    for _ in range(depth - 1):
        layers += [activations.get(act, **params), nn.Linear(WIDTH, WIDTH)]
    layers += [activations.get(act, **params), nn.Linear(WIDTH, 1)]
    model = nn.Sequential(*layers)
    if init != "default":
        choice = theory.init_parameters(act, **params)
        theory.initialize_(model, choice.c_b, choice.c_w)
        if init == "critical, K0=1e-3":
            # inputs have E[x²] = 1/3 on both tasks; the first layer's fan-in is 1
            theory.initialize_(model[0], 0.0, 3.0 * SMALL_K0)
    return model


def residual(act: str, params: dict[str, Any], depth: int, init: str, task: tasks.Task) -> nn.Module:
    spec = optnas.ArchSpec(
        algorithm="gd", block="mlp2", block_params={"hidden": WIDTH}, activation=act, activation_params=params,
        depth=depth, width=WIDTH, init=init,
    )
    return optnas.build(spec, task.input_shape, task.num_outputs)


def run_one(task_name: str, task: tasks.Task, act: str, depth: int, arm: str, seed: int, epochs: int) -> dict[str, Any]:
    kind, init = arm.split("/")
    params = ACTIVATIONS[act]
    torch.manual_seed(seed)
    model = residual(act, params, depth, init, task) if kind == "residual" else plain_mlp(act, params, depth, init)
    x_val, y_val = task.tensors("val")
    with torch.no_grad():
        init_std = float(model(x_val).std())  # how much the output depends on x; biases do not count
    result = fit(model, task, epochs=epochs, seed=seed, device="cpu", **TRAIN)
    variance = float(y_val.var())
    val = result.metrics["val_metric"] if result.status == "complete" else None
    return {
        "task": task_name,
        "activation": act,
        "depth": depth,
        "arm": arm,
        "seed": seed,
        "status": result.status,
        "reason": result.reason,
        "params": result.metrics["params"],
        "init_output_std": init_std if math.isfinite(init_std) else None,
        "val_mse": val,
        "nmse": None if val is None else val / variance,
        "wall_s": round(result.metrics["wall_s"], 3),
    }


def run_all(settings: dict[str, Any], partial: Path) -> list[dict[str, Any]]:
    """Every (task, activation, depth, arm, seed) run; finished runs are appended to ``partial`` and skipped
    when the same settings are run again (an interrupted run resumes)."""
    key = hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    done: dict[tuple[Any, ...], dict[str, Any]] = {}
    if partial.exists():
        for line in partial.read_text().splitlines():
            row = json.loads(line)
            if row.pop("settings_key") == key:
                done[(row["task"], row["activation"], row["depth"], row["arm"], row["seed"])] = row
    rows = []
    with partial.open("a") as log:
        for task_name, params in settings["tasks"].items():
            task = tasks.get(task_name, **params)
            for act in settings["activations"]:
                for depth in settings["depths"]:
                    for arm in settings["arms"]:
                        for seed in range(settings["seeds"]):
                            k = (task_name, act, depth, arm, seed)
                            if k not in done:
                                r = done[k] = run_one(task_name, task, act, depth, arm, seed, settings["epochs"])
                                log.write(json.dumps({**r, "settings_key": key}) + "\n")
                                log.flush()
                                nmse = "—" if r["nmse"] is None else f"{r['nmse']:.3g}"
                                print(f"{task_name:10s} {act:6s} depth {depth:2d} {arm:24s} seed {seed}: "
                                      f"{r['status']:8s} nmse {nmse} init std {r['init_output_std']} "
                                      f"{r['wall_s']:.1f} s", flush=True)
                            rows.append(done[k])
    return rows


# -- analysis -----------------------------------------------------------------------------------------
def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (task, activation, depth, arm): divergence rate, trained rate, median NMSE, init std."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["task"], r["activation"], r["depth"], r["arm"]), []).append(r)
    out = []
    for (task, act, depth, arm), rs in groups.items():
        done = [r["nmse"] for r in rs if r["nmse"] is not None]
        std = [r["init_output_std"] for r in rs if r["init_output_std"] is not None]
        out.append({
            "task": task, "activation": act, "depth": depth, "arm": arm, "runs": len(rs),
            "diverged": sum(r["status"] == "diverged" for r in rs),
            "trained": sum(v < TRAINED_NMSE for v in done),
            "nmse_median": statistics.median(done) if done else None,
            "nmse_min": min(done) if done else None,
            "init_std_median": statistics.median(std) if std else None,
            "init_nonfinite": len(rs) - len(std),
        })
    return out


def totals(summary: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (task, arm, activation): runs, diverged and trained over all depths and seeds."""
    acc: dict[tuple[str, str, str], dict[str, Any]] = {}
    for s in summary:
        t = acc.setdefault((s["task"], s["arm"], s["activation"]),
                           {"task": s["task"], "arm": s["arm"], "activation": s["activation"],
                            "runs": 0, "diverged": 0, "trained": 0})
        for k in ("runs", "diverged", "trained"):
            t[k] += s[k]
    return list(acc.values())


# -- figure -------------------------------------------------------------------------------------------
def figure_data(data: dict[str, Any]) -> dict[str, Any]:
    """Per (task, arm): for each activation, depths, median NMSE (None where every seed diverged), diverged."""
    panels: dict[str, Any] = {}
    for s in data["summary"]:
        panel = panels.setdefault(f"{s['task']} | {s['arm']}", {})
        line = panel.setdefault(s["activation"], {"depth": [], "nmse": [], "diverged": [], "runs": []})
        line["depth"].append(s["depth"])
        line["nmse"].append(s["nmse_median"])
        line["diverged"].append(s["diverged"])
        line["runs"].append(s["runs"])
    return {"tasks": list(data["settings"]["tasks"]), "arms": data["settings"]["arms"], "panels": panels}


def make_figure(fd: dict[str, Any]) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    colors = dict(zip(ACTIVATIONS, ("#1f77b4", "#2ca02c", "#9467bd", "#d62728", "#ff7f0e"), strict=True))
    rows = [(task, what) for task in fd["tasks"] for what in ("median NMSE", "diverged fraction")]
    titles = [f"{task}: {arm}" if what == "median NMSE" else "" for task, what in rows for arm in fd["arms"]]
    fig = make_subplots(rows=len(rows), cols=len(fd["arms"]), subplot_titles=titles, vertical_spacing=0.06)
    for r, (task, what) in enumerate(rows, start=1):
        for c, arm in enumerate(fd["arms"], start=1):
            for act, line in fd["panels"].get(f"{task} | {arm}", {}).items():
                y = line["nmse"] if what == "median NMSE" else [d / n for d, n in zip(line["diverged"], line["runs"],
                                                                                        strict=True)]
                fig.add_trace(
                    go.Scatter(x=line["depth"], y=y, mode="lines+markers", name=act, legendgroup=act,
                               line={"color": colors[act]}, showlegend=r == 1 and c == 1),
                    row=r, col=c,
                )
            fig.update_xaxes(type="log", row=r, col=c, title_text="depth" if r == len(rows) else None)
            if what == "median NMSE":
                fig.update_yaxes(type="log", row=r, col=c, title_text=f"{task} NMSE" if c == 1 else None)
            else:
                fig.update_yaxes(range=[-0.05, 1.05], row=r, col=c, title_text="diverged" if c == 1 else None)
    fig.update_layout(title="Activation × depth × initialization: plain MLP vs optnas residual skeleton "
                            "(median validation NMSE over seeds, and the diverged fraction)",
                      height=260 * len(rows), width=300 * len(fd["arms"]))
    return fig


# -- README -------------------------------------------------------------------------------------------
def readme(data: dict[str, Any]) -> str:
    s = data["settings"]
    lines = [
        "# Activations against depth: plain MLPs and the optnas residual skeleton",
        "",
        *reproduce_lines(data),
        "",
        "Claims (Kim & Kang, arXiv 2408.02697): deep RePU networks fail whatever the initialization; MRePU "
        "(K* = 0 class) trains deep. Their numbers and exact settings were not obtained; this is our own small "
        "CPU version.",
        "",
        "## Settings",
        "",
        f"Tasks: {json.dumps(s['tasks'])} (polynomial: Chebyshev T5 on U[−1, 1]; telgarsky: the 2-fold tent map "
        f"on U[0, 1]). Activations: {json.dumps(s['activations'])}. Depths {s['depths']}, width {s['width']}, "
        f"{s['epochs']} epochs, options {json.dumps(s['train'])}, seeds 0..{s['seeds'] - 1}.",
        "",
        "- plain = torch MLP with `depth` hidden layers (Linear + σ); residual = optnas `gd` skeleton, `depth` "
        "mlp2 blocks (two Linear layers each), h = 1/depth.",
        "- default = torch's default init (plain) / optnas's default (residual); critical = "
        "`optnas.theory.init_parameters` (RePU: fallback C_b = 0.25, C_W = 0.5, it has no critical point); "
        f"critical, K0=1e-3 = critical hidden layers with the first layer scaled to an input kernel of {s['small_k0']} "
        "(plain only; tests THEORY.md's prediction that MRePU needs a small input kernel).",
        f"- NMSE = validation MSE / Var(y); trained = completed with NMSE < {s['trained_nmse']} (R² > 0.9); "
        "diverged = NaN/inf loss or |output| > 1e6.",
        "",
        "## Totals over depths and seeds (trained / diverged of runs)",
        "",
    ]
    acts = list(s["activations"])
    for task in s["tasks"]:
        lines += [f"**{task}**", "", "| arm | " + " | ".join(acts) + " |", "|---" * (len(acts) + 1) + "|"]
        for arm in s["arms"]:
            cells = []
            for act in acts:
                t = next(x for x in data["totals"] if x["task"] == task and x["arm"] == arm and x["activation"] == act)
                cells.append(f"{t['trained']} / {t['diverged']} of {t['runs']}")
            lines.append(f"| {arm} | " + " | ".join(cells) + " |")
        lines.append("")
    deep = [d for d in s["depths"] if d >= 20]
    lines += [f"## Deep networks only (depth {', '.join(map(str, deep))}; both tasks): trained / diverged of runs", "",
              "| activation | " + " | ".join(s["arms"]) + " |", "|---" * (len(s["arms"]) + 1) + "|"]
    for act in acts:
        cells = []
        for arm in s["arms"]:
            cell = [x for x in data["summary"] if x["activation"] == act and x["arm"] == arm and x["depth"] in deep]
            cells.append(f"{sum(x['trained'] for x in cell)} / {sum(x['diverged'] for x in cell)} of "
                         f"{sum(x['runs'] for x in cell)}")
        lines.append(f"| {act} | " + " | ".join(cells) + " |")
    lines += ["", "## Median NMSE by depth (diverged seeds in brackets; — = every seed diverged)", ""]
    for task in s["tasks"]:
        lines += [f"**{task}**", "",
                  "| arm | activation | " + " | ".join(f"depth {d}" for d in s["depths"]) + " | init output std "
                  f"(depth {s['depths'][0]} → {s['depths'][-1]}) |",
                  "|---|---" + "|---" * len(s["depths"]) + "|---|"]
        for arm in s["arms"]:
            for act in acts:
                cells, std = [], []
                for d in s["depths"]:
                    x = next(y for y in data["summary"]
                             if y["task"] == task and y["arm"] == arm and y["activation"] == act and y["depth"] == d)
                    med = "—" if x["nmse_median"] is None else f"{x['nmse_median']:.3g}"
                    cells.append(med + (f" [{x['diverged']}]" if x["diverged"] else ""))
                    std.append("non-finite" if x["init_std_median"] is None else f"{x['init_std_median']:.2g}")
                lines.append(f"| {arm} | {act} | " + " | ".join(cells) + f" | {std[0]} → {std[-1]} |")
        lines.append("")
    lines += [
        "Files: `results.csv` (one row per run), `results.json` (settings, machine, per-cell summary, totals), "
        "`figure.html` (median NMSE and diverged fraction against depth, one panel per task and arm; offline).",
        "",
    ]
    return "\n".join(lines)


# -- main ---------------------------------------------------------------------------------------------
def write_outputs(out: Path, data: dict[str, Any]) -> None:
    """Summary and totals from the runs, then results.json, figure.html and README.md."""
    summary = summarize(data["runs"])
    data = {**data, "summary": summary, "totals": totals(summary)}
    write_files(out, data, lambda d: make_figure(figure_data(d)), readme)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="depths 5 and 20, 2 epochs, polynomial only (< 1 min)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: here; /tmp with --quick)")
    parser.add_argument("--readme-only", action="store_true",
                        help="no training: recompute the summary, README.md and figure.html from results.json's runs")
    args = parser.parse_args(argv)
    out = args.out or (Path(tempfile.gettempdir()) / "optnas-papers-activations" if args.quick else HERE)
    out.mkdir(parents=True, exist_ok=True)
    if args.readme_only:
        write_outputs(out, json.loads((out / "results.json").read_text()))
        return 0
    torch.set_num_threads(args.threads)

    settings: dict[str, Any] = {
        "tasks": TASKS,
        "activations": ACTIVATIONS,
        "depths": list(DEPTHS),
        "arms": list(ARMS),
        "width": WIDTH,
        "epochs": EPOCHS,
        "train": TRAIN,
        "seeds": args.seeds,
        "small_k0": SMALL_K0,
        "trained_nmse": TRAINED_NMSE,
    }
    if args.quick:
        settings.update(tasks={"polynomial": TASKS["polynomial"]}, depths=[5, 20], epochs=2)
    load_start = os.getloadavg()[0]
    rows = run_all(settings, out / "runs.partial.jsonl")
    data = {
        "command": "python benchmarks/papers/activations_depth/run.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(args.threads),
        "train_wall_s": sum(r["wall_s"] for r in rows),
        "load_average": [round(load_start, 2), round(os.getloadavg()[0], 2)],
        "settings": settings,
        "runs": rows,
    }
    write_csv(out / "results.csv", rows)
    write_outputs(out, data)
    (out / "runs.partial.jsonl").unlink()
    print(f"wrote {out}/results.csv, results.json, figure.html, README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
