"""Trainability benchmark: does the zero-cost score (`optnas.theory.trainability_score`) predict which
candidates actually train?

Candidates are drawn at random (fixed seed) from a grid of activation × init × depth × horizon ×
algorithm, every one a certified optnas network; each is scored (no training), then trained briefly
with `optnas.training.train` on a small regression task and measured by its validation R².

    python benchmarks/trainability/run.py [--candidates 64] [--epochs 10] [--seed 0]
                                          [--out benchmarks/trainability/results.json]

Reported: Spearman's rank correlation between the score and the measured R² (diverged runs count as
R² = 0), and, at several tolerances of the score, the false-rejection rate (trainable candidates the
score would skip) and the false-acceptance rate. "Trainable" means the run completed with R² >= 0.9.
For contrast, the same numbers for a plain-MLP rule (the kernel leaves [K0/10, 10·K0] within the depth
at the same init), which ignores the residual structure.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import platform
import random
import time
from datetime import date
from pathlib import Path
from typing import Any

import torch
from scipy import stats

import optnas
from optnas.tasks import get as get_task
from optnas.theory import trainability_score
from optnas.training import train

ACTIVATIONS: list[tuple[str, dict[str, Any]]] = [
    ("relu", {}),
    ("tanh", {}),
    ("gelu", {}),
    ("silu", {}),
    ("sigmoid", {}),
    ("softplus", {}),
    ("repu", {"p": 2}),
    ("repu", {"p": 3}),
    ("mrepu", {"p": 2}),
    ("mrepu", {"p": 3}),
]
INITS = ["default", "critical"]
DEPTHS = [8, 16, 32]
HORIZONS = [1.0, 4.0, 16.0]
ALGORITHMS: list[tuple[str, dict[str, Any]]] = [("gd", {}), ("heavy_ball", {"beta": 0.9})]
TOLERANCES = [10.0, 100.0, 1e3, 1e6]
TRAINABLE_R2 = 0.9
TASK = {"name": "polynomial", "degree": 3, "n_samples": 1000}
TRAIN = {"lr": 1e-2, "batch_size": 64, "latency_repeats": 1}
WIDTH = 32


def candidates(n: int, seed: int) -> list[optnas.ArchSpec]:
    grid = list(itertools.product(ACTIVATIONS, INITS, DEPTHS, HORIZONS, ALGORITHMS))
    picks = random.Random(seed).sample(grid, n)
    return [
        optnas.ArchSpec(
            algorithm=alg,
            algorithm_params=alg_params,
            activation=act,
            activation_params=act_params,
            init=init,
            depth=depth,
            width=WIDTH,
            schedule_params={"horizon": horizon},
        )
        for (act, act_params), init, depth, horizon, (alg, alg_params) in picks
    ]


def accepted(rows: list[dict[str, Any]], tolerance: float) -> list[bool]:
    """What the score predicts at ``tolerance``: trainable iff its deviation is within log10(tolerance)."""
    return [r["deviation"] is not None and r["deviation"] <= math.log10(tolerance) for r in rows]


def rates(predicted: list[bool], actual: list[bool]) -> dict[str, Any]:
    trainable = [p for p, a in zip(predicted, actual, strict=True) if a]
    untrainable = [p for p, a in zip(predicted, actual, strict=True) if not a]
    return {
        "false_rejection_rate": sum(not p for p in trainable) / len(trainable) if trainable else None,
        "false_acceptance_rate": sum(untrainable) / len(untrainable) if untrainable else None,
        "accuracy": sum(p == a for p, a in zip(predicted, actual, strict=True)) / len(actual),
        "predicted_trainable": sum(predicted),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(Path(__file__).with_name("results.json")))
    args = parser.parse_args()
    # tiny models: one intra-op thread is fastest, and immune to a busy machine's thread-pool stalls
    torch.set_num_threads(1)

    task = get_task(TASK["name"], **{k: v for k, v in TASK.items() if k != "name"})
    _, y_val = task.tensors("val")
    target_var = float(y_val.var(unbiased=False))
    rows = []
    for i, spec in enumerate(candidates(args.candidates, args.seed)):
        t0 = time.perf_counter()
        score = trainability_score(spec, input_variance=1 / 3, input_shape=task.input_shape)  # x ~ U[-1, 1]
        score_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        run = train(spec, task, epochs=args.epochs, seed=args.seed, device="cpu", **TRAIN)
        train_s = time.perf_counter() - t0
        mse = run.metrics.get("val_metric")
        r2 = max(0.0, 1.0 - mse / target_var) if run.status == "complete" and mse is not None else 0.0
        rows.append(
            {
                "spec": spec.to_dict(),
                "score": score.score,
                "forward_growth": score.forward_growth if math.isfinite(score.forward_growth) else None,
                "angular_growth": score.angular_growth if math.isfinite(score.angular_growth) else None,
                "deviation": score.deviation if math.isfinite(score.deviation) else None,
                "escape_depth_plain": score.escape_depth_plain,
                "status": run.status,
                "reason": run.reason,
                "val_mse": mse,
                "r2": r2,
                "score_s": score_s,
                "train_s": train_s,
            }
        )
        print(
            f"[{i + 1:2d}/{args.candidates}] {spec.activation}{spec.activation_params or ''} {spec.init} "
            f"L={spec.depth} H={spec.schedule_params['horizon']:g} {spec.algorithm}: score={score.score:.3f} "
            f"{run.status} R²={r2:.3f} ({train_s:.1f}s)",
            flush=True,
        )

    r2s = [r["r2"] for r in rows]
    actual = [r["status"] == "complete" and r["r2"] >= TRAINABLE_R2 for r in rows]
    rho, p_value = stats.spearmanr([r["score"] for r in rows], r2s)
    summary: dict[str, Any] = {
        "spearman_rho": float(rho),
        "spearman_p": float(p_value),
        "candidates": len(rows),
        "trainable": sum(actual),
        "diverged": sum(r["status"] == "diverged" for r in rows),
        "by_tolerance": {f"{tol:g}": rates(accepted(rows, tol), actual) for tol in TOLERANCES},
        "plain_mlp_rule": rates([r["escape_depth_plain"] is None for r in rows], actual),
        "median_score_ms": 1e3 * sorted(r["score_s"] for r in rows)[len(rows) // 2],
        "total_train_s": sum(r["train_s"] for r in rows),
    }
    result = {
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()} {platform.processor() or ''} {platform.system()} "
        f"python {platform.python_version()} torch {torch.__version__}, 1 thread".replace("  ", " "),
        "command": "python benchmarks/trainability/run.py "
        f"--candidates {args.candidates} --epochs {args.epochs} --seed {args.seed}",
        "settings": {"task": TASK, "train": TRAIN, "epochs": args.epochs, "width": WIDTH, "trainable_r2": TRAINABLE_R2},
        "summary": summary,
        "candidates": rows,
    }
    Path(args.out).write_text(json.dumps(result, indent=1, allow_nan=False, default=str) + "\n")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
