"""Worker side of the Ray backend: one trial in a Ray Tune actor, checkpointed at the end of its epochs.

The worker never opens the Optuna storage (the driver is the single writer; docs/ray.md). It gets the
validated search space once per run (`trainable`: Tune's ``with_parameters``, a pickle in Ray's object store,
never a file to parse and check again) and, in each trial's plan, a spec the driver drew with its certificate:
it builds the network once from that certificate, trains it, and reports to the driver:

- a start report: where it runs (host, pid, Ray node, GPU) and the epoch it starts from;
- at the end of an epoch, a ``ray.tune.Checkpoint`` (the `Trainer`'s state: model, optimizer, random state,
  batch position, curves so far) and the
  curves, at most once per `CHECKPOINT_EVERY_S` (and always at the scheduler's rung epochs): a checkpoint
  and its round trip to the driver cost ~30 ms, 3% of the training time if taken every second;
- a final report with the trial's `optnas.search.lifecycle.TrialEnd` (``optnas_final``: the record the
  optuna backend writes, from the same `Lifecycle`), the trained weights (safetensors) in its checkpoint
  for the driver to upload as the trial's artifact.

A retried trial (its worker died) continues from its last checkpoint exactly (`optnas.training.Trainer`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from ray import tune
from safetensors.torch import save_model

from ...certify import Certificate
from ...spec import ArchSpec
from ...training import RunResult, Trainer
from ..lifecycle import Lifecycle, TrialEnd
from ..space import SearchSpace
from .fatal import check_device, failed, retryable

# Checkpoint at the end of an epoch once this many seconds have passed since the last: what a dead worker may
# lose, against ~30 ms a checkpoint (docs/ray.md). The driver reads OPTNAS_RAY_CHECKPOINT_S, sends it in the plan.
CHECKPOINT_EVERY_S = 10.0
STATE_FILE, FINAL_FILE, WEIGHTS_FILE = "state.pt", "final.json", "model.safetensors"
Send = Callable[[dict[str, Any], dict[str, Any]], None]  # (report metrics, checkpoint state) to the driver
LIVES_KEPT = 4  # Lifecycles (each with its task's data) a worker process keeps, the latest runs'
_LIVES: dict[tuple[str, int, str], Lifecycle] = {}


def trainable(space: SearchSpace) -> Callable[[dict[str, Any]], None]:
    """The Ray Tune trainable of one run: `train_trial` with ``space`` as Ray Tune passes large objects
    (``tune.with_parameters``: put in Ray's object store once, unpickled in the trial, not validated again).

    ``run`` names this run's space, so that a worker process loads its task once per run (`_lifecycle`)."""
    return tune.with_parameters(train_trial, space=space, run=uuid.uuid4().hex)


def _lifecycle(run: str, space: SearchSpace, seed: int, device: str) -> Lifecycle:
    """One `Lifecycle` (the space, its task's data) per worker process and run: an actor trains many trials."""
    key = (run, seed, device)
    if key not in _LIVES:
        while len(_LIVES) >= LIVES_KEPT:
            _LIVES.pop(next(iter(_LIVES)))
        _LIVES[key] = Lifecycle(space, seed=seed, device=device)
    return _LIVES[key]


def drawn_certificate(plan: dict[str, Any]) -> Certificate | None:
    """The certificate the driver computed for the plan's spec (None in a plan written before plans carried it,
    an experiment restored across an upgrade: the build certifies then)."""
    data = plan.get("certificate")
    return Certificate.from_dict(data) if isinstance(data, dict) else None


def where() -> dict[str, Any]:
    """Host, pid, Ray node and GPU of this worker."""
    import ray
    from ray.util import get_node_ip_address

    gpu_ids = [str(i) for i in ray.get_gpu_ids()]
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "node": ray.get_runtime_context().get_node_id(),
        # this node's address, known locally (ray.nodes() asked the cluster for every node's, per trial)
        "node_ip": get_node_ip_address(),
        "gpu": torch.cuda.get_device_name(0) if gpu_ids and torch.cuda.is_available() else None,
        "gpu_ids": gpu_ids,
    }


def train_trial(config: dict[str, Any], space: SearchSpace, run: str) -> None:
    """The Ray Tune trainable (`trainable` passes ``space`` and ``run``), the entry point of every Ray worker:
    ``config["optnas"]`` is the driver's plan (`searcher.plan`). The trial lifecycle's steps run here: screen,
    the one build and the static costs, train, the outcome."""
    plan = config["optnas"]
    try:
        _train_trial(plan, space, run)
    except Exception as exc:
        if retryable(exc):  # a node or memory problem: Ray retries the trial from its checkpoint
            raise
        _finish(plan, failed(plan, exc))  # a retry would raise it again (`fatal`): recorded, not retried


