"""Worker side of the Ray backend: one trial in a Ray Tune actor, checkpointed at the end of its epochs.

The worker never opens the Optuna storage (the driver is the single writer; docs/ray.md). It gets a spec
the driver drew and certified, trains it, and reports to the driver:

- a start report: where it runs (host, pid, Ray node, GPU) and the epoch it starts from;
- at the end of an epoch, a ``ray.tune.Checkpoint`` (the `Trainer`'s state: model, optimizer, random state,
  batch position, curves so far) and the
  curves, at most once per `CHECKPOINT_EVERY_S` (and always at the scheduler's rung epochs): a checkpoint
  and its round trip to the driver cost ~30 ms, 3% of the training time if taken every second;
- a final report with the trial's `optnas.search.lifecycle.Outcome` (``optnas_final``: the record the
  optuna backend writes, from the same `Lifecycle`), the trained weights (safetensors) in its checkpoint
  for the driver to upload as the trial's artifact.

A retried trial (its worker died) continues from its last checkpoint exactly (`optnas.training.Trainer`).
"""

from __future__ import annotations

import functools
import json
import os
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from ray import tune
from safetensors.torch import save_model

from ...spec import ArchSpec
from ...training import RunResult, Trainer
from ..lifecycle import Lifecycle, Outcome
from ..space import SearchSpace

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
    torch.set_num_threads(int(plan["threads"]))
    life = _lifecycle(plan["space"], plan["space_file"], plan["device"])
    checkpoint = tune.get_checkpoint()
    saved = _load(checkpoint)
    if saved.get("final") is not None:  # finished before the driver recorded it: hand the record over again
        tune.report(saved["final"])
        return
    tune.report({"epoch": int(saved.get("epoch", 0)), "optnas_start": where()})
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
    A retry continues the run exactly (`optnas.training.Trainer`'s state: model, optimizer, learning-rate
    schedule position, random state and batch order, curves): on the CPU its curves are the uninterrupted run's.
    """
    trainer = Trainer(spec, life.task, seed=int(plan["seed"]), device=plan["device"], **plan["train"])
    done = int(saved.get("epoch", 0))
    if done:
        trainer.load_state_dict(saved["trainer"])
    reporter = _Reporter(plan, trainer, costs)
    result = trainer.fit(int(plan["epochs"]), callback=reporter)
    if done:
        result.metrics["resumed_from_epoch"] = done
    return result, {"checkpoints": reporter.checkpoints, "checkpoint_s": round(reporter.checkpoint_s, 4)}


class _Reporter:
    """The epoch callback: checkpoint and report at most every `CHECKPOINT_EVERY_S` (and at the rungs)."""

    def __init__(self, plan: dict[str, Any], trainer: Trainer, costs: dict[str, float]) -> None:
        self.epochs, self.trainer, self.costs = int(plan["epochs"]), trainer, costs
        self.milestones = {int(m) for m in plan.get("milestones", [])}
        self.every_s = float(plan.get("checkpoint_every_s", CHECKPOINT_EVERY_S))
        self.last = time.perf_counter()
        self.checkpoints, self.checkpoint_s = 0, 0.0

    def __call__(self, epoch: int, info: dict[str, Any]) -> None:
        finished = epoch + 1  # epochs count over the whole trial (a retry's trainer starts at its checkpoint)
        # the last epoch is reported with the final record (test metric, weights), not here
        due = time.perf_counter() - self.last >= self.every_s or finished in self.milestones
        if finished < self.epochs and due:
            self._report(finished)

    def _report(self, finished: int) -> None:
        trainer = self.trainer
        curves = {k: list(v) for k, v in trainer.curves.items()}
        metrics: dict[str, Any] = {
            "epoch": finished,
            "optnas_curves": curves,
            "optnas_costs": self.costs,
            "optnas_init": getattr(trainer.model, "init_record", None),
        }
        value = curves["val_metric"][-1]
        if value is not None:
            metrics["val_metric"] = float(value)
        start = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="optnas-ckpt-") as tmp:
            torch.save({"epoch": finished, "trainer": trainer.state_dict()}, os.path.join(tmp, STATE_FILE))
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(tmp))
        self.last = time.perf_counter()
        self.checkpoints += 1
        self.checkpoint_s += self.last - start


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
