"""MNIST-1D (Greydanus 2020): 40-sample 1-D signals of ten digit templates, generated locally.

The ``mnist1d`` package's ``get_dataset`` downloads a pickle by default; optnas only ever calls its
generator ``mnist1d.data.make_dataset``, which needs numpy and scipy and touches neither the network nor
the disk. Its generator seeds numpy's *global* RNG, so we save and restore that state around the call.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._shapes import Signal
from ..errors import UsageError
from . import _validate as v
from .base import Batch, TensorTask, split_indices, tensor_splits
from .registry import SAMPLES, SPLIT, TASKS


def _generator() -> tuple[Any, Any]:
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError:
        raise UsageError(
            "the mnist1d task needs the mnist1d package: pip install 'optnas[mnist1d]' (or mnist1d)"
        ) from None
    return get_dataset_args, make_dataset


def _make(num_samples: int | None, seed: int | None) -> dict[str, Any]:
    get_dataset_args, make_dataset = _generator()
    args = get_dataset_args()  # the generator's defaults: the reference data set when nothing is changed
    if num_samples is not None:
        args.num_samples = num_samples
    if seed is not None:
        args.seed = seed
    state = np.random.get_state()
    try:
        data: dict[str, Any] = make_dataset(args)
    finally:
        np.random.set_state(state)
    return data


def generate(num_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """All ``num_samples`` signals ``(N, 40)`` and labels ``(N,)`` of MNIST-1D's generator with ``seed``."""
    data = _make(num_samples, seed)
    x = np.concatenate([data["x"], data["x_test"]])
    y = np.concatenate([data["y"], data["y_test"]])
    return x, y


def reference() -> dict[str, np.ndarray]:
    """The paper's data set: the generator with its default arguments (5,000 signals, seed 42), split by the
    generator itself into 4,000 training (``x``, ``y``) and 1,000 test signals (``x_test``, ``y_test``)."""
    data = _make(None, None)
    return {k: data[k] for k in ("x", "y", "x_test", "y_test")}


FORMS = ("vector", "sequence", "signal")


@TASKS.register("mnist1d", params={
    "n_samples": SAMPLES, "as_sequence": "true or false", "as_signal": "true or false",
    "reference": "true or false", "withhold_test": "true or false", **SPLIT,
})
def mnist1d(
    n_samples: int = 5000,
    as_sequence: bool = False,
    seed: int = 42,
    val_fraction: float = 0.1,
    test_fraction: float = 0.2,
    as_signal: bool = False,
    reference: bool = False,
    withhold_test: bool = False,
) -> TensorTask:
    """Ten-class classification of MNIST-1D signals, as vectors ``(40,)``, token sequences ``(40, 1)``
    (``as_sequence``) or 1-D signals ``Signal(1, 40)`` (``as_signal``: one channel of length 40, for the
    conv blocks).

    ``seed`` seeds the generator (42, the reference data set's seed, by default) and the split. The data are
    already centred with unit variance by the generator.

    ``reference=True`` is the paper's protocol (Greydanus 2020): exactly the reference data (the generator's
    default arguments, ``n_samples`` 5000 and ``seed`` 42, which it then requires) with the generator's own
    4,000/1,000 train/test split; the validation split is ``val_fraction`` of the 4,000 training signals
    (drawn with ``seed``), never of the test signals, and ``test_fraction`` is not used. ``withhold_test=True``
    leaves the test split empty (every run's ``test_metric`` is None), so a search never touches the test
    signals; the final evaluation then scores the chosen network once on ``reference=True``'s test split.

    Example:
        >>> task = mnist1d(n_samples=1000)
        >>> task.input_shape, task.num_outputs, task.num_samples("test")
        ((40,), 10, 200)
        >>> task = mnist1d(reference=True, as_signal=True)
        >>> task.input_shape, [task.num_samples(s) for s in ("train", "val", "test")]
        (Signal(1, 40), [3600, 400, 1000])
    """
    n_samples = v.samples("mnist1d", n_samples, 100, features=4 * 40)  # the generator works on padded signals
    as_sequence = v.boolean("mnist1d", "as_sequence", as_sequence)
    as_signal = v.boolean("mnist1d", "as_signal", as_signal)
    reference = v.boolean("mnist1d", "reference", reference)
    withhold_test = v.boolean("mnist1d", "withhold_test", withhold_test)
    if as_sequence and as_signal:
        raise UsageError("mnist1d task: as_sequence=true and as_signal=true are exclusive; choose one form")
    seed = v.integer("mnist1d", "seed", seed, 0, 2**32 - 1)
    val_fraction, test_fraction = v.split_fractions("mnist1d", val_fraction, test_fraction)
    if withhold_test and not reference:
        raise UsageError("mnist1d task: withhold_test=true is for reference=true (the paper's protocol) only")
    if reference:
        if (n_samples, seed) != (5000, 42):
            raise UsageError(
                f"mnist1d task: reference=true is the generator's default data (n_samples 5000, seed 42); "
                f"got n_samples={n_samples}, seed={seed}"
            )
        splits = _reference_splits(val_fraction, seed, withhold_test)
    else:
        x_np, y_np = generate(n_samples, seed)
        splits = tensor_splits(
            torch.from_numpy(x_np).float(), torch.from_numpy(y_np).long(), val_fraction, test_fraction, seed
        )
    splits = {s: (_form(x, as_sequence, as_signal), y) for s, (x, y) in splits.items()}
    params = {
        "n_samples": n_samples,
        "as_sequence": as_sequence,
        "seed": seed,
        "val_fraction": val_fraction,
        "test_fraction": test_fraction,
        "as_signal": as_signal,
        "reference": reference,
        "withhold_test": withhold_test,
    }
    shape = Signal(1, 40) if as_signal else None
    return TensorTask("mnist1d", "classification", splits, 10, params, input_shape=shape)


def _form(x: torch.Tensor, as_sequence: bool, as_signal: bool) -> torch.Tensor:
    if as_sequence:
        return x.unsqueeze(-1)  # (tokens=40, features=1)
    if as_signal:
        return x.unsqueeze(1)  # (channels=1, length=40)
    return x


def _reference_splits(val_fraction: float, seed: int, withhold_test: bool) -> dict[str, Batch]:
    data = reference()
    x, y = torch.from_numpy(data["x"]).float(), torch.from_numpy(data["y"]).long()
    train, val, _ = split_indices(int(x.shape[0]), val_fraction, 0.0, seed)  # validation from training only
    x_test, y_test = torch.from_numpy(data["x_test"]).float(), torch.from_numpy(data["y_test"]).long()
    if withhold_test:
        x_test, y_test = x_test[:0], y_test[:0]
    return {
        "train": (x[torch.from_numpy(train)], y[torch.from_numpy(train)]),
        "val": (x[torch.from_numpy(val)], y[torch.from_numpy(val)]),
        "test": (x_test, y_test),
    }
