"""The training loop: `fit` trains any module on a task, `train` builds an `ArchSpec` first and fits it.

A run never raises because training blew up: a NaN or inf loss or gradient, exploding outputs, or a
FloatingPointError from the model (e.g. an implicit layer whose solve failed) ends it with status
"diverged" and a reason naming the epoch and step. Bad input (unknown option, task or device) is a
ValueError before anything trains.
"""

from __future__ import annotations

import contextlib
import importlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

from .. import _validate
from ..errors import UsageError
from ..spec import ArchSpec
from ..tasks import Task, resolve
from . import metrics as m
from .divergence import Diverged, DivergenceMonitor
from .optim import lr_factor, make_optimizer
from .options import TrainOptions
from .precision import autocast, release_cached_memory, resolve_device, resolve_precision
from .result import RunResult, StopTraining, json_safe

Callback = Callable[[int, dict[str, Any]], "bool | None"]
CURVES = ("train_loss", "train_metric", "val_loss", "val_metric", "lr", "epoch_s")
_CUDA_CHECK_EVERY = 16  # steps between divergence checks on CUDA (each check is a device sync)
_FLOP_BATCH = 16  # samples in the batch whose FLOPs are counted


def fit(
    model: nn.Module,
    task: Task | str,
    *,
    epochs: int,
    seed: int = 0,
    device: str | torch.device = "auto",
    callback: Callback | None = None,
    **options: Any,
) -> RunResult:
    """Train ``model`` on ``task`` (a `Task` or a registered name); see `train` for everything else.

    Example:
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 3))
        >>> result = fit(model, "rings", epochs=2, device="cpu")
        >>> result.status, sorted(result.curves)[:2]
        ('complete', ['epoch_s', 'lr'])
    """
    start = time.perf_counter()
    run = _Run(task, epochs, seed, device, callback, options, start)
    with _seeded(seed, run.device):
        return run.execute(model, spec=None)


def train(
    spec: ArchSpec | dict[str, Any],
    task: Task | str,
    *,
    epochs: int,
    seed: int = 0,
    device: str | torch.device = "auto",
    callback: Callback | None = None,
    **options: Any,
) -> RunResult:
    """Build ``spec`` for ``task`` with `optnas.build`, train it, and measure it.

    Options (see `TrainOptions`): lr, weight_decay, optimizer ("adamw" | "sgd"), momentum, batch_size,
    eval_batch_size, warmup, clip, compile, max_seconds, precision, channels_last, divergence_threshold,
    latency_repeats, allow_uncertified. ``seed`` fixes the initialisation and the batch order (CPU runs
    are bit-for-bit reproducible). ``callback(epoch, metrics)`` runs after each epoch (epochs count from
    0) with ``train_loss``, ``train_metric``, ``val_loss``, ``val_metric``, ``lr`` and ``wall_s``;
    returning True or raising `StopTraining` ends the run with status "pruned".

    Example:
        >>> import optnas
        >>> spec = optnas.ArchSpec(algorithm="gd", depth=4, width=16)     # doctest: +SKIP
        >>> result = optnas.train(spec, "digits", epochs=3)                 # doctest: +SKIP
        >>> result.status, result.metrics["test_metric"] > 0.8             # doctest: +SKIP
        ('complete', True)
    """
    start = time.perf_counter()
    if isinstance(spec, dict):
        spec = ArchSpec.from_dict(spec)
    if not isinstance(spec, ArchSpec):
        raise UsageError(f"spec must be an optnas.ArchSpec or its dict, got {type(spec).__name__}")
    run = _Run(task, epochs, seed, device, callback, options, start)
    build = _builder()
    with _seeded(seed, run.device):
        model = build(spec, run.task.input_shape, run.task.num_outputs, allow_uncertified=run.options.allow_uncertified)
        return run.execute(model, spec=spec)


def _builder() -> Callable[..., nn.Module]:
    # Imported when called: optnas/__init__ imports this module, and the builder is another part's code.
    build = getattr(importlib.import_module("optnas"), "build", None)
    if build is None:
        raise RuntimeError("optnas.build is not available in this installation")
    return build


