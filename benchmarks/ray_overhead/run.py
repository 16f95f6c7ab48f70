"""The Ray backend's extra wall time over the optuna backend, on the same search, side by side.

Both backends run the search of benchmarks/search_overhead (its space, and its calibration: epochs such that
one training takes about ``--seconds`` on one thread) for ``--trials`` trials, each run in a new Python
process as an ``optnas search`` command would be, one trial at a time on one torch thread (optuna: --jobs 1
with OPTNAS_TORCH_THREADS=1; ray: a local Ray of one CPU, started and shut down inside the timed run as the
CLI does, and one CPU a trial). One thread because a small model on a shared two-core machine runs 2-3x
slower on two threads, and erratically so. Each round runs both, the first backend alternating, so that the
machine's load falls on both. Target: Ray's extra wall <= 15% of the optuna backend's wall (compared at
equal training speed: see README.md).

    python benchmarks/ray_overhead/run.py [--trials 20] [--seconds 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import optuna
import torch
import yaml

from optnas.search import SearchSpace, run_search
from optnas.search.ray.cluster import connect
from optnas.search.ray.worker import CHECKPOINT_EVERY_S
from optnas.search.ray_backend import run_ray_search

HERE = Path(__file__).resolve().parent


def _search_overhead() -> Any:
    """benchmarks/search_overhead/run.py as a module: its SPACE and calibrate make the runs comparable."""
    path = HERE.parent / "search_overhead" / "run.py"
    spec = importlib.util.spec_from_file_location("search_overhead_run", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _space_file(base: dict, epochs: int, workdir: Path) -> Path:
    data = json.loads(json.dumps(base))
    data["train"]["epochs"] = epochs
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "overhead.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def run_one(backend: str, space_path: Path, trials: int, workdir: Path, tag: str) -> dict[str, Any]:
    import ray

    storage = str(workdir / f"{tag}" / "journal.log")
    load = _loadavg()
    stats: dict[str, float] = {}
    start = time.perf_counter()
    if backend == "optuna":
        study = run_search(SearchSpace.from_yaml(space_path), trials=trials, storage=storage, jobs=1, progress=False)
    else:
        connect(None, num_cpus=1)  # what run_ray_search does itself, but with one CPU
        stats["ray_start_s"] = time.perf_counter() - start
        study = run_ray_search(
            SearchSpace.from_yaml(space_path),
            trials=trials,
            storage=storage,
            cpus_per_trial=1,
            progress=False,
            stats=stats,
        )
        stop = time.perf_counter()
        ray.shutdown()
        stats["ray_shutdown_s"] = time.perf_counter() - stop
    wall = time.perf_counter() - start
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    train_s = sum(t.user_attrs["metrics"]["wall_s"] for t in done)
    record: dict[str, Any] = {
        "backend": backend,
        "trials": len(done),
        "wall_s": round(wall, 2),
        "sum_train_s": round(train_s, 2),
        "overhead_over_training": round((wall - train_s) / train_s, 4),
        "loadavg_before": load,
    }
    if backend == "ray":
        ray_records = [t.user_attrs.get("ray") or {} for t in done]
        checkpoint_s = sum(r.get("checkpoint_s", 0.0) for r in ray_records)
        fit_s, first = stats.get("fit_s", 0.0), stats.get("first_report_s", 0.0)
        record["checkpoint_and_report_s"] = round(checkpoint_s, 2)  # inside the trials' training time
        record["where_the_time_goes"] = {
            "ray_start_s": round(stats.get("ray_start_s", 0.0), 2),
            "ray_shutdown_s": round(stats.get("ray_shutdown_s", 0.0), 2),
            "tune_start_to_first_report_s": round(first, 2),
            "checkpoints": sum(r.get("checkpoints", 0) for r in ray_records),
            "checkpoint_and_report_s": round(checkpoint_s, 2),
            "between_trials_s": round(fit_s - first - train_s, 2),
            "driver": {
                "sample_and_certify_s": round(stats.get("suggest_s", 0.0), 2),
                "report_writes_s (writer thread)": round(stats.get("result_s", 0.0), 2),
                "record_writes_and_tell_s": round(stats.get("finish_s", 0.0), 2),
                "weights_upload_s": round(stats.get("upload_s", 0.0), 2),
            },
        }
    print(json.dumps(record), flush=True)
    return record


def _floor_trainable(config: dict[str, Any]) -> None:
    import torch  # noqa: F401  (what every optnas trial's worker imports)
    from ray import tune

    for report in range(config["reports"]):
        tune.report({"report": report})


def run_floor(trials: int, reports: int, workdir: Path) -> dict[str, Any]:
    """Ray Tune's own cost, no optnas in it: a local Ray of one CPU, ``trials`` trials that import torch and
    report ``reports`` times without training, Tune's loggers off (as optnas sets them), shut down."""
    import ray
    from ray import tune

    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    start = time.perf_counter()
    connect(None, num_cpus=1)
    tuner = tune.Tuner(
        tune.with_resources(_floor_trainable, {"cpu": 1}),
        param_space={"reports": reports},
        tune_config=tune.TuneConfig(num_samples=trials, reuse_actors=True),
        run_config=tune.RunConfig(storage_path=str(workdir / "floor"), verbose=0),
    )
    tuner.fit()
    ray.shutdown()
    record = {"backend": "bare ray tune", "trials": trials, "wall_s": round(time.perf_counter() - start, 2)}
    print(json.dumps(record), flush=True)
    return record


