"""(b) optnas on Ray Tune against bare Ray Tune: the same one-second trials, the same reports, side by side.

Both train the same network (a one-point search space: every optnas trial draws the same spec) for the same
epochs, one torch thread and one CPU a trial, on a local Ray of ``--cpus`` CPUs that each run starts and shuts
down (as ``optnas search`` does). The bare trainable reports what an optnas worker reports for a one-second
trial: a start report, then a final report with the weights in a checkpoint. Tune's own loggers are off in
both (optnas's defaults). Runs alternate (bare, optnas, optnas, bare, ...), each in a new process.

    python benchmarks/cluster_scale/tune_wall.py [--trials 300] [--epochs 40] [--rounds 1] [--start-round 1]
        [--before DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SPACE = {
    "task": {"name": "rings", "params": {"n_samples": 600}},
    "train": {"epochs": 40, "batch_size": 64, "lr": 0.01},
    "space": {"algorithm": ["gd"], "block": {"mlp2": {"hidden": 8}}, "activation": ["relu"], "depth": 2,
              "width": 8},
    "pruner": {"name": "none"},
    "trials": 300,
}
TUNE_ENV = {"TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1", "RAY_AIR_NEW_OUTPUT": "0",
            "TUNE_DISABLE_STRICT_METRIC_CHECKING": "1",
            "TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S": "0"}


def _space(epochs: int, trials: int, work: Path) -> Path:
    import yaml

    data = json.loads(json.dumps(SPACE))
    data["train"]["epochs"], data["trials"] = epochs, trials
    path = work / "one_point.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def bare_trainable(config: dict[str, Any]) -> None:
    """What an optnas worker does for a one-second trial, without optnas's driver: train, report twice."""
    import socket

    import torch
    from ray import tune
    from safetensors.torch import save_model

    from optnas.search import SearchSpace
    from optnas.training import train

    torch.set_num_threads(1)
    space = SearchSpace.from_yaml(config["space_file"])
    tune.report({"epoch": 0, "optnas_start": {"host": socket.gethostname(), "pid": os.getpid()}})
    spec = config["spec"]
    result = train(spec, space.task(), epochs=config["epochs"], seed=0, device="cpu", lr=0.01, batch_size=64)
    with tempfile.TemporaryDirectory() as tmp:
        save_model(result.model, os.path.join(tmp, "model.safetensors"))
        tune.report({"epoch": config["epochs"], "val_metric": float(result.metrics["val_metric"]),
                     "optnas_final": {"state": "COMPLETE", "attrs": result.to_dict()}},
                    checkpoint=tune.Checkpoint.from_directory(tmp))


def run_bare(space_file: Path, trials: int, epochs: int, cpus: int, work: Path) -> dict[str, Any]:
    import optuna
    import ray
    from ray import tune

    from optnas.search import SearchSpace

    os.environ.update(TUNE_ENV)
    space = SearchSpace.from_yaml(space_file)
    study = optuna.create_study()
    spec = space.suggest(study.ask()).to_dict()  # the one point of the space
    start = time.perf_counter()
    ray.init(address="local", num_cpus=cpus, include_dashboard=False, object_store_memory=256 * 1024**2,
             log_to_driver=False, logging_level="error")
    tuner = tune.Tuner(
        tune.with_resources(bare_trainable, {"cpu": 1}),
        param_space={"space_file": str(space_file), "spec": spec, "epochs": epochs},
        tune_config=tune.TuneConfig(num_samples=trials, reuse_actors=True),
        run_config=tune.RunConfig(storage_path=str(work / "ray"), verbose=0,
                                  checkpoint_config=tune.CheckpointConfig(num_to_keep=1)),
    )
    grid = tuner.fit()
    ray.shutdown()
    wall = time.perf_counter() - start
    ok = sum(1 for r in grid if r.error is None)
    train_s = [r.metrics["optnas_final"]["attrs"]["metrics"]["wall_s"] for r in grid if r.error is None]
    return {"wall_s": round(wall, 1), "trials_ok": ok, "train_s_mean": round(sum(train_s) / len(train_s), 3)}


