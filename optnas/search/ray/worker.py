"""Worker side of the Ray backend: one trial in a Ray Tune actor, checkpointed at the end of its epochs.

The worker never opens the Optuna storage (the driver is the single writer; docs/ray.md). It gets a spec
the driver drew and certified, trains it, and reports to the driver:

- a start report: where it runs (host, pid, Ray node, GPU) and the epoch it starts from;
- at the end of an epoch, a ``ray.tune.Checkpoint`` (model and optimizer state, curves so far) and the
  curves, at most once per `CHECKPOINT_EVERY_S` (and always at the scheduler's rung epochs): a checkpoint
  and its round trip to the driver cost ~30 ms, 3% of the training time if taken every second;
- a final report with the trial's `optnas.search.lifecycle.Outcome` (``optnas_final``: the record the
  optuna backend writes, from the same `Lifecycle`), the trained weights (safetensors) in its checkpoint
  for the driver to upload as the trial's artifact.

A retried trial (its worker died) starts from its last checkpoint; see `resumed_fit` for what is restored.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from ray import tune
from safetensors.torch import save_model
from torch import nn
from torch.optim.optimizer import register_optimizer_step_pre_hook

from ...build import build
from ...spec import ArchSpec
from ...training import RunResult, fit
from ..lifecycle import Lifecycle, Outcome
from ..space import SearchSpace
from .fatal import check_device, failed, retryable

# Checkpoint at the end of an epoch once this many seconds have passed since the last: what a dead worker may
# lose, against ~30 ms a checkpoint (docs/ray.md). The driver reads OPTNAS_RAY_CHECKPOINT_S, sends it in the plan.
CHECKPOINT_EVERY_S = 10.0
STATE_FILE, FINAL_FILE, WEIGHTS_FILE = "state.pt", "final.json", "model.safetensors"


@functools.lru_cache(maxsize=4)
def _lifecycle(space_json: str, space_file: str | None, device: str) -> Lifecycle:
    """One `Lifecycle` (validated space, loaded task) per worker process and search."""
    space = SearchSpace.from_dict(json.loads(space_json), Path(space_file) if space_file else None)
    return Lifecycle(space, device=device)


def where() -> dict[str, Any]:
    """Host, pid, Ray node and GPU of this worker."""
    import ray

    gpu_ids = [str(i) for i in ray.get_gpu_ids()]
    node = ray.get_runtime_context().get_node_id()
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "node": node,
        "node_ip": next((n["NodeManagerAddress"] for n in ray.nodes() if n["NodeID"] == node), None),
        "gpu": torch.cuda.get_device_name(0) if gpu_ids and torch.cuda.is_available() else None,
        "gpu_ids": gpu_ids,
    }


def train_trial(config: dict[str, Any]) -> None:
    """The Ray Tune trainable, the entry point of every Ray worker: ``config["optnas"]`` is the driver's plan
    (`searcher.plan`). The trial lifecycle's steps run here: screen, static costs, train, the outcome."""
    plan = config["optnas"]
    try:
        _train_trial(plan)
    except Exception as exc:
        if retryable(exc):  # a node or memory problem: Ray retries the trial from its checkpoint
            raise
        _finish(plan, failed(plan, exc))  # a retry would raise it again (`fatal`): recorded, not retried


def _train_trial(plan: dict[str, Any]) -> None:
    torch.set_num_threads(int(plan["threads"]))
    checkpoint = tune.get_checkpoint()
    saved = _load(checkpoint)
    if saved.get("final") is not None:  # finished before the driver recorded it: hand the record over again
        tune.report(saved["final"])
        return
    place = where()
    tune.report({"epoch": int(saved.get("epoch", 0)), "optnas_start": place})
    plan = {**plan, "device": check_device(plan["device"], place["gpu_ids"])}  # a GPU share trains on it
    life = _lifecycle(plan["space"], plan["space_file"], plan["device"])
    spec = ArchSpec.from_dict(plan["spec"])
    prepared = life.prepare(spec)
    if prepared.stop is not None:  # predicted untrainable, or over a constraint: never trained
        _finish(plan, prepared.stop)
        return
    result, checkpoints = resumed_fit(life, plan, spec, saved, prepared.costs)
    _finish(plan, life.finish(result, prepared), stats=checkpoints)