def _fresh(
    backend: str, space_path: Path, trials: int, workdir: Path, tag: str, reports: int | None = None
) -> dict[str, Any]:
    """One run in a new interpreter, as one `optnas search` command: neither backend finds torch warm."""
    argv = [sys.executable, __file__, "--one", backend, "--space", str(space_path), "--trials", str(trials)]
    argv += ["--workdir", str(workdir), "--tag", tag] + ([] if reports is None else ["--reports", str(reports)])
    env = {**os.environ, "OPTNAS_TORCH_THREADS": "1", "OPTNAS_LOCK_DIR": str(workdir)}
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _calibrated(seconds: float) -> int:
    proc = subprocess.run(
        [sys.executable, __file__, "--calibrate-only", "--seconds", str(seconds)],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    parser.add_argument("--calibrate-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--one", choices=("optuna", "ray", "floor"), help=argparse.SUPPRESS)
    parser.add_argument("--reports", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--space", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--tag", help=argparse.SUPPRESS)
    args = parser.parse_args()
    base = _search_overhead()
    if args.calibrate_only:  # a child: epochs for trials of --seconds, measured now
        print(base.calibrate(args.seconds))
        return
    if args.one == "floor":  # a child: Ray Tune's fixed cost, nothing of optnas
        run_floor(args.trials, args.reports, args.workdir)
        return
    if args.one:  # a child: run one search and print its record
        run_one(args.one, args.space, args.trials, args.workdir, args.tag)
        return
    pairs: list[dict[str, dict[str, Any]]] = []
    floors: list[float] = []
    # as many reports as an optnas trial of --seconds makes: its start, one a checkpoint (every second), the final
    reports = 1 + max(1, round(args.seconds / CHECKPOINT_EVERY_S))
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.rounds):  # alternate which backend goes first
            # calibrated again each round: the load of a shared machine drifts over the minutes a round takes
            epochs = _calibrated(args.seconds)
            space_path = _space_file(base.SPACE, epochs, Path(tmp) / f"round{i}")
            # first in the round, so that no Ray of a previous run is still winding down while it starts
            floor = _fresh("floor", space_path, args.trials, Path(tmp), f"floor{i}", reports=reports)
            floors.append(floor["wall_s"])
            order = ("optuna", "ray") if i % 2 == 0 else ("ray", "optuna")
            pairs.append({b: _fresh(b, space_path, args.trials, Path(tmp), f"{b}{i}") for b in order})
            for b in order:
                pairs[-1][b]["epochs_per_trial"] = epochs
    runs = [p[b] for p in pairs for b in p]
    ratios = [p["ray"]["wall_s"] / p["optuna"]["wall_s"] for p in pairs]
    # Training speed on a shared machine varies by +-20% from run to run: compare what is not training.
    # Ray's checkpoints run inside its trials' training time, so they count as Ray's overhead here.
    extra = [
        (
            (p["ray"]["wall_s"] - p["ray"]["sum_train_s"] + p["ray"]["checkpoint_and_report_s"])
            - (p["optuna"]["wall_s"] - p["optuna"]["sum_train_s"])
        )
        / p["optuna"]["wall_s"]
        for p in pairs
    ]
    extra_s = [
        (p["ray"]["wall_s"] - p["ray"]["sum_train_s"] + p["ray"]["checkpoint_and_report_s"])
        - (p["optuna"]["wall_s"] - p["optuna"]["sum_train_s"])
        for p in pairs
    ]
    record = {
        "benchmark": "ray backend extra wall time over the optuna backend (same space, trials, calibration)",
        "command": "python benchmarks/ray_overhead/run.py",
        "date": time.strftime("%Y-%m-%d"),
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
            f"optuna {optuna.__version__}, ray {__import__('ray').__version__}; load average in each run"
        ),
        "target": "extra wall <= 0.15 of the optuna backend's wall",
        "extra_wall_at_equal_training_speed": [round(x, 4) for x in extra],
        "extra_wall_at_equal_training_speed_median": round(statistics.median(extra), 4),
        "extra_wall_s": [round(x, 2) for x in extra_s],
        "extra_wall_s_median": round(statistics.median(extra_s), 2),
        "ray_wall_over_optuna_wall": [round(x, 4) for x in ratios],
        # Ray Tune alone (start, trials that train nothing, shutdown): what any Tune search pays here
        "bare_ray_tune_wall_s": floors,
        "bare_ray_tune_reports_per_trial": reports,
        "extra_wall_s_over_bare_ray_tune": [round(x - f, 2) for x, f in zip(extra_s, floors, strict=True)],
        "runs": runs,
    }
    print(json.dumps(record, indent=2))
    args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
