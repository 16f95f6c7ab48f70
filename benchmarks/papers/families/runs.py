"""The runs of the families study: its settings, one training run, the grids, the resumable loop."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optnas
import optnas.tasks as tasks

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

# Hypotheses read off the main study (seeds 0-2, own-lr protocol): a family better or worse than gd on every
# seed at this lr (rings: heavy ball at an lr where gd has not converged yet). `--confirm` retrains each one
# and gd at the same lr on fresh seeds and tests them, Holm-adjusted over these comparisons only.
CONFIRM: tuple[tuple[str, str, float], ...] = (
    ("rings", "heavy_ball", 1e-2),
    ("parity", "dense", 3e-2),
    ("digits", "fista", 1e-2),
    ("digits", "apg2", 1e-2),
    ("digits", "ladmm", 1e-2),
    ("mnist1d", "heavy_ball", 1e-2),
    ("mnist1d", "nesterov", 1e-2),
    ("mnist1d", "lm_resnet", 1e-2),
    ("mnist1d", "ladmm", 1e-2),
)
CONFIRM_SEEDS = range(3, 8)


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


def main_grid(settings: dict[str, Any]) -> list[tuple[str, str, float, int]]:
    """(task, family, lr, seed) of the main study: every family at every lr with seeds 0..N-1."""
    return [(t, f, lr, seed) for t in settings["tasks"] for f in settings["families"] for lr in settings["lrs"]
            for seed in range(settings["seeds"])]


def hypotheses(settings: dict[str, Any]) -> list[tuple[str, str, float]]:
    """The CONFIRM hypotheses this study's settings can test (all of them, except in --quick)."""
    return [(t, f, lr) for t, f, lr in CONFIRM if t in settings["tasks"] and f in settings["families"]]


def confirm_grid(settings: dict[str, Any]) -> list[tuple[str, str, float, int]]:
    """(task, family, lr, seed) of the confirmation: each hypothesis and gd at its lr, on fresh seeds."""
    keys = {(t, f, lr, seed) for t, fam, lr in hypotheses(settings) for f in ("gd", fam) for seed in CONFIRM_SEEDS}
    return sorted(keys, key=lambda k: (list(settings["tasks"]).index(k[0]), k[1] != "gd", k[1], k[2], k[3]))


def run_all(settings: dict[str, Any], grid: list[tuple[str, str, float, int]], partial: Path) -> list[dict[str, Any]]:
    """Every run of ``grid``; finished runs are appended to ``partial`` and skipped when the same settings are
    run again (an interrupted study resumes)."""
    key = settings_key(settings)
    done: dict[tuple[Any, ...], dict[str, Any]] = {}
    if partial.exists():
        for line in partial.read_text().splitlines():
            row = json.loads(line)
            if row.pop("settings_key") == key:
                done[(row["task"], row["family"], row["lr"], row["seed"])] = row
    rows, loaded = [], {}
    with partial.open("a") as log:
        for k in grid:
            task_name, family, lr, seed = k
            setup = TaskSetup(**settings["tasks"][task_name])
            if k not in done:
                if task_name not in loaded:
                    loaded[task_name] = tasks.get(task_name, **setup.params)
                r = done[k] = run_one(task_name, loaded[task_name], setup, family, lr, seed)
                log.write(json.dumps({**r, "settings_key": key}) + "\n")
                log.flush()
                print(f"{task_name:9s} {family:16s} lr {lr:.0e} seed {seed}: {r['status']:8s} "
                      f"val {r['val_metric']} test {r['test_metric']} {r['wall_s']:.1f} s", flush=True)
            rows.append(done[k])
    return rows