def _train_trial(plan: dict[str, Any], space: SearchSpace, run: str) -> None:
    torch.set_num_threads(int(plan["threads"]))
    checkpoint = tune.get_checkpoint()
    saved = _load(checkpoint)
    if saved.get("final") is not None:  # finished before the driver recorded it: hand the record over again
        tune.report(saved["final"])
        return
    place = where()
    tune.report({"epoch": int(saved.get("epoch", 0)), "optnas_start": place})
    plan = {**plan, "device": check_device(plan["device"], place["gpu_ids"])}  # a GPU share trains on it
    life = _lifecycle(run, space, int(plan["seed"]), plan["device"])
    spec = ArchSpec.from_dict(plan["spec"])
    outcome, stats = _run(life, plan, spec, drawn_certificate(plan), saved, run)
    _finish(plan, outcome, stats)


def _run(
    life: Lifecycle, plan: dict[str, Any], spec: ArchSpec, certificate: Certificate | None, saved: dict[str, Any],
    run: str,
) -> tuple[TrialEnd, dict[str, Any] | None]:
    """The trial from its screen to its outcome, and this attempt's checkpoint count and time."""
    if int(plan.get("workers", 1)) > 1:  # each data-parallel worker builds its own replica
        prepared = life.prepare(spec, certificate)
        if prepared.stop is not None:
            return prepared.stop, None
        result, stats = data_parallel_fit(life, plan, spec, saved, prepared.costs, run)
        return life.finish(result, prepared), stats
    prepared = life.screen(spec)
    if prepared.stop is None:
        trainer, prepared = life.start(spec, certificate, plan["train"], prepared)  # the trial's one build
    if prepared.stop is not None:  # predicted untrainable, or over a constraint: never trained
        return prepared.stop, None
    result, stats = resumed_fit(trainer, plan, saved, prepared.costs)
    return life.finish(result, prepared), stats


def resumed_fit(
    trainer: Trainer, plan: dict[str, Any], saved: dict[str, Any], costs: dict[str, float]
) -> tuple[RunResult, dict[str, Any]]:
    """Train for the plan's epochs, from ``saved`` (a checkpoint's state) when a retry has one.

    Returns the result (curves and counts over all attempts) and this attempt's checkpoint count and time.
    A retry continues the run exactly (`optnas.training.Trainer`'s state: model, optimizer, learning-rate
    schedule position, random state and batch order, curves): on the CPU its curves are the uninterrupted run's.
    """
    return _fit(trainer, plan, saved, costs, _report_to_tune)


def _fit(
    trainer: Trainer, plan: dict[str, Any], saved: dict[str, Any], costs: dict[str, float], send: Send | None
) -> tuple[RunResult, dict[str, Any]]:
    done = int(saved.get("epoch", 0))
    if done:
        trainer.load_state_dict(saved["trainer"])
    reporter = _Reporter(plan, trainer, costs, send)
    result = trainer.fit(int(plan["epochs"]), callback=reporter)
    if done:
        result.metrics["resumed_from_epoch"] = done
    return result, {"checkpoints": reporter.checkpoints, "checkpoint_s": round(reporter.checkpoint_s, 4)}


def _report_to_tune(metrics: dict[str, Any], state: dict[str, Any]) -> None:
    """An epoch's report with its checkpoint (the trainer's state) to the driver."""
    with tempfile.TemporaryDirectory(prefix="optnas-ckpt-") as tmp:
        torch.save(state, os.path.join(tmp, STATE_FILE))
        tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(tmp))


