"""`Task`: a supervised problem with fixed train/val/test splits, its loss and its metric.

`TensorTask` holds its splits as tensors. It moves them to the training device once and serves batches by
indexing with a permutation tensor: no DataLoader and no per-sample Python loop, so small tasks train at
the speed of the model rather than of the input pipeline.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

import numpy as np
import torch

from .._shapes import Signal, input_kind
from ..errors import UsageError
from .objectives import Direction, Objective, objective

Split = Literal["train", "val", "test"]
SPLITS: tuple[Split, ...] = ("train", "val", "test")
Batch = tuple[torch.Tensor, torch.Tensor]
# On-device batch transforms: `transform(x)` for every split (e.g. uint8 pixels -> normalised floats),
# `augment(x, generator)` for training batches only.
Transform = Callable[[torch.Tensor], torch.Tensor]
Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


class Task(ABC):
    """A supervised learning problem: what `optnas.train` fits and scores.

    Attributes: ``name``, ``params`` (what rebuilds it: ``optnas.tasks.get(name, **params)``),
    ``input_shape`` (without the batch dimension; a `optnas.Signal` for 1-D signals), ``input_kind``
    ("vector", "token", "image" or "signal"), ``num_outputs``, ``kind`` ("classification" or
    "regression"), ``metric_name`` ("accuracy" or "mse"), ``direction`` ("maximize" or "minimize").

    Example:
        >>> import optnas.tasks
        >>> task = optnas.tasks.get("rings", rings=3)
        >>> task.input_shape, task.num_outputs, task.metric_name, task.direction
        ((2,), 3, 'accuracy', 'maximize')
    """

    def __init__(
        self,
        name: str,
        kind: str,
        input_shape: tuple[int, ...],
        num_outputs: int,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.objective: Objective = objective(kind)
        # a Signal(channels, length) stays one: it is how a task declares signal (not token) inputs
        self.input_shape = input_shape if isinstance(input_shape, Signal) else tuple(int(d) for d in input_shape)
        self.num_outputs = int(num_outputs)
        self.params: dict[str, Any] = dict(params or {})
        # {"mean": ..., "std": ...} when the inputs were standardized (`from_tensors`); export applies it
        self.standardize: dict[str, Any] | None = None

    @property
    def input_kind(self) -> str:
        """"vector", "token", "image" or "signal" (see `optnas.Signal`)."""
        return input_kind(self.input_shape)

    @property
    def kind(self) -> str:
        return self.objective.kind

    @property
    def metric_name(self) -> str:
        return self.objective.metric_name

    @property
    def direction(self) -> Direction:
        return self.objective.direction

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The training loss of a batch (cross-entropy or mean squared error)."""
        return self.objective.loss(output, target)

    @abstractmethod
    def num_samples(self, split: Split) -> int:
        """How many samples ``split`` holds (-1 when a streaming source cannot tell)."""

    def steps_per_epoch(self, batch_size: int) -> int | None:
        """Training steps in one epoch at ``batch_size`` (None when the source cannot tell)."""
        return None

    @abstractmethod
    def batches(
        self,
        split: Split,
        *,
        batch_size: int,
        device: torch.device | str = "cpu",
        shuffle: bool = False,
        generator: torch.Generator | None = None,
    ) -> Iterator[Batch]:
        """Batches ``(x, y)`` of ``split`` on ``device``; shuffled with ``generator`` when asked."""

    def describe(self) -> dict[str, Any]:
        """A JSON-safe summary: name, params, shapes, metric and split sizes."""
        return {
            "name": self.name,
            "params": _json_safe(self.params),
            "kind": self.kind,
            "input_shape": list(self.input_shape),
            "input_kind": self.input_kind,
            "num_outputs": self.num_outputs,
            "metric_name": self.metric_name,
            "direction": self.direction,
            "samples": {split: self.num_samples(split) for split in SPLITS},
        }

    def __repr__(self) -> str:
        shape = "x".join(str(d) for d in self.input_shape)
        return f"{type(self).__name__}({self.name!r}, input={shape}, outputs={self.num_outputs}, {self.kind})"


