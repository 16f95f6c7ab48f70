"""How long `optnas.bench.simulate` takes for 50 repeats of a 100-trial search on a full-size table.

The values are synthetic (a random score per architecture, noisy seeds, rising curves) because only the
replay's speed is measured here: the full grid's 1,278 architectures × 3 seeds in the shipped format.
    python benchmarks/optnas_bench/simulate_speed.py   # writes simulate_speed.json
"""

from __future__ import annotations

import json
import os
import resource
import time
from pathlib import Path

import numpy as np
import optuna
import pandas as pd

import optnas.bench
from optnas.bench import grid
from optnas.bench.table import SPEC_COLUMNS, arch_key


def synthetic_table(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for spec in grid.grid():
        quality = rng.uniform(0.3, 0.7)
        for s in (0, 1, 2):
            final = quality + rng.normal(0, 0.02)
            curve = list(final * (1 - np.exp(-np.arange(1, 11) / 3)))
            rows.append({"arch": arch_key(spec), "spec": spec.to_dict(), **{c: getattr(spec, c) for c in SPEC_COLUMNS},
                         "seed": s, "status": "complete", "val_metric": final, "test_metric": final,
                         "val_curve": curve, "train_s": float(rng.uniform(0.5, 3.0)), "params": 1})
    return pd.DataFrame(rows)


def main() -> None:
    df = synthetic_table()
    out = {"rows": len(df), "cpus": os.cpu_count(), "load_1min": os.getloadavg()[0], "runs": []}
    for label, sampler, pruner in [
        ("random", optuna.samplers.RandomSampler, None),
        ("tpe", optuna.samplers.TPESampler, None),
        ("tpe+median", optuna.samplers.TPESampler, optuna.pruners.MedianPruner),
    ]:
        start = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        sim = optnas.bench.simulate(df, sampler, trials=100, repeats=50, pruner=pruner, jobs=2)
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the two workers, joined when the pool closed
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        out["runs"].append({"search": label, "repeats": 50, "trials": 100, "jobs": 2, "seconds": round(seconds, 2),
                            "worker_cpu_s": round(cpu, 2), "quiet_2core_estimate_s": round(cpu / 2, 2),
                            "median_draws": float(np.median(sim.draws))})
        print(label, round(seconds, 2), "s wall,", round(cpu, 2), "s worker CPU", flush=True)
    Path(__file__).with_name("simulate_speed.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