def resumed_fit(
    life: Lifecycle, plan: dict[str, Any], spec: ArchSpec, saved: dict[str, Any], costs: dict[str, float]
) -> tuple[RunResult, dict[str, Any]]:
    """Train ``spec`` for the plan's epochs, from ``saved`` (a checkpoint's state) when a retry has one.

    Returns the result (curves and counts over all attempts) and this attempt's checkpoint count and time.

    Restored: the model, the optimizer state (moments, step counts), the curves, the epoch count. Not
    restored, because `optnas.training.fit` cannot start mid-run: the learning-rate schedule (warmup and
    cosine run again over the remaining epochs) and the batch order (seeded afresh). docs/ray.md.
    """
    task = life.task
    with torch.random.fork_rng():  # the same initialisation as optnas.train(spec, seed=...)
        torch.manual_seed(int(plan["seed"]))
        model = build(spec, task.input_shape, task.num_outputs)
    done = int(saved.get("epoch", 0))
    if done:
        model.load_state_dict(saved["model"])
    reporter = _Reporter(plan, done, saved, costs, model)
    start = time.perf_counter()
    with _optimizer_of(model, saved.get("optimizer")) as optimizer:
        reporter.optimizer = optimizer
        result = fit(
            model,
            task,
            epochs=int(plan["epochs"]) - done,
            seed=int(plan["seed"]),
            device=plan["device"],
            callback=reporter,
            **plan["train"],
        )
    merged = _merged(result, saved, spec, task.direction, time.perf_counter() - start)
    return merged, {"checkpoints": reporter.checkpoints, "checkpoint_s": round(reporter.checkpoint_s, 4)}


class _OptimizerRef:
    """The optimizer `fit` makes for a model, found by torch's global step hook (fit keeps it private)."""

    def __init__(self, model: nn.Module, state: dict[str, Any] | None) -> None:
        self.params = {id(p) for p in model.parameters()}
        self.state = state
        self.optimizer: torch.optim.Optimizer | None = None

    def hook(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        if self.optimizer is not None:
            return
        if any(id(p) in self.params for group in optimizer.param_groups for p in group["params"]):
            self.optimizer = optimizer
            if self.state is not None:  # before its first step: the retry continues the saved moments
                optimizer.load_state_dict(self.state)

    def state_dict(self) -> dict[str, Any] | None:
        return None if self.optimizer is None else self.optimizer.state_dict()


@contextmanager
def _optimizer_of(model: nn.Module, state: dict[str, Any] | None) -> Iterator[_OptimizerRef]:
    ref = _OptimizerRef(model, state)
    handle = register_optimizer_step_pre_hook(ref.hook)
    try:
        yield ref
    finally:
        handle.remove()


class _Reporter:
    """The epoch callback: extend the curves; checkpoint and report at most every `CHECKPOINT_EVERY_S`."""

    def __init__(
        self, plan: dict[str, Any], done: int, saved: dict[str, Any], costs: dict[str, float], model: nn.Module
    ) -> None:
        self.epochs, self.done, self.model, self.costs = int(plan["epochs"]), done, model, costs
        self.milestones = {int(m) for m in plan.get("milestones", [])}
        self.every_s = float(plan.get("checkpoint_every_s", CHECKPOINT_EVERY_S))
        self.curves: dict[str, list[Any]] = {k: list(v) for k, v in saved.get("curves", {}).items()}
        self.wall_before = float(saved.get("wall_s", 0.0))
        self.last = time.perf_counter()
        self.optimizer: _OptimizerRef | None = None
        self.checkpoints, self.checkpoint_s = 0, 0.0

    def __call__(self, epoch: int, info: dict[str, Any]) -> None:
        at = self.done + epoch  # the epoch index over the whole trial (a retry starts at its checkpoint)
        for key, value in info.items():
            if key not in ("epoch", "wall_s"):
                self.curves.setdefault(key, []).append(value)
        finished = at + 1
        # the last epoch is reported with the final record (test metric, weights), not here
        due = time.perf_counter() - self.last >= self.every_s or finished in self.milestones
        if finished < self.epochs and due:
            self._report(finished, float(info["wall_s"]))

    def _report(self, finished: int, wall_s: float) -> None:
        state = {
            "epoch": finished,
            "model": self.model.state_dict(),
            "optimizer": None if self.optimizer is None else self.optimizer.state_dict(),
            "curves": self.curves,
            "wall_s": self.wall_before + wall_s,
        }
        metrics: dict[str, Any] = {
            "epoch": finished,
            "optnas_curves": self.curves,
            "optnas_costs": self.costs,
            "optnas_init": getattr(self.model, "init_record", None),
        }
        value = self.curves["val_metric"][-1]
        if value is not None:
            metrics["val_metric"] = float(value)
        start = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="optnas-ckpt-") as tmp:
            torch.save(state, os.path.join(tmp, STATE_FILE))
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(tmp))
        self.last = time.perf_counter()
        self.checkpoints += 1
        self.checkpoint_s += self.last - start