class TensorTask(Task):
    """A task whose three splits are in-memory tensors.

    Example:
        >>> x, y = torch.randn(100, 4), torch.randint(0, 3, (100,))
        >>> splits = {"train": (x[:60], y[:60]), "val": (x[60:80], y[60:80]), "test": (x[80:], y[80:])}
        >>> task = TensorTask("mine", "classification", splits, num_outputs=3)
        >>> xb, yb = next(task.batches("train", batch_size=32, shuffle=True, generator=torch.Generator()))
        >>> tuple(xb.shape), tuple(yb.shape)
        ((32, 4), (32,))
    """

    def __init__(
        self,
        name: str,
        kind: str,
        splits: Mapping[str, Batch],
        num_outputs: int,
        params: Mapping[str, Any] | None = None,
        *,
        transform: Transform | None = None,
        augment: Augment | None = None,
        input_shape: tuple[int, ...] | None = None,
    ) -> None:
        missing = [s for s in SPLITS if s not in splits]
        if missing:
            raise UsageError(f"task {name!r} lacks split(s) {missing}; a task needs train, val and test")
        x_train = splits["train"][0]
        # input_shape is given when `transform` changes it (never the case for the built-in tasks)
        super().__init__(name, kind, input_shape or tuple(x_train.shape[1:]), num_outputs, params)
        self._splits: dict[str, Batch] = {s: (splits[s][0], splits[s][1]) for s in SPLITS}
        self._transform = transform
        self._augment = augment
        self._device_key: str | None = None
        self._on_device: dict[str, Batch] = {}

    def num_samples(self, split: Split) -> int:
        return int(self._splits[split][0].shape[0])

    def __getstate__(self) -> dict[str, Any]:
        # a task shipped to another process (Ray, multiprocessing) carries its data once, not its device copy
        state = self.__dict__.copy()
        state["_on_device"], state["_device_key"] = {}, None
        return state

    def steps_per_epoch(self, batch_size: int) -> int:
        n = self.num_samples("train")
        return n // batch_size if n >= batch_size else 1  # matches the ragged-batch rule of `batches`

    def tensors(self, split: Split) -> Batch:
        """The raw (untransformed, CPU) tensors of ``split``."""
        return self._splits[split]

    def _device_tensors(self, split: Split, device: torch.device) -> Batch:
        # Copy once per device, and keep only the latest device's copy so GPU memory is not doubled.
        key = str(device)
        if key != self._device_key:
            self._on_device = {
                s: (x.to(device, non_blocking=True), y.to(device, non_blocking=True))
                for s, (x, y) in self._splits.items()
            }
            self._device_key = key
        return self._on_device[split]

    def batches(
        self,
        split: Split,
        *,
        batch_size: int,
        device: torch.device | str = "cpu",
        shuffle: bool = False,
        generator: torch.Generator | None = None,
    ) -> Iterator[Batch]:
        x, y = self._device_tensors(split, torch.device(device))
        n = int(x.shape[0])
        if shuffle:
            # the permutation is drawn on the CPU generator (reproducible on every device), then moved
            order = torch.randperm(n, generator=generator).to(x.device, non_blocking=True)
            # drop a ragged last batch while training: a batch of one breaks BatchNorm, and a full
            # epoch still sees every sample with probability ~1 over a few epochs
            stop = n - n % batch_size if n >= batch_size else n
            for start in range(0, stop, batch_size):
                idx = order[start : start + batch_size]
                yield self._prepare(x.index_select(0, idx), split, generator), y.index_select(0, idx)
        else:
            for start in range(0, n, batch_size):
                yield (
                    self._prepare(x[start : start + batch_size], split, generator),
                    y[start : start + batch_size],
                )

    def _prepare(self, x: torch.Tensor, split: Split, generator: torch.Generator | None) -> torch.Tensor:
        if self._transform is not None:
            x = self._transform(x)
        if split == "train" and self._augment is not None and generator is not None:
            x = self._augment(x, generator)
        return x


def split_indices(
    n: int, val_fraction: float, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A seeded random partition of ``range(n)`` into train, val and test indices.

    A positive fraction gets at least one sample; a zero fraction gets none (its split comes from elsewhere).
    """
    order = np.random.default_rng(seed).permutation(n)
    n_val = max(1, round(n * val_fraction)) if val_fraction > 0 else 0
    n_test = max(1, round(n * test_fraction)) if test_fraction > 0 else 0
    if n_val + n_test >= n:
        raise UsageError(f"{n} samples are too few to split into train/val/test with these fractions")
    return order[n_val + n_test :], order[:n_val], order[n_val : n_val + n_test]


def tensor_splits(
    x: torch.Tensor, y: torch.Tensor, val_fraction: float, test_fraction: float, seed: int
) -> dict[str, Batch]:
    """Split ``(x, y)`` into the three splits with `split_indices`."""
    parts = split_indices(int(x.shape[0]), val_fraction, test_fraction, seed)
    return {s: (x[torch.from_numpy(i)], y[torch.from_numpy(i)]) for s, i in zip(SPLITS, parts, strict=True)}


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)
