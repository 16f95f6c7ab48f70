"""`TrainOptions`: the knobs of one training run, validated at the boundary."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from .. import _validate
from ..errors import UsageError
from .optim import OPTIMIZERS
from .precision import PRECISIONS


def _number(name: str, value: Any, low: float, *, strict: bool, high: float | None = None) -> None:
    _validate.number(f"train option {name}", value, low, high, low_open=strict, high_open=True)


def _integer(name: str, value: Any, low: int) -> None:
    _validate.integer(f"train option {name}", value, low)


def _flag(name: str, value: Any) -> None:
    _validate.boolean(f"train option {name}", value)


def _choice(name: str, value: Any, valid: list[str]) -> None:
    if value not in valid:
        raise UsageError(f"train option {name}={value!r} is invalid; valid values: {', '.join(valid)}")


@dataclass(frozen=True)
class TrainOptions:
    """Options of `optnas.train` beyond epochs, seed, device and callback.

    lr: peak learning rate (reached after warmup, then cosine-decayed to 0 at the last step).
    weight_decay: decoupled (AdamW) or L2 (SGD) decay, applied to weight matrices and kernels only, not to
        biases and normalisation scales. optimizer: "adamw" or "sgd" (with ``momentum``, Nesterov).
    warmup: fraction of all steps over which the LR ramps up linearly from 0, in [0, 1).
    clip: maximum global gradient norm; None disables clipping.
    batch_size / eval_batch_size: training and evaluation batch sizes (in-memory tasks only).
    compile: wrap the model in ``torch.compile``; its graphs are dropped when the run ends
    (``torch.compiler.reset()``, which drops other compiled code's graphs too), so every run compiles.
    max_seconds: a wall-clock budget counted from the start of the call (building included); when it runs
    out, training stops after the current step and the model is scored as it is (status "complete",
    ``metrics["budget_exhausted"]`` True, a ``reason`` saying so).
    precision: "auto" (bf16 on a CUDA device that supports it, else fp32), "fp32", "bf16" or "fp16";
        mixed precision is autocast and exists on CUDA only. channels_last: use the channels-last memory
        format for image models on CUDA.
    divergence_threshold: an output with |value| above it (or non-finite) ends the run as diverged.
    latency_repeats: timed forwards whose median is ``latency_ms``.
    allow_uncertified: passed to ``optnas.build`` (`optnas.train` only).

    Example:
        >>> TrainOptions.from_kwargs(lr=3e-3, optimizer="sgd").momentum
        0.9
    """

    lr: float = 1e-3
    weight_decay: float = 0.01
    optimizer: str = "adamw"
    momentum: float = 0.9
    batch_size: int = 128
    eval_batch_size: int = 1024
    warmup: float = 0.05
    clip: float | None = 1.0
    compile: bool = False
    max_seconds: float | None = None
    precision: str = "auto"
    channels_last: bool = True
    divergence_threshold: float = 1e6
    latency_repeats: int = 10
    allow_uncertified: bool = False

    def __post_init__(self) -> None:
        _number("lr", self.lr, 0.0, strict=True)
        _number("weight_decay", self.weight_decay, 0.0, strict=False)
        _choice("optimizer", self.optimizer, sorted(OPTIMIZERS))
        _number("momentum", self.momentum, 0.0, strict=False, high=1.0)
        _integer("batch_size", self.batch_size, 1)
        _integer("eval_batch_size", self.eval_batch_size, 1)
        _number("warmup", self.warmup, 0.0, strict=False, high=1.0)
        if self.clip is not None:
            _number("clip", self.clip, 0.0, strict=True)
        _flag("compile", self.compile)
        if self.max_seconds is not None:
            _number("max_seconds", self.max_seconds, 0.0, strict=True)
        _choice("precision", self.precision, ["auto", *sorted(PRECISIONS)])
        _flag("channels_last", self.channels_last)
        _number("divergence_threshold", self.divergence_threshold, 0.0, strict=True)
        _integer("latency_repeats", self.latency_repeats, 1)
        _flag("allow_uncertified", self.allow_uncertified)

    @classmethod
    def from_kwargs(cls, **options: Any) -> TrainOptions:
        """Options from keyword arguments; an unknown name is an error listing the valid ones."""
        valid = [f.name for f in fields(cls)]
        unknown = sorted(set(options) - set(valid))
        if unknown:
            raise UsageError(f"unknown train option(s) {unknown}; valid options: {', '.join(valid)}")
        return cls(**options)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
