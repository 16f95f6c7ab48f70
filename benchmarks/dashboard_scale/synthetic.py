"""A large optnas-shaped study, fast: trials carry the user attributes a real search stores (docs/storage.md).

Specs are drawn from a pool of a few hundred random candidates (a sampler revisits specs too); each pool
spec carries its real `optnas.certify` certificate. Metrics and 20-epoch curves are synthetic but shaped
like a search's (accuracy rising with capacity, noise, some pruned / diverged / uncertified trials).

The journal is built by Optuna's own JournalStorage over an in-memory log, then written to the file in
one go: the file is a genuine Optuna journal, without 10,000 fsyncs.

    python benchmarks/dashboard_scale/synthetic.py OUT.log [--trials 10000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import random
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import CategoricalDistribution, IntDistribution
from optuna.storages import JournalStorage
from optuna.storages.journal import BaseJournalBackend
from optuna.trial import FrozenTrial, TrialState

import optnas

EPOCHS = 20
ALGORITHMS: list[tuple[str, dict[str, Any]]] = [
    ("gd", {}), ("heavy_ball", {"beta": None}), ("nesterov", {}), ("fista", {}), ("lm_resnet", {"k": None}),
    ("adams_bashforth2", {}), ("apg2", {}), ("dense", {}), ("ladmm", {"rho": 1.0}), ("proximal_point", {}),
    ("bdf2", {}),
]
ACTIVATIONS: list[tuple[str, dict[str, Any]]] = [("relu", {}), ("tanh", {}), ("gelu", {}), ("mrepu", {"p": 2}),
                                                 ("silu", {})]
DISTRIBUTIONS = {
    "algorithm": CategoricalDistribution([a for a, _ in ALGORITHMS]),
    "depth": IntDistribution(2, 24),
    "width": CategoricalDistribution([16, 32, 64, 128]),
}
# status, Optuna state, share of trials
OUTCOMES = [("complete", TrialState.COMPLETE, 0.86), ("pruned", TrialState.PRUNED, 0.07),
            ("diverged", TrialState.FAIL, 0.05), ("error", TrialState.FAIL, 0.02)]


class MemoryJournal(BaseJournalBackend):
    """Optuna journal logs held in a list, written out once."""

    def __init__(self) -> None:
        self.logs: list[dict[str, Any]] = []

    def read_logs(self, log_number_from: int) -> Any:
        return iter(self.logs[log_number_from:])

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        self.logs.extend(logs)


def spec_pool(rng: random.Random, size: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(spec dict, certificate dict) pairs; implicit algorithms get tanh (a global Lipschitz constant)."""
    pool = []
    while len(pool) < size:
        name, params = rng.choice(ALGORITHMS)
        params = {k: (round(rng.uniform(0.0, 0.95), 3) if v is None else v) for k, v in params.items()}
        act, act_params = rng.choice(ACTIVATIONS)
        if name in ("proximal_point", "bdf2"):
            act, act_params = "tanh", {}
        spec = optnas.ArchSpec(
            algorithm=name, algorithm_params=params, schedule=rng.choice(["constant", "cosine", "learnable"]),
            block="mlp2", block_params={"hidden": rng.choice([16, 32, 64])}, activation=act,
            activation_params=act_params, depth=rng.randint(2, 24), width=rng.choice([16, 32, 64, 128]),
            init=rng.choice(["default", "critical"]),
        )
        pool.append((spec.to_dict(), optnas.certify(spec, input_shape=(2,)).to_dict()))
    return pool


