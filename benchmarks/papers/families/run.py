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
import datetime as dt
import json
import os
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

import optnas.tasks as tasks

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the papers' shared helpers (_common)

from _common import machine, no_nan, write_csv  # noqa: E402
from _common import write_outputs as write_files  # noqa: E402
from analysis import confirm_summary, summarize  # noqa: E402
from report import figure_data, make_figure, readme  # noqa: E402
from runs import CONFIRM_SEEDS, DEPTH, FAMILIES, LRS, TASKS, TRAIN, TaskSetup, confirm_grid, main_grid, run_all  # noqa: E402


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
    write_csv(out / "results.csv", rows)
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
    write_files(out, no_nan(data), lambda d: make_figure(figure_data(d)), readme, reread=True)


if __name__ == "__main__":
    sys.exit(main())