def data_parallel_fit(
    life: Lifecycle, plan: dict[str, Any], spec: ArchSpec, saved: dict[str, Any], costs: dict[str, float], run: str
) -> tuple[RunResult, dict[str, Any]]:
    """`resumed_fit` over ``plan["workers"]`` Ray Train workers (DDP; gloo on CPU, NCCL on GPUs).

    The workers run inside this Tune trial (Ray Train V2); rank 0 sends its epoch reports and checkpoints, and
    at the end its result, through a Ray queue to this actor, which reports them to Tune as a one-worker trial
    does: the driver sees the same reports, checkpoints and outcome. A scheduler that stops the trial ends
    this actor, and with it the queue, the trainer and its workers (they are this actor's children).
    """
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer
    from ray.util.queue import Empty, Queue

    queue = Queue(actor_options={"num_cpus": 0})  # it lives in the trial's placement group, which holds no CPU
    gpu = float(plan.get("gpu", 0.0))
    per_worker = {"CPU": float(plan.get("cpu", 1.0)), **({"GPU": gpu} if gpu else {})}
    scaling = ScalingConfig(num_workers=int(plan["workers"]), use_gpu=gpu > 0, resources_per_worker=per_worker)
    root = tempfile.mkdtemp(prefix="optnas-ddp-")  # Ray Train's own run folder: the study keeps the record
    trainer = TorchTrainer(
        _rank_loop,
        # the validated space travels pickled, as to the trial itself
        train_loop_config={"plan": plan, "saved": saved, "costs": costs, "queue": queue, "space": life.space,
                           "run": run},
        scaling_config=scaling,
        torch_config=TorchConfig(backend="nccl" if gpu > 0 else "gloo"),
        run_config=RunConfig(storage_path=root, name=f"optnas-{plan['number']}"),
    )
    failure: list[BaseException] = []

    def fit() -> None:
        try:
            trainer.fit()
        except BaseException as exc:  # re-raised in the trial's thread below
            failure.append(exc)

    thread = threading.Thread(target=fit, name="optnas-ddp", daemon=True)
    thread.start()
    try:
        while True:
            try:
                kind, *item = queue.get(timeout=1.0)
            except Empty:
                if not thread.is_alive():
                    error = failure[0] if failure else RuntimeError("the data-parallel workers ended without a result")
                    raise error from None
                continue
            if kind == "final":
                thread.join()
                result, stats = item
                return result, stats
            _report_to_tune(*item)
    finally:
        shutil.rmtree(root, ignore_errors=True)
        queue.shutdown()


def _rank_loop(config: dict[str, Any]) -> None:
    """One Ray Train worker of a data-parallel trial: the trial's `Trainer` with ``data_parallel=True``."""
    import ray.train
    import ray.train.torch

    plan, queue = config["plan"], config["queue"]
    torch.set_num_threads(int(plan["threads"]))
    rank = ray.train.get_context().get_world_rank()
    device = str(ray.train.torch.get_device()) if float(plan.get("gpu", 0.0)) > 0 else "cpu"
    life = _lifecycle(config["run"], config["space"], int(plan["seed"]), device)

    def send(metrics: dict[str, Any], state: dict[str, Any]) -> None:
        queue.put(("report", metrics, state))

    spec = ArchSpec.from_dict(plan["spec"])
    trainer = Trainer(spec, life.task, seed=life.seed, device=device, data_parallel=True,
                      certificate=drawn_certificate(plan), **plan["train"])
    result, stats = _fit(trainer, plan, config["saved"], config["costs"], send if rank == 0 else None)
    if rank == 0:
        queue.put(("final", dataclasses.replace(result, model=result.model.cpu() if result.model else None), stats))


class _Reporter:
    """The epoch callback: checkpoint and report at most every `CHECKPOINT_EVERY_S` (and at the rungs)."""

    def __init__(self, plan: dict[str, Any], trainer: Trainer, costs: dict[str, float], send: Send | None) -> None:
        self.epochs, self.trainer, self.costs, self.send = int(plan["epochs"]), trainer, costs, send
        self.milestones = {int(m) for m in plan.get("milestones", [])}
        self.every_s = float(plan.get("checkpoint_every_s", CHECKPOINT_EVERY_S))
        self.last = time.perf_counter()
        self.checkpoints, self.checkpoint_s = 0, 0.0

    def __call__(self, epoch: int, info: dict[str, Any]) -> None:
        finished = epoch + 1  # epochs count over the whole trial (a retry's trainer starts at its checkpoint)
        # the last epoch is reported with the final record (test metric, weights), not here
        due = time.perf_counter() - self.last >= self.every_s or finished in self.milestones
        if finished < self.epochs and due and self.send is not None:
            self._report(finished, self.send)

    def _report(self, finished: int, send: Send) -> None:
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
        send(metrics, {"epoch": finished, "trainer": trainer.state_dict()})
        self.last = time.perf_counter()
        self.checkpoints += 1
        self.checkpoint_s += self.last - start


def _finish(plan: dict[str, Any], outcome: TrialEnd, stats: dict[str, Any] | None = None) -> None:
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
