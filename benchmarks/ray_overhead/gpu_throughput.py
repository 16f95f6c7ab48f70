"""GPU throughput of the Ray backend: a CIFAR-sized search, four trials per GPU (0.25 GPU each) against one.

Not run yet: it needs a machine with a GPU (see README.md). On one, it runs the same search twice on a
local Ray, first with ``--per-gpu`` trials sharing each GPU (``--gpus-per-trial 1/per_gpu``), then with one
trial per GPU, and records for each: wall time, trials per hour, training images per second, GPU
utilization (``nvidia-smi``, sampled twice a second; ``torch.cuda.utilization`` where nvidia-smi is
missing) and memory (nvidia-smi's used memory, and each trial's own ``peak_mem_mb``).

Data: the CIFAR-10 binary batches when ``--cifar-root`` names them, else synthetic 32×32 images written
in the same format (labels are learnable: each class has its own colour and stripe pattern, plus noise).

    python benchmarks/ray_overhead/gpu_throughput.py [--per-gpu 4] [--trials 16] [--epochs 3]
    python benchmarks/ray_overhead/gpu_throughput.py --cpu-smoke   # the script's own check, no GPU needed
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import torch
import yaml

from optnas.search import SearchSpace
from optnas.search.ray_backend import run_ray_search

HERE = Path(__file__).resolve().parent
SPACE: dict[str, Any] = {
    "task": {"name": "cifar10", "params": {"root": None, "augment": True}},
    "train": {"epochs": 3, "batch_size": 256, "lr": {"low": 5.0e-4, "high": 5.0e-3, "log": True}},
    "space": {
        "algorithm": {"gd": {}, "heavy_ball": {"beta": {"low": 0.5, "high": 0.9}}, "nesterov": {}},
        "block": {"preact_conv": {}},
        "activation": ["relu", "gelu"],
        "depth": {"low": 6, "high": 12},
        "width": [16, 32],
        "stages": 2,
    },
    "sampler": {"name": "random"},
    "pruner": {"name": "none"},
}


def write_synthetic_cifar(folder: Path, train: int, test: int, seed: int = 0) -> Path:
    """CIFAR-10 binary batches (5 train files, 1 test file) of learnable synthetic images."""
    rng = np.random.default_rng(seed)
    colours = rng.integers(40, 216, size=(10, 3))
    stripes = np.stack([np.sin(np.arange(32) * (k + 1) * np.pi / 16) for k in range(10)])  # (10, 32)

    def records(n: int) -> bytes:
        labels = rng.integers(0, 10, size=n)
        base = colours[labels][:, :, None, None] + 30 * stripes[labels][:, None, None, :]  # (n, 3, 1, 32)
        images = np.clip(base + rng.normal(0, 40, size=(n, 3, 32, 32)), 0, 255).astype(np.uint8)
        out = np.empty((n, 1 + 3072), dtype=np.uint8)
        out[:, 0], out[:, 1:] = labels, images.reshape(n, -1)
        return out.tobytes()

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, 6):
        (folder / f"data_batch_{i}.bin").write_bytes(records(train // 5))
    (folder / "test_batch.bin").write_bytes(records(test))
    return folder


class GpuSampler:
    """Samples GPU utilization and used memory in a thread while a search runs."""

    def __init__(self, every_s: float = 0.5) -> None:
        self.every_s, self.rows = every_s, []  # rows: (time, [(util %, mem MiB) per GPU])
        self.smi = shutil.which("nvidia-smi")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> list[tuple[float, float | None]]:
        if self.smi:
            out = subprocess.run(
                [self.smi, "--query-gpu=utilization.gpu,memory.used", "--format=csv,noheader,nounits"],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout
            return [tuple(float(x) for x in line.split(",")) for line in out.strip().splitlines()]  # type: ignore[misc]
        return [(float(torch.cuda.utilization(i)), None) for i in range(torch.cuda.device_count())]

    def _run(self) -> None:
        while not self._stop.is_set():
            self.rows.append((time.time(), self._sample()))
            self._stop.wait(self.every_s)

    def __enter__(self) -> GpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def summary(self) -> dict[str, Any]:
        if not self.rows:
            return {"source": "none"}
        per_gpu = list(zip(*[r[1] for r in self.rows], strict=True))
        return {
            "source": "nvidia-smi" if self.smi else "torch.cuda.utilization",
            "samples": len(self.rows),
            "util_mean_pct": [round(statistics.fmean(u for u, _ in g), 1) for g in per_gpu],
            "util_max_pct": [max(u for u, _ in g) for g in per_gpu],
            "mem_used_max_mib": [max((m or 0) for _, m in g) for g in per_gpu],
        }


def run(
    space_path: Path, storage: str, *, trials: int, gpus_per_trial: float, cpus_per_trial: float, device: str
) -> dict[str, Any]:
    with GpuSampler() if device == "cuda" else _NoSampler() as sampler:
        start = time.perf_counter()
        study = run_ray_search(
            SearchSpace.from_yaml(space_path),
            trials=trials,
            storage=storage,
            device=device,
            gpus_per_trial=gpus_per_trial,
            cpus_per_trial=cpus_per_trial,
            progress=False,
        )
        wall = time.perf_counter() - start
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    images = sum(t.user_attrs["metrics"]["steps"] * t.user_attrs["train"]["batch_size"] for t in done)
    return {
        "gpus_per_trial": gpus_per_trial,
        "cpus_per_trial": cpus_per_trial,
        "trials_complete": len(done),
        "wall_s": round(wall, 2),
        "trials_per_hour": round(3600 * len(done) / wall, 1),
        "train_images_per_s": round(images / wall, 1),
        "trial_wall_s_median": round(statistics.median(t.user_attrs["metrics"]["wall_s"] for t in done), 2),
        "trial_peak_mem_mb_max": max((t.user_attrs["metrics"].get("peak_mem_mb") or 0) for t in done),
        "gpus_seen": sorted({str(t.user_attrs.get("gpu")) for t in done}),
        "val_metric_median": round(statistics.median(t.value for t in done), 4),
        "gpu": sampler.summary(),
    }


class _NoSampler:
    def __enter__(self) -> _NoSampler:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def summary(self) -> dict[str, Any]:
        return {"source": "none (cpu smoke run)"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-gpu", type=int, default=4, help="trials sharing one GPU (0.25 GPU each for 4)")
    parser.add_argument("--trials", type=int, default=None, help="default: 4 rounds of per-gpu x GPUs")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--cifar-root", type=Path, default=None, help="real CIFAR-10 batches (default: synthetic)")
    parser.add_argument("--cpu-smoke", action="store_true", help="check this script on CPU with tiny sizes")
    parser.add_argument("--out", type=Path, default=None, help="default: gpu_results.json here (smoke: none)")
    args = parser.parse_args()
    gpus = torch.cuda.device_count()
    if not gpus and not args.cpu_smoke:
        sys.exit("gpu_throughput.py: no CUDA device here; run it on a GPU machine (or --cpu-smoke to check it)")
    device = "cpu" if args.cpu_smoke else "cuda"
    cpus = os.cpu_count() or 1
    slots = 2 if args.cpu_smoke else gpus * args.per_gpu
    trials = args.trials or (2 if args.cpu_smoke else 4 * slots)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("OPTNAS_LOCK_DIR", tmp)
        size = (1000, 200) if args.cpu_smoke else (20000, 5000)
        root = args.cifar_root or write_synthetic_cifar(Path(tmp) / "cifar", *size)
        data = json.loads(json.dumps(SPACE))
        data["task"]["params"]["root"] = str(root)
        data["train"]["epochs"] = 1 if args.cpu_smoke else args.epochs
        if args.cpu_smoke:
            data["space"]["depth"], data["space"]["width"] = 2, [8]
        space_path = Path(tmp) / "gpu_space.yaml"
        space_path.write_text(yaml.safe_dump(data))
        shared = 0.0 if args.cpu_smoke else round(1.0 / args.per_gpu, 4)
        runs = [
            run(
                space_path,
                f"{tmp}/shared/j.log",
                trials=trials,
                gpus_per_trial=shared,
                cpus_per_trial=max(1.0, cpus // slots),
                device=device,
            ),
            run(
                space_path,
                f"{tmp}/whole/j.log",
                trials=trials,
                gpus_per_trial=0.0 if args.cpu_smoke else 1.0,
                cpus_per_trial=max(1.0, cpus // max(1, gpus)),
                device=device,
            ),
        ]
    record = {
        "benchmark": f"Ray backend GPU throughput: {args.per_gpu} trials per GPU against 1 (CIFAR-sized search)",
        "command": "python benchmarks/ray_overhead/gpu_throughput.py" + (" --cpu-smoke" if args.cpu_smoke else ""),
        "date": time.strftime("%Y-%m-%d"),
        "machine": (
            f"{platform.machine()}, {cpus} cores, {gpus} x "
            f"{torch.cuda.get_device_name(0) if gpus else 'no GPU'}, torch {torch.__version__}"
        ),
        "data": str(args.cifar_root) if args.cifar_root else f"synthetic 32x32 CIFAR-format, {size[0]} train",
        "trials": trials,
        "shared": runs[0],
        "whole_gpu": runs[1],
        "throughput_shared_over_whole": round(runs[0]["trials_per_hour"] / runs[1]["trials_per_hour"], 3),
    }
    print(json.dumps(record, indent=2))
    out = args.out or (None if args.cpu_smoke else HERE / "gpu_results.json")
    if out is not None:
        out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