def _merged(result: RunResult, saved: dict[str, Any], spec: ArchSpec, direction: str, wall_s: float) -> RunResult:
    """This attempt's result with the curves and counts of the attempts before it."""
    before = saved.get("curves", {})
    curves = {k: list(before.get(k, [])) + list(v) for k, v in result.curves.items()}
    metrics = dict(result.metrics)
    metrics["init"] = spec.init  # what optnas.train adds
    metrics["wall_s"] = float(saved.get("wall_s", 0.0)) + wall_s
    metrics["epochs"] = len(curves.get("val_metric", []))
    scored = [(v, i) for i, v in enumerate(curves.get("val_metric", [])) if v is not None]
    if scored and result.status != "diverged":
        best = (max if direction == "maximize" else min)(scored)
        metrics["best_val_metric"], metrics["best_epoch"] = best
    if saved.get("epoch"):
        metrics["resumed_from_epoch"] = int(saved["epoch"])
    return dataclasses.replace(result, curves=curves, metrics=metrics)


def _finish(plan: dict[str, Any], outcome: Outcome, stats: dict[str, Any] | None = None) -> None:
    """The final report: the trial's outcome and, for a complete trial, its weights in the checkpoint."""
    final = {**outcome.to_dict(), "worker_stats": stats or {}}
    metrics: dict[str, Any] = {"epoch": int(plan["epochs"]), "optnas_final": final}
    value = (outcome.attrs.get("metrics") or {}).get("val_metric")
    if value is not None:
        metrics["val_metric"] = float(value)
    with tempfile.TemporaryDirectory(prefix="optnas-final-") as tmp:
        if outcome.model is not None:
            save_model(outcome.model.cpu(), os.path.join(tmp, WEIGHTS_FILE))
        Path(tmp, FINAL_FILE).write_text(json.dumps(metrics))
        tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(tmp))


def _load(checkpoint: tune.Checkpoint | None) -> dict[str, Any]:
    """A checkpoint's state: {} for a fresh trial, ``{"final": report}`` when the trial had finished."""
    if checkpoint is None:
        return {}
    with checkpoint.as_directory() as path:
        final = Path(path, FINAL_FILE)
        if final.exists():
            return {"final": json.loads(final.read_text())}
        return dict(torch.load(Path(path, STATE_FILE), map_location="cpu", weights_only=True))
