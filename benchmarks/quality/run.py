"""Quality benchmark of the training loop: digits accuracy in a CPU minute, and the width lift on nested rings.

Run from the repository root:

    python benchmarks/quality/run.py                 # 3 seeds, 1 CPU thread, writes results.json + README.md
    python benchmarks/quality/run.py --seeds 1       # quicker

Claims checked (THEORY.md §1):
1. A certified OptDNN reaches >= 95% test accuracy on scikit-learn's digits within 60 s of CPU.
2. A certified OptDNN separates 3 nested rings (>= 99%); the same skeleton with its state kept at the input
   dimension (stem="none", width 2; uncertified) cannot. The implicit proximal-point skeleton makes this a
   theorem, not a tendency: each step is a homeomorphism (certified contraction), so the width-2 network is a
   homeomorphism of the plane followed by a linear head. Explicit width-2 skeletons are run too, as a control:
   their steps are not constrained to be invertible, so they are *not* flows and may fold the plane.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
from pathlib import Path
from typing import Any

import torch

import optnas
import optnas.tasks as tasks
from optnas.training import train

HERE = Path(__file__).resolve().parent

DIGITS_RUNS: dict[str, dict[str, Any]] = {
    "gd + preact_conv (images)": {
        "spec": optnas.ArchSpec(algorithm="gd", block="preact_conv", depth=4, width=32),
        "task": {"as_images": True},
    },
    "heavy_ball(0.9) + mlp2 (vectors)": {
        "spec": optnas.ArchSpec(
            algorithm="heavy_ball", algorithm_params={"beta": 0.9}, depth=6, width=128, activation="gelu"
        ),
        "task": {"as_images": False},
    },
}
DIGITS_OPTIONS = {"epochs": 20, "lr": 3e-3, "batch_size": 64, "weight_decay": 0.05, "max_seconds": 60.0}

LIFTED = optnas.ArchSpec(algorithm="proximal_point", depth=8, width=16)
RINGS_RUNS: dict[str, dict[str, Any]] = {
    "proximal_point, lifted (width 16)": {"spec": LIFTED, "epochs": 20},
    "proximal_point, width 2 (stem none)": {"spec": LIFTED.replace(stem="none", width=2), "epochs": 60},
    "control: gd, width 2 (stem none)": {
        "spec": optnas.ArchSpec(algorithm="gd", depth=8, width=2, stem="none"),
        "epochs": 60,
    },
    "control: heavy_ball(0.9), width 2 (stem none)": {
        "spec": optnas.ArchSpec(algorithm="heavy_ball", algorithm_params={"beta": 0.9}, depth=8, width=2, stem="none"),
        "epochs": 60,
    },
}
RINGS_OPTIONS = {"lr": 1e-2, "batch_size": 64}


def _summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    tests = [r["metrics"]["test_metric"] for r in results if r["metrics"]["test_metric"] is not None]
    walls = [r["metrics"]["wall_s"] for r in results]
    return {
        "test_metric_min": min(tests) if tests else None,
        "test_metric_mean": statistics.fmean(tests) if tests else None,
        "test_metric_max": max(tests) if tests else None,
        "best_val_metric_max": max((r["metrics"]["best_val_metric"] or 0.0) for r in results),
        "wall_s_max": max(walls),
        "statuses": sorted({r["status"] for r in results}),
        "params": results[0]["metrics"]["params"],
        "flops": results[0]["metrics"]["flops"],
        "latency_ms": statistics.median(r["metrics"]["latency_ms"] for r in results),
        "certified": results[0]["certified"],
    }


def _run(name: str, spec: optnas.ArchSpec, task: tasks.Task, seeds: int, **options: Any) -> dict[str, Any]:
    certified = optnas.certify(spec, input_shape=task.input_shape).ok
    runs = []
    for seed in range(seeds):
        result = train(spec, task, seed=seed, device="cpu", allow_uncertified=not certified, **options)
        record = {**result.to_dict(), "certified": certified}
        m = record["metrics"]
        print(
            f"  {name:48s} seed {seed}: {result.status:8s} test {m['test_metric']:.4f}  "
            f"best val {m['best_val_metric']:.4f}  {m['wall_s']:6.1f} s",
            flush=True,
        )
        runs.append(record)
    return {"spec": spec.to_dict(), "options": options, "runs": runs, "summary": _summary(runs)}


def _machine(threads: int) -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": threads,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "device": "cpu",
    }


def _readme(data: dict[str, Any]) -> str:
    def pct(x: float | None) -> str:
        return "—" if x is None else f"{100 * x:.1f}%"

    lines = [
        "# Quality benchmark: training loop",
        "",
        "Reproduce from the repository root:",
        "",
        "```",
        data["command"],
        "```",
        "",
        f"Date: {data['date']}. Machine: {data['machine']['platform']}, {data['machine']['cpu_count']} CPUs, "
        f"torch {data['machine']['torch']} on CPU with {data['machine']['torch_threads']} thread(s), "
        f"Python {data['machine']['python']}. Seeds: {data['seeds']}. Raw numbers: `results.json`.",
        "",
        "## 1. Digits (scikit-learn 8×8, 359 test images): >= 95% within 60 s of CPU",
        "",
        f"Options: {json.dumps(DIGITS_OPTIONS)} (the 60 s budget stops training if it runs out).",
        "",
        "| network | certified | test acc. min / mean / max | wall s (max) | params | FLOPs/sample "
        "| latency ms/batch 64 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, entry in data["digits"].items():
        s = entry["summary"]
        lines.append(
            f"| {name} | {s['certified']} | {pct(s['test_metric_min'])} / {pct(s['test_metric_mean'])} / "
            f"{pct(s['test_metric_max'])} | {s['wall_s_max']:.1f} | {s['params']:,} | {s['flops']:,} | "
            f"{s['latency_ms']:.2f} |"
        )
    lines += [
        "",
        "## 2. Three nested rings: the width lift",
        "",
        f"Task: `rings` (3 rings, 3,000 points, 450 test). Options: {json.dumps(RINGS_OPTIONS)}.",
        "",
        "| network | certified | epochs | test acc. min / mean / max | best val acc. (any epoch, any seed) |",
        "|---|---|---|---|---|",
    ]
    for name, entry in data["rings"].items():
        s = entry["summary"]
        lines.append(
            f"| {name} | {s['certified']} | {entry['options']['epochs']} | {pct(s['test_metric_min'])} / "
            f"{pct(s['test_metric_mean'])} / {pct(s['test_metric_max'])} | {pct(s['best_val_metric_max'])} |"
        )
    rings = data["rings"]
    lifted = rings["proximal_point, lifted (width 16)"]["summary"]
    narrow = rings["proximal_point, width 2 (stem none)"]["summary"]
    controls = {name: entry["summary"] for name, entry in rings.items() if name.startswith("control")}
    lines += [
        "",
        f"Reading. The lifted proximal-point OptDNN separates the rings (test accuracy >= "
        f"{pct(lifted['test_metric_min'])} on every seed). Kept at width 2 it cannot: its best validation",
        f"accuracy at any epoch of any seed is {pct(narrow['best_val_metric_max'])}, after 3× the epochs. This is",
        "a theorem here, not a tendency: each implicit step solves x+ = x + h·T(x+) with h·Lip(T) < 1 (T spectrally",
        "normalised, the certified contraction), so it is a homeomorphism of the plane, and a homeomorphism followed",
        "by a linear head cannot separate a disc from the annulus around it.",
        "",
        "The explicit width-2 controls reach "
        + ", ".join(f"{pct(s['test_metric_min'])} ({name.removeprefix('control: ')})" for name, s in controls.items())
        + ".",
        "Nothing keeps their h·Lip(T) below 1, so their steps are not invertible and can fold the plane (heavy ball",
        "also carries a velocity sequence, doubling its state). The obstruction belongs to flows and invertible",
        "layers, not to every narrow network; optnas's certificate demands the lift for every skeleton because the",
        "universality proof goes through the flow (NODE) limit.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: stable on busy machines)")
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--readme-only", action="store_true", help="rewrite README.md from results.json")
    args = parser.parse_args(argv)
    if args.readme_only:
        (args.out / "README.md").write_text(_readme(json.loads((args.out / "results.json").read_text())))
        return 0
    torch.set_num_threads(args.threads)

    data: dict[str, Any] = {
        "command": "python benchmarks/quality/run.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": _machine(args.threads),
        "seeds": args.seeds,
        "digits": {},
        "rings": {},
    }
    print("digits")
    for name, cfg in DIGITS_RUNS.items():
        task = tasks.get("digits", **cfg["task"])
        data["digits"][name] = _run(name, cfg["spec"], task, args.seeds, **DIGITS_OPTIONS)
    print("rings")
    rings = tasks.get("rings", rings=3)
    for name, cfg in RINGS_RUNS.items():
        data["rings"][name] = _run(name, cfg["spec"], rings, args.seeds, epochs=cfg["epochs"], **RINGS_OPTIONS)

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(data, indent=1, allow_nan=False) + "\n")
    (args.out / "README.md").write_text(_readme(data))
    print(f"wrote {args.out / 'results.json'} and {args.out / 'README.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