def _trial(number: int, rng: random.Random, pool: list, start: dt.datetime) -> FrozenTrial:
    spec, cert = rng.choice(pool)
    status, state = rng.choices([(s, st) for s, st, _ in OUTCOMES], [w for *_, w in OUTCOMES])[0]
    width, depth, hidden = spec["width"], spec["depth"], spec["block_params"]["hidden"]
    params = 2 * width + depth * (2 * width * hidden + width + hidden) + 3 * width + 3
    capacity = min(1.0, params / 60000)
    final = min(0.985, max(0.3, 0.55 + 0.38 * capacity + rng.gauss(0, 0.04)))
    epochs = EPOCHS if status == "complete" else rng.randint(2, EPOCHS - 1)
    rate = rng.uniform(0.6, 0.9)  # how fast this run learns
    val = [final * (1 - 0.6 * rate**e) + rng.gauss(0, 0.003) for e in range(epochs)]
    curves = {
        "train_loss": [1.1 * 0.85**e + rng.random() * 0.02 for e in range(epochs)],
        "train_metric": [v + 0.01 for v in val],
        "val_loss": [1.1 * 0.87**e for e in range(epochs)],
        "val_metric": val,
        "lr": [0.01 * (1 + math.cos(math.pi * e / epochs)) / 2 for e in range(epochs)],
        "epoch_s": [0.05 + depth * 0.004 for _ in range(epochs)],
    }
    if status == "diverged":
        curves["train_loss"][-1] = None  # a non-finite loss, stored as null like RunResult.to_dict does
    metrics = {
        "val_metric": val[-1], "test_metric": val[-1] - abs(rng.gauss(0, 0.02)), "params": params,
        "flops": 2 * params - 2 * width, "latency_ms": 0.02 + depth * width * 2e-4 * (1 + rng.random() * 0.1),
        "peak_mem_mb": 400 + params * 4e-5, "wall_s": epochs * curves["epoch_s"][0], "epochs": epochs,
    }
    reason = {"complete": None, "pruned": "dominated at epoch 10 by trial 3",
              "diverged": "non-finite loss at epoch 7", "error": "RuntimeError: out of memory"}[status]
    t0 = start + dt.timedelta(seconds=3 * number)
    attrs = {
        "spec": spec, "certificate": cert, "status": status, "reason": reason, "metrics": metrics,
        "curves": curves, "init_record": {"init": spec["init"], "source": "synthetic benchmark"},
        "train": {"epochs": EPOCHS, "lr": 0.01, "weight_decay": 0.01, "seed": 0},
        "weights": f"synthetic-{number:06d}" if status == "complete" else None,
        "worker": {"host": "bench", "pid": 1000 + number % 8},
    }
    done = state == TrialState.COMPLETE
    return FrozenTrial(
        number=number, trial_id=number, state=state, value=None,
        values=[metrics["val_metric"], float(params)] if done else None,
        datetime_start=t0, datetime_complete=t0 + dt.timedelta(seconds=metrics["wall_s"]),
        params={"algorithm": spec["algorithm"], "depth": depth, "width": width},
        distributions=DISTRIBUTIONS, user_attrs=attrs, system_attrs={}, intermediate_values={},
    )


def build_study(storage: optuna.storages.BaseStorage, name: str, trials: int, seed: int = 0) -> optuna.Study:
    rng = random.Random(seed)
    pool = spec_pool(rng, 300)
    study = optuna.create_study(study_name=name, storage=storage, directions=["maximize", "minimize"])
    study.set_metric_names(["val_metric", "params"])
    study.set_user_attr("optnas", {
        "version": optnas.__version__, "space_file": None, "space": {},
        "task": {"name": "rings", "params": {}}, "train": {"epochs": EPOCHS},
        "objectives": [{"name": "val_metric", "direction": "maximize"}, {"name": "params", "direction": "minimize"}],
        "artifact_dir": "/nonexistent/synthetic",
    })
    start = dt.datetime(2026, 1, 1)
    study.add_trials([_trial(i, rng, pool, start) for i in range(trials)])
    return study


def write_journal(path: Path, name: str, trials: int, seed: int = 0) -> None:
    """A genuine Optuna journal file holding one study of ``trials`` trials."""
    memory = MemoryJournal()
    build_study(JournalStorage(memory), name, trials, seed)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w") as fh:
        fh.writelines(json.dumps(log, separators=(",", ":")) + "\n" for log in memory.logs)
    tmp.replace(path)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--trials", type=int, default=10000)
    parser.add_argument("--study", default="synthetic")
    args = parser.parse_args()
    write_journal(Path(args.out), args.study, args.trials)
