"""Search orchestration overhead and worker scaling on one machine.

Overhead = (search wall time - sum of the trials' training time) / sum of training time, for 20 trials of
about 5 s each (the epochs are calibrated so that one training takes ~5 s here), with --jobs 1. Scaling:
trials per hour with --jobs 2 over --jobs 1, same space and same trial count, run back to back.

    python benchmarks/search_overhead/run.py [--trials 20] [--seconds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import torch
import yaml

import optnas
from optnas.search import SearchSpace, run_search

SPACE = {
    "task": {"name": "rings", "params": {"n_samples": 3000}},
    "train": {"epochs": 1, "batch_size": 128, "lr": {"low": 1e-3, "high": 1e-2, "log": True}},
    "space": {
        "algorithm": {"heavy_ball": {"beta": {"low": 0.5, "high": 0.9}}},
        "block": {"mlp2": {"hidden": 64}},
        "activation": ["gelu"],
        "depth": 8,
        "width": 32,
    },
    "sampler": {"name": "tpe"},
    "pruner": {"name": "none"},
}


def calibrate(seconds: float) -> int:
    """Epochs for one training of about ``seconds`` on one thread (what each of two workers gets).

    Two timed trainings, of 2 and 8 epochs, separate the per-epoch time from what every training pays once
    (building, evaluation, latency and FLOP counts); a third, of the estimated length, corrects the estimate.
    """
    torch.set_num_threads(1)
    spec = optnas.ArchSpec(
        algorithm="heavy_ball",
        algorithm_params={"beta": 0.9},
        activation="gelu",
        block_params={"hidden": 64},
        depth=8,
        width=32,
    )
    task = optnas.tasks.get("rings", n_samples=3000)
    optnas.train(spec, task, epochs=1, device="cpu")  # warm-up

    def wall(epochs: int) -> float:
        start = time.perf_counter()
        optnas.train(spec, task, epochs=epochs, device="cpu")
        return time.perf_counter() - start

    short, long = wall(2), wall(8)
    per_epoch = max((long - short) / 6, 1e-6)
    fixed = max(short - 2 * per_epoch, 0.0)
    epochs = max(1, round((seconds - fixed) / per_epoch))
    # then one training of that length, rescaled: the first epochs of a process run slower than later ones
    return max(1, round(fixed / per_epoch + (epochs - fixed / per_epoch) * seconds / wall(epochs)))


def run(jobs: int, trials: int, epochs: int, workdir: Path) -> dict:
    data = json.loads(json.dumps(SPACE))
    data["train"]["epochs"] = epochs
    path = workdir / f"overhead_jobs{jobs}.yaml"
    path.write_text(yaml.safe_dump(data))
    storage = str(workdir / f"jobs{jobs}.log")
    start = time.perf_counter()
    study = run_search(SearchSpace.from_yaml(path), trials=trials, storage=storage, jobs=jobs, progress=False)
    wall = time.perf_counter() - start
    train_s = [t.user_attrs["metrics"]["wall_s"] for t in study.trials]
    return {
        "jobs": jobs,
        "trials": len(study.trials),
        "wall_s": round(wall, 2),
        "sum_train_s": round(sum(train_s), 2),
        "mean_train_s": round(sum(train_s) / len(train_s), 2),
        "overhead": round((wall - sum(train_s)) / sum(train_s), 4),
        "trials_per_hour": round(3600 * len(study.trials) / wall, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results.json"))
    args = parser.parse_args()
    epochs = calibrate(args.seconds)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["OPTNAS_LOCK_DIR"] = tmp
        one = run(1, args.trials, epochs, Path(tmp))
        two = run(2, args.trials, epochs, Path(tmp))
    record = {
        "benchmark": "search orchestration overhead and --jobs scaling (optuna backend, journal storage)",
        "command": "python benchmarks/search_overhead/run.py",
        "date": time.strftime("%Y-%m-%d"),
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
            f"optuna {__import__('optuna').__version__}"
        ),
        "epochs_per_trial": epochs,
        "targets": {"overhead_jobs1": "<= 0.05", "throughput_jobs2_over_jobs1": ">= 1.7"},
        "jobs1": one,
        "jobs2": two,
        "throughput_jobs2_over_jobs1": round(two["trials_per_hour"] / one["trials_per_hour"], 3),
    }
    print(json.dumps(record, indent=2))
    args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
