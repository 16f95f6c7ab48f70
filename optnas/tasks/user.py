"""Tasks from a user's own data: tensors (or arrays) with `from_tensors`, DataLoaders with `from_loaders`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import torch

from .._shapes import Signal
from ..errors import UsageError
from . import _validate as v
from .base import SPLITS, Batch, Split, Task, TensorTask, split_indices
from .objectives import objective


def _as_tensor(name: str, value: Any) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    raise UsageError(f"from_tensors: {name} must be a torch.Tensor or numpy array, got {type(value).__name__}")


def _check_pair(split: str, x: torch.Tensor, y: torch.Tensor) -> None:
    if x.dim() < 2:
        raise UsageError(
            f"from_tensors: x_{split} has shape {tuple(x.shape)}; it must be (samples, *input_shape) "
            "with at least one feature dimension (use x.unsqueeze(1) for scalar inputs)"
        )
    if x.shape[0] != y.shape[0]:
        raise UsageError(
            f"from_tensors: x_{split} has {x.shape[0]} samples but y_{split} has {y.shape[0]}; they must match"
        )
    if x.shape[0] == 0:
        raise UsageError(f"from_tensors: x_{split} is empty; every split needs at least one sample")
    if x.is_floating_point() and not bool(torch.isfinite(x).all()):
        raise UsageError(f"from_tensors: x_{split} contains NaN or infinite values")


def _targets(kind: str, split: str, y: torch.Tensor, num_outputs: int | None) -> torch.Tensor:
    if kind == "classification":
        if y.dim() != 1 or y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
            raise UsageError(
                f"from_tensors: y_{split} has shape {tuple(y.shape)} and dtype {y.dtype}; classification "
                "targets must be a 1-D integer tensor of class indices"
            )
        if int(y.min()) < 0 or (num_outputs is not None and int(y.max()) >= num_outputs):
            raise UsageError(
                f"from_tensors: y_{split} holds labels in [{int(y.min())}, {int(y.max())}]; they must lie in "
                f"[0, num_outputs) with num_outputs={num_outputs}"
            )
        return y.long()
    if y.dim() == 1:
        y = y.unsqueeze(1)  # one regression output per sample
    if y.dim() != 2:
        raise UsageError(
            f"from_tensors: y_{split} has shape {tuple(y.shape)}; regression targets must be (samples,) "
            "or (samples, outputs)"
        )
    y = y.float()
    if not bool(torch.isfinite(y).all()):
        raise UsageError(f"from_tensors: y_{split} contains NaN or infinite values")
    return y


def from_tensors(
    x_train: Any,
    y_train: Any,
    x_val: Any = None,
    y_val: Any = None,
    x_test: Any = None,
    y_test: Any = None,
    *,
    kind: str = "classification",
    num_outputs: int | None = None,
    val_fraction: float = 0.1,
    test_fraction: float = 0.2,
    seed: int = 0,
    name: str = "tensors",
    standardize: bool = True,
    signal: bool = False,
) -> TensorTask:
    """A task from your own tensors or numpy arrays; x is ``(samples, *input_shape)``.

    ``signal=True`` reads 3-D x ``(samples, channels, length)`` as 1-D signals (audio, sensors): the task's
    input shape is ``optnas.Signal(channels, length)``, which the conv blocks run on (without it a 3-D x
    is a token sequence ``(samples, tokens, features)``), and standardizing uses per-channel statistics.

    Splits you leave out are carved from the training data with a split seeded by ``seed``
    (``val_fraction``, ``test_fraction`` of it). Classification targets are class indices (1-D integers;
    ``num_outputs`` defaults to the largest label + 1); regression targets are ``(samples,)`` or
    ``(samples, outputs)`` floats, scored by MSE.

    ``standardize`` (default True) rescales every input feature to mean 0 and standard deviation 1 with
    statistics fitted on the training split only (a constant feature keeps scale 1); the task then holds
    the scaled inputs, ``task.standardize`` holds ``{"mean": ..., "std": ...}`` (nested lists shaped like
    one sample), a search records it in the study, and `optnas export` puts it in the exported model, which
    takes raw inputs. Raw features of very different scales (scikit-learn's wine: proline in the
    hundreds, hue near 1) train badly without it. Targets are never rescaled.

    Example:
        >>> import torch, optnas.tasks
        >>> x = torch.randn(200, 5); y = (x.sum(1) > 0).long()
        >>> task = optnas.tasks.from_tensors(x, y, kind="classification")
        >>> task.input_shape, task.num_outputs, task.num_samples("val")
        ((5,), 2, 20)
    """
    obj = objective(kind)
    if num_outputs is not None:
        num_outputs = v.integer(name, "num_outputs", num_outputs, 1)
    pairs: dict[str, tuple[Any, Any]] = {
        "train": (x_train, y_train),
        "val": (x_val, y_val),
        "test": (x_test, y_test),
    }
    given: dict[str, Batch] = {}
    for split, (x, y) in pairs.items():
        if (x is None) != (y is None):
            raise UsageError(f"from_tensors: give both x_{split} and y_{split}, or neither")
        if x is None:
            continue
        xt, yt = _as_tensor(f"x_{split}", x), _as_tensor(f"y_{split}", y)
        _check_pair(split, xt, yt)
        # models are float32: float64 (numpy's default) or integer inputs would not go through them
        given[split] = (
            xt.float(),
            _targets(obj.kind, split, yt, num_outputs),
        )
    shape = tuple(given["train"][0].shape[1:])
    for split, (x, _) in given.items():
        if tuple(x.shape[1:]) != shape:
            raise UsageError(
                f"from_tensors: x_{split} has per-sample shape {tuple(x.shape[1:])} but x_train has {shape}; "
                "all splits must share it"
            )
    missing = [s for s in ("val", "test") if s not in given]
    if missing:
        val_fraction = v.fraction(name, "val_fraction", val_fraction, allow_zero="val" not in missing)
        test_fraction = v.fraction(name, "test_fraction", test_fraction, allow_zero="test" not in missing)
        seed = v.integer(name, "seed", seed, 0)
        x, y = given["train"]
        train_idx, val_idx, test_idx = split_indices(
            int(x.shape[0]),
            val_fraction if "val" in missing else 0.0,
            test_fraction if "test" in missing else 0.0,
            seed,
        )
        carved = {"val": val_idx, "test": test_idx}
        for split in missing:
            idx = torch.from_numpy(carved[split])
            given[split] = (x[idx], y[idx])
        idx = torch.from_numpy(train_idx)
        given["train"] = (x[idx], y[idx])
    if num_outputs is None:
        num_outputs = (
            max(int(y.max()) for _, y in given.values()) + 1
            if obj.kind == "classification"
            else int(given["train"][1].shape[1])
        )
    elif obj.kind == "regression" and given["train"][1].shape[1] != num_outputs:
        raise UsageError(
            f"from_tensors: num_outputs={num_outputs} but the regression targets have "
            f"{given['train'][1].shape[1]} column(s)"
        )
    params = {"kind": obj.kind, "num_outputs": num_outputs, "seed": seed}
    input_shape = None
    if v.boolean(name, "signal", signal):
        if len(shape) != 2:
            raise UsageError(
                f"from_tensors: signal=True needs x of shape (samples, channels, length); x_train has per-sample "
                f"shape {shape}"
            )
        input_shape, params["signal"] = Signal(*shape), True
    scaling = None
    if v.boolean(name, "standardize", standardize):
        given, scaling = _standardized(given, per_channel=signal)
    task = TensorTask(name, obj.kind, given, num_outputs, params, input_shape=input_shape)
    task.standardize = scaling
    return task


def _standardized(given: dict[str, Batch], per_channel: bool = False) -> tuple[dict[str, Batch], dict[str, Any]]:
    """Every split scaled by the training split's per-feature mean and standard deviation (no leak).

    ``per_channel`` (signals): one mean and deviation per channel, over samples and positions, so every
    position of a channel is scaled alike (shift-equivariant); still stored shaped like one sample.
    """
    x = given["train"][0].double()
    if per_channel:
        mean = x.mean((0, 2), keepdim=True)[0].expand(x.shape[1:])
        std = x.std((0, 2), correction=0, keepdim=True)[0].expand(x.shape[1:])
    else:
        mean, std = x.mean(0), x.std(0, correction=0)
    std = torch.where(std > 1e-12 * (1.0 + mean.abs()), std, torch.ones_like(std))  # constant features
    scaled = {s: (((xs.double() - mean) / std).float(), ys) for s, (xs, ys) in given.items()}
    return scaled, {"mean": mean.tolist(), "std": std.tolist()}


class LoaderTask(Task):
    """A task served by the user's own iterables of ``(x, y)`` batches (e.g. torch DataLoaders).

    The loaders decide batch size and order (``batch_size`` and ``shuffle`` of `optnas.train` do not apply);
    every batch is moved to the training device and checked against ``input_shape``.
    """

    def __init__(
        self,
        loaders: dict[str, Iterable[Any] | None],
        kind: str,
        num_outputs: int,
        input_shape: tuple[int, ...],
        name: str,
    ) -> None:
        super().__init__(name, kind, input_shape, num_outputs, {"kind": kind, "num_outputs": num_outputs})
        self._loaders = loaders

    def num_samples(self, split: Split) -> int:
        loader = self._loaders[split]
        if loader is None:
            return 0
        dataset = getattr(loader, "dataset", None)
        try:
            return len(dataset)  # type: ignore[arg-type]
        except TypeError:
            return -1  # an iterable-style data set: unknown until iterated

    def steps_per_epoch(self, batch_size: int) -> int | None:
        try:
            return len(self._loaders["train"])  # type: ignore[arg-type]
        except TypeError:
            return None

    def batches(
        self,
        split: Split,
        *,
        batch_size: int = 0,
        device: torch.device | str = "cpu",
        shuffle: bool = False,
        generator: torch.Generator | None = None,
    ) -> Iterator[Batch]:
        loader = self._loaders[split]
        if loader is None:
            return
        for i, item in enumerate(loader):
            if not isinstance(item, tuple | list) or len(item) != 2:
                raise UsageError(f"{self.name}: {split} loader item {i} is not an (x, y) pair")
            x, y = item
            if tuple(x.shape[1:]) != self.input_shape:
                raise UsageError(
                    f"{self.name}: {split} batch {i} has per-sample shape {tuple(x.shape[1:])}; "
                    f"expected input_shape {self.input_shape}"
                )
            if self.kind == "regression" and y.dim() == 1:
                y = y.unsqueeze(1)
            yield (
                x.to(device, non_blocking=True).float(),
                y.to(device, non_blocking=True).to(self.objective.target_dtype),
            )


def from_loaders(
    train: Iterable[Any],
    val: Iterable[Any],
    test: Iterable[Any] | None = None,
    *,
    kind: str = "classification",
    num_outputs: int | None = None,
    input_shape: tuple[int, ...] | None = None,
    name: str = "loaders",
) -> LoaderTask:
    """A task from DataLoaders (any re-iterable of ``(x, y)`` batches); for data too big for memory.

    ``input_shape`` defaults to the per-sample shape of the first training batch; ``num_outputs`` is
    required for classification and read from the targets' width for regression. Without ``test``, the
    run's ``test_metric`` is None.

    Example:
        >>> from torch.utils.data import DataLoader, TensorDataset
        >>> data = TensorDataset(torch.randn(64, 3), torch.randint(0, 2, (64,)))
        >>> train = DataLoader(data, batch_size=16, shuffle=True)
        >>> task = from_loaders(train, DataLoader(data, batch_size=32), num_outputs=2)
        >>> task.input_shape
        (3,)
    """
    obj = objective(kind)
    loaders: dict[str, Iterable[Any] | None] = {"train": train, "val": val, "test": test}
    for split in SPLITS:
        loader = loaders[split]
        if loader is None and split != "test":
            raise UsageError(f"from_loaders: the {split} loader is required")
        if loader is not None and (not isinstance(loader, Iterable) or isinstance(loader, Iterator)):
            # a one-shot iterator would be empty from the second epoch on
            raise UsageError(
                f"from_loaders: {split} must be re-iterable (a DataLoader or a list of batches), "
                f"got {type(loader).__name__}"
            )
    first = next(iter(train), None)
    if not isinstance(first, tuple | list) or len(first) != 2:
        raise UsageError("from_loaders: the train loader must yield (x, y) pairs and not be empty")
    x0, y0 = first
    if input_shape is None:
        input_shape = tuple(int(d) for d in x0.shape[1:])
    if obj.kind == "classification":
        if num_outputs is None:
            raise UsageError("from_loaders: num_outputs is required for classification (the number of classes)")
        num_outputs = v.integer(name, "num_outputs", num_outputs, 1)
    else:
        width = 1 if y0.dim() == 1 else int(y0.shape[1])
        num_outputs = width if num_outputs is None else v.integer(name, "num_outputs", num_outputs, 1)
    return LoaderTask(loaders, obj.kind, num_outputs, tuple(input_shape), name)