def run_optnas(space_file: Path, trials: int, cpus: int, work: Path) -> dict[str, Any]:
    import ray

    from optnas.search import SearchSpace
    from optnas.search.ray.cluster import connect
    from optnas.search.ray_backend import run_ray_search

    os.environ["OPTNAS_TORCH_THREADS"] = "1"
    space = SearchSpace.from_yaml(space_file)
    stats: dict[str, float] = {}
    start = time.perf_counter()
    connect(None, num_cpus=cpus)  # the local Ray run_ray_search would start, with --cpus CPUs
    try:
        study = run_ray_search(space, trials=trials, storage=str(work / "journal.log"), progress=False,
                               stats=stats, cpus_per_trial=1)
    finally:
        ray.shutdown()
    wall = time.perf_counter() - start
    done = [t for t in study.trials if t.state.name == "COMPLETE"]
    train_s = [t.user_attrs["metrics"]["wall_s"] for t in done]
    return {"wall_s": round(wall, 1), "trials_ok": len(done), "train_s_mean": round(sum(train_s) / len(train_s), 3),
            "driver": {k: round(v, 2) for k, v in stats.items()}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=300)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--start-round", type=int, default=1, help="the first round's number (even: optnas first)")
    ap.add_argument("--one", choices=("bare", "optnas"))
    ap.add_argument("--before", type=Path, help="also run optnas from this checkout (the code before), last")
    ap.add_argument("--out", type=Path, default=HERE / "results_tune.json")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="optnas-tw-"))
    space_file = _space(args.epochs, args.trials, work)
    if args.one:  # one run, in this process
        os.chdir(work)
        result = (run_bare(space_file, args.trials, args.epochs, args.cpus, work) if args.one == "bare"
                  else run_optnas(space_file, args.trials, args.cpus, work))
        print(json.dumps(result))
        return
    runs = []
    for r in range(args.start_round - 1, args.start_round - 1 + args.rounds):
        order = ["bare", "optnas"] if r % 2 == 0 else ["optnas", "bare"]
        if args.before:  # the code before, last: the pair above is what the round compares first
            order.append("optnas_before")
        for which in order:
            load = os.getloadavg()[0]
            code = str(args.before) if which == "optnas_before" else os.environ.get("PYTHONPATH", "")
            argv = ["--one", which.removesuffix("_before"), "--trials", str(args.trials), "--epochs",
                    str(args.epochs), "--cpus", str(args.cpus)]
            done = subprocess.run([sys.executable, __file__, *argv], capture_output=True, text=True, check=True,
                                  env={**os.environ, "PYTHONPATH": code})
            result = json.loads(done.stdout.strip().splitlines()[-1])
            runs.append({"round": r + 1, "run": which, "code": code, "load_1min_at_start": round(load, 1),
                         "load_1min_at_end": round(os.getloadavg()[0], 1), **result})
            print(runs[-1], file=sys.stderr, flush=True)
            args.out.write_text(json.dumps(_doc(args, runs), indent=1))
    print(json.dumps(_doc(args, runs), indent=1))


def _doc(args: argparse.Namespace, runs: list[dict]) -> dict:
    rounds = {}
    for run in runs:
        rounds.setdefault(run["round"], {})[run["run"]] = run["wall_s"]
    ratios = [r["optnas"] / r["bare"] - 1 for r in rounds.values() if "optnas" in r and "bare" in r]
    before = [r["optnas_before"] / r["bare"] - 1 for r in rounds.values() if "optnas_before" in r and "bare" in r]
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "trials": args.trials, "epochs": args.epochs, "cpus": args.cpus,
        "optnas_extra_over_bare": [round(x, 4) for x in ratios],
        "optnas_before_extra_over_bare": [round(x, 4) for x in before],
        "runs": runs,
    }


if __name__ == "__main__":
    main()
