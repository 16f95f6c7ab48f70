"""Trial packing: the same short CIFAR trials through `optnas search --backend ray` at 1, 0.5 and 0.25 GPU per
trial, and through the Optuna backend with ``--jobs 4``, each a real CLI run in its own process.

For each run: the command's wall time, trials/hour over the trials' own span (first start to last finish, from
the study: what packing changes, without Ray's start-up) and over the whole command, and GPU utilization and
memory sampled over that span. Every trial is the same spec (one value per family), so runs differ only in
how the trials share the GPU.

Example:
    >>> space_text("/data/cifar", max_train=512, epochs=1, trials=4).splitlines()[0]
    'task: {name: cifar10, params: {root: /data/cifar, augment: true, max_train: 512}}'
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import optuna
from _common import GpuSampler

# A small CIFAR corner: the wide-shallow space's shallowest depth at a narrow width, where one trial leaves
# most of an H200 idle; that is the case trial packing is for.
SMALL = {"algorithm": "gd", "block": "preact_conv", "activation": "relu", "depth": 3, "width": 32, "stages": 3}


def space_text(root: str, *, max_train: int, epochs: int, trials: int, batch_size: int = 256) -> str:
    """The search-space file of the packing runs: one spec, drawn ``trials`` times."""
    s = SMALL
    return (
        f"task: {{name: cifar10, params: {{root: {root}, augment: true, max_train: {max_train}}}}}\n"
        f"train: {{epochs: {epochs}, batch_size: {batch_size}, lr: 2.0e-3}}\n"
        "space:\n"
        f"  algorithm: {{{s['algorithm']}: {{}}}}\n"
        f"  block: {{{s['block']}: {{}}}}\n"
        f"  activation: [{s['activation']}]\n"
        f"  depth: {s['depth']}\n"
        f"  width: {s['width']}\n"
        f"  stages: {s['stages']}\n"
        "sampler: {name: random}\n"
        "pruner: {name: none}\n"
        f"trials: {trials}\n"
    )


def plans(cuda: bool, cpus: int, include: set[str]) -> list[tuple[str, list[str]]]:
    """(name, CLI flags) of each run. On a CPU (the tiny check) Ray runs once without GPUs."""
    runs: list[tuple[str, list[str]]] = []
    if "ray" in include:
        if cuda:
            per_trial_cpus = str(max(1, cpus // 4))  # the same CPUs a trial at every share: the GPU is what varies
            for share in ("1", "0.5", "0.25"):
                runs.append((f"ray_gpus_per_trial_{share}",
                             ["--backend", "ray", "--gpus-per-trial", share, "--cpus-per-trial", per_trial_cpus,
                              "--device", "cuda"]))
        else:
            runs.append(("ray_cpu", ["--backend", "ray", "--cpus-per-trial", "1", "--device", "cpu"]))
    if "optuna" in include:
        jobs = "4" if cuda else "2"
        runs.append((f"optuna_jobs_{jobs}", ["--jobs", jobs, "--device", "cuda" if cuda else "cpu"]))
    return runs


def run_one(name: str, flags: list[str], space: Path, work: Path, trials: int, timeout_s: float) -> dict[str, Any]:
    """One CLI search in its own process group; read its study back for the trials' span."""
    storage = work / f"{name}.log"
    command = [sys.executable, "-m", "optnas", "search", str(space), "--trials", str(trials), "--storage",
               str(storage), "--study", name, "--seed", "0", "--no-progress", *flags]
    env = {**os.environ, "OPTNAS_LOCK_DIR": str(work / f"{name}-locks"), "PYTHONUNBUFFERED": "1"}
    row: dict[str, Any] = {"flags": flags, "trials_asked": trials}
    with GpuSampler() as sampler:
        start_wall, start = time.time(), time.perf_counter()
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                                start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _stop(proc)
            out, _ = proc.communicate()
            row["error"] = f"timed out after {timeout_s:.0f} s (section budget)"
        wall = time.perf_counter() - start
    row.update(wall_s=round(wall, 2), returncode=proc.returncode)
    if proc.returncode != 0 and "error" not in row:
        row["error"] = f"exit {proc.returncode}: " + " | ".join(out.strip().splitlines()[-3:])[-600:]
    if not storage.exists():
        return row
    study = optuna.load_study(study_name=name, storage=_storage(storage))
    done = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    row["trials_complete"] = len(done)
    row["trials_failed"] = sum(t.state == optuna.trial.TrialState.FAIL for t in study.get_trials(deepcopy=False))
    if not done:
        return row
    first = min(t.datetime_start for t in done if t.datetime_start).timestamp()
    last = max(t.datetime_complete for t in done if t.datetime_complete).timestamp()
    span = max(last - first, 1e-6)
    train_s = [t.user_attrs.get("metrics", {}).get("wall_s") for t in done]
    row.update(
        span_s=round(span, 3),
        trials_per_hour=round(3600 * len(done) / span, 1),
        trials_per_hour_wall=round(3600 * len(done) / wall, 1),
        trial_train_s_median=round(sorted(x for x in train_s if x)[len(train_s) // 2], 3) if any(train_s) else None,
        devices=sorted({str(t.user_attrs.get("device")) for t in done}),
        gpu=sampler.summary(first, last) if sampler.source != "none" else {"source": "none"},
        started_wall=start_wall,
    )
    return row


def _storage(path: Path) -> Any:
    from optnas.storage import open_readonly

    return open_readonly(str(path))


def _stop(proc: subprocess.Popen[str]) -> None:
    """Stop the run's own process group (it holds the local Ray the run started), TERM then KILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


def run(root: Path, work: Path, *, cuda: bool, tiny: bool, include: set[str], deadline: float) -> dict[str, Any]:
    trials = 2 if tiny else 16
    space = work / "packing.yaml"
    space.write_text(space_text(str(root), max_train=32 if tiny else 8192, epochs=1 if tiny else 2, trials=trials,
                                batch_size=16 if tiny else 256))
    runs: dict[str, Any] = {}
    todo = plans(cuda, os.cpu_count() or 1, include)
    for i, (name, flags) in enumerate(todo):
        left = deadline - time.monotonic()
        share = left / (len(todo) - i)  # what is left, split evenly over the runs still to go
        if share < 20:
            runs[name] = {"flags": flags, "skipped": f"time budget: {left:.0f} s left for {len(todo) - i} runs"}
            continue
        runs[name] = run_one(name, flags, space, work, trials, timeout_s=share)
    return {"space": {"trials": trials, "spec": SMALL, "file": space.read_text()}, "runs": runs,
            "summary": summarise(runs)}


def summarise(runs: dict[str, Any]) -> dict[str, Any]:
    """Trials/hour of 4 (and 2) trials per GPU over 1 trial per GPU."""
    rate = {k: v.get("trials_per_hour") for k, v in runs.items()}
    whole = rate.get("ray_gpus_per_trial_1")
    out: dict[str, Any] = {}
    for share, label in (("0.25", "4_per_gpu_over_1"), ("0.5", "2_per_gpu_over_1")):
        other = rate.get(f"ray_gpus_per_trial_{share}")
        out[label] = round(other / whole, 3) if other and whole else None
    optuna_rate = rate.get("optuna_jobs_4")
    out["optuna_jobs_4_over_ray_1_per_gpu"] = round(optuna_rate / whole, 3) if optuna_rate and whole else None
    return out
