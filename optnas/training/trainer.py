"""`Trainer`: one training run that can stop after any epoch and go on later, in this process or another.

``Trainer(spec_or_module, task, seed=, device=, **options).fit(epochs)`` trains up to ``epochs`` epochs in
total (as Lightning's ``max_epochs``): a trainer whose state was loaded from a run stopped after epoch k
trains epochs k+1.. and finishes the same run. `state_dict` holds everything the rest of the run depends
on: model, optimizer, grad scaler, the random state (global torch RNG and the batch-order generator), the
position in the epoch (a run stopped by its time budget mid-epoch), the epoch, the curves and the wall time
so far; the learning-rate schedule is a pure function of the position and ``epochs``. On the CPU, stopping
after any epoch and resuming in a new process gives the curves and metrics of the uninterrupted run.

A run never raises because training blew up: a NaN or inf loss or gradient, exploding outputs, or a
FloatingPointError from the model (e.g. an implicit layer whose solve failed) ends it with status
"diverged" and a reason naming the epoch and step. Bad input (unknown option, task or device) is a
ValueError before anything trains.

Example:
    >>> import torch
    >>> from torch import nn
    >>> from optnas.training import Trainer
    >>> def net():                 # a module's own initialisation is the caller's: the same one each time
    ...     torch.manual_seed(0)
    ...     return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    >>> full = Trainer(net(), "rings", device="cpu", latency_repeats=1).fit(3)
    >>> first = Trainer(net(), "rings", device="cpu", latency_repeats=1)
    >>> first.fit(3, callback=lambda epoch, info: epoch == 0).status      # stop after epoch 0
    'pruned'
    >>> later = Trainer(net(), "rings", device="cpu", latency_repeats=1)
    >>> later.load_state_dict(first.state_dict())
    >>> later.fit(3).curves["val_loss"] == full.curves["val_loss"]
    True
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from .. import _validate
from ..build import build
from ..errors import UsageError
from ..spec import ArchSpec
from ..tasks import Task, resolve
from . import metrics as m
from .divergence import Diverged, DivergenceMonitor
from .optim import lr_factor, make_optimizer
from .options import TrainOptions
from .parallel import DataParallel
from .precision import autocast, release_cached_memory, resolve_device, resolve_precision
from .result import RunResult, StopTraining, json_safe
from .seeding import RngState, batch_generator, seeded

if TYPE_CHECKING:
    from ..certify import Certificate

Callback = Callable[[int, dict[str, Any]], "bool | None"]
CURVES = ("train_loss", "train_metric", "val_loss", "val_metric", "lr", "epoch_s")
STATE_VERSION = 1
_CUDA_CHECK_EVERY = 16  # steps between divergence checks on CUDA (each check is a device sync)
_FLOP_BATCH = 16  # samples in the batch whose FLOPs are counted
# options that may differ when a state is loaded: they do not change what the run computes
_FREE_ON_RESUME = {"max_seconds", "latency_repeats", "eval_batch_size"}


class Trainer:
    """A resumable training run of an `ArchSpec` (built with `optnas.build`) or any module on a task.

    Options (see `TrainOptions`): lr, weight_decay, optimizer ("adamw" | "sgd"), momentum, batch_size,
    eval_batch_size, warmup, clip, compile, max_seconds, precision, channels_last, divergence_threshold,
    latency_repeats, allow_uncertified. ``certificate``: the spec's certificate when the caller computed it
    (`optnas.build` then does not compute it again). ``seed`` fixes the initialisation and the batch order
    (`optnas.training.seeding`; CPU runs are bit-for-bit reproducible). ``max_seconds`` counts the wall time
    of every attempt of the run, building included.

    Example:
        >>> import optnas
        >>> spec = optnas.ArchSpec(algorithm="gd", depth=4, width=16)                   # doctest: +SKIP
        >>> trainer = optnas.training.Trainer(spec, "digits", seed=1)                   # doctest: +SKIP
        >>> result = trainer.fit(10); torch.save(trainer.state_dict(), "run.pt")        # doctest: +SKIP
    """

    def __init__(
        self,
        spec_or_module: ArchSpec | dict[str, Any] | nn.Module,
        task: Task | str,
        *,
        seed: int = 0,
        device: str | torch.device = "auto",
        data_parallel: bool = False,
        certificate: Certificate | None = None,
        **options: Any,
    ) -> None:
        self._t0 = time.perf_counter()
        self.options = opts = TrainOptions.from_kwargs(**options)
        _validate.integer("seed", seed, 0)
        self.seed = seed
        self.task = resolve(task)
        self.device = resolve_device(device)
        self.precision = resolve_precision(opts.precision, self.device)
        # channels-last pays off for convolutions on CUDA only
        self.channels_last = opts.channels_last and self.device.type == "cuda" and len(self.task.input_shape) == 3
        self.spec = _spec_of(spec_or_module)
        with seeded(seed, self.device) as rng:
            if self.spec is None:
                model = spec_or_module
            else:
                model = build(
                    self.spec, self.task.input_shape, self.task.num_outputs, allow_uncertified=opts.allow_uncertified,
                    certificate=certificate,
                )
        assert isinstance(model, nn.Module)
        self._rng: RngState = rng
        if opts.precision == "auto" and any(getattr(mod, "implicit", False) for mod in model.modules()):
            # bf16 keeps ~3 significant digits: a fixed-point solve to a 1e-4 residual could never converge
            self.precision = "fp32"
        self.autocast = autocast(self.precision, self.device)
        model.to(self.device)
        if self.channels_last:
            model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.model = model
        self.forward: Callable[[torch.Tensor], torch.Tensor] = torch.compile(model) if opts.compile else model
        self.parallel = DataParallel.join(self.device, opts.batch_size) if data_parallel else None
        # training steps run through DDP (gradients averaged over the ranks); scoring runs on the local replica
        self._train_forward = self.forward if self.parallel is None else self.parallel.wrap(model, self.device)
        self.optimizer = make_optimizer(model, opts.optimizer, opts.lr, opts.weight_decay, opts.momentum)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.precision == "fp16")
        self.generator = batch_generator(seed)
        self.epoch = 0  # epochs finished
        self.steps = 0
        self.curves: dict[str, list[Any]] = {name: [] for name in CURVES}
        self._position: dict[str, Any] | None = None  # where a run stopped inside an epoch
        self._wall_before = 0.0  # wall time of the attempts before this one

    # -- state -----------------------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything the rest of the run depends on (model and optimizer state are references, as torch's
        own ``state_dict``: save it before training on). ``torch.load(..., weights_only=True)`` reads it."""
        return {
            "version": STATE_VERSION,
            "seed": self.seed,
            "options": self.options.to_dict(),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": {**self._rng.to_dict(), "batches": self.generator.get_state()},
            "epoch": self.epoch,
            "steps": self.steps,
            "position": None if self._position is None else dict(self._position),
            "curves": {k: list(v) for k, v in self.curves.items()},
            "wall_s": self.wall_s(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue the run ``state`` came from; its seed and the options that change the run must match."""
        if state.get("version") != STATE_VERSION:
            raise UsageError(f"trainer state version {state.get('version')!r} is invalid; valid: {STATE_VERSION}")
        if state["seed"] != self.seed:
            raise UsageError(f"trainer state has seed={state['seed']}, this trainer seed={self.seed}; use the same")
        mine = self.options.to_dict()
        differ = sorted(k for k, v in state["options"].items() if k not in _FREE_ON_RESUME and mine.get(k) != v)
        if differ:
            pairs = ", ".join(f"{k}={state['options'][k]!r} (here {mine.get(k)!r})" for k in differ)
            raise UsageError(f"trainer state was trained with other options: {pairs}; use the same")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self._rng.load(state["rng"])
        self.generator.set_state(state["rng"]["batches"])
        self.epoch, self.steps = int(state["epoch"]), int(state["steps"])
        self._position = None if state["position"] is None else dict(state["position"])
        self.curves = {k: list(v) for k, v in state["curves"].items()}
        self._wall_before = float(state["wall_s"])
        self._t0 = time.perf_counter()

    def wall_s(self) -> float:
        """Wall time of the run so far, over every attempt."""
        return self._wall_before + time.perf_counter() - self._t0

    # -- the run ---------------------------------------------------------------------------------------------

    def fit(self, epochs: int, callback: Callback | None = None) -> RunResult:
        """Train until ``epochs`` epochs are done in total, then score; returns the run's `RunResult`.

        ``epochs`` also sets the learning-rate schedule (warmup, then cosine to 0 at its last step).
        ``callback(epoch, metrics)`` runs after each epoch (epochs count from 0 over the whole run) with
        ``train_loss``, ``train_metric``, ``val_loss``, ``val_metric``, ``lr`` and ``wall_s``; returning True
        or raising `StopTraining` ends the run with status "pruned" (`state_dict` then continues it).
        """
        _validate.integer("epochs", epochs, 1)
        if callback is not None and not callable(callback):
            raise UsageError(f"callback={callback!r} is invalid: it must be callable(epoch, metrics) or None")
        m.reset_peak_memory(self.device)
        status, reason, budget_hit = "complete", None, False
        with self._rng.active():
            try:
                budget_hit, stop = self._loop(epochs, callback)
                if stop is not None:
                    status, reason = "pruned", stop
                elif budget_hit:
                    reason = f"time budget max_seconds={self.options.max_seconds} ran out at epoch {self.epoch}"
            except Diverged as exc:
                status, reason = "diverged", exc.reason
            except FloatingPointError as exc:
                status, reason = "diverged", f"{exc} (FloatingPointError) at epoch {self.epoch}"
            return self._result(status, reason, budget_hit)

    def _result(self, status: str, reason: str | None, budget_hit: bool) -> RunResult:
        model = self.model
        # the last step's gradients are as large as the weights and never read again: a finished run keeps none
        model.zero_grad(set_to_none=True)
        test = m.SplitScore(None, None, 0)
        if status != "diverged":
            model.eval()
            try:
                test = self._score("test")
            except (Diverged, FloatingPointError) as exc:
                status, reason = "diverged", getattr(exc, "reason", str(exc))
        metrics = self._metrics(status, test, budget_hit)
        if self.spec is not None:
            metrics["init"] = self.spec.init
        record = getattr(model, "init_record", None)
        if isinstance(record, dict):
            metrics["init_record"] = json_safe(dict(record))
        model.eval()
        if self.options.compile:
            # dynamo caches graphs per code object and stops compiling after 8 (recompile_limit): every
            # architecture and every mode (train, eval, no_grad) is one more, so a search's worker silently ran
            # eagerly from its third compiled trial on. This run's graphs serve no later run: drop them.
            torch.compiler.reset()
            self.forward = torch.compile(model)  # a later fit of this trainer compiles afresh
        release_cached_memory(self.device)  # activations of this run, back to the driver
        return RunResult(
            status=status,  # type: ignore[arg-type]
            reason=reason,
            metrics=metrics,
            curves={k: list(v) for k, v in self.curves.items()},
            model=model,
            spec=None if self.spec is None else self.spec.to_dict(),
            task=self.task.describe(),
            options=self.options.to_dict(),
            seed=self.seed,
        )

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def _batches(self) -> Iterator[tuple[int, Any]]:
        """This epoch's batches with their index; a run stopped mid-epoch goes on at its next batch."""
        position, skip = self._position, 0
        if position is not None:
            self.generator.set_state(position["batches_at_epoch_start"])
            skip = int(position["step"])
        batches = self.task.batches(
            "train", batch_size=self.options.batch_size, device=self.device, shuffle=True, generator=self.generator
        )
        for step, batch in enumerate(batches):
            if step >= skip:
                yield step, batch

    def _loop(self, epochs: int, callback: Callback | None) -> tuple[bool, str | None]:
        """Train epoch by epoch; returns (time budget ran out, pruning reason or None)."""
        opts, model, optimizer, scaler = self.options, self.model, self.optimizer, self.scaler
        fp16 = self.precision == "fp16"
        monitor = DivergenceMonitor(opts.divergence_threshold, 1 if self.device.type == "cpu" else _CUDA_CHECK_EVERY)
        params = [p for p in model.parameters() if p.requires_grad]
        per_epoch = self.task.steps_per_epoch(opts.batch_size)
        lr = opts.lr
        for epoch in range(self.epoch, epochs):
            epoch_start = time.perf_counter()
            model.train()
            loss_sum = torch.zeros((), device=self.device)
            score_sum = torch.zeros((), device=self.device)
            seen, budget_hit = 0, False
            position = self._position
            if position is not None:  # the curve row of the cut epoch is made again when it ends
                for name in self.curves:
                    del self.curves[name][epoch:]
                if self.parallel is None or self.parallel.rank == 0:  # the saved sums are over all ranks already
                    loss_sum += position["loss_sum"]
                    score_sum += position["score_sum"]
                    seen = int(position["seen"])
            at_start = self.generator.get_state() if position is None else position["batches_at_epoch_start"]
            step = -1
            for step, (x, y) in self._batches():
                if self.parallel is not None:  # this rank's slice of the global batch
                    x, y = self.parallel.shard(x), self.parallel.shard(y)
                # progress at the end of this step: the first step already trains at a non-zero LR
                done = epoch + ((step + 1) / per_epoch if per_epoch else 0.0)
                lr = opts.lr * lr_factor(done / epochs, opts.warmup)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                with self.autocast():
                    out = self._train_forward(self._prepare(x))
                    loss = self.task.loss(out, y)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                grad_norm = None
                if opts.clip is not None:
                    scaler.unscale_(optimizer)
                    grad_norm = torch.nn.utils.clip_grad_norm_(params, opts.clip)
                scaler.step(optimizer)
                scaler.update()
                # fp16: an inf gradient is the scaler's business (it skips the step), not divergence
                monitor.record(epoch, step, loss, out, None if fp16 else grad_norm)
                loss_sum += loss.detach().float() * y.shape[0]
                score_sum += self.task.objective.score_sum(out.detach(), y).float()
                seen += int(y.shape[0])
                self.steps += 1
                if opts.max_seconds is not None and self._out_of_time():
                    budget_hit = True
                    break
            monitor.flush()
            if self.parallel is not None:  # the epoch's sums over every rank's slices
                loss_sum, score_sum, seen = self.parallel.sums(loss_sum, score_sum, seen)
            if position is not None and step < 0:  # resumed at the end of the cut epoch: its last lr
                lr = opts.lr * lr_factor((epoch + 1 if per_epoch else epoch) / epochs, opts.warmup)
            self._position = None
            if budget_hit:
                self._rng.capture()  # the state the next step of this epoch would have started from
                self._position = {
                    "step": step + 1,
                    "batches_at_epoch_start": at_start,
                    "loss_sum": float(loss_sum),
                    "score_sum": float(score_sum),
                    "seen": seen,
                }
            model.eval()
            val = self._score("val")
            train_loss, train_score = (torch.stack([loss_sum, score_sum]) / max(seen, 1)).cpu().tolist()
            row = {
                "train_loss": train_loss if seen else None,
                "train_metric": train_score if seen else None,
                "val_loss": val.loss,
                "val_metric": val.metric,
                "lr": lr,
                "epoch_s": time.perf_counter() - epoch_start,
            }
            residual = getattr(model, "solver_residual", None)
            if callable(residual):  # implicit networks: worst fixed-point residual of the last val forward
                row["solver_residual"] = float(residual())
            for name, value in row.items():
                self.curves.setdefault(name, []).append(value)
            if budget_hit:
                return True, None
            self.epoch = epoch + 1
            self._rng.capture()
            stop = self._ask_callback(callback, epoch, row)
            if stop is not None:
                return False, stop
        return False, None

    def _out_of_time(self) -> bool:
        over = self.wall_s() > (self.options.max_seconds or math.inf)
        # every rank stops at the same step, or the others would wait in their next all-reduce for ever
        return over if self.parallel is None else self.parallel.any(over)

    def _ask_callback(self, callback: Callback | None, epoch: int, row: dict[str, Any]) -> str | None:
        if callback is None:
            return None
        info = {"epoch": epoch, **row, "wall_s": self.wall_s()}
        try:
            answer = callback(epoch, info)
        except StopTraining as exc:
            return str(exc) or f"stopped by the callback after epoch {epoch}"
        return f"stopped by the callback after epoch {epoch}" if answer is True else None

    def _score(self, split: Any) -> m.SplitScore:
        return m.evaluate(
            self.forward,
            self.task,
            split,
            device=self.device,
            batch_size=self.options.eval_batch_size,
            autocast=self.autocast,
            threshold=self.options.divergence_threshold,
            prepare=self._prepare,
        )

    def _metrics(self, status: str, test: m.SplitScore, budget_hit: bool) -> dict[str, Any]:
        model = self.model
        model.eval()
        val_curve = self.curves["val_metric"]

        def last(name: str) -> Any:
            return self.curves[name][-1] if self.curves[name] else None

        healthy = status != "diverged"
        flops = latency = None
        batch = self._example_batch()
        if batch is not None:
            try:
                flops = m.flops_per_sample(model, batch[:_FLOP_BATCH])
                with self.autocast():
                    latency = m.latency_ms(self.forward, batch, self.options.latency_repeats)
            except FloatingPointError:
                pass  # a model that cannot even run a forward has no cost to report
        scored = [(v, i) for i, v in enumerate(val_curve) if v is not None] if healthy else []
        best = (max if self.task.direction == "maximize" else min)(scored) if scored else (None, None)
        peak, peak_source = m.peak_memory_mb(self.device)
        metrics = {
            "val_metric": last("val_metric") if healthy else None,
            "test_metric": test.metric,
            "val_loss": last("val_loss") if healthy else None,
            "test_loss": test.loss,
            "train_loss": last("train_loss") if healthy else None,
            "best_val_metric": best[0],
            "best_epoch": best[1],
            "metric_name": self.task.metric_name,
            "direction": self.task.direction,
            "params": m.count_params(model),
            "flops": flops,
            "latency_ms": latency,
            "latency_batch_size": None if batch is None else int(batch.shape[0]),
            "peak_mem_mb": peak,
            "peak_mem_source": peak_source,
            "wall_s": self.wall_s(),
            "epochs": len(self.curves["val_metric"]),
            "steps": self.steps,
            "budget_exhausted": budget_hit,
            "device": str(self.device),
            "precision": self.precision,
            "compiled": self.options.compile,
            "seed": self.seed,
        }
        if "solver_residual" in self.curves:
            metrics["solver_residual"] = last("solver_residual")
        return metrics

    def _example_batch(self) -> torch.Tensor | None:
        """A batch of ``batch_size`` validation inputs (prepared as in training) for FLOPs and latency."""
        for x, _ in self.task.batches("val", batch_size=self.options.batch_size, device=self.device):
            return self._prepare(x)
        return None


def _spec_of(value: Any) -> ArchSpec | None:
    """The spec to build, or None for a module the caller built."""
    if isinstance(value, nn.Module):
        return None
    if isinstance(value, dict):
        return ArchSpec.from_dict(value)
    if not isinstance(value, ArchSpec):
        raise UsageError(f"spec must be an optnas.ArchSpec, its dict or a torch module, got {type(value).__name__}")
    return value