@contextlib.contextmanager
def _seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Seed torch for the run, and give the caller back its own RNG state afterwards."""
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


class _Run:
    """One run's validated settings and state; `execute` is the loop."""

    def __init__(
        self,
        task: Task | str,
        epochs: int,
        seed: int,
        device: str | torch.device,
        callback: Callback | None,
        options: dict[str, Any],
        start: float,
    ) -> None:
        self.options = TrainOptions.from_kwargs(**options)
        _validate.integer("epochs", epochs, 1)
        _validate.integer("seed", seed, 0)
        if callback is not None and not callable(callback):
            raise UsageError(f"callback={callback!r} is invalid: it must be callable(epoch, metrics) or None")
        self.task = resolve(task)
        self.device = resolve_device(device)
        self.precision = resolve_precision(self.options.precision, self.device)
        self.autocast = autocast(self.precision, self.device)
        self.epochs, self.seed, self.callback, self.start = epochs, seed, callback, start
        # channels-last pays off for convolutions on CUDA only
        self.channels_last = (
            self.options.channels_last and self.device.type == "cuda" and len(self.task.input_shape) == 3
        )
        self.curves: dict[str, list[Any]] = {name: [] for name in CURVES}
        self.epoch = 0
        self.steps = 0

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def execute(self, model: nn.Module, spec: ArchSpec | None) -> RunResult:
        opts = self.options
        if opts.precision == "auto" and any(getattr(mod, "implicit", False) for mod in model.modules()):
            # bf16 keeps ~3 significant digits: a fixed-point solve to a 1e-4 residual could never converge
            self.precision = "fp32"
            self.autocast = autocast(self.precision, self.device)
        model.to(self.device)
        if self.channels_last:
            model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        m.reset_peak_memory(self.device)
        forward: Callable[[torch.Tensor], torch.Tensor] = torch.compile(model) if opts.compile else model
        status, reason, budget_hit = "complete", None, False
        try:
            budget_hit, stop = self._loop(model, forward)
            if stop is not None:
                status, reason = "pruned", stop
            elif budget_hit:
                reason = f"time budget max_seconds={opts.max_seconds} ran out at epoch {self.epoch}"
        except Diverged as exc:
            status, reason = "diverged", exc.reason
        except FloatingPointError as exc:
            status, reason = "diverged", f"{exc} (FloatingPointError) at epoch {self.epoch}"
        # the last step's gradients are as large as the weights and never read again: a finished run keeps none
        model.zero_grad(set_to_none=True)

        test = m.SplitScore(None, None, 0)
        if status != "diverged":
            model.eval()
            try:
                test = self._score(forward, "test")
            except (Diverged, FloatingPointError) as exc:
                status, reason = "diverged", getattr(exc, "reason", str(exc))
        metrics = self._metrics(model, forward, status, test, budget_hit)
        if spec is not None:
            metrics["init"] = spec.init
        record = getattr(model, "init_record", None)
        if isinstance(record, dict):
            metrics["init_record"] = json_safe(dict(record))
        model.eval()
        if opts.compile:
            # dynamo caches graphs per code object and stops compiling after 8 (recompile_limit): every
            # architecture and every mode (train, eval, no_grad) is one more, so a search's worker silently ran
            # eagerly from its third compiled trial on. This run's graphs serve no later run: drop them.
            torch.compiler.reset()
        release_cached_memory(self.device)  # activations and optimizer state of this run, back to the driver
        return RunResult(
            status=status,  # type: ignore[arg-type]
            reason=reason,
            metrics=metrics,
            curves=self.curves,
            model=model,
            spec=None if spec is None else spec.to_dict(),
            task=self.task.describe(),
            options=opts.to_dict(),
            seed=self.seed,
        )

    def _loop(self, model: nn.Module, forward: Callable[[torch.Tensor], torch.Tensor]) -> tuple[bool, str | None]:
        """Train epoch by epoch; returns (time budget ran out, pruning reason or None)."""
        opts = self.options
        optimizer = make_optimizer(model, opts.optimizer, opts.lr, opts.weight_decay, opts.momentum)
        fp16 = self.precision == "fp16"
        scaler = torch.amp.GradScaler(self.device.type, enabled=fp16)
        monitor = DivergenceMonitor(opts.divergence_threshold, 1 if self.device.type == "cpu" else _CUDA_CHECK_EVERY)
        generator = torch.Generator().manual_seed(self.seed)
        params = [p for p in model.parameters() if p.requires_grad]
        per_epoch = self.task.steps_per_epoch(opts.batch_size)
        lr = opts.lr
        for epoch in range(self.epochs):
            self.epoch = epoch
            epoch_start = time.perf_counter()
            model.train()
            loss_sum = torch.zeros((), device=self.device)
            score_sum = torch.zeros((), device=self.device)
            seen, budget_hit = 0, False
            batches = self.task.batches(
                "train", batch_size=opts.batch_size, device=self.device, shuffle=True, generator=generator
            )
            for step, (x, y) in enumerate(batches):
                # progress at the end of this step: the first step already trains at a non-zero LR
                done = epoch + ((step + 1) / per_epoch if per_epoch else 0.0)
                lr = opts.lr * lr_factor(done / self.epochs, opts.warmup)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                with self.autocast():
                    out = forward(self.prepare(x))
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
                if opts.max_seconds is not None and time.perf_counter() - self.start > opts.max_seconds:
                    budget_hit = True
                    break
            monitor.flush()
            model.eval()
            val = self._score(forward, "val")
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
            stop = self._ask_callback(epoch, row)
            if stop is not None:
                return False, stop
        return False, None

    def _ask_callback(self, epoch: int, row: dict[str, Any]) -> str | None:
        if self.callback is None:
            return None
        info = {"epoch": epoch, **row, "wall_s": time.perf_counter() - self.start}
        try:
            answer = self.callback(epoch, info)
        except StopTraining as exc:
            return str(exc) or f"stopped by the callback after epoch {epoch}"
        return f"stopped by the callback after epoch {epoch}" if answer is True else None

    def _score(self, forward: Callable[[torch.Tensor], torch.Tensor], split: Any) -> m.SplitScore:
        return m.evaluate(
            forward,
            self.task,
            split,
            device=self.device,
            batch_size=self.options.eval_batch_size,
            autocast=self.autocast,
            threshold=self.options.divergence_threshold,
            prepare=self.prepare,
        )

    def _metrics(
        self,
        model: nn.Module,
        forward: Callable[[torch.Tensor], torch.Tensor],
        status: str,
        test: m.SplitScore,
        budget_hit: bool,
    ) -> dict[str, Any]:
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
                    latency = m.latency_ms(forward, batch, self.options.latency_repeats)
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
            "wall_s": time.perf_counter() - self.start,
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
            return self.prepare(x)
        return None
